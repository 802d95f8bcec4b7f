"""Landing assets: one dlt pipeline per system, an asset per landed table, grouped per system."""
