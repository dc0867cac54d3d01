"""The last gate before anything is public: refuse to publish personal data.

Three independent tests on every outgoing table: a column that the schema marks
personal, sensitive or internal; a value equal to one held in such a field this
round (names, worker ids); and anything that looks like a Thai mobile number or
a 13-digit citizen ID with a valid check digit, wherever it hides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

PHONE = re.compile(r"(?<!\d)0[689]\d{8}(?!\d)")
DIGITS13 = re.compile(r"(?<!\d)\d{13}(?!\d)")


def citizen_id_valid(digits: str) -> bool:
    """DOPA check digit: (11 - sum(d_i * (14 - i)) mod 11) mod 10, i = 1..12."""
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(d) * (13 - i) for i, d in enumerate(digits[:12]))
    return (11 - total % 11) % 10 == int(digits[12])


@dataclass(frozen=True)
class Leak:
    table: str
    column: str
    kind: str  # private_column | private_value | phone_number | citizen_id

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.kind}"


class PrivacyError(RuntimeError):
    """Raised instead of publishing; names every table and column at fault."""

    def __init__(self, leaks: list[Leak]) -> None:
        self.leaks = leaks
        listed = "; ".join(map(str, leaks))
        super().__init__(f"ไม่เผยแพร่: พบข้อมูลส่วนบุคคลใน {listed} / refused to publish: personal data found in {listed}")


def scan_table(table: str, frame: pd.DataFrame, private_columns: Iterable[str], private_values: set[str]) -> list[Leak]:
    leaks = [Leak(table, c, "private_column") for c in frame.columns if c in set(private_columns)]
    for column in frame.columns:
        values = frame[column].dropna()
        if values.dtype.kind in "fbcmM":  # floats, booleans and timestamps cannot hold these
            continue
        distinct = {str(v) for v in pd.unique(values)}
        if distinct & private_values:
            leaks.append(Leak(table, column, "private_value"))
        if any(PHONE.search(v) for v in distinct):
            leaks.append(Leak(table, column, "phone_number"))
        if any(citizen_id_valid(m) for v in distinct for m in DIGITS13.findall(v)):
            leaks.append(Leak(table, column, "citizen_id"))
    return leaks


def private_values_of(frame: pd.DataFrame, columns: Iterable[str]) -> set[str]:
    """Every non-empty value held in the private fields this round (what must not reappear)."""
    out: set[str] = set()
    for column in columns:
        if column in frame:
            out.update(str(v) for v in frame[column].dropna().unique() if str(v).strip())
    return out
