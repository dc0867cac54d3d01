"""The Dagster code location: every dataset folder's assets, checks, jobs and resources, in one place.

``dagster dev`` loads this module (see ``pyproject.toml`` [tool.dagster]).
"""

from __future__ import annotations

import dagster as dg

from pipelines.assets import dataset_assets
from pipelines.declarations import load_datasets
from pipelines.resources import DataLayout, LocalCatalogResource


def round_job_name(dataset: str) -> str:
    return f"{dataset}_round"


def build_definitions() -> dg.Definitions:
    specs = load_datasets()
    return dg.Definitions(
        assets=[a for spec in specs.values() for a in dataset_assets(spec)],
        jobs=[
            dg.define_asset_job(
                round_job_name(name),
                selection=dg.AssetSelection.groups(name),
                description=f"One round of {spec.title['en']} end to end / {spec.title['th']} ครบทุกขั้นตอน",
            )
            for name, spec in specs.items()
        ],
        resources={"data": DataLayout(), "catalog": LocalCatalogResource()},
    )


defs = build_definitions()
