"""The landing sensor never re-runs a round whose files were already ingested, and reads files only to confirm.

A real ``village_profile/landed`` materialization on a SQLite instance (the project's
kind) is what the sensor compares with; ``sha256_file`` is wrapped to count the files
the sensor reads, so "cheap test first" is measured, not assumed.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pytest

from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import automation

OCTOBER = parse_round("2563-10")
LANDED = dg.AssetKey(["village_profile", "landed"])


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """A data folder with October's files: two in the B.E. folder (one in a subfolder), one in the Gregorian one."""
    root = tmp_path / "data"
    monkeypatch.setenv("TAMBON_DATA_DIR", str(root))
    landing = root / "landing" / "village_profile"
    files = {
        "2563-10/a.csv": "village_code,village_no\n75010101,1\n",
        "2563-10/amphoe 1/b.csv": "village_code,village_no\n75010102,2\n",
        "2020-10/c.csv": "village_code,village_no\n75010103,3\n",
    }
    for name, text in files.items():
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text(text, encoding="utf-8")
    (landing / "2563-10" / ".~lock.a.csv#").write_text("x", encoding="utf-8")  # hidden: ingest skips it too
    return root


@pytest.fixture
def defs():
    from pipelines.definitions import build_definitions

    return build_definitions()


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    real = dg.DagsterInstance.local_temp(str(home))
    yield real
    real.dispose()


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """Names of the files the sensor reads to hash, in order."""
    read: list[str] = []
    original = automation.sha256_file

    def counting(path: Path) -> str:
        read.append(path.name)
        return original(path)

    monkeypatch.setattr(automation, "sha256_file", counting)
    return read


def ingest(defs, instance, partition: str = "2020-10") -> dict:
    """Materialize ``landed``, as a round's run does first; returns its metadata."""
    job = defs.resolve_job_def("village_profile_landing")
    result = job.execute_in_process(partition_key=partition, instance=instance)
    assert result.success
    return automation.last_ingest_metadata(instance, "village_profile", partition)


def tick(defs, instance, cursor: str | None = None):
    sensor = defs.resolve_sensor_def("village_profile_new_files")
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))


def touch(path: Path, seconds: int = 3600) -> None:
    """A later modification time, same bytes (a copy, a restore from backup)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 10**9))


def test_raw_files_records_what_it_ingested(defs, instance, data):
    metadata = ingest(defs, instance)
    listing = automation.landed_files(Layout(data), "village_profile", OCTOBER)
    assert sorted(listing) == ["2020-10/c.csv", "2563-10/a.csv", "2563-10/amphoe 1/b.csv"]
    assert metadata["landing_fingerprint"].value == automation.listing_fingerprint(listing)
    assert metadata["landed_files"].value == {name: [size, mtime] for name, (size, mtime) in listing.items()}
    assert set(metadata["file_hashes"].value) == set(listing)
    assert metadata["content_fingerprint"].value == automation.content_fingerprint(metadata["file_hashes"].value)


def test_fresh_sensor_after_a_processed_round_requests_nothing_and_reads_nothing(defs, instance, data, hashed):
    ingest(defs, instance)  # `make demo` ran the round
    first = tick(defs, instance)  # `make ui`: the sensor's cursor is empty
    assert first.run_requests == [] and hashed == []
    assert tick(defs, instance, first.cursor).run_requests == [] and hashed == []


def test_a_touched_file_is_hashed_once_to_confirm_and_not_rerun(defs, instance, data, hashed):
    ingest(defs, instance)
    start = tick(defs, instance)
    touch(data / "landing" / "village_profile" / "2563-10" / "a.csv")
    touched = tick(defs, instance, start.cursor)
    assert touched.run_requests == [] and hashed == ["a.csv"]  # only the file whose mtime moved
    assert tick(defs, instance, touched.cursor).run_requests == [] and hashed == ["a.csv"]  # the cursor holds


def test_new_content_of_the_same_size_reruns_the_round(defs, instance, data, hashed):
    ingest(defs, instance)
    start = tick(defs, instance)
    path = data / "landing" / "village_profile" / "2563-10" / "a.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("75010101", "75010109"), encoding="utf-8")
    touch(path)
    changed = tick(defs, instance, start.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2020-10"] and hashed == ["a.csv"]
    assert changed.run_requests[0].run_key.startswith("2020-10:")
    assert changed.run_requests[0].tags["trigger"] == "new_files"


def test_another_size_a_new_file_or_a_removed_file_reruns_without_reading(defs, instance, data, hashed):
    ingest(defs, instance)
    landing = data / "landing" / "village_profile"
    for change in (
        lambda: (landing / "2020-10" / "c.csv").write_text("village_code\n75010103\n", encoding="utf-8"),
        lambda: (landing / "2563-10" / "late.csv").write_text("village_code\n75010104\n", encoding="utf-8"),
        lambda: (landing / "2563-10" / "amphoe 1" / "b.csv").unlink(),
    ):
        before = tick(defs, instance)
        change()
        after = tick(defs, instance, before.cursor)
        assert [r.partition_key for r in after.run_requests] == ["2020-10"]
        ingest(defs, instance)  # the run it requested
        assert tick(defs, instance).run_requests == []  # and after that run, nothing more
    assert hashed == []


def test_a_round_never_ingested_is_requested_without_reading_its_files(defs, instance, data, hashed):
    ingest(defs, instance)
    november = data / "landing" / "village_profile" / "2563-11"
    november.mkdir()
    (november / "d.csv").write_text("village_code\n75010101\n", encoding="utf-8")
    result = tick(defs, instance)
    assert [r.partition_key for r in result.run_requests] == ["2020-11"] and hashed == []


def test_folders_ingest_does_not_read_are_not_rounds_to_run(defs, instance, data):
    ingest(defs, instance)
    for name in ("2563.10", "2563-10-old", "notes"):  # 2563.10 parses as a round, but ingest reads 2563-10 only
        (data / "landing" / "village_profile" / name).mkdir()
        (data / "landing" / "village_profile" / name / "x.csv").write_text("y", encoding="utf-8")
    assert tick(defs, instance).run_requests == []


def test_materialization_of_before_this_change_is_confirmed_by_content(data, hashed):
    """Metadata with ``file_hashes`` only (what runs before this change recorded): every file is hashed once."""
    base = data / "landing" / "village_profile"
    listing = automation.landed_files(Layout(data), "village_profile", OCTOBER)
    old = {"file_hashes": {name: automation.sha256_file(base / name) for name in listing}}
    hashed.clear()
    assert not automation.changed_since_ingest(listing, old, base.joinpath, automation.sha256_file)
    assert sorted(hashed) == ["a.csv", "b.csv", "c.csv"]
    old["file_hashes"]["2563-10/a.csv"] = "0" * 64
    assert automation.changed_since_ingest(listing, old, base.joinpath, automation.sha256_file)


def test_landing_sensor_is_running_by_default(defs):
    sensor = defs.resolve_sensor_def("village_profile_new_files")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.minimum_interval_seconds == 60


def test_every_schedule_and_sensor_starts_running(defs):
    schedules = list(defs.schedules or [])
    assert {s.name for s in schedules} >= {
        "village_profile_monthly",
        "household_survey_monthly",
        "scorecards_round_monthly",
    }
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in schedules)
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in defs.sensors or [])


def bangkok(year: int, month: int, day: int, hour: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def test_monthly_schedule_runs_the_month_after_its_deadline(defs, instance, data):
    schedule = defs.resolve_schedule_def("village_profile_monthly")
    assert schedule.cron_schedule == "0 6 26 * *" and schedule.execution_timezone == "Asia/Bangkok"
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=bangkok(2020, 10, 26, 6), repository_def=defs.get_repository_def()
    )
    result = schedule.evaluate_tick(context)
    assert [r.partition_key for r in result.run_requests] == ["2020-10"]
    assert result.run_requests[0].tags["trigger"] == "monthly"


def test_monthly_schedule_skips_a_month_with_no_files_and_says_why(defs, instance, data):
    schedule = defs.resolve_schedule_def("village_profile_monthly")
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=bangkok(2020, 11, 26, 6), repository_def=defs.get_repository_def()
    )
    result = schedule.evaluate_tick(context)
    assert result.run_requests == [] or result.run_requests is None
    assert "2563-11" in result.skip_message and "no files for round 2020-11" in result.skip_message


def test_a_file_that_cannot_be_read_to_confirm_counts_as_changed(data):
    """The sensor does not fail its tick on an unreadable file: the run it requests records the problem."""
    base = data / "landing" / "village_profile"
    listing = automation.landed_files(Layout(data), "village_profile", OCTOBER)
    recorded = {name: [size, mtime - 1] for name, (size, mtime) in listing.items()}  # same sizes, older mtimes
    metadata = {"file_hashes": dict.fromkeys(listing, "0" * 64), "landed_files": recorded}

    def unreadable(path: Path) -> str:
        raise PermissionError(path)

    assert automation.changed_since_ingest(listing, metadata, base.joinpath, unreadable)
