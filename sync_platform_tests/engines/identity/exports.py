"""Three contact exports in their systems' native columns, from one seeded person list.

A Salesforce contact export, a HubSpot contact export and a QuickBooks customer list overlap on
some people, with the noise real exports have (e-mail case, phone formats, nicknames, typos,
missing values) and namesakes that must stay apart. `write_exports()` writes the CSV files and
returns the truth: (file stem, record id) -> person.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from sync_platform_tests.engines.identity.synthetic import FIRST, LAST, NICK, _typo, companies

SALESFORCE = ["Id", "FirstName", "LastName", "Email", "Phone", "Title", "MailingStreet",
              "MailingCity", "MailingState", "MailingPostalCode", "AccountId", "Account.Name",
              "CreatedDate"]
HUBSPOT = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name",
           "City", "Postal Code", "Lifecycle Stage", "Create Date"]
QUICKBOOKS = ["Id", "DisplayName", "GivenName", "FamilyName", "CompanyName", "PrimaryEmailAddr",
              "PrimaryPhone", "BillAddr.Line1", "BillAddr.City",
              "BillAddr.CountrySubDivisionCode", "BillAddr.PostalCode", "Balance"]
CITIES = [("Springfield", "IL"), ("Portland", "OR"), ("Austin", "TX"), ("Denver", "CO"),
          ("Madison", "WI"), ("Raleigh", "NC")]


def _digits(rng: random.Random) -> str:
    return f"{rng.randrange(201, 989)}{rng.randrange(200, 999)}{rng.randrange(1000, 9999)}"


def _phone(digits: str, style: int) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"+1 {a} {b} {c}", f"{a}.{b}.{c}",
            f"+1{digits}"][style % 5]


def _sf_id(prefix: str, n: int) -> str:
    return f"{prefix}5g00000{n:05d}AAA"


def people(seed: int, n: int) -> list[dict]:
    """Distinct people; every 15th shares first and last name with the one before (namesakes)."""
    rng = random.Random(seed)
    comps = companies(rng, 30)
    out: list[dict] = []
    seen: set[tuple[str, str]] = set()
    while len(out) < n:
        if out and len(out) % 15 == 0:
            first, last = out[-1]["first"], out[-1]["last"]
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if (first, last) in seen:
                continue
        seen.add((first, last))
        comp = rng.choice(comps)
        city, state = rng.choice(CITIES)
        n_same = sum(1 for p in out if (p["first"], p["last"]) == (first, last))
        local = f"{first.lower()}.{last.lower()}" + (str(n_same + 1) if n_same else "")
        out.append({"person": f"p{len(out)}", "first": first, "last": last,
                    "email": f"{local}@{comp['domain']}", "phone": _digits(rng),
                    "company": f"{comp['base']} {comp['suffix']}", "company_base": comp["base"],
                    "account": comp["domain"], "street": f"{rng.randrange(10, 9999)} "
                    f"{rng.choice(['Oak', 'Maple', 'Lake', 'Hill', 'Park'])} St",
                    "city": city, "state": state, "postal": f"{rng.randrange(10000, 99999)}"})
    return out


def _write(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_exports(folder: Path, seed: int = 5, n: int = 90
                  ) -> tuple[list[Path], dict[tuple[str, str], str]]:
    """salesforce_contacts.csv (~85% of the people), hubspot_contacts.csv (~65%, nicknames, typos,
    upper-case or personal e-mails, some without e-mail) and quickbooks_customers.csv (~45%, other
    phone formats, typos, some without e-mail); returns the paths and the truth."""
    rng = random.Random(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[tuple[str, str], str] = {}
    sf, hs, qb = [], [], []
    accounts: dict[str, str] = {}
    for p in people(seed, n):
        if rng.random() < 0.85:
            rid = _sf_id("003", len(sf) + 1)
            account = accounts.setdefault(p["account"], _sf_id("001", len(accounts) + 1))
            sf.append({"Id": rid, "FirstName": p["first"], "LastName": p["last"],
                       "Email": p["email"], "Phone": _phone(p["phone"], 0), "Title": "Manager",
                       "MailingStreet": p["street"], "MailingCity": p["city"],
                       "MailingState": p["state"], "MailingPostalCode": p["postal"],
                       "AccountId": account, "Account.Name": p["company"],
                       "CreatedDate": f"2023-0{rng.randrange(1, 10)}-1{rng.randrange(0, 10)}"
                                      f"T10:00:00.000+0000"})
            truth[("salesforce_contacts", rid)] = p["person"]
        if rng.random() < 0.65:
            rid = str(51000 + 7 * len(hs))
            first = NICK.get(p["first"], p["first"]) if rng.random() < 0.3 else p["first"]
            last = _typo(p["last"], rng) if rng.random() < 0.12 else p["last"]
            email = p["email"].upper() if rng.random() < 0.25 else p["email"]
            phone = _phone(p["phone"], rng.randrange(5)) if rng.random() < 0.7 else ""
            if rng.random() < 0.15 and phone:
                email = ""
            elif rng.random() < 0.1:  # a personal address instead of the work one
                email = f"{first.lower()}{rng.randrange(10, 99)}@gmail.com"
            hs.append({"Record ID": rid, "First Name": first, "Last Name": last,
                       "Email": email, "Phone Number": phone,
                       "Company Name": p["company_base"].upper() if rng.random() < 0.3
                       else p["company_base"], "City": p["city"], "Postal Code": p["postal"],
                       "Lifecycle Stage": rng.choice(["lead", "customer", "opportunity"]),
                       "Create Date": f"2024-0{rng.randrange(1, 10)}-0{rng.randrange(1, 10)}"})
            truth[("hubspot_contacts", rid)] = p["person"]
        if rng.random() < 0.45:
            rid = str(len(qb) + 1)
            email = p["email"] if rng.random() < 0.8 else ""
            last = _typo(p["last"], rng) if rng.random() < 0.08 else p["last"]
            qb.append({"Id": rid, "DisplayName": f"{p['first']} {p['last']}",
                       "GivenName": p["first"], "FamilyName": last,
                       "CompanyName": p["company"], "PrimaryEmailAddr": email,
                       "PrimaryPhone": _phone(p["phone"], rng.randrange(1, 5)),
                       "BillAddr.Line1": p["street"], "BillAddr.City": p["city"],
                       "BillAddr.CountrySubDivisionCode": p["state"],
                       "BillAddr.PostalCode": p["postal"],
                       "Balance": f"{rng.randrange(0, 5000)}.{rng.randrange(10, 99)}"})
            truth[("quickbooks_customers", rid)] = p["person"]
    paths = [folder / "salesforce_contacts.csv", folder / "hubspot_contacts.csv",
             folder / "quickbooks_customers.csv"]
    for path, columns, rows in zip(paths, (SALESFORCE, HUBSPOT, QUICKBOOKS), (sf, hs, qb),
                                   strict=True):
        _write(path, columns, rows)
    return paths, truth
