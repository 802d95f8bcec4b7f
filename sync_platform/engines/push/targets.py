"""How the push reaches one target: the connector's own batch write, through a session that takes
a rate-limit token per request and remembers what each request answered; plus a live look-up
of one record by external id (used to resolve writes whose outcome is in doubt). Deletes go
through the connectors' own `delete()` by the target's record ids, the same way.

Writes reuse the connectors' `write()` of each REST style / SQL / files, with a session that does
not retry by itself: retries belong to the ledger-aware loop in deliver.py.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
import sqlalchemy as sa

from sync_platform.engines.catalog.models import Catalog, RestSystem, SqlSystem, TableSpec
from sync_platform.engines.connectors import WriteResult, connector_for
from sync_platform.engines.connectors.http import auth_headers
from sync_platform.engines.push.ratelimit import RateLimiter
from sync_platform.engines.push.redact import redact
from sync_platform.engines.push.retry import parse_retry_after

_HTTP = re.compile(r"^HTTP (\d{3})\b")


class LookupUnavailable(Exception):
    """The target offers no way to read one record by external id."""


class Parked(Exception):
    """The target's budget is blocked for longer than the push is willing to wait."""

    def __init__(self, seconds: float):
        super().__init__(f"target blocked for {seconds:.0f}s")
        self.seconds = seconds


@dataclass
class Event:
    """One request the session made: its status or exception, and any Retry-After."""

    status: int | None = None
    retry_after: float | None = None
    exc: BaseException | None = None
    parked: float | None = None


class PushSession(requests.Session):
    """A plain (non-retrying) session: one rate-limit token per request, every answer recorded."""

    def __init__(self, limiter: RateLimiter | None, account: str, max_wait_s: float, timeout_s: float):
        super().__init__()
        self.limiter, self.account = limiter, account
        self.max_wait_s, self.timeout_s = max_wait_s, timeout_s
        self.priority = "normal"
        self.events: list[Event] = []
        self.accepted: deque[float] = deque()  # when the target accepted our last requests

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.limiter is not None:
            try:
                self.limiter.acquire(self.account, self.priority, max_wait_s=self.max_wait_s)
            except TimeoutError as exc:
                self.events.append(Event(parked=float(exc.args[0]) if exc.args else self.max_wait_s))
                raise Parked(self.events[-1].parked or 0.0) from None
        kwargs.setdefault("timeout", self.timeout_s)
        try:
            response = super().request(method, url, *args, **kwargs)
        except Exception as exc:
            self.events.append(Event(exc=exc))
            raise
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        self.events.append(Event(status=response.status_code, retry_after=retry_after))
        now = time.monotonic()
        while self.accepted and now - self.accepted[0] > 1.0:
            self.accepted.popleft()
        if self.limiter is not None:
            if response.status_code == 429:
                self.limiter.throttled(self.account, retry_after, len(self.accepted))
            elif response.status_code < 500:
                self.limiter.succeeded(self.account)
        if response.status_code < 400:
            self.accepted.append(now)
        return response


@dataclass
class WriteOutcome:
    results: list[WriteResult]
    events: list[Event] = field(default_factory=list)

    def status_of(self, result: WriteResult) -> int | None:
        match = _HTTP.match(result.error or "")
        if match:
            return int(match.group(1))
        statuses = [e.status for e in self.events if e.status is not None]
        return statuses[-1] if statuses else None


class Target:
    """One target system as the push sees it (write batches, look up one record)."""

    def __init__(self, catalog: Catalog, system: str, limiter: RateLimiter | None,
                 max_wait_s: float, timeout_s: float | None = None):
        self.catalog, self.system_name = catalog, system
        self.system = catalog.systems[system]
        self.connector = connector_for(catalog, system)
        self.limiter = limiter
        retry = getattr(getattr(self.system, "connection", None), "retry", None)
        self.session = PushSession(limiter, system, max_wait_s,
                                   timeout_s or (retry.timeout_s if retry else 30.0))
        if isinstance(self.system, RestSystem):
            connection = self.system.connection
            self.session.headers.update(connection.headers)
            self.session.headers.update(auth_headers(connection))
            self.session.headers.update(self.connector.preset.client_headers())

    def spec(self, table: str) -> TableSpec:
        return self.connector.table(table)

    def external_id_field(self, table: str) -> str | None:
        """The field holding the golden id in the target (None: the target has none)."""
        return self.spec(table).external_id_field

    def key_field(self, table: str) -> str:
        """What writes upsert by: the external id field, else the primary key."""
        spec = self.spec(table)
        return spec.external_id_field or spec.primary_key[0]

    def address_field(self, table: str) -> str | None:
        """The unique field that addresses an existing record that lacks our external id."""
        spec = self.spec(table)
        if spec.address_field:
            return spec.address_field
        if isinstance(self.system, SqlSystem) or getattr(self.system, "preset", "") == "salesforce":
            return spec.primary_key[0]
        return None

    def max_batch(self) -> int:
        preset = getattr(self.connector, "preset", None)
        return int(getattr(preset, "BATCH", 0) or 1_000_000)

    def write(self, table: str, key_field: str, records: list[dict[str, Any]],
              priority: str) -> WriteOutcome:
        """Upsert `records` by `key_field` (the external id, or the address field of a match)."""
        spec = self.spec(table).model_copy(update={"external_id_field": key_field})
        self.session.priority = priority
        self.session.events = []
        if isinstance(self.system, RestSystem):
            results = self.connector.preset.write(self.session, spec, records)
        else:
            if self.limiter is not None:
                self.limiter.acquire(self.system_name, priority, max_wait_s=self.session.max_wait_s)
            system = self.system.model_copy(update={"tables": {**self.system.tables, table: spec}})
            results = type(self.connector)(self.system_name, system).write(table, records)
        return WriteOutcome(results, list(self.session.events))

    def lookup(self, table: str, external_id: str) -> dict[str, Any] | None:
        """The target's current record whose external id is `external_id` (None: not there)."""
        spec = self.spec(table)
        ext = self.external_id_field(table)
        if ext is None:
            raise LookupUnavailable(f"{self.system_name}.{table} has no external id field")
        if isinstance(self.system, SqlSystem):
            engine = self.connector.engine()
            try:
                target = sa.Table(spec.source, sa.MetaData(), schema=self.system.connection.db_schema,
                                  autoload_with=engine)
                with engine.connect() as conn:
                    row = conn.execute(sa.select(target).where(target.c[ext] == external_id)).first()
                return dict(row._mapping) if row is not None else None
            finally:
                engine.dispose()
        preset = getattr(self.system, "preset", None)
        value = quote(external_id, safe="")
        if preset == "salesforce":
            url = self.connector.preset.url(f"{self.connector.preset.API}/sobjects/{spec.source}/{ext}/{value}")
            params = None
        elif preset == "hubspot":
            url = self.connector.preset.url(f"crm/v3/objects/{spec.source}/{value}")
            params = {"idProperty": ext}
        else:
            raise LookupUnavailable(f"{self.system_name} has no look-up by external id")
        self.session.events = []
        response = self.session.get(url, params=params)
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise LookupFailed(response.status_code, redact(f"look-up of {external_id!r} in "
                                                            f"{self.system_name}.{table}: HTTP "
                                                            f"{response.status_code}"))
        body = response.json()
        if preset == "hubspot":
            return dict(body.get("properties") or {}, id=body.get("id"))
        body.pop("attributes", None)
        return body

    def delete(self, table: str, keys: list[str], priority: str) -> WriteOutcome:
        """Delete records by their ids (primary key values) through the connector's delete."""
        spec = self.spec(table)
        self.session.priority = priority
        self.session.events = []
        if isinstance(self.system, RestSystem):
            results = self.connector.preset.delete(self.session, spec, keys)
        else:
            if self.limiter is not None:
                self.limiter.acquire(self.system_name, priority, max_wait_s=self.session.max_wait_s)
            results = self.connector.delete(table, keys)
        return WriteOutcome(results, list(self.session.events))

    def lookup_id(self, table: str, key: str) -> dict[str, Any] | None:
        """The target's live record whose own id is `key` (None: not there, deleted or archived)."""
        spec = self.spec(table)
        if isinstance(self.system, SqlSystem):
            from sync_platform.engines.connectors.sql import key_values

            engine = self.connector.engine()
            try:
                target = sa.Table(spec.source, sa.MetaData(), schema=self.system.connection.db_schema,
                                  autoload_with=engine)
                columns = [target.c[k] for k in spec.primary_key]
                try:
                    values = key_values(columns, key)
                except ValueError:
                    return None
                with engine.connect() as conn:
                    row = conn.execute(sa.select(target).where(
                        *[c == v for c, v in zip(columns, values, strict=True)])).first()
                return dict(row._mapping) if row is not None else None
            finally:
                engine.dispose()
        preset = getattr(self.system, "preset", None)
        value = quote(key, safe="")
        if preset == "salesforce":
            url = self.connector.preset.url(f"{self.connector.preset.API}/sobjects/{spec.source}/{value}")
        elif preset == "hubspot":
            url = self.connector.preset.url(f"crm/v3/objects/{spec.source}/{value}")
        elif preset == "shopify":
            url = self.connector.preset.url(f"{self.connector.preset.API}/{spec.source}/{value}.json")
        else:
            raise LookupUnavailable(f"{self.system_name} has no look-up by record id")
        self.session.events = []
        response = self.session.get(url)
        if response.status_code in (404, 410):
            return None
        if response.status_code >= 300:
            raise LookupFailed(response.status_code, redact(f"look-up of id {key!r} in {self.system_name}."
                                                            f"{table}: HTTP {response.status_code}"))
        body = response.json()
        if preset == "hubspot":
            return dict(body.get("properties") or {}, id=body.get("id"))
        if preset == "shopify":
            return dict(body.get(spec.source.rstrip("s")) or body)
        body.pop("attributes", None)
        return body


class LookupFailed(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _norm(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return text.lower() if text.lower() in ("true", "false") else text


def same_values(payload: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether the target already holds every payload value (types as each target stores them)."""
    return all(_norm(v) == _norm(record.get(k)) for k, v in payload.items())
