"""Mapping proposals to the canonical model: auto-applied or queued for review."""
