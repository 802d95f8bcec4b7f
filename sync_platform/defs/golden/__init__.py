"""Golden records: identity resolution then survivorship, gated by blocking checks."""
