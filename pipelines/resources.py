"""Dagster resources: where the data lives and where it is published, configured from the environment."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from catalog.local import LocalCatalog
from pipelines.layout import Layout


class DataLayout(dg.ConfigurableResource):
    """The data folder (``$TAMBON_DATA_DIR``, default ``data/`` in the repo)."""

    data_dir: str = ""

    def layout(self) -> Layout:
        return Layout(Path(self.data_dir).resolve()) if self.data_dir else Layout.from_env()


class LocalCatalogResource(dg.ConfigurableResource):
    """The embedded catalog folder, used when no CKAN is configured."""

    data_dir: str = ""

    def catalog(self) -> LocalCatalog:
        layout = Layout(Path(self.data_dir).resolve()) if self.data_dir else Layout.from_env()
        return LocalCatalog(layout.catalog)
