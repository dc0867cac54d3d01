"""Versioned local catalog: immutable revisions, idempotent re-runs, valid packages, typed Parquet."""

import json
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from catalog.local import LocalCatalog
from catalog.outputs import Output
from domain.rounds import parse_round

SCHEMA = {
    "fields": [
        {"name": "round", "type": "string"},
        {"name": "code", "type": "string", "title": "Code", "title_th": "รหัส"},
        {"name": "name_th", "type": "string"},
        {"name": "households", "type": "integer"},
        {"name": "share", "type": "number"},
        {"name": "surveyed", "type": "date"},
        {"name": "electricity", "type": "boolean", "trueValues": ["มี"], "falseValues": ["ไม่มี"]},
    ],
    "primaryKey": ["round", "code"],
    "missingValues": [""],
}


def _output(households=(120, 80)):
    frame = pd.DataFrame(
        {
            "round": ["2020-10"] * 2,
            "code": ["84010101", "84010102"],
            "name_th": ["บ้านหนองบัว", "บ้านโนนสูง"],
            "households": list(households),
            "share": [12.5, None],
            "surveyed": pd.to_datetime(["2020-10-15", "2020-10-16"]),
            "electricity": [True, False],
        }
    )
    return Output("demo", "records", {"th": "ทดสอบ", "en": "Test"}, {"th": "ก", "en": "a"}, SCHEMA, frame)


@pytest.fixture
def catalog(tmp_path):
    return LocalCatalog(tmp_path / "catalog")


def _snapshot(root):
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "r1" in p.parts}


def test_unchanged_round_publishes_nothing_changed_round_adds_a_revision(catalog):
    round_ = parse_round("2563-10")
    first = catalog.publish(_output(), round_, {})
    assert (first.status, first.revision) == ("new", 1)
    before = _snapshot(catalog.root)
    again = catalog.publish(_output(), round_, {})
    assert (again.status, again.revision) == ("unchanged", 1)
    changed = catalog.publish(_output((121, 80)), round_, {})
    assert (changed.status, changed.revision) == ("new", 2)
    assert _snapshot(catalog.root) == before  # r1 untouched, byte for byte
    assert all(not (p.stat().st_mode & 0o222) for p in before)  # and read-only
    pointer = catalog.pointer("demo")
    assert pointer["latest"] == {
        "round": "2020-10",
        "revision": 2,
        "version": "2563-10_2020-10_r2",
        "path": "2020-10/r2",
    }


def test_csv_is_excel_friendly_and_parquet_typed(catalog):
    published = catalog.publish(_output(), parse_round("2563-10"), {})
    csv = (published.folder / published.files["csv"]["path"]).read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")
    assert "บ้านหนองบัว" in csv.decode("utf-8-sig") and ",มี\r\n" in csv.decode("utf-8-sig")
    parquet = published.folder / published.files["parquet"]["path"]
    types = {row[0]: row[1] for row in duckdb.sql(f"DESCRIBE SELECT * FROM '{parquet}'").fetchall()}
    assert types == {
        "round": "VARCHAR",
        "code": "VARCHAR",
        "name_th": "VARCHAR",
        "households": "BIGINT",
        "share": "DOUBLE",
        "surveyed": "DATE",
        "electricity": "BOOLEAN",
    }
    meta = dict(duckdb.sql(f"SELECT decode(key), decode(value) FROM parquet_kv_metadata('{parquet}')").fetchall())
    assert meta["tambon:version"] == "2563-10_2020-10_r1"
    assert json.loads(meta["frictionless:schema"])["fields"][1]["title_th"] == "รหัส"


def test_datapackage_passes_frictionless_validate(catalog):
    published = catalog.publish(_output(), parse_round("2563-10"), {"data_type": "ข้อมูลระเบียน"})
    package = published.folder / "datapackage.json"
    run = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", str(package)],
        capture_output=True,
        text=True,
    )
    assert json.loads(run.stdout)["valid"], run.stdout[-2000:]
    assert json.loads(package.read_text())["thai_gdc"]["data_type"] == "ข้อมูลระเบียน"


def test_index_lists_every_output(catalog):
    catalog.publish(_output(), parse_round("2563-10"), {})
    index = json.loads(catalog.write_index().read_text())
    assert index["datasets"]["demo"]["rounds"] == {"2020-10": "2563-10_2020-10_r1"}
