"""Cleaning what offices type: Thai digits, B.E. dates, separators, invisible characters.

Normalisation never guesses a value: it only rewrites spellings of the same
value (``๑,๒๓๔`` -> ``1234``, ``15 ต.ค. 2563`` -> ``2020-10-15``). Anything it
cannot read is passed on unchanged, so validation reports the office's own text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import pandas as pd

from pipelines.rounds import BE_OFFSET, THAI_MONTHS, THAI_MONTHS_ABBR

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")
_THAI_DATE = re.compile(r"(\d{1,2})\s*([ก-๙.]+)\s*(\d{4}|\d{2})")
_MONTH_BY_NAME = {
    name.replace(".", ""): number
    for number, names in enumerate(zip(THAI_MONTHS, THAI_MONTHS_ABBR, strict=True), start=1)
    for name in names
}


def clean_text(value: str) -> str | None:
    """NFC, no invisible characters, single spaces, trimmed; empty -> None."""
    value = _SPACES.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFC", value))).strip()
    return value or None


def header_key(value: str) -> str:
    """Header comparison ignores case, spaces and invisible characters."""
    return _SPACES.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFC", value))).casefold()


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # two-digit years on Thai forms are B.E. (63 = 2563)
        year += 2500
    return year - BE_OFFSET if year > 2400 else year


def normalise_date(value: str) -> str:
    """ISO, d/m/yyyy (B.E. or C.E.) or '15 ต.ค. 2563' -> ISO; unreadable stays as it is."""
    text = value.translate(THAI_DIGITS)
    if m := _ISO.fullmatch(text):
        year, month, day = _year(m[1]), int(m[2]), int(m[3])
    elif m := _DMY.fullmatch(text):
        day, month, year = int(m[1]), int(m[2]), _year(m[3])
    elif (m := _THAI_DATE.fullmatch(text)) and m[2].replace(".", "") in _MONTH_BY_NAME:
        day, month, year = int(m[1]), _MONTH_BY_NAME[m[2].replace(".", "")], _year(m[3])
    else:
        return value
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return value


def normalise_number(value: str) -> str:
    text = value.translate(THAI_DIGITS)
    return text.replace(",", "") if _THOUSANDS.fullmatch(text) else text


def _digits_only(value: str) -> str:
    return value.translate(THAI_DIGITS)


def normaliser_for(field: dict[str, Any]) -> Callable[[str], str] | None:
    """The type-specific rewrite for a field, applied after :func:`clean_text`."""
    kind = field.get("type", "string")
    if kind in ("integer", "number"):
        return normalise_number
    if kind == "date":
        return normalise_date
    if kind == "string" and "pattern" in field.get("constraints", {}):
        return _digits_only  # codes and phone numbers: Thai digits are still digits
    return None


def normalise_column(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    """Normalise a column once per distinct value (rounds repeat values a lot)."""
    rewrite = normaliser_for(field)
    mapping: dict[Any, str | None] = {}
    for raw in values.dropna().unique():
        text = clean_text(str(raw))
        mapping[raw] = rewrite(text) if (text is not None and rewrite) else text
    return values.map(mapping).astype(object).where(values.notna(), None)


HeaderMatcher = Callable[[list[str]], list[str | None]]


def header_matcher(fields: list[dict[str, Any]]) -> HeaderMatcher:
    """Build the test that says whether a row is the form's header, and maps its columns.

    A row is the header when at least three distinct form fields are named in it
    and they make up most of its non-empty cells (title rows name none or one).
    """
    lookup: dict[str, str] = {}
    for field in fields:
        for name in (field["name"], field.get("title"), field.get("title_th"), *field.get("aliases", [])):
            if name:
                lookup.setdefault(header_key(name), field["name"])

    def match(cells: list[str]) -> list[str | None]:
        mapped: list[str | None] = []
        seen: set[str] = set()
        for cell in cells:
            name = lookup.get(header_key(cell)) if cell else None
            mapped.append(name if name not in seen else None)
            if name:
                seen.add(name)
        filled = sum(1 for c in cells if c and c.strip())
        return mapped if len(seen) >= 3 and len(seen) >= 0.6 * filled else []

    return match
