"""The mapping review loop from the command line: understand, review, decide, explain, export."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.mapping import load_mapping, pending


def test_understand_review_decide_explain_export(sandbox, mappings_dir):
    runner = CliRunner()
    understood = runner.invoke(main, ["understand"])
    assert understood.exit_code == 0, understood.output
    assert "staged canonical records" in understood.output and "contact" in understood.output

    review = runner.invoke(main, ["mappings", "review"])
    assert review.exit_code == 0 and "evidence" in review.output
    queue = pending(mappings_dir)
    assert queue, "the sandbox leaves something to review"
    first = queue[0]
    field = first["source_fields"][0]
    approved = runner.invoke(main, ["mappings", "approve", first["mapping_id"], field])
    assert approved.exit_code == 0, approved.output
    rule = next(r for r in load_mapping(mappings_dir, first["mapping_id"]).mapping_rules if field in r.sources)
    assert rule.status == "approved" and rule.decided_by

    employee = "hr.employees__employee"
    corrected = runner.invoke(main, ["mappings", "correct", "department", "job_title", "--mapping", employee])
    assert corrected.exit_code == 0, corrected.output
    rules = load_mapping(mappings_dir, employee).mapping_rules
    assert any(r.sources == ["department"] and r.targets == ["job_title"] and r.status == "approved" for r in rules)
    assert (mappings_dir / "knowledge" / "decisions.yaml").is_file()

    explained = runner.invoke(main, ["mappings", "explain"])
    assert explained.exit_code == 0 and "department" in explained.output

    again = runner.invoke(main, ["understand"])  # an automatic run keeps every decision
    assert again.exit_code == 0, again.output
    rules = load_mapping(mappings_dir, employee).mapping_rules
    assert any(r.sources == ["department"] and r.targets == ["job_title"] and r.status == "approved" for r in rules)

    exported = runner.invoke(main, ["mappings", "export", "--format", "csv"])
    assert exported.output.startswith("Source System,Source Field,Target System,Target Field,Transformation notes")
    assert "crm,contacts.email,canonical,contact.email" in exported.output
    listed = runner.invoke(main, ["mappings", "list"])
    assert "crm.contacts__contact" in listed.output

    ambiguous = runner.invoke(main, ["mappings", "correct", "email", "email"])
    assert ambiguous.exit_code != 0 and "--mapping" in ambiguous.output


def test_suggest_between_files_as_json(tmp_path, mappings_dir, data_dir):
    (tmp_path / "a.csv").write_text("Full Name,E-mail,Phone No\nDr. Sarah Jane Smith,sarah@acme.com,(415) 555-0100\n"
                                    "John Smith Jr.,john@globex.com,415.555.0101\n")
    result = CliRunner().invoke(main, ["mappings", "suggest", "--source", str(tmp_path / "a.csv"),
                                       "--target", "contact", "--format", "json"])
    assert result.exit_code == 0, result.output
    proposals = json.loads(result.output)
    assert {"source_field", "target_field", "kind", "confidence", "evidence"} <= set(proposals[0])
    by_source = {p["source_field"] if isinstance(p["source_field"], str) else "+".join(p["source_field"]): p
                 for p in proposals if p.get("accepted", True)}
    assert by_source["E-mail"]["target_field"] == "email"
