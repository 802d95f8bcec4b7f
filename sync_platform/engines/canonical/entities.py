"""The canonical model: `mappings/entities/<entity>.yaml`, loaded into pydantic models.

A user adds a field or an entity by editing YAML; errors name the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sync_platform import settings
from sync_platform.engines.canonical.semantic_types import SemanticType
from sync_platform.engines.catalog.errors import CatalogError
from sync_platform.engines.catalog.loader import read_yaml, validate_model

FieldType = Literal["string", "integer", "decimal", "boolean", "date", "datetime"]


class CanonicalField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType = "string"
    semantic_type: SemanticType | None = None
    required: bool = False
    identifier: bool = False  # usable for matching records across systems
    pii: bool = False  # personal data: masked in logs, ops tables, previews and Dagster events
    description: str = ""
    synonyms: list[str] = Field(default_factory=list)  # names other systems use for it


class CanonicalEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    data_types: list[str] = Field(min_length=1)  # systems.yaml table data_type values it covers
    fields: list[CanonicalField] = Field(min_length=1)
    identifiers: list[list[str]] = Field(default_factory=list)  # field sets that identify a record

    @model_validator(mode="after")
    def _consistent(self) -> CanonicalEntity:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate fields {duplicates}")
        unknown = sorted({f for group in self.identifiers for f in group} - set(names))
        if unknown:
            raise ValueError(f"identifiers name unknown fields {unknown}")
        return self

    def field(self, name: str) -> CanonicalField:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(f"{self.entity} has no field {name!r}")

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def load_entities(mappings_dir: Path | None = None) -> dict[str, CanonicalEntity]:
    """Every `entities/*.yaml` of the mappings folder, validated, keyed by entity name."""
    folder = (Path(mappings_dir) if mappings_dir else settings.mappings_dir()) / "entities"
    entities: dict[str, CanonicalEntity] = {}
    for file in sorted(folder.glob("*.yaml")):
        raw = read_yaml(file)
        entity = validate_model(file, CanonicalEntity, raw)
        if entity.entity != file.stem:
            raise CatalogError(file, [("entity", f"must match the file name {file.stem!r}")])
        entities[entity.entity] = entity
    return entities


def entity_for_data_type(entities: dict[str, CanonicalEntity], data_type: str | None) -> CanonicalEntity | None:
    for entity in entities.values():
        if data_type in entity.data_types:
            return entity
    return None
