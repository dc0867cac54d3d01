"""The published CSV is made in Arrow, byte for byte what pandas' ``to_csv`` writes of the same columns.

pandas' writer is the reference (``_pandas_csv``): the bytes are what versions a round by their hash,
so a faster writer must not change one of them. Every kind of column the aggregates and the quality
tables hold is written both ways: text to quote and to guard, Thai, every kind of missing value,
integers as floats, floats of every size (where Python writes an exponent and Arrow does not, and
the other way round), dates, booleans in the form's words, suppressed cells. A column Arrow is not
known to write alike (a time of day, numbers held as Python objects) sends the table to pandas.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from catalog import files
from catalog.files import _pandas_csv, csv_bytes

SCHEMA = {
    "fields": [
        {"name": "code", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "households", "type": "integer"},
        {"name": "share", "type": "number"},
        {"name": "surveyed", "type": "date"},
        {"name": "water", "type": "boolean", "trueValues": ["มี"], "falseValues": ["ไม่มี"]},
    ]
}
TEXTS = [
    "บ้านหนองบัว",
    'say "hi", then',
    "two\r\nlines",
    "only\nLF",
    "cr\ronly",
    "=SUM(A1:A2)",
    "-5",
    " @x",
    "'quoted",
    "",
    None,
    np.nan,
    "plain",
    ",",
]


def _floats(n: int) -> np.ndarray:
    rng = np.random.default_rng(16)
    edge = [0.0, -0.0, 1e-4, 9.999e-5, 1e-5, 1e15, 1e16, 9999999999999998.0, 72766003461.63582, 0.1, 1 / 3]
    edge += [float("inf"), -float("inf"), float("nan"), 5e-324, 1.7976931348623157e308, 252.0, 12.5]
    drawn = [
        rng.random(n) * 100,
        np.round(rng.random(n) * 1000, 2),
        rng.normal(0, 1e12, n),
        10.0 ** rng.integers(-12, 25, n) * rng.random(n),
    ]
    return np.concatenate([edge, rng.permutation(np.concatenate(drawn))])  # the edge cases first


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(2563)
    share = _floats(rows)[:rows]
    return pd.DataFrame(
        {
            "code": pd.Series([f"{i:08d}" for i in range(rows)], dtype=object),
            "name": pd.Series([TEXTS[i % len(TEXTS)] for i in range(rows)], dtype=object),
            "households": pd.Series(rng.integers(0, 5000, rows).astype(float)),  # an integer column gone float
            "share": pd.Series(share),
            "surveyed": pd.Series(pd.to_datetime("2020-10-01") + pd.to_timedelta(rng.integers(0, 30, rows), "D")),
            "water": pd.Series(rng.integers(0, 2, rows).astype(bool)),
        }
    )


def _both(frame: pd.DataFrame, schema: dict = SCHEMA, suppressed=None, marker: str = "") -> bytes:
    written = csv_bytes(frame, schema, suppressed, marker)
    assert written == _pandas_csv(frame, schema, suppressed, marker)
    return written


def test_a_table_of_every_kind_of_column_is_written_byte_for_byte_as_pandas_writes_it():
    frame = _frame(4_000)
    written = _both(frame)
    assert written.startswith(b"\xef\xbb\xbfcode,name,households") and written.endswith(b"\r\n")
    assert b'"say ""hi"", then"' in written and b'"two\r\nlines"' in written and b"'=SUM(A1:A2)" in written
    assert "บ้านหนองบัว,".encode() in written and b",1e-05," in written and b",252.0," in written


def test_nullable_columns_missing_values_and_an_empty_table_are_written_as_pandas_writes_them():
    frame = pd.DataFrame(
        {
            "code": pd.Series(["10", None, "11", pd.NA], dtype="string"),
            "name": pd.Series(["a", None, np.nan, "b,c"], dtype=object),
            "households": pd.Series([3, None, 0, 7], dtype="Int64"),
            "share": pd.Series([0.5, None, 1e-05, 2.0], dtype="Float64"),
            "surveyed": pd.Series([pd.Timestamp("2020-10-01"), pd.NaT, pd.Timestamp("2020-10-31"), pd.NaT]),
            "water": pd.Series([True, None, False, True], dtype="boolean"),
        }
    )
    written = _both(frame)
    assert written.split(b"\r\n")[2] == b",,,,,"  # a row of missing values: every cell empty
    assert _both(frame.astype({"code": "string[pyarrow]", "name": "string[pyarrow]"})) == written
    assert _both(frame.iloc[:0]) == "\ufeffcode,name,households,share,surveyed,water\r\n".encode()


@pytest.mark.parametrize("marker", ["", "x", "<5", "a,b"])
def test_suppressed_cells_are_written_as_the_marker(marker):
    frame = _frame(50)
    suppressed = pd.DataFrame({"households": np.arange(50) % 3 == 0, "share": np.arange(50) % 5 == 0})
    written = _both(frame, suppressed=suppressed, marker=marker)
    if marker:
        assert (f'"{marker}"' if "," in marker else marker).encode() in written


def test_a_column_arrow_is_not_known_to_write_alike_sends_the_table_to_pandas(monkeypatch):
    called = []
    real = files._pandas_csv
    monkeypatch.setattr(files, "_pandas_csv", lambda *args: called.append(1) or real(*args))
    timed = _frame(20)
    timed["surveyed"] = pd.to_datetime("2020-10-01 08:30") + pd.to_timedelta(np.arange(20), "D")  # a time of day
    mixed = _frame(20)
    mixed["share"] = pd.Series([0.5, None, dt.date(2020, 1, 1)] * 6 + [1.0, 2.0], dtype=object)  # not numbers
    objects = _frame(20)
    objects["name"] = pd.Series([1, "a"] * 10, dtype=object)  # a text column holding a number
    for frame in (timed, mixed, objects):
        assert csv_bytes(frame, SCHEMA) == real(frame, SCHEMA)
    assert len(called) == 3
    assert b"2020-10-01 08:30:00" in csv_bytes(timed, SCHEMA)
