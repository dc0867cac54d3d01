"""A run killed at any stage re-runs to a clean run's catalog and leaves no litter; two runs at once take turns.

Each run is the real CLI in its own process (``tests/killpoint.py`` kills it with SIGKILL
at the chosen rename). The catalog is compared file by file with a clean run's: the same
files, the same Parquet and CSV bytes, the same pointers and packages once their times
are set aside.

The scenarios run two at a time (``PARALLEL``), each in its own data folder: every run is its own
process, and a kill test spends most of its time waiting for two of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from domain.declarations import REPO_ROOT
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import cli
from pipelines.leftovers import temporary_files

pytestmark = pytest.mark.slow

ROUND = parse_round("2563-10")
DATASET = "village_profile"
PROVINCE = "96"  # Narathiwat: a small province, faults and an unreadable file included
TIMES = {"created", "published_at"}  # when it was written, not what was written
PARALLEL = 2  # scenarios at once (CI has two cores)

# (where to kill, after the rename?): one point inside each stage, at a rename (the worst moment)
KILL_POINTS = {
    "ingest": (r"/archive/.*\.tmp$", False),
    "ingest_rows": (r"received\.parquet", False),
    "validate": (r"quarantine\.parquet", False),
    "quality": (r"/quality\.parquet", False),
    "aggregate": (r"aggregate_tambon\.parquet", False),
    "correction_workbooks": (r"/offices/.*\.xlsx", False),
    "publish_staged": (r"\.staging-r1-", False),
    "publish_before_pointer": (r"\.staging-r1-", True),  # r1 in place, latest.json not yet written
    "analysts_database": (r"tambon_catalog\.duckdb", False),
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Path:
    """A sample round's landing folder (files as offices sent them), generated once."""
    root = tmp_path_factory.mktemp("landed")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root / "data"))
    assert cli.main(["sample", "--round", ROUND.be_key, "--dataset", DATASET, "--provinces", PROVINCE]) == 0
    mp.undo()
    return root / "data" / "landing"


def _fresh(root: Path, landed: Path) -> Path:
    """A new data folder holding the landed files (modification times kept: they are arrival times)."""
    shutil.copytree(landed, root / "data" / "landing", copy_function=shutil.copy2)
    (root / "dagster").mkdir()
    return root


def _start(root: Path, kill_at: tuple[str, bool] | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CKAN_", "TAMBON_KILL"))}
    env |= {"TAMBON_DATA_DIR": str(root / "data"), "DAGSTER_HOME": str(root / "dagster"), "TAMBON_PROGRESS": "1"}
    if kill_at:
        env |= {"TAMBON_KILL_AT": kill_at[0], "TAMBON_KILL_AFTER": "1" if kill_at[1] else "0"}
    command = [sys.executable, "-m", "tests.killpoint", "run", "--round", ROUND.be_key, "--dataset", DATASET]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(root: Path, kill_at: tuple[str, bool] | None = None) -> tuple[int, str, str]:
    process = _start(root, kill_at)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def _without_times(value):
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def snapshot(catalog: Path) -> dict[str, str]:
    """Every published file by catalog path: bytes for data files, content without times for JSON.

    The analysts' database is rebuilt from the packages every publish: it is compared by presence.
    """
    files = {}
    for path in sorted(p for p in catalog.rglob("*") if p.is_file()):
        name = path.relative_to(catalog).as_posix()
        if path.suffix == ".json":
            content = json.dumps(_without_times(json.loads(path.read_text(encoding="utf-8"))), sort_keys=True)
            files[name] = hashlib.sha256(content.encode()).hexdigest()
        elif path.suffix == ".duckdb":
            files[name] = "present"
        else:
            files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@dataclass(frozen=True)
class Outcome:
    """What a killed run and its re-run left: return codes, the re-run's output, the catalog, the litter."""

    killed_rc: int
    killed_err: str
    rc: int
    out: str
    err: str
    catalog: dict[str, str]
    litter: list[Path]


def _kill_and_rerun(root: Path, landed: Path, kill_at: tuple[str, bool]) -> Outcome:
    _fresh(root, landed)
    killed_rc, _, killed_err = _run(root, kill_at)
    rc, out, err = _run(root)
    layout = Layout(root / "data")
    return Outcome(killed_rc, killed_err, rc, out, err, snapshot(layout.catalog), temporary_files(layout.root))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, landed) -> dict[str, Outcome]:
    """Every kill scenario, run ``PARALLEL`` at a time."""
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {
            stage: pool.submit(_kill_and_rerun, tmp_path_factory.mktemp(f"killed_{stage}"), landed, kill_at)
            for stage, kill_at in KILL_POINTS.items()
        }
        return {stage: future.result() for stage, future in futures.items()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory, landed) -> dict[str, str]:
    root = _fresh(tmp_path_factory.mktemp("clean"), landed)
    rc, _, err = _run(root)
    assert rc == 0, err
    assert "Traceback" not in err
    published = snapshot(Layout(root / "data").catalog)
    assert any(name.endswith(".parquet") for name in published)
    return published


@pytest.mark.parametrize("stage", list(KILL_POINTS))
def test_a_run_killed_at_each_stage_reruns_to_the_clean_catalog_with_no_litter(outcomes, clean, stage):
    outcome = outcomes[stage]
    assert outcome.killed_rc == -signal.SIGKILL, (
        f"the kill point of {stage} was never reached:\n{outcome.killed_err[-2000:]}"
    )
    assert outcome.rc == 0, outcome.err[-3000:]
    assert "เผยแพร่ฉบับใหม่" in outcome.out
    assert outcome.catalog == clean
    assert outcome.litter == []


def test_two_runs_of_the_same_round_at_once_take_turns_and_each_reports_its_own(tmp_path, landed, clean):
    root = _fresh(tmp_path, landed)
    first, second = _start(root), _start(root)
    outcomes = [p.communicate(timeout=300) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outcomes
    waited = [err for _, err in outcomes if "waiting for the run of village_profile 2020-10" in err]
    assert len(waited) == 1, "exactly one run waits for the other"
    news = sorted(out.split("เผยแพร่ฉบับใหม่ ")[1].split(" ")[0] for out, _ in outcomes)
    assert news[0] == "0" and int(news[1]) > 0  # the one that waited found everything already published
    layout = Layout(root / "data")
    assert snapshot(layout.catalog) == clean
    assert temporary_files(layout.root) == []
