"""A table as published bytes: typed Parquet and Excel-friendly CSV, deterministic.

Same table in, same bytes out: that is what lets the publisher tell an unchanged
round from a new revision by hashing, and what lets analysts trust a version.

The CSV is the file people open in a spreadsheet, so a text cell that a
spreadsheet would execute as a formula is written with an apostrophe in front
(:func:`guard_formula`); the Parquet file keeps every value as received.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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

    The bytes are pandas' ``to_csv`` of those columns (:func:`_pandas_csv`, the reference), made in Arrow:
    pandas took about a second for a village round's national table, most of its publishing. A
    column of a kind Arrow is not known to write alike goes the reference's way, and the whole table with it.
    """
    columns = []
    for field in schema["fields"]:
        cells = _cell_texts(_csv_values(frame[field["name"]], field))
        if cells is None:
            return _pandas_csv(frame, schema, suppressed, marker)
        texts, text_like = cells
        if suppressed is not None and field["name"] in suppressed:
            hidden = pa.array(suppressed[field["name"]].to_numpy(dtype=bool))
            texts, text_like = pc.if_else(hidden, pa.scalar(marker, pa.string()), texts), True
        columns.append(_csv_fields(texts) if text_like else texts)
    names = [field["name"] for field in schema["fields"]]
    lines = [pa.array([",".join(_csv_fields(pa.array(names, pa.string())).to_pylist())], pa.large_string())]
    if len(frame):
        rows = pc.binary_join_element_wise(*columns, ",", null_handling="replace", null_replacement="")
        lines.append(rows.cast(pa.large_string()))
    lines.append(pa.array([""], pa.large_string()))  # every line ends with CR LF, the last one too
    every = pa.LargeListArray.from_arrays([0, len(frame) + 2], pa.chunked_array(lines).combine_chunks())
    return codecs.BOM_UTF8 + pc.binary_join(every, pa.scalar("\r\n", pa.large_string()))[0].as_buffer().to_pybytes()


def _csv_values(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    """A column as the CSV writes it: text guarded, booleans in the form's words, integers as integers."""
    kind = field.get("type", "string")
    if kind == "string":
        return _guard_text_column(values)
    if kind == "boolean":
        yes, no = field.get("trueValues", ["true"])[0], field.get("falseValues", ["false"])[0]
        return values.map({True: yes, False: no})
    if kind == "integer":
        return values.astype("Int64")
    return values


def _cell_texts(values: pd.Series) -> tuple[pa.Array, bool] | None:
    """Each cell's text as pandas writes it (null: an empty cell) and whether it is text (numbers and dates never
    need quotes), or None for a kind of column left to pandas."""
    dtype = values.dtype
    if pd.api.types.is_integer_dtype(dtype):
        return pa.array(values, from_pandas=True).cast(pa.string()), False
    if pd.api.types.is_float_dtype(dtype):
        return _float_texts(pa.array(values, pa.float64(), from_pandas=True)), False
    if pd.api.types.is_datetime64_dtype(dtype):
        moments = pa.array(values, from_pandas=True)
        days = pc.cast(moments, pa.date32(), safe=False)
        if pc.all(pc.equal(days.cast(moments.type), moments)).as_py() is False:
            return None  # a time of day somewhere: pandas writes every cell with its time
        return days.cast(pa.string()), False  # every time midnight: pandas writes the date alone
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        try:
            texts = pa.array(values, pa.string(), from_pandas=True)  # chunked, from Arrow-backed text
            return (texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts), True
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a cell that is not text: str() of it, as pandas
            return None
    return None


def _float_texts(numbers: pa.Array) -> pa.Array:
    """``repr`` of each float, as pandas writes them (NaN: empty). Arrow's shortest digits are Python's where
    Python writes no exponent (1e-4 <= |x| < 1e16) and Arrow wrote none either, but for the ``.0`` of a whole
    number; the rest (an exponent either side, inf) are written by Python itself."""
    numbers = pc.if_else(pc.is_nan(numbers), pa.scalar(None, pa.float64()), numbers)
    texts = numbers.cast(pa.string())
    size = pc.abs(numbers)
    plain = pc.and_(
        pc.invert(pc.match_substring(texts, "e")),
        pc.or_(pc.equal(numbers, 0), pc.and_(pc.greater_equal(size, 1e-4), pc.less(size, 1e16))),
    )
    texts = pc.if_else(pc.equal(pc.floor(numbers), numbers), pc.binary_join_element_wise(texts, ".0", ""), texts)
    odd = pc.invert(pc.fill_null(plain, True))
    if pc.any(odd).as_py():
        written = [repr(x) for x in numbers.filter(odd).to_pylist()]
        texts = pc.replace_with_mask(texts, odd, pa.array(written, pa.string()))
    return texts


_CSV_SPECIAL = np.frombuffer(b',"\r\n', np.uint8)


def _csv_fields(texts: pa.Array) -> pa.Array:
    """Cells quoted as Python's csv module quotes them (QUOTE_MINIMAL): those holding , " CR or LF, quotes doubled."""
    data = texts.buffers()[2]
    if data is None or not np.isin(np.frombuffer(data, np.uint8), _CSV_SPECIAL).any():
        return texts  # no such byte anywhere in the column: one pass over its bytes, not a search a cell
    special = pc.fill_null(pc.match_substring(texts, ","), False)
    for character in '"\r\n':
        special = pc.or_(special, pc.fill_null(pc.match_substring(texts, character), False))
    if not pc.any(special).as_py():
        return texts
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(texts, '"', '""'), '"', "")
    return pc.if_else(special, quoted, texts)


def _pandas_csv(
    frame: pd.DataFrame, schema: dict[str, Any], suppressed: pd.DataFrame | None = None, marker: str = ""
) -> bytes:
    """:func:`csv_bytes` by pandas' writer: the reference, and the way of a column :func:`_cell_texts` leaves."""
    out = pd.DataFrame(index=frame.index)
    for field in schema["fields"]:
        values = _csv_values(frame[field["name"]], field)
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
