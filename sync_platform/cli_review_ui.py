"""`sync-platform review-ui`: serve the review queue as a web page for people who do not use the
command line (see `sync_platform.review_ui`). Registered on the main group with
`main.add_command(review_ui_command)`."""

from __future__ import annotations

import os
import sys

import click

TOKEN_ENV = "SYNC_REVIEW_UI_TOKEN"
MIN_TOKEN = 16


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command("review-ui")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --token.")
@click.option("--port", default=8710, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free port, printed once listening).")
@click.option("--token", envvar=TOKEN_ENV, default=None, show_envvar=True,
              help=f"Shared secret every request must carry (at least {MIN_TOKEN} characters); "
                   "required when --host is not a loopback address.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
def review_ui_command(host: str, port: int, token: str | None, open_browser: bool) -> None:
    """Serve the review queue (mapping proposals, matches, blocked pushes) as a web page."""
    from sync_platform import settings
    from sync_platform.engines.catalog import CatalogError, load_catalog
    from sync_platform.review_ui import ReviewSettings, create_app, is_loopback, serve

    token = token or None
    if not is_loopback(host) and not token:
        _fail(f"--host {host} is reachable from other machines: give --token (or {TOKEN_ENV}); "
              "or keep the default --host 127.0.0.1")
    if token is not None and len(token) < MIN_TOKEN:
        _fail(f"the token is too short: use at least {MIN_TOKEN} characters "
              "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    mappings_dir = settings.mappings_dir()
    try:
        warehouse = load_catalog(mappings_dir, require_secrets=False).warehouse_path
    except CatalogError as exc:
        _fail(str(exc))
    app = create_app(ReviewSettings(mappings_dir=mappings_dir, warehouse=warehouse, token=token,
                                    reviewer=os.environ.get("USER") or "reviewer", host=host))

    def ready(url: str) -> None:
        click.echo(f"review UI: {url}" + ("  (open it once with ?token=<the token>)" if token else ""))
        click.echo(f"mappings: {mappings_dir}\nwarehouse: {warehouse}\nCtrl-C stops it.")
        if open_browser:
            import webbrowser

            webbrowser.open(url + (f"?token={token}" if token else ""))

    serve(app, host, port, on_ready=ready)
