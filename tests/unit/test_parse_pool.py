"""Files parsed in worker processes give the sort exactly what parsing them in its own process gives.

A village round's files (CSV and workbooks, good and hostile, a duplicate) are sorted twice: every file
parsed by the sort itself, then every file in two worker processes, in small batches with little in
flight (so the sort waits on its workers and takes batches back out of turn as they finish). The
records, the parts and their digests are the same. A file that kills the worker parsing it (as a crash
in a reader's C or Rust code would) is rejected and the round goes on. A sort with few bytes to read
starts no worker.
"""

from __future__ import annotations

import os
import shutil

import pyarrow.parquet as pq
import pytest

import registry
import samples.village_profile as generator
from domain.declarations import load_datasets
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines.ingest import parse_pool, provinces
from pipelines.ingest.provinces import SORTED, sort_round

SPEC = load_datasets()["village_profile"]
CRASH = b"CRASH-THIS-WORKER"
REAL_START = parse_pool._start  # in a worker this module is imported afresh: the real one there too
KNOWN = frozenset(registry.provinces()["province_code"].astype(str))


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    landing = tmp_path_factory.mktemp("parse_pool") / "landing" / "2563-10"
    generator.generate(parse_round("2563-10"), landing, provinces=["75", "83"], bad_files=True)
    first = sorted(p for p in landing.iterdir() if p.suffix == ".csv")[0]
    shutil.copy(first, landing / f"copy_of_{first.name}")  # a duplicate: known by its hash, not parsed again
    return landing


def _start_crashing(spec, limits):
    """A worker (this runs in it) whose process ends at once on a file holding CRASH, as a reader's crash ends it."""
    REAL_START(spec, limits)
    parse = parse_pool.parse_file

    def crashing(data, *args):
        if CRASH in data:
            os._exit(70)
        return parse(data, *args)

    parse_pool.parse_file = crashing


def _pooled(monkeypatch) -> None:
    monkeypatch.setattr(parse_pool, "POOL_FROM_BYTES", 0)
    monkeypatch.setattr(parse_pool, "PARSE_WHILE_STARTING", False)  # every file to the workers
    monkeypatch.setattr(parse_pool, "BATCH_BYTES", 20_000)
    monkeypatch.setattr(parse_pool, "IN_FLIGHT_BYTES", 60_000)


def _sort(landing, root, monkeypatch, workers: int):
    monkeypatch.setenv(parse_pool.PARSE_WORKERS, str(workers))
    calls = []
    real = parse_pool.Parsing.__init__

    def counted(self, spec, limits, workers):
        calls.append(workers)
        real(self, spec, limits, workers)

    monkeypatch.setattr(parse_pool.Parsing, "__init__", counted)
    work = WorkArea(root / "work", partitioned=True)
    got = sort_round(SPEC, [landing.parent], root.parent / "archive", work, KNOWN)  # one archive: same records
    return got, work.folder / SORTED, calls


def test_files_parsed_in_worker_processes_sort_exactly_as_files_parsed_here(landing, tmp_path, monkeypatch):
    here, here_folder, calls = _sort(landing, tmp_path / "here", monkeypatch, workers=1)
    assert calls == [0]
    _pooled(monkeypatch)
    pooled, pooled_folder, calls = _sort(landing, tmp_path / "pooled", monkeypatch, workers=2)
    assert calls == [2]

    assert pooled.files.equals(here.files)
    statuses = set(here.files["status"])
    assert {"ok", "rejected", "duplicate"} <= statuses  # the hostile files and the copy went through both ways
    assert {"csv", "xlsx"} <= set(here.files["format"])
    assert pooled.digests == here.digests and pooled.files_read == here.files_read
    parts = sorted(p.name for p in here_folder.glob("[0-9]*.parquet"))
    assert parts == sorted(p.name for p in pooled_folder.glob("[0-9]*.parquet")) and parts
    for name in parts:
        assert pq.read_table(pooled_folder / name).equals(pq.read_table(here_folder / name))


def test_a_file_that_kills_its_worker_is_rejected_and_the_round_goes_on(landing, tmp_path, monkeypatch):
    crashing = tmp_path / "crashing" / "2563-10"
    shutil.copytree(landing, crashing)
    here, _, _ = _sort(crashing, tmp_path / "here", monkeypatch, workers=1)
    read = here.files[(here.files["status"] == "ok") & (here.files["format"] == "csv")]["name"].tolist()
    middle = crashing / read[len(read) // 2].split("/")[-1]
    middle.write_bytes(middle.read_bytes() + CRASH + b"\n")  # a file the sort read well, now deadly to a worker
    _pooled(monkeypatch)
    monkeypatch.setattr(parse_pool, "_start", _start_crashing)
    pooled, _, calls = _sort(crashing, tmp_path / "pooled", monkeypatch, workers=2)
    assert calls == [2]

    name = f"crashing/2563-10/{middle.name}"  # the landing folder's name, then the path in it
    killer = pooled.files.set_index("name").loc[name]
    assert (killer["status"], killer["problem_code"]) == ("rejected", "unreadable_file")
    assert "BrokenProcessPool" in killer["message_en"] and "BrokenProcessPool" in killer["message_th"]
    others = [column for column in here.files.columns if column not in ("archived_as",)]
    assert (
        pooled.files[pooled.files["name"] != name][others]
        .reset_index(drop=True)
        .equals(here.files[here.files["name"] != name][others].reset_index(drop=True))
    )
    assert pooled.files_read == here.files_read - 1


def test_a_sort_with_few_bytes_to_read_starts_no_worker(landing, tmp_path, monkeypatch):
    sorted_once, _, calls = _sort(landing, tmp_path / "sort", monkeypatch, workers=2)
    assert calls == [0]  # a village sample is far below POOL_FROM_BYTES
    assert parse_pool.parse_workers(parse_pool.POOL_FROM_BYTES) == 2
    (landing / "late.csv").write_bytes((landing / sorted(p.name for p in landing.glob("*.csv"))[1]).read_bytes())
    try:
        monkeypatch.setattr(parse_pool, "POOL_FROM_BYTES", 1 << 20)  # what a late file adds is all it reads
        _, _, calls = _sort(landing, tmp_path / "sort", monkeypatch, workers=2)
        assert calls == [0]
        assert provinces._bytes_to_read(provinces.listing([landing.parent]), provinces._known(sorted_once.files)) == (
            (landing / "late.csv").stat().st_size
        )
    finally:
        (landing / "late.csv").unlink()
