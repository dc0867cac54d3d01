"""The "latest" rule (catalog/latest.py): a round still being reported never silently replaces a complete one.

The rule is applied in three places (the local pointer and index, the analysts' catalog, the CKAN
latest links); here the rule itself, the pointer, and the CKAN links' target and description.
The analysts' ``_latest`` views over real rounds are in test_latest_views.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from catalog.ckan_publish import CkanPublisher
from catalog.latest import RULE, RoundStatus, latest_round, pick_from_pointer, pick_latest, reporting_metadata
from catalog.local import LocalCatalog
from catalog.outputs import Output
from domain.rounds import parse_round

EXPECTED = ("47", "75", "84")  # three provinces expected (a registry subset)
OCTOBER, NOVEMBER = "2020-10", "2020-11"
NOV_DEADLINE = dt.date(2020, 11, 25)


def _status(round_: str, reported: tuple[str, ...], deadline: dt.date) -> RoundStatus:
    return RoundStatus.from_metadata(round_, reporting_metadata(deadline, EXPECTED, reported))


COMPLETE_OCTOBER = _status(OCTOBER, EXPECTED, dt.date(2020, 10, 25))
SAKON_NAKHON_NOVEMBER = _status(NOVEMBER, ("47",), NOV_DEADLINE)


# -- the rule ------------------------------------------------------------------------------------------------------
def test_a_newer_round_with_one_province_before_its_deadline_does_not_replace_the_complete_one():
    pick = pick_latest([COMPLETE_OCTOBER, SAKON_NAKHON_NOVEMBER], today=dt.date(2020, 11, 20))
    assert (pick.round, pick.newest, pick.reason, pick.fallback) == (OCTOBER, NOVEMBER, "complete", False)
    assert [s.round for s in pick.pending] == [NOVEMBER]
    note = pick.note()
    assert "2563-11" in note["th"] and "1 จาก 3 จังหวัด" in note["th"] and "25 พ.ย. 2563" in note["th"]
    assert "1 of 3 provinces" in note["en"] and "not the latest yet" in note["en"]


def test_on_the_deadline_day_the_round_is_still_open_and_after_it_the_newer_round_is_latest():
    rounds = [COMPLETE_OCTOBER, SAKON_NAKHON_NOVEMBER]
    assert pick_latest(rounds, today=NOV_DEADLINE).round == OCTOBER  # offices may still send on the 25th
    pick = pick_latest(rounds, today=NOV_DEADLINE + dt.timedelta(days=1))
    assert (pick.round, pick.reason, pick.fallback, pick.pending) == (NOVEMBER, "past_deadline", False, ())
    assert "1 จาก 3 จังหวัด" in pick.note()["th"]  # past the deadline, and it says how few reported


def test_a_newer_complete_round_is_latest_before_its_deadline():
    complete_november = _status(NOVEMBER, EXPECTED, NOV_DEADLINE)
    pick = pick_latest([COMPLETE_OCTOBER, complete_november], today=dt.date(2020, 11, 3))
    assert (pick.round, pick.reason, pick.fallback) == (NOVEMBER, "complete", False)


def test_when_no_round_qualifies_the_newest_is_used_and_flagged():
    early_october = _status(OCTOBER, ("75",), dt.date(2020, 10, 25))
    pick = pick_latest([SAKON_NAKHON_NOVEMBER, early_october], today=dt.date(2020, 10, 20))
    assert (pick.round, pick.reason, pick.fallback) == (NOVEMBER, "fallback_newest", True)
    assert "ยังไม่มีรอบใด" in pick.note()["th"] and "no round" in pick.note()["en"]


def test_a_round_without_reporting_information_has_nothing_to_wait_for():
    """Rounds published before the rule, or outputs with no reporting window: the newest is latest, as before."""
    pick = pick_latest([RoundStatus(OCTOBER), RoundStatus(NOVEMBER)], today=dt.date(2020, 11, 1))
    assert (pick.round, pick.reason, pick.fallback) == (NOVEMBER, "no_reporting_window", False)


def test_provinces_outside_the_expected_ones_do_not_make_a_round_complete():
    stray = RoundStatus.from_metadata(NOVEMBER, reporting_metadata(NOV_DEADLINE, EXPECTED, ("47", "75", "10")))
    assert not stray.complete and stray.coverage == (2, 3) and stray.missing == ["84"]


def test_the_rule_says_itself_thai_first():
    assert "รอบล่าสุด" in RULE["th"] and "กำหนดส่ง" in RULE["th"] and "จังหวัด" in RULE["th"]
    assert "deadline" in RULE["en"] and "every province" in RULE["en"]


# -- the local pointer ---------------------------------------------------------------------------------------------
SCHEMA = {
    "fields": [
        {"name": "round", "type": "string"},
        {"name": "province_code", "type": "string"},
        {"name": "villages", "type": "integer"},
    ],
    "primaryKey": ["round", "province_code"],
    "missingValues": [""],
}


def _table(round_: str, provinces: tuple[str, ...], villages: int = 10) -> Output:
    frame = pd.DataFrame({"round": round_, "province_code": list(provinces), "villages": villages})
    return Output("demo", "statistics", {"th": "ทดสอบ", "en": "Test"}, {"th": "ก", "en": "a"}, SCHEMA, frame)


def _publish(catalog: LocalCatalog, round_: str, provinces: tuple[str, ...], today: dt.date, villages: int = 10):
    key = parse_round(round_)
    reporting = reporting_metadata(dt.date(key.year, key.month, 25), EXPECTED, provinces)
    return catalog.publish(_table(round_, provinces, villages), key, {}, reporting, today=today)


def test_the_pointer_keeps_the_newest_for_the_publisher_and_the_latest_for_readers(tmp_path):
    catalog = LocalCatalog(tmp_path)
    day = dt.date(2020, 11, 20)
    _publish(catalog, OCTOBER, EXPECTED, day)
    _publish(catalog, NOVEMBER, ("47",), day)
    pointer = catalog.pointer("demo")
    assert pointer["newest"]["round"] == NOVEMBER and pointer["latest"]["round"] == OCTOBER
    assert pointer["latest_rule"]["still_reporting"] == [NOVEMBER]
    assert pointer["rounds"][NOVEMBER]["reporting"]["provinces_reported"] == ["47"]
    package = json.loads((tmp_path / "demo" / pointer["newest"]["path"] / "datapackage.json").read_text("utf-8"))
    assert package["tambon:reporting"]["deadline"] == "2020-11-25"  # the immutable revision says it too
    # a correction of the round still being reported is a new revision of it, exactly as before
    again = _publish(catalog, NOVEMBER, ("47",), day, villages=11)
    assert again.revision == 2 and catalog.pointer("demo")["newest"]["path"] == f"{NOVEMBER}/r2"
    assert catalog.pointer("demo")["latest"]["round"] == OCTOBER
    # what a front page asks, decided on the day it asks
    assert latest_round(tmp_path, "demo", today=day).round == OCTOBER
    assert latest_round(tmp_path, "demo", today=dt.date(2020, 11, 26)).round == NOVEMBER


def test_the_index_decides_latest_when_it_is_written(tmp_path, monkeypatch):
    catalog = LocalCatalog(tmp_path)
    _publish(catalog, OCTOBER, EXPECTED, dt.date(2020, 11, 20))
    _publish(catalog, NOVEMBER, ("47",), dt.date(2020, 11, 20))
    monkeypatch.setenv("TAMBON_TODAY", "2020-11-26")  # the deadline has passed since the last publish
    index = json.loads(catalog.write_index().read_text("utf-8"))["datasets"]["demo"]
    assert index["latest"]["round"] == NOVEMBER and index["latest_rule"]["reason"] == "past_deadline"


# -- the CKAN latest links -----------------------------------------------------------------------------------------
def _resource(round_: str, fmt: str) -> dict:
    return {
        "id": f"{round_}-{fmt}",
        "name": f"demo {round_} r1 · {fmt}",
        "url": f"http://ckan/{round_}/{fmt}",
        "role": "revision",
        "round": round_,
        "revision": "1",
        "file_format": fmt,
    }


@pytest.mark.parametrize(("today", "shown"), [(dt.date(2020, 11, 20), OCTOBER), (dt.date(2020, 11, 26), NOVEMBER)])
def test_the_ckan_latest_links_follow_the_rule_and_say_it(tmp_path, today, shown):
    catalog = LocalCatalog(tmp_path)
    _publish(catalog, OCTOBER, EXPECTED, today)
    _publish(catalog, NOVEMBER, ("47",), today)
    pointer = catalog.pointer("demo")
    rounds = [{"round": key, **pointer["rounds"][key]} for key in sorted(pointer["rounds"])]
    resources = [_resource(r, f) for r in (OCTOBER, NOVEMBER) for f in ("csv", "parquet", "datapackage")]
    by_key = {(r["round"], 1, r["file_format"]): r for r in resources}
    package = {"resources": resources}
    pick = pick_from_pointer(pointer, today)
    desired = CkanPublisher(None, catalog)._desired(package, {"name": "demo"}, rounds, by_key, pick)
    latest = {r["file_format"]: r for r in desired["resources"] if r.get("role") == "latest"}
    assert {fmt: r["url"] for fmt, r in latest.items()} == {
        fmt: f"http://ckan/{shown}/{fmt}" for fmt in ("csv", "parquet", "datapackage")
    }
    description = latest["csv"]["description"]
    assert description.index(RULE["th"]) < description.index(RULE["en"])  # Thai first, English beside
    assert ("รอบ 2563-11 ยังรับรายงานอยู่" in description) == (shown == OCTOBER)  # the round still open is named
