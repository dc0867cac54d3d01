"""The Dagster code location: every dataset folder's assets, checks, jobs and resources, in one place.

``dagster dev`` loads this module (see ``pyproject.toml`` [tool.dagster]).
"""

from __future__ import annotations

import os

import dagster as dg

from pipelines import alerts
from pipelines.assets import ckan_asset, dataset_assets
from pipelines.automation import landing_sensor, monthly_schedule
from pipelines.declarations import load_datasets
from pipelines.resources import CkanResource, DataLayout, LocalCatalogResource


def round_job_name(dataset: str) -> str:
    return f"{dataset}_round"


def build_definitions() -> dg.Definitions:
    specs = load_datasets()
    assets = [a for spec in specs.values() for a in dataset_assets(spec)]
    resources: dict = {"data": DataLayout(), "catalog": LocalCatalogResource()}
    if os.environ.get("CKAN_URL"):  # publish to CKAN too when one is configured
        assets += [ckan_asset(spec) for spec in specs.values()]
        resources["ckan"] = CkanResource(url=os.environ["CKAN_URL"])
    jobs = {
        name: dg.define_asset_job(
            round_job_name(name),
            selection=dg.AssetSelection.groups(name),
            description=f"One round of {spec.title['en']} end to end / {spec.title['th']} ครบทุกขั้นตอน",
        )
        for name, spec in specs.items()
    }
    return dg.Definitions(
        assets=assets,
        jobs=list(jobs.values()),
        sensors=[
            *(landing_sensor(spec, round_job_name(name)) for name, spec in specs.items()),
            alerts.alert_on_run_failure,
            alerts.alert_on_check_failure,
        ],
        schedules=[monthly_schedule(spec, jobs[name]) for name, spec in specs.items()],
        resources=resources,
    )


defs = build_definitions()
