"""A round run whole and the same round run province by province, in any order, end in the same tables.

Round A gets every file at once: ``tambon run --workers 2``, its provinces side by side in two
worker processes; the same files through the stages alone validate every province in one pass,
and again part by part in two processes of their own.
Round B gets the same files the way a month really brings them: half first, then the rest, with
one file sent wrong and sent again; its provinces run one run each, in reverse order, and only
those whose files changed. Every published file (CSV and Parquet) and every table of every
province part must then be the same, byte for byte for what is published; the only differences
allowed are those of time and place (revision numbers, the folders, when it ran), which the
comparison leaves out by name.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

import samples.village_profile as generator
from catalog.local import LocalCatalog
from domain.declarations import load_datasets
from domain.layout import Layout
from domain.rounds import parse_round
from domain.work import PART_TABLES, WorkArea
from pipelines import cli, stages
from pipelines.definitions import landing_job_name, province_job_name, round_job_name
from pipelines.ingest.provinces import SORTED, parts_of, parts_to_run
from pipelines.partitions import province_key
from tests.e2e.own_data import own_data_folder

pytestmark = pytest.mark.slow

DATASET = "village_profile"
ROUND = parse_round("2563-10")
PROVINCES = ["75", "21", "47"]


def _published(layout: Layout) -> dict[str, object]:
    """Every data file of each output's latest revision, by output and file name (revision numbers left out):
    a CSV's bytes, a Parquet file's table and metadata but its ``tambon:version`` (which names the revision)."""
    local = LocalCatalog(layout.catalog)
    out = {}
    for pointer in sorted(layout.catalog.glob(f"{DATASET}*/latest.json")):
        output = pointer.parent.name
        folder = layout.catalog / output / local.pointer(output)["latest"]["path"]
        for path in sorted(folder.iterdir()):
            name = f"{output}/{path.name.replace(folder.name, 'rN')}"
            if path.suffix == ".csv":
                out[name] = path.read_bytes()
            elif path.suffix == ".parquet":
                table = pq.read_table(path)
                metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"tambon:version"}
                out[name] = (metadata, table.replace_schema_metadata(None))
    return out


def _parts(layout: Layout) -> dict[str, pd.DataFrame]:
    """Every table of every province part, the data folder's own path (where a file is archived) left out."""
    work = WorkArea(layout.work(DATASET, ROUND), partitioned=True)
    out = {}
    for part in work.parts():
        for name in sorted(PART_TABLES):
            path = work.part(part).path(name)
            if path.exists():
                frame = pd.read_parquet(path)
                if "archived_as" in frame.columns:
                    frame["archived_as"] = frame["archived_as"].str.replace(str(layout.root), "<data>", regex=False)
                out[f"{part}/{name}"] = frame
    return out


def _with(monkeypatch, root: Path):
    monkeypatch.setenv("TAMBON_DATA_DIR", str(root))
    return Layout(root)


def test_a_round_run_whole_equals_the_round_run_province_by_province(tmp_path, monkeypatch):
    from pipelines.definitions import defs

    (tmp_path / "whole").mkdir()
    with own_data_folder(tmp_path / "whole") as whole:
        landing = whole.landing_dir(DATASET, ROUND)
        generator.generate(ROUND, landing, provinces=PROVINCES)
        assert cli.main(["run", "--round", ROUND.be_key, "--dataset", DATASET, "--workers", "2"]) == 0
        expected_published, expected_parts = _published(whole), _parts(whole)
    assert len(expected_parts) >= 6 * 4 and len(expected_published) >= 10  # three provinces and 00, every table

    monkeypatch.delenv("CKAN_URL", raising=False)
    at_once = _with(monkeypatch, tmp_path / "at_once")  # the stages without Dagster: every part validated at once
    shutil.copytree(landing, at_once.landing_dir(DATASET, ROUND))
    job = stages.RoundJob(load_datasets()[DATASET], ROUND, at_once)
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    stages.publish(job, LocalCatalog(at_once.catalog))
    assert _published(at_once) == expected_published
    _assert_same_parts(_parts(at_once), expected_parts)

    in_workers = _with(monkeypatch, tmp_path / "in_workers")  # the stages again: part by part, two processes
    shutil.copytree(landing, in_workers.landing_dir(DATASET, ROUND))
    job = stages.RoundJob(load_datasets()[DATASET], ROUND, in_workers, workers=2)
    with monkeypatch.context() as patched:
        patched.setattr(stages, "ONE_PASS_ROWS", 0)
        for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
            stage(job)
    stages.publish(job, LocalCatalog(in_workers.catalog))
    assert _published(in_workers) == expected_published
    _assert_same_parts(_parts(in_workers), expected_parts)

    stepwise = _with(monkeypatch, tmp_path / "stepwise")
    target = stepwise.landing_dir(DATASET, ROUND)
    target.mkdir(parents=True)
    files = sorted(p for p in landing.rglob("*") if p.is_file())
    instance = dg.DagsterInstance.ephemeral()

    def run(job: str, key: str) -> None:
        assert defs.resolve_job_def(job).execute_in_process(partition_key=key, instance=instance).success

    def month_so_far() -> list[str]:
        """Sort, then each province to run in reverse order, then the nation; the provinces run."""
        run(landing_job_name(DATASET), ROUND.key)
        work = WorkArea(stepwise.work(DATASET, ROUND), partitioned=True)
        provinces = parts_to_run(work, "validated")
        for province in reversed(provinces):
            run(province_job_name(DATASET), str(province_key(ROUND.key, province)))
        run(round_job_name(DATASET), ROUND.key)
        return provinces

    for path in files[::2]:  # the first half of the month's files
        shutil.copy2(path, target / path.relative_to(landing))
    month_so_far()
    for path in files[1::2]:  # the rest, one of them sent wrong first
        shutil.copy2(path, target / path.relative_to(landing))
    wrong = next(p for p in sorted(target.rglob("*.csv")) if p.stat().st_size > 200)
    right = wrong.read_bytes()
    wrong.write_bytes(right[: len(right) // 2])  # cut off halfway
    month_so_far()
    wrong.write_bytes(right)  # sent again, whole: and on time, as the whole round's copy was (timeliness counts it)
    source = landing / wrong.relative_to(target)
    os.utime(wrong, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns))
    again = month_so_far()

    work = WorkArea(stepwise.work(DATASET, ROUND), partitioned=True)
    sorted_files = pd.read_parquet(work.folder / SORTED / "files.parquet").set_index("name")
    home = sorted_files.loc[f"{target.name}/{wrong.relative_to(target).as_posix()}", "home"]
    assert again == [home] and len(parts_of(work)) > 2  # the file sent again re-ran its own province alone
    assert _published(stepwise) == expected_published
    _assert_same_parts(_parts(stepwise), expected_parts)


def _assert_same_parts(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert sorted(got) == sorted(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)
