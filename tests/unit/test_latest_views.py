"""The analysts' ``_latest`` views keep every province of a complete round while a newer round is being reported.

Two real rounds through the pipeline's stages, against a registry of two provinces (so that
"every expected province" is two): 2563-10 with both, 2563-11 with one (the Sakon Nakhon case
of issue #15, with Phuket standing in for speed). What the rule decides is tested on its own in
test_latest_rule.py; here, that the pipeline writes what the rule needs and the catalog applies it.
"""

from __future__ import annotations

import pytest

from catalog import analyst_db
from catalog.local import LocalCatalog
from domain.declarations import load_datasets
from domain.geography import Geography
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages

PROVINCES = ("75", "83")  # Samut Songkhram and Phuket: the two smallest with tambons enough for a real round
BEFORE_DEADLINE, AFTER_DEADLINE = "2020-11-20", "2020-11-26"  # 2563-11 is due on 25 Nov 2563


def _two_provinces() -> Geography:
    import registry

    villages = registry.load_villages()
    keep = {
        "villages": villages[villages["province_code"].isin(PROVINCES)],
        "tambons": registry.tambons(),
        "amphoes": registry.amphoes(),
        "provinces": registry.provinces(),
    }
    return Geography(**{k: v[v["province_code"].isin(PROVINCES)].reset_index(drop=True) for k, v in keep.items()})


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    import samples.village_profile as generator

    root = tmp_path_factory.mktemp("latest")
    layout, spec = Layout(root), load_datasets()["village_profile"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAMBON_TODAY", BEFORE_DEADLINE)
        for text, provinces in (("2563-10", list(PROVINCES)), ("2563-11", ["83"])):
            round_ = parse_round(text)
            generator.generate(round_, layout.landing_dir(spec.name, round_), provinces=provinces, bad_files=False)
            job = stages.RoundJob(spec, round_, layout, geography_loader=_two_provinces)
            for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
                stage(job)
            stages.publish(job, LocalCatalog(layout.catalog))
    return layout.catalog


def _query(path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{path.as_posix()}' AS tambon (READ_ONLY)")
    con.execute("USE tambon")
    return con.execute(sql).fetchall()


def test_the_pipeline_writes_deadline_and_provinces_reported_with_each_round(catalog):
    pointer = LocalCatalog(catalog).pointer("village_profile")
    assert pointer["rounds"]["2020-10"]["reporting"] == {
        "deadline": "2020-10-25",
        "provinces_expected": list(PROVINCES),
        "provinces_reported": list(PROVINCES),
    }
    assert pointer["rounds"]["2020-11"]["reporting"]["provinces_reported"] == ["83"]
    assert (pointer["latest"]["round"], pointer["newest"]["round"]) == ("2020-10", "2020-11")


def test_latest_views_hold_every_province_of_the_complete_round_while_a_newer_one_is_reported(catalog, monkeypatch):
    monkeypatch.setenv("TAMBON_TODAY", BEFORE_DEADLINE)
    db = analyst_db.build_local(catalog, force=True).path
    for view in ("village_profile_latest", "village_profile_province_latest"):
        assert _query(db, f"SELECT DISTINCT round, province_code FROM {view} ORDER BY ALL") == [
            ("2020-10", code) for code in PROVINCES
        ], view
    # the newer round is published and visible as its own round
    assert _query(db, "SELECT DISTINCT province_code FROM village_profile WHERE round = '2020-11'") == [("83",)]
    assert _query(
        db,
        "SELECT latest_round, newest_round, latest_reason, latest_is_fallback FROM datasets "
        "WHERE name = 'village_profile'",
    ) == [("2020-10", "2020-11", "complete", False)]
    rounds = "SELECT round, is_latest, still_reporting, provinces_reported, provinces_expected, reporting_deadline"
    rounds += " FROM rounds WHERE dataset = 'village_profile' ORDER BY round"
    got = [(*row[:5], row[5].isoformat()) for row in _query(db, rounds)]
    assert got == [("2020-10", True, False, 2, 2, "2020-10-25"), ("2020-11", False, True, 1, 2, "2020-11-25")]
    note = _query(db, "SELECT latest_note_th FROM datasets WHERE name = 'village_profile'")[0][0]
    assert "2563-11" in note and "1 จาก 2 จังหวัด" in note


def test_after_the_deadline_the_newer_round_is_latest_and_the_database_is_rebuilt_for_it(catalog, monkeypatch):
    monkeypatch.setenv("TAMBON_TODAY", BEFORE_DEADLINE)
    before = analyst_db.build_local(catalog, force=True)
    monkeypatch.setenv("TAMBON_TODAY", AFTER_DEADLINE)
    after = analyst_db.build_local(catalog)  # no new publish: the pick alone changes the content
    assert after.written and after.fingerprint != before.fingerprint
    assert _query(after.path, "SELECT DISTINCT round, province_code FROM village_profile_latest") == [("2020-11", "83")]
    reason = "SELECT latest_reason FROM datasets WHERE name = 'village_profile'"
    assert _query(after.path, reason) == [("past_deadline",)]
