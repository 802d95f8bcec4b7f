"""Change probes: a cheap, deterministic "did anything change?" marker per source table."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from sync_platform.engines.catalog.models import RestSystem, SqlSystem
from sync_platform.engines.connectors import connector_for
from sync_platform.engines.connectors.probe import is_error, probe_system
from sync_platform.engines.connectors.rest import RestConnector
from sync_platform.engines.connectors.rest_presets import Shopify
from sync_platform.engines.connectors.sql import SqlConnector

KINDS = {"edit": {"edits": 1, "inserts": 0, "deletes": 0},
         "insert": {"edits": 0, "inserts": 1, "deletes": 0},
         "delete": {"edits": 0, "inserts": 0, "deletes": 1}}


def probe_all(catalog) -> dict[str, dict[str, str | None]]:
    return {system: probe_system(catalog, system) for system in catalog.systems}


def touched_tables(catalog, system: str, report) -> set[str]:
    """Catalog tables of `system` a mutation report names (files systems: every table)."""
    changed = report.changed.get(system, {})
    spec = catalog.systems[system]
    if spec.kind == "files":
        return set(spec.tables) if changed else set()
    # Shopify variants are read (and probed) through products.json: they move with products
    listed_in = {source: listing for source, (listing, _) in Shopify.NESTED.items()} \
        if getattr(spec, "preset", None) == "shopify" else {}
    return {name for name, table in spec.tables.items()
            if changed.get(table.source) or changed.get(listed_in.get(table.source, ""))}


def test_probes_are_stable_and_cover_every_table(catalog):
    first = probe_all(catalog)
    assert probe_all(catalog) == first
    for system, markers in first.items():
        assert set(markers) == set(catalog.systems[system].tables)
        for table, marker in markers.items():
            assert marker and not is_error(marker), (system, table, marker)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_mutation_changes_only_the_touched_tables(sandbox, catalog, kind):
    """Per system: one edit / insert / delete changes the probe of the touched table(s) and no
    other probe, of that system or any other."""
    before = probe_all(catalog)
    for system in catalog.systems:
        report = sandbox.mutate(systems=[system], **KINDS[kind])
        touched = touched_tables(catalog, system, report)
        assert touched, (system, kind, report.changed)
        after = probe_all(catalog)
        for other, markers in after.items():
            for table, marker in markers.items():
                if other == system and table in touched:
                    assert marker != before[other][table], (kind, other, table)
                else:
                    assert marker == before[other][table], (kind, other, table)
        before = after


def test_deletes_through_the_connectors_change_the_probe(catalog):
    """Recycle bin (Salesforce) and archive (HubSpot): the deleted record no longer shows in
    the probe's query, yet the marker moves (queryAll stamp, search total)."""
    for system, table in (("crm", "contacts"), ("marketing", "contacts")):
        connector = connector_for(catalog, system)
        key = connector.probe(table).split("|")[1]  # the newest record's id
        before = connector.probe(table)
        [result] = connector.delete(table, [key])
        assert result.ok and not result.gone
        assert connector.probe(table) != before, system


def test_a_rest_probe_is_one_request(sandbox, catalog):
    for system in sandbox.HTTP_SYSTEMS:
        connector = connector_for(catalog, system)
        for table in connector.tables:
            assert connector.can_probe(table)
            start = sandbox.stats(system)["requests"]
            connector.probe(table)
            assert sandbox.stats(system)["requests"] - start == 1, (system, table)


def test_a_failing_system_gives_error_markers_without_raising(sandbox, catalog):
    sandbox.set_faults("crm", error_rate=1.0)  # every request 5xx, retries exhausted
    sandbox.set_faults("shop", down=True)
    stopped = sandbox.servers.pop("marketing")
    stopped.stop()
    sandbox.hr_dir.rename(sandbox.hr_dir.with_name("gone"))
    try:
        markers = probe_all(catalog)
    finally:
        sandbox.hr_dir.with_name("gone").rename(sandbox.hr_dir)
        sandbox.set_faults("crm")
        sandbox.set_faults("shop")
    for system in ("crm", "marketing", "shop", "hr"):
        assert all(m == "error:ConnectorError" for m in markers[system].values()), markers[system]
    for system in ("accounting", "payroll", "warehouse"):
        assert not any(is_error(m) for m in markers[system].values())
    assert probe_system(catalog, "crm") == probe_system(catalog, "crm")  # recovered
    assert not any(is_error(m) for m in probe_system(catalog, "crm").values())


def test_sql_probe_of_a_missing_table_is_an_error_marker(sandbox, catalog):
    spec = catalog.systems["accounting"].model_copy(deep=True)
    spec.tables["customers"].source = "no_such_table"
    catalog.systems["accounting"] = spec
    markers = probe_system(catalog, "accounting")
    assert markers["customers"] == "error:ConnectorError"
    assert not is_error(markers["invoices"])


def test_sql_probe_without_a_cursor_sees_inserts_and_deletes_not_updates(tmp_path):
    url = f"sqlite:///{tmp_path / 'plain.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text('CREATE TABLE "odd table" (code TEXT PRIMARY KEY, qty INTEGER)'))
    system = SqlSystem.model_validate({"kind": "sql", "connection": {"url": url}, "tables": {
        "items": {"source": "odd table", "primary_key": "code"}}})
    connector = SqlConnector("plain", system)
    assert connector.probe("items") is None  # empty
    with engine.begin() as conn:
        conn.execute(sa.text("""INSERT INTO "odd table" VALUES ('a', 1), ('b', 2)"""))
    first = connector.probe("items")
    assert first == "2|b" and connector.probe("items") == first
    with engine.begin() as conn:
        conn.execute(sa.text("""UPDATE "odd table" SET qty = 5 WHERE code = 'a'"""))
    assert connector.probe("items") == first  # invisible without a cursor, as to landing
    with engine.begin() as conn:
        conn.execute(sa.text("""DELETE FROM "odd table" WHERE code = 'a'"""))
    assert connector.probe("items") == "1|b"
    engine.dispose()


def test_generic_rest_preset_cannot_probe():
    system = RestSystem.model_validate({
        "kind": "rest", "preset": "generic",
        "connection": {"base_url": "http://127.0.0.1:9"},  # nothing listens: no request is made
        "tables": {"orders": {"source": "orders", "primary_key": "id", "cursor": "updated_at",
                              "endpoint": {"path": "orders", "cursor_param": "since"}}}})
    connector = RestConnector("generic", system)
    assert connector.probe("orders") is None
    assert not connector.can_probe("orders")


# -- the sandbox's newest-first sorts the probes rely on ---------------------------------------

def _get(sandbox, system: str, path: str, **kw) -> requests.Response:
    env = sandbox.env()
    headers = ({"X-Shopify-Access-Token": env["SHOP_TOKEN"]} if system == "shop"
               else {"Authorization": f"Bearer {env[system.upper() + '_TOKEN']}"})
    url = path if path.startswith("http") else env[f"{system.upper()}_BASE_URL"] + path
    return requests.request(kw.pop("method", "GET"), url, headers=headers, timeout=10, **kw)


def test_shop_products_order_updated_at_desc_pages_newest_first(sandbox):
    url = "/admin/api/2024-07/products.json"
    seen: list[tuple[str, int]] = []
    response = _get(sandbox, "shop", url, params={"limit": 7, "order": "updated_at desc",
                                                   "fields": "id,updated_at"})
    while True:
        assert response.status_code == 200, response.text
        for product in response.json()["products"]:
            assert set(product) == {"id", "updated_at"}
            seen.append((product["updated_at"], product["id"]))
        nxt = response.links.get("next", {}).get("url")
        if not nxt:
            break
        response = _get(sandbox, "shop", nxt)
    assert seen == sorted(seen, reverse=True)
    everything = _get(sandbox, "shop", url, params={"limit": 250}).json()["products"]
    assert {i for _, i in seen} == {p["id"] for p in everything}
    bad = _get(sandbox, "shop", url, params={"order": "title asc"})
    assert bad.status_code == 400


def test_marketing_search_descending_pages_newest_first(sandbox):
    path = "/crm/v3/objects/contacts/search"
    body = {"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
            "limit": 25}
    seen: list[tuple[str, str]] = []
    while True:
        page = _get(sandbox, "marketing", path, method="POST", json=body).json()
        seen += [(r["updatedAt"], r["id"]) for r in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
        body = {**body, "after": after}
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == page["total"] == len({i for _, i in seen})


def test_crm_soql_order_by_desc(sandbox):
    q = "SELECT Id, LastModifiedDate FROM Contact ORDER BY LastModifiedDate DESC, Id DESC"
    api = "/services/data/v59.0/queryAll"
    records = _get(sandbox, "crm", api, params={"q": q}).json()["records"]
    keys = [(r["LastModifiedDate"], r["Id"]) for r in records]
    assert keys == sorted(keys, reverse=True) and len(keys) > 10
    top = _get(sandbox, "crm", api, params={"q": q + " LIMIT 1"}).json()
    assert [r["Id"] for r in top["records"]] == [keys[0][1]] and top["done"]
    mixed = _get(sandbox, "crm", api, params={"q": q.replace("Id DESC", "Id ASC")})
    assert mixed.status_code == 400
