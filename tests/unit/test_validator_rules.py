"""The SQL rule kinds, the citizen-id check, duplicates and the round entry point, on hand-made rows."""

from __future__ import annotations

import dataclasses
import random
import re

import duckdb
import pandas as pd
import pytest

from domain.declarations import load_datasets
from domain.rounds import parse_round
from domain.work import WorkArea
from validation.custom_checks import CHECKS, citizen_id_valid
from validation.run import choose_engine, validate_frame, validate_round

ROUND = parse_round("2563-10")


def _citizen_id(prefix: str) -> str:
    return next(prefix + d for d in "0123456789" if citizen_id_valid(prefix + d))


CITIZEN = _citizen_id("310010012345")
HOUSEHOLD = {
    "household_id": "840101010001", "village_code": "84010101", "survey_date": "2020-10-15", "house_no": "12/3",
    "head_citizen_id": CITIZEN, "head_name": "นายสมชาย ใจดี", "members": "4", "members_male": "2",
    "members_female": "2", "children_6_14": "1", "children_6_14_in_school": "1", "elderly_60_plus": "1",
    "elderly_cared": "1", "disabled": "1", "disabled_cared": "0", "income_main": "120000", "income_secondary": "0",
    "income_other": "5000.50", "income_own_produce": "0", "head_occupation": "เกษตรกรรม",
    "drinking_water_all_year": "ใช่", "housing_secure": "ไม่มี", "welfare_card": "มี", "recorded_by": "TST-1",
}  # fmt: skip
FAULTS = [
    ({"household_id": "840102010002"}, "prefix_mismatch"),
    ({"children_6_14_in_school": "2"}, "sum_exceeds"),
    ({"elderly_cared": "3", "members": "4"}, "sum_exceeds"),
    ({"children_6_14": "3", "elderly_60_plus": "2", "children_6_14_in_school": "0", "elderly_cared": "0"},
     "sum_exceeds"),
    ({"members_male": "3"}, "sum_mismatch"),
    ({"village_code": "84010109", "household_id": "840101090002"}, "unknown_code"),
    ({"survey_date": "2020-11-01"}, "date_outside_round"),
    ({"head_citizen_id": CITIZEN[:12] + str((int(CITIZEN[12]) + 1) % 10)}, "invalid_checksum"),
    ({"members": "0"}, "below_minimum"),
]  # fmt: skip


@pytest.fixture(scope="module")
def household_spec():
    return load_datasets()["household_survey"]


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["_file"], frame["_sheet"], frame["_row"] = "f" * 64, "", range(2, len(rows) + 2)
    return frame


def test_citizen_id_check_digit():
    assert citizen_id_valid(CITIZEN) and not citizen_id_valid(CITIZEN[:12] + str((int(CITIZEN[12]) + 1) % 10))
    assert not citizen_id_valid("๑" * 13) and not citizen_id_valid(CITIZEN[:12]) and not citizen_id_valid("")


def test_citizen_id_sql_agrees_with_python():
    rng = random.Random(13)
    values = ["".join(rng.choice("0123456789") for _ in range(13)) for _ in range(3000)]
    values += ["0" + v[1:] for v in values[:300]]  # a leading zero: the number has 12 digits
    values += [CITIZEN, CITIZEN + "0", CITIZEN[:12], "๑" * 13, "a" * 13, "", " " + CITIZEN[:12], "1e12" + "0" * 9]
    check = CHECKS["thai_citizen_id"]
    con = duckdb.connect()
    con.register("ids", pd.DataFrame({"v": values}))
    expected = [citizen_id_valid(v) for v in values]
    for prepared in (None, "n"):  # the check alone, and given the number computed once (the fast path)
        invalid = con.execute(f"SELECT {check.invalid_sql('v', prepared)} FROM (SELECT v, "
                              f"{check.prepare_sql('v')} AS n FROM ids)").fetchall()  # fmt: skip
        assert [not bad for (bad,) in invalid] == expected
    assert 220 < sum(expected) < 440  # one in ten random numbers is valid
    assert all(re.fullmatch(check.implies_pattern, v) for v, valid in zip(values, expected, strict=True) if valid)


@pytest.mark.parametrize("engine", ["frictionless", "duckdb"])
@pytest.mark.parametrize(("change", "code"), FAULTS, ids=[f"{c}-{i}" for i, (_, c) in enumerate(FAULTS)])
def test_household_fault_is_caught_by_its_rule(household_spec, small_geography, change, code, engine):
    result = validate_frame(
        _frame([HOUSEHOLD, {**HOUSEHOLD, "household_id": "840101010002", **change}]),
        household_spec,
        ROUND,
        small_geography,
        {},
        engine,
    )
    assert result.findings["_row_id"].unique().tolist() == [1]
    assert code in result.findings["code"].tolist(), result.findings[["field", "code", "detail"]]
    assert len(result.accepted) == 1 and len(result.quarantine) == 1
    assert result.findings["message_th"].str.len().min() > 0 and result.findings["message_en"].str.len().min() > 0
    assert "{" not in "".join(result.findings["message_en"]) and "\ue000" not in "".join(result.findings["message_en"])


def test_both_engines_write_the_same_tables(household_spec, small_geography):
    rows = [{**HOUSEHOLD, "household_id": f"8401010100{i:02d}", **change} for i, (change, _) in enumerate(FAULTS)]
    rows += [HOUSEHOLD, {**HOUSEHOLD, "household_id": "840101019999", "members": "+4", "income_main": "1_000"}]
    rows[-1]["survey_date"] = "2020-10-1"
    frame = _frame(rows)
    one = validate_frame(frame, household_spec, ROUND, small_geography, {}, "frictionless")
    two = validate_frame(frame, household_spec, ROUND, small_geography, {}, "duckdb")
    for name in ("accepted", "quarantine", "findings"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), obj=name)
    accepted = two.accepted.set_index("_row_id")
    assert accepted.loc[len(rows) - 1, "members"] == 4 and accepted.loc[len(rows) - 1, "income_main"] == 1000.0
    assert accepted.loc[len(rows) - 1, "survey_date"].isoformat() == "2020-10-01"


def test_accepted_is_typed_and_quarantine_keeps_the_text(household_spec, small_geography, tmp_path):
    work = WorkArea(tmp_path)
    work.write("received", _frame([HOUSEHOLD, {**HOUSEHOLD, "household_id": "840101010002", "members": "x"}]))
    counts = validate_round(work, household_spec, ROUND, small_geography, {}, engine="duckdb")
    assert counts["rows_received"] == 2 and counts["rows_accepted"] == 1 and counts["rows_quarantined"] == 1
    assert counts["findings_by_code"] == {"wrong_type": 1} and counts["engine"] == "duckdb"
    types = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{work.path('accepted')}'").fetchall()}
    assert (types["members"], types["income_main"], types["survey_date"], types["welfare_card"]) == (
        "BIGINT",
        "DOUBLE",
        "DATE",
        "BOOLEAN",
    )
    assert types["_row_id"] == "BIGINT" and types["head_name"] == "VARCHAR"
    quarantine = work.read("quarantine")
    assert quarantine.loc[0, "members"] == "x" and quarantine.loc[0, "codes"] == "wrong_type"
    assert quarantine.columns[0] == "_row_id" and list(quarantine.columns[-3:]) == ["codes", "reasons_th", "reasons_en"]


def test_row_ids_come_from_the_file_or_else_its_row_positions(household_spec, small_geography, tmp_path):
    bad = {**HOUSEHOLD, "household_id": "840101010002", "members": "x"}
    work = WorkArea(tmp_path / "a")
    work.write("received", _frame([HOUSEHOLD, bad]))
    validate_round(work, household_spec, ROUND, small_geography, {}, engine="duckdb")
    assert work.read("findings")["_row_id"].tolist() == [1]
    work = WorkArea(tmp_path / "b")
    work.write("received", _frame([HOUSEHOLD, bad]).assign(_row_id=[70, 40]))
    validate_round(work, household_spec, ROUND, small_geography, {}, engine="frictionless")
    assert work.read("findings")["_row_id"].tolist() == [40]
    assert work.read("accepted")["_row_id"].tolist() == [70]


def test_duplicates_prefer_latest_then_fuller_then_file_then_row(household_spec, small_geography):
    base = {**HOUSEHOLD, "recorded_by": None}
    rows = [
        {**base, "survey_date": "2020-10-03"},
        {**base, "survey_date": "2020-10-20"},  # latest: kept
        {**base, "survey_date": "2020-10-25", "members": "x"},  # broken: never competes
        {**base, "household_id": "840101010009"},
        {**base, "household_id": "840101010009", "recorded_by": "TST-2"},  # more filled: kept
        {**base, "household_id": "840101010007"},
        {**base, "household_id": "840101010007"},
    ]
    frame = _frame(rows)
    frame.loc[5, "_file"], frame.loc[6, "_file"] = "b" * 64, "a" * 64  # the file whose SHA-256 sorts first wins
    result = validate_frame(frame, household_spec, ROUND, small_geography, {"a" * 64: "tambon_a.csv"}, "duckdb")
    codes = result.findings.groupby("_row_id")["code"].apply(set).to_dict()
    assert codes == {0: {"duplicate_row"}, 2: {"wrong_type"}, 3: {"duplicate_row"}, 5: {"duplicate_row"}}
    details = result.findings.set_index("_row_id")["detail"]
    assert details[0] == f"{'f' * 64} #3" and details[3] == f"{'f' * 64} #6" and details[5] == "tambon_a.csv #8"


@pytest.mark.parametrize(
    ("level", "good", "bad"),
    [("tambon", "840102", "840109"), ("amphoe", "8401", "8402"), ("province", "84", "85")],
)
def test_registry_member_at_district_levels(household_spec, small_geography, level, good, bad):
    spec = dataclasses.replace(household_spec, rules=[{"rule": "registry_member", "field": "house_no", "level": level}])
    rows = [{**HOUSEHOLD, "house_no": good}, {**HOUSEHOLD, "household_id": "840101010002", "house_no": bad}]
    result = validate_frame(_frame(rows), spec, ROUND, small_geography, {}, "duckdb")
    assert result.findings[["_row_id", "code"]].values.tolist() == [[1, f"unknown_{level}_code"]]


def test_engine_choice(monkeypatch, household_spec):
    schema = household_spec.schema
    monkeypatch.delenv("TAMBON_VALIDATOR", raising=False)
    assert choose_engine(None, schema) == "duckdb"  # auto: DuckDB for a round of any size
    assert choose_engine("frictionless", schema) == "frictionless"  # the reference stays selectable
    monkeypatch.setenv("TAMBON_VALIDATOR", "frictionless")
    assert choose_engine(None, schema) == "frictionless"
    assert choose_engine("duckdb", schema) == "duckdb"  # the caller's word wins over the environment
    odd = {"fields": [{"name": "v", "type": "number", "groupChar": ","}]}
    monkeypatch.setenv("TAMBON_VALIDATOR", "auto")
    assert choose_engine(None, odd) == "frictionless"  # the SQL engine cannot mirror groupChar
    with pytest.raises(ValueError):
        choose_engine("pandas", schema)


def test_a_small_round_is_validated_by_duckdb_with_the_reference_tables(
    monkeypatch, household_spec, small_geography, tmp_path
):
    """``auto`` no longer hands small rounds to frictionless: a round of a few rows, with every fault
    kind, odd spellings and a cell over the length limit, gets DuckDB and the same three tables the
    reference engine writes for it (selected by ``TAMBON_VALIDATOR=frictionless``)."""
    rows = [{**HOUSEHOLD, "household_id": f"8401010100{i:02d}", **change} for i, (change, _) in enumerate(FAULTS)]
    rows += [
        {**HOUSEHOLD, "household_id": "840101010090", "members": "04", "income_main": " 1_000", "welfare_card": ""},
        {**HOUSEHOLD, "household_id": "840101010091", "head_name": "ก" * 5_000, "survey_date": "2020-10-1"},
        {**HOUSEHOLD, "household_id": "840101010092", "head_occupation": "ประมง ", "house_no": ""},
        {name: "" for name in HOUSEHOLD},
    ]
    tables = {}
    for engine in ("auto", "frictionless"):
        monkeypatch.setenv("TAMBON_VALIDATOR", engine)
        work = WorkArea(tmp_path / engine)
        work.write("received", _frame(rows))
        counts = validate_round(work, household_spec, ROUND, small_geography, {})
        assert counts["engine"] == ("duckdb" if engine == "auto" else "frictionless")
        tables[engine] = {name: work.read(name) for name in ("accepted", "quarantine", "findings")}
    for name in ("accepted", "quarantine", "findings"):
        pd.testing.assert_frame_equal(tables["auto"][name], tables["frictionless"][name], obj=name)
    codes = set(tables["auto"]["findings"]["code"])
    assert {"value_too_long", "blank_row", "missing_value", "not_in_list", "invalid_checksum"} <= codes, codes
