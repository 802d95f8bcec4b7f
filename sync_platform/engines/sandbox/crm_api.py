"""The `crm` system: a Salesforce REST API look-alike (Account, Contact) over a record store.

Supported: SOQL subset on /query and /queryAll with stateless keyset locators (ORDER BY
LastModifiedDate ASC or DESC, e.g. a newest-change probe with DESC LIMIT 1), describe,
record GET, upsert by external id (single and composite), composite delete (records go to the
recycle bin: IsDeleted = true, seen by queryAll only), limits. Salesforce-style 18-char ids.
Upserts by external id do not match records in the recycle bin (a new record is created).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import unquote

from .http_base import ApiError, Request, Response, RestApi, query_newest
from .store import Record, RecordStore
from .timeutil import parse_datetime_ms, sf_datetime

API = "/services/data/v59.0"
OBJECTS = {"Account": "001", "Contact": "003"}
SYSTEM_FIELDS = ("Id", "CreatedDate", "LastModifiedDate", "IsDeleted")
READ_ONLY = {"Id", "CreatedDate", "LastModifiedDate", "IsDeleted"}
NUMERIC = {"currency", "int", "double"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _f(name: str, label: str, ftype: str, *, external: bool = False, custom: bool = False,
       nillable: bool = True) -> dict[str, Any]:
    return {"name": name, "label": label, "type": ftype, "externalId": external, "custom": custom,
            "nillable": nillable, "updateable": name not in READ_ONLY,
            "createable": name not in READ_ONLY,
            "length": 255 if ftype in ("string", "phone", "email", "url", "picklist") else 0}


FIELDS: dict[str, list[dict[str, Any]]] = {
    "Account": [
        _f("Id", "Account ID", "id", nillable=False), _f("Name", "Account Name", "string",
                                                          nillable=False),
        _f("AccountNumber", "Account Number", "string"),
        _f("BillingStreet", "Billing Street", "textarea"),
        _f("BillingCity", "Billing City", "string"), _f("BillingState", "Billing State", "string"),
        _f("BillingPostalCode", "Billing Zip/Postal Code", "string"),
        _f("BillingCountry", "Billing Country", "string"), _f("Phone", "Account Phone", "phone"),
        _f("Website", "Website", "url"), _f("Industry", "Industry", "picklist"),
        _f("AnnualRevenue", "Annual Revenue", "currency"),
        _f("NumberOfEmployees", "Employees", "int"),
        _f("External_Id__c", "External Id", "string", external=True, custom=True),
        # set by the accounting integration (a nightly script that stopped months ago: stale)
        _f("Payment_Status__c", "Payment Status", "picklist", custom=True),
        _f("CreatedDate", "Created Date", "datetime", nillable=False),
        _f("LastModifiedDate", "Last Modified Date", "datetime", nillable=False),
        _f("IsDeleted", "Deleted", "boolean", nillable=False),
    ],
    "Contact": [
        _f("Id", "Contact ID", "id", nillable=False), _f("FirstName", "First Name", "string"),
        _f("LastName", "Last Name", "string", nillable=False), _f("Email", "Email", "email"),
        _f("Phone", "Business Phone", "phone"), _f("MobilePhone", "Mobile Phone", "phone"),
        _f("Title", "Title", "string"), _f("AccountId", "Account ID", "reference"),
        _f("MailingStreet", "Mailing Street", "textarea"),
        _f("MailingCity", "Mailing City", "string"), _f("MailingState", "Mailing State", "string"),
        _f("MailingPostalCode", "Mailing Zip/Postal Code", "string"),
        _f("MailingCountry", "Mailing Country", "string"),
        _f("External_Id__c", "External Id", "string", external=True, custom=True),
        _f("CreatedDate", "Created Date", "datetime", nillable=False),
        _f("LastModifiedDate", "Last Modified Date", "datetime", nillable=False),
        _f("IsDeleted", "Deleted", "boolean", nillable=False),
    ],
}
REQUIRED = {"Account": "Name", "Contact": "LastName"}

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BITS = str.maketrans({c: ("1" if c.isupper() else "0") for c in _B62})


def sf_id(obj: str, n: int) -> str:
    """Deterministic 18-char Salesforce id: key prefix, pod, base62 counter, case checksum."""
    digits = ""
    while n:
        n, rem = divmod(n, 62)
        digits = _B62[rem] + digits
    body = OBJECTS[obj] + "5g" + digits.rjust(10, "0")
    return body + _case_char(body[0:5]) + _case_char(body[5:10]) + _case_char(body[10:15])


def _case_char(chunk: str) -> str:
    """Salesforce's case-safe suffix character of one 5-char chunk (bit i = char i is upper)."""
    return _SUFFIX[int(chunk.translate(_BITS)[::-1], 2)]


def field_specs(conn, obj: str) -> dict[str, dict[str, Any]]:
    """Field name -> spec (base + custom) for an sobject."""
    return {f["name"]: f for f in RecordStore.fields(conn, obj)}


def render(rec: Record, names: list[str]) -> dict[str, Any]:
    """A record as the REST API returns it, with the requested fields in order."""
    out: dict[str, Any] = {"attributes": {"type": rec.object,
                                          "url": f"{API}/sobjects/{rec.object}/{rec.id}"}}
    for n in names:
        if n == "Id":
            out[n] = rec.id
        elif n == "CreatedDate":
            out[n] = sf_datetime(rec.created_at)
        elif n == "LastModifiedDate":
            out[n] = sf_datetime(rec.modified_at)
        elif n == "IsDeleted":
            out[n] = rec.deleted
        else:
            out[n] = rec.data.get(n)
    return out


def _err(status: int, code: str, message: str, fields: list[str] | None = None) -> ApiError:
    body: dict[str, Any] = {"errorCode": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return ApiError(status, [body])


# -- SOQL -------------------------------------------------------------------------------------

_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$", re.IGNORECASE | re.DOTALL)
_COND = re.compile(r"^\s*(\w+)\s*(>=|<=|>|<|=)\s*(\S+)\s*$")
_TIME_FIELDS = {"lastmodifieddate": "m", "systemmodstamp": "m"}


def parse_soql(conn, soql: str) -> dict[str, Any]:
    """Parse the supported SOQL subset into a plan dict; raises ApiError like Salesforce."""
    m = _SOQL.match(soql or "")
    if not m:
        raise _err(400, "MALFORMED_QUERY", f"unexpected token in query: {soql!r}")
    obj_in = m.group("obj")
    obj = next((o for o in OBJECTS if o.lower() == obj_in.lower()), None)
    if obj is None:
        raise _err(400, "INVALID_TYPE",
                   f"sObject type '{obj_in}' is not supported. If you are attempting to use a "
                   "custom object, be sure to append the '__c' after the entity name.")
    specs = field_specs(conn, obj)
    by_lower = {n.lower(): n for n in specs}
    names: list[str] = []
    for raw in m.group("fields").split(","):
        token = raw.strip()
        low = token.lower().replace(" ", "")
        if low in ("fields(all)", "fields(standard)", "fields(custom)"):
            want = low[7:-1]
            names += [n for n, s in specs.items()
                      if want == "all" or (want == "custom") == bool(s.get("custom"))]
        elif low in by_lower:
            names.append(by_lower[low])
        else:
            raise _err(400, "INVALID_FIELD",
                       f"No such column '{token}' on entity '{obj}'. If you are attempting to use "
                       "a custom field, be sure to append the '__c' after the custom field name.")
    names = list(dict.fromkeys(names))
    lo: int | None = None
    lo_inclusive = True
    hi: int | None = None
    if m.group("where"):
        for cond in re.split(r"\s+AND\s+", m.group("where"), flags=re.IGNORECASE):
            c = _COND.match(cond)
            if not c:
                raise _err(400, "MALFORMED_QUERY", f"unsupported WHERE condition: {cond!r}")
            field, op, value = c.groups()
            if field.lower() not in _TIME_FIELDS:
                if field.lower() not in by_lower:
                    raise _err(400, "INVALID_FIELD", f"No such column '{field}' on entity '{obj}'.")
                raise _err(400, "MALFORMED_QUERY",
                           "the sandbox supports WHERE on LastModifiedDate/SystemModstamp only")
            try:
                ms = parse_datetime_ms(value)
            except ValueError as exc:
                raise _err(400, "INVALID_QUERY_FILTER_OPERATOR",
                           f"value of filter criterion for field '{field}' must be of type "
                           "dateTime and should not be enclosed in quotes") from exc
            if op in (">=", ">", "=") and (lo is None or ms > lo or (ms == lo and op == ">")):
                lo, lo_inclusive = ms, op != ">"
            if op in ("<=", "<", "="):
                bound = ms if op != "<" else ms - 1
                hi = bound if hi is None else min(hi, bound)
    desc = False
    if m.group("order"):
        keys = [k.split() for k in m.group("order").split(",")]
        ok = [k[0].lower() for k in keys] in (["lastmodifieddate"], ["lastmodifieddate", "id"],
                                              ["systemmodstamp"], ["systemmodstamp", "id"])
        directions = {k[1].lower() if len(k) == 2 else "asc" for k in keys}
        ok = ok and all(len(k) in (1, 2) for k in keys) and directions in ({"asc"}, {"desc"})
        if not ok:
            raise _err(400, "MALFORMED_QUERY",
                       "the sandbox supports ORDER BY LastModifiedDate [ASC|DESC], Id [ASC|DESC] "
                       "only (one direction)")
        desc = directions == {"desc"}
    limit = int(m.group("limit")) if m.group("limit") else None
    return {"obj": obj, "names": names, "lo": lo, "lo_inc": lo_inclusive, "hi": hi, "limit": limit,
            "desc": desc}


def _encode(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return "01g" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(locator: str) -> dict[str, Any]:
    try:
        raw = locator[3:]
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError) as exc:
        raise _err(400, "INVALID_QUERY_LOCATOR", "invalid query locator") from exc


class CrmApi(RestApi):
    """Salesforce REST API v59.0 subset."""

    system = "crm"

    def __init__(self, store: RecordStore, token: str, seed: int = 42, page_size: int = 2000):
        super().__init__(store, token, seed)
        self.page_size = page_size
        self.fault_state = None
        self.route("GET", f"{API}/query/?", self.query)
        self.route("GET", f"{API}/queryAll/?", self.query_all)
        self.route("GET", f"{API}/query/(?P<locator>[A-Za-z0-9_\\-]+)", self.query_more)
        self.route("GET", f"{API}/queryAll/(?P<locator>[A-Za-z0-9_\\-]+)", self.query_more)
        self.route("GET", f"{API}/sobjects/(?P<obj>\\w+)/describe/?", self.describe)
        self.route("GET", f"{API}/sobjects/(?P<obj>\\w+)/(?P<id>\\w{{15,18}})", self.get_record)
        self.route("PATCH", f"{API}/sobjects/(?P<obj>\\w+)/(?P<field>\\w+)/(?P<value>[^/]+)",
                   self.upsert_one)
        self.route("GET", f"{API}/sobjects/(?P<obj>\\w+)/(?P<field>\\w+__c)/(?P<value>[^/]+)",
                   self.get_by_external_id)
        self.route("PATCH", f"{API}/composite/sobjects/(?P<obj>\\w+)/(?P<field>\\w+)",
                   self.upsert_many)
        self.route("DELETE", f"{API}/composite/sobjects/?", self.delete_many)
        self.route("GET", f"{API}/limits/?", self.limits)

    # -- styles --------------------------------------------------------------------------------

    def unauthorized(self) -> Response:
        return Response(401, [{"errorCode": "INVALID_SESSION_ID",
                               "message": "Session expired or invalid"}])

    def rate_limited(self, verdict, settings) -> Response:
        return Response(429, [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                               "message": "TotalRequests Limit exceeded."}],
                        {"Retry-After": str(max(1, round(verdict.retry_after + 0.499)))})

    def server_error(self, status: int) -> Response:
        if status == 503:
            return Response(503, [{"errorCode": "SERVER_UNAVAILABLE",
                                   "message": "Server temporarily unavailable, retry later"}])
        return Response(status, [{"errorCode": "UNKNOWN_EXCEPTION",
                                  "message": "An unexpected error occurred. Please include this "
                                             "ErrorId if you contact support: 1904-27 (-85)"}])

    def not_found(self, req: Request) -> Response:
        return Response(404, [{"errorCode": "NOT_FOUND",
                               "message": "The requested resource does not exist"}])

    # -- query ---------------------------------------------------------------------------------

    def _batch(self, req: Request) -> int:
        opts = req.headers.get("sforce-query-options", "")
        m = re.search(r"batchSize\s*=\s*(\d+)", opts)
        if m:
            return max(200, min(2000, int(m.group(1))))
        return self.page_size

    def query(self, req: Request, all_rows: bool = False) -> Response:
        soql = req.param("q")
        if not soql:
            raise _err(400, "MALFORMED_QUERY", "missing query parameter q")
        with self.store.reading() as conn:
            plan = parse_soql(conn, soql)
            deleted = None if all_rows else False
            bound = RecordStore.max_modified(conn, plan["obj"])
            hi = bound if plan["hi"] is None else min(bound, plan["hi"])
            total = RecordStore.count(conn, plan["obj"], deleted=deleted, min_modified=plan["lo"],
                                      min_inclusive=plan["lo_inc"], max_modified=hi)
            if plan["limit"] is not None:
                total = min(total, plan["limit"])
            state = {"q": soql, "all": all_rows, "hi": hi, "after": None, "served": 0,
                     "total": total, "batch": self._batch(req)}
            return Response(200, self._page(conn, plan, state))

    def query_all(self, req: Request) -> Response:
        return self.query(req, all_rows=True)

    def query_more(self, req: Request) -> Response:
        state = _decode(req.match.group("locator"))
        with self.store.reading() as conn:
            plan = parse_soql(conn, state["q"])
            return Response(200, self._page(conn, plan, state))

    def _page(self, conn, plan: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        want = min(state["batch"], state["total"] - state["served"])
        after = tuple(state["after"]) if state["after"] else None
        deleted = None if state["all"] else False
        if want <= 0:
            recs = []
        elif plan.get("desc"):  # newest first; `after` is then the keyset of the last one served
            recs = query_newest(conn, plan["obj"], deleted=deleted, min_modified=plan["lo"],
                                min_inclusive=plan["lo_inc"], max_modified=state["hi"],
                                before=after, limit=want)
        else:
            recs = RecordStore.query(
                conn, plan["obj"], deleted=deleted, min_modified=plan["lo"],
                min_inclusive=plan["lo_inc"], max_modified=state["hi"], after_mod=after,
                limit=want)
        served = state["served"] + len(recs)
        done = served >= state["total"] or len(recs) < want
        out: dict[str, Any] = {"totalSize": state["total"], "done": done,
                               "records": [render(r, plan["names"]) for r in recs]}
        if not done:
            nxt = dict(state, served=served, after=[recs[-1].modified_at, recs[-1].id])
            out["nextRecordsUrl"] = f"{API}/query/{_encode(nxt)}"
        return out

    # -- sobjects ------------------------------------------------------------------------------

    def _obj(self, req: Request) -> str:
        name = req.match.group("obj")
        if name not in OBJECTS:
            raise _err(404, "NOT_FOUND", "The requested resource does not exist")
        return name

    def describe(self, req: Request) -> Response:
        obj = self._obj(req)
        with self.store.reading() as conn:
            fields = RecordStore.fields(conn, obj)
        return Response(200, {"name": obj, "label": obj, "custom": False, "queryable": True,
                              "fields": fields})

    def get_record(self, req: Request) -> Response:
        obj = self._obj(req)
        with self.store.reading() as conn:
            rec = RecordStore.get(conn, obj, req.match.group("id"))
            if rec is None or rec.deleted:
                raise _err(404, "NOT_FOUND", "The requested resource does not exist")
            return Response(200, render(rec, list(field_specs(conn, obj))))

    def get_by_external_id(self, req: Request) -> Response:
        """GET /sobjects/{obj}/{externalIdField}/{value}, as Salesforce serves it."""
        obj = self._obj(req)
        with self.store.reading() as conn:
            specs = field_specs(conn, obj)
            self._check_ext_field(obj, specs, req.match.group("field"))
            rec = RecordStore.find(conn, obj, "ext_key", unquote(req.match.group("value")), live=True)
            if rec is None or rec.deleted:
                raise _err(404, "NOT_FOUND", "The requested resource does not exist")
            return Response(200, render(rec, list(specs)))

    def limits(self, req: Request) -> Response:
        used = self.fault_state.requests if self.fault_state else 0
        return Response(200, {"DailyApiRequests": {"Max": 100000,
                                                   "Remaining": max(0, 100000 - used)}})

    def _validate(self, conn, obj: str, specs: dict, values: dict[str, Any], creating: bool
                  ) -> list[dict[str, Any]]:
        errors = []
        for name, value in values.items():
            spec = specs.get(name)
            if spec is None:
                errors.append({"statusCode": "INVALID_FIELD",
                               "message": f"No such column '{name}' on sobject of type {obj}",
                               "fields": [name]})
                continue
            if name in READ_ONLY:
                errors.append({"statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                               "message": f"Unable to create/update fields: {name}.",
                               "fields": [name]})
                continue
            if value is None:
                continue
            ftype = spec["type"]
            if ftype in NUMERIC:
                if isinstance(value, bool) or not isinstance(value, int | float) or (
                        ftype == "int" and isinstance(value, float) and not value.is_integer()):
                    errors.append({"statusCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
                                   "message": f"{spec['label']}: value not of required type: "
                                              f"{value}", "fields": [name]})
                continue
            if not isinstance(value, str):
                errors.append({"statusCode": "JSON_PARSER_ERROR",
                               "message": f"Cannot deserialize value for {name}",
                               "fields": [name]})
                continue
            if len(value) > 255:
                errors.append({"statusCode": "STRING_TOO_LONG",
                               "message": f"{spec['label']}: data value too large: "
                                          f"{value[:20]}... (max length=255)", "fields": [name]})
            elif ftype == "email" and value and not EMAIL_RE.match(value):
                errors.append({"statusCode": "INVALID_EMAIL_ADDRESS",
                               "message": f"{spec['label']}: invalid email address: {value}",
                               "fields": [name]})
            elif ftype == "reference" and value and RecordStore.get(conn, "Account", value) is None:
                errors.append({"statusCode": "INVALID_CROSS_REFERENCE_KEY",
                               "message": f"{spec['label']}: id value of incorrect type: {value}",
                               "fields": [name]})
        req = REQUIRED[obj]
        if (creating and not values.get(req)) or (req in values and not values[req]):
            errors.append({"statusCode": "REQUIRED_FIELD_MISSING",
                           "message": f"Required fields are missing: [{req}]", "fields": [req]})
        return errors

    def _upsert(self, conn, obj: str, specs: dict, field: str, value: str,
                values: dict[str, Any], ts: int, apply: bool = True
                ) -> tuple[dict[str, Any], int]:
        """Validate and write one upsert; returns (result dict, http status)."""
        if field == "Id":
            existing = RecordStore.get(conn, obj, value)
            if existing is None:
                return ({"success": False, "errors": [{
                    "statusCode": "NOT_FOUND", "message": "Provided external ID field does not "
                    "exist or is not accessible: " + value, "fields": []}]}, 404)
            if existing.deleted:
                return ({"success": False, "errors": [{
                    "statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted",
                    "fields": []}]}, 404)
        else:
            existing = RecordStore.find(conn, obj, "ext_key", value, live=True)
        values = {k: v for k, v in values.items() if k != "attributes"}
        if field != "Id" and values.get(field, value) != value:
            values[field] = value
        if field == "Id":
            values.pop("Id", None)
        errors = self._validate(conn, obj, specs, values, creating=existing is None)
        if errors:
            return {"success": False, "errors": errors}, 400
        if not apply:
            return {"success": True, "errors": []}, 200
        if field != "Id":
            values[field] = value
        if existing is None:
            n = RecordStore.next_counter(conn, obj)
            rec_id = sf_id(obj, n)
            data = {name: None for name in specs if name not in SYSTEM_FIELDS}
            data.update(values)
            RecordStore.insert(conn, obj, rec_id, data, ts, ext_key=data.get("External_Id__c"))
            return {"id": rec_id, "success": True, "created": True, "errors": []}, 201
        existing.data.update(values)
        existing.ext_key = existing.data.get("External_Id__c")
        RecordStore.update(conn, existing, ts)
        return {"id": existing.id, "success": True, "created": False, "errors": []}, 200

    def _check_ext_field(self, obj: str, specs: dict, field: str) -> None:
        if field != "Id" and not (field in specs and specs[field].get("externalId")):
            raise _err(400, "NOT_FOUND", f"Provided external ID field does not exist or is not "
                                         f"accessible: {field}")

    def upsert_one(self, req: Request) -> Response:
        obj = self._obj(req)
        field, value = req.match.group("field"), req.match.group("value")
        body = req.json()
        if not isinstance(body, dict):
            raise _err(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        with self.store.transaction() as conn:
            specs = field_specs(conn, obj)
            self._check_ext_field(obj, specs, field)
            ts = RecordStore.next_timestamp(conn, OBJECTS)
            result, status = self._upsert(conn, obj, specs, field, value, body, ts)
        if not result["success"]:
            return Response(status, [{"errorCode": e["statusCode"], "message": e["message"],
                                      "fields": e["fields"]} for e in result["errors"]])
        return Response(status, result)

    def upsert_many(self, req: Request) -> Response:
        obj = self._obj(req)
        field = req.match.group("field")
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise _err(400, "JSON_PARSER_ERROR", "Body must be {\"allOrNone\":..,\"records\":[..]}")
        records = body["records"]
        if len(records) > 200:
            raise _err(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                                                 "200 records into this call")
        all_or_none = bool(body.get("allOrNone", False))
        with self.store.transaction() as conn:
            specs = field_specs(conn, obj)
            self._check_ext_field(obj, specs, field)
            ts = RecordStore.next_timestamp(conn, OBJECTS)
            results = []
            if all_or_none:
                checks = [self._one_check(conn, obj, specs, field, rec, ts)[0] for rec in records]
                failed = any(not c["success"] for c in checks)
                for check in checks:
                    if not check["success"]:
                        results.append(check)
                    elif failed:
                        results.append({"success": False, "errors": [{
                            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "message": "Record rolled back because not all records were valid "
                                       "and the request was using AllOrNone header",
                            "fields": []}]})
                if not failed:
                    results = [self._upsert(conn, obj, specs, field, str(rec.get(field)), rec,
                                            ts)[0] for rec in records]
            else:  # records are processed in order, like Salesforce does
                for rec in records:
                    check = self._one_check(conn, obj, specs, field, rec, ts)[0]
                    results.append(self._upsert(conn, obj, specs, field, str(rec.get(field)),
                                                rec, ts)[0] if check["success"] else check)
        return Response(200, results)

    def delete_many(self, req: Request) -> Response:
        """DELETE /composite/sobjects?ids=..&allOrNone=..: up to 200 ids of any object; each one
        answers success, ENTITY_IS_DELETED (already in the recycle bin), INVALID_CROSS_REFERENCE_KEY
        (no such record) or MALFORMED_ID, in the order given."""
        ids = [i.strip() for i in (req.param("ids") or "").split(",") if i.strip()]
        if not ids:
            raise _err(400, "MISSING_ARGUMENT", "ids parameter not specified")
        if len(ids) > 200:
            raise _err(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                                                 "200 records into this call")
        all_or_none = (req.param("allOrNone", "false") or "").lower() == "true"
        with self.store.transaction() as conn:
            ts = RecordStore.next_timestamp(conn, OBJECTS)
            results: list[dict[str, Any]] = []
            doomed = []
            for rec_id in ids:
                obj = next((o for o, prefix in OBJECTS.items() if rec_id.startswith(prefix)), None)
                rec = RecordStore.get(conn, obj, rec_id) if obj else None
                if obj is None or not re.fullmatch(r"[A-Za-z0-9]{18}", rec_id):
                    error = ("MALFORMED_ID", f"malformed id {rec_id}")
                elif rec is None:
                    error = ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                elif rec.deleted:
                    error = ("ENTITY_IS_DELETED", "entity is deleted")
                else:
                    results.append({"id": rec_id, "success": True, "errors": []})
                    doomed.append(rec)
                    continue
                results.append({"id": None, "success": False, "errors": [
                    {"statusCode": error[0], "message": error[1], "fields": []}]})
            if all_or_none and len(doomed) < len(ids):
                rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "fields": [],
                          "message": "Record rolled back because not all records were valid and "
                                     "the request was using AllOrNone header"}
                return Response(200, [r if not r["success"] else {"id": None, "success": False,
                                                                  "errors": [rolled]}
                                      for r in results])
            for rec in doomed:  # to the recycle bin: a tombstone with a fresh modified time
                rec.deleted = True
                RecordStore.update(conn, rec, ts)
        return Response(200, results)

    def _one_check(self, conn, obj: str, specs: dict, field: str, rec: Any, ts: int
                   ) -> tuple[dict[str, Any], int]:
        if not isinstance(rec, dict):
            return {"success": False, "errors": [{"statusCode": "JSON_PARSER_ERROR",
                                                  "message": "record must be an object",
                                                  "fields": []}]}, 400
        typ = (rec.get("attributes") or {}).get("type")
        if typ is not None and typ != obj:
            return {"success": False, "errors": [{"statusCode": "INVALID_TYPE",
                                                  "message": f"record type {typ} != {obj}",
                                                  "fields": []}]}, 400
        value = rec.get(field)
        if value in (None, ""):
            return {"success": False, "errors": [{"statusCode": "MISSING_ARGUMENT",
                                                  "message": f"{field} not specified",
                                                  "fields": [field]}]}, 400
        return self._upsert(conn, obj, specs, field, str(value), rec, ts, apply=False)
