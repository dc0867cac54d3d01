"""The last gate before anything is public: refuse to publish personal data, or a spreadsheet formula.

It reads every outgoing file as a reader would (each CSV cell as the text it
holds, the HTML report as text), so a citizen ID that became a float column or
a phone number in a title is caught like any other. Three independent tests: a
column that the schema marks personal, sensitive or internal; a text cell equal
to a value held this round in a personal or internal field (names, citizen IDs,
worker ids); and anything that looks like a Thai mobile number or a 13-digit
citizen ID with a valid check digit, wherever it hides.

In depth behind the CSV writer (``catalog.files.guard_formula``): a CSV cell that
a spreadsheet would run as a formula is refused like a leak, so a future writer
that bypasses ``csv_bytes`` cannot publish one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
from pyarrow import csv as arrow_csv

from catalog.files import runs_as_formula
from pipelines.declarations import DatasetSpec
from validation.custom_checks import citizen_id_valid  # one definition of the check digit, shared

# Thai mobile (08x-xxx-xxxx) and landline (0-4381-1154, 02-123-4567) numbers, with or without dashes.
PHONE = re.compile(r"(?<![\d-])(?:0[689]\d-?\d{3}-?\d{4}|0-?[2-7]\d{3}-?\d{4}|0[2-7]-?\d{3}-?\d{4})(?![\d-])")
DIGITS13 = re.compile(r"(?<!\d)\d{13}(?!\d)")


@dataclass(frozen=True)
class Leak:
    table: str  # the outgoing file
    column: str
    kind: str  # private_column | private_value | phone_number | citizen_id | formula

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.kind}"


class PrivacyError(RuntimeError):
    """Raised instead of publishing; names every table and column at fault."""

    def __init__(self, leaks: list[Leak]) -> None:
        self.leaks = leaks
        found_th, found_en = [], []
        if personal := "; ".join(str(leak) for leak in leaks if leak.kind != "formula"):
            found_th.append(f"พบข้อมูลส่วนบุคคลใน {personal}")
            found_en.append(f"personal data found in {personal}")
        if formulas := "; ".join(str(leak) for leak in leaks if leak.kind == "formula"):
            found_th.append(f"พบเซลล์ที่โปรแกรมตารางคำนวณจะทำงานเป็นสูตรใน {formulas}")
            found_en.append(f"a cell a spreadsheet would run as a formula found in {formulas}")
        super().__init__(f"ไม่เผยแพร่: {'; '.join(found_th)} / refused to publish: {'; '.join(found_en)}")


#: Private values shorter than this are not matched (house numbers such as "12" equal many counts and codes).
MIN_VALUE_LENGTH = 5
_TAGS = re.compile(r"<[^>]+>")


def scan_table(table: str, frame: pd.DataFrame, private_columns: Iterable[str]) -> list[Leak]:
    """Private column names, and phone numbers or valid citizen IDs in any cell (strings and integers)."""
    leaks = [Leak(table, c, "private_column") for c in frame.columns if c in set(private_columns)]
    for column in frame.columns:
        values = frame[column].dropna()
        if values.dtype.kind in "fbcmM":  # floats, booleans and timestamps cannot hold these
            continue
        distinct = {str(v) for v in pd.unique(values)}
        if any(PHONE.search(v) for v in distinct):
            leaks.append(Leak(table, column, "phone_number"))
        if any(citizen_id_valid(m) for v in distinct for m in DIGITS13.findall(v)):
            leaks.append(Leak(table, column, "citizen_id"))
    return leaks


def text_cells(frame: pd.DataFrame) -> dict[str, set[str]]:
    """Per text column, the distinct cell values long enough to identify someone (HTML split at tags)."""
    out: dict[str, set[str]] = {}
    for column in frame.columns:
        values = frame[column].dropna()
        if values.dtype.kind in "iufbcmM":
            continue
        cells = {part.strip() for v in pd.unique(values) for part in _TAGS.split(str(v))}
        out[column] = {c for c in cells if len(c) >= MIN_VALUE_LENGTH}
    return out


def private_value_leaks(tables: list[tuple[str, pd.DataFrame]], received: Path, fields: list[str]) -> list[Leak]:
    """Outgoing cells equal to a value held this round in a personal or internal field.

    The round's rows can be 12.8 million households: DuckDB streams the received
    Parquet file and semi-joins it to the (small) set of outgoing cells.
    """
    candidates = [
        (table, column, value)
        for table, frame in tables
        for column, values in text_cells(frame).items()
        for value in values
    ]
    if not candidates or not fields or not received.exists():
        return []
    con = duckdb.connect()
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{received}')").fetchall()}
    held = " UNION ALL ".join(
        f"SELECT trim({f}) AS v FROM read_parquet('{received}') WHERE length(trim({f})) >= {MIN_VALUE_LENGTH}"
        for f in fields
        if f in present
    )
    if not held:
        return []
    con.register("candidates", pd.DataFrame(candidates, columns=["tbl", "col", "value"]))
    found = con.execute(
        f"SELECT DISTINCT tbl, col FROM candidates c SEMI JOIN ({held}) r ON c.value = r.v ORDER BY 1, 2"
    ).fetchall()
    return [Leak(table, column, "private_value") for table, column in found]


def formula_leaks(table: str, frame: pd.DataFrame) -> list[Leak]:
    """Columns of a CSV with a cell that a spreadsheet would run as a formula (numbers like -5 are not)."""
    leaks = []
    for column in frame.columns:
        values = frame[column].dropna()
        if any(runs_as_formula(v) for v in pd.unique(values) if isinstance(v, str)):
            leaks.append(Leak(table, column, "formula"))
    return leaks


def file_cells(name: str, data: bytes) -> pd.DataFrame:
    """An outgoing file as its reader sees it: a CSV's cells as text under its header, anything else as one text.

    Every CSV cell stays the text it holds: no null markers ("NA", "-nan" are text like any other) and line
    breaks inside a quoted cell are read as part of it.
    """
    if not name.endswith(".csv"):
        return pd.DataFrame({"text": [data.decode("utf-8")]})
    parse = arrow_csv.ParseOptions(newlines_in_values=True)
    names = arrow_csv.open_csv(io.BytesIO(data), parse_options=parse).schema.names
    options = arrow_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False)
    return arrow_csv.read_csv(io.BytesIO(data), parse_options=parse, convert_options=options).to_pandas()


def scan_files(files: list[tuple[str, bytes]], spec: DatasetSpec | None, received: Path | None) -> list[Leak]:
    """Every test on every outgoing file (name, bytes); an empty list is the only licence to publish.

    ``spec`` and ``received`` name the collection whose rows the files come from (its private
    fields and this round's values in them); without them only the patterns are looked for.
    """
    tables = [(name, file_cells(name, data)) for name, data in files]
    private = spec.private_field_names if spec else []
    leaks = [leak for name, frame in tables for leak in scan_table(name, frame, private)]
    leaks += [leak for name, frame in tables if name.endswith(".csv") for leak in formula_leaks(name, frame)]
    if spec is None or received is None:
        return leaks
    identifying = [
        f["name"]
        for f in spec.fields
        if f.get("privacy") in ("personal", "internal") and f.get("type", "string") == "string"
    ]
    return leaks + private_value_leaks(tables, received, identifying)
