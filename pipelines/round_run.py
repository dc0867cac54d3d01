"""A round run through Dagster's jobs: the files sorted, each province whose rows changed, then the nation.

The three jobs of a dataset (``pipelines.definitions``) run in this order, each for its partitions:

1. ``<dataset>_landing`` for the round: every file archived, the new ones read, rows sorted into
   province parts; it says which parts changed;
2. ``<dataset>_province`` for each part not validated from that sort (the changed ones, and any a
   failed run left behind), one run per ``province|round`` key;
3. ``<dataset>_round`` for the round: quality, aggregates, packages and CKAN over every part.

The sensors do the same one step at a time (``pipelines.automation``); ``tambon run`` and the
tests do it here, with whatever executes a job (in this process, or on an executor).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from domain.declarations import DatasetSpec
from domain.layout import Layout
from domain.rounds import Round
from pipelines import stages
from pipelines.definitions import landing_job_name, province_job_name, round_job_name
from pipelines.partitions import province_key

#: runs one job for one partition key; True when it succeeded
Execute = Callable[[dg.JobDefinition, str], bool]
#: runs one job (by name) for several partition keys side by side; each run's success
RunMany = Callable[[str, list[str]], list[bool]]


@dataclass
class RoundRun:
    success: bool
    provinces: list[str] = field(default_factory=list)  # the province partitions run


def run_round(
    defs: dg.Definitions,
    spec: DatasetSpec,
    round_: Round,
    layout: Layout,
    execute: Execute,
    run_many: RunMany | None = None,
) -> RoundRun:
    """Sort, every province whose part is not validated from the sort, then the national steps.

    ``run_many``: runs the provinces side by side (``pipelines.province_workers``); else one after
    another with ``execute``. A failed run stops the round before its national steps.
    """
    if not execute(defs.resolve_job_def(landing_job_name(spec.name)), round_.key):
        return RoundRun(False)
    provinces = stages.stale_parts(stages.RoundJob(spec, round_, layout), "validated")
    keys = [str(province_key(round_.key, province)) for province in provinces]
    if run_many is not None and len(keys) > 1:
        done = all(run_many(province_job_name(spec.name), keys))
    else:
        province_job = defs.resolve_job_def(province_job_name(spec.name))
        done = all(execute(province_job, key) for key in keys)
    if not done:
        return RoundRun(False, provinces)
    return RoundRun(execute(defs.resolve_job_def(round_job_name(spec.name)), round_.key), provinces)
