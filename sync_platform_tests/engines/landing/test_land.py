"""Landing without Dagster (CLI/benchmark path), and a new REST system declared in YAML only."""

from __future__ import annotations

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
