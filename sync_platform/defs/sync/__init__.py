"""Reconciliation, the published analysts' copy and push-out, per target table."""
