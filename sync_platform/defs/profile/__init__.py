"""Profiles of every landed table (one asset per system) and the relationships between them."""
