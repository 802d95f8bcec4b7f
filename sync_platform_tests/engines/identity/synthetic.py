"""Small, seeded staged warehouses for identity tests: realistic duplicates plus hard cases."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb

FIRST = ["Robert", "William", "Katherine", "Elizabeth", "Michael", "Jennifer", "James", "Susan",
         "Daniel", "Patricia", "Thomas", "Margaret", "Steven", "Emily", "Andrew", "Laura",
         "Priya", "Wei", "Fatima", "Carlos", "Olivia", "Noah", "Ava", "Liam", "Sofia", "Ethan"]
NICK = {"Robert": "Bob", "William": "Bill", "Katherine": "Kate", "Elizabeth": "Liz",
        "Michael": "Mike", "Jennifer": "Jen", "James": "Jim", "Daniel": "Dan",
        "Thomas": "Tom", "Margaret": "Peggy", "Steven": "Steve", "Andrew": "Andy"}
LAST = ["Anderson", "Brooks", "Chen", "Diaz", "Ferguson", "Garcia", "Harrison", "Ivanova",
        "Johnson", "Kowalski", "Lopez", "Martin", "Nguyen", "Okafor", "Patel", "Quinn",
        "Romero", "Schneider", "Taylor", "Underwood", "Vasquez", "Whitaker", "Young", "Zimmer",
        "Castillo", "Bennett", "Fleming", "Gallagher", "Hoffman", "Lindqvist"]
WORDS = ["Granite", "Lakeside", "Northstar", "Harbor", "Summit", "Cedar", "Pioneer", "Atlas",
         "Beacon", "Willow", "Falcon", "Meridian", "Quantum", "Riverbend", "Evergreen"]
KINDS = ["Foods", "Brewing", "Systems", "Logistics", "Capital", "Labs", "Outfitters", "Works"]
SUFFIX = ["Inc.", "LLC", "Ltd", "Corp", "GmbH", "Incorporated"]

CONTACT_COLUMNS = ["first_name", "last_name", "email", "phone", "mobile_phone", "title",
                   "company_name", "company_source_id", "street", "city", "state", "postal_code",
                   "country", "is_deleted", "modified_at", "source_system", "source_table",
                   "source_id"]
CUSTOMER_COLUMNS = ["name", "account_number", "tax_id", "domain", "website", "phone", "email",
                    "street", "city", "postal_code", "country", "is_deleted", "modified_at",
                    "source_system", "source_table", "source_id"]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _phone(rng: random.Random) -> str:
    return "+1" + str(rng.randrange(2012000000, 9899999999))


def companies(rng: random.Random, n: int) -> list[dict]:
    out, seen = [], set()
    while len(out) < n:
        base = f"{rng.choice(WORDS)} {rng.choice(KINDS)}"
        if base in seen:
            continue
        seen.add(base)
        out.append({"base": base, "suffix": rng.choice(SUFFIX),
                    "domain": base.lower().replace(" ", "") + ".com", "phone": _phone(rng),
                    "postal": f"{rng.randrange(10000, 99999)}",
                    "street": f"{rng.randrange(10, 9999)} {rng.choice(WORDS)} Ave"})
    return out


def people_rows(seed: int = 7, n_people: int = 240) -> tuple[list[dict], dict[tuple[str, str], str]]:
    """crm holds everyone; marketing ~60% with nicknames, typos, missing phones."""
    rng = random.Random(seed)
    comps = companies(rng, 40)
    rows: list[dict] = []
    truth: dict[tuple[str, str], str] = {}
    used_names: set[tuple[str, str, str]] = set()
    pid = 0
    while pid < n_people:
        first, last, comp = rng.choice(FIRST), rng.choice(LAST), rng.choice(comps)
        if (first, last, comp["base"]) in used_names:
            continue
        used_names.add((first, last, comp["base"]))
        email = f"{first.lower()}.{last.lower()}@{comp['domain']}"
        phone = _phone(rng)
        base = {"title": "Manager", "company_name": f"{comp['base']} {comp['suffix']}",
                "company_source_id": None, "street": comp["street"], "city": "Springfield",
                "state": "IL", "postal_code": comp["postal"], "country": "US",
                "is_deleted": False, "modified_at": "2024-01-01 00:00:00"}
        crm_id = f"C{pid:05d}"
        rows.append(base | {"first_name": first, "last_name": last, "email": email,
                            "phone": phone, "mobile_phone": None, "source_system": "crm",
                            "source_table": "contacts", "source_id": crm_id})
        truth[("crm", crm_id)] = f"p{pid}"
        if rng.random() < 0.6:
            f2 = NICK.get(first, first) if rng.random() < 0.3 else first
            l2 = _typo(last, rng) if rng.random() < 0.15 else last
            e2 = email.upper() if rng.random() < 0.2 else email
            if rng.random() < 0.2:
                e2 = None
            p2 = phone if (rng.random() < 0.6 or e2 is None) else None
            name2 = comp["base"].upper() if rng.random() < 0.3 else f"{comp['base']}"
            mk_id = f"{9000 + pid}"
            rows.append(base | {"first_name": f2, "last_name": l2, "email": e2, "phone": p2,
                                "mobile_phone": None, "company_name": name2,
                                "source_system": "marketing", "source_table": "contacts",
                                "source_id": mk_id})
            truth[("marketing", mk_id)] = f"p{pid}"
        pid += 1
    return rows, truth


def write_staged(path: Path, entity: str, rows: list[dict]) -> None:
    """(Re)create staged.<entity> from dict rows; row_hash is md5 over the values."""
    columns = CONTACT_COLUMNS if entity == "contact" else CUSTOMER_COLUMNS
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS staged")
        defs = ", ".join(
            f"{c} {'BOOLEAN' if c == 'is_deleted' else 'TIMESTAMP' if c == 'modified_at' else 'VARCHAR'}"
            for c in columns)
        con.execute(f"CREATE OR REPLACE TABLE staged.{entity} ({defs}, row_hash VARCHAR)")
        con.executemany(
            f"INSERT INTO staged.{entity} VALUES ({', '.join('?' for _ in columns)}, NULL)",
            [[r.get(c) for c in columns] for r in rows])
        concat = ", ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in columns)
        con.execute(f"UPDATE staged.{entity} SET row_hash = md5(concat_ws('|', {concat}))")
    finally:
        con.close()


def customer_rows(seed: int = 11, n: int = 80) -> tuple[list[dict], dict[tuple[str, str], str]]:
    """One company in crm, accounting and sometimes marketing with suffix/case/order variants."""
    rng = random.Random(seed)
    rows: list[dict] = []
    truth: dict[tuple[str, str], str] = {}
    for i, comp in enumerate(companies(rng, n)):
        base = {"account_number": None, "tax_id": None, "website": None, "email": None,
                "city": "Springfield", "country": "US", "is_deleted": False,
                "modified_at": "2024-01-01 00:00:00", "postal_code": comp["postal"],
                "street": comp["street"]}
        variants = [
            ("crm", "accounts", f"A{i:04d}", f"{comp['base']} {comp['suffix']}".upper(),
             comp["domain"]),
            ("accounting", "customers", f"{i + 1}", f"{comp['base']}, {rng.choice(SUFFIX)}",
             None),
        ]
        if rng.random() < 0.5:
            words = comp["base"].split()
            variants.append(("marketing", "companies", f"{5000 + i}",
                             f"{words[1]} {words[0]}", "www." + comp["domain"]))
        for system, table, sid, name, domain in variants:
            rows.append(base | {"name": name, "domain": domain, "phone": comp["phone"],
                                "source_system": system, "source_table": table,
                                "source_id": sid})
            truth[(system, sid)] = f"c{i}"
    return rows, truth


def person(system: str, sid: str, first: str, last: str, email: str | None,
            phone: str | None, company: str = "Hardcase Holdings Inc.") -> dict:
    return {"first_name": first, "last_name": last, "email": email, "phone": phone,
            "mobile_phone": None, "title": None, "company_name": company,
            "company_source_id": None, "street": "1 Hard Way", "city": "Chicago", "state": "IL",
            "postal_code": "60601", "country": "US", "is_deleted": False,
            "modified_at": "2024-02-01 00:00:00", "source_system": system,
            "source_table": "contacts", "source_id": sid}


def chain_rows() -> list[dict]:
    """A chain of 8 "Pat Chainey" records: K0=K1 by email, K1=K2 by mobile phone, ... and
    nothing else in common (emails and phones far apart): one loose component of 8."""
    words = ["alpha", "bravo", "charlie", "delta", "echo"]
    phones = ["+14155551234", "+16175559876", "+12125554321", "+13035556789", "+15125550246"]
    rows = []
    for i in range(8):
        record = person("crm" if i % 2 else "marketing", f"K{i}", "Pat", "Chainey",
                        f"pat.{words[i // 2]}@chain.org", None, company="Chain Co")
        record["mobile_phone"] = phones[(i + 1) // 2]
        rows.append(record)
    return rows
