"""Landing without Dagster (CLI/benchmark path), and a new REST system declared in YAML only."""

from __future__ import annotations

import os
import textwrap

from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.landing import land


def test_generic_rest_system_needs_only_yaml(sandbox, tmp_path):
    folder = tmp_path / "generic"
    folder.mkdir()
    (folder / "systems.yaml").write_text(textwrap.dedent(f"""
        version: 1
        warehouse: {{path: {tmp_path / 'generic.duckdb'}}}
        systems:
          store2:
            kind: rest
            preset: generic
            connection:
              base_url: ${{SHOP_BASE_URL}}
              auth: {{type: api_key, header: X-Shopify-Access-Token, token_env: SHOP_TOKEN}}
            tables:
              items:
                source: products
                primary_key: id
                cursor: updated_at
                endpoint:
                  path: admin/api/2024-07/products.json
                  params: {{limit: 7}}
                  data_selector: products
                  paginator: header_link
                  cursor_param: updated_at_min
                  initial_cursor: "1970-01-01T00:00:00-00:00"
    """))
    catalog = load_catalog(folder)
    first = land(catalog, "store2")
    assert first.tables["items"].rows_landed == sandbox.seeded["shop"]["products"]
    assert [c.change for c in first.schema_changes if c.table_name == "items"] == ["added_table"]
    again = land(catalog, "store2")
    assert again.tables["items"].rows_landed == 0
    assert sandbox.stats("shop")["by_status"]["200"] > first.tables["items"].row_count // 7


def test_parallel_normalisation_lands_the_same_rows(sandbox, catalog, monkeypatch):
    """A large extract is normalised on every core (here forced by a 0-byte threshold and small
    item files): the landed rows and column types equal a serial landing's."""
    import dlt
    import duckdb

    from sync_platform.engines.landing import pipeline as landing

    real = dlt.Pipeline.normalize

    def landed(workers_from: int, warehouse):
        monkeypatch.setattr(landing, "PARALLEL_NORMALIZE_BYTES", workers_from)
        cat = catalog.model_copy(update={"warehouse": catalog.warehouse.model_copy(update={"path": warehouse})})
        calls = []
        monkeypatch.setattr(dlt.Pipeline, "normalize", lambda self, workers=1: calls.append(workers)
                            or real(self, workers=workers))
        result = land(cat, "crm")
        with duckdb.connect(str(warehouse), read_only=True) as con:
            types = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                                "WHERE table_schema = 'raw_crm' AND column_name NOT LIKE '\\_dlt%' ESCAPE '\\' "
                                "ORDER BY ALL").fetchall()
            rows = {t: con.execute(f"SELECT * EXCLUDE (_dlt_load_id, _dlt_id) FROM raw_crm.{t} "
                                   "ORDER BY ALL").fetchall() for t in ("contacts", "accounts")}
        return result, calls, types, rows

    dlt.config["data_writer.file_max_items"] = 50  # several item files per table
    try:
        serial = landed(2**62, catalog.warehouse_path.parent / "serial.duckdb")
        parallel = landed(0, catalog.warehouse_path.parent / "parallel.duckdb")
    finally:
        dlt.config["data_writer.file_max_items"] = landing.EXTRACT_FILE_MAX_ITEMS
    assert serial[1] == [1] and parallel[1] == [os.cpu_count()] and os.cpu_count() > 1
    assert serial[0].tables["contacts"].rows_landed == parallel[0].tables["contacts"].rows_landed > 50
    assert serial[2] == parallel[2] and serial[3] == parallel[3]
