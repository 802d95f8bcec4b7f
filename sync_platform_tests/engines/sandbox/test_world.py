"""Determinism, overlap and noise of the seeded world."""

from __future__ import annotations

import csv
import re
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

from sync_platform.engines.sandbox import Sandbox
from sync_platform.engines.sandbox.noise import NICKNAMES
from sync_platform.engines.sandbox.world import build_world


def _dump(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in ("crm", "marketing", "shop"):
        conn = sqlite3.connect(root / f"{name}.sqlite")
        out[name] = conn.execute("SELECT object, id, created_at, modified_at, deleted, data "
                                 "FROM records ORDER BY rid").fetchall()
        conn.close()
    for name, table in (("accounting", "customers"), ("accounting", "invoices"),
                        ("payroll", "employees"), ("warehouse", "inventory_levels")):
        conn = sqlite3.connect(root / f"{name}.sqlite")
        out[f"{name}.{table}"] = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        conn.close()
    out["truth"] = (root / "truth" / "entities.csv").read_bytes()
    out["hr"] = [p.read_bytes() for p in sorted((root / "hr" / "exports").iterdir())]
    return out


def test_same_seed_same_data_and_different_seed_differs(tmp_path: Path) -> None:
    a = Sandbox(tmp_path / "a", seed=3, size=200)
    b = Sandbox(tmp_path / "b", seed=3, size=200)
    c = Sandbox(tmp_path / "c", seed=4, size=200)
    counts = a.seed()
    assert counts == b.seed()
    c.seed()
    da, db, dc = _dump(a.root), _dump(b.root), _dump(c.root)
    assert da == db
    assert da["truth"] != dc["truth"]
    assert da["crm"] != dc["crm"]
    assert set(counts) == set(Sandbox.SYSTEMS)
    assert counts["crm"]["Contact"] > 100 and counts["shop"]["products"] == 20


def test_world_has_hard_cases() -> None:
    w = build_world(42, 3000)
    names = Counter((p.first, p.last) for p in w.people)
    assert names[("John", "Smith")] >= 3  # namesakes
    by_company = defaultdict(list)
    for p in w.people:
        by_company[p.company].append(p)
    shared = [ps for ps in by_company.values()
              if len([p for p in ps if p.phone == w.companies[ps[0].company].phone]) >= 2]
    assert shared, "colleagues sharing a switchboard number"
    assert any(p.email.split("@")[0] in ("info", "billing", "ap", "accounts", "sales", "office")
               for p in w.people)
    bases = Counter(c.base for c in w.companies)
    assert any(n > 1 for n in bases.values())
    assert len({c.domain for c in w.companies}) == len(w.companies)


def test_overlap_and_noise(sandbox: Sandbox) -> None:
    rows = list(csv.DictReader(sandbox.ground_truth_path().open()))
    systems_of = defaultdict(set)
    per_table = Counter()
    for r in rows:
        systems_of[r["entity_id"]].add(r["system"])
        per_table[(r["system"], r["table"], r["entity_id"])] += 1
    people = [e for e, s in systems_of.items() if e.startswith("person:")]
    both = [e for e in people if {"crm", "marketing"} <= systems_of[e]]
    assert len(both) > 0.3 * len(people)
    assert any(n > 1 for (s, t, _e), n in per_table.items() if s == "crm" and t == "Contact")
    # Same person, different phone formats and name variants across systems.
    src = defaultdict(dict)
    for r in rows:
        src[(r["system"], r["table"])][r["source_id"]] = r["entity_id"]
    crm = sqlite3.connect(sandbox.root / "crm.sqlite")
    hs = sqlite3.connect(sandbox.root / "marketing.sqlite")
    crm_phone = {src[("crm", "Contact")][i]: p for i, p in crm.execute(
        "SELECT id, json_extract(data, '$.Phone') FROM records WHERE object='Contact'") if p}
    hs_phone = {src[("marketing", "contacts")][i]: p for i, p in hs.execute(
        "SELECT id, json_extract(data, '$.phone') FROM records WHERE object='contacts'") if p}
    common = set(crm_phone) & set(hs_phone)
    assert common
    assert any(crm_phone[e] != hs_phone[e] for e in common)
    paren = [e for e in common if re.match(r"^(\(\d{3}\) \d{3}-\d{4}|\+\d)", crm_phone[e])]
    assert len(paren) > 0.9 * len(common)  # Salesforce-style formats (duplicates vary)
    firsts = [f for (f,) in hs.execute(
        "SELECT json_extract(data, '$.firstname') FROM records WHERE object='contacts'")]
    assert set(firsts) & set(NICKNAMES.values()), "nicknames appear in marketing"
    missing = hs.execute("SELECT count(*) FROM records WHERE object='contacts' AND "
                         "json_extract(data, '$.phone') IS NULL").fetchone()[0]
    assert missing > 0
