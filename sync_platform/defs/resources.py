"""Resources shared by every stage: where the platform's config lives, read at run time."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from sync_platform import settings
from sync_platform.engines.catalog import Catalog, load_catalog


class PlatformResource(ConfigurableResource):
    """The mappings folder a run uses; empty means the configured default (SYNC_MAPPINGS_DIR)."""

    mappings_dir: str = ""

    def folder(self) -> Path:
        return Path(self.mappings_dir) if self.mappings_dir else settings.mappings_dir()

    def catalog(self) -> Catalog:
        """The catalog as of now, with secrets checked (a run needs them)."""
        return load_catalog(self.folder(), require_secrets=True)
