"""Monthly collection rounds, named in both calendars.

Field offices say "2563-10" (Buddhist Era), Dagster and analysts say "2020-10";
both name the same round, so everything that takes a round from a person goes
through :func:`parse_round` and everything stored uses :attr:`Round.key`.

A four-digit year from 1900 to 2399 is Gregorian and one from 2400 up is B.E.:
the two calendars are 543 years apart, so no year of this century can be read
both ways, and ``1999-01`` is January 1999 (B.E. 2542), never B.E. 1999.

:func:`parse_round` only reads a round; whether the programme can have data for
it is :func:`check_programme_round`'s question, asked where a person names a
round (the command line), so that library code and tests can still name any month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

BE_OFFSET = 543
FIRST_GREGORIAN_YEAR = 1900  #: below it a year is neither calendar's: a typo
FIRST_BE_YEAR = 2400  #: from it a year is B.E. (B.E. 2400 is 1857, long before any round)
TIMEZONE = ZoneInfo("Asia/Bangkok")  #: the partitions' timezone (pipelines/partitions.py): months turn in Bangkok

THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
THAI_MONTHS_ABBR = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip


def date_th(day: dt.date) -> str:
    """``4 พ.ย. 2563``: the Thai abbreviated month and the Buddhist Era year, as Thai documents write a date."""
    return f"{day.day} {THAI_MONTHS_ABBR[day.month - 1]} {day.year + BE_OFFSET}"


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


class RoundError(ValueError):
    """A round a person wrote that cannot be used, with the reason in Thai and in English.

    A ValueError, so library callers that catch ValueError keep working; the command line
    prints :attr:`message_th` and :attr:`message_en` on their own lines.
    """

    def __init__(self, message_th: str, message_en: str) -> None:
        super().__init__(f"{message_th} / {message_en}")
        self.message_th = message_th
        self.message_en = message_en


_EXAMPLE_TH = "เช่น 2563-10 (ตุลาคม 2563) หรือ 2020-10"
_EXAMPLE_EN = "e.g. 2563-10 (B.E., October 2020) or 2020-10"


def parse_round(text: str) -> Round:
    """Read ``2563-10`` or ``2020-10``: years 1900–2399 are Gregorian, 2400 and above B.E.

    Any month that exists is a round here (tests and library code name many); the programme's
    range is :func:`check_programme_round`'s business.
    """
    match = _ROUND_RE.match(text)
    if not match:
        raise RoundError(
            f"รอบข้อมูลไม่ถูกต้อง: {text!r} ให้เขียนเป็น ปี-เดือน {_EXAMPLE_TH}",
            f"invalid round {text!r}: write year-month, {_EXAMPLE_EN}",
        )
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise RoundError(
            f"รอบข้อมูลไม่ถูกต้อง: {text!r} ไม่มีเดือนที่ {month} (เดือนคือ 01 ถึง 12) {_EXAMPLE_TH}",
            f"invalid round {text!r}: there is no month {month} (months are 01 to 12), {_EXAMPLE_EN}",
        )
    if year < FIRST_GREGORIAN_YEAR:
        raise RoundError(
            f"รอบข้อมูลไม่ถูกต้อง: {text!r} ปี {year} ไม่ใช่ทั้ง พ.ศ. ({FIRST_BE_YEAR} ขึ้นไป) และ ค.ศ. "
            f"({FIRST_GREGORIAN_YEAR} ถึง {FIRST_BE_YEAR - 1}) {_EXAMPLE_TH}",
            f"invalid round {text!r}: year {year} is neither B.E. ({FIRST_BE_YEAR} and above) nor Gregorian "
            f"({FIRST_GREGORIAN_YEAR} to {FIRST_BE_YEAR - 1}), {_EXAMPLE_EN}",
        )
    if year >= FIRST_BE_YEAR:
        year -= BE_OFFSET
    return Round(year, month)


# -- the programme's months ----------------------------------------------------------------------------------------
#: Tambon Smart Team ran 1 Oct 2563 to 30 Sep 2564 B.E. (one fiscal year, 12 rounds); the Dagster
#: partitions start at its first month, so no round before it can be stored or run.
PROGRAMME_FIRST = Round(2020, 10)
PROGRAMME_LAST = Round(2021, 9)


def current_round(now: dt.datetime | None = None) -> Round:
    """This month in Bangkok: the newest round Dagster has a partition for (``end_offset=1``)."""
    moment = (now or dt.datetime.now(TIMEZONE)).astimezone(TIMEZONE)
    return Round(moment.year, moment.month)


def check_programme_round(round_: Round, latest: Round | None = None) -> str | None:
    """Refuse a round that can hold no data; warn (return the text) for one after the programme's year.

    Before :data:`PROGRAMME_FIRST` no file was collected and no Dagster partition exists; after
    ``latest`` (default: :func:`current_round`) the month has not begun, so neither has its
    partition. Between :data:`PROGRAMME_LAST` and ``latest`` collections may go on after the
    programme's funded year, so the round is allowed and the warning says it is outside it.
    """
    latest = latest or current_round()
    valid_th = f"รอบที่ใช้ได้คือ {PROGRAMME_FIRST.be_key} ถึง {latest.be_key} (เดือนปัจจุบัน)"
    first, last = PROGRAMME_FIRST, latest
    valid_en = f"valid rounds are {first.be_key} ({first.key}) to {last.be_key} ({last.key}, this month)"
    named_en = f"round {round_.key} ({round_.label_en}, B.E. {round_.be_key})"
    if round_ < PROGRAMME_FIRST:
        raise RoundError(
            f"รอบ {round_.be_key} ({round_.label_th}) อยู่ก่อนเริ่มโครงการพัฒนาตำบลแบบบูรณาการ "
            f"({PROGRAMME_FIRST.label_th}) จึงไม่มีข้อมูล {valid_th} เช่น {PROGRAMME_FIRST.be_key}",
            f"{named_en} is before the Tambon Smart Team programme began ({PROGRAMME_FIRST.label_en}), "
            f"so it holds no data; {valid_en}, e.g. {PROGRAMME_FIRST.be_key}",
        )
    if round_ > latest:
        raise RoundError(
            f"รอบ {round_.be_key} ({round_.label_th}) ยังมาไม่ถึง {valid_th}",
            f"{named_en} has not begun yet; {valid_en}",
        )
    if round_ > PROGRAMME_LAST:
        return (
            f"หมายเหตุ: รอบ {round_.be_key} อยู่หลังปีงบประมาณของโครงการ ({PROGRAMME_FIRST.be_key} ถึง "
            f"{PROGRAMME_LAST.be_key}) ประมวลผลต่อได้ตามปกติ / note: round {round_} is after the programme's year "
            f"({PROGRAMME_FIRST.be_key} to {PROGRAMME_LAST.be_key}); it is processed as usual"
        )
    return None
