"""A round's table split into its province parts: each part gets its own rows, in their order, and only those."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from domain import work as work_module
from domain.work import ROW_ID_STRIDE, WorkArea, rows_by_key


def _work(tmp_path, provinces: list[str]) -> WorkArea:
    work = WorkArea(tmp_path, partitioned=True)
    for province in provinces:
        work.part(province).folder.mkdir(parents=True)
    return work


def test_rows_go_to_their_part_in_the_tables_order_and_a_part_without_rows_gets_an_empty_table(tmp_path):
    provinces = ["00", "10", "47", "96"]
    work = _work(tmp_path, provinces)
    # interleaved parts, ids out of order within a part: the table's order is what a part keeps
    ids = [47 * ROW_ID_STRIDE + 5, 10 * ROW_ID_STRIDE + 2, 47 * ROW_ID_STRIDE + 1, 10 * ROW_ID_STRIDE + 9, 3]
    table = pa.table({"_row_id": ids, "value": ["a", "b", "c", "d", "e"]})
    work.write_parts("findings", table, provinces)
    read = {p: pq.read_table(work.part(p).path("findings")).to_pydict() for p in provinces}
    assert read["47"] == {"_row_id": [ids[0], ids[2]], "value": ["a", "c"]}
    assert read["10"] == {"_row_id": [ids[1], ids[3]], "value": ["b", "d"]}
    assert read["00"] == {"_row_id": [3], "value": ["e"]}
    assert read["96"] == {"_row_id": [], "value": []}
    assert pq.read_schema(work.part("96").path("findings")).equals(table.schema)


def test_grouped_rows_go_by_their_part_column_and_parts_not_named_are_not_written(tmp_path):
    work = _work(tmp_path, ["11", "12"])
    table = pa.table({"_part": [12, 11, 12, 13], "n": [1, 2, 3, 4]})
    work.write_parts("quality_counts", table, ["11", "12"])
    assert pq.read_table(work.part("12").path("quality_counts")).to_pydict() == {"_part": [12, 12], "n": [1, 3]}
    assert pq.read_table(work.part("11").path("quality_counts")).to_pydict() == {"_part": [11], "n": [2]}
    assert not (tmp_path / "provinces" / "13").exists()
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("min_run_rows", [work_module.MIN_RUN_ROWS, 1], ids=["by one sort", "by cutting runs"])
def test_rows_by_key_groups_rows_in_key_order_each_in_the_tables_order(monkeypatch, min_run_rows):
    """Both ways give the same groups: the rows cut out of their runs, or sorted when the runs are short."""
    monkeypatch.setattr(work_module, "MIN_RUN_ROWS", min_run_rows)
    keys = pa.chunked_array([["47", "47", "10"], ["47", "00", "10", "10"]])
    groups = rows_by_key(pa.table({"n": range(7)}), keys)
    assert list(groups) == ["00", "10", "47"]
    assert {key: rows.column("n").to_pylist() for key, rows in groups.items()} == {
        "00": [4],
        "10": [2, 5, 6],
        "47": [0, 1, 3],
    }
    assert rows_by_key(pa.table({"n": pa.array([], pa.int64())}), pa.array([], pa.string())) == {}
    with_null = rows_by_key(pa.table({"n": range(4)}), pa.array([None, "10", None, "10"]))
    assert {key: rows.column("n").to_pylist() for key, rows in with_null.items()} == {"10": [1, 3], None: [0, 2]}
    assert list(with_null) == ["10", None]
