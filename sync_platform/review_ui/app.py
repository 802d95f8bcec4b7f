"""The review UI as a Starlette app: one page listing the shared review queue and the form posts
that decide its items (see `actions` for which engine function records each decision).

Security, in the order a request meets it (`Guard`):
- Host check: bound to a loopback address, only requests addressed to a loopback name are served
  (a DNS-rebinding page cannot reach the UI through its own host name).
- Token: when the app has a token, every request carries it (cookie, `Authorization: Bearer`,
  `X-Review-Token`, or `?token=` once: the page then sets an HttpOnly, SameSite=Strict cookie and
  redirects to the same address without it); anything else gets 401.
- Posts: a cross-site post is refused (Origin / Sec-Fetch-Site), and every form carries the
  app's CSRF token, compared in constant time.
- Every response: a Content-Security-Policy without inline script, no framing, no referrer,
  no caching.
Warehouse access is serialised (one lock): DuckDB refuses a read-only and a read-write
connection to the same file at once within one process.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode

import duckdb
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from sync_platform.review_ui import actions
from sync_platform.review_ui.queue import BUSY, Sources, load_queue
from sync_platform.review_ui.server import is_loopback
from sync_platform.review_ui.templates import CSS, JS, render

TOKEN_COOKIE = "sync_review_token"
FLASH_COOKIE = "sync_review_flash"
MAX_FORM_BYTES = 64 * 1024
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@dataclass
class ReviewSettings:
    """What the UI serves and how it guards it."""

    mappings_dir: Path
    warehouse: Path
    token: str | None = None
    reviewer: str = "reviewer"  # who a decision is recorded as when the page names no one
    host: str = "127.0.0.1"  # the bind address: loopback ones get the Host check
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))


def _hostname(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _same(a: str | None, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


class Guard:
    """ASGI middleware: Host check, token, cross-site post refusal, security headers."""

    def __init__(self, app, settings: ReviewSettings):
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        refusal = self.refusal(Request(scope))
        await (refusal or self.app)(scope, receive, send_secured)

    def refusal(self, request: Request) -> Response | None:
        s = self.settings
        if is_loopback(s.host) and _hostname(request.headers.get("host", "")) not in LOOPBACK_HOSTS:
            return PlainTextResponse("403: unexpected Host header", status_code=403)
        if s.token:
            query = request.query_params.get("token")
            bearer = request.headers.get("authorization", "")
            offered = [request.cookies.get(TOKEN_COOKIE), request.headers.get("x-review-token"),
                       bearer[7:] if bearer.lower().startswith("bearer ") else None, query]
            if not any(_same(o, s.token) for o in offered):
                return PlainTextResponse(
                    "401: this review UI needs its token: open the address with ?token=... "
                    "once, or send the X-Review-Token header", status_code=401,
                    headers={"www-authenticate": "Bearer"})
            if query is not None and request.method == "GET":
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                path = "/" + request.url.path.lstrip("/")  # never "//host": no open redirect
                response = RedirectResponse(path + (f"?{urlencode(rest)}" if rest else ""),
                                            status_code=303)
                response.set_cookie(TOKEN_COOKIE, s.token, httponly=True, samesite="strict")
                return response
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            site = request.headers.get("sec-fetch-site")
            expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
            if (origin is not None and origin != expected) or site not in (None, "same-origin", "none"):
                return PlainTextResponse("403: cross-site request refused", status_code=403)
        return None


def clean_who(value: str | None, default: str) -> str:
    """A reviewer's name as recorded with the decision: printable, one line, at most 60."""
    name = re.sub(r"\s+", " ", "".join(ch for ch in (value or "") if ch.isprintable())).strip()
    return name[:60] or default


def create_app(settings: ReviewSettings) -> Starlette:
    src = Sources(Path(settings.mappings_dir), Path(settings.warehouse))
    lock = threading.Lock()

    def locked(fn, *args, **kwargs):
        with lock:
            return fn(*args, **kwargs)

    async def queue_context() -> dict[str, Any]:
        return {"q": await run_in_threadpool(locked, load_queue, src), "csrf": settings.csrf,
                "warehouse": str(src.warehouse)}

    async def page(request: Request) -> Response:
        flash = unquote(request.cookies.get(FLASH_COOKIE, ""))
        kind, _, message = flash.partition(":")
        body = render("page.html", **await queue_context(), reviewer=settings.reviewer,
                      flash_kind=kind if kind in ("ok", "error") else "",
                      flash_message=message[:500])
        response = HTMLResponse(body)
        if flash:
            response.delete_cookie(FLASH_COOKIE)
        return response

    async def queue(request: Request) -> Response:
        return HTMLResponse(render("queue.html", **await queue_context()))

    async def static_js(request: Request) -> Response:
        return Response(JS, media_type="text/javascript")

    async def static_css(request: Request) -> Response:
        return Response(CSS, media_type="text/css")

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    async def form_of(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return {}
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"),
                                             keep_blank_values=True).items()}

    def decision(fn, section: str):
        async def endpoint(request: Request) -> Response:
            form = await form_of(request)
            wants_json = "application/json" in request.headers.get("accept", "")
            if not _same(form.get("csrf"), settings.csrf):
                ok, message, status = False, "The page is out of date (security token): reload it.", 403
            else:
                who = clean_who(form.get("who"), settings.reviewer)
                try:
                    message = await run_in_threadpool(locked, fn, form, who)
                    ok, status = True, 200
                except actions.DecisionError as exc:
                    ok, message, status = False, str(exc), 400
                except duckdb.Error as exc:  # another process holds the warehouse
                    ok, status = False, 503
                    message = f"Not recorded completely: {BUSY} ({str(exc)[:200]})."
            if wants_json:
                return JSONResponse({"ok": ok, "message": message}, status_code=status)
            response = RedirectResponse(f"/#{section}", status_code=303)
            response.set_cookie(FLASH_COOKIE, quote(("ok:" if ok else "error:") + message),
                                httponly=True, samesite="strict")
            return response

        return endpoint

    def note(form: dict[str, str]) -> str | None:
        return form.get("note", "").strip()[:200] or None

    routes = [
        Route("/", page),
        Route("/queue", queue),
        Route("/static/app.js", static_js),
        Route("/static/app.css", static_css),
        Route("/favicon.ico", no_icon),
        Route("/decide/mapping", decision(lambda f, who: actions.decide_mapping(
            src, f.get("action", ""), f.get("mapping_id", ""), f.get("source_field", ""),
            f.get("target") or None, who), "mappings"), methods=["POST"]),
        Route("/decide/match", decision(lambda f, who: actions.decide_match(
            src, f.get("action", ""), f.get("item_id", ""), who, note(f)), "matches"),
            methods=["POST"]),
        Route("/decide/group", decision(lambda f, who: actions.accept_group(
            src, f.get("entity", ""), f.get("golden_id", ""), who, note(f)), "matches"),
            methods=["POST"]),
        Route("/decide/push", decision(lambda f, who: actions.decide_push(
            src, f.get("action", ""), f.get("approval_id", ""), who), "pushes"),
            methods=["POST"]),
        Route("/decide/push-review", decision(lambda f, who: actions.decide_push_review(
            src, f.get("action", ""), f.get("key", ""), f.get("target_key") or None, who),
            "push-questions"), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(Guard, settings=settings)
    return app
