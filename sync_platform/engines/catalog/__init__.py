"""The systems catalog: what `mappings/systems.yaml` declares, validated."""

from sync_platform.engines.catalog.errors import CatalogError
from sync_platform.engines.catalog.loader import load_catalog
from sync_platform.engines.catalog.models import (
    Catalog,
    FilesSystem,
    Flow,
    RestSystem,
    RetryPolicy,
    SqlSystem,
    System,
    TableSpec,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "FilesSystem",
    "Flow",
    "RestSystem",
    "RetryPolicy",
    "SqlSystem",
    "System",
    "TableSpec",
    "load_catalog",
]
