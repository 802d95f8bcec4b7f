"""Ad hoc resolution of exported files: Salesforce, HubSpot and QuickBooks exports in their own
columns, profiled, mapped, staged and resolved in a temporary warehouse (real files, DuckDB)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import duckdb
import pytest

from sync_platform.engines.identity import evaluate
from sync_platform.engines.identity.adhoc import AdhocError, as_mapping, resolve_files
from sync_platform_tests.conftest import handwritten_mappings
from sync_platform_tests.engines.identity.exports import write_exports

SF, HS, QB = "salesforce_contacts", "hubspot_contacts", "quickbooks_customers"


def _read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("adhoc")
    paths, truth = write_exports(root / "exports")
    return root, paths, truth, handwritten_mappings(root / "mappings")


@pytest.fixture(scope="module")
def resolved(exports):
    root, paths, truth, mappings = exports
    before = _snapshot(mappings)
    result = resolve_files("contact", paths, out=root / "out" / "clusters.csv",
                           mappings_dir=mappings)
    return result, before


def test_every_input_row_gets_a_golden_id_in_file_order(exports, resolved):
    root, paths, _, _ = exports
    result, _ = resolved
    rows = _read(root / "out" / "clusters.csv")
    assert list(rows[0]) == ["source", "record_id", "golden_id"]
    expected = [(SF, r["Id"]) for r in _read(paths[0])]
    expected += [(HS, r["Record ID"]) for r in _read(paths[1])]
    expected += [(QB, r["Id"]) for r in _read(paths[2])]
    assert [(r["source"], r["record_id"]) for r in rows] == expected
    assert all(r["golden_id"] for r in rows)
    assert result.records == len(rows) and result.out == root / "out" / "clusters.csv"
    assert [(f.source, f.key, f.key_origin) for f in result.files] == [
        (SF, "Id", "detected"), (HS, "Record ID", "detected"), (QB, "Id", "detected")]


def test_known_duplicates_share_a_golden_id(exports, resolved):
    _, _, truth, _ = exports
    result, _ = resolved
    scores = evaluate(as_mapping(result.rows), truth)
    assert scores["records"] == len(truth)
    assert scores["pairwise_f1"] >= 0.9, scores
    assert scores["pairwise_precision"] >= 0.95, scores  # namesakes stay apart
    people = len(set(truth.values()))
    assert result.golden_records == pytest.approx(people, abs=3)
    assert result.multi_member_clusters > people // 2


def test_reports_which_mapping_was_used(resolved):
    result, _ = resolved
    used = {f.source: {tuple(u.sources): (u.targets, u.used) for u in f.fields}
            for f in result.files}
    assert used[SF][("Email",)] == (["email"], "auto")
    assert used[SF][("LastName",)] == (["last_name"], "auto")
    assert used[HS][("Phone Number",)] == (["phone"], "auto")
    # QuickBooks' e-mail column is not certain: the engine's top proposal is used, and said so
    assert used[QB][("PrimaryEmailAddr",)] == (["email"], "top proposal")
    assert used[QB][("FamilyName",)] == (["last_name"], "auto")
    qb = next(f for f in result.files if f.source == QB)
    assert "Balance" in qb.not_used and "Id" not in qb.not_used  # the key is the record id
    assert all(("Id",) not in used[s] for s in (SF, QB))


def test_mappings_folder_is_only_read(exports, resolved):
    _, _, _, mappings = exports
    _, before = resolved
    assert _snapshot(mappings) == before


def test_keys_names_and_other_formats(exports, tmp_path):
    """--key for all files and per file, --name, a Parquet file and a DuckDB table as input."""
    _, paths, truth, mappings = exports
    parquet = tmp_path / "hubspot.parquet"
    database = tmp_path / "books.duckdb"
    con = duckdb.connect(str(database))
    try:
        con.execute(f"COPY (SELECT * FROM read_csv_auto('{paths[1]}', all_varchar = true)) "
                    f"TO '{parquet}' (FORMAT parquet)")
        con.execute("CREATE SCHEMA qbo")
        con.execute(f"CREATE TABLE qbo.customers AS SELECT * FROM read_csv_auto('{paths[2]}', "
                    "all_varchar = true)")
    finally:
        con.close()
    result = resolve_files("contact", [paths[0], parquet, f"{database}::qbo.customers"],
                           keys={"*": "Id", "hubspot": "Record ID"}, names={SF: "salesforce"},
                           mappings_dir=mappings)
    assert [(f.source, f.key, f.key_origin) for f in result.files] == [
        ("salesforce", "Id", "given"), ("hubspot", "Record ID", "given"),
        ("customers", "Id", "given")]
    source = {SF: "salesforce", HS: "hubspot", QB: "customers"}
    renamed = {(source[s], rid): person for (s, rid), person in truth.items()}
    assert evaluate(as_mapping(result.rows), renamed)["pairwise_f1"] >= 0.9


def test_duplicate_key_values_are_refused_with_a_count(exports):
    _, paths, _, mappings = exports
    companies = [r["Company Name"] for r in _read(paths[1])]
    repeated = {c for c in companies if companies.count(c) > 1}
    with pytest.raises(AdhocError) as error:
        resolve_files("contact", paths, keys={HS: "Company Name"}, mappings_dir=mappings)
    message = str(error.value)
    assert message.startswith(f"{paths[1]}: key column 'Company Name'")
    assert f"{len(repeated)} 'Company Name' value(s) occur more than once" in message
    assert f"({sum(c in repeated for c in companies)} rows)" in message


def test_row_number_when_no_column_is_unique(exports, tmp_path):
    _, paths, truth, mappings = exports
    rows = _read(paths[1])
    no_key = tmp_path / "hubspot_contacts.csv"
    with no_key.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[c for c in rows[0] if c != "Record ID"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    result = resolve_files("contact", [paths[0], no_key], mappings_dir=mappings)
    report = result.files[1]
    assert report.key is None and report.key_origin == "row number"
    assert "row number" in report.key_note
    assert [r.record_id for r in result.rows if r.source == HS] == [
        str(i) for i in range(1, len(rows) + 1)]
    by_row = {(HS, str(i)): truth[(HS, r["Record ID"])] for i, r in enumerate(rows, start=1)}
    sf_truth = {k: v for k, v in truth.items() if k[0] == SF}
    assert evaluate(as_mapping(result.rows), sf_truth | by_row)["pairwise_f1"] >= 0.9


@pytest.mark.parametrize("name, content, expected", [
    ("missing.csv", None, "no such file"),
    ("empty.csv", "", "the file is empty"),
    ("header_only.csv", "Id,Email\n", "no data rows"),
    ("contacts.xlsx", "not a spreadsheet", "unsupported file type '.xlsx'"),
    ("ledger.csv", "Amount,Colour\n1,red\n2,blue\n", "no usable mapping to contact"),
])
def test_bad_file_errors_name_the_file(exports, tmp_path, name, content, expected):
    _, paths, _, mappings = exports
    bad = tmp_path / name
    if content is not None:
        bad.write_text(content)
    with pytest.raises(AdhocError) as error:
        resolve_files("contact", [paths[0], bad], mappings_dir=mappings)
    assert str(error.value).startswith(f"{bad}: ") and expected in str(error.value)


def test_option_errors(exports):
    _, paths, _, mappings = exports
    with pytest.raises(AdhocError, match="key column 'Nope' not found"):
        resolve_files("contact", paths[:1], keys="Nope", mappings_dir=mappings)
    with pytest.raises(AdhocError, match=r"--key for unknown file\(s\) \['crm'\]"):
        resolve_files("contact", paths[:1], keys={"crm": "Id"}, mappings_dir=mappings)
    with pytest.raises(AdhocError, match="is also used by"):
        resolve_files("contact", [paths[0], paths[0]], mappings_dir=mappings)
    with pytest.raises(AdhocError, match="unknown entity 'lead'"):
        resolve_files("lead", paths, mappings_dir=mappings)
