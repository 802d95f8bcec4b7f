"""`sync-platform resolve`: golden ids for exported files, from the command line."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.identity import evaluate
from sync_platform_tests.engines.identity.exports import write_exports


def test_resolve_exports_to_clusters_csv(tmp_path, mappings_dir, data_dir):
    paths, truth = write_exports(tmp_path / "exports")
    out = tmp_path / "clusters.csv"
    runner = CliRunner()
    result = runner.invoke(main, ["resolve", "--entity", "contact", *map(str, paths),
                                  "--out", str(out), "--key", "hubspot_contacts=Record ID",
                                  "--name", "quickbooks_customers=quickbooks"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Record ID (given)" in text and "Id (detected)" in text
    assert "top proposal" in text and "auto" in text and "PrimaryEmailAddr" in text
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["source", "record_id", "golden_id"]
    assert len(rows) == len(truth) and f"records: {len(rows)}" in text
    golden = len({r["golden_id"] for r in rows})
    assert f"golden records: {golden}" in text and f"wrote {out}" in text
    renamed = {("quickbooks" if s == "quickbooks_customers" else s, rid): p
               for (s, rid), p in truth.items()}
    predicted = {(r["source"], r["record_id"]): r["golden_id"] for r in rows}
    assert evaluate(predicted, renamed)["pairwise_f1"] >= 0.9

    bad = tmp_path / "notes.txt"
    bad.write_text("Amount,Colour\n1,red\n")
    failed = runner.invoke(main, ["resolve", "--entity", "contact", str(paths[0]), str(bad),
                                  "--out", str(tmp_path / "other.csv")])
    assert failed.exit_code != 0 and f"error: {bad}: no usable mapping" in failed.output
    assert not (tmp_path / "other.csv").exists()
    malformed = runner.invoke(main, ["resolve", "--entity", "contact", str(paths[0]),
                                     "--name", "salesforce"])
    assert malformed.exit_code != 0 and "expected FILE=VALUE" in malformed.output
