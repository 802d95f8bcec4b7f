"""Survivorship: which source value wins each golden field, with lineage and conflicts."""

from sync_platform.engines.survivorship.custom import (
    get_rule,
    registered_rules,
    survivorship_rule,
)
from sync_platform.engines.survivorship.engine import GoldenResult, build_golden
from sync_platform.engines.survivorship.rules import (
    RuleSpec,
    SurvivorshipRules,
    default_rules,
    load_rules,
)

__all__ = [
    "GoldenResult",
    "RuleSpec",
    "SurvivorshipRules",
    "build_golden",
    "default_rules",
    "get_rule",
    "load_rules",
    "registered_rules",
    "survivorship_rule",
]
