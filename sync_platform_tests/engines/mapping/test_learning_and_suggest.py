"""Learning from a correction on one system changes proposals on an unseen one; ad hoc suggest."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sync_platform.engines.canonical import FieldRule, SystemMapping
from sync_platform.engines.mapping import correct, explain, save_mapping, suggest
from sync_platform_tests.conftest import handwritten_mappings

REPO = Path(__file__).resolve().parents[3]
FIRMS = ["Acme Tooling GmbH", "Nordwind Logistik AG", "Bergmann & Sohn KG", "Lumen Optics SE",
         "Rhein Solar GmbH", "Falke Software AG"]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    folder = tmp_path / "mappings"
    handwritten_mappings(folder)
    return folder


def _firma(items: list[dict]) -> dict | None:
    return next((i for i in items if i["source_field"] == "Firma" and i["target_field"] == "name"),
                None)


def test_correction_teaches_an_unseen_system(tmp_path: Path, mappings: Path):
    unseen = _write(tmp_path / "vendor_export.csv", ["Kundennr", "Firma", "Ort", "Email"],
                    [[str(5000 + i), FIRMS[i % 6], "Berlin", f"info{i}@firma{i}.de"]
                     for i in range(30)])
    before = suggest(str(unseen), "customer", mappings)
    before_conf = (_firma(before) or {"confidence": 0.0})["confidence"]

    record = SystemMapping(id="legacy_erp.kunden__customer", source_system="legacy_erp",
                           source_table="kunden", entity_type="customer", mapping_rules=[
                               FieldRule(sources=["Firma"], targets=["industry"], confidence=0.4)])
    save_mapping(mappings, record)
    correct(mappings, record.id, "Firma", "name", by="ana")

    after = suggest(str(unseen), "customer", mappings)
    firma = _firma(after)
    assert firma is not None and firma["accepted"] and firma["rank"] == 1
    assert firma["confidence"] > before_conf + 0.3
    assert "learned synonym" in firma["evidence"]
    assert any(e["kind"] == "synonym" and e["source"] == "firma" for e in explain(mappings))
    industry = [i for i in after if i["source_field"] == "Firma" and i["target_field"] == "industry"]
    assert all(i["confidence"] < 0.2 for i in industry)  # the corrected target is now a negative


def test_suggest_two_files_and_file_vs_entity(tmp_path: Path, mappings: Path):
    firsts = ["Ann", "Bo", "Cyrus", "Dina", "Edgar", "Fatima", "Greta", "Hugo"]
    lasts = ["Lee", "Chen", "Diaz", "Engel", "Fox"]
    names = [(f, last) for f in firsts for last in lasts]
    hr = _write(tmp_path / "hr.csv", ["Employee ID", "Full Name", "Work Email", "Hire Date", "Salary"],
                [[str(1000 + i), f"{f} {last}", f"{f.lower()}.{last.lower()}{i}@co.io",
                  f"{(i % 27) + 1:02d}/{(i % 12) + 1:02d}/2020", f"${60000 + i * 1000:,}.00"]
                 for i, (f, last) in enumerate(names)])
    payroll = _write(tmp_path / "payroll.csv",
                     ["emp_no", "first_name", "last_name", "email", "start_date", "salary_cents"],
                     [[str(1000 + i), f, last, f"{f.lower()}.{last.lower()}{i}@co.io",
                       f"2020-{(i % 12) + 1:02d}-{(i % 27) + 1:02d}", str((60000 + i * 1000) * 100)]
                      for i, (f, last) in enumerate(names)])
    pairs = suggest(str(hr), str(payroll), mappings)
    json.dumps(pairs)  # plain JSON
    assert {"source_field", "target_field", "kind", "confidence", "evidence"} <= set(pairs[0])
    best = {json.dumps(p["source_field"]): p for p in pairs if p["accepted"]}
    assert best['"Work Email"']["target_field"] == "email"
    assert best['"Full Name"']["kind"] == "1:n"
    assert best['"Full Name"']["target_field"] == ["first_name", "last_name"]
    confidences = [p["confidence"] for p in pairs if p["accepted"]]
    assert confidences == sorted(confidences, reverse=True)

    entity = suggest(str(hr), "employee", mappings)
    got = {json.dumps(p["source_field"]): p for p in entity if p["accepted"]}
    assert got['"Hire Date"']["target_field"] == "hire_date"
    assert got['"Hire Date"']["transform"] == [{"kind": "date", "params": {"format": "%d/%m/%Y"}}]
    assert got['"Salary"']["transform"][0]["kind"] == "currency"
    assert got['"Employee ID"']["target_field"] == "employee_number"
    assert got['"Full Name"']["target_field"] == ["first_name", "last_name"]
