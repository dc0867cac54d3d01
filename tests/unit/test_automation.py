"""The data team's month: new files request the right round; after the deadline, exactly the silent tambons."""

import datetime as dt
import json
import os

import dagster as dg
import pytest

import registry
import samples.village_profile as generator
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages
from pipelines.automation import landing_sensor
from pipelines.deadlines import late_or_missing, reporting_deadline


def _evaluate(sensor, cursor=None):
    """One tick on an instance with no materialization yet: every round with files is new to it."""
    from pipelines.definitions import defs

    return sensor.evaluate_tick(
        dg.build_sensor_context(cursor=cursor, definitions=defs, instance=dg.DagsterInstance.ephemeral())
    )


def test_new_file_requests_its_round_then_a_late_correction_requests_the_old_round(tmp_path, monkeypatch, village_spec):
    monkeypatch.setenv("TAMBON_DATA_DIR", str(tmp_path))
    layout = Layout(tmp_path)
    sensor = landing_sensor(village_spec, "village_profile_round")
    assert _evaluate(sensor).run_requests == []

    october = layout.landing_dir("village_profile", parse_round("2563-10"))
    october.mkdir(parents=True)
    (october / "a.csv").write_text("x", encoding="utf-8")
    first = _evaluate(sensor)
    assert [r.partition_key for r in first.run_requests] == ["2020-10"]

    november = tmp_path / "landing" / "village_profile" / "2020-11"  # Gregorian folder names work too
    november.mkdir()
    (november / "b.csv").write_text("y", encoding="utf-8")
    second = _evaluate(sensor, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2020-11"]
    assert _evaluate(sensor, second.cursor).run_requests == []  # nothing new, nothing requested

    (october / "a.csv").write_text("corrected", encoding="utf-8")  # a late correction to the old round
    os.utime(october / "a.csv", ns=(1, 10**18))
    late = _evaluate(sensor, second.cursor)
    assert [r.partition_key for r in late.run_requests] == ["2020-10"]
    assert late.run_requests[0].run_key != first.run_requests[0].run_key


@pytest.fixture(scope="module")
def sample_round(tmp_path_factory, village_spec):
    root = tmp_path_factory.mktemp("deadline")
    round_ = parse_round("2563-10")
    layout = Layout(root)
    landing = layout.landing_dir("village_profile", round_)
    generator.generate(round_, landing, provinces=["21"])
    job = stages.RoundJob(village_spec, round_, layout)
    for stage in (stages.ingest, stages.validate, stages.quality):
        stage(job)
    truth = json.loads((landing.parent / f"{landing.name}.truth.json").read_text(encoding="utf-8"))
    return job, truth


def test_past_the_deadline_exactly_the_tambons_that_did_not_report_are_listed(sample_round, village_spec):
    job, truth = sample_round
    quality = job.work.read("quality")
    deadline = reporting_deadline(village_spec, job.round)
    assert deadline == dt.date(2020, 10, 25)
    assert late_or_missing(village_spec, job.round, quality, deadline).empty  # on the day: nobody late yet
    late = set(late_or_missing(village_spec, job.round, quality, deadline + dt.timedelta(days=1))["area_code"])
    sent = {f["tambon_code"] for f in truth["files"] if f["rows"] and not f["bad_kind"]}
    expected = set(registry.tambons()["tambon_code"]) - sent
    assert late == expected
    assert set(truth["silent_tambons"]) <= late and len(truth["silent_tambons"]) > 0


def test_published_assets_expect_freshness_after_the_deadline():
    import dagster as dg

    from pipelines.definitions import build_definitions

    defs = build_definitions()
    key = dg.AssetKey(["village_profile", "published"])
    policy = defs.resolve_assets_def(key).specs_by_key[key].freshness_policy
    assert policy.deadline_cron == "0 12 26 * *" and policy.timezone == "Asia/Bangkok"
    assert policy.lower_bound_delta.days == 25  # any publication since the 1st of the month counts
