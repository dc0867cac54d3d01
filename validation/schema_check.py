"""The Table Schema checks, run by ``frictionless`` itself: the reference definition of validity.

The primary key is left out here: a village sent twice is expected (two workers)
and is settled by the duplicates rule, which keeps one row by a documented order.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from frictionless import Resource, Schema

from validation import findings

_CONSTRAINT = re.compile(r'constraint "(\w+)" is "(.*)"')
_CONSTRAINT_CODES = {
    "required": "missing_value",
    "enum": "not_in_list",
    "minimum": "below_minimum",
    "maximum": "above_maximum",
    "pattern": "pattern_mismatch",
}


def validation_schema(schema: dict[str, Any]) -> Schema:
    descriptor = {k: v for k, v in schema.items() if k not in ("primaryKey", "foreignKeys")}
    return Schema.from_descriptor(descriptor)


def schema_findings(frame: pd.DataFrame, schema: dict[str, Any]) -> pd.DataFrame:
    """Findings for every cell that breaks the schema; ``frame`` rows are positional row ids."""
    names = [f["name"] for f in schema["fields"]]
    by_name = {f["name"]: f for f in schema["fields"]}
    data = [names, *frame[names].astype(object).where(frame[names].notna(), "").values.tolist()]
    report = Resource(data=data, schema=validation_schema(schema)).validate(limit_errors=0)
    parts = []
    for error in report.flatten(["rowNumber", "fieldName", "type", "cell", "note"]):
        row_number, field_name, error_type, cell, note = error
        code, detail = "schema_error", note
        if error_type == "type-error":
            code = "wrong_type"
        elif error_type == "constraint-error" and (m := _CONSTRAINT.match(note or "")):
            code, detail = _CONSTRAINT_CODES.get(m[1], "schema_error"), m[2]
        parts.append(
            findings.make([frame.index[row_number - 2]], code, "schema", by_name.get(field_name), cell, detail)
        )
    return findings.concat(parts)
