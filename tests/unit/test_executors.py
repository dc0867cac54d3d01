"""The executor is chosen by configuration, and whichever it is, runs of one dataset and round never interleave.

The run below goes through Dagster's multiprocess executor as ``pipelines/executors.py`` configures it (each step
a process of its own, two of them side by side), the way ``tambon run`` launches it with ``execute_job``: the
orchestrator (this process) holds the round for the run, the steps join it, another run's holder makes the whole
run wait, and a killed holder frees it. The Celery executor goes through the same wrapper; its round with real
workers is tests/integration/test_celery_round.py.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableJob

from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import executors, run_lock
from pipelines.resources import RunLocks

ROUND = parse_round("2563-10")
REPO = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from pathlib import Path
from pipelines import run_lock
from domain.layout import Layout
from domain.rounds import parse_round
with run_lock.hold(Layout(Path(sys.argv[1])), "village_profile", parse_round("2563-10")):
    print("held", flush=True)
    time.sleep(60)
"""


def test_the_executor_is_chosen_by_the_environment():
    assert executors.chosen({}) == "in_process"
    assert executors.chosen({"TAMBON_EXECUTOR": "Multiprocess"}) == "multiprocess"
    assert executors.executor_def({"TAMBON_EXECUTOR": "celery", "TAMBON_CELERY_BROKER": "redis://x:1/0"}).name == (
        "celery"
    )
    assert executors.celery_settings({"TAMBON_CELERY_BROKER": "redis://x:1/0"}) == {
        "broker": "redis://x:1/0",
        "backend": "redis://x:1/0",
    }
    with pytest.raises(executors.ExecutorSettingError, match="in_process, multiprocess, celery") as error:
        executors.chosen({"TAMBON_EXECUTOR": "k8s"})
    assert error.value.message_th.startswith("TAMBON_EXECUTOR")
    with pytest.raises(executors.ExecutorSettingError, match="TAMBON_CELERY_BROKER"):
        executors.executor_def({"TAMBON_EXECUTOR": "celery"})


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"TAMBON_EXECUTOR": "kubernetes"}, "in_process, multiprocess, celery"),
        ({"TAMBON_EXECUTOR": "celery"}, "TAMBON_CELERY_BROKER"),
    ],
)
def test_tambon_run_refuses_an_executor_setting_that_cannot_work_in_thai_and_english(tmp_path, settings, said):
    """Before any work, exit 2 (a mistake in the command's settings), no traceback."""
    (tmp_path / "landing" / "village_profile" / "2563-10").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAMBON_", "CKAN_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--round", "2563-10", "--dataset", "village_profile"],
        env={**env, "TAMBON_DATA_DIR": str(tmp_path), **settings},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    english = [i for i, line in enumerate(lines) if said in line and not re.search("[\u0e00-\u0e7f]", line)]
    assert english and english[0] > 0, done.stderr
    thai = lines[english[0] - 1]  # Thai first, English beside it on the next line
    assert re.search("[\u0e00-\u0e7f]", thai) and "TAMBON_EXECUTOR" in thai, done.stderr
    assert "Traceback" not in done.stderr


def _record(context: dg.AssetExecutionContext, locks, name: str, other: str | None = None) -> None:
    """Take the round as every asset does, then write down who ran the step and who held the round.

    ``other``: the sibling step this one waits to see started (60 s at most) while it is itself started: they
    meet only if they run side by side, however slowly their processes start on a loaded machine.
    """
    locks.hold("village_profile", parse_round(context.partition_key))
    root = locks.layout.root
    (root / f"{name}.started").touch()
    deadline = time.monotonic() + 60
    while other and not (root / f"{other}.started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    path = run_lock.lock_path(locks.layout, "village_profile", parse_round(context.partition_key))
    record = {
        "pid": os.getpid(),
        "met": other is None or (root / f"{other}.started").exists(),
        "held_here": run_lock.held(locks.layout, "village_profile", parse_round(context.partition_key)),
        "holder": run_lock.holder(path),
    }
    (root / f"{name}.json").write_text(json.dumps(record))


def lock_job() -> dg.JobDefinition:
    """first -> (left, right): two steps that can run side by side, with the multiprocess executor. Keyed under
    ``village_profile`` as a dataset's assets are: the orchestrator takes the locks named by its assets' keys."""
    partitions = dg.MonthlyPartitionsDefinition(start_date="2020-10", fmt="%Y-%m")

    @dg.asset(partitions_def=partitions, key_prefix="village_profile")
    def first(context: dg.AssetExecutionContext, locks: RunLocks) -> None:
        _record(context, locks, "first")

    @dg.asset(deps=[first], partitions_def=partitions, key_prefix="village_profile")
    def left(context: dg.AssetExecutionContext, locks: RunLocks) -> None:
        _record(context, locks, "left", other="right")

    @dg.asset(deps=[first], partitions_def=partitions, key_prefix="village_profile")
    def right(context: dg.AssetExecutionContext, locks: RunLocks) -> None:
        _record(context, locks, "right", other="left")

    return dg.Definitions(
        assets=[first, left, right],
        jobs=[dg.define_asset_job("locks_round")],
        resources={"locks": RunLocks()},
        executor=executors.executor_def({"TAMBON_EXECUTOR": "multiprocess"}),
    ).resolve_job_def("locks_round")


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield instance


def _launch(instance: dg.DagsterInstance, data: Path) -> tuple[threading.Thread, dict]:
    """``tambon run``'s way of launching a run out of process, in a thread of this (the orchestrating) process."""
    state: dict = {}

    def run() -> None:
        result = dg.execute_job(
            ReconstructableJob.for_file(__file__, "lock_job"),
            instance=instance,
            tags={"dagster/partition": ROUND.key},
            run_config={"resources": {"locks": {"config": {"data_dir": str(data)}}}},
        )
        state.update(success=result.success, run_id=result.run_id)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, state


def _steps(data: Path) -> dict[str, dict]:
    return {name: json.loads((data / f"{name}.json").read_text()) for name in ("first", "left", "right")}


def _check_steps(steps: dict[str, dict], run_id: str) -> None:
    pids = {step["pid"] for step in steps.values()}
    assert os.getpid() not in pids and len(pids) == 3, "each step in a process of its own"
    assert steps["left"]["met"] and steps["right"]["met"], "the two independent steps did not run side by side"
    for step in steps.values():  # joined the orchestrator's hold: held nothing themselves, saw the run's id
        assert step["held_here"] is False and step["holder"]["run_id"] == run_id
        assert step["holder"]["pid"] == str(os.getpid())


def test_a_multiprocess_run_waits_for_another_holder_of_the_round_and_goes_on_when_it_is_killed(tmp_path, instance):
    data = tmp_path / "data"
    data.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(data)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        thread, state = _launch(instance, data)
        time.sleep(4)
        assert not list(data.glob("*.started")), "a step ran while another process held the round"
        holder.send_signal(signal.SIGKILL)
        thread.join(120)
    finally:
        holder.kill()
        holder.wait()
    assert state.get("success") is True, state
    _check_steps(_steps(data), state["run_id"])
    assert not run_lock.held(Layout(data), "village_profile", ROUND)  # released when the run ended


def test_the_cli_holding_the_round_around_a_multiprocess_run_does_not_deadlock_its_steps(tmp_path, instance):
    """``tambon run`` takes the round before launching: the run re-enters it in the same process, naming itself."""
    data = tmp_path / "data"
    with run_lock.hold(Layout(data), "village_profile", ROUND):
        thread, state = _launch(instance, data)
        thread.join(120)
        assert state.get("success") is True, f"the run did not end within 120 s (deadlock?): {state}"
        assert run_lock.held(Layout(data), "village_profile", ROUND)  # still the CLI's, until it has printed
    _check_steps(_steps(data), state["run_id"])
