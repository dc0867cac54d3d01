"""A dataset's round run in-process through its three Dagster jobs, as ``tambon run`` does (``pipelines.round_run``)."""

from __future__ import annotations

import dagster as dg

from domain.declarations import load_datasets
from domain.layout import Layout
from domain.rounds import Round
from pipelines.round_run import run_round


def run_in_process(
    defs: dg.Definitions, dataset: str, round_: Round, instance: dg.DagsterInstance, **options
) -> list[dg.ExecuteInProcessResult]:
    """Every run of the round (landing, each province, the nation), results in order; the last is the nation's
    when every earlier run succeeded."""
    results: list[dg.ExecuteInProcessResult] = []

    def execute(job: dg.JobDefinition, key: str) -> bool:
        results.append(job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False, **options))
        return results[-1].success

    run_round(defs, load_datasets()[dataset], round_, Layout.from_env(), execute)
    return results
