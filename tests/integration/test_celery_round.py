"""A round through Celery workers publishes the same catalog as the round in process.

The test starts everything itself, on 127.0.0.1 only, and always stops it: Redis as the broker
(deploy/redis.sh, port ``$TAMBON_TEST_CELERY_REDIS_PORT``, default 63811), PostgreSQL for the Dagster
instance that the workers write their step events to (deploy/postgres.sh with deploy/dagster.postgres.yaml,
port ``$TAMBON_TEST_CELERY_PG_PORT``, default 24411) and two Celery workers (``celery -A
pipelines.celery_worker worker``, one process each, as docs/scaling.md says to run them). Then the data
team's own command runs one small round twice from the same landed files (Samut Songkhram, the village
profile): ``TAMBON_EXECUTOR=celery tambon run`` into one data folder, plain ``tambon run`` (in process) into
another. The published catalogs must be the same, and the Celery run's steps must have run in both
workers' processes, never in the command's.

The workers are given a third, empty data folder as their own ``TAMBON_DATA_DIR``: the run's config names
its data folder, so steps follow the run, not the worker's environment; the folder must stay empty.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import run_lock
from tests.integration import services

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
VARIANT = REPO_ROOT / "deploy" / "dagster.postgres.yaml"
REDIS_PORT = os.environ.get("TAMBON_TEST_CELERY_REDIS_PORT", "63811")
PG_PORT = os.environ.get("TAMBON_TEST_CELERY_PG_PORT", "24411")
ROUND = parse_round("2563-10")
PROVINCE = "75"  # Samut Songkhram: the smallest province, a quick round
WORKERS = ("tambon-test-w1", "tambon-test-w2")
TAMBON = [sys.executable, "-m", "pipelines.cli"]
# docs/scaling.md's worker command (``.venv/bin/celery`` is this interpreter's ``-m celery``), one pool process each
WORKER_COMMAND = [sys.executable, "-m", "celery", "-A", "pipelines.celery_worker", "worker", "-Q", "dagster"]
WORKER_COMMAND += ["--concurrency", "1", "--loglevel", "INFO"]

# What legitimately differs between two publications of the same round, and nothing else:
#  * the clock: a revision's ``created`` and the pointer's ``published_at`` (datapackage.json, latest.json, the
#    DuckDB ``rounds`` table) and the analysts' database's ``built_at`` say when it was published: the two runs
#    publish a minute apart. Only these are date-times with a time of day; data dates are plain dates.
#  * the data folder: the analysts' DuckDB file holds views and a ``rounds`` table over the catalog's absolute
#    paths (catalog/analyst_db.py, ``build_local``), so each names its own folder.
#  * the DuckDB file's bytes, and its ``fingerprint`` (a hash over the entries, publication times and absolute
#    paths included): its content is compared table by table and view by view instead.
PUBLISHED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")
#  * the day the latest-round rule was judged on (``latest.json``'s ``judged_on``): the two runs may fall either
#    side of midnight.
JUDGED_ON = re.compile(r'"judged_on": "\d{4}-\d{2}-\d{2}"')


@pytest.fixture(scope="module")
def broker() -> Iterator[dict[str, str]]:
    with services.redis("tambon-celery-redis", REDIS_PORT) as env:
        yield env


@pytest.fixture(scope="module")
def pg_env() -> Iterator[dict[str, str]]:
    with services.postgres("tambon-celery-pg", PG_PORT) as env:
        yield env


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """The Dagster home (the PostgreSQL variant) and the three data folders; the same landed files in two."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(VARIANT, home / "dagster.yaml")
    root = tmp_path_factory.mktemp("celery_round")
    folders = {"home": home, **{name: root / name for name in ("celery", "in_process", "workers_own")}}
    for name in ("celery", "in_process", "workers_own"):
        folders[name].mkdir()
    return folders


def _env(pg_env: dict[str, str], home: Path, **values: str) -> dict[str, str]:
    """A deployment's environment: the instance in PostgreSQL, no CKAN, no alerts, no executor unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CKAN_", "TAMBON_", "DAGSTER_"))}
    return {**env, **pg_env, "DAGSTER_HOME": str(home), **values}


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started (a prefork worker's pool), from /proc."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(child) for child in text.split()}


@pytest.fixture(scope="module")
def workers(broker, pg_env, folders) -> Iterator[dict[str, subprocess.Popen]]:
    """Two Celery workers, one pool process each, started as docs/scaling.md says; stopped (their whole process
    group) at the end, also on failure."""
    env = _env(
        pg_env,
        folders["home"],
        **broker,
        TAMBON_EXECUTOR="celery",
        TAMBON_DATA_DIR=str(folders["workers_own"]),
    )
    started: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    try:
        for name in WORKERS:
            logs[name] = folders["home"] / f"{name}.log"
            with logs[name].open("w") as log:
                started[name] = subprocess.Popen(
                    [*WORKER_COMMAND, "-n", f"{name}@%h"],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: the pool goes with it at the end
                )
        deadline = time.monotonic() + 90
        for name, process in started.items():
            while f"{name}@" not in logs[name].read_text() or " ready." not in logs[name].read_text():
                tail = logs[name].read_text()[-3000:]
                assert process.poll() is None, f"Celery worker {name} exited ({process.returncode}):\n{tail}"
                assert time.monotonic() < deadline, f"Celery worker {name} not ready after 90 s:\n{tail}"
                time.sleep(0.3)
        yield started
    finally:
        for process in started.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # warm shutdown
        for process in started.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _tambon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([*TAMBON, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"tambon {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result


def _run_ids(result: subprocess.CompletedProcess) -> list[str]:
    """Every run of the round (its landing, each province, the nation's last), as the command printed them."""
    found = re.findall(r"run id: ([0-9a-f-]{36})", result.stdout)
    assert len(found) >= 3, result.stdout
    return found


@pytest.fixture(scope="module")
def rounds(broker, pg_env, folders, workers) -> dict[str, object]:
    """The sample round landed once and copied (with its files' times: on-time figures read them), then run
    through the Celery workers and in process; the worker pool processes as they were after the runs."""
    celery, in_process = folders["celery"], folders["in_process"]
    sample = ("sample", "--round", ROUND.be_key, "--dataset", "village_profile", "--provinces", PROVINCE)
    _tambon(_env(pg_env, folders["home"], TAMBON_DATA_DIR=str(celery)), *sample)
    shutil.copytree(celery / "landing", in_process / "landing")  # copy2: modification times kept
    run = ("run", "--round", ROUND.be_key, "--dataset", "village_profile")
    started = time.perf_counter()
    by_celery = _tambon(  # two provinces side by side (--workers 2): their steps meet on the two workers
        _env(pg_env, folders["home"], **broker, TAMBON_EXECUTOR="celery", TAMBON_DATA_DIR=str(celery)),
        *run,
        "--workers",
        "2",
    )
    celery_seconds = time.perf_counter() - started
    started = time.perf_counter()
    here = _tambon(_env(pg_env, folders["home"], TAMBON_DATA_DIR=str(in_process)), *run)
    print(f"celery round {celery_seconds:.1f} s, in-process round {time.perf_counter() - started:.1f} s")
    pools = {name: _children(process.pid) for name, process in workers.items()}
    return {"celery": _run_ids(by_celery), "in_process": _run_ids(here), "pools": pools}


def _step_runs(pg_env: dict[str, str], home: Path, run_ids: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Per step of every run (``<run>/<step>``): the pid that ran it (its STEP_START event) and the Celery worker
    that took it (engine event)."""
    pids, workers = {}, {}
    saved = dict(os.environ)
    os.environ.update({**pg_env, "DAGSTER_HOME": str(home)})
    try:
        with dg.DagsterInstance.get() as instance:
            for run_id in run_ids:
                for record in instance.all_logs(run_id):
                    event = record.dagster_event
                    if event is None:
                        continue
                    step = f"{run_id[:8]}/{event.step_key}"
                    if event.event_type == dg.DagsterEventType.STEP_START:
                        pids[step] = event.pid
                    data = event.engine_event_data if event.event_type == dg.DagsterEventType.ENGINE_EVENT else None
                    if data is not None and "Celery worker" in data.metadata:
                        workers[step] = data.metadata["Celery worker"].value
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return pids, workers


def test_the_celery_run_ran_its_steps_on_both_workers(pg_env, folders, rounds):
    pids, taken_by = _step_runs(pg_env, folders["home"], rounds["celery"])
    assert len(pids) >= 6 and set(taken_by) == set(pids), (pids, taken_by)  # every step through a worker
    assert {worker.split("@")[0] for worker in taken_by.values()} == set(WORKERS), taken_by
    pools = rounds["pools"]
    for step, pid in pids.items():  # and in that worker's own pool process
        worker = taken_by[step].split("@")[0]
        assert pid in pools[worker], f"{step} ran in pid {pid}, not in {worker}'s pool {pools[worker]}"
    # the command orchestrated the run and held the round for it (pipelines/run_lock.py): the lock names the run
    lock = run_lock.lock_path(Layout(folders["celery"]), "village_profile", ROUND)
    assert run_lock.holder(lock)["run_id"] == rounds["celery"][-1]  # the nation's run, the round's last


def test_the_in_process_run_used_no_worker(pg_env, folders, rounds):
    pids, taken_by = _step_runs(pg_env, folders["home"], rounds["in_process"])
    assert len(pids) >= 6 and taken_by == {} and len(set(pids.values())) == 1, (pids, taken_by)


def test_steps_worked_on_the_runs_data_folder_not_the_workers_own(folders, rounds):
    assert not any(folders["workers_own"].iterdir())


def _normalised_json(path: Path, root: Path) -> object:
    text = JUDGED_ON.sub('"judged_on": "<day>"', path.read_text(encoding="utf-8"))
    return json.loads(PUBLISHED_AT.sub("<published>", text.replace(str(root), "<data>")))


def _database(path: Path, root: Path) -> dict[str, list[str]]:
    """Every table and view of the analysts' database: rows (sorted) and view definitions, normalised."""

    def clean(value: object) -> str:
        return PUBLISHED_AT.sub("<published>", repr(value).replace(str(root), "<data>"))

    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [n for (n,) in con.sql("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        names += [
            n for (n,) in con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1").fetchall()
        ]
        content = {name: sorted(clean(row) for row in con.sql(f'SELECT * FROM "{name}"').fetchall()) for name in names}
        content["catalog_info"] = [row for row in content["catalog_info"] if "'fingerprint'" not in row]
        content["(views)"] = sorted(
            clean(sql) for (sql,) in con.sql("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()
        )
    finally:
        con.close()
    return content


def test_both_runs_published_the_same_catalog(folders, rounds):
    left_root, right_root = folders["celery"], folders["in_process"]
    left, right = left_root / "catalog", right_root / "catalog"
    files = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file())
    assert len([f for f in files if f.suffix == ".parquet"]) >= 5, files  # a round was published, not nothing
    compared = {"bytes": 0, "json": 0}
    for relative in files:
        if relative.name == "tambon_catalog.duckdb":
            assert _database(left / relative, left_root) == _database(right / relative, right_root)
        elif relative.suffix == ".json":
            assert _normalised_json(left / relative, left_root) == _normalised_json(right / relative, right_root), (
                relative
            )
            compared["json"] += 1
        else:
            assert (left / relative).read_bytes() == (right / relative).read_bytes(), relative
            compared["bytes"] += 1
    assert compared["bytes"] >= 10 and compared["json"] >= 10, compared
