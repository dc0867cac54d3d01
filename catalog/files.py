"""A table as published bytes: typed Parquet and Excel-friendly CSV, deterministic.

Same table in, same bytes out: that is what lets the publisher tell an unchanged
round from a new revision by hashing, and what lets analysts trust a version.

The CSV is the file people open in a spreadsheet, so a text cell that a
spreadsheet would execute as a formula is written with an apostrophe in front
(:func:`guard_formula`); the Parquet file keeps every value as received.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
}
# Row groups of 4,096 rows over rows sorted by code: a one-province query over a year of national
# rounds reads under 10% of the bytes (measured in benchmarks/analyst_query.py; 128k rows read 79%).
PARQUET_OPTIONS = {"compression": "zstd", "row_group_size": 4096, "write_statistics": True}

# How pandas should rebuild each column (the "pandas" key of the Parquet metadata, as pandas itself writes
# it). Integers are declared as pandas' nullable Int64. Without it pyarrow turns an integer column holding a
# null (a suppressed count) into float64 with NaN, and `frictionless validate` reads Parquet through pandas
# (frictionless/formats/parquet and pandas/parser.py) and takes a cell for missing only when it is None, the
# object np.nan itself or a missingValues string: the NaN of a float column is a copy of np.nan, so it was
# reported as "type is integer". An Int64 null is handed over as None. The Parquet column stays INT64 with
# nulls; DuckDB, Arrow, R and Polars ignore this key, and pandas users get integers instead of floats.
PANDAS_TYPES = {
    "string": ("unicode", "object"),
    "integer": ("int64", "Int64"),
    "number": ("float64", "float64"),
    "date": ("date", "object"),
    "boolean": ("bool", "object"),
}

#: What the CSV writer puts in front of a text cell that a spreadsheet would execute (OWASP's advice on CSV
#: injection): Excel, LibreOffice Calc and Google Sheets then show the cell as the text it is.
FORMULA_PREFIX = "'"
#: A cell is run as a formula (or a DDE command) when it starts with = + - @, or with a tab or a carriage
#: return (which some imports drop before looking at the next character). Leading spaces are looked through
#: too, because an import that trims them would otherwise meet the = first. Full-width signs (＝ ＋ － ＠)
#: are ordinary characters to a spreadsheet opening a CSV and are left alone.
_FORMULA_START = re.compile(r"[\t\r]|\s*[=+\-@]")
#: A cell that is one plain number (-5, +66, -3.25, -1e-05) stays as it is: a spreadsheet reads it as that
#: number, which executes nothing, and an apostrophe would only spoil it for the reader.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet opening this text cell would evaluate it (the privacy gate refuses such a cell)."""
    return bool(_FORMULA_START.match(text)) and not _PLAIN_NUMBER.fullmatch(text)


def guard_formula(text: str) -> str:
    """The text as it may go into a spreadsheet cell: an apostrophe in front if it would run as a formula.

    The one function every writer of a file people open in a spreadsheet calls on its text cells (the CSV
    here, a correction workbook later); numbers, dates and booleans are written by their own rules. A text
    that already starts with an apostrophe gets one more, so the rule can be undone without doubt (remove
    the first apostrophe) and two different values never publish the same bytes, which would hide a change
    from the content hash that versions a round.
    """
    if text.startswith(FORMULA_PREFIX) or runs_as_formula(text):
        return FORMULA_PREFIX + text
    return text


def _guard_text_column(values: pd.Series) -> pd.Series:
    """:func:`guard_formula` on every text cell of a column.

    Only cells whose first character is not a letter or digit can need it; finding those is vectorised, so a
    national table (75,000 villages, a dozen text columns) costs milliseconds, not a Python call per cell.
    """
    text = values.astype("string")
    candidates = (~text.str.slice(0, 1).str.isalnum()).fillna(False).to_numpy(dtype=bool)
    if not candidates.any():
        return values
    guarded = values.astype(object).to_numpy(copy=True)
    guarded[candidates] = [guard_formula(v) for v in text[candidates]]
    return pd.Series(guarded, index=values.index, name=values.name)


def _pandas_metadata(schema: dict[str, Any]) -> bytes:
    """The "pandas" Parquet metadata for the schema's columns (no versions inside: the bytes stay the same)."""
    columns = [
        {
            "name": f["name"],
            "field_name": f["name"],
            "pandas_type": PANDAS_TYPES[f.get("type", "string")][0],
            "numpy_type": PANDAS_TYPES[f.get("type", "string")][1],
            "metadata": None,
        }
        for f in schema["fields"]
    ]
    described = {"index_columns": [], "column_indexes": [], "columns": columns, "creator": {"library": "tambon"}}
    return json.dumps(described, sort_keys=True).encode()


def arrow_table(frame: pd.DataFrame, schema: dict[str, Any], metadata: dict[str, str]) -> pa.Table:
    """The frame typed by its Table Schema, with ``metadata`` and the pandas column types in the file's footer.

    Each column goes to Arrow as it is, pandas' missing values (None, NaN, NaT, NA) as nulls: made a list
    of Python objects first, the columns cost ten times as much (0.33 s against 0.04 s for a village round's
    seven outputs), for the same table."""
    fields = [pa.field(f["name"], ARROW_TYPES[f.get("type", "string")]) for f in schema["fields"]]
    columns = []
    for field in fields:
        values = frame[field.name]
        if pa.types.is_date32(field.type):
            values = pd.to_datetime(values).dt.date
        columns.append(pa.array(values, type=field.type, from_pandas=True))
    meta = {k.encode(): v.encode() for k, v in metadata.items()} | {b"pandas": _pandas_metadata(schema)}
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=meta))


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **PARQUET_OPTIONS)
    return sink.getvalue()


def csv_bytes(
    frame: pd.DataFrame, schema: dict[str, Any], suppressed: pd.DataFrame | None = None, marker: str = ""
) -> bytes:
    """UTF-8 with BOM (so Excel shows Thai), booleans in the form's own words (มี / ไม่มี).

    Cells marked in ``suppressed`` (small-cell suppression) are written as ``marker``, which the
    Table Schema lists in ``missingValues``: a reader tells "hidden" from "not applicable" (empty).
    Text cells go through :func:`guard_formula`, so no cell a spreadsheet opens runs as a formula.
    """
    out = pd.DataFrame(index=frame.index)
    for field in schema["fields"]:
        values = frame[field["name"]]
        if field.get("type", "string") == "string":
            values = _guard_text_column(values)
        elif field.get("type") == "boolean":
            yes, no = field.get("trueValues", ["true"])[0], field.get("falseValues", ["false"])[0]
            values = values.map({True: yes, False: no})
        elif field.get("type") == "integer":
            values = values.astype("Int64")
        if suppressed is not None and field["name"] in suppressed:
            values = values.astype(object).where(~suppressed[field["name"]].to_numpy(dtype=bool), marker)
        out[field["name"]] = values
    return out.to_csv(index=False, lineterminator="\r\n", encoding="utf-8-sig").encode("utf-8-sig")


def schema_metadata(name: str, version: str, schema: dict[str, Any]) -> dict[str, str]:
    """Key-value metadata carried inside each Parquet file, so its documentation travels with it."""
    return {
        "tambon:dataset": name,
        "tambon:version": version,
        "frictionless:schema": json.dumps(schema, ensure_ascii=False, sort_keys=True),
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
