"""Seeding of the three HTTP systems' stores (crm, marketing, shop) from the world.

Each system sees an overlapping subset of the world with its own formats and noise:
~3% within-system duplicates, ~5% missing optional values, typos, case and whitespace noise.
"""

from __future__ import annotations

import json
import random
from typing import Any

from . import crm_api, marketing_api, shop_api
from .noise import (
    case_noise,
    company_name_variant,
    country_variant,
    format_phone,
    nickname,
    space_noise,
    street_variant,
    typo,
)
from .store import RecordStore
from .truth import TruthWriter
from .world import INDUSTRIES, World

DAY_MS = 86_400_000
FLUSH = 50_000
PAYMENT_STATUSES = ("Paid", "Open", "Overdue")  # the accounting books' values
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _maybe(value: Any, r, p: float = 0.05) -> Any:
    return None if r() < p else value


def _name_noise(s: str, rng: random.Random) -> str:
    x = rng.random()
    if x < 0.02:
        return typo(s, rng)
    if x < 0.03:
        return case_noise(s, rng)
    if x < 0.04:
        return space_noise(s, rng)
    return s


def _times(created: int, modified: int, r) -> tuple[int, int]:
    c = created + int(r() * DAY_MS)
    return c, max(c, modified + int(r() * 3 * DAY_MS))


class _Buffer:
    def __init__(self, store: RecordStore):
        self.store, self.rows, self.counts = store, [], {}

    def add(self, obj: str, rec_id: str, data: dict, created: int, modified: int, *,
            deleted: bool = False, ext: str | None = None, email: str | None = None,
            parent: str | None = None) -> None:
        self.rows.append((obj, rec_id, ext, email, parent, created, modified, int(deleted),
                          _dumps(data)))
        self.counts[obj] = self.counts.get(obj, 0) + 1
        if len(self.rows) >= FLUSH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.store.bulk_insert(self.rows)
            self.rows = []


def seed_crm(world: World, store: RecordStore, seed: int, truth: TruthWriter) -> dict[str, int]:
    """Accounts (~80% of companies) and Contacts (~80% of people) in Salesforce formats."""
    rng = random.Random(f"{seed}:crm")
    r = rng.random
    store.reset()
    buf = _Buffer(store)
    # its own stream, so the rest of the seeded data does not change with this field
    stale = random.Random(f"{seed}:crm:payment_status")
    account_of: list[str | None] = [None] * len(world.companies)
    company_rec: dict[int, dict] = {}
    n_acc = 0
    for c in world.companies:
        if r() >= 0.8:
            continue
        copies = 2 if r() < 0.03 else 1
        for k in range(copies):
            n_acc += 1
            aid = crm_api.sf_id("Account", n_acc)
            web = ("www." + c.domain) if r() < 0.6 else ("https://" + c.domain)
            data = {
                "Name": _name_noise(company_name_variant(c.base, c.suffix, rng)
                                    if r() < 0.4 else c.legal_name, rng),
                "AccountNumber": _maybe(f"{int(r() * 9e9) + 1_000_000_000}", r),
                "BillingStreet": _maybe(street_variant(c.street, rng), r),
                "BillingCity": _maybe(c.city, r), "BillingState": _maybe(c.state or None, r),
                "BillingPostalCode": _maybe(c.postal, r),
                "BillingCountry": _maybe(country_variant(c.country, rng), r),
                "Phone": _maybe(format_phone(c.phone, "paren"), r),
                "Website": _maybe(web, r), "Industry": _maybe(INDUSTRIES[c.industry][0], r),
                "AnnualRevenue": _maybe(float(c.revenue), r, 0.15),
                "NumberOfEmployees": _maybe(c.employees, r, 0.1), "External_Id__c": None,
                "Payment_Status__c": stale.choice(PAYMENT_STATUSES) if stale.random() < 0.8 else None,
            }
            if k == 0:
                account_of[c.idx] = aid
                company_rec[c.idx] = data
            else:  # duplicate record of the same company, entered differently
                data["Name"] = company_name_variant(c.base, c.suffix, rng)
                data["Phone"] = _maybe(format_phone(c.phone, "e164"), r, 0.3)
                data["Website"] = None if r() < 0.5 else c.domain
            created, modified = _times(c.created_ms, c.modified_ms, r)
            buf.add("Account", aid, data, created, modified, deleted=r() < 0.005)
            truth.add("Account", aid, c.entity_id)
    n_con = 0
    for p in world.people:
        acc = account_of[p.company]
        if not ((acc and r() < 0.8) or (acc is None and r() < 0.1)):
            continue
        c = world.companies[p.company]
        copies = 2 if r() < 0.03 else 1
        for k in range(copies):
            n_con += 1
            cid = crm_api.sf_id("Contact", n_con)
            first = p.first
            nick = nickname(first)
            if nick and r() < 0.1:
                first = nick
            email = p.email if r() >= 0.05 else (p.email.title() if r() < 0.5 else p.email.upper())
            data = {
                "FirstName": _maybe(_name_noise(first, rng), r, 0.02),
                "LastName": _name_noise(p.last, rng), "Email": _maybe(email, r),
                "Phone": _maybe(format_phone(p.phone, "paren"), r),
                "MobilePhone": _maybe(format_phone(p.mobile, "paren" if r() < 0.7 else "e164"), r),
                "Title": _maybe(p.title, r), "AccountId": acc if r() >= 0.01 else None,
                "MailingStreet": _maybe(street_variant(c.street, rng), r),
                "MailingCity": _maybe(c.city, r), "MailingState": _maybe(c.state or None, r),
                "MailingPostalCode": _maybe(c.postal, r),
                "MailingCountry": _maybe(country_variant(c.country, rng), r),
                "External_Id__c": None,
            }
            if k == 1:
                if nick:
                    data["FirstName"] = nick if data["FirstName"] == p.first else p.first
                data["LastName"] = typo(p.last, rng) if r() < 0.5 else p.last
                data["Email"] = None if r() < 0.5 else p.email.lower()
                data["Phone"] = format_phone(p.phone, "dots")
            created, modified = _times(p.created_ms, p.modified_ms, r)
            buf.add("Contact", cid, data, created, modified, deleted=r() < 0.005)
            truth.add("Contact", cid, p.entity_id)
    buf.flush()
    store.finish_seed(crm_api.FIELDS, {"Account": n_acc, "Contact": n_con})
    return dict(buf.counts)


def seed_marketing(world: World, store: RecordStore, seed: int, truth: TruthWriter
                   ) -> dict[str, int]:
    """companies (~70%) and contacts (~70%) in HubSpot formats (all values strings)."""
    rng = random.Random(f"{seed}:marketing")
    r = rng.random
    store.reset()
    buf = _Buffer(store)
    company_of: list[str | None] = [None] * len(world.companies)
    n_comp = 0
    styles = ("spaces", "dots", "e164", "dash")
    for c in world.companies:
        if r() >= 0.7:
            continue
        copies = 2 if r() < 0.03 else 1
        for k in range(copies):
            n_comp += 1
            hid = marketing_api.hs_id("companies", n_comp)
            data = {
                "name": _name_noise(company_name_variant(c.base, c.suffix, rng), rng),
                "domain": _maybe(c.domain, r, 0.05 if k == 0 else 0.5),
                "phone": _maybe(format_phone(c.phone, styles[int(r() * 4)]), r),
                "address": _maybe(street_variant(c.street, rng), r), "city": _maybe(c.city, r),
                "state": _maybe(c.state or None, r), "zip": _maybe(c.postal, r),
                "country": _maybe(country_variant(c.country, rng), r),
                "industry": _maybe(INDUSTRIES[c.industry][1], r),
                "annualrevenue": _maybe(str(c.revenue), r, 0.2),
                "numberofemployees": _maybe(str(c.employees), r, 0.1),
                "sync_external_id": None,
            }
            if k == 0:
                company_of[c.idx] = hid
            created, modified = _times(c.created_ms, c.modified_ms, r)
            buf.add("companies", hid, data, created, modified, deleted=r() < 0.005)
            truth.add("companies", hid, c.entity_id)
    n_con = 0
    stages = marketing_api.LIFECYCLE
    for p in world.people:
        comp = company_of[p.company]
        if not ((comp and r() < 0.7) or (comp is None and r() < 0.15)):
            continue
        c = world.companies[p.company]
        copies = 2 if r() < 0.03 else 1
        for k in range(copies):
            n_con += 1
            hid = marketing_api.hs_id("contacts", n_con)
            first = p.first
            nick = nickname(first)
            if nick and r() < 0.25:
                first = nick
            email = p.email
            x = r()
            if x < 0.1:
                email = case_noise(email, rng)
            elif x < 0.12:
                email = " " + email
            if k == 1:
                email = None if r() < 0.6 else p.email.upper()
                first = nick or first
            data = {
                "email": _maybe(email, r, 0.03), "firstname": _maybe(_name_noise(first, rng), r),
                "lastname": _maybe(_name_noise(p.last, rng), r, 0.02),
                "phone": _maybe(format_phone(p.phone, styles[int(r() * 4)]), r),
                "mobilephone": _maybe(format_phone(p.mobile, styles[int(r() * 4)]), r),
                "jobtitle": _maybe(p.title if r() < 0.9 else p.title.lower(), r),
                "company": _maybe(company_name_variant(c.base, c.suffix, rng), r),
                "associatedcompanyid": comp, "address": _maybe(street_variant(c.street, rng), r),
                "city": _maybe(c.city, r), "state": _maybe(c.state or None, r),
                "zip": _maybe(c.postal, r), "country": _maybe(country_variant(c.country, rng), r),
                "lifecyclestage": stages[int(r() * 4)],
                "hs_email_optout": "true" if r() < 0.05 else "false", "sync_external_id": None,
            }
            created, modified = _times(p.created_ms, p.modified_ms, r)
            key = (data["email"] or "").strip().lower() or None
            buf.add("contacts", hid, data, created, modified, deleted=r() < 0.005, email=key)
            truth.add("contacts", hid, p.entity_id)
    buf.flush()
    store.finish_seed(marketing_api.FIELDS, {"companies": n_comp, "contacts": n_con})
    return dict(buf.counts)


def seed_shop(world: World, store: RecordStore, seed: int, truth: TruthWriter,
              levels: dict[str, int]) -> dict[str, int]:
    """One Shopify product with one variant per warehouse SKU; some quantities are stale."""
    rng = random.Random(f"{seed}:shop")
    r = rng.random
    store.reset()
    buf = _Buffer(store)
    for prod in world.products:
        pid = str(shop_api.PRODUCT_BASE + prod.idx)
        vid = str(shop_api.VARIANT_BASE + prod.idx)
        item = str(shop_api.ITEM_BASE + prod.idx)
        qty = levels.get(prod.sku, 0)
        if r() < 0.15:
            qty = max(0, qty + int(r() * 40) - 20)
        handle = prod.title.lower().replace(" ", "-") + f"-{prod.idx}"
        created, modified = _times(prod.modified_ms - 200 * DAY_MS, prod.modified_ms, r)
        buf.add("product", pid, {"title": prod.title, "handle": handle, "vendor": prod.vendor,
                                 "product_type": prod.product_type, "status": "active",
                                 "body_html": f"<p>{prod.title} by {prod.vendor}.</p>",
                                 "tags": prod.product_type.lower()}, created, modified)
        buf.add("variant", vid, {"sku": prod.sku if r() >= 0.01 else prod.sku.lower(),
                                 "title": "Default Title",
                                 "price": f"{prod.price_cents / 100:.2f}",
                                 "inventory_item_id": item, "inventory_quantity": qty},
                created, modified, ext=item, parent=pid)
        truth.add("products", pid, prod.entity_id)
        truth.add("variants", vid, prod.entity_id)
    buf.flush()
    n = len(world.products)
    store.finish_seed({"product": [], "variant": []}, {"product": n, "variant": n})
    return {"products": buf.counts.get("product", 0), "variants": buf.counts.get("variant", 0)}
