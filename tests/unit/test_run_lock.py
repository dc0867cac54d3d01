"""One run per dataset and round: another process waits, a kill -9 frees the round, leftovers are swept."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import run_lock
from pipelines.leftovers import temporary_files
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


@pytest.fixture
def other_process(tmp_path):
    """Another process holding village_profile 2563-10 in ``tmp_path``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def _in_thread(target) -> tuple[threading.Thread, dict]:
    state: dict = {}

    def run() -> None:
        state["result"] = target()
        state["done_at"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, state


def test_a_second_holder_waits_until_the_first_is_killed(tmp_path, other_process):
    layout, said = Layout(tmp_path), []

    def take() -> bool:
        with run_lock.hold(layout, "village_profile", ROUND, on_wait=said.append):
            return run_lock.held(layout, "village_profile", ROUND)

    thread, state = _in_thread(take)
    time.sleep(1.0)
    assert "result" not in state, "the round was taken while another process held it"
    assert len(said) == 1 and f"pid {other_process.pid}" in said[0] and "waiting" in said[0] and "รอ" in said[0]
    killed_at = time.monotonic()
    other_process.send_signal(signal.SIGKILL)  # the kernel releases the flock of a killed process
    thread.join(10)
    assert state["result"] is True and state["done_at"] - killed_at < 5


def test_other_rounds_and_datasets_are_not_held(tmp_path, other_process):
    layout = Layout(tmp_path)
    with run_lock.hold(layout, "village_profile", parse_round("2563-11"), on_wait=pytest.fail):
        pass
    with run_lock.hold(layout, "household_survey", ROUND, on_wait=pytest.fail):
        pass


def test_a_hold_is_reentrant_within_a_process_and_released_at_the_outer_end(tmp_path):
    layout = Layout(tmp_path)
    with run_lock.hold(layout, "village_profile", ROUND):
        with run_lock.hold(layout, "village_profile", ROUND) as removed:
            assert removed == []
        assert run_lock.held(layout, "village_profile", ROUND)
    assert not run_lock.held(layout, "village_profile", ROUND)
    probe = subprocess.run(  # another process gets it at once
        [sys.executable, "-c", HOLDER.replace("time.sleep(60)", "pass"), str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stdout.strip() == "held"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_taking_a_round_sweeps_what_killed_runs_left_and_spares_live_writers(tmp_path):
    layout = Layout(tmp_path)
    dead, alive = _dead_pid(), os.getppid()
    work = layout.work("village_profile", ROUND)
    reports = layout.reports("village_profile", ROUND)
    litter = [
        work / f".received.parquet.{dead}.tmp",
        work / f".validate.{alive}.tmp" / "part.parquet",  # the round's own folder: any process's goes
        work / "spill" / "duckdb_temp_storage-0.tmp",
        reports / f".quality_report.html.{alive}.tmp",  # the round's own folder: any process's goes
        layout.catalog / "village_profile_quality" / "2020-10" / f".quality_report.html.{dead}.tmp",
        layout.catalog / f".tambon_catalog.duckdb.{dead}.tmp",
        layout.catalog / f".tambon_catalog.duckdb.{dead}.tmp.wal",
        layout.catalog / "village_profile" / f".latest.json.{dead}.tmp",
        layout.catalog / "village_profile" / "2020-10" / f".staging-r2-{dead}" / "x.csv",
        layout.archive / "ab" / f".abc.csv.{dead}.tmp",
    ]
    spared = [
        layout.catalog / f".tambon_catalog.duckdb.{alive}.tmp",  # another dataset's run, writing now
        layout.catalog / "household_survey_tambon" / "2020-10" / f".staging-r1-{alive}" / "x.csv",
        work / "received.parquet",
        layout.catalog / "village_profile" / "latest.json",
    ]
    for path in litter + spared:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    with run_lock.hold(layout, "village_profile", ROUND) as removed:
        assert removed
    for path in litter:
        assert not path.exists(), path
    for path in spared:
        assert path.exists(), path
    left = {p.name for p in temporary_files(tmp_path)}
    assert left == {f".tambon_catalog.duckdb.{alive}.tmp", f".staging-r1-{alive}"}


def test_a_dagster_run_waits_for_the_round_and_holds_it_to_its_end(tmp_path, other_process):
    """The resource every asset takes its round from: the run waits while another process holds it."""
    steps: list[str] = []

    @dg.asset(partitions_def=dg.MonthlyPartitionsDefinition(start_date="2020-10", fmt="%Y-%m"))
    def first(context: dg.AssetExecutionContext, locks: RunLocks) -> None:
        locks.hold("village_profile", parse_round(context.partition_key))
        steps.append("first")

    @dg.asset(deps=[first], partitions_def=first.partitions_def)
    def second(context: dg.AssetExecutionContext, locks: RunLocks) -> None:
        steps.append(f"second:{run_lock.held(Layout(tmp_path), 'village_profile', ROUND)}")

    def run() -> bool:
        return dg.materialize(
            [first, second], partition_key=ROUND.key, resources={"locks": RunLocks(data_dir=str(tmp_path))}
        ).success

    thread, state = _in_thread(run)
    time.sleep(1.5)
    assert steps == [], "the run went ahead while another process held the round"
    other_process.send_signal(signal.SIGKILL)
    thread.join(30)
    assert state["result"] is True
    assert steps == ["first", "second:True"]  # still held by the run in its second step
    assert not run_lock.held(Layout(tmp_path), "village_profile", ROUND)  # released when the run ended


# -- every executor: the run's orchestrator holds the lock for its run, the steps join it -------------------------
JOINER = """
import sys
from pathlib import Path
from pipelines import run_lock
from domain.layout import Layout
with run_lock.join(Layout(Path(sys.argv[1])), "village_profile", sys.argv[2], sys.argv[3]) as removed:
    print("joined", run_lock.held(Layout(Path(sys.argv[1])), "village_profile", sys.argv[2]), flush=True)
"""

RUN_HOLDER = """
import sys, time
from pathlib import Path
from pipelines import run_lock
from domain.layout import Layout
with run_lock.hold(Layout(Path(sys.argv[1])), "village_profile", sys.argv[2], run_id=sys.argv[3]):
    print("held", flush=True)
    time.sleep(60)
"""


def _join_in_subprocess(tmp_path: Path, key: str, run_id: str) -> str:
    """A step of ``run_id`` in a process of its own: what it printed once it got past the lock (15 s at most)."""
    done = subprocess.run(
        [sys.executable, "-c", JOINER, str(tmp_path), key, run_id],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def other_run(tmp_path):
    """Another process orchestrating run ``run-b`` of village_profile 2020-10 in ``tmp_path``."""
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_HOLDER, str(tmp_path), ROUND.key, "run-b"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_step_in_its_own_process_goes_ahead_while_its_run_holds_the_lock(tmp_path):
    """Multiprocess and Celery: the orchestrator holds the round for run-a; the step (another process) neither
    waits for it (that would deadlock: the orchestrator waits for the step) nor takes it."""
    layout = Layout(tmp_path)
    with run_lock.hold(layout, "village_profile", ROUND, run_id="run-a"):
        assert run_lock.holder(run_lock.lock_path(layout, "village_profile", ROUND))["run_id"] == "run-a"
        started = time.monotonic()
        assert _join_in_subprocess(tmp_path, ROUND.key, "run-a") == "joined False"
        assert time.monotonic() - started < 10


def test_the_cli_takes_the_round_first_and_its_run_names_itself_when_it_starts(tmp_path):
    """``tambon run`` holds the round before the run exists; the run, orchestrated in the same process, takes it
    again with its id, so its steps elsewhere recognise it; the CLI keeps the round after the run."""
    layout = Layout(tmp_path)
    path = run_lock.lock_path(layout, "village_profile", ROUND)
    with run_lock.hold(layout, "village_profile", ROUND):
        assert "run_id" not in run_lock.holder(path)
        with run_lock.hold(layout, "village_profile", ROUND, run_id="run-a") as removed:
            assert removed == []
            assert _join_in_subprocess(tmp_path, ROUND.key, "run-a") == "joined False"
        assert run_lock.held(layout, "village_profile", ROUND)
    assert not run_lock.held(layout, "village_profile", ROUND)


def test_a_step_of_another_run_waits_until_that_run_is_killed(tmp_path, other_run):
    layout, said = Layout(tmp_path), []

    def take() -> bool:
        with run_lock.join(layout, "village_profile", ROUND, "run-a", on_wait=said.append, poll=0.05):
            return run_lock.held(layout, "village_profile", ROUND)

    thread, state = _in_thread(take)
    time.sleep(1.0)
    assert "result" not in state, "a step went ahead while another run held the round"
    assert len(said) == 1 and f"pid {other_run.pid}" in said[0] and "run run-b" in said[0] and "รอ" in said[0]
    killed_at = time.monotonic()
    other_run.send_signal(signal.SIGKILL)  # a killed orchestrator leaves nothing held
    thread.join(10)
    assert state["result"] is True and state["done_at"] - killed_at < 5  # free: the step took it itself


def test_sibling_steps_never_wait_for_each_other_when_no_orchestrator_holds_the_lock(tmp_path):
    """A run whose orchestrator holds nothing: its first step takes the lock, a sibling step in another process
    sees the lock held for its own run and goes ahead (two steps of one run never block each other)."""
    layout = Layout(tmp_path)
    with run_lock.join(layout, "village_profile", ROUND, "run-a") as removed:
        assert removed == [] and run_lock.held(layout, "village_profile", ROUND)
        assert run_lock.holder(run_lock.lock_path(layout, "village_profile", ROUND))["run_id"] == "run-a"
        assert _join_in_subprocess(tmp_path, ROUND.key, "run-a") == "joined False"
    assert not run_lock.held(layout, "village_profile", ROUND)


def test_a_partition_key_that_is_not_a_round_has_its_own_lock_and_sweeps_nothing(tmp_path):
    """``2020-10|47`` (a round and a province): its own file, never shared with ``2020-10`` or ``2020-10_47``;
    the round's folders are not its own (other provinces of the round write there), so nothing is swept."""
    layout = Layout(tmp_path)
    key = f"{ROUND.key}|47"
    paths = {run_lock.lock_path(layout, "village_profile", k) for k in (key, ROUND.key, f"{ROUND.key}_47", ROUND)}
    assert (
        len(paths) == 3 and run_lock.lock_path(layout, "village_profile", ROUND).name == "village_profile__2020-10.lock"
    )
    litter = layout.work("village_profile", ROUND) / f".received.parquet.{_dead_pid()}.tmp"
    litter.parent.mkdir(parents=True)
    litter.write_text("x")
    with run_lock.hold(layout, "village_profile", key, run_id="run-a") as removed:
        assert removed == [] and litter.exists()
        assert not run_lock.held(layout, "village_profile", ROUND)
        assert _join_in_subprocess(tmp_path, key, "run-a") == "joined False"
    with run_lock.hold(layout, "village_profile", ROUND) as removed:  # the round's own lock does sweep
        assert removed == [litter]


STEP = """
import sys, time
from pathlib import Path
from pipelines import run_lock
from domain.layout import Layout
with run_lock.join(Layout(Path(sys.argv[1])), "village_profile", sys.argv[2], sys.argv[3]):
    print("joined", flush=True)
    time.sleep(float(sys.argv[4]))
    print(f"done {time.time()}", flush=True)
"""


def test_a_step_still_running_after_its_run_was_killed_keeps_the_next_run_waiting(tmp_path):
    """The orchestrator of run-a is killed (its lock is free at once) while one of its steps still works in a worker:
    the next holder waits for that step to end, so the two runs' work never overlaps."""
    layout, said = Layout(tmp_path), []
    orchestrator = subprocess.Popen(
        [sys.executable, "-c", RUN_HOLDER, str(tmp_path), ROUND.key, "run-a"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    step = subprocess.Popen(
        [sys.executable, "-c", STEP, str(tmp_path), ROUND.key, "run-a", "3"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert orchestrator.stdout.readline().strip() == "held"
        assert step.stdout.readline().strip() == "joined"
        orchestrator.send_signal(signal.SIGKILL)
        orchestrator.wait()

        asked: list[float] = []

        def take() -> float:
            asked.append(time.time())
            with run_lock.hold(layout, "village_profile", ROUND, on_wait=said.append, run_id="run-b"):
                return time.time()

        thread, state = _in_thread(take)
        step_done = float(step.stdout.readline().split()[1])
        thread.join(10)
    finally:
        for process in (orchestrator, step):
            process.kill()
            process.wait()
    assert state["result"] >= step_done, "the next run started while a step of the killed run was still working"
    if asked[0] < step_done:  # it asked while the step worked (a loaded machine may start it later): it waited
        assert len(said) == 1 and "interrupted" in said[0] and "ถูกหยุดกลางคัน" in said[0]
