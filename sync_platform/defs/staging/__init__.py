"""Staged canonical records, one asset per entity, gated by a reconciliation check."""
