"""The production Dagster instance (deploy/dagster.postgres.yaml) against a real PostgreSQL.

deploy/postgres.sh starts a throwaway cluster (Debian's packages, installed with apt if
missing) on 127.0.0.1:24388, or $TAMBON_DAGSTER_PG_PORT, and always stops it. A round
of a generated sample province runs through the data team's own command, ``tambon
run``, with DAGSTER_HOME holding only the variant's dagster.yaml; then PostgreSQL is
read directly: the run, its events and materializations, a started schedule, the pool.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from tests.integration import services

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
VARIANT = REPO_ROOT / "deploy" / "dagster.postgres.yaml"
PORT = os.environ.get("TAMBON_DAGSTER_PG_PORT", "24388")
ROUND_BE, ROUND = "2563-10", "2020-10"
PROVINCE = "83"  # Phuket: the smallest province, 155 villages
ASSETS = ("raw_files", "validated", "quarantine", "quality", "aggregates", "published")


@pytest.fixture(scope="module")
def pg_env():
    """DAGSTER_PG_* of a fresh cluster, stopped and removed afterwards (also on failure)."""
    with services.postgres("tambon-dagster-pg", PORT) as env:
        yield env


@pytest.fixture(scope="module")
def env(pg_env, tmp_path_factory):
    """The process environment of a deployment: DAGSTER_HOME with the variant, data elsewhere, no CKAN."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(VARIANT, home / "dagster.yaml")
    values = {**pg_env, "DAGSTER_HOME": str(home), "TAMBON_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    mp = pytest.MonkeyPatch()
    for key, value in values.items():
        mp.setenv(key, value)
    for key in ("CKAN_URL", "CKAN_API_TOKEN", "TAMBON_ALERT_WEBHOOK"):
        mp.delenv(key, raising=False)
    yield dict(os.environ)
    mp.undo()


@pytest.fixture(scope="module")
def instance(env):
    with dg.DagsterInstance.get() as instance:
        yield instance


@pytest.fixture(scope="module")
def sql(pg_env):
    conn = psycopg2.connect(
        host=pg_env["DAGSTER_PG_HOST"],
        port=pg_env["DAGSTER_PG_PORT"],
        user=pg_env["DAGSTER_PG_USER"],
        password=pg_env["DAGSTER_PG_PASSWORD"],
        dbname=pg_env["DAGSTER_PG_DB"],
    )
    conn.autocommit = True

    def query(statement: str, *params) -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall()

    yield query
    conn.close()


def _run(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def tambon_run(env, instance):
    """``tambon sample`` + ``tambon run`` of one province's round, as a deployment would run it."""
    tambon = [sys.executable, "-m", "pipelines.cli"]
    _run(env, *tambon, "sample", "--round", ROUND_BE, "--provinces", PROVINCE)
    start = time.perf_counter()
    result = _run(env, *tambon, "run", "--round", ROUND_BE, "--dataset", "village_profile")
    run_ids = re.findall(r"run id: ([0-9a-f-]{36})", result.stdout)  # landing, each province, the nation
    return {"run_ids": run_ids, "seconds": time.perf_counter() - start, "stdout": result.stdout}


def test_instance_is_backed_by_postgres(instance):
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert not instance.is_ephemeral


def test_runs_are_queued_with_limits(instance):
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    config = instance.get_concurrency_config()  # what dagster-daemon's run queue applies
    queue = config.run_queue_config
    assert queue.max_concurrent_runs == 4
    limits = {limit["key"]: limit for limit in queue.tag_concurrency_limits}
    assert limits["dagster/partition"] == {
        "key": "dagster/partition",
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    }
    assert limits["dagster/backfill"]["limit"] == 2
    assert config.pool_config.default_pool_limit == 1
    assert config.pool_config.pool_granularity.value == "op"
    assert instance.run_monitoring_enabled and instance.run_retries_max_retries == 1


def test_round_runs_and_postgres_holds_its_run_and_events(instance, sql, tambon_run):
    run_ids = tambon_run["run_ids"]
    assert "village_profile" in tambon_run["stdout"] and ROUND in tambon_run["stdout"]
    # the round's runs, as PostgreSQL holds them: its landing, each of its provinces, then the nation
    runs = [sql("SELECT pipeline_name, status, partition FROM runs WHERE run_id = %s", r)[0] for r in run_ids]
    assert runs[0] == ("village_profile_landing", "SUCCESS", ROUND)
    assert runs[-1] == ("village_profile_round", "SUCCESS", ROUND)
    provinces = runs[1:-1]
    assert provinces and {(name, status) for name, status, _ in provinces} == {("village_profile_province", "SUCCESS")}
    assert all(key.endswith(f"|{ROUND}") for _, _, key in provinces), provinces
    run_id = run_ids[-1]
    events = dict(sql("SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s GROUP BY 1", run_id))
    kind = dg.DagsterEventType  # stored by value: RUN_START is "PIPELINE_START"
    assert events[kind.RUN_START.value] == 1 and events[kind.RUN_SUCCESS.value] == 1, events
    assert events[kind.STEP_SUCCESS.value] == events[kind.STEP_START.value] >= 5, events
    assert kind.STEP_FAILURE.value not in events, events
    assert events[kind.ASSET_CHECK_EVALUATION.value] >= 5, events

    def asset_keys(event_type: dg.DagsterEventType) -> set[str]:
        statement = "SELECT asset_key FROM event_logs WHERE run_id = %s AND dagster_event_type = %s"
        return {key for r in run_ids for (key,) in sql(statement, r, event_type.value)}

    materialized = asset_keys(kind.ASSET_MATERIALIZATION)
    assert materialized == asset_keys(kind.ASSET_MATERIALIZATION_PLANNED)
    assert materialized >= {f'["village_profile", "{name}"]' for name in ASSETS}
    assert sql("SELECT count(*) FROM asset_keys WHERE asset_key = %s", '["village_profile", "published"]') == [(1,)]
    # and as Dagster reads it back through the same instance
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    event = instance.get_latest_materialization_event(dg.AssetKey(["village_profile", "published"]))
    assert event.run_id == run_id and event.dagster_event.partition == ROUND


def test_schedule_state_is_stored_in_postgres(env, sql):
    dagster = [sys.executable, "-m", "dagster"]
    # RUNNING by default, which stores nothing: stop, then start, stores the state we read back
    _run(env, *dagster, "schedule", "stop", "village_profile_monthly", "-m", "pipelines.definitions")
    _run(env, *dagster, "schedule", "start", "village_profile_monthly", "-m", "pipelines.definitions")
    rows = sql(
        "SELECT status, instigator_type FROM instigators WHERE instigator_body LIKE %s",
        '%"job_name": "village_profile_monthly"%',
    )
    assert rows == [("RUNNING", "SCHEDULE")]


def test_pool_limits_are_enforced_through_postgres(instance, sql):
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default("ckan")
    assert storage.get_concurrency_info("ckan").slot_count == 1
    assert sql("SELECT count(*) FROM concurrency_slots WHERE concurrency_key = 'ckan' AND NOT deleted") == [(1,)]
    first = storage.claim_concurrency_slot("ckan", "run-a", "village_profile__ckan")
    second = storage.claim_concurrency_slot("ckan", "run-b", "household_survey__ckan")
    assert first.is_claimed and not second.is_claimed  # the second publisher waits for the first
    storage.free_concurrency_slots_for_run("run-a")
    assert storage.claim_concurrency_slot("ckan", "run-b", "household_survey__ckan").is_claimed
    storage.free_concurrency_slots_for_run("run-b")
