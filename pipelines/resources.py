"""Dagster resources: where the data lives and where it is published, configured from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg

from catalog.ckan_client import CkanClient, token_from_environment
from catalog.ckan_publish import CkanPublisher, Organization
from catalog.local import LocalCatalog
from domain.declarations import REPO_ROOT
from domain.layout import Layout
from pipelines.progress import say
from pipelines.run_lock import RunHolds


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


class CkanResource(dg.ConfigurableResource):
    """The CKAN catalog: ``CKAN_URL`` and ``CKAN_API_TOKEN`` (or a secrets file), never logged."""

    url: str
    secrets_file: str = str(REPO_ROOT / ".cache" / "ckan-secrets.env")
    organization: str = "dopa"
    organization_title: str = "กรมการปกครอง"

    def client(self) -> CkanClient:
        return CkanClient(self.url, token_from_environment(Path(self.secrets_file)))

    def publisher(self, local: LocalCatalog) -> CkanPublisher:
        return CkanPublisher(self.client(), local, Organization(self.organization, self.organization_title))


class RunLocks(dg.ConfigurableResource):
    """One run per dataset and round at a time (``pipelines/run_lock.py``), held until the run ends.

    Initialised once per run in process, once per step with the multiprocess or Celery executor: the run's id
    lets a step in its own process recognise the lock its run's orchestrator holds, instead of waiting for it.
    """

    data_dir: str = ""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[RunHolds]:
        layout = Layout(Path(self.data_dir).resolve()) if self.data_dir else Layout.from_env()

        with ExitStack() as stack:
            run_id = context.run.run_id if context.run is not None else None
            yield RunHolds(layout, stack, lambda message: say(context, message, level="warning"), run_id)
