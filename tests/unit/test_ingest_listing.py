"""The sort's one walk over the landing folders lists what ``rglob`` listed, in the same order, and
the long-cell check that skips small tables still cuts every long cell."""

from __future__ import annotations

import os

import pyarrow as pa

from domain.limits import cut_cell
from pipelines.ingest.landing import listing
from pipelines.ingest.long_cells import cap_long_cells


def test_listing_is_rglob_sorted_with_one_stat_each(tmp_path):
    base = tmp_path / "2563-10"
    names = ["a-c", "a/b/c/d/e.csv", "a.b/x", "a/b.csv", ".hidden", "corrections/1001/.f.origin.json",
             "corrections/1001/f.xlsx", "Z", "z/ก.csv", "z/a b/c", "a0", "a/b0"]  # fmt: skip
    for name in names:
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "inside.csv").write_text("x")
    os.symlink(elsewhere, base / "linked-folder")  # not followed, as rglob does not
    os.symlink(base / "Z", base / "linked-file")  # a file
    (base / "empty-folder").mkdir()
    other = tmp_path / "2020-10"
    (other / "q").mkdir(parents=True)
    (other / "q" / "r.csv").write_text("r")

    got = listing([base, other, tmp_path / "missing"])
    want = [p for landing in (base, other) for p in sorted(p for p in landing.rglob("*") if p.is_file())]
    assert [item.path for item in got] == want
    assert [item.relative_name for item in got] == [p.relative_to(tmp_path).as_posix() for p in want]
    assert all(item.stat is not None and item.stat.st_size == item.path.stat().st_size for item in got)
    assert [item.hidden for item in got] == [p.name.startswith(".") for p in want]


def test_long_cells_are_cut_in_small_tables_and_large_ones():
    limit = 5
    for rows in (1, 3, 2_000):
        values = ["short", "บ้านหนองบัว", None] * rows
        table = pa.table({"a": pa.array(values, pa.string()), "b": pa.array(["x"] * len(values), pa.string())})
        got = cap_long_cells(table, ["a", "b"], limit).column("a").to_pylist()
        assert got == [None if v is None else v if len(v) <= limit else cut_cell(v, limit) for v in values]
    small = pa.table({"a": pa.array(["abcd"], pa.string())})
    assert cap_long_cells(small, ["a"], 4_000) is small  # nothing looked at
