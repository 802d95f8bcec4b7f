"""`sync-platform diff`: any two tables compared from the command line."""

from __future__ import annotations

import csv

import duckdb
from click.testing import CliRunner

from sync_platform.cli import main


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def test_diff_prints_summary_and_writes_differences(tmp_path):
    left = _write(tmp_path / "crm.csv", [
        ["id", "region", "phone", "amount", "email"],
        ["1", "eu", "(555) 123-4567", "1.0", "ann@example.com"],
        ["2", "eu", "555-222-3333", "2", "=HYPERLINK(\"http://x\")"],
        ["3", "us", "555-444-5555", "3", "cy@example.com"],
    ])
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE billing AS SELECT * FROM (VALUES ('1', 'eu', '5551234567', 1, 'ANN@example.com'),"
                    " ('2', 'eu', '555-222-3333', 2.5, 'bob@example.com'), ('4', 'us', '1', 4, 'd@example.com'))"
                    " t(id, region, phone, amount, email)")
    out = tmp_path / "diff.csv"
    runner = CliRunner()
    result = runner.invoke(main, ["diff", "--left", str(left), "--right", f"{db}::main.billing",
                                  "--key", "id,region", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.output
    for line in ("rows left", "rows right", "matched keys", "missing in right", "missing in left",
                 "amount (number)", "email (email)", "seconds"):
        assert line in text
    assert "wrote 4 difference(s)" in text
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["id", "region", "kind", "field", "left_value", "right_value"],
        ["2", "eu", "field_mismatch", "amount", "2", "2.5"],
        ["2", "eu", "field_mismatch", "email", "'=HYPERLINK(\"http://x\")", "bob@example.com"],
        ["3", "us", "missing_in_right", "", "", ""],
        ["4", "us", "missing_in_left", "", "", ""],
    ]

    failing = runner.invoke(main, ["diff", "--left", str(left), "--right", f"{db}::main.billing",
                                   "--key", "id,region", "--fail-on-diff", "--columns", "phone"])
    assert failing.exit_code == 1, failing.output
    assert "first 2 of 2 difference(s)" in failing.output and "missing_in_right" in failing.output

    same = runner.invoke(main, ["diff", "--left", str(left), "--right", str(left), "--key", "id",
                                "--fail-on-diff", "--strictness", "exact"])
    assert same.exit_code == 0 and "no differences" in same.output

    bad = runner.invoke(main, ["diff", "--left", str(left), "--right", str(left), "--key", "nope"])
    assert bad.exit_code == 2 and "error: column 'nope' not found on the left side" in bad.output
