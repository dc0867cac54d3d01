"""The Dagster code location: every dataset folder's assets, checks, jobs and resources, in one place.

``dagster dev`` loads this module (see ``pyproject.toml`` [tool.dagster]).
"""

from __future__ import annotations

import os

import dagster as dg

from domain.declarations import load_datasets
from pipelines import alerts, executors
from pipelines.assets import SCORECARDS_GROUP, ckan_asset, ckan_corrections_asset, dataset_assets, scorecard_asset
from pipelines.automation import (
    landing_sensor,
    monthly_schedule,
    national_sensor,
    office_uploads_sensor,
    provinces_sensor,
)
from pipelines.resources import CkanResource, DataLayout, LocalCatalogResource, RunLocks
from pipelines.scorecards import load_scorecards


def round_job_name(dataset: str) -> str:
    """The national steps of a round (quality, aggregates, packages, CKAN), over every province part."""
    return f"{dataset}_round"


def landing_job_name(dataset: str) -> str:
    """The round's files sorted into province parts: what says which provinces to run."""
    return f"{dataset}_landing"


def province_job_name(dataset: str) -> str:
    """One province of a round: its rows read and validated."""
    return f"{dataset}_province"


#: the assets a dataset's landing job and province job run; its round job runs the rest of its group
LANDING_STAGES = ("landed",)
PROVINCE_STAGES = ("raw_files", "validated", "quarantine")


SCORECARDS_JOB = "scorecards_round"


def build_definitions() -> dg.Definitions:
    specs = load_datasets()
    cards = load_scorecards()
    assets = [a for spec in specs.values() for a in dataset_assets(spec)]
    assets += [scorecard_asset(card) for card in cards.values()]
    resources: dict = {"data": DataLayout(), "catalog": LocalCatalogResource(), "locks": RunLocks()}
    sensors: list[dg.SensorDefinition] = []
    if os.environ.get("CKAN_URL"):  # publish to CKAN, and read the offices' corrections, when one is configured
        assets += [ckan_asset(name) for name in [*specs, *cards]]
        assets += [ckan_corrections_asset(spec) for spec in specs.values() if spec.has_quality_figures]
        resources["ckan"] = CkanResource(url=os.environ["CKAN_URL"])
        sensors += [office_uploads_sensor(spec) for spec in specs.values() if spec.has_quality_figures]
    jobs: dict[str, dg.UnresolvedAssetJobDefinition] = {}
    stage_jobs: list[dg.UnresolvedAssetJobDefinition] = []
    for name, spec in specs.items():
        landing = dg.AssetSelection.assets(*(dg.AssetKey([name, s]) for s in LANDING_STAGES))
        province = dg.AssetSelection.assets(*(dg.AssetKey([name, s]) for s in PROVINCE_STAGES))
        stage_jobs += [
            dg.define_asset_job(
                landing_job_name(name),
                selection=landing,
                description=f"{spec.title['en']}: the round's files into province parts / แยกไฟล์ของรอบตามจังหวัด",
            ),
            dg.define_asset_job(
                province_job_name(name),
                selection=province,
                description=f"{spec.title['en']}: one province of a round, read and validated / ตรวจข้อมูลรายจังหวัด",
            ),
        ]
        jobs[name] = dg.define_asset_job(
            round_job_name(name),
            selection=dg.AssetSelection.groups(name) - landing - province,
            description=f"{spec.title['en']}: the round's national steps over every province / "
            f"{spec.title['th']} ขั้นตอนระดับประเทศ",
        )
    scorecards = dg.define_asset_job(
        SCORECARDS_JOB,
        selection=dg.AssetSelection.groups(SCORECARDS_GROUP),
        description="Score every scorecard from the round's published tables / คำนวณคะแนนและผลการคัดเลือก",
    )
    return dg.Definitions(
        assets=assets,
        jobs=[*stage_jobs, *jobs.values(), scorecards],
        sensors=[
            *sensors,
            *(landing_sensor(spec, landing_job_name(name)) for name, spec in specs.items()),
            *(provinces_sensor(spec, province_job_name(name)) for name, spec in specs.items()),
            *(national_sensor(spec, round_job_name(name)) for name, spec in specs.items()),
            alerts.alert_on_run_failure,
            alerts.alert_on_check_failure,
        ],
        schedules=[
            *(monthly_schedule(spec, jobs[name]) for name, spec in specs.items()),
            monthly_schedule(specs["village_profile"], scorecards, name=SCORECARDS_JOB, hour=7),
        ],
        resources=resources,
        # TAMBON_EXECUTOR: in_process (default), multiprocess or celery (pipelines/executors.py); whichever,
        # the run's orchestrating process holds its dataset and round locks and its steps join them.
        executor=executors.executor_def(),
    )


defs = build_definitions()
