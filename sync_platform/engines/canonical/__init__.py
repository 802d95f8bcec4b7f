"""The shared language: semantic types, canonical entities and the SystemMapping record."""

from sync_platform.engines.canonical.entities import (
    CanonicalEntity,
    CanonicalField,
    entity_for_data_type,
    load_entities,
)
from sync_platform.engines.canonical.mapping_records import (
    APPLIED,
    FieldRule,
    SystemMapping,
    TransformStep,
)
from sync_platform.engines.canonical.semantic_types import SemanticType, compatible

__all__ = [
    "APPLIED",
    "CanonicalEntity",
    "CanonicalField",
    "FieldRule",
    "SemanticType",
    "SystemMapping",
    "TransformStep",
    "compatible",
    "entity_for_data_type",
    "load_entities",
]
