"""The data team's month in Dagster: new files start a run, a monthly schedule, one per dataset.

The landing sensor fingerprints each round folder (file names, sizes, modification
times); a round whose fingerprint changed, including a late correction to an old
round, gets a run request keyed by that fingerprint, so the same state never
runs twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import dagster as dg

from pipelines.declarations import DatasetSpec
from pipelines.layout import Layout
from pipelines.rounds import parse_round


def landing_fingerprints(layout: Layout, dataset: str) -> dict[str, str]:
    """Round key -> fingerprint of its landed files (both B.E. and Gregorian folders merged)."""
    base = layout.root / "landing" / dataset
    entries: dict[str, list[str]] = {}
    if not base.is_dir():
        return {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            key = parse_round(folder.name).key
        except ValueError:
            continue  # not a round folder
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            stat = path.stat()
            entries.setdefault(key, []).append(f"{path.relative_to(base)}|{stat.st_size}|{stat.st_mtime_ns}")
    return {key: hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16] for key, lines in entries.items()}


def landing_sensor(spec: DatasetSpec, job_name: str) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{spec.name}_new_files",
        job_name=job_name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"New or changed files in data/landing/{spec.name}/<round>/ run that round",
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        current = landing_fingerprints(Layout.from_env(), spec.name)
        seen = json.loads(context.cursor) if context.cursor else {}
        requests = [
            dg.RunRequest(partition_key=key, run_key=f"{key}:{fingerprint}", tags={"trigger": "new_files"})
            for key, fingerprint in sorted(current.items())
            if seen.get(key) != fingerprint
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))

    return sensor


def monthly_schedule(
    spec: DatasetSpec, job: dg.UnresolvedAssetJobDefinition, name: str | None = None, hour: int = 6
) -> dg.ScheduleDefinition:
    """The day after ``spec``'s reporting deadline, early morning Bangkok time: the round of that month.

    The scorecards use the village profile's deadline an hour later, after its round is published.
    """
    day = int(spec.raw.get("reporting", {}).get("deadline_day", 25)) + 1
    return dg.build_schedule_from_partitioned_job(
        job,
        name=f"{name or spec.name}_monthly",
        day_of_month=min(day, 28),
        hour_of_day=hour,  # Bangkok time: the partitions' timezone
    )


def freshness_policy(spec: DatasetSpec) -> dg.FreshnessPolicy:
    """The round's packages are expected published by noon the day after the reporting deadline.

    The schedule runs at 06:00 that day, so a round still unpublished at noon means a
    failed or stuck run, or no files at all. Any publication since the 1st of the
    month counts (the landing sensor publishes as files arrive). Dagster evaluates
    it when ``freshness: enabled`` is set in dagster.yaml, and shows it on the asset.
    """
    day = min(int(spec.raw.get("reporting", {}).get("deadline_day", 25)) + 1, 28)
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"0 12 {day} * *",
        lower_bound_delta=dt.timedelta(days=day - 1),
        timezone="Asia/Bangkok",
    )
