"""How each known REST style reads, describes and writes: Salesforce, HubSpot v3, Shopify, generic.

A preset turns a table of systems.yaml into a dlt rest_api resource (paging, incremental cursor
bound into the request) and knows the style's describe and batch-upsert endpoints. Adding a
system of a known style is YAML only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any
from urllib.parse import quote

from dlt.common.jsonpath import find_values
from requests import Response, Session

from sync_platform.engines.catalog.models import RestSystem, TableSpec
from sync_platform.engines.connectors.base import ConnectorError, FieldInfo, WriteResult
from sync_platform.engines.connectors.http import json_or_text

EPOCH = "1970-01-01T00:00:00.000Z"


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def error_class(status: int) -> tuple[str, bool]:
    """(error class, transient) for an HTTP status."""
    if status == 429:
        return "rate_limited", True
    if status >= 500:
        return "server", True
    if status in (401, 403):
        return "auth", False
    if status == 413:
        return "too_large", False
    return "validation", False


def failed_batch(keys: list[str], response: Response | None, exc: Exception | None) -> list[WriteResult]:
    if response is not None:
        kind, transient = error_class(response.status_code)
        message = f"HTTP {response.status_code}: {json_or_text(response)}"
    else:
        kind, transient, message = "network", True, f"{type(exc).__name__}: {exc}"
    return [WriteResult(key=k, ok=False, error_class=kind, error=message, transient=transient) for k in keys]


def send(session: Session, method: str, url: str, **kwargs: Any) -> tuple[Response | None, Exception | None]:
    try:
        return session.request(method, url, **kwargs), None
    except Exception as exc:  # network errors after the session's retries
        return None, exc


class Preset:
    """Read/describe/write behaviour of one REST style."""

    initial_cursor: str = EPOCH

    def __init__(self, system: RestSystem):
        self.system = system
        self.base_url = system.connection.base_url.rstrip("/")
        self.page_size = system.connection.page_size

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def client_headers(self) -> dict[str, str]:
        return {}

    def resources(self, name: str, spec: TableSpec, since: Any, fields: list[str] | None) -> list[dict]:
        raise NotImplementedError

    def describe(self, session: Session, spec: TableSpec) -> list[FieldInfo]:
        raise NotImplementedError

    def write(self, session: Session, spec: TableSpec, records: list[dict]) -> list[WriteResult]:
        raise NotImplementedError

    def delete(self, session: Session, spec: TableSpec, keys: list[str]) -> list[WriteResult]:
        """Delete records by their ids; already gone is a success (`gone=True`)."""
        raise ConnectorError(f"{type(self).__name__} systems have no delete")

    def probe(self, session: Session, spec: TableSpec) -> str | None:
        """A marker of the table's latest change from one request (see `Connector.probe`)."""
        raise ConnectorError(f"{type(self).__name__} systems cannot probe for changes")

    def can_probe(self, spec: TableSpec) -> bool:
        return True

    def needs_fields(self) -> bool:
        return False

    def incremental(self, spec: TableSpec, since: Any) -> dict | None:
        if spec.cursor is None:
            return None
        return {"cursor_path": spec.cursor, "initial_value": since or self.initial_cursor}

    def _get_json(self, session: Session, path: str, **kwargs: Any) -> Any:
        return self._json(session, "GET", path, **kwargs)

    def _json(self, session: Session, method: str, path: str, **kwargs: Any) -> Any:
        response, exc = send(session, method, self.url(path), **kwargs)
        if response is None or response.status_code >= 400:
            detail = f"HTTP {response.status_code}: {json_or_text(response)}" if response is not None else str(exc)
            raise ConnectorError(f"{self.system.description or 'system'} {path}: {detail}")
        return response.json()


class Salesforce(Preset):
    """Salesforce REST: SOQL over /queryAll (deleted rows too), nextRecordsUrl paging, composite upsert."""

    API = "services/data/v59.0"
    initial_cursor = "1970-01-01T00:00:00.000+0000"
    BATCH = 200

    def client_headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={max(200, min(self.page_size, 2000))}"}

    def needs_fields(self) -> bool:
        return True

    def resources(self, name: str, spec: TableSpec, since: Any, fields: list[str] | None) -> list[dict]:
        columns = ", ".join(fields) if fields else "FIELDS(ALL)"
        query = f"SELECT {columns} FROM {spec.source}"
        if spec.cursor:
            query += f" WHERE {spec.cursor} >= {{incremental.start_value}} ORDER BY {spec.cursor}, Id"
        endpoint = {
            "path": f"{self.API}/queryAll",
            "params": {"q": query},
            "data_selector": "records",
            "paginator": {"type": "json_link", "next_url_path": "nextRecordsUrl"},
        }
        if incremental := self.incremental(spec, since):
            endpoint["incremental"] = incremental
        return [{"name": name, "endpoint": endpoint, "processing_steps": [{"map": _drop_attributes}]}]

    def probe(self, session: Session, spec: TableSpec) -> str | None:
        """One SOQL query over /queryAll: `SELECT Id, LastModifiedDate FROM <obj> ORDER BY
        LastModifiedDate DESC, Id DESC LIMIT 1` -> "<LastModifiedDate>|<Id>". queryAll includes
        the recycle bin, and a delete stamps the record with a new LastModifiedDate, so deletes
        count too. Salesforce keeps these stamps to the second: a second change within the
        same second as the probed one, on a record with a lower Id, shows only with the next
        change (landing reads the cursor inclusively, so nothing is lost, only delayed)."""
        cursor = spec.cursor or "LastModifiedDate"
        query = (f"SELECT Id, {cursor} FROM {spec.source} "
                 f"ORDER BY {cursor} DESC, Id DESC LIMIT 1")
        body = self._get_json(session, f"{self.API}/queryAll", params={"q": query})
        records = body.get("records") or []
        if not records:
            return None
        return f"{records[0].get(cursor)}|{records[0].get('Id')}"

    def describe(self, session: Session, spec: TableSpec) -> list[FieldInfo]:
        body = self._get_json(session, f"{self.API}/sobjects/{spec.source}/describe")
        return [
            FieldInfo(f["name"], f.get("type", "string"), f.get("nillable", True),
                      {k: f[k] for k in ("label", "externalId", "custom") if k in f})
            for f in body["fields"]
        ]

    def write(self, session: Session, spec: TableSpec, records: list[dict]) -> list[WriteResult]:
        key_field = spec.external_id_field or spec.primary_key[0]
        results: list[WriteResult] = []
        for batch in chunks(records, self.BATCH):
            keys = [str(r.get(key_field)) for r in batch]
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": spec.source}, **r} for r in batch],
            }
            path = f"{self.API}/composite/sobjects/{spec.source}/{key_field}"
            response, exc = send(session, "PATCH", self.url(path), json=body)
            if response is None or response.status_code >= 300:
                results += failed_batch(keys, response, exc)
                continue
            for key, item in zip(keys, response.json(), strict=True):
                errors = item.get("errors") or []
                message = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)
                results.append(WriteResult(
                    key=key, ok=bool(item.get("success")), created=bool(item.get("created")),
                    target_id=item.get("id"), error_class=None if item.get("success") else "validation",
                    error=message or None,
                ))
        return results

    GONE = ("ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY")

    def delete(self, session: Session, spec: TableSpec, keys: list[str]) -> list[WriteResult]:
        """Composite delete, up to 200 ids a request: DELETE /composite/sobjects?ids=..&allOrNone=false.
        Records go to the recycle bin (queryAll shows them with IsDeleted = true); an id already
        deleted (ENTITY_IS_DELETED) or unknown is gone, a success."""
        results: list[WriteResult] = []
        for batch in chunks(keys, self.BATCH):
            params = {"ids": ",".join(batch), "allOrNone": "false"}
            response, exc = send(session, "DELETE", self.url(f"{self.API}/composite/sobjects"), params=params)
            if response is None or response.status_code >= 300:
                results += failed_batch(batch, response, exc)
                continue
            for key, item in zip(batch, response.json(), strict=True):
                errors = item.get("errors") or []
                codes = {str(e.get("statusCode")) for e in errors}
                if item.get("success") or (codes and codes <= set(self.GONE)):
                    results.append(WriteResult(key=key, ok=True, target_id=key, gone=not item.get("success")))
                    continue
                message = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)
                results.append(WriteResult(key=key, ok=False, error_class="validation",
                                           error=message or "delete failed"))
        return results


def _drop_attributes(record: dict) -> dict:
    record.pop("attributes", None)
    return record


def _flatten_hubspot(record: dict) -> dict:
    flat = dict(record.get("properties") or {})
    flat.update(id=record["id"], createdAt=record.get("createdAt"),
                updatedAt=record.get("updatedAt"), archived=bool(record.get("archived", False)))
    return flat


class HubSpot(Preset):
    """HubSpot CRM v3: search by last-modified with `after` cursors, archived sweep, batch upsert."""

    BATCH = 100

    def resources(self, name: str, spec: TableSpec, since: Any, fields: list[str] | None) -> list[dict]:
        base = f"crm/v3/objects/{spec.source}"
        flatten = [{"map": _flatten_hubspot}]
        incremental = self.incremental(spec, since)
        if incremental is None:
            live = {"path": base, "params": {"limit": min(self.page_size, 100)}}
        else:
            live = {
                "path": f"{base}/search",
                "method": "POST",
                "json": {
                    "filterGroups": [{"filters": [{
                        "propertyName": "hs_lastmodifieddate", "operator": "GTE",
                        "value": "{incremental.start_value}"}]}],
                    "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                    "limit": min(self.page_size, 200),
                },
                "incremental": incremental,
            }
        live.update(data_selector="results",
                    paginator={"type": "cursor", "cursor_path": "paging.next.after",
                               "cursor_body_path" if "json" in live else "cursor_param": "after"})
        # Search never returns archived (deleted) records: sweep them separately as tombstones.
        archived = {
            "path": base,
            "params": {"limit": 100, "archived": "true"},
            "data_selector": "results",
            "paginator": {"type": "cursor", "cursor_path": "paging.next.after", "cursor_param": "after"},
        }
        if incremental:
            archived["incremental"] = incremental
        return [
            {"name": name, "endpoint": live, "processing_steps": flatten},
            {"name": f"{name}_archived", "endpoint": archived, "processing_steps": flatten},
        ]

    def probe(self, session: Session, spec: TableSpec) -> str | None:
        """One search request: no filters, sorted on hs_lastmodifieddate DESCENDING, limit 1
        -> "<newest updatedAt>|<its id>|<total>". Search never returns archived records, but
        its `total` counts the live ones: archiving (deleting) a record lowers it, so deletes
        change the marker without a second request to the archived list; inserts, updates
        and restores move the newest record. None when no live record exists. HubSpot's
        search index trails writes by a few seconds, so a change shows a little late."""
        body = self._json(session, "POST", f"crm/v3/objects/{spec.source}/search", json={
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
            "properties": ["hs_lastmodifieddate"], "limit": 1})
        results = body.get("results") or []
        if not results:
            return None
        top = results[0]
        stamp = top.get("updatedAt") or (top.get("properties") or {}).get("hs_lastmodifieddate")
        return f"{stamp}|{top.get('id')}|{body.get('total')}"

    def describe(self, session: Session, spec: TableSpec) -> list[FieldInfo]:
        body = self._get_json(session, f"crm/v3/properties/{spec.source}")
        fields = [FieldInfo(p["name"], p.get("type", "string"), True,
                            {k: p[k] for k in ("label", "fieldType") if k in p}) for p in body["results"]]
        return fields + [FieldInfo(n, "datetime") for n in ("createdAt", "updatedAt")] + [
            FieldInfo("id", "string", False), FieldInfo("archived", "bool")]

    def write(self, session: Session, spec: TableSpec, records: list[dict]) -> list[WriteResult]:
        key_field = spec.external_id_field or "email"
        results: list[WriteResult] = []
        for batch in chunks(records, self.BATCH):
            keys = [str(r.get(key_field)) for r in batch]
            inputs = [{"idProperty": key_field, "id": key, "properties": r} for key, r in zip(keys, batch, strict=True)]
            path = f"crm/v3/objects/{spec.source}/batch/upsert"
            response, exc = send(session, "POST", self.url(path), json={"inputs": inputs})
            if response is None or response.status_code not in (200, 201, 207):
                results += failed_batch(keys, response, exc)
                continue
            body = response.json()
            done = {str((item.get("properties") or {}).get(key_field)): item for item in body.get("results", [])}
            failed: dict[str, str] = {}
            for error in body.get("errors", []):
                for key in (error.get("context") or {}).get("ids", []):
                    failed[str(key)] = f"{error.get('category')}: {error.get('message')}"
            for key in keys:
                if key in done:
                    item = done[key]
                    results.append(WriteResult(key=key, ok=True, created=bool(item.get("new")), target_id=item.get("id")))
                else:
                    results.append(WriteResult(key=key, ok=False, error_class="validation",
                                               error=failed.get(key, "not in the batch response")))
        return results

    def delete(self, session: Session, spec: TableSpec, keys: list[str]) -> list[WriteResult]:
        """Batch archive by record id, up to 100 a request: POST /batch/archive {"inputs": [{"id"}]}
        answers 204; archived records are listed only with archived=true. HubSpot ignores ids
        that are unknown or already archived, so every id of an accepted batch is a success."""
        results: list[WriteResult] = []
        for batch in chunks(keys, self.BATCH):
            body = {"inputs": [{"id": key} for key in batch]}
            response, exc = send(session, "POST", self.url(f"crm/v3/objects/{spec.source}/batch/archive"),
                                 json=body)
            if response is None or response.status_code >= 300:
                results += failed_batch(batch, response, exc)
                continue
            results += [WriteResult(key=key, ok=True, target_id=key) for key in batch]
        return results


class Shopify(Preset):
    """Shopify Admin REST: products with variants, Link-header paging, variant updates by id or SKU."""

    API = "admin/api/2024-07"
    initial_cursor = "1970-01-01T00:00:00-00:00"

    # resources Shopify lists only inside another: (listing resource, JSONPath to the records)
    NESTED = {"variants": ("products", "products[*].variants[*]")}

    def _listing(self, spec: TableSpec) -> tuple[str, str]:
        """The resource to page through for a table, and the records' path in each page."""
        return self.NESTED.get(spec.source, (spec.source, spec.source))

    def resources(self, name: str, spec: TableSpec, since: Any, fields: list[str] | None) -> list[dict]:
        resource, selector = self._listing(spec)
        endpoint: dict[str, Any] = {
            "path": f"{self.API}/{resource}.json",
            "params": {"limit": min(self.page_size, 250)},
            "data_selector": selector,
            "paginator": {"type": "header_link"},
        }
        if incremental := self.incremental(spec, since):
            endpoint["params"]["updated_at_min"] = "{incremental.start_value}"
            endpoint["incremental"] = incremental
        return [{"name": name, "endpoint": endpoint}]

    def probe(self, session: Session, spec: TableSpec) -> str | None:
        """One request: `GET /<resource>.json?limit=1&order=updated_at desc&fields=id,updated_at`
        -> "<updated_at>|<id>" of the most recently updated record (any status, so archiving
        counts). A product deleted for good (DELETE) leaves no trace to see here, just as it
        leaves none for incremental landing. Shopify stamps are to the second: a change in the
        same second as the probed one shows with the next change."""
        cursor = spec.cursor or "updated_at"
        resource, _ = self._listing(spec)  # a variant's change touches its product's updated_at
        params = {"limit": 1, "order": f"{cursor} desc", "fields": f"id,{cursor}"}
        body = self._get_json(session, f"{self.API}/{resource}.json", params=params)
        items = body.get(resource) or []
        if not items:
            return None
        return f"{items[0].get(cursor)}|{items[0].get('id')}"

    def describe(self, session: Session, spec: TableSpec) -> list[FieldInfo]:
        resource, selector = self._listing(spec)
        body = self._get_json(session, f"{self.API}/{resource}.json", params={"limit": 1})
        found = find_values(selector, body)  # a plain selector finds the list itself
        records = found[0] if len(found) == 1 and isinstance(found[0], list) else found
        sample = next(iter(records), {})
        return [FieldInfo(k, type(v).__name__) for k, v in sample.items()]

    def _variant_ids_by_sku(self, session: Session) -> dict[str, int]:
        ids: dict[str, int] = {}
        url: str | None = self.url(f"{self.API}/products.json?limit=250")
        while url:
            response, exc = send(session, "GET", url)
            if response is None or response.status_code >= 400:
                raise ConnectorError(f"shop product lookup failed: {exc or response.status_code}")
            for product in response.json()["products"]:
                for variant in product.get("variants", []):
                    ids[str(variant.get("sku"))] = variant["id"]
            url = response.links.get("next", {}).get("url")
        return ids

    def write(self, session: Session, spec: TableSpec, records: list[dict]) -> list[WriteResult]:
        """Update variants (inventory_quantity, price, ...) given `id`, or `sku` to look the id up."""
        lookup = self._variant_ids_by_sku(session) if any("id" not in r for r in records) else {}
        results = []
        for record in records:
            key = str(record.get("id") or record.get("sku"))
            variant_id = record.get("id") or lookup.get(str(record.get("sku")))
            if variant_id is None:
                results.append(WriteResult(key=key, ok=False, error_class="not_found",
                                           error=f"no variant with sku {record.get('sku')!r}"))
                continue
            # a SKU used to find the variant is its address, not a change
            sent = record if "id" in record else {k: v for k, v in record.items() if k != "sku"}
            body = {"variant": {**sent, "id": variant_id}}
            response, exc = send(session, "PUT", self.url(f"{self.API}/variants/{variant_id}.json"), json=body)
            if response is None or response.status_code >= 300:
                results += failed_batch([key], response, exc)
            else:
                results.append(WriteResult(key=key, ok=True, target_id=str(variant_id)))
        return results

    def delete(self, session: Session, spec: TableSpec, keys: list[str]) -> list[WriteResult]:
        """DELETE /admin/api/<version>/<resource>/<id>.json, one request per record (Shopify
        has no batch delete); 404 means already deleted, a success."""
        return [_delete_one(session, self.url(f"{self.API}/{spec.source}/{quote(key, safe='')}.json"), key)
                for key in keys]


class Generic(Preset):
    """Any REST API described in YAML (path, params, data selector, paginator, cursor param)."""

    def resources(self, name: str, spec: TableSpec, since: Any, fields: list[str] | None) -> list[dict]:
        assert spec.endpoint is not None
        ep = spec.endpoint
        endpoint: dict[str, Any] = {"path": ep.path, "method": ep.method, "params": dict(ep.params)}
        if ep.json_body is not None:
            endpoint["json"] = ep.json_body
        if ep.data_selector:
            endpoint["data_selector"] = ep.data_selector
        if ep.paginator:
            endpoint["paginator"] = ep.paginator
        if spec.cursor:
            endpoint["incremental"] = {"cursor_path": spec.cursor,
                                       "initial_value": since or ep.initial_cursor or EPOCH}
            if ep.cursor_param:
                endpoint["params"][ep.cursor_param] = "{incremental.start_value}"
        return [{"name": name, "endpoint": endpoint}]

    def probe(self, session: Session, spec: TableSpec) -> str | None:
        """Always None, without a request: the generic preset cannot probe. An endpoint described
        in YAML has no way to declare a newest-first order (`cursor_param` only bounds the
        start), and page 1 of an ascending or unspecified order does not change when later
        records do, so a marker from it would hide changes. A freshness sensor lands such
        tables on their schedule (`can_probe` is False)."""
        return None

    def can_probe(self, spec: TableSpec) -> bool:
        return False

    def describe(self, session: Session, spec: TableSpec) -> list[FieldInfo]:
        raise ConnectorError("generic REST systems have no describe endpoint; the landed schema is used")

    def write(self, session: Session, spec: TableSpec, records: list[dict]) -> list[WriteResult]:
        """PUT each record to `<endpoint.path>/<key>` (an idempotent upsert by key)."""
        assert spec.endpoint is not None
        key_field = spec.external_id_field or spec.primary_key[0]
        results = []
        for record in records:
            key = str(record.get(key_field))
            response, exc = send(session, "PUT", self.url(f"{spec.endpoint.path.rstrip('/')}/{key}"), json=record)
            if response is None or response.status_code >= 300:
                results += failed_batch([key], response, exc)
            else:
                results.append(WriteResult(key=key, ok=True, created=response.status_code == 201))
        return results

    def delete(self, session: Session, spec: TableSpec, keys: list[str]) -> list[WriteResult]:
        """DELETE `<endpoint.path>/<key>` for each key (404/410: already gone)."""
        assert spec.endpoint is not None
        path = spec.endpoint.path.rstrip("/")
        return [_delete_one(session, self.url(f"{path}/{quote(key, safe='')}"), key) for key in keys]


def _delete_one(session: Session, url: str, key: str) -> WriteResult:
    response, exc = send(session, "DELETE", url)
    if response is not None and response.status_code in (404, 410):
        return WriteResult(key=key, ok=True, target_id=key, gone=True)
    if response is None or response.status_code >= 300:
        return failed_batch([key], response, exc)[0]
    return WriteResult(key=key, ok=True, target_id=key)


PRESETS: dict[str, Callable[[RestSystem], Preset]] = {
    "salesforce": Salesforce, "hubspot": HubSpot, "shopify": Shopify, "generic": Generic,
}
