"""Candidate keys and inclusion-dependency foreign keys of the landed sandbox."""

from __future__ import annotations

from sync_platform.engines.canonical import SemanticType as ST
from sync_platform.engines.profiling import candidate_keys
from sync_platform.engines.profiling.store import read_relationships
from sync_platform.engines.warehouse import connect

EXPECTED_FKS = [
    (("crm", "contacts", "account_id"), ("crm", "accounts", "id")),
    (("accounting", "invoices", "customer_ref"), ("accounting", "customers", "id")),
    (("marketing", "contacts", "associatedcompanyid"), ("marketing", "companies", "id")),
]


def _fks(relationships):
    return {((r.from_system, r.from_table, r.from_column),
             (r.to_system, r.to_table, r.to_column)): r
            for r in relationships if r.kind == "foreign_key"}


def test_expected_foreign_keys(profiled_warehouse):
    _, _, relationships = profiled_warehouse
    fks = _fks(relationships)
    for pair in EXPECTED_FKS:
        assert pair in fks, sorted(fks)
        rel = fks[pair]
        assert rel.coverage >= 0.95 and rel.from_distinct >= 2 and rel.confidence > 0.5
        assert "appear in" in rel.evidence and rel.from_column in rel.evidence


def test_no_relationship_from_flags_or_measures(profiled_warehouse):
    _, profiles, relationships = profiled_warehouse
    for rel in relationships:
        source = profiles[(rel.from_system, rel.from_table, rel.from_column)]
        target = profiles[(rel.to_system, rel.to_table, rel.to_column)]
        for p in (source, target):
            assert p.semantic_type in {ST.IDENTIFIER, ST.INTEGER, ST.UUID, ST.SALESFORCE_ID}, p
            assert p.distinct_count >= 2
    fks = _fks(relationships)
    assert not [k for k in fks if k[0][2] in {"active", "is_active", "position", "on_hand",
                                              "inventory_quantity", "grams"}]
    assert not [k for k in fks if k[0][2] == "id"]  # surrogate keys do not reference others


def test_candidate_keys(profiled_warehouse):
    _, profiles, relationships = profiled_warehouse
    keys = {(k.from_system, k.from_table, k.from_column)
            for k in candidate_keys(list(profiles.values()))}
    assert {("crm", "accounts", "id"), ("crm", "contacts", "id"), ("accounting", "customers", "id"),
            ("marketing", "companies", "id"), ("hr", "employees", "employee_id")} <= keys
    assert ("accounting", "customers", "active") not in keys
    assert ("crm", "contacts", "account_id") not in keys  # repeated values
    assert keys == {(r.from_system, r.from_table, r.from_column) for r in relationships
                    if r.kind == "primary_key"}


def test_relationships_written_to_meta(profiled_warehouse):
    warehouse, _, relationships = profiled_warehouse
    with connect(warehouse, read_only=True) as con:
        stored = read_relationships(con)
    assert sorted(map(repr, stored)) == sorted(map(repr, relationships))
