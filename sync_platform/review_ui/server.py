"""Serving the review UI with uvicorn: in the foreground (the CLI) or in a background thread
(tests, `--open`), and the rule that decides whether a bind address needs a token."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable

import uvicorn

LOCAL_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _server(app, host: str, port: int) -> uvicorn.Server:
    # no lifespan: the app keeps no state that needs starting; access logs stay off (they would
    # print every ?token= a person pastes)
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                         access_log=False, lifespan="off",
                                         server_header=False))


def _url(server: uvicorn.Server, host: str) -> str:
    port = server.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the review UI server stopped while starting (is the port taken?)")
        if time.monotonic() > deadline:
            raise TimeoutError("the review UI server did not start in time")
        time.sleep(0.02)


class BackgroundServer:
    """uvicorn in a daemon thread; `url` once started, `stop()` to end it."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 15.0):
        self.server = _server(app, host, port)
        self.thread = threading.Thread(target=self.server.run, name="review-ui", daemon=True)
        self.thread.start()
        _wait_started(self.server, self.thread, timeout_s)
        self.url = _url(self.server, host)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *_) -> None:
        self.stop()


def serve(app, host: str, port: int, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve in the foreground until Ctrl-C; `on_ready(url)` runs once the socket listens (with
    the real port when `port` is 0)."""
    server = _server(app, host, port)
    if on_ready is not None:
        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                on_ready(_url(server, host))

        threading.Thread(target=announce, name="review-ui-ready", daemon=True).start()
    server.run()
