"""The `marketing` system: a HubSpot CRM v3 API look-alike (companies, contacts).

Supported: object list with cursor paging, single GET, search on modified time (and simple
property equality) sorted by last-modified date ASCENDING or DESCENDING, batch upsert by a
unique property with 207 partial errors, batch archive (204; unknown or already archived ids
are ignored), properties.
Simplification: without `properties`, list/search return all properties (HubSpot returns a
default subset). Archived records are listed only with archived=true, never in search.
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any
from urllib.parse import unquote

from .http_base import ApiError, Request, Response, RestApi, query_newest
from .store import Record, RecordStore, now_ms
from .timeutil import hs_datetime, parse_datetime_ms

OBJECTS = ("companies", "contacts")
ID_BASE = {"companies": 10_000_000_000, "contacts": 20_000_000_000}
SYSTEM_PROPS = ("hs_object_id", "createdate", "hs_lastmodifieddate", "lastmodifieddate")
TIME_PROPS = {"hs_lastmodifieddate": "modified_at", "lastmodifieddate": "modified_at",
              "createdate": "created_at"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "customer")


def _p(name: str, label: str, ptype: str = "string", field: str = "text", *,
       unique: bool = False, defined: bool = True, read_only: bool = False) -> dict[str, Any]:
    return {"name": name, "label": label, "type": ptype, "fieldType": field,
            "groupName": "companyinformation" if name in ("domain",) else "information",
            "hasUniqueValue": unique, "hubspotDefined": defined,
            "modificationMetadata": {"readOnlyValue": read_only, "archivable": not defined}}


_COMMON = [
    _p("phone", "Phone Number", "string", "phonenumber"), _p("address", "Street Address"),
    _p("city", "City"), _p("state", "State/Region"), _p("zip", "Postal Code"),
    _p("country", "Country/Region"),
]
FIELDS: dict[str, list[dict[str, Any]]] = {
    "companies": [
        _p("name", "Name"), _p("domain", "Company Domain Name"), *_COMMON,
        _p("industry", "Industry", "enumeration", "select"),
        _p("annualrevenue", "Annual Revenue", "number", "number"),
        _p("numberofemployees", "Number of Employees", "number", "number"),
        _p("sync_external_id", "Sync External ID", unique=True, defined=False),
        _p("hs_object_id", "Record ID", "number", "number", read_only=True),
        _p("createdate", "Create Date", "datetime", "date", read_only=True),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    ],
    "contacts": [
        _p("email", "Email", "string", "text", unique=True), _p("firstname", "First Name"),
        _p("lastname", "Last Name"), _p("phone", "Phone Number", "string", "phonenumber"),
        _p("mobilephone", "Mobile Phone Number", "string", "phonenumber"),
        _p("jobtitle", "Job Title"), _p("company", "Company Name"),
        _p("associatedcompanyid", "Primary Associated Company ID", "number", "number"),
        *_COMMON[1:],
        _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio"),
        _p("hs_email_optout", "Unsubscribed from all email", "bool", "booleancheckbox"),
        _p("sync_external_id", "Sync External ID", unique=True, defined=False),
        _p("hs_object_id", "Record ID", "number", "number", read_only=True),
        _p("createdate", "Create Date", "datetime", "date", read_only=True),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
        _p("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    ],
}


def hs_id(obj: str, n: int) -> str:
    """HubSpot record id (11 digits, so text order equals numeric order)."""
    return str(ID_BASE[obj] + n)


def render(rec: Record, props: list[str] | None = None) -> dict[str, Any]:
    """A record as HubSpot returns it."""
    system = {"hs_object_id": rec.id, "createdate": hs_datetime(rec.created_at),
              "hs_lastmodifieddate": hs_datetime(rec.modified_at)}
    if rec.object == "contacts":
        system["lastmodifieddate"] = system["hs_lastmodifieddate"]
    if props is None:
        properties = dict(rec.data)
        properties.update(system)
    else:
        properties = {p: system[p] if p in system else rec.data.get(p)
                      for p in props if p in rec.data or p in system}
        for p in ("hs_object_id", "createdate", "hs_lastmodifieddate"):
            properties.setdefault(p, system[p])
    out: dict[str, Any] = {"id": rec.id, "properties": properties,
                           "createdAt": hs_datetime(rec.created_at),
                           "updatedAt": hs_datetime(rec.modified_at), "archived": rec.deleted}
    if rec.deleted:
        out["archivedAt"] = hs_datetime(rec.modified_at)
    return out


def _batch_inputs(req: Request) -> list:
    """The `inputs` of a batch request body (at most 100), or a 400 as HubSpot answers."""
    body = req.json()
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise _error(400, "Invalid input JSON: expected {\"inputs\": [...]}")
    if len(inputs) > 100:
        raise _error(400, "Batch input limit exceeded: at most 100 inputs are allowed")
    return inputs


def _error(status: int, message: str, category: str = "VALIDATION_ERROR", **extra: Any
           ) -> ApiError:
    return ApiError(status, {"status": "error", "message": message,
                             "correlationId": "00000000-0000-4000-8000-000000000000",
                             "category": category, **extra})


def _cursor(state: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _uncursor(text: str) -> list:
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError as exc:
        raise _error(400, f"Invalid input: after={text!r} is not a valid cursor") from exc


def to_prop_string(value: Any) -> str | None:
    """HubSpot stores every property value as a string."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class MarketingApi(RestApi):
    """HubSpot CRM v3 subset."""

    system = "marketing"

    def __init__(self, store: RecordStore, token: str, seed: int = 42):
        super().__init__(store, token, seed)
        obj = "(?P<obj>companies|contacts)"
        self.route("GET", f"/crm/v3/objects/{obj}/?", self.list_objects)
        self.route("POST", f"/crm/v3/objects/{obj}/search/?", self.search)
        self.route("POST", f"/crm/v3/objects/{obj}/batch/upsert/?", self.batch_upsert)
        self.route("POST", f"/crm/v3/objects/{obj}/batch/archive/?", self.batch_archive)
        self.route("GET", f"/crm/v3/objects/{obj}/(?P<id>[^/]+)", self.get_object)
        self.route("GET", f"/crm/v3/properties/{obj}/?", self.properties)

    # -- styles --------------------------------------------------------------------------------

    def unauthorized(self) -> Response:
        return Response(401, {"status": "error",
                              "message": "Authentication credentials not found.",
                              "correlationId": "00000000-0000-4000-8000-000000000001",
                              "category": "INVALID_AUTHENTICATION"})

    def rate_limited(self, verdict, settings) -> Response:
        return Response(429, {"status": "error",
                              "message": "You have reached your ten_secondly_rolling limit.",
                              "errorType": "RATE_LIMIT",
                              "correlationId": "00000000-0000-4000-8000-000000000002",
                              "policyName": "TEN_SECONDLY_ROLLING"},
                        {"Retry-After": str(max(1, math.ceil(verdict.retry_after)))})

    def server_error(self, status: int) -> Response:
        return Response(status, {"status": "error", "message": "internal error",
                                 "correlationId": "00000000-0000-4000-8000-000000000003",
                                 "category": "INTERNAL_ERROR"
                                 if status == 500 else "SERVICE_UNAVAILABLE"})

    def not_found(self, req: Request) -> Response:
        return Response(404, {"status": "error", "message": "resource not found",
                              "category": "OBJECT_NOT_FOUND"})

    def decorate(self, req, resp, verdict, settings) -> None:
        if settings.rate_limit is not None:
            resp.headers["X-HubSpot-RateLimit-Max"] = str(settings.rate_limit)
            resp.headers["X-HubSpot-RateLimit-Remaining"] = str(verdict.remaining or 0)
            resp.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(
                int(settings.rate_window_s * 1000))

    # -- reads ---------------------------------------------------------------------------------

    @staticmethod
    def _props(req: Request) -> list[str] | None:
        values = req.query.get("properties")
        if not values:
            return None
        return [p.strip() for v in values for p in v.split(",") if p.strip()]

    def list_objects(self, req: Request) -> Response:
        obj = req.match.group("obj")
        try:
            limit = max(1, min(100, int(req.param("limit", "10"))))
        except ValueError as exc:
            raise _error(400, "Invalid input: limit must be an integer") from exc
        archived = (req.param("archived", "false") or "false").lower() == "true"
        after = req.param("after")
        after_rid = int(after) if after and after.isdigit() else None
        if after and after_rid is None:
            raise _error(400, f"Invalid input: after={after!r}")
        with self.store.reading() as conn:
            recs = RecordStore.query(conn, obj, deleted=archived, after_rid=after_rid,
                                     order="rid", limit=limit + 1)
        props = self._props(req)
        out: dict[str, Any] = {"results": [render(r, props) for r in recs[:limit]]}
        if len(recs) > limit:
            cur = str(recs[limit - 1].rid)
            link = f"{req.base_url}/crm/v3/objects/{obj}?after={cur}&limit={limit}"
            if archived:
                link += "&archived=true"
            out["paging"] = {"next": {"after": cur, "link": link}}
        return Response(200, out)

    def get_object(self, req: Request) -> Response:
        obj = req.match.group("obj")
        archived = (req.param("archived", "false") or "false").lower() == "true"
        ident, id_prop = unquote(req.match.group("id")), req.param("idProperty")
        with self.store.reading() as conn:
            if id_prop in (None, "", "hs_object_id"):
                rec = RecordStore.get(conn, obj, ident)
            elif id_prop in ("sync_external_id", "email"):  # unique properties, as in HubSpot
                column = "ext_key" if id_prop == "sync_external_id" else "email_key"
                rec = RecordStore.find(conn, obj, column, ident.lower() if id_prop == "email" else ident)
            else:
                raise _error(400, f"Invalid idProperty {id_prop!r}: must be a unique-value property")
        if rec is None or rec.deleted != archived:
            raise _error(404, "Object not found", "OBJECT_NOT_FOUND")
        return Response(200, render(rec, self._props(req)))

    def properties(self, req: Request) -> Response:
        obj = req.match.group("obj")
        with self.store.reading() as conn:
            return Response(200, {"results": RecordStore.fields(conn, obj)})

    def search(self, req: Request) -> Response:
        obj = req.match.group("obj")
        body = req.json() or {}
        if not isinstance(body, dict):
            raise _error(400, "Invalid input JSON")
        try:
            limit = int(body.get("limit", 10))
        except (TypeError, ValueError) as exc:
            raise _error(400, "limit must be an integer") from exc
        if limit > 200 or limit < 0:
            raise _error(400, "Invalid input: limit must be between 0 and 200")
        groups = body.get("filterGroups") or []
        with self.store.reading() as conn:
            known = {f["name"] for f in RecordStore.fields(conn, obj)}
            where, params = self._filters(groups, known)
            after = body.get("after")
            state = _uncursor(str(after)) if after not in (None, "") else None
            after_mod = tuple(state[:2]) if state else None
            # the total is counted once, on the first page, and carried in the cursor: counting
            # on every page made reading a large result quadratic
            if state and len(state) > 2:
                total = int(state[2])
            else:
                total = RecordStore.count(conn, obj, deleted=False, extra_where=where,
                                          extra_params=tuple(params))
            if self._newest_first(body.get("sorts")):
                recs = query_newest(conn, obj, deleted=False, before=after_mod,
                                    extra_where=where, extra_params=tuple(params),
                                    limit=limit + 1)
            else:
                recs = RecordStore.query(conn, obj, deleted=False, after_mod=after_mod,
                                         extra_where=where, extra_params=tuple(params),
                                         limit=limit + 1)
        props = body.get("properties") or None
        out: dict[str, Any] = {"total": total,
                               "results": [render(r, props) for r in recs[:limit]]}
        if len(recs) > limit and limit > 0:
            last = recs[limit - 1]
            out["paging"] = {"next": {"after": _cursor([last.modified_at, last.id, total])}}
        return Response(200, out)

    @staticmethod
    def _newest_first(sorts: Any) -> bool:
        """True for a DESCENDING sort on the last-modified date. Results are always in
        last-modified order (ties by id); sorts on other properties are not supported and
        keep that order."""
        if not sorts:
            return False
        if not isinstance(sorts, list):
            raise _error(400, "Invalid input: sorts must be a list")
        first = sorts[0]
        if isinstance(first, str):  # HubSpot also takes "hs_lastmodifieddate" / "-hs_..."
            name, direction = first.lstrip("-"), "DESCENDING" if first.startswith("-") else "ASCENDING"
        elif isinstance(first, dict):
            name = first.get("propertyName")
            direction = str(first.get("direction", "ASCENDING")).upper()
        else:
            raise _error(400, "Invalid input: each sort must be an object")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise _error(400, f"Invalid input: sort direction {direction!r}")
        return direction == "DESCENDING" and name in ("hs_lastmodifieddate", "lastmodifieddate")

    @staticmethod
    def _filters(groups: list, known: set[str]) -> tuple[str, list]:
        if not isinstance(groups, list) or len(groups) > 5:
            raise _error(400, "Invalid input: at most 5 filterGroups are allowed")
        ors: list[str] = []
        params: list = []
        ops = {"GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=", "EQ": "=", "NEQ": "!="}
        for group in groups:
            ands: list[str] = []
            for flt in (group or {}).get("filters") or []:
                name = flt.get("propertyName")
                op = str(flt.get("operator", "")).upper()
                value = flt.get("value")
                if name not in known:
                    raise _error(400, f"Invalid input: property {name!r} does not exist")
                if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
                    neg = "" if op == "HAS_PROPERTY" else "NOT "
                    ands.append(f"{neg}(json_extract(data, ?) IS NOT NULL)")
                    params.append(f'$."{name}"')
                    continue
                if op not in ops:
                    raise _error(400, f"Invalid input: unsupported operator {op!r}")
                if name in TIME_PROPS:
                    try:
                        ms = parse_datetime_ms(str(value))
                    except ValueError as exc:
                        raise _error(400, f"Invalid input: {value!r} is not a datetime") from exc
                    ands.append(f"{TIME_PROPS[name]} {ops[op]} ?")
                    params.append(ms)
                elif name == "hs_object_id":
                    ands.append(f"id {ops[op]} ?")
                    params.append(str(value))
                else:
                    ands.append(f"json_extract(data, ?) {ops[op]} ?")
                    params += [f'$."{name}"', to_prop_string(value)]
            if ands:
                ors.append("(" + " AND ".join(ands) + ")")
        return (("(" + " OR ".join(ors) + ")") if ors else ""), params

    # -- writes --------------------------------------------------------------------------------

    def batch_upsert(self, req: Request) -> Response:
        obj, inputs = req.match.group("obj"), _batch_inputs(req)
        started = now_ms()
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.store.transaction() as conn:
            specs = {f["name"]: f for f in RecordStore.fields(conn, obj)}
            ts = RecordStore.next_timestamp(conn, OBJECTS)
            for item in inputs:
                problem = self._check(obj, specs, item)
                if problem:
                    ident = str(item.get("id")) if isinstance(item, dict) else ""
                    errors.append({"status": "error", "category": "VALIDATION_ERROR",
                                   "message": problem, "context": {"ids": [ident]}})
                    continue
                results.append(self._apply(conn, obj, specs, item, ts))
        out: dict[str, Any] = {"status": "COMPLETE", "results": results,
                               "startedAt": hs_datetime(started),
                               "completedAt": hs_datetime(now_ms())}
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
            if not results:
                raise ApiError(400, {"status": "error", "category": "VALIDATION_ERROR",
                                     "message": errors[0]["message"], "errors": errors,
                                     "correlationId": "00000000-0000-4000-8000-000000000004"})
            return Response(207, out)
        return Response(200, out)

    def batch_archive(self, req: Request) -> Response:
        """POST /crm/v3/objects/{obj}/batch/archive {"inputs": [{"id": ..}]}: archive by record id.
        Answers 204 with no body; archived records leave lists and search and are listed with
        archived=true (with a fresh updatedAt, so the archived sweep picks them up)."""
        obj, inputs = req.match.group("obj"), _batch_inputs(req)
        ids = []
        for item in inputs:
            ident = item.get("id") if isinstance(item, dict) else None
            if isinstance(ident, bool) or not isinstance(ident, str | int) or str(ident) == "":
                raise _error(400, "Invalid input JSON: each input must be {\"id\": \"<record id>\"}")
            ids.append(str(ident))
        with self.store.transaction() as conn:
            ts = RecordStore.next_timestamp(conn, OBJECTS)
            for ident in dict.fromkeys(ids):
                rec = RecordStore.get(conn, obj, ident)
                if rec is not None and not rec.deleted:
                    rec.deleted = True
                    RecordStore.update(conn, rec, ts)
        return Response(204)

    @staticmethod
    def _check(obj: str, specs: dict, item: Any) -> str | None:
        if not isinstance(item, dict):
            return "Invalid input: each input must be an object"
        id_prop = item.get("idProperty")
        ident = item.get("id")
        props = item.get("properties") or {}
        if not isinstance(props, dict):
            return "Invalid input: properties must be an object"
        if not id_prop or id_prop not in specs or not specs[id_prop].get("hasUniqueValue"):
            return f"Invalid idProperty {id_prop!r}: must be a unique-value property"
        if ident in (None, ""):
            return f"Missing value for idProperty {id_prop!r}"
        for name, value in props.items():
            spec = specs.get(name)
            if spec is None:
                return f'Property "{name}" does not exist'
            if spec["modificationMetadata"]["readOnlyValue"]:
                return f'Property "{name}" is read-only'
            if value in (None, ""):
                continue
            if spec["type"] == "number":
                try:
                    float(value)
                except (TypeError, ValueError):
                    return f'Property values were not valid: {value!r} is not a number for "{name}"'
        email = props.get("email") if id_prop != "email" else ident
        if email not in (None, "") and not EMAIL_RE.match(str(email)):
            return f'Property values were not valid: Email address {email} is invalid'
        return None

    def _apply(self, conn, obj: str, specs: dict, item: dict, ts: int) -> dict[str, Any]:
        id_prop = item["idProperty"]
        ident = str(item["id"])
        props = {k: to_prop_string(v) for k, v in (item.get("properties") or {}).items()}
        props[id_prop] = ident
        if id_prop == "email":
            existing = RecordStore.find(conn, obj, "email_key", ident.lower())
        else:
            existing = RecordStore.find(conn, obj, "ext_key", ident)
        if existing is None:
            n = RecordStore.next_counter(conn, obj)
            data = {k: None for k in specs if k not in SYSTEM_PROPS}
            data.update(props)
            rec = Record(0, obj, hs_id(obj, n), data.get("sync_external_id"),
                         (data.get("email") or "").lower() or None, None, ts, ts, False, data)
            RecordStore.insert(conn, obj, rec.id, data, ts, ext_key=rec.ext_key,
                               email_key=rec.email_key)
            return {**render(rec), "new": True}
        existing.data.update(props)
        existing.ext_key = existing.data.get("sync_external_id")
        existing.email_key = (existing.data.get("email") or "").lower() or None
        existing.deleted = False
        RecordStore.update(conn, existing, ts)
        return {**render(existing), "new": False}
