"""A published table's Arrow columns: each Table Schema type from the pandas column it comes in, missing as null."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from catalog.files import arrow_table, parquet_bytes

SCHEMA = {
    "fields": [
        {"name": "code", "type": "string"},
        {"name": "households", "type": "integer"},
        {"name": "share", "type": "number"},
        {"name": "surveyed", "type": "date"},
        {"name": "water", "type": "boolean"},
    ]
}


def _frame(**columns: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_each_type_keeps_its_values_and_every_kind_of_missing_value_is_null():
    frames = [
        # as the aggregates come: nullable integers, floats, Arrow strings, dates as text
        _frame(
            code=pd.Series(["10", None, "11"], dtype="string[pyarrow]"),
            households=pd.Series([3, None, 0], dtype="Int64"),
            share=pd.Series([0.5, np.nan, 1e-05]),
            surveyed=pd.Series(["2020-10-01", None, "2020-10-31"]),
            water=pd.Series([True, None, False], dtype="boolean"),
        ),
        # as a frame of Python objects comes (a suppressed count made None, an integer column gone float)
        _frame(
            code=pd.Series(["10", np.nan, "11"], dtype=object),
            households=pd.Series([3.0, np.nan, 0.0]),
            share=pd.Series([0.5, None, 1e-05], dtype=object),
            surveyed=pd.Series([dt.date(2020, 10, 1), pd.NaT, dt.date(2020, 10, 31)], dtype=object),
            water=pd.Series([True, None, False], dtype=object),
        ),
    ]
    expected = {
        "code": ["10", None, "11"],
        "households": [3, None, 0],
        "share": [0.5, None, 1e-05],
        "surveyed": [dt.date(2020, 10, 1), None, dt.date(2020, 10, 31)],
        "water": [True, None, False],
    }
    tables = [arrow_table(frame, SCHEMA, {"tambon:dataset": "x"}) for frame in frames]
    for table in tables:
        assert table.to_pydict() == expected
        assert table.schema.field("households").type == pa.int64()
        assert table.schema.field("surveyed").type == pa.date32()
        assert table.schema.metadata[b"tambon:dataset"] == b"x"
    assert parquet_bytes(tables[0]) == parquet_bytes(tables[1])  # the same values, the same published bytes
