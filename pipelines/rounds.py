"""Monthly collection rounds, named in both calendars.

Field offices say "2563-10" (Buddhist Era), Dagster and analysts say "2020-10";
both name the same round, so everything that takes a round from a person goes
through :func:`parse_round` and everything stored uses :attr:`Round.key`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

BE_OFFSET = 543

THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
THAI_MONTHS_ABBR = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip

_ROUND_RE = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})\s*$")


@dataclass(frozen=True, order=True)
class Round:
    """One monthly round; ``year`` is Gregorian."""

    year: int
    month: int

    @property
    def key(self) -> str:
        """Gregorian ``YYYY-MM``: the Dagster partition key and storage name."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def be_key(self) -> str:
        """Buddhist Era ``YYYY-MM`` as field offices write it."""
        return f"{self.year + BE_OFFSET:04d}-{self.month:02d}"

    @property
    def label_th(self) -> str:
        return f"{THAI_MONTHS[self.month - 1]} {self.year + BE_OFFSET}"

    @property
    def label_en(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __str__(self) -> str:
        return f"{self.be_key} ({self.key})"


def parse_round(text: str) -> Round:
    """Read ``2563-10`` or ``2020-10`` (years above 2400 are B.E.)."""
    match = _ROUND_RE.match(text)
    if not match:
        raise ValueError(
            f"รอบข้อมูลไม่ถูกต้อง: {text!r} (ใช้ 2563-10 หรือ 2020-10) / invalid round {text!r}: use 2563-10 or 2020-10"
        )
    year, month = int(match.group(1)), int(match.group(2))
    if year > 2400:
        year -= BE_OFFSET
    if not 1 <= month <= 12 or not 1900 <= year <= 2200:
        raise ValueError(f"รอบข้อมูลไม่ถูกต้อง / invalid round: {text!r}")
    return Round(year, month)
