"""HTTP sessions for REST systems: dlt's retrying client plus the system's auth.

dlt's client retries timeouts, connection resets, 5xx and 429 with capped exponential backoff
and honours Retry-After, so reads (through dlt rest_api) and writes share one retry policy.
"""

from __future__ import annotations

import os
from typing import Any

from dlt.sources.helpers.requests import Client
from requests import Session

from sync_platform.engines.catalog.models import ApiKeyAuth, BasicAuth, BearerAuth, RestConnection


def retrying_session(connection: RestConnection) -> Session:
    retry = connection.retry
    client = Client(
        request_timeout=retry.timeout_s,
        request_max_attempts=retry.max_attempts,
        request_backoff_factor=retry.backoff_factor,
        request_max_retry_delay=retry.max_delay_s,
        raise_for_status=False,
    )
    session = client.session
    session.headers.update(connection.headers)
    session.headers.update(auth_headers(connection))
    return session


def auth_headers(connection: RestConnection) -> dict[str, str]:
    """Headers carrying the secret; read from the environment at call time, never stored."""
    auth = connection.auth
    if auth is None:
        return {}
    if isinstance(auth, BearerAuth):
        return {"Authorization": f"Bearer {os.environ.get(auth.token_env, '')}"}
    if isinstance(auth, ApiKeyAuth):
        return {auth.header: os.environ.get(auth.token_env, "")}
    if isinstance(auth, BasicAuth):
        import base64

        pair = f"{os.environ.get(auth.username_env, '')}:{os.environ.get(auth.password_env, '')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    raise TypeError(f"unsupported auth {auth!r}")


def json_or_text(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]
