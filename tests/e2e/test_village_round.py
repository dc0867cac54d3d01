"""A generated sample round through the real Dagster job, checked as the issue's acceptance asks.

Three provinces, every format, encoding and injected fault; then the same round
again (nothing new), then one raw file changed (a new revision, old files untouched).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

import samples.village_profile as generator
from domain.declarations import load_datasets
from domain.layout import Layout
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines.ingest.provinces import SORTED
from tests.dagster_round import run_in_process

pytestmark = pytest.mark.slow

ROUND = parse_round("2563-10")
PROVINCES = ["47", "21", "96"]
#: generator fault -> the rule code that must catch it
EXPECTED_CODE = {
    "missing_required": {"missing_value"},
    "invalid_enum": {"not_in_list", "wrong_type"},  # a boolean's unknown word is a type error
    "negative_number": {"below_minimum"},
    "not_a_number": {"wrong_type"},
    "population_sum_mismatch": {"sum_mismatch"},
    "village_no_mismatch": {"code_suffix_mismatch"},
    "unknown_village": {"unknown_code"},
    "date_outside_round": {"date_outside_round"},
    "bad_date": {"wrong_type"},
    "coordinates_swapped": {"coordinates_swapped"},
    "coordinates_zero": {"coordinates_zero"},
    "coordinates_far": {"coordinates_far_from_tambon"},
}
TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}


def run_round(instance: dg.DagsterInstance) -> list[dg.ExecuteInProcessResult]:
    """The round's runs: its landing, each province whose files changed, then the nation."""
    from pipelines.definitions import defs

    return run_in_process(defs, "village_profile", ROUND, instance)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("round")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root))
    layout = Layout(root)
    landing = layout.landing_dir("village_profile", ROUND)
    generator.generate(ROUND, landing, provinces=PROVINCES)
    truth = json.loads((landing.parent / f"{landing.name}.truth.json").read_text(encoding="utf-8"))
    instance = dg.DagsterInstance.ephemeral()
    results = run_round(instance)
    assert all(r.success for r in results)
    work = WorkArea(layout.work("village_profile", ROUND), partitioned=True)
    assert len(results) == 2 + len(work.parts()) and set(PROVINCES) <= set(work.parts())  # landing, parts, nation
    yield {
        "layout": layout,
        "truth": truth,
        "instance": instance,
        "results": results,
        "files": work.read("files"),
        "received": work.read("received"),
        "findings": work.read("findings"),
        "accepted": work.read("accepted"),
        "report": json.loads((layout.reports("village_profile", ROUND) / "run_report.json").read_text()),
    }
    mp.undo()


def _truth_files(truth):
    return {f["sha256"]: f for f in truth["files"]}


def test_rows_received_equal_accepted_plus_quarantined_for_every_file(world):
    for file in world["report"]["files"]:
        assert file["rows_received"] == file["rows_accepted"] + file["rows_quarantined"], file["name"]
    expected = {f["sha256"]: f["rows"] for f in world["truth"]["files"] if not f["bad_kind"]}
    files = world["files"]
    got = files[files["status"] != "duplicate"].set_index("sha256")["rows_received"]
    assert {k: got[k] for k in expected} == expected
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for result in world["results"]
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks["rows_balance"] and checks["no_personal_data"]


def test_each_injected_fault_is_caught_by_its_named_rule(world):
    received = world["received"].reset_index().rename(columns={"index": "_row_id"})
    received["_data_row"] = received.groupby("_file")["_row"].rank(method="first").astype(int)
    codes = world["findings"].groupby("_row_id")["code"].apply(set)
    seen_kinds = set()
    for sha, file in _truth_files(world["truth"]).items():
        rows = received[received["_file"] == sha].set_index("_data_row")
        for fault in file.get("faults", []):
            kind = fault["fault"]
            row_id = rows.loc[fault["row"], "_row_id"]
            if kind == "duplicate_village":
                continue
            seen_kinds.add(kind)
            assert codes.get(row_id, set()) & EXPECTED_CODE[kind], (file["name"], fault, codes.get(row_id))
    assert seen_kinds == set(EXPECTED_CODE)


def test_duplicate_villages_keep_exactly_one_row(world):
    accepted = world["accepted"]
    assert not accepted["village_code"].duplicated().any()
    assert (world["findings"]["code"] == "duplicate_row").sum() >= 1


def test_every_encoding_and_xlsx_reads_correct_thai(world, village_registry_names):
    files = world["files"]
    assert {"utf-8", "utf-8-sig", "cp874"} <= set(files["encoding"]) and "xlsx" in set(files["format"])
    received = world["received"].merge(
        files[["sha256", "format", "encoding"]].drop_duplicates("sha256"), left_on="_file", right_on="sha256"
    )
    known = received[received["village_code"].isin(village_registry_names.index)]
    for (fmt, encoding), group in known.groupby(["format", "encoding"]):
        same = group["village_name"] == village_registry_names.loc[group["village_code"]].values
        assert same.mean() > 0.97, (fmt, encoding)  # the rest are injected faults (e.g. empty names)


def test_bad_files_get_clear_errors_and_the_round_goes_on(world):
    rejected = [f for f in world["report"]["files"] if f["status"] == "rejected"]
    assert {f["problem_code"] for f in rejected} >= {
        "empty_file",
        "not_a_table",
        "corrupt_xlsx",
        "unknown_encoding",
    }
    assert all(f["message_th"] and f["message_en"] for f in rejected)
    assert world["report"]["totals"]["rows_accepted"] > 1000


def _published_files(layout: Layout) -> list[Path]:
    return sorted(p for p in layout.catalog.rglob("*") if p.is_file())


def _revision_files(layout: Layout) -> dict[Path, bytes]:
    """The immutable part of the catalog: every file inside a revision folder (pointers and indexes move on)."""
    return {p: p.read_bytes() for p in layout.catalog.glob("*/*/r*/*")}


def test_published_packages_validate_and_parquet_is_typed(world):
    packages = sorted(world["layout"].catalog.glob("*/*/r*/datapackage.json"))
    assert len(packages) == 7
    for package in packages:
        run = subprocess.run(
            [sys.executable, "-m", "frictionless", "validate", "--json", str(package)],
            capture_output=True,
            text=True,
        )
        assert json.loads(run.stdout)["valid"], (package, run.stdout[-1500:])
        descriptor = json.loads(package.read_text())
        parquet = package.parent / descriptor["resources"][1]["path"]
        got = dict(duckdb.sql(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{parquet}')").fetchall())
        want = {f["name"]: TYPES[f["type"]] for f in descriptor["resources"][1]["schema"]["fields"]}
        assert got == want


def test_no_personal_data_in_any_published_file(world):
    spec = load_datasets()["village_profile"]
    received = world["received"]
    secrets = set()
    for name in spec.private_field_names:
        secrets |= {v for v in received[name].dropna().unique() if len(str(v)) >= 4}
    assert len(secrets) > 100
    for path in _published_files(world["layout"]):
        if path.suffix == ".duckdb":  # the analysts' catalog database: its tables, as text
            with duckdb.connect(str(path), read_only=True) as con:
                text = "".join(con.sql(f"SELECT * FROM {t}").df().to_csv() for t in ("datasets", "columns", "rounds"))
        elif path.suffix == ".parquet":
            text = duckdb.sql(f"SELECT * FROM '{path}'").df().to_csv()
        else:
            text = path.read_text(encoding="utf-8-sig")
        for name in spec.private_field_names:
            assert f'"{name}"' not in text and f",{name}," not in text, (path, name)
        rows = csv.reader(io.StringIO(text)) if path.suffix != ".json" else []
        flat = {cell for row in rows for cell in row}
        assert not (flat & secrets), path
        assert not any(len(c) == 10 and c.startswith(("06", "08", "09")) and c.isdigit() for c in flat), path


def test_rerun_publishes_nothing_then_a_changed_file_adds_a_revision(world):
    layout = world["layout"]
    before = _revision_files(layout)
    again = run_round(world["instance"])
    assert all(r.success for r in again) and len(again) == 2  # no province changed: landing and nation only
    assert _revision_files(layout) == before
    # An office corrects one file: a different household count for its first village.
    files = world["files"]
    target = files[(files["format"] == "csv") & (files["status"] == "ok") & (files["encoding"] == "utf-8")].iloc[0]
    path = layout.root / "landing" / "village_profile" / target["name"]
    sorted_files = pd.read_parquet(layout.work("village_profile", ROUND) / SORTED / "files.parquet")
    target_province = sorted_files.set_index("name").loc[target["name"], "home"]
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[1]]))
    column = header.index("จำนวนครัวเรือน") if "จำนวนครัวเรือน" in header else header.index("households")
    row[column] = str(int(row[column].replace(",", "")) + 7) if row[column].replace(",", "").isdigit() else "77"
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    lines[1] = out.getvalue()
    path.write_text("\n".join(lines), encoding="utf-8")
    changed = run_round(world["instance"])
    assert all(r.success for r in changed)
    assert [r.dagster_run.tags.get("dagster/partition/province") for r in changed][1:-1] == [target_province]
    for old, data in before.items():
        assert old.read_bytes() == data  # published files never change in place
    pointer = json.loads((layout.catalog / "village_profile" / "latest.json").read_text())
    assert pointer["rounds"][ROUND.key]["revision"] == 2
    assert (layout.catalog / "village_profile" / ROUND.key / "r1").is_dir()
