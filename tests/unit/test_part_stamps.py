"""A part's stamps: which sort its stages were done from, and a part done by a version that wrote less."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from domain.declarations import load_datasets
from domain.layout import Layout
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines import stages
from pipelines.ingest.provinces import SORTED, parts_to_run, stamp, stamped


def _sorted(tmp_path, digests: dict[str, str]) -> WorkArea:
    work = WorkArea(tmp_path, partitioned=True)
    (tmp_path / SORTED).mkdir()
    (tmp_path / SORTED / "digests.json").write_text(json.dumps(digests), "utf-8")
    return work


def test_a_part_is_done_when_its_stamp_holds_the_last_sorts_digest(tmp_path):
    work = _sorted(tmp_path, {"47": "aaa", "75": "bbb"})
    for province, digest in (("47", "aaa"), ("75", "old")):
        work.part(province).folder.mkdir(parents=True)
        stamp(work.part(province), "validated", digest)
    assert stamped(work.part("47"), "validated") == "aaa"
    assert parts_to_run(work, "validated") == ["75"]


def test_a_part_validated_before_the_quality_counts_were_written_is_validated_again(tmp_path):
    work = _sorted(tmp_path, {"47": "aaa"})
    part = work.part("47")
    part.folder.mkdir(parents=True)
    for older in ("aaa", "aaa +quality_counts"):  # what older versions wrote (their units had every column)
        (part.folder / "validated.done").write_text(older, "utf-8")
        assert stamped(part, "validated") is None
        assert parts_to_run(work, "validated") == ["47"]
    stamp(part, "received", "aaa")
    assert stamped(part, "received") == "aaa"  # the reading wrote nothing new: its stamp stands as it was


def test_a_round_whose_landing_folder_was_emptied_says_so_in_thai_and_english(tmp_path):
    layout = Layout(tmp_path)
    round_ = parse_round("2563-10")
    spec = load_datasets()["village_profile"]
    layout.landing_dir(spec.name, round_).mkdir(parents=True)
    job = stages.RoundJob(spec, round_, layout)
    with pytest.raises(stages.EmptyRound, match=r"ไม่มีไฟล์.*holds no file"):
        stages.ingest(job)  # nothing landed: the sort records no part
    with pytest.raises(stages.EmptyRound):
        stages.require_parts(job)  # what every national step asks first


def test_a_table_of_parts_reads_as_the_parts_frames_joined_in_code_order(tmp_path):
    work = WorkArea(tmp_path, partitioned=True)
    parts = {
        "47": pd.DataFrame({"_row_id": [47, 48], "code": ["4701", None]}),
        "10": pd.DataFrame({"_row_id": [10], "code": ["1001"]}),
        "30": pd.DataFrame({"_row_id": pd.Series([], dtype="int64"), "code": pd.Series([], dtype=object)}),
    }
    for province, frame in parts.items():
        work.part(province).folder.mkdir(parents=True)
        frame.to_parquet(work.part(province).path("files"), index=False)  # 30's code: a null-typed column
    read = work.read("files")
    assert read["_row_id"].tolist() == [10, 47, 48] and read.index.tolist() == [0, 1, 2]
    assert read["code"].tolist()[:2] == ["1001", "4701"] and pd.isna(read["code"].iloc[2])

    pd.DataFrame({"_row_id": [30], "code": [None]}).to_parquet(work.part("30").path("files"), index=False)
    read = work.read("files")  # a part with rows whose column is of another type: joined as frames
    assert read["_row_id"].tolist() == [10, 30, 47, 48] and read.index.tolist() == [0, 1, 2, 3]
    assert read["code"].tolist()[0] == "1001" and read["code"].iloc[1:2].isna().all()
