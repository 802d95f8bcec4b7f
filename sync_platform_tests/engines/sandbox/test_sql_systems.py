"""The SQL sandbox systems as targets: accounting customers carry an external id column the
platform upserts by; payroll refuses a start_date that is not a real ISO date."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, exc, inspect, text

from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.connectors import connector_for


def test_accounting_customers_upsert_by_sync_external_id(fresh, mappings_dir, monkeypatch) -> None:
    for key, value in fresh.env().items():
        monkeypatch.setenv(key, value)
    engine = create_engine(fresh.accounting_url)
    column = next(c for c in inspect(engine).get_columns("customers") if c["name"] == "sync_external_id")
    assert column["nullable"] and "64" in str(column["type"])
    with engine.connect() as con:
        assert con.execute(text("SELECT count(*) FROM customers WHERE sync_external_id IS NOT NULL")).scalar() == 0
        before = con.execute(text("SELECT count(*) FROM customers")).scalar()
    catalog = load_catalog()
    accounting = connector_for(catalog, "accounting")
    assert accounting.table("customers").external_id_field == "sync_external_id"
    first = accounting.write("customers", [{"sync_external_id": "G-C1", "DisplayName": "Acme", "Active": 1}])
    again = accounting.write("customers", [{"sync_external_id": "G-C1", "DisplayName": "Acme Corp",
                                            "Active": 1}])
    assert first[0].ok and first[0].created and again[0].ok and not again[0].created
    assert first[0].target_id == again[0].target_id
    with engine.connect() as con:
        rows = con.execute(text('SELECT "Id", "DisplayName" FROM customers '
                                "WHERE sync_external_id = 'G-C1'")).fetchall()
        assert con.execute(text("SELECT count(*) FROM customers")).scalar() == before + 1
    assert rows == [(int(first[0].target_id), "Acme Corp")]
    engine.dispose()


def test_payroll_start_date_must_be_an_iso_date(fresh) -> None:
    engine = create_engine(fresh.payroll_url)
    fresh.mutate(systems=["payroll"], edits=2, inserts=3, deletes=1)  # generated rows pass too
    with engine.begin() as con:
        assert con.execute(text("SELECT count(*) FROM employees WHERE start_date IS NOT NULL")).scalar() > 0
        assert con.execute(text("SELECT count(*) FROM employees WHERE start_date IS NOT NULL AND "
                                "date(start_date, '+0 days') IS NOT start_date")).scalar() == 0
        con.execute(text("INSERT INTO employees (last_name, start_date) VALUES ('Leap', '2024-02-29'), "
                         "('None', NULL)"))
    for bad in ("2024-02-30", "31/12/2024", "2024-1-5", "2024-01-05T00:00:00"):
        with pytest.raises(exc.IntegrityError, match="start_date_iso_date"), engine.begin() as con:
            con.execute(text("INSERT INTO employees (last_name, start_date) VALUES ('Bad', :d)"), {"d": bad})
    engine.dispose()
