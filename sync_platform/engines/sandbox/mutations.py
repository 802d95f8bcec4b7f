"""Realistic changes to seeded systems: edits, inserts, soft deletes and new custom fields.

Every changed record gets a modified timestamp strictly greater than every existing one in its
table (max(now, previous max + 1 ms), +1 ms per further record), so modified-since readers see
exactly the changed records. Works with or without running servers and from any process: the
REST stores are SQLite files the servers read per request.
Soft deletes: crm IsDeleted, marketing archived, accounting Active=0, hr Status Inactive,
payroll is_active=0, shop product status archived; warehouse has no delete flag, so a
"delete" there writes the stock off (on_hand=0).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, Table, func, select, text, update

from . import hr_files, shop_api, sql_systems, truth
from .crm_api import SYSTEM_FIELDS as CRM_SYSTEM_FIELDS
from .crm_api import sf_id
from .marketing_api import hs_id
from .noise import format_phone
from .store import RecordStore, now_ms
from .timeutil import ms_to_naive
from .world import (
    CITIES,
    DEPARTMENTS,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    STREET_NAMES,
    STREET_TYPES,
    TITLES,
    make_company,
    make_product,
    random_phone,
    sizes,
)

if TYPE_CHECKING:
    from . import Sandbox

TIERS = ("Bronze", "Silver", "Gold", "Platinum")


@dataclass
class MutationReport:
    """What `Sandbox.mutate` touched: source ids per system and table, plus counts."""

    changed: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    edited: dict[str, dict[str, int]] = field(default_factory=dict)
    inserted: dict[str, dict[str, int]] = field(default_factory=dict)
    deleted: dict[str, dict[str, int]] = field(default_factory=dict)
    new_fields: dict[str, list[str]] = field(default_factory=dict)

    def record(self, system: str, table: str, kind: str, ids: list[str]) -> None:
        ids = [str(i) for i in ids]
        bucket = self.changed.setdefault(system, {}).setdefault(table, [])
        bucket += [i for i in ids if i not in bucket]
        counts = getattr(self, kind).setdefault(system, {})
        counts[table] = counts.get(table, 0) + len(ids)

    def record_all(self, system: str, table: str, edited: list, inserted: list,
                   deleted: list) -> None:
        """Record one table's edited, inserted and deleted ids."""
        for kind, ids in (("edited", edited), ("inserted", inserted), ("deleted", deleted)):
            self.record(system, table, kind, ids)

    def total(self, system: str, table: str) -> int:
        """Number of distinct source ids touched in (system, table)."""
        return len(self.changed.get(system, {}).get(table, []))


class _Ctx:
    """Shared state of one mutate call: RNG per system, new entity ids, truth rows."""

    def __init__(self, sb: Sandbox, rng_seed: str, edits: int, inserts: int, deletes: int,
                 new_field: str | None):
        self.sb, self.rng_seed = sb, rng_seed
        self.edits, self.inserts, self.deletes, self.new_field = edits, inserts, deletes, new_field
        self.report = MutationReport()
        self.truth_rows: list[tuple[str, str, str, str, str]] = []
        state = sb._state()
        n_comp, n_people, n_emp, n_prod = sizes(int(state.get("size") or sb.size))
        self.next_ids = state.get("next_ids") or {"company": n_comp, "person": n_people,
                                                  "employee": n_emp, "product": n_prod + 1}

    def rng(self, system: str) -> random.Random:
        return random.Random(f"{self.rng_seed}:{system}")

    def new_entity(self, kind: str) -> int:
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    def add_truth(self, system: str, table: str, source_id: str, entity_id: str) -> None:
        self.truth_rows.append((system, table, source_id, entity_id.split(":")[0], entity_id))


def mutate(sb: Sandbox, systems: list[str], edits: int, inserts: int, deletes: int,
           new_field: str | None, rng_seed: str) -> MutationReport:
    """Apply one round of mutations to `systems`; see `Sandbox.mutate`."""
    ctx = _Ctx(sb, rng_seed, edits, inserts, deletes, new_field)
    handlers = {"crm": _crm, "marketing": _marketing, "shop": _shop, "accounting": _accounting,
                "payroll": _payroll, "warehouse": _warehouse, "hr": _hr}
    for system in systems:
        handlers[system](ctx)
    truth.append(sb.ground_truth_path(), ctx.truth_rows)
    sb._save_state(next_ids=ctx.next_ids)
    return ctx.report


# -- helpers ----------------------------------------------------------------------------------

def _pick(rng: random.Random, ids: list, edits: int, deletes: int) -> tuple[list, list]:
    chosen = rng.sample(ids, min(len(ids), edits + deletes))
    return chosen[:edits], chosen[edits:]


def _new_street(rng: random.Random) -> str:
    return (f"{1 + int(rng.random() * 9899)} {rng.choice(STREET_NAMES)} "
            f"{rng.choice(STREET_TYPES)}")


def _new_company(ctx: _Ctx, rng: random.Random):
    idx = ctx.new_entity("company")
    c = make_company(idx, rng, set())
    slug, _, tld = c.domain.partition(".")
    c.domain = f"{slug}{idx}.{tld}"  # brand-new company: make its domain unique
    return c


def _new_person(ctx: _Ctx, rng: random.Random, domain: str) -> dict[str, Any]:
    idx = ctx.new_entity("person")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    city = rng.choice([c for c in CITIES if c[3] == "1"])
    return {"entity": f"person:{idx:07d}", "first": first, "last": last,
            "email": f"{local}{idx}@{domain}", "phone": random_phone("1", city[4], rng),
            "mobile": random_phone("1", city[4], rng), "title": rng.choice(TITLES),
            "city": city[0], "state": city[1], "street": _new_street(rng)}


def _domain_of(value: str | None) -> str:
    if not value:
        return "example.com"
    d = value.split("//")[-1].removeprefix("www.").strip("/")
    return d or "example.com"


def _rest_ids(conn, obj: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT id FROM records WHERE object=? AND deleted=0 ORDER BY rid", (obj,)).fetchall()]


class _Clock:
    """Hands out strictly increasing timestamps above `start`."""

    def __init__(self, start: int, step: int = 1):
        self.value, self.step = start, step

    def __call__(self) -> int:
        v = self.value
        self.value += self.step
        return v


# -- REST systems -----------------------------------------------------------------------------

def _crm(ctx: _Ctx) -> None:
    rng = ctx.rng("crm")
    store = ctx.sb.store("crm")
    with store.transaction() as conn:
        for obj in ("Account", "Contact"):
            clock = _Clock(RecordStore.next_timestamp(conn, [obj]))
            extra = f"{ctx.new_field}__c" if ctx.new_field else None
            if extra and RecordStore.add_field(conn, obj, {
                    "name": extra, "label": extra[:-3].replace("_", " ").strip().title(),
                    "type": "string", "externalId": False, "custom": True, "nillable": True,
                    "updateable": True, "createable": True, "length": 255}):
                ctx.report.new_fields.setdefault("crm", []).append(f"{obj}.{extra}")
            edit_ids, del_ids = _pick(rng, _rest_ids(conn, obj), ctx.edits, ctx.deletes)
            for rid in edit_ids:
                rec = RecordStore.get(conn, obj, rid)
                d = rec.data
                x = rng.random()
                if obj == "Account":
                    if x < 0.4:
                        d["Phone"] = format_phone(random_phone("1", "415", rng), "paren")
                    elif x < 0.7:
                        d["BillingStreet"] = _new_street(rng)
                    else:
                        d["NumberOfEmployees"] = int((d.get("NumberOfEmployees") or 10) * 1.1) + 1
                else:
                    if x < 0.3:
                        d["Phone"] = format_phone(random_phone("1", "212", rng), "paren")
                    elif x < 0.55:
                        d["Title"] = rng.choice(TITLES)
                    elif x < 0.8 and d.get("Email"):
                        d["Email"] = d["Email"].lower() if d["Email"] != d["Email"].lower() \
                            else d["Email"].title()
                    else:
                        d["MailingStreet"] = _new_street(rng)
                if extra:
                    d[extra] = rng.choice(TIERS)
                RecordStore.update(conn, rec, clock())
            _soft_delete(conn, obj, del_ids, clock)
            new_ids = []
            specs = [f["name"] for f in RecordStore.fields(conn, obj)]
            accounts = _rest_ids(conn, "Account") if obj == "Contact" else []
            for _ in range(ctx.inserts):
                n = RecordStore.next_counter(conn, obj)
                rec_id = sf_id(obj, n)
                data = {k: None for k in specs if k not in CRM_SYSTEM_FIELDS}
                if obj == "Account":
                    c = _new_company(ctx, rng)
                    data.update({"Name": c.legal_name, "BillingStreet": c.street,
                                 "BillingCity": c.city, "BillingState": c.state or None,
                                 "BillingPostalCode": c.postal, "BillingCountry": c.country,
                                 "Phone": format_phone(c.phone, "paren"),
                                 "Website": "www." + c.domain,
                                 "Industry": INDUSTRIES[c.industry][0],
                                 "NumberOfEmployees": c.employees})
                    entity = c.entity_id
                else:
                    acc = RecordStore.get(conn, "Account", rng.choice(accounts)) if accounts else None
                    domain = _domain_of(acc.data.get("Website")) if acc else "example.com"
                    p = _new_person(ctx, rng, domain)
                    data.update({"FirstName": p["first"], "LastName": p["last"],
                                 "Email": p["email"], "Phone": format_phone(p["phone"], "paren"),
                                 "MobilePhone": format_phone(p["mobile"], "paren"),
                                 "Title": p["title"], "AccountId": acc.id if acc else None,
                                 "MailingStreet": p["street"], "MailingCity": p["city"],
                                 "MailingState": p["state"], "MailingCountry": "United States"})
                    entity = p["entity"]
                if extra:
                    data[extra] = rng.choice(TIERS)
                RecordStore.insert(conn, obj, rec_id, data, clock())
                ctx.add_truth("crm", obj, rec_id, entity)
                new_ids.append(rec_id)
            ctx.report.record_all("crm", obj, edit_ids, new_ids,
                                   del_ids)


def _soft_delete(conn, obj: str, ids: list[str], clock: _Clock) -> None:
    """Flag records deleted (Salesforce IsDeleted, HubSpot archived) with a fresh timestamp."""
    for rid in ids:
        rec = RecordStore.get(conn, obj, rid)
        rec.deleted = True
        RecordStore.update(conn, rec, clock())


def _marketing(ctx: _Ctx) -> None:
    rng = ctx.rng("marketing")
    store = ctx.sb.store("marketing")
    with store.transaction() as conn:
        for obj in ("companies", "contacts"):
            clock = _Clock(RecordStore.next_timestamp(conn, [obj]))
            extra = ctx.new_field
            if extra and RecordStore.add_field(conn, obj, {
                    "name": extra, "label": extra.replace("_", " ").strip().title(),
                    "type": "string", "fieldType": "text", "groupName": "information",
                    "hasUniqueValue": False, "hubspotDefined": False,
                    "modificationMetadata": {"readOnlyValue": False, "archivable": True}}):
                ctx.report.new_fields.setdefault("marketing", []).append(f"{obj}.{extra}")
            edit_ids, del_ids = _pick(rng, _rest_ids(conn, obj), ctx.edits, ctx.deletes)
            for rid in edit_ids:
                rec = RecordStore.get(conn, obj, rid)
                d = rec.data
                x = rng.random()
                if x < 0.35:
                    d["phone"] = format_phone(random_phone("1", "617", rng), "spaces")
                elif x < 0.6:
                    d["address"] = _new_street(rng)
                elif obj == "contacts" and x < 0.8:
                    d["jobtitle"] = rng.choice(TITLES)
                elif obj == "contacts" and d.get("email"):
                    d["email"] = d["email"].strip().upper() if rng.random() < 0.5 \
                        else d["email"].strip().lower()
                    rec.email_key = d["email"].lower()
                else:
                    d["city"] = rng.choice(CITIES)[0]
                if obj == "contacts" and rng.random() < 0.3:
                    d["lifecyclestage"] = "customer"
                if extra:
                    d[extra] = rng.choice(TIERS)
                RecordStore.update(conn, rec, clock())
            _soft_delete(conn, obj, del_ids, clock)
            specs = [f["name"] for f in RecordStore.fields(conn, obj)]
            companies = _rest_ids(conn, "companies") if obj == "contacts" else []
            new_ids = []
            for _ in range(ctx.inserts):
                n = RecordStore.next_counter(conn, obj)
                rec_id = hs_id(obj, n)
                data = {k: None for k in specs if k not in ("hs_object_id", "createdate",
                                                              "hs_lastmodifieddate",
                                                              "lastmodifieddate")}
                if obj == "companies":
                    c = _new_company(ctx, rng)
                    data.update({"name": c.legal_name, "domain": c.domain,
                                 "phone": format_phone(c.phone, "dots"), "address": c.street,
                                 "city": c.city, "state": c.state or None, "zip": c.postal,
                                 "country": c.country, "industry": INDUSTRIES[c.industry][1],
                                 "numberofemployees": str(c.employees)})
                    entity = c.entity_id
                else:
                    comp = RecordStore.get(conn, "companies", rng.choice(companies)) \
                        if companies else None
                    domain = (comp.data.get("domain") if comp else None) or "example.com"
                    p = _new_person(ctx, rng, domain)
                    data.update({"email": p["email"], "firstname": p["first"],
                                 "lastname": p["last"], "phone": format_phone(p["phone"], "dots"),
                                 "jobtitle": p["title"],
                                 "company": comp.data.get("name") if comp else None,
                                 "associatedcompanyid": comp.id if comp else None,
                                 "city": p["city"], "state": p["state"], "lifecyclestage": "lead",
                                 "hs_email_optout": "false"})
                    entity = p["entity"]
                if extra:
                    data[extra] = rng.choice(TIERS)
                email = (data.get("email") or "").lower() or None
                RecordStore.insert(conn, obj, rec_id, data, clock(), email_key=email)
                ctx.add_truth("marketing", obj, rec_id, entity)
                new_ids.append(rec_id)
            ctx.report.record_all("marketing", obj, edit_ids, new_ids,
                                   del_ids)


def _shop(ctx: _Ctx) -> None:
    rng = ctx.rng("shop")
    store = ctx.sb.store("shop")
    with store.transaction() as conn:
        clock = _Clock(RecordStore.next_timestamp(conn, shop_api.TOUCH, step_ms=1000), 1000)
        extra = ctx.new_field
        if extra and RecordStore.add_field(conn, "product", {"name": extra, "type": "string"}):
            ctx.report.new_fields.setdefault("shop", []).append(f"products.{extra}")
        edit_ids, del_ids = _pick(rng, _rest_ids(conn, "product"), ctx.edits, ctx.deletes)
        for pid in edit_ids:
            ts = clock()
            product = RecordStore.get(conn, "product", pid)
            for v in RecordStore.children(conn, "variant", [pid]):
                if rng.random() < 0.7:
                    v.data["inventory_quantity"] = int(rng.random() * 300)
                else:
                    v.data["price"] = f"{float(v.data['price']) * 1.1:.2f}"
                RecordStore.update(conn, v, ts)
            if extra:
                product.data[extra] = rng.choice(TIERS)
            RecordStore.update(conn, product, ts)
        for pid in del_ids:
            product = RecordStore.get(conn, "product", pid)
            product.deleted = True
            product.data["status"] = "archived"
            RecordStore.update(conn, product, clock())
        new_ids = []
        for _ in range(ctx.inserts):
            prod = make_product(ctx.new_entity("product"), rng)
            n = RecordStore.next_counter(conn, "product")
            RecordStore.next_counter(conn, "variant")
            pid, vid = str(shop_api.PRODUCT_BASE + n), str(shop_api.VARIANT_BASE + n)
            item = str(shop_api.ITEM_BASE + n)
            ts = clock()
            data = {"title": prod.title, "handle": prod.title.lower().replace(" ", "-") + f"-{n}",
                    "vendor": prod.vendor, "product_type": prod.product_type, "status": "active",
                    "body_html": "", "tags": ""}
            if extra:
                data[extra] = rng.choice(TIERS)
            RecordStore.insert(conn, "product", pid, data, ts)
            RecordStore.insert(conn, "variant", vid, {
                "sku": prod.sku, "title": "Default Title", "price": f"{prod.price_cents / 100:.2f}",
                "inventory_item_id": item, "inventory_quantity": 0}, ts, ext_key=item, parent=pid)
            ctx.add_truth("shop", "products", pid, prod.entity_id)
            ctx.add_truth("shop", "variants", vid, prod.entity_id)
            new_ids.append(pid)
        ctx.report.record_all("shop", "products", edit_ids, new_ids,
                               del_ids)


# -- SQL systems ------------------------------------------------------------------------------

def _sql_clock(conn, table: Table, column: str) -> _Clock:
    top = conn.execute(select(func.max(table.c[column]))).scalar()
    if isinstance(top, str):
        top = datetime.fromisoformat(top)
    top_ms = int((top - datetime(1970, 1, 1)).total_seconds() * 1000) + 1 if top else 0
    return _Clock(max(now_ms(), top_ms))


def _naive(ms: int) -> datetime:
    return ms_to_naive(ms)


def _ensure_column(conn, table_name: str, name: str | None) -> Table:
    """Reflect `table_name`, adding text column `name` when missing."""
    table = Table(table_name, MetaData(), autoload_with=conn)
    if name and name not in table.c:
        q = conn.dialect.identifier_preparer.quote
        conn.execute(text(f"ALTER TABLE {q(table_name)} ADD COLUMN {q(name)} VARCHAR(255)"))
        table = Table(table_name, MetaData(), autoload_with=conn)
    return table


def _accounting(ctx: _Ctx) -> None:
    rng = ctx.rng("accounting")
    engine = sql_systems.make_engine(ctx.sb.accounting_url)
    extra = ctx.new_field
    with engine.begin() as conn:
        had = extra in Table("customers", MetaData(), autoload_with=conn).c if extra else True
        t = _ensure_column(conn, "customers", extra)
        if not had:
            ctx.report.new_fields.setdefault("accounting", []).append(f"customers.{extra}")
        clock = _sql_clock(conn, t, "LastUpdatedTime")
        ids = [r[0] for r in conn.execute(select(t.c.Id).where(t.c.Active == 1).order_by(t.c.Id))]
        edit_ids, del_ids = _pick(rng, ids, ctx.edits, ctx.deletes)
        for cid in edit_ids:
            row = conn.execute(select(t).where(t.c.Id == cid)).mappings().one()
            x = rng.random()
            values: dict[str, Any] = {"LastUpdatedTime": _naive(clock())}
            if x < 0.3:
                values["PrimaryPhone"] = format_phone(random_phone("1", "312", rng), "dash")
            elif x < 0.5:
                values["BillAddr_Line1"] = _new_street(rng)
            elif x < 0.6 and row["PrimaryEmailAddr"]:
                values["PrimaryEmailAddr"] = row["PrimaryEmailAddr"].upper()
            else:  # a new invoice: the balance grows, the customer owes money
                values["Balance"] = float(row["Balance"] or 0) + 125.5
                values["PaymentStatus"] = "Overdue" if row["PaymentStatus"] == "Open" else "Open"
            if extra:
                values[extra] = rng.choice(TIERS)
            conn.execute(update(t).where(t.c.Id == cid).values(**values))
        for cid in del_ids:
            conn.execute(update(t).where(t.c.Id == cid).values(
                Active=0, LastUpdatedTime=_naive(clock())))
        next_id = (conn.execute(select(func.max(t.c.Id))).scalar() or 0) + 1
        new_ids = []
        for i in range(ctx.inserts):
            c = _new_company(ctx, rng)
            values = {"Id": next_id + i, "DisplayName": c.legal_name, "CompanyName": c.legal_name,
                      "PrimaryEmailAddr": f"billing@{c.domain}",
                      "PrimaryPhone": format_phone(c.phone, "dash"), "BillAddr_Line1": c.street,
                      "BillAddr_City": c.city, "BillAddr_CountrySubDivisionCode": c.state or None,
                      "BillAddr_PostalCode": c.postal,
                      "BillAddr_Country": sql_systems.QB_COUNTRY[c.country], "Active": 1,
                      "Balance": 0, "PaymentStatus": "Paid",
                      "CurrencyRef": sql_systems.CURRENCY[c.country]}
            ts = _naive(clock())
            values.update(CreateTime=ts, LastUpdatedTime=ts)
            if extra:
                values[extra] = rng.choice(TIERS)
            conn.execute(t.insert().values(**values))
            ctx.add_truth("accounting", "customers", str(next_id + i), c.entity_id)
            new_ids.append(next_id + i)
    engine.dispose()
    ctx.report.record_all("accounting", "customers", edit_ids, new_ids,
                           del_ids)


def _payroll(ctx: _Ctx) -> None:
    rng = ctx.rng("payroll")
    engine = sql_systems.make_engine(ctx.sb.payroll_url)
    extra = ctx.new_field
    with engine.begin() as conn:
        had = extra in Table("employees", MetaData(), autoload_with=conn).c if extra else True
        t = _ensure_column(conn, "employees", extra)
        if not had:
            ctx.report.new_fields.setdefault("payroll", []).append(f"employees.{extra}")
        clock = _sql_clock(conn, t, "updated_at")
        ids = [r[0] for r in conn.execute(select(t.c.id).where(t.c.is_active == 1)
                                          .order_by(t.c.id))]
        edit_ids, del_ids = _pick(rng, ids, ctx.edits, ctx.deletes)
        for eid in edit_ids:
            row = conn.execute(select(t).where(t.c.id == eid)).mappings().one()
            values: dict[str, Any] = {"updated_at": _naive(clock())}
            if rng.random() < 0.6:
                values["annual_salary_cents"] = int((row["annual_salary_cents"] or 0) * 1.05)
            else:
                values["department"] = rng.choice(DEPARTMENTS)[0]
            if extra:
                values[extra] = rng.choice(TIERS)
            conn.execute(update(t).where(t.c.id == eid).values(**values))
        for eid in del_ids:
            conn.execute(update(t).where(t.c.id == eid).values(is_active=0,
                                                                 updated_at=_naive(clock())))
        new_ids = []
        for _ in range(ctx.inserts):
            idx = ctx.new_entity("employee")
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            values = {"first_name": first, "last_name": last,
                      "email": f"{first}.{last}{idx}@brightwave.io".lower(),
                      "start_date": (datetime(2024, 7, 1) + timedelta(days=int(rng.random() * 60))
                                     ).date().isoformat(),
                      "is_active": 1, "annual_salary_cents": 6_000_000,
                      "department": rng.choice(DEPARTMENTS)[0], "updated_at": _naive(clock())}
            if extra:
                values[extra] = rng.choice(TIERS)
            new_id = conn.execute(t.insert().values(**values)).inserted_primary_key[0]
            ctx.add_truth("payroll", "employees", str(new_id), f"employee:{idx:06d}")
            new_ids.append(new_id)
    engine.dispose()
    ctx.report.record_all("payroll", "employees", edit_ids, new_ids,
                           del_ids)


def _warehouse(ctx: _Ctx) -> None:
    rng = ctx.rng("warehouse")
    engine = sql_systems.make_engine(ctx.sb.warehouse_url)
    extra = ctx.new_field
    with engine.begin() as conn:
        had = extra in Table("inventory_levels", MetaData(), autoload_with=conn).c \
            if extra else True
        t = _ensure_column(conn, "inventory_levels", extra)
        if not had:
            ctx.report.new_fields.setdefault("warehouse", []).append(f"inventory_levels.{extra}")
        products = Table("products", MetaData(), autoload_with=conn)
        clock = _sql_clock(conn, t, "updated_at")
        pclock = _sql_clock(conn, products, "updated_at")
        keys = [(r[0], r[1]) for r in conn.execute(
            select(t.c.sku, t.c.location).where(t.c.on_hand > 0).order_by(t.c.sku, t.c.location))]
        edit_keys, del_keys = _pick(rng, keys, ctx.edits, ctx.deletes)
        for sku, loc in edit_keys:
            values: dict[str, Any] = {"on_hand": int(rng.random() * 400) + 1,
                                      "updated_at": _naive(clock())}
            if extra:
                values[extra] = rng.choice(TIERS)
            conn.execute(update(t).where(t.c.sku == sku, t.c.location == loc).values(**values))
        for sku, loc in del_keys:
            conn.execute(update(t).where(t.c.sku == sku, t.c.location == loc).values(
                on_hand=0, updated_at=_naive(clock())))
        new_keys, new_skus = [], []
        for _ in range(ctx.inserts):
            prod = make_product(ctx.new_entity("product"), rng)
            conn.execute(products.insert().values(sku=prod.sku, name=prod.title.upper(),
                                                  updated_at=_naive(pclock())))
            ctx.add_truth("warehouse", "products", prod.sku, prod.entity_id)
            new_skus.append(prod.sku)
            loc = rng.choice(sql_systems.LOCATIONS)
            values = {"sku": prod.sku, "location": loc, "on_hand": int(rng.random() * 200) + 1,
                      "updated_at": _naive(clock())}
            if extra:
                values[extra] = rng.choice(TIERS)
            conn.execute(t.insert().values(**values))
            ctx.add_truth("warehouse", "inventory_levels", f"{prod.sku}:{loc}", prod.entity_id)
            new_keys.append(f"{prod.sku}:{loc}")
    engine.dispose()
    ctx.report.record_all("warehouse", "inventory_levels", [f"{s}:{lc}" for s, lc in edit_keys], new_keys,
                           [f"{s}:{lc}" for s, lc in del_keys])
    if new_skus:
        ctx.report.record("warehouse", "products", "inserted", new_skus)


# -- HR files ---------------------------------------------------------------------------------

def _hr(ctx: _Ctx) -> None:
    rng = ctx.rng("hr")
    folder = ctx.sb.hr_dir
    columns, state = hr_files.current_state(folder)
    extra = ctx.new_field
    if extra and extra not in columns:
        columns.append(extra)
        ctx.report.new_fields.setdefault("hr", []).append(f"employees.{extra}")
    active = [k for k, row in state.items() if row.get("Status") == "Active"]
    edit_ids, del_ids = _pick(rng, active, ctx.edits, ctx.deletes)
    rows: list[dict[str, str]] = []
    for eid in edit_ids:
        row = dict(state[eid])
        x = rng.random()
        if x < 0.4:
            dollars = float(row["Salary"].replace("$", "").replace(",", "") or 0)
            row["Salary"] = hr_files.salary_text(round(dollars * 1.04, -2))
        elif x < 0.7:
            dept, titles = rng.choice(DEPARTMENTS)
            row["Department"], row["Job Title"] = dept, rng.choice(titles)
        else:
            row["Job Title"] = "Senior " + row["Job Title"].removeprefix("Senior ")
        if extra:
            row[extra] = rng.choice(TIERS)
        rows.append(row)
    for eid in del_ids:
        row = dict(state[eid])
        row["Status"] = "Inactive"
        rows.append(row)
    next_id = max((int(k) for k in state), default=hr_files.ID_BASE - 1) + 1
    new_ids = []
    for i in range(ctx.inserts):
        idx = ctx.new_entity("employee")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        dept, titles = rng.choice(DEPARTMENTS)
        eid = str(next_id + i)
        row = {"Employee ID": eid, "Full Name": f"{first} {last}",
               "Work Email": f"{first}.{last}{idx}@brightwave.io".lower(),
               "Hire Date": datetime.now().strftime("%d/%m/%Y"), "Status": "Active",
               "Department": dept, "Job Title": rng.choice(titles),
               "Salary": hr_files.salary_text(60_000 + int(rng.random() * 60) * 1000)}
        if extra:
            row[extra] = rng.choice(TIERS)
        rows.append(row)
        ctx.add_truth("hr", "employees", eid, f"employee:{idx:06d}")
        new_ids.append(eid)
    if rows:
        hr_files.write_delta(folder, columns, rows)
    ctx.report.record_all("hr", "employees", edit_ids, new_ids,
                           del_ids)


# -- schema drift between runs (no record edits) ----------------------------------------------

_SQL_SYSTEMS = {"accounting": "accounting_url", "payroll": "payroll_url", "warehouse": "warehouse_url"}


def _rest_spec(system: str, name: str, ftype: str) -> dict[str, Any]:
    if system == "crm":
        return {"name": name, "label": name.removesuffix("__c").replace("_", " ").strip().title(),
                "type": ftype, "externalId": False, "custom": True, "nillable": True,
                "updateable": True, "createable": True, "length": 255 if ftype == "string" else 0}
    if system == "marketing":
        return {"name": name, "label": name.replace("_", " ").strip().title(), "type": ftype,
                "fieldType": "number" if ftype == "number" else "text", "groupName": "information",
                "hasUniqueValue": False, "hubspotDefined": False,
                "modificationMetadata": {"readOnlyValue": False, "archivable": True}}
    return {"name": name, "type": ftype}


def add_field(sb: Sandbox, system: str, obj: str, name: str, ftype: str = "string") -> bool:
    """Add field `name` to `obj` (a REST object such as `Contact`, or a SQL table) of `system`;
    False when it exists. CRM custom fields end in `__c`; types are the system's own."""
    if system in _SQL_SYSTEMS:
        engine = sql_systems.make_engine(getattr(sb, _SQL_SYSTEMS[system]))
        try:
            with engine.begin() as conn:
                had = name in Table(obj, MetaData(), autoload_with=conn).c
                _ensure_column(conn, obj, name)
        finally:
            engine.dispose()
        return not had
    with sb.store(system).transaction() as conn:
        return RecordStore.add_field(conn, obj, _rest_spec(system, name, ftype))


def drop_field(sb: Sandbox, system: str, obj: str, name: str) -> bool:
    """Remove field `name` (and its values) from `obj` of `system`; False when it is not there."""
    return _alter_field(sb, system, obj, name, None)


def rename_field(sb: Sandbox, system: str, obj: str, name: str, new_name: str) -> bool:
    """Rename field `name` of `obj` to `new_name`, keeping the values; False when it is not there."""
    return _alter_field(sb, system, obj, name, new_name)


def _alter_field(sb: Sandbox, system: str, obj: str, name: str, new_name: str | None) -> bool:
    if system in _SQL_SYSTEMS:
        engine = sql_systems.make_engine(getattr(sb, _SQL_SYSTEMS[system]))
        try:
            with engine.begin() as conn:
                if name not in Table(obj, MetaData(), autoload_with=conn).c:
                    return False
                q = conn.dialect.identifier_preparer.quote
                change = f"RENAME COLUMN {q(name)} TO {q(new_name)}" if new_name else f"DROP COLUMN {q(name)}"
                conn.execute(text(f"ALTER TABLE {q(obj)} {change}"))
        finally:
            engine.dispose()
        return True
    with sb.store(system).transaction() as conn:
        found = conn.execute("SELECT spec FROM fields WHERE object = ? AND name = ?", (obj, name)).fetchone()
        if found is None:
            return False
        if new_name:
            spec = {**json.loads(found[0]), "name": new_name}
            conn.execute("UPDATE fields SET name = ?, spec = ? WHERE object = ? AND name = ?",
                         (new_name, json.dumps(spec), obj, name))
        else:
            conn.execute("DELETE FROM fields WHERE object = ? AND name = ?", (obj, name))
        rows = conn.execute("SELECT rid, data FROM records WHERE object = ?", (obj,)).fetchall()
        for rid, data in rows:
            values = json.loads(data)
            if name in values:
                value = values.pop(name)
                if new_name:
                    values[new_name] = value
                conn.execute("UPDATE records SET data = ? WHERE rid = ?", (json.dumps(values), rid))
    return True
