"""Outbound: golden records rendered in each system's own columns (its mapping read backwards),
for reconciliation and push-out."""

from sync_platform.engines.outbound.render import (
    NotInvertible,
    Outbound,
    inverse_rule,
    outbound_for,
)

__all__ = ["NotInvertible", "Outbound", "inverse_rule", "outbound_for"]
