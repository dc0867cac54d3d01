"""Field checks a Table Schema cannot express, named by a field's ``"checks": [...]`` key.

Each check exists twice on purpose, because both validation engines must report
it: a ``frictionless`` :class:`Check` (the reference, selectable with TAMBON_VALIDATOR) and
an SQL predicate (the DuckDB engine, ``auto``'s choice). The parity test compares
the two on the same cells. A check only looks at a cell that is otherwise valid
(present, of the right type, within its constraints): a missing or malformed
value is already reported once, and a second finding would only be noise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import attrs
from frictionless import Check, errors


def citizen_id_valid(digits: str) -> bool:
    """DOPA check digit: (11 - sum(d_i * (14 - i)) mod 11) mod 10, i = 1..12."""
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(d) * (13 - i) for i, d in enumerate(digits[:12]))
    return (11 - total % 11) % 10 == int(digits[12])


def _citizen_id_number_sql(cell: str) -> str:
    return f"TRY_CAST({cell} AS BIGINT)"


def _citizen_id_invalid_sql(cell: str, number: str | None = None) -> str:
    """True when ``cell`` (an SQL VARCHAR expression) is not a valid citizen ID: same rule as above.

    Thirteen ASCII digits (GLOB, exact), then the check digit from the number they spell:
    with P_k the number of the first k digits, sum(d_i * (14 - i)) = 2 P_12 + sum over
    k = 1..11 of (9k - 116) P_k, and 121 P_k added to each term keeps the sum modulo 11
    while making every weight positive. Eleven divisions instead of cutting the string
    into 13 pieces or taking 24 digits apart (on 12.8 million IDs, integer arithmetic is
    what costs). ``number``, when given, is ``_citizen_id_number_sql(cell)`` computed
    once for the row.
    """
    number = number or _citizen_id_number_sql(cell)
    prefixes = [f"{9 * k + 5} * ({number} // {10 ** (13 - k)})" for k in range(1, 12)]
    total = " + ".join([f"2 * ({number} // 10)", *prefixes])
    digits = "[0-9]" * 13
    return f"(NOT coalesce({cell} GLOB '{digits}', false) OR (11 - ({total}) % 11) % 10 <> {number} % 10)"


@dataclass(frozen=True)
class CustomCheck:
    """A named cell check: its finding code, a Python test and the same test in SQL."""

    name: str
    code: str
    valid: Callable[[Any], bool]  # on the typed value frictionless reads
    #: SQL boolean over a typed-value expression, optionally given the prepared value
    invalid_sql: Callable[[str, str | None], str]
    #: an SQL expression over the cell that ``invalid_sql`` uses several times: DuckDB computes
    #: a repeated expression each time, so the fast path computes it once as a column
    prepare_sql: Callable[[str], str] | None = None
    #: a ``pattern`` constraint that every cell passing this check matches: the fast path
    #: need not test that pattern as well
    implies_pattern: str | None = None


CHECKS: dict[str, CustomCheck] = {
    "thai_citizen_id": CustomCheck(
        name="thai_citizen_id",
        code="invalid_checksum",
        valid=lambda value: citizen_id_valid(str(value)),
        invalid_sql=_citizen_id_invalid_sql,
        prepare_sql=_citizen_id_number_sql,
        implies_pattern="[0-9]{13}",
    ),
}


class CustomCheckError(errors.CellError):
    """The error a custom check reports; ``note`` is the check's name, which maps to its code."""

    type = "custom-check"
    title = "Custom Check"
    description = "A value fails a check declared by the field's 'checks' key."
    template = 'The cell "{cell}" in field "{fieldName}" fails the check "{note}"'


def declared(schema: dict[str, Any]) -> list[tuple[str, CustomCheck]]:
    """(field name, check) for every check the schema's fields name; an unknown name is an error."""
    pairs = []
    for field in schema["fields"]:
        for name in field.get("checks", []):
            if name not in CHECKS:
                raise ValueError(f"field {field['name']!r}: unknown check {name!r} (known: {sorted(CHECKS)})")
            pairs.append((field["name"], CHECKS[name]))
    return pairs


@attrs.define(kw_only=True, repr=False)
class declared_checks(Check):
    """Runs every custom check the schema declares, inside ``frictionless`` validation.

    Skips a cell that already has a type or constraint error in this row, as the
    SQL engine does, so each cell is reported for its first real problem only.
    """

    type = "declared-checks"
    Errors: ClassVar[list[type[errors.Error]]] = [CustomCheckError]

    pairs: list[tuple[str, CustomCheck]] = attrs.field(factory=list)

    def validate_row(self, row: Any) -> Iterable[errors.Error]:
        faulty = {e.field_name for e in row.errors if isinstance(e, (errors.TypeError, errors.ConstraintError))}
        for field_name, check in self.pairs:
            value = row[field_name]
            if value is None or field_name in faulty or check.valid(value):
                continue
            yield CustomCheckError.from_row(row, note=check.name, field_name=field_name)
