"""A sorted part holds its rows as received: numbered, in the files' landed order, received without a copy.

The sort writes each province's rows numbered from its offset in the order the files landed; a part
without corrections is then its province's received rows as it is (the same file). Whatever changes
that order (a file landed between others, one renamed) or the part's shape (a part an older version
sorted), the received rows are the ones a fresh sort of the same files gives.
"""

from __future__ import annotations

import os
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import registry
import samples.village_profile as generator
from domain.declarations import load_datasets
from domain.rounds import parse_round
from pipelines.ingest import provinces
from pipelines.ingest.provinces import SORTED
from tests.ingest_parts import ingest

SPEC = load_datasets()["village_profile"]
ROUND = parse_round("2563-10")
KNOWN = frozenset(registry.provinces()["province_code"].astype(str))


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    landing = tmp_path_factory.mktemp("sorted_parts") / "landing" / "2563-10"
    generator.generate(ROUND, landing, provinces=["75", "83"], bad_files=False)
    return landing


def _received(got) -> dict[str, pa.Table]:
    return {code: pq.read_table(got.work.part(code).path("received")) for code in got.work.parts()}


def test_a_part_without_corrections_is_received_as_the_same_file_and_as_the_rows_written_one_by_one(
    landing, tmp_path, monkeypatch
):
    got = ingest(SPEC, [landing], tmp_path / "linked")
    with_rows = sorted(p.stem for p in (got.work.folder / SORTED).glob("[0-9]*.parquet"))
    assert {"75", "83"} <= set(with_rows)
    for code in with_rows:
        received, part = got.work.part(code).path("received"), got.work.folder / SORTED / f"{code}.parquet"
        assert os.stat(received).st_ino == os.stat(part).st_ino  # a link, no copy of every row
        ids = pq.read_table(received, columns=["_row_id"]).column("_row_id").to_pylist()
        assert ids == list(range(int(code) * 10**12, int(code) * 10**12 + len(ids)))
    monkeypatch.setattr(provinces, "_numbered_in_order", lambda *_: False)  # every row written again instead
    written = ingest(SPEC, [landing], tmp_path / "written")
    assert _received(written) == _received(got)
    assert all(os.stat(p).st_nlink == 1 for p in written.received_paths())  # the test did take the other way


def test_a_part_read_again_from_the_same_sorted_rows_leaves_no_temporary_name(landing, tmp_path):
    got = ingest(SPEC, [landing], tmp_path / "round")
    again = ingest(SPEC, [landing], tmp_path / "round")  # each received is linked to its part's file again
    assert _received(again) == _received(got)
    assert not [p.name for p in again.work.folder.rglob("*.tmp")]


def test_a_file_renamed_to_land_last_moves_its_rows_last_as_a_fresh_sort_of_the_same_files(landing, tmp_path):
    copy = tmp_path / "landing" / "2563-10"
    shutil.copytree(landing, copy)
    before = _received(ingest(SPEC, [copy], tmp_path / "round"))
    first = min(p for p in copy.iterdir() if p.suffix == ".csv")
    first.rename(copy / f"zz_{first.name}")  # the same bytes: not read again, but now last in the landed order
    again = ingest(SPEC, [copy], tmp_path / "round")
    fresh = ingest(SPEC, [copy], tmp_path / "fresh")
    assert _received(again) == _received(fresh) != before


def test_parts_an_older_version_sorted_are_sorted_again_from_every_file(landing, tmp_path):
    got = ingest(SPEC, [landing], tmp_path / "round")
    before = _received(got)
    part = got.work.folder / SORTED / "75.parquet"
    rows = pq.read_table(part)
    older = rows.drop(["_row_id"]).append_column("_seq", pc.subtract(rows.column("_row_id"), 75 * 10**12))
    os.unlink(part)  # it is received's too: replaced, not written over
    pq.write_table(older, part)
    with pytest.raises(provinces.SortedByOlderVersion, match=r"รุ่นก่อน.*landing step"):  # read before a sort
        provinces.read_province(SPEC, ROUND, got.work, "75", [landing], tmp_path / "round" / "archive", KNOWN)
    again = ingest(SPEC, [landing], tmp_path / "round")
    assert pq.read_schema(part).names == rows.schema.names
    assert _received(again) == before
    assert len(again.files) == len(got.files)
