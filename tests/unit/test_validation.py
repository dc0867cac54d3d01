"""Each rule on hand-made rows; nothing is dropped; the duplicate rule keeps one row by its order."""

from dataclasses import replace

import pandas as pd
import pytest

from domain.declarations import load_datasets
from domain.rounds import parse_round
from validation.run import validate_frame

GOOD = {
    "village_code": "84010101",
    "village_no": "1",
    "village_name": "บ้านหนองบัว",
    "survey_date": "2020-10-15",
    "households": "120",
    "population_male": "200",
    "population_female": "210",
    "population_total": "410",
    "latitude": "9.13",
    "longitude": "99.33",
    "drinking_water_source": "ประปาหมู่บ้าน",
    "has_electricity": "มี",
    "has_internet": "ไม่มี",
    "access_road": "ลาดยาง",
    "main_occupation": "เกษตรกรรม",
    "notable_product": None,
    "headman_name": "นายสมชาย ใจดี",
    "headman_phone": "0812345678",
    "recorded_by": "TST-840101-1",
}
CASES = [
    ({"village_name": None}, "missing_value"),
    ({"households": "ไม่ทราบ"}, "wrong_type"),
    ({"households": "3.5"}, "wrong_type"),
    ({"households": "-4"}, "below_minimum"),
    ({"village_no": "120"}, "above_maximum"),
    ({"drinking_water_source": "ประปา"}, "not_in_list"),
    ({"has_electricity": "มีบางส่วน"}, "wrong_type"),
    ({"village_code": "8401010"}, "pattern_mismatch"),
    ({"survey_date": "31/02/2563"}, "wrong_type"),
    ({"village_code": "84010109", "village_no": "9"}, "unknown_code"),
    ({"village_no": "3"}, "code_suffix_mismatch"),
    ({"population_total": "411"}, "sum_mismatch"),
    ({"survey_date": "2020-11-01"}, "date_outside_round"),
    ({"latitude": "0", "longitude": "0"}, "coordinates_zero"),
    ({"latitude": "99.33", "longitude": "9.13"}, "coordinates_swapped"),
    ({"latitude": "35.0", "longitude": "139.0"}, "coordinates_outside_thailand"),
    ({"latitude": "13.75", "longitude": "100.5"}, "coordinates_far_from_tambon"),
]


def _frame(rows):
    frame = pd.DataFrame(rows)
    frame["_file"], frame["_sheet"], frame["_row"] = "f" * 64, "", range(2, len(rows) + 2)
    return frame


def _run(rows, spec, geography, engine="frictionless"):
    return validate_frame(_frame(rows), spec, parse_round("2563-10"), geography, {}, engine=engine)


@pytest.mark.parametrize("engine", ["frictionless", "duckdb"])
@pytest.mark.parametrize(("change", "code"), CASES, ids=[c for _, c in CASES])
def test_each_fault_is_caught_by_its_named_rule(village_spec, small_geography, change, code, engine):
    result = _run(
        [GOOD, {**GOOD, "village_code": "84010102", "village_no": "2", **change}],
        village_spec,
        small_geography,
        engine,
    )
    assert result.findings["_row_id"].unique().tolist() == [1]
    assert code in result.findings["code"].tolist()
    assert len(result.accepted) == 1 and len(result.quarantine) == 1
    assert result.quarantine.loc[0, "reasons_th"] and result.quarantine.loc[0, "reasons_en"]


@pytest.mark.parametrize("engine", ["frictionless", "duckdb"])
def test_a_quarantined_rows_reasons_follow_its_findings_order(village_spec, small_geography, engine):
    """Codes in the order each first appears among the row's findings, messages in the findings' order, grouped
    by code: an office reads the first problem first, in the quarantine table and in its workbook alike."""
    faults = {"village_no": "3", "households": "many", "survey_date": "2020-11-01", "latitude": "0", "longitude": "0"}
    result = _run([GOOD, {**GOOD, "village_code": "84010102", **faults}], village_spec, small_geography, engine)
    found = result.findings  # in the row's place order
    codes = list(dict.fromkeys(found["code"]))
    assert len(codes) >= 3
    row = result.quarantine.iloc[0]
    assert row["codes"] == ",".join(codes)
    for language in ("th", "en"):
        by_code = [" | ".join(found.loc[found["code"] == code, f"message_{language}"]) for code in codes]
        assert row[f"reasons_{language}"] == " | ".join(by_code)


def test_a_clean_row_passes_typed(village_spec, small_geography):
    result = _run([GOOD], village_spec, small_geography)
    assert result.findings.empty
    row = result.accepted.iloc[0]
    assert (row["households"], row["has_electricity"], row["has_internet"]) == (120, True, False)
    assert row["survey_date"].isoformat() == "2020-10-15"


def test_duplicate_keeps_latest_survey_then_quarantines_the_rest(village_spec, small_geography):
    older = {**GOOD, "survey_date": "2020-10-03", "households": "100"}
    newer = {**GOOD, "survey_date": "2020-10-20", "households": "130"}
    broken = {**GOOD, "survey_date": "2020-10-25", "households": "x"}
    result = _run([older, newer, broken], village_spec, small_geography)
    assert result.accepted["households"].tolist() == [130]
    codes = result.findings.groupby("_row_id")["code"].apply(set).to_dict()
    assert codes == {0: {"duplicate_row"}, 2: {"wrong_type"}}


def test_rows_received_equal_accepted_plus_quarantined(village_spec, small_geography):
    rows = [{**GOOD, **change} for change, _ in CASES] + [GOOD, GOOD]
    result = _run(rows, village_spec, small_geography)
    assert len(result.accepted) + len(result.quarantine) == len(rows)
    assert set(result.quarantine["_row_id"]).isdisjoint(set(range(len(rows))) - set(result.quarantine["_row_id"]))


def test_accepted_rows_are_written_in_row_order_across_row_groups(small_geography):
    """The accepted rows are the typed rows filtered, written without sorting again (``validation.run``): enough
    rows for several of DuckDB's row groups, read on several threads, still come out in ``_row_id`` order."""
    spec = load_datasets()["household_survey"]
    villages = [f"840101{v:02d}" for v in range(1, 21)]
    geography = replace(
        small_geography,
        villages=pd.DataFrame(
            {
                "village_code": villages, "village_no": range(1, 21), "village_name": [f"บ้าน {v}" for v in villages],
                "tambon_code": "840101", "amphoe_code": "8401", "province_code": "84", "latitude": 9.13,
                "longitude": 99.33,
            }
        ),
    )  # fmt: skip
    n = 200_000
    village = [villages[i // 10_000] for i in range(n)]
    frame = pd.DataFrame(
        {
            "household_id": [f"{v}{i % 10_000:04d}" for i, v in enumerate(village)], "village_code": village,
            "survey_date": "2020-10-15", "house_no": "1", "head_citizen_id": "1101700230708",
            "head_name": "นายสมชาย ใจดี",
            "members": ["x" if i % 5 == 0 else "2" for i in range(n)], "members_male": "1", "members_female": "1",
            "children_6_14": "0", "children_6_14_in_school": "0", "elderly_60_plus": "0", "elderly_cared": "0",
            "disabled": "0", "disabled_cared": "0", "income_main": "1000", "income_secondary": "0",
            "income_other": "0", "income_own_produce": "0", "head_occupation": "เกษตรกรรม",
            "drinking_water_all_year": "ใช่", "housing_secure": "ใช่", "welfare_card": "มี", "recorded_by": "TST-1",
        }
    )  # fmt: skip
    frame["_file"], frame["_sheet"], frame["_row"] = "f" * 64, "", range(2, n + 2)
    result = validate_frame(frame, spec, parse_round("2563-10"), geography, {}, engine="duckdb")
    assert sorted(set(result.quarantine["_row_id"])) == list(range(0, n, 5))
    assert result.accepted["_row_id"].tolist() == [i for i in range(n) if i % 5]
