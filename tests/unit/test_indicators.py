"""จปฐ. indicators, dimensions and their counts on a hand-made household table, checked by hand.

Village 11010101 has six households (A1-A6), village 11010102 two (B1-B2); the
expected figures in the comments were worked out on paper from the rows below.
"""

import duckdb
import pandas as pd
import pytest

from domain.declarations import load_dataset
from domain.disclosure import disclosure_rules
from domain.geography import from_registry
from domain.measures import measures
from domain.rounds import parse_round
from pipelines.aggregate import tables

COLUMNS = [
    "village_code", "members", "children_6_14", "children_6_14_in_school", "elderly_60_plus", "elderly_cared",
    "disabled", "disabled_cared", "income_main", "income_secondary", "income_other", "income_own_produce",
    "drinking_water_all_year", "housing_secure", "welfare_card",
]  # fmt: skip
ROWS = [
    # village   mem ch sch eld care dis care  main    sec   other  own   water  house  card   per person
    ("11010101", 4, 2, 2, 0, 0, 0, 0, 100000, 20000, 10000, 30000, True, True, False),  # A1 40,000
    ("11010101", 2, 0, 0, 2, 1, 1, 1, 50000, 0, 20000, 0, True, False, True),  # A2 35,000
    ("11010101", 5, 3, 2, 1, 1, 0, 0, 150000, 30000, 0, 20000, False, True, True),  # A3 40,000
    ("11010101", 1, 0, 0, 1, 1, 0, 0, 38000, 0, 0, 0, True, True, False),  # A4 38,000 (passes: >=)
    ("11010101", 3, 1, 1, 0, 0, 1, 0, 60000, 0, 0, 30000, True, True, True),  # A5 30,000
    ("11010101", 2, 0, 0, 0, 0, 0, 0, 100000, 0, 0, 0, True, True, False),  # A6 50,000
    ("11010102", 3, 1, 0, 0, 0, 0, 0, 30000, 0, 0, 0, False, False, True),  # B1 10,000
    ("11010102", 2, 0, 0, 0, 0, 0, 0, 80000, 0, 0, 0, True, True, False),  # B2 40,000
]


@pytest.fixture(scope="module")
def spec():
    from domain.declarations import DATASETS_DIR

    return load_dataset(DATASETS_DIR / "household_survey")


@pytest.fixture(scope="module")
def levels(spec):
    con = tables.connect(from_registry())
    con.register("accepted", pd.DataFrame(ROWS, columns=COLUMNS))
    tables.register_units(con, spec)
    round_ = parse_round("2563-10")
    return {
        level: tables.aggregate(con, spec, round_, level).set_index(
            "village_code" if level == "village" else "tambon_code" if level == "tambon" else "round"
        )
        for level in ("village", "tambon", "nation")
    }


def test_village_figures_match_hand_count(levels):
    a = levels["village"].loc["11010101"]
    assert a["village_name_th"] and a["tambon_code"] == "110101"
    assert a["households_surveyed"] == 6
    assert (a["bmn08_surveyed"], a["bmn08_passed"], a["bmn08_failed"]) == (6, 5, 1)  # A2 not secure
    assert (a["bmn09_surveyed"], a["bmn09_passed"], a["bmn09_failed"]) == (6, 5, 1)  # A3 no water
    assert (a["bmn16_surveyed"], a["bmn16_passed"], a["bmn16_failed"]) == (3, 2, 1)  # A1 A3 A5 have children
    assert (a["bmn22_surveyed"], a["bmn22_passed"], a["bmn22_failed"]) == (6, 4, 2)  # A2 A5 below 38,000
    assert (a["bmn27_surveyed"], a["bmn27_passed"], a["bmn27_failed"]) == (3, 2, 1)  # A2 cares for 1 of 2
    assert (a["bmn28_surveyed"], a["bmn28_passed"], a["bmn28_failed"]) == (2, 1, 1)  # A5 not cared for
    assert a["bmn16_pct_passed"] == pytest.approx(66.67) and a["bmn22_pct_failed"] == pytest.approx(33.33)
    # dimensions: living {8, 9} A2 A3; education {16} A3; income {22} A2 A5; access {27, 28} A2 A5
    assert (a["dim_living_failing"], a["dim_education_failing"]) == (2, 1)
    assert (a["dim_income_failing"], a["dim_access_failing"]) == (2, 2)
    assert "dim_health_failing" not in a.index  # none of its indicators is collected: not measured
    assert a["households_failing_any"] == 3 and a["households_pct_failing_any"] == 50.0  # A2 A3 A5
    assert a["income_per_person_mean"] == pytest.approx(233000 / 6, abs=0.01)


def test_not_applicable_is_not_a_pass_or_fail(levels):
    b = levels["village"].loc["11010102"]
    assert (b["bmn16_surveyed"], b["bmn16_passed"], b["bmn16_failed"]) == (1, 0, 1)
    assert (b["bmn27_surveyed"], b["bmn27_passed"], b["bmn27_failed"]) == (0, 0, 0)
    assert pd.isna(b["bmn27_pct_passed"])  # no eligible household: no percentage, not 0%
    assert b["households_failing_any"] == 1 and b["income_per_person_mean"] == 25000


def test_higher_levels_sum_the_villages(levels):
    t = levels["tambon"].loc["110101"]
    assert (t["households_surveyed"], t["bmn08_passed"], t["bmn22_failed"], t["bmn16_surveyed"]) == (8, 6, 3, 4)
    assert t["households_failing_any"] == 4 and t["households_pct_failing_any"] == 50.0
    nation = levels["nation"].iloc[0]
    assert nation["households_surveyed"] == 8


def test_disclosure_rules_follow_the_indicators(spec):
    rules = disclosure_rules(spec, measures(spec))
    assert rules.threshold == 5
    assert ("bmn16_surveyed", ("bmn16_passed", "bmn16_failed")) in rules.equations
    assert ("households_surveyed", ("bmn08_surveyed",)) in rules.equations  # equal columns
    assert ("dim_income_failing", ("bmn22_failed",)) in rules.equations  # a one-indicator dimension
    assert rules.derived["bmn22_pct_failed"] == ("bmn22_failed", "bmn22_surveyed")
    assert "income_per_person_mean" in rules.derived and "households_surveyed" in rules.counts


def test_a_new_indicator_is_a_yaml_entry(spec):
    from dataclasses import replace

    from domain.declarations import Indicator

    extra = Indicator("bmn99", 99, "members > 3", "welfare_card", "ทดสอบ", "test")
    con = duckdb.connect()
    con.register("accepted", pd.DataFrame(ROWS, columns=COLUMNS))
    bigger = replace(spec, indicators=[*spec.indicators, extra])
    from pipelines.aggregate.indicators import scored_sql

    got = con.execute(f"SELECT count(bmn99), count(*) FILTER (WHERE bmn99) FROM ({scored_sql(bigger, 'accepted')})")
    assert got.fetchone() == (2, 1)  # A1 (4 members, no card) and A3 (5, card)
