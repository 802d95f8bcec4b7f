"""HTTP plumbing shared by the three REST systems: server thread, routing, auth, faults, stats.

Each product API (crm_api, marketing_api, shop_api) subclasses `RestApi`, declares its routes
and its own error styles; this module runs it on a `ThreadingHTTPServer` in a daemon thread and
serves the admin endpoints under /__sandbox/ (no auth, not counted as API requests).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from .faults import FaultSettings, FaultState, Verdict
from .store import COLUMNS, Record, RecordStore, _where


@dataclass
class Request:
    """A parsed API request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str
    match: re.Match | None = None

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, {"message": f"Malformed JSON: {exc}"}) from exc


@dataclass
class Response:
    """An API answer: status, JSON-able body (or None), extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by handlers to answer with an error response."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body}")
        self.response = Response(status, body, headers or {})


Handler = Callable[[Request], Response]


class RestApi:
    """Base of a product API: routes, auth and the product's error styles."""

    system = "base"

    def __init__(self, store: RecordStore, token: str, seed: int = 42):
        self.store = store
        self.token = token
        self.seed = seed
        self.routes: list[tuple[str, re.Pattern, Handler]] = []

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    # Product-specific styles (overridden).
    def authorized(self, req: Request) -> bool:
        return req.headers.get("authorization", "") == f"Bearer {self.token}"

    def unauthorized(self) -> Response:
        return Response(401, {"message": "unauthorized"})

    def rate_limited(self, verdict: Verdict, settings: FaultSettings) -> Response:
        return Response(429, {"message": "rate limited"},
                        {"Retry-After": str(math.ceil(verdict.retry_after))})

    def server_error(self, status: int) -> Response:
        return Response(status, {"message": "server error"})

    def not_found(self, req: Request) -> Response:
        return Response(404, {"message": "not found"})

    def decorate(self, req: Request, resp: Response, verdict: Verdict,
                 settings: FaultSettings) -> None:
        """Add product headers (rate-limit counters...) to every API answer."""

    def dispatch(self, req: Request) -> Response:
        allowed = False
        for method, pattern, handler in self.routes:
            m = pattern.match(req.path)
            if m:
                allowed = True
                if method == req.method:
                    req.match = m
                    try:
                        return handler(req)
                    except ApiError as err:
                        return err.response
        if allowed:
            return Response(405, {"message": "method not allowed"})
        return self.not_found(req)


class SandboxServer:
    """Runs one `RestApi` on a ThreadingHTTPServer in a daemon thread."""

    def __init__(self, api: RestApi, host: str = "127.0.0.1", port: int = 0,
                 faults: FaultSettings | None = None):
        self.api = api
        self.faults = FaultState(faults, seed=api.seed)
        self.stopped = False
        handler = _make_handler(self)
        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       name=f"sandbox-{api.system}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped = True
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    # -- admin ---------------------------------------------------------------------------------

    def admin(self, method: str, path: str, body: bytes) -> Response:
        if path == "/__sandbox/faults":
            if method == "GET":
                return Response(200, self.faults.settings.model_dump())
            if method == "POST":
                try:
                    settings = FaultSettings.model_validate_json(body or b"{}")
                except ValidationError as exc:
                    return Response(400, {"error": json.loads(exc.json())})
                self.faults.replace(settings)
                return Response(200, settings.model_dump())
        if path == "/__sandbox/stats" and method == "GET":
            return Response(200, self.faults.stats())
        if path == "/__sandbox/reset-stats" and method == "POST":
            self.faults.reset_stats()
            return Response(200, {"ok": True})
        if path == "/__sandbox/health":
            return Response(200, {"system": self.api.system, "ok": True})
        return Response(404, {"error": "unknown admin endpoint"})


def _retry_after_style(resp: Response, settings: FaultSettings) -> Response:
    """Rewrite a 429's Retry-After as the fault settings ask (fixed value, HTTP-date, absent)."""
    if settings.retry_after == "seconds" and settings.retry_after_s is None:
        return resp  # the product's own style
    header = next((k for k in resp.headers if k.lower() == "retry-after"), "Retry-After")
    seconds = settings.retry_after_s
    if seconds is None:
        try:
            seconds = float(resp.headers.get(header, 1))
        except ValueError:
            seconds = 1.0
    resp.headers.pop(header, None)
    if settings.retry_after == "seconds":
        resp.headers["Retry-After"] = str(math.ceil(seconds))
    elif settings.retry_after == "http_date":
        resp.headers["Retry-After"] = formatdate(time.time() + math.ceil(seconds), usegmt=True)
    return resp


def _make_handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    api = server.api

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"sandbox-{api.system}/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet server
            pass

        def _handle(self) -> None:
            if server.stopped:
                self.close_connection = True
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            if parts.path.startswith("/__sandbox/"):
                self._send(server.admin(self.command, parts.path, body))
                return
            req = Request(
                method=self.command, path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body, base_url=f"http://{self.headers.get('Host') or server.url[7:]}")
            verdict = server.faults.decide()
            settings = server.faults.settings
            if verdict.kind == "drop":
                self.close_connection = True
                return
            if settings.latency_ms and verdict.kind != "down":
                time.sleep(settings.latency_ms / 1000)
            if verdict.kind == "down" or verdict.kind == "error":
                resp = api.server_error(verdict.status)
            elif settings.max_body_bytes is not None and len(body) > settings.max_body_bytes:
                resp = Response(413, {"message": "request entity too large",
                                      "limit_bytes": settings.max_body_bytes})
            elif verdict.kind == "rate":
                resp = _retry_after_style(api.rate_limited(verdict, settings), settings)
            elif settings.token_expired or not api.authorized(req):
                resp = api.unauthorized()
            else:
                try:
                    resp = api.dispatch(req)
                except ApiError as err:
                    resp = err.response
                except Exception as exc:  # a sandbox bug: answer 500 like a real server would
                    resp = api.server_error(500)
                    resp.headers["X-Sandbox-Error"] = repr(exc)[:200]
            api.decorate(req, resp, verdict, settings)
            server.faults.record_status(resp.status)
            if verdict.lose:  # the write committed, but the client never hears about it
                self.close_connection = True
                return
            self._send(resp)

        def _send(self, resp: Response) -> None:
            payload = b"" if resp.body is None else json.dumps(resp.body).encode()
            self.send_response(resp.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    return _Handler


def query_newest(conn: Any, obj: str, *, deleted: bool | None = None,
                 min_modified: int | None = None, min_inclusive: bool = True,
                 max_modified: int | None = None, before: tuple[int, str] | None = None,
                 limit: int | None = None, extra_where: str = "",
                 extra_params: tuple = ()) -> list[Record]:
    """Records of `obj` newest first: ORDER BY modified_at DESC, id DESC, with keyset `before`
    (the (modified_at, id) of the last record served). The products' DESC sorts use it."""
    where, params = _where(obj, deleted, min_modified, min_inclusive, max_modified)
    if before is not None:
        where += " AND (modified_at < ? OR (modified_at = ? AND id < ?))"
        params += [before[0], before[0], before[1]]
    if extra_where:
        where += " AND " + extra_where
        params += list(extra_params)
    sql = f"SELECT {COLUMNS} FROM records WHERE {where} ORDER BY modified_at DESC, id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [Record.from_row(r) for r in conn.execute(sql, params).fetchall()]
