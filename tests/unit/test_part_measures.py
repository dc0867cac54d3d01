"""The national aggregates taken from the parts' own measures equal the aggregates of every unit counted at once.

A part measures the areas of its own units (their province is the part's); the national step counts, from
the units, the nation and the areas of any unit that is not its part's own: one with no province (its
tambon is not in the registry) and one, as the sort should never make, in another province's part.
"""

import duckdb
import pandas as pd
import pytest

from domain.declarations import DATASETS_DIR, load_dataset
from domain.geography import from_registry
from domain.rounds import parse_round
from domain.work import ROW_ID_STRIDE, WorkArea
from pipelines.aggregate import tables

ROUND = parse_round("2563-10")
FIELDS = {
    "members": 3, "children_6_14": 1, "children_6_14_in_school": 1, "elderly_60_plus": 0, "elderly_cared": 0,
    "disabled": 0, "disabled_cared": 0, "income_main": 90000, "income_secondary": 0, "income_other": 0,
    "income_own_produce": 0, "drinking_water_all_year": True, "housing_secure": True, "welfare_card": False,
}  # fmt: skip
# (part, village code, a field that differs from FIELDS): parts 11 and 12 hold their own villages, and
UNITS = [
    ("11", "11010101", {}), ("11", "11010101", {"housing_secure": False}), ("11", "11010102", {"members": 1}),
    ("11", "11020101", {"income_main": 20000}), ("12", "12010101", {}), ("12", "12010102", {"welfare_card": True}),
    ("12", "11010102", {"drinking_water_all_year": False}),  # a unit of province 11 in part 12
    ("00", "99999901", {}), ("11", "11999901", {"members": 5}),  # tambons not in the registry: no province
]  # fmt: skip


@pytest.fixture(scope="module")
def spec():
    return load_dataset(DATASETS_DIR / "household_survey")


def _units(con: duckdb.DuckDBPyConnection, spec, units: list[tuple[str, str, dict]]) -> None:
    rows = [
        {"_row_id": int(part) * ROW_ID_STRIDE + i, "village_code": code, **FIELDS, **changed}
        for i, (part, code, changed) in enumerate(units)
    ]
    con.register("accepted", pd.DataFrame(rows))
    tables.register_units(con, spec)


def _written_in_parts(con: duckdb.DuckDBPyConnection, spec, folder, at_once: bool = True) -> WorkArea:
    """Each part's units, as its validation writes them, and its own measures (every part's in one scan, or
    ``at_once=False``: each part's alone, as after a province sent again)."""
    work = WorkArea(folder, partitioned=True)
    columns = ", ".join(tables.unit_columns(con, spec))
    parts = {p: work.part(p) for p in sorted({p for p, _, _ in UNITS})}
    for part, area in parts.items():
        where = f"_row_id // {ROW_ID_STRIDE} = {int(part)}"
        area.folder.mkdir(parents=True)
        query = f"SELECT {columns} FROM units WHERE {where} ORDER BY _row_id"
        con.execute(f"COPY ({query}) TO '{area.path('units')}' (FORMAT parquet)")
    for group in [parts] if at_once else [{p: a} for p, a in parts.items()]:
        measured = tables.part_measures(con, spec, [area.path("units") for area in group.values()])
        work.write_parts("part_measures", measured, list(group))
    return work


def test_aggregates_from_parts_equal_every_unit_counted_at_once(spec, tmp_path):
    con = tables.connect(from_registry())
    _units(con, spec, UNITS)
    levels = list(spec.aggregate_levels)
    whole = tables.aggregates(con, spec, ROUND, levels)
    work = _written_in_parts(con, spec, tmp_path)
    tables.register_work(con, work, "units")
    from_parts = tables.aggregates(con, spec, ROUND, levels, work.path("part_measures"))
    for level in levels:
        pd.testing.assert_frame_equal(from_parts[level], whole[level], check_exact=True)
    some = tables.aggregates(con, spec, ROUND, ["tambon", "nation"], work.path("part_measures"))
    for level in ("tambon", "nation"):  # fewer levels than the parts measured: read with the parts' own keys
        pd.testing.assert_frame_equal(some[level], whole[level], check_exact=True)

    village = whole["village"].set_index("village_code")
    assert village.loc["11010102", "households_surveyed"] == 2  # its own part's unit and the one in part 12
    assert village.loc["11010102", "bmn09_failed"] == 1
    assert whole["province"]["province_code"].fillna("-").tolist() == ["11", "12", "-"]  # no province: one area
    assert whole["province"]["households_surveyed"].tolist() == [5, 2, 2]
    assert whole["nation"]["households_surveyed"].tolist() == [len(UNITS)]


def test_a_part_measures_its_own_units_only_alone_or_with_every_part(spec, tmp_path):
    con = tables.connect(from_registry())
    _units(con, spec, UNITS)
    work = _written_in_parts(con, spec, tmp_path / "at_once")
    alone = _written_in_parts(con, spec, tmp_path / "alone", at_once=False)
    for part in work.parts():
        path = work.part(part).path("part_measures")
        assert path.read_bytes() == alone.part(part).path("part_measures").read_bytes()
    own = con.execute(
        f"SELECT DISTINCT _part, province_code FROM read_parquet('{work.path('part_measures')}') ORDER BY 1"
    ).fetchall()
    assert own == [(11, "11"), (12, "12")]  # part 00 has no province's unit; 12's unit of 11 is left to the nation
