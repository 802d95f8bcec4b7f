"""Mapping accuracy on realistic schema pairs beyond the sandbox, before and after learning.

Five system-to-system pairs (insurance, helpdesk contacts, e-commerce orders, HR employees, ERP
customers) are generated deterministically as CSVs into `benchmarks/mapping_cases/<pair>/`
(300 rows, format differences: date formats, phone formats, currency strings, booleans, plus
distractor columns) with their ground truth in `truth.json`. For each pair the analyzer
(`suggest`) proposes a mapping; we report precision / recall / F1 of the accepted one-to-one
assignment, top-1 accuracy per target field, and precision and coverage of the >= 0.95 band.
Then leave-one-out learning: the corrections a reviewer would make on the OTHER four pairs are
fed as decisions, and the held-out pair is scored again.

    .venv/bin/python benchmarks/mapping_accuracy.py          # prints a table, appends CSV rows
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync_platform.engines.mapping import suggest  # noqa: E402
from sync_platform.engines.mapping.knowledge import (  # noqa: E402
    DecisionContext,
    Knowledge,
    new_decision,
)

CASES = ROOT / "benchmarks" / "mapping_cases"
RESULTS = ROOT / "benchmarks" / "results" / "mapping_accuracy.csv"
ROWS = 300
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
         "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
         "Sarah", "Carlos", "Aisha", "Wei", "Priya", "Olga", "Kenji"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Lopez",
        "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Walker", "Khan"]
COMPANY = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
           "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Oscorp", "Gringotts", "Monarch"]
CITY = [("Seattle", "WA", "98101"), ("Austin", "TX", "73301"), ("Boston", "MA", "02108"),
        ("Denver", "CO", "80202"), ("Chicago", "IL", "60601"), ("Miami", "FL", "33101")]


class World:
    """One person/company per row, rendered differently by each side of a pair."""

    def __init__(self, seed: int):
        r = random.Random(seed)
        self.rows = []
        for i in range(ROWS):
            first, last = r.choice(FIRST), r.choice(LAST)
            company = f"{r.choice(COMPANY)} {r.choice(['Inc.', 'LLC', 'Group', 'Labs'])}"
            city, state, postal = r.choice(CITY)
            day = date(2015, 1, 1) + timedelta(days=r.randrange(3000))
            self.rows.append({
                "i": i, "first": first, "last": last, "company": company, "city": city,
                "state": state, "postal": postal,
                "email": f"{first.lower()}.{last.lower()}{i}@{company.split()[0].lower()}.com",
                "phone": f"{r.randrange(201, 989)}{r.randrange(200, 999)}{r.randrange(1000, 9999)}",
                "day": day, "amount": round(r.uniform(100, 90000), 2), "flag": r.random() < 0.8,
                "street": f"{r.randrange(1, 9999)} {r.choice(['Oak', 'Pine', 'Main', 'Lake'])} St",
                "code": f"{r.choice('ABCDEFGH')}{r.randrange(100000, 999999)}",
                "tier": r.choice(["Gold", "Silver", "Bronze"]),
                "score": str(r.randrange(0, 100)), "ts": datetime(2024, 1, 1, tzinfo=UTC)
                + timedelta(seconds=r.randrange(10**7)),
            })


def phone_us(p: str) -> str:
    return f"({p[:3]}) {p[3:6]}-{p[6:]}"


def phone_e164(p: str) -> str:
    return f"+1{p}"


# pair -> (source columns, target columns, truth {source column: target column or [targets]})
PAIRS = {
    "insurance": (
        {"Policy Number": lambda w: w["code"], "Policyholder": lambda w: f"{w['first']} {w['last']}",
         "Premium": lambda w: f"${w['amount']:,.2f}", "Agent Email": lambda w: w["email"],
         "Effective Date": lambda w: w["day"].strftime("%m/%d/%Y"),
         "Active?": lambda w: "Y" if w["flag"] else "N", "Risk Score": lambda w: w["score"],
         "Tel No": lambda w: phone_us(w["phone"]), "x_underwriter_note": lambda w: w["tier"]},
        {"contract_id": lambda w: w["code"], "insured_first_name": lambda w: w["first"],
         "insured_last_name": lambda w: w["last"], "amount": lambda w: f"{w['amount']:.2f}",
         "producer_email": lambda w: w["email"], "start_date": lambda w: w["day"].isoformat(),
         "is_active": lambda w: str(w["flag"]).lower(), "phone": lambda w: phone_e164(w["phone"]),
         "segment": lambda w: w["tier"]},
        {"Policy Number": "contract_id", "Policyholder": ["insured_first_name", "insured_last_name"],
         "Premium": "amount", "Agent Email": "producer_email", "Effective Date": "start_date",
         "Active?": "is_active", "Tel No": "phone"},
    ),
    "helpdesk_contacts": (
        {"name": lambda w: f"{w['first']} {w['last']}", "email": lambda w: w["email"],
         "phone": lambda w: phone_us(w["phone"]), "organization": lambda w: w["company"],
         "created_at": lambda w: w["ts"].strftime("%Y-%m-%dT%H:%M:%SZ"),
         "suspended": lambda w: str(not w["flag"]).lower(), "cf_vip_level": lambda w: w["tier"],
         "time_zone": lambda w: "America/Chicago"},
        {"first_name": lambda w: w["first"], "last_name": lambda w: w["last"],
         "email": lambda w: w["email"], "phone": lambda w: phone_e164(w["phone"]),
         "company_name": lambda w: w["company"], "signed_up_at": lambda w: str(int(w["ts"].timestamp())),
         "unsubscribed_from_emails": lambda w: str(not w["flag"]).lower(),
         "custom_attributes": lambda w: "{}"},
        {"name": ["first_name", "last_name"], "email": "email", "phone": "phone",
         "organization": "company_name", "created_at": "signed_up_at"},
    ),
    "ecommerce_orders": (
        {"Order ID": lambda w: str(10000 + w["i"]), "Customer Email": lambda w: w["email"],
         "Order Date": lambda w: w["day"].strftime("%d/%m/%Y"),
         "Total": lambda w: f"${w['amount']:,.2f}", "Ccy": lambda w: "USD",
         "Ship City": lambda w: w["city"], "Ship Zip": lambda w: w["postal"],
         "Paid": lambda w: "Yes" if w["flag"] else "No", "Tel No": lambda w: phone_us(w["phone"])},
        {"order_number": lambda w: str(10000 + w["i"]), "buyer_email": lambda w: w["email"],
         "placed_on": lambda w: w["day"].isoformat(), "grand_total": lambda w: f"{w['amount']:.2f}",
         "currency_code": lambda w: "USD", "shipping_city": lambda w: w["city"],
         "shipping_postcode": lambda w: w["postal"], "is_paid": lambda w: str(w["flag"]).lower(),
         "phone": lambda w: phone_e164(w["phone"])},
        {"Order ID": "order_number", "Customer Email": "buyer_email", "Order Date": "placed_on",
         "Total": "grand_total", "Ccy": "currency_code", "Ship City": "shipping_city",
         "Ship Zip": "shipping_postcode", "Paid": "is_paid", "Tel No": "phone"},
    ),
    "hr_employees": (
        {"Worker ID": lambda w: f"W{10000 + w['i']}", "Legal First Name": lambda w: w["first"],
         "Legal Last Name": lambda w: w["last"], "Primary Work Email": lambda w: w["email"],
         "Hire Date": lambda w: w["day"].strftime("%d/%m/%Y"),
         "Annual Base Pay": lambda w: f"${w['amount']:,.2f}",
         "Worker Status": lambda w: "Active" if w["flag"] else "Terminated",
         "Cost Center": lambda w: w["tier"], "Firm": lambda w: w["company"]},
        {"associate_oid": lambda w: f"W{10000 + w['i']}", "given_name": lambda w: w["first"],
         "family_name": lambda w: w["last"], "work_email": lambda w: w["email"],
         "original_hire_date": lambda w: w["day"].isoformat(),
         "annual_salary_cents": lambda w: str(int(w["amount"] * 100)),
         "is_active": lambda w: "1" if w["flag"] else "0", "department": lambda w: w["tier"],
         "employer": lambda w: w["company"]},
        {"Worker ID": "associate_oid", "Legal First Name": "given_name",
         "Legal Last Name": "family_name", "Primary Work Email": "work_email",
         "Hire Date": "original_hire_date", "Annual Base Pay": "annual_salary_cents",
         "Worker Status": "is_active", "Cost Center": "department", "Firm": "employer"},
    ),
    "erp_customers": (
        {"entityid": lambda w: f"CUST{w['i']:05d}", "companyname": lambda w: w["company"],
         "email": lambda w: w["email"], "phone": lambda w: phone_us(w["phone"]),
         "billaddr1": lambda w: w["street"], "billcity": lambda w: w["city"],
         "billstate": lambda w: w["state"], "billzip": lambda w: w["postal"],
         "isinactive": lambda w: "F" if w["flag"] else "T", "Tel No": lambda w: phone_us(w["phone"]),
         "Firm": lambda w: w["company"]},
        {"ContactNumber": lambda w: f"CUST{w['i']:05d}", "Name": lambda w: w["company"],
         "EmailAddress": lambda w: w["email"], "PhoneNumber": lambda w: phone_e164(w["phone"]),
         "AddressLine1": lambda w: w["street"], "City": lambda w: w["city"],
         "Region": lambda w: w["state"], "PostalCode": lambda w: w["postal"],
         "ContactStatus": lambda w: "ACTIVE" if w["flag"] else "ARCHIVED",
         "employer": lambda w: w["company"]},
        {"entityid": "ContactNumber", "companyname": "Name", "email": "EmailAddress",
         "phone": "PhoneNumber", "billaddr1": "AddressLine1", "billcity": "City",
         "billstate": "Region", "billzip": "PostalCode", "isinactive": "ContactStatus",
         "Firm": "employer"},
    ),
}


def generate() -> None:
    for seed, (pair, (source, target, truth)) in enumerate(PAIRS.items()):
        folder = CASES / pair
        folder.mkdir(parents=True, exist_ok=True)
        world = World(seed)
        for side, columns in (("source", source), ("target", target)):
            with (folder / f"{side}.csv").open("w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(columns)
                writer.writerows([[fn(row) for fn in columns.values()] for row in world.rows])
        (folder / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")


def _key(value) -> str:
    return json.dumps(value if isinstance(value, str) else list(value))


def evaluate(pair: str, mappings_dir: Path) -> tuple[dict, list[dict]]:
    folder = CASES / pair
    truth = json.loads((folder / "truth.json").read_text())
    got = suggest(str(folder / "source.csv"), str(folder / "target.csv"), mappings_dir)
    accepted = [g for g in got if g["accepted"] and g["confidence"] >= 0.2]
    right = {(_key(s), _key(t)) for s, t in truth.items()}
    correct = [g for g in accepted if (_key(g["source_field"]), _key(g["target_field"])) in right]
    band = [g for g in accepted if g["confidence"] >= 0.95]
    band_ok = [g for g in band if (_key(g["source_field"]), _key(g["target_field"])) in right]
    top1 = 0
    for source, target in truth.items():
        best = [g for g in got if _key(g["target_field"]) == _key(target) and g["rank"] == 1]
        top1 += bool(best) and _key(best[0]["source_field"]) == _key(source)
    precision = len(correct) / len(accepted) if accepted else 0.0
    recall = len(correct) / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    metrics = {"pair": pair, "truth": len(truth), "proposed": len(accepted),
               "precision": precision, "recall": recall, "f1": f1, "top1": top1 / len(truth),
               "band_precision": len(band_ok) / len(band) if band else 1.0,
               "band_coverage": len(band_ok) / len(truth)}
    wrong_or_missing = [(s, t) for s, t in truth.items()
                        if (_key(s), _key(t)) not in {(_key(g["source_field"]),
                                                       _key(g["target_field"])) for g in correct}]
    corrections = [{"source": s, "target": t} for s, t in wrong_or_missing]
    return metrics, corrections


def fresh_mappings(tmp: Path) -> Path:
    folder = tmp / "mappings"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "knowledge").mkdir(parents=True)
    shutil.copytree(ROOT / "mappings" / "entities", folder / "entities")
    shutil.copy(ROOT / "mappings" / "knowledge" / "synonyms.yaml", folder / "knowledge")
    return folder


def main() -> None:
    generate()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = fresh_mappings(Path(tmp))
        before = {pair: evaluate(pair, base) for pair in PAIRS}
        for pair in PAIRS:  # leave-one-out: learn from reviewers' corrections on the others
            learned = fresh_mappings(Path(tmp) / pair)
            knowledge = Knowledge.load(learned)
            for other in PAIRS:
                if other == pair:
                    continue
                for fix in before[other][1]:
                    if not isinstance(fix["target"], str):
                        continue
                    decision = new_decision(
                        knowledge, who="benchmark", mapping=f"{other}.source",
                        source_field=[fix["source"]], target=[fix["target"]], action="correct",
                        context=DecisionContext(system=other, entity=""))
                    knowledge.record(decision)
            knowledge.save(learned)
            after, _ = evaluate(pair, learned)
            rows.append(("before", before[pair][0]))
            rows.append(("after_loo_learning", after))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    header = ["run_at", "phase", "pair", "truth", "proposed", "precision", "recall", "f1", "top1",
              "band_precision", "band_coverage"]
    lines = [[stamp, phase, m["pair"], m["truth"], m["proposed"]]
             + [f"{m[k]:.3f}" for k in header[5:]] for phase, m in rows]
    for phase in ("before", "after_loo_learning"):
        ms = [m for p, m in rows if p == phase]
        lines.append([stamp, phase, "ALL", sum(m["truth"] for m in ms),
                      sum(m["proposed"] for m in ms)]
                     + [f"{sum(m[k] for m in ms) / len(ms):.3f}" for k in header[5:]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    for line in [header, *lines]:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    new = not RESULTS.exists()
    with RESULTS.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(header)
        writer.writerows(lines)


if __name__ == "__main__":
    main()
