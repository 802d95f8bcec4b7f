"""The `ops/health` asset: integration health per system and flow."""
