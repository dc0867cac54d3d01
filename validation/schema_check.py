"""The Table Schema checks, run by ``frictionless`` itself: the reference definition of validity.

The primary key is left out by default: a village sent twice is expected (two
workers) and is settled by the duplicates rule, which keeps one row by a
documented order. ``keep_keys=True`` keeps it (the parity test uses that).

The DuckDB engine (``validation.schema_sql``) must give the same findings for
every row; the codes and details it uses come from here (``constraint_code``,
``constraint_detail``), so there is one mapping from a frictionless error to a
finding.

A cell longer than the collection's ``max_cell_length`` (the descriptor's
``maxCellLength``, see :func:`validation_descriptor`) is one ``value_too_long``
finding, and nothing else is said about that cell: its value is a short excerpt,
its detail the length (from ingest's mark when ingest cut the cell). Row-level
findings (a repeated primary key) still stand.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from frictionless import Checklist, Resource, Schema

from domain.limits import cut_length
from validation import custom_checks, findings

_CONSTRAINT = re.compile(r'constraint "(\w+)" is "(.*)"', re.DOTALL)
CONSTRAINT_CODES = {
    "required": "missing_value",
    "enum": "not_in_list",
    "minimum": "below_minimum",
    "maximum": "above_maximum",
    "exclusiveMinimum": "below_minimum",
    "exclusiveMaximum": "above_maximum",
    "minLength": "too_short",
    "maxLength": "too_long",
    "pattern": "pattern_mismatch",
}
#: frictionless row-level error types -> finding codes (no field: frictionless names none).
ROW_ERROR_CODES = {"unique-error": "not_unique", "primary-key": "duplicate_key", "blank-row": "blank_row"}


def constraint_code(name: str) -> str:
    return CONSTRAINT_CODES.get(name, "schema_error")


def constraint_detail(value: Any) -> str:
    """The constraint as frictionless prints it in its note (``str`` of the JSON value)."""
    return f"{value}"


def type_detail(field: dict[str, Any]) -> str:
    return f'type is "{field.get("type", "string")}/{field.get("format", "default")}"'


#: The descriptor key both engines read the cell length limit from (not a Table Schema key:
#: never handed to frictionless).
MAX_CELL_LENGTH = "maxCellLength"
TOO_LONG = "value_too_long"
EXCERPT = 40  # characters of a too-long cell kept as its finding's value


def validation_descriptor(
    schema: dict[str, Any], keep_keys: bool = False, max_cell_length: int | None = None
) -> dict[str, Any]:
    """The schema as both engines check it: without keys unless asked, with the cell length limit if given."""
    dropped = () if keep_keys else ("primaryKey", "foreignKeys")
    out = {k: v for k, v in schema.items() if k not in dropped}
    if max_cell_length is not None:
        out[MAX_CELL_LENGTH] = int(max_cell_length)
    return out


def validation_schema(schema: dict[str, Any], keep_keys: bool = False) -> Schema:
    descriptor = validation_descriptor(schema, keep_keys)
    descriptor.pop(MAX_CELL_LENGTH, None)
    return Schema.from_descriptor(descriptor)


def too_long_detail(text: str) -> str:
    """The length a too-long cell had in its file: ingest's mark when it cut the cell, else its own."""
    return cut_length(text) or f"{len(text):,}"


def too_long_value(text: str) -> str:
    return text[:EXCERPT] + "…"


def _too_long(
    data: list[list[Any]], names: list[str], index: pd.Index, limit: int | None
) -> tuple[list[tuple], set[tuple[int, str]]]:
    """``value_too_long`` findings and the (row id, field) cells they are about."""
    if limit is None:
        return [], set()
    rows, cells = [], set()
    for position, row in enumerate(data[1:]):
        for name, value in zip(names, row, strict=True):
            text = str(value)
            if len(text) > limit:
                row_id = int(index[position])
                rows.append((row_id, name, TOO_LONG, "schema", too_long_value(text), too_long_detail(text)))
                cells.add((row_id, name))
    return rows, cells


def schema_errors(frame: pd.DataFrame, schema: dict[str, Any], keep_keys: bool = False) -> pd.DataFrame:
    """Findings without messages (``findings.RAW_COLUMNS``); ``frame``'s index holds the row ids."""
    names = [f["name"] for f in schema["fields"]]
    data = [names, *frame[names].astype(object).where(frame[names].notna(), "").values.tolist()]
    long_rows, long_cells = _too_long(data, names, frame.index, schema.get(MAX_CELL_LENGTH))
    checklist = Checklist(checks=[custom_checks.declared_checks(pairs=custom_checks.declared(schema))])
    resource = Resource(data=data, schema=validation_schema(schema, keep_keys))
    report = resource.validate(checklist=checklist, limit_errors=0)
    position = {name: i for i, name in enumerate(names)}
    rows = []
    for row_number, field_name, error_type, note in report.flatten(["rowNumber", "fieldName", "type", "note"]):
        if row_number is None:  # a table-level error: the schema itself, not a row, is at fault
            raise ValueError(f"frictionless cannot validate with this schema: {error_type}: {note}")
        code, detail = "schema_error", note or ""
        if error_type == "type-error":
            code = "wrong_type"
        elif error_type == "constraint-error" and (m := _CONSTRAINT.match(note or "")):
            code, detail = constraint_code(m[1]), m[2]
        elif error_type == "custom-check":
            code = custom_checks.CHECKS[note].code
        elif error_type in ROW_ERROR_CODES:
            code = ROW_ERROR_CODES[error_type]
        # The text as received, not frictionless's typed value (a unique error prints "3" for "03").
        value = data[row_number - 1][position[field_name]] if field_name else ""
        row_id = int(frame.index[row_number - 2])
        if (row_id, field_name) not in long_cells:  # a too-long cell has that finding only
            rows.append((row_id, field_name or "", code, "schema", value, detail))
    return pd.DataFrame(rows + long_rows, columns=findings.RAW_COLUMNS).astype({"_row_id": "int64"})


def schema_findings(frame: pd.DataFrame, schema: dict[str, Any], keep_keys: bool = False) -> pd.DataFrame:
    """Findings for every cell that breaks the schema; ``frame``'s index holds the row ids."""
    return findings.with_messages(
        schema_errors(frame, schema, keep_keys), schema["fields"], limit=schema.get(MAX_CELL_LENGTH)
    )
