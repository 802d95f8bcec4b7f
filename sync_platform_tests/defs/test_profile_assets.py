"""Profiling assets through a real Dagster run after landing: metadata and meta tables."""

from __future__ import annotations

from dagster import DagsterInstance, materialize

from sync_platform.defs import build_definitions
from sync_platform.defs.profile.assets import RELATIONSHIPS_KEY, profile_key
from sync_platform_tests.defs.landing_helpers import land_through_dagster, query


def test_profiles_and_relationships_after_landing(sandbox, catalog):
    instance = DagsterInstance.ephemeral()
    land_through_dagster(["crm", "hr"], instance=instance)
    defs = build_definitions()
    assets = [defs.resolve_assets_def(profile_key("crm")), defs.resolve_assets_def(profile_key("hr")),
              defs.resolve_assets_def(RELATIONSHIPS_KEY)]
    result = materialize(assets, instance=instance, selection=[profile_key("crm"), profile_key("hr"),
                                                               RELATIONSHIPS_KEY])
    assert result.success
    metadata = {e.materialization.asset_key: e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    assert metadata[profile_key("hr")]["columns_profiled"].value >= 9
    assert "%d/%m/%Y" in metadata[profile_key("hr")]["semantic_types"].value
    assert metadata[RELATIONSHIPS_KEY]["foreign_keys"].value >= 1
    types = dict(query(catalog.warehouse_path,
                       "SELECT column_name, semantic_type FROM meta.column_profiles "
                       "WHERE system = 'crm' AND table_name = 'contacts'"))
    assert types["email"] == "email" and types["phone"] == "phone"
    assert sorted(metadata[profile_key("crm")]["tables_profiled"].value) == ["accounts", "contacts"]

    # nothing landed since: the stored profiles are kept, and the metadata says so
    again = materialize([assets[1]], instance=instance, selection=[profile_key("hr")])
    hr = again.get_asset_materialization_events()[0].materialization.metadata
    assert hr["tables_kept"].value == ["employees"] and hr["tables_profiled"].value == []
    assert "kept (0 changed rows since profile" in hr["decisions"].value
    assert hr["columns_profiled"].value == metadata[profile_key("hr")]["columns_profiled"].value
    forced = materialize([assets[1]], instance=instance, selection=[profile_key("hr")],
                         run_config={"ops": {"profile__hr": {"config": {"force": True}}}})
    hr = forced.get_asset_materialization_events()[0].materialization.metadata
    assert hr["tables_profiled"].value == ["employees"] and "forced" in hr["decisions"].value
