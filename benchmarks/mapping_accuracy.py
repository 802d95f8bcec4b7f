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
    .venv/bin/python benchmarks/mapping_accuracy.py --fit    # also fits the scoring weights

Calibration: every run prints a reliability table of the accepted proposals (confidence bins,
count, mean confidence, observed precision) and the expected calibration error (ECE), before and
after learning, and appends it to `results/mapping_calibration.csv`. With `--fit`, a logistic
regression (L2, Newton/IRLS in numpy) is fit on the feature vectors of ALL candidates (every
source column x target column, plus the name-split composites) of these five pairs, before and
after leave-one-out learning, labelled by `truth.json`; it prints the weights to paste into
`sync_platform/engines/mapping/scoring.py`, and scores the pairs with both the current
(`phase=current`) and the fitted weights (`phase=fitted`, in-sample) plus a leave-one-pair-out
refit (`phase=fitted_lopo`, each pair scored with weights fit on the other four). The sandbox is
never used here: it is the held-out acceptance set.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import sys
import tempfile
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402

from sync_platform.engines.mapping import scoring, suggest  # noqa: E402
from sync_platform.engines.mapping.features import targets_from_profiles  # noqa: E402
from sync_platform.engines.mapping.knowledge import (  # noqa: E402
    DecisionContext,
    Knowledge,
    new_decision,
)

CASES = ROOT / "benchmarks" / "mapping_cases"
RESULTS = ROOT / "benchmarks" / "results" / "mapping_accuracy.csv"
CALIBRATION = ROOT / "benchmarks" / "results" / "mapping_calibration.csv"
BINS = (0.0, 0.5, 0.7, 0.85, 0.95, 1.0)
FEATURES = ("exact", "synonym", "fuzzy", "type_score", "overlap", "pattern", "learned",
            "relationship")
L2 = 1.0  # ridge penalty on the weights (not the bias) of the logistic regression
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
    metrics["scored"] = [(g["confidence"], g in correct) for g in accepted]
    return metrics, corrections


def fresh_mappings(tmp: Path) -> Path:
    folder = tmp / "mappings"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "knowledge").mkdir(parents=True)
    shutil.copytree(ROOT / "mappings" / "entities", folder / "entities")
    shutil.copy(ROOT / "mappings" / "knowledge" / "synonyms.yaml", folder / "knowledge")
    return folder


def learned_mappings(tmp: Path, pair: str, before: dict) -> Path:
    """Mappings folder with the reviewers' corrections on the OTHER pairs recorded as decisions."""
    learned = fresh_mappings(tmp / pair)
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
    return learned


def run(tmp: Path) -> list[tuple[str, dict]]:
    """(phase, metrics) per pair, before and after leave-one-out learning."""
    rows = []
    base = fresh_mappings(tmp)
    before = {pair: evaluate(pair, base) for pair in PAIRS}
    for pair in PAIRS:  # leave-one-out: learn from reviewers' corrections on the others
        after, _ = evaluate(pair, learned_mappings(tmp, pair, before))
        rows.append(("before", before[pair][0]))
        rows.append(("after_loo_learning", after))
    return rows


# --- fitting ---------------------------------------------------------------------------------

def samples(pair: str, mappings_dir: Path) -> tuple[list[list[float]], list[int]]:
    """Feature vectors and labels of every candidate (no FLOOR) of one pair."""
    from sync_platform.engines.mapping.suggest import _profiles

    folder = CASES / pair
    truth = json.loads((folder / "truth.json").read_text())
    right = {(_key(s), _key(t)) for s, t in truth.items()}
    knowledge = Knowledge.load(mappings_dir)
    con = duckdb.connect(":memory:")
    try:
        source = _profiles(con, str(folder / "source.csv"), "source")
        targets = targets_from_profiles(_profiles(con, str(folder / "target.csv"), "target"))
    finally:
        con.close()
    floor, scoring.FLOOR = scoring.FLOOR, -1.0
    try:
        candidates = scoring.score_table(source, targets, entity="", knowledge=knowledge)
    finally:
        scoring.FLOOR = floor
    X, y = [], []
    for c in candidates:
        if not c.features:
            continue  # composites derived from another candidate's score (currency, joins)
        src = c.sources[0] if len(c.sources) == 1 else c.sources
        tgt = c.targets[0] if len(c.targets) == 1 else c.targets
        X.append(list(c.features))
        y.append(int((_key(src), _key(tgt)) in right))
    return X, y


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = L2,
                 fixed: dict[int, float] | None = None) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (IRLS). Columns in `fixed` keep the
    given weight (their feature never varies in the data, so the data cannot fit them)."""
    fixed = fixed or {}
    free = [j for j in range(X.shape[1]) if j not in fixed]
    offset = sum(X[:, j] * w for j, w in fixed.items()) if fixed else np.zeros(len(y))
    A = np.hstack([np.ones((len(y), 1)), X[:, free]])
    penalty = np.diag([0.0] + [l2] * len(free))
    beta = np.zeros(A.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(A @ beta + offset)))
        grad = A.T @ (p - y) + penalty @ beta
        hess = A.T @ (A * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    weights = np.zeros(X.shape[1])
    weights[free] = beta[1:]
    for j, w in fixed.items():
        weights[j] = w
    return weights, float(beta[0])


def fit(X: np.ndarray, y: np.ndarray) -> tuple[tuple[float, ...], float, list[str]]:
    fixed = {j: scoring.WEIGHTS[j] for j in range(X.shape[1]) if np.ptp(X[:, j]) == 0}
    weights, bias = fit_logistic(X, y, fixed=fixed)
    return tuple(round(float(w), 2) for w in weights), round(bias, 2), [FEATURES[j] for j in fixed]


def fit_platt(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling of the current evidence score z = BIAS + WEIGHTS · x: (A, B) with
    confidence = sigmoid(A * z + B); monotone, so the ranking and the assignment do not change."""
    z = scoring.BIAS + X @ np.array(scoring.WEIGHTS)
    a, b = fit_logistic(z[:, None], y, l2=1e-6)
    return round(float(a[0]), 3), round(b, 3)


def fit_anchored(X: np.ndarray, y: np.ndarray, anchor: float = 0.95) -> tuple[float, float]:
    """Platt scaling with one free parameter, the slope A: B is set so that the score that gave
    `anchor` (the auto-apply threshold) still gives it, so the set of auto-applied rules, the
    ranking and the assignment stay exactly as they are; only the confidence of the rest moves."""
    z = scoring.BIAS + X @ np.array(scoring.WEIGHTS)
    logit = float(np.log(anchor / (1 - anchor)))
    z0 = logit  # score that gave `anchor` with the identity calibration
    a = 1.0
    for _ in range(100):  # Newton on the log-loss in A, with B = logit - A * z0
        u = z - z0
        p = 1 / (1 + np.exp(-(a * u + logit)))
        grad, hess = float(u @ (p - y)), float((u * u) @ (p * (1 - p))) + 1e-9
        a -= grad / hess
        if abs(grad / hess) < 1e-10:
            break
    return round(a, 3), round(logit - a * z0, 3)


@contextmanager
def weights(w: tuple[float, ...], bias: float, platt: tuple[float, float] = (1.0, 0.0)):
    old = scoring.WEIGHTS, scoring.BIAS, scoring.PLATT
    scoring.WEIGHTS, scoring.BIAS, scoring.PLATT = w, bias, platt
    try:
        yield
    finally:
        scoring.WEIGHTS, scoring.BIAS, scoring.PLATT = old


def collect(tmp: Path) -> dict[str, tuple[list, list]]:
    """Training samples per pair: before learning and after leave-one-out learning."""
    base = fresh_mappings(tmp / "fit")
    before = {pair: evaluate(pair, base) for pair in PAIRS}
    out = {}
    for pair in PAIRS:
        X, y = samples(pair, base)
        X2, y2 = samples(pair, learned_mappings(tmp / "fit", pair, before))
        out[pair] = (X + X2, y + y2)
    return out


# --- calibration -----------------------------------------------------------------------------

def reliability(scored: list[tuple[float, bool]]) -> tuple[list[dict], float]:
    rows, ece = [], 0.0
    for lo, hi in zip(BINS, BINS[1:], strict=False):
        inside = [(c, ok) for c, ok in scored if lo <= c < hi or (hi == 1.0 and c == 1.0)]
        n = len(inside)
        mean = sum(c for c, _ in inside) / n if n else 0.0
        precision = sum(ok for _, ok in inside) / n if n else 0.0
        ece += n / max(1, len(scored)) * abs(precision - mean)
        rows.append({"bin": f"[{lo:.2f},{hi:.2f}{']' if hi == 1.0 else ')'}", "count": n,
                     "mean_confidence": mean, "precision": precision})
    return rows, ece


def report(rows: list[tuple[str, dict]], stamp: str, weights_name: str) -> tuple[list, list]:
    header = ["run_at", "phase", "pair", "truth", "proposed", "precision", "recall", "f1", "top1",
              "band_precision", "band_coverage"]
    lines = [[stamp, phase, m["pair"], m["truth"], m["proposed"]]
             + [f"{m[k]:.3f}" for k in header[5:]] for phase, m in rows]
    calibration = []
    for phase in ("before", "after_loo_learning"):
        ms = [m for p, m in rows if p == phase]
        lines.append([stamp, phase, "ALL", sum(m["truth"] for m in ms),
                      sum(m["proposed"] for m in ms)]
                     + [f"{sum(m[k] for m in ms) / len(ms):.3f}" for k in header[5:]])
        bins, ece = reliability([s for m in ms for s in m["scored"]])
        for b in bins:
            calibration.append([stamp, weights_name, phase, b["bin"], b["count"],
                                f"{b['mean_confidence']:.3f}", f"{b['precision']:.3f}", f"{ece:.3f}"])
    if not weights_name.startswith("current"):
        lines = [[line[0], f"{line[1]}[{weights_name}]", *line[2:]] for line in lines]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    print(f"\n== weights: {weights_name}")
    for line in [header, *lines]:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))
    cal_header = ["run_at", "weights", "phase", "bin", "accepted", "mean_confidence",
                  "precision", "ece"]
    print()
    for line in [cal_header[1:], *[c[1:] for c in calibration]]:
        print("  ".join(f"{x!s:<18}" for x in line))
    return [header, *lines], [cal_header, *calibration]


def append(path: Path, table: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(table[0])
        writer.writerows(table[1:])


def main() -> None:
    generate()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory() as tmp:
        hand = (scoring.WEIGHTS, scoring.BIAS)
        with weights(*hand):  # the hand-set score without its calibration
            runs = [("uncalibrated", run(Path(tmp) / "uncalibrated"))]
        runs.append((f"current PLATT={scoring.PLATT}", run(Path(tmp) / "current")))
        if "--fit" in sys.argv:
            data = collect(Path(tmp))
            X = np.array([x for X_, _ in data.values() for x in X_], dtype=float)
            y = np.array([v for _, y_ in data.values() for v in y_], dtype=float)
            with weights(*hand):  # fit the raw evidence score, not the current calibration
                w, b, kept = fit(X, y)
                platt = fit_platt(X, y)
                anchored = fit_anchored(X, y)
            print(f"fit on {len(y)} candidates ({int(y.sum())} true, {int(len(y) - y.sum())} false) "
                  f"of {len(PAIRS)} pairs ({', '.join(PAIRS)}), before + after LOO learning, "
                  f"L2={L2}; not identifiable (kept as set): {', '.join(kept) or 'none'}")
            print(f"WEIGHTS = {w}\nBIAS = {b}")
            print(f"Platt scaling of the hand-set score: PLATT = {platt}")
            print(f"Platt scaling anchored at 0.95: PLATT = {anchored}")
            with weights(w, b):
                runs.append(("fitted", run(Path(tmp) / "fitted")))
            with weights(*hand, platt):
                runs.append(("platt", run(Path(tmp) / "platt")))
            with weights(*hand, anchored):
                runs.append(("platt_anchored", run(Path(tmp) / "anchored")))
            lopo, platt_lopo, anchored_lopo = [], [], []
            for pair in PAIRS:  # honest: each pair scored with weights fit on the other four
                others = [p for p in PAIRS if p != pair]
                Xo = np.array([x for p in others for x in data[p][0]], dtype=float)
                yo = np.array([v for p in others for v in data[p][1]], dtype=float)
                with weights(*hand):
                    wo, bo, _ = fit(Xo, yo)
                    po = fit_platt(Xo, yo)
                    ao = fit_anchored(Xo, yo)
                with weights(wo, bo):
                    rows = run(Path(tmp) / f"lopo_{pair}")
                lopo += [r for r in rows if r[1]["pair"] == pair]
                with weights(*hand, po):
                    rows = run(Path(tmp) / f"platt_lopo_{pair}")
                platt_lopo += [r for r in rows if r[1]["pair"] == pair]
                with weights(*hand, ao):
                    rows = run(Path(tmp) / f"anchored_lopo_{pair}")
                anchored_lopo += [r for r in rows if r[1]["pair"] == pair]
            runs.append(("fitted_lopo", lopo))
            runs.append(("platt_lopo", platt_lopo))
            runs.append(("platt_anchored_lopo", anchored_lopo))
    for name, rows in runs:
        accuracy, calibration = report(rows, stamp, name)
        append(RESULTS, accuracy)
        append(CALIBRATION, calibration)


if __name__ == "__main__":
    main()

