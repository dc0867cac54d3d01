"""Issue #12, point 1, end to end: a CSV cell of a million characters no longer stops the round.

A sample village-profile round for one province, plus one extra CSV file whose one row has a
1,000,000-character village name, through ``tambon run`` (Dagster, in a temporary data folder):
the run succeeds, the other files are published, and the long row is in the quarantine with
``value_too_long``, naming its file, its row and the cell's length.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

import registry
from domain.declarations import load_datasets
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines import cli
from tests.e2e.own_data import own_data_folder
from tests.unit.test_validation import GOOD

pytestmark = pytest.mark.slow

ROUND = parse_round("2563-10")
LENGTH = 1_000_000
FILE = "ส่งเพิ่ม ชื่อยาว.csv"


def _long_cell_file() -> bytes:
    spec = load_datasets()["village_profile"]
    villages = registry.load_villages()
    village = villages[villages["village_code"].str.startswith("47")].iloc[0]
    row = {
        **GOOD,
        "village_code": village["village_code"],
        "village_no": str(int(village["village_code"][-2:])),
        "village_name": "ก" * LENGTH,
        "latitude": str(village["latitude"]),
        "longitude": str(village["longitude"]),
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f["title_th"] for f in spec.fields])
    writer.writerow([row[name] or "" for name in spec.field_names])
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def long_cell_round(tmp_path_factory):
    with own_data_folder(tmp_path_factory.mktemp("long_cell")) as layout:
        argv = ["sample", "--round", ROUND.be_key, "--dataset", "village_profile", "--provinces", "47"]
        assert cli.main(argv) == 0
        landing = layout.landing_dir("village_profile", ROUND)
        (landing / FILE).write_bytes(_long_cell_file())
        code = cli.main(["run", "--round", ROUND.be_key, "--dataset", "village_profile"])
        yield layout, code


def test_the_round_succeeds_and_publishes_the_other_files(long_cell_round):
    layout, code = long_cell_round
    assert code == 0
    work = WorkArea(layout.work("village_profile", ROUND), partitioned=True)
    files = work.read("files")
    assert (files["status"] == "ok").sum() > 20  # the province's files, read
    latest = json.loads((layout.catalog / "village_profile" / "latest.json").read_text(encoding="utf-8"))
    assert ROUND.key in json.dumps(latest)
    published = next((layout.catalog / "village_profile" / ROUND.key).glob("r*/*.parquet"))
    accepted = work.read("accepted")
    assert len(pd.read_parquet(published)) == len(accepted) > 500


def test_the_long_row_is_quarantined_as_value_too_long_naming_its_file_and_row(long_cell_round):
    layout, _ = long_cell_round
    work = WorkArea(layout.work("village_profile", ROUND), partitioned=True)
    files = work.read("files").set_index("name")
    record = files.loc[f"{ROUND.be_key}/{FILE}"]
    assert (record["status"], record["rows_received"]) == ("ok", 1)

    quarantine = work.read("quarantine")
    mine = quarantine[quarantine["_file"] == record["sha256"]]
    assert len(mine) == 1 and mine["_row"].tolist() == [2]
    assert "value_too_long" in mine["codes"].iloc[0].split(",")
    assert "1,000,000" in mine["reasons_th"].iloc[0] and "1,000,000" in mine["reasons_en"].iloc[0]
    assert len(mine["village_name"].iloc[0]) < 5_000  # cut at ingest; the archive holds the whole cell

    findings = work.read("findings")
    found = findings[(findings["_row_id"] == mine["_row_id"].iloc[0]) & (findings["code"] == "value_too_long")]
    assert found[["field", "detail"]].values.tolist() == [["village_name", "1,000,000"]]

    report = json.loads((layout.reports("village_profile", ROUND) / "run_report.json").read_text(encoding="utf-8"))
    entry = next(f for f in report["files"] if f["name"].endswith(FILE))
    assert (entry["rows_received"], entry["rows_accepted"], entry["rows_quarantined"]) == (1, 0, 1)
