"""The review UI: one web page for the shared review queue (mapping proposals, uncertain matches,
blocked and uncertain pushes), for people who do not use the command line.

`sync-platform review-ui` serves it (Starlette + uvicorn, which dagster-webserver already
brings; plain HTML, a little vanilla JavaScript, no front-end build). Every decision goes through
the same engine function as the matching CLI command, into the same store, so the next run
honours it. Modules: `queue` (what the page shows), `actions` (decisions), `app` (routes and
security), `templates` (HTML, CSS, JS as strings), `server` (uvicorn, loopback rule).
"""

from sync_platform.review_ui.app import ReviewSettings, create_app
from sync_platform.review_ui.server import BackgroundServer, is_loopback, serve

__all__ = ["BackgroundServer", "ReviewSettings", "create_app", "is_loopback", "serve"]
