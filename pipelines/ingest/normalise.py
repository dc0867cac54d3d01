"""Cleaning what offices type: Thai digits, B.E. dates, separators, invisible characters.

Normalisation never guesses a value: it only rewrites spellings of the same
value (``๑,๒๓๔`` -> ``1234``, ``15 ต.ค. 2563`` -> ``2020-10-15``). Anything it
cannot read is passed on unchanged, so validation reports the office's own text.

Received rows are normalised by :class:`Normaliser`: DuckDB SQL over whole batches
of rows. The Python functions (:func:`clean_text`, :func:`normalise_number`,
:func:`normalise_date`) define what it must give; ``clean_text`` is also what finds
headers and blank rows in XLSX sheets and irregular CSV files, the date and number
functions are kept as the reference the SQL is tested against.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import unicodedata
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from domain import python_text
from domain.rounds import BE_OFFSET, THAI_MONTHS, THAI_MONTHS_ABBR

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


def rewrite_kind(field: dict[str, Any]) -> str | None:
    """Which type-specific rewrite a field gets after :func:`clean_text`: number, date, digits or none."""
    kind = field.get("type", "string")
    if kind in ("integer", "number"):
        return "number"
    if kind == "date":
        return "date"
    if kind == "string" and "pattern" in field.get("constraints", {}):
        return "digits"  # codes and phone numbers: Thai digits are still digits
    return None


def normaliser_for(field: dict[str, Any]) -> Callable[[str], str] | None:
    """The type-specific rewrite for a field, applied after :func:`clean_text` (the Python reference)."""
    return {"number": normalise_number, "date": normalise_date, "digits": _digits_only, None: None}[rewrite_kind(field)]


def normalise_column(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    """One column through the :class:`Normaliser` (None for empty)."""
    frame = pa.table({"value": pa.array(values.astype(object).where(values.notna(), None).tolist(), pa.string())})
    out = Normaliser([{**field, "name": "value"}])(frame).column("value").to_pylist()
    return pd.Series(out, index=values.index, dtype=object)


HeaderMatcher = Callable[[list[str]], list[str | None]]

#: :func:`header_key` remembered: the same few dozen column titles head every file of a round, and the first
#: rows of every file are tested against the form (thousands of files, a few microseconds a cell otherwise).
_cached_header_key = functools.lru_cache(maxsize=1 << 14)(header_key)


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
    longest = max(map(len, lookup), default=0)

    def match(cells: list[str]) -> list[str | None]:
        filled = sum(1 for c in cells if c and c.strip())
        if 0.6 * filled > len(fields):  # even every field named would not be most cells: not keyed one by one
            return []
        mapped: list[str | None] = []
        seen: set[str] = set()
        for cell in cells:
            # a cell several times longer than any name (a million-character title) is no name
            name = lookup.get(_cached_header_key(cell)) if cell and len(cell) <= 4 * longest + 64 else None
            mapped.append(name if name not in seen else None)
            if name:
                seen.add(name)
        return mapped if len(seen) >= 3 and len(seen) >= 0.6 * filled else []

    return match


# --- The normaliser of received rows: the rewrites above as DuckDB SQL over whole batches -------------------------
#
# Python's ``\s`` and ``\d`` are Unicode (RE2's are ASCII), so the character classes are built from Python itself.
# The SQL is checked against the Python functions by tests/unit/test_ingest_normaliser.py.


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@functools.cache
def _classes() -> dict[str, str]:
    spaces, digits = python_text.spaces(), python_text.decimal_digits()
    invisible = sorted(ord(c) for c in _INVISIBLE.pattern.strip("[]"))
    return {
        "space": python_text.re2_class(spaces),
        "invisible": python_text.re2_class(invisible),
        "blank": python_text.re2_class(blank_cell_codes()),
        "digit": python_text.re2_class(digits),
        "digit_from": "".join(chr(c) for c in digits),
        "digit_to": "".join(str(unicodedata.decimal(chr(c))) for c in digits),
    }


def blank_cell_codes() -> list[int]:
    """Code points :func:`clean_text` drops: spaces (what ``\\s`` matches) and the invisible characters."""
    return sorted(set(python_text.spaces()) | {ord(c) for c in _INVISIBLE.pattern.strip("[]")})


def blank_cell_pattern() -> str:
    """RE2 pattern of a cell :func:`clean_text` makes None: whitespace and invisible characters only."""
    return f"^{_classes()['blank']}*$"


def _clean_sql(column: str) -> str:
    c = _classes()
    without_invisible = f"regexp_replace(nfc_normalize({column}), '{c['invisible']}', '', 'g')"
    return f"nullif(trim(regexp_replace({without_invisible}, '{c['space']}+', ' ', 'g'), ' '), '')"


def _thai_digits_sql(text: str) -> str:
    return f"translate({text}, '๐๑๒๓๔๕๖๗๘๙', '0123456789')"


def _number_sql(text: str) -> str:
    """``text`` has ASCII for Thai digits already."""
    d = _classes()["digit"]
    thousands = f"[+-]?{d}{{1,3}}(?:,{d}{{3}})+(?:\\.{d}+)?"
    return f"CASE WHEN regexp_full_match({text}, '{thousands}') THEN replace({text}, ',', '') ELSE {text} END"


def _int_sql(digits: str) -> str:
    """int() of a run of Unicode decimal digits (ASCII almost always)."""
    c = _classes()
    other = f"translate({digits}, {_literal(c['digit_from'])}, '{c['digit_to']}')"
    return f"CAST(CASE WHEN regexp_full_match({digits}, '[0-9]+') THEN {digits} ELSE {other} END AS BIGINT)"


def _date_sql(cleaned: str) -> str:
    """:func:`normalise_date` of the cleaned text ``cleaned``, as a query over the table ``date_values``."""
    c = _classes()
    d, s = c["digit"], c["space"]
    iso = f"^({d}{{4}})-({d}{{1,2}})-({d}{{1,2}})(?:[T ]00:00(?::00)?)?$"
    dmy = f"^({d}{{1,2}})[/.-]({d}{{1,2}})[/.-]({d}{{4}}|{d}{{2}})$"
    thai = f"^({d}{{1,2}}){s}*([\\x{{e01}}-\\x{{e59}}.]+){s}*({d}{{4}}|{d}{{2}})$"
    names = ", ".join(_literal(name) for name in _MONTH_BY_NAME)
    numbers = ", ".join(str(n) for n in _MONTH_BY_NAME.values())
    year = "(CASE WHEN length(y) = 2 THEN 2500 ELSE 0 END + yi)"
    return f"""
        WITH parts AS (
            SELECT {cleaned} AS value, {_thai_digits_sql(cleaned)} AS t FROM date_values
        ), matched AS (
            SELECT value,
                   CASE WHEN regexp_full_match(t, '{iso}') THEN regexp_extract(t, '{iso}', ['y', 'm', 'd'])
                        WHEN regexp_full_match(t, '{dmy}') THEN regexp_extract(t, '{dmy}', ['d', 'm', 'y'])
                        WHEN regexp_full_match(t, '{thai}') THEN regexp_extract(t, '{thai}', ['d', 'm', 'y'])
                   END AS g,
                   regexp_full_match(t, '{iso}') OR regexp_full_match(t, '{dmy}') AS numeric_month
            FROM parts
        ), texts AS (
            SELECT value, g.y AS y, g.d AS d,
                   CASE WHEN numeric_month THEN {_int_sql("g.m")}
                        ELSE list_extract([{numbers}], list_position([{names}], replace(g.m, '.', '')))
                   END AS mi
            FROM matched
        ), ints AS (
            SELECT value, y, mi, {_int_sql("y")} AS yi, {_int_sql("d")} AS di FROM texts
        ), ymd AS (
            SELECT value, CASE WHEN {year} > 2400 THEN {year} - {BE_OFFSET} ELSE {year} END AS yy, mi AS mm, di AS dd
            FROM ints
        )
        SELECT CASE WHEN yy BETWEEN 1 AND 9999 AND mm BETWEEN 1 AND 12 AND dd BETWEEN 1 AND
                         CASE WHEN mm = 2 THEN CASE WHEN yy % 4 = 0 AND (yy % 100 <> 0 OR yy % 400 = 0)
                                                    THEN 29 ELSE 28 END
                              WHEN mm IN (4, 6, 9, 11) THEN 30 ELSE 31 END
                    THEN lpad(CAST(yy AS VARCHAR), 4, '0') || '-' || lpad(CAST(mm AS VARCHAR), 2, '0') || '-'
                         || lpad(CAST(dd AS VARCHAR), 2, '0')
                    ELSE value END AS value
        FROM ymd
    """


def _name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kind_sql(kind: str | None) -> str:
    """The whole rewrite of one kind of field, as a query over the table ``raw_values(value)``."""
    cleaned = f"SELECT {_clean_sql('value')} AS value FROM raw_values"
    if kind == "date":
        return _date_sql("value").replace("FROM date_values", f"FROM ({cleaned})")
    if kind == "digits":
        return f"SELECT {_thai_digits_sql('value')} AS value FROM ({cleaned})"
    if kind == "number":
        digits = f"SELECT {_thai_digits_sql('value')} AS value FROM ({cleaned})"
        return f"SELECT {_number_sql('value')} AS value FROM ({digits})"
    return cleaned


@functools.cache
def _thai_patterns() -> dict[str, str]:
    """RE2 patterns of Thai text that every rewrite leaves as it is (see :func:`_unchanged`)."""
    thai = [c for c in range(0x0E01, 0x0E5C) if unicodedata.category(chr(c)) != "Cn"]
    digits = [c for c in thai if unicodedata.category(chr(c)) == "Nd"]
    marks = {c: unicodedata.combining(chr(c)) for c in thai if unicodedata.combining(chr(c))}
    # NFC reorders a combining mark that follows one of a lower class (tone mark then sara u): such text is not plain
    out_of_order = "|".join(
        f"\\x{{{a:x}}}{python_text.re2_class(sorted(b for b in marks if marks[b] < marks[a]))}"
        for a in sorted(marks)
        if any(marks[b] < marks[a] for b in marks)
    )

    def words(codes: list[int]) -> str:
        letters = f"[!-~{python_text.re2_class(codes)[1:-1]}]"
        return f"^{letters}+(?: {letters}+)*$"

    return {
        "text": words(thai),
        "no_thai_digits": words([c for c in thai if c not in digits]),
        "out_of_order": out_of_order,
    }


_ASCII_SPACES = "[\\x09-\\x0d\\x1c-\\x20]+"  # Python's \s, within ASCII
_ASCII_THOUSANDS = r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$"


def _ascii_rewrite(values: pa.Array, kind: str | None) -> pa.Array:
    """The whole rewrite of ASCII values, in Arrow: NFC and invisible characters do not arise, no Thai digits."""
    cleaned = pc.utf8_trim(pc.replace_substring_regex(values, _ASCII_SPACES, " "), " ")
    cleaned = pc.if_else(pc.equal(pc.binary_length(cleaned), 0), pa.scalar(None, pa.string()), cleaned)
    if kind == "number":
        grouped = pc.fill_null(pc.match_substring_regex(cleaned, _ASCII_THOUSANDS), False)
        cleaned = pc.if_else(grouped, pc.replace_substring(cleaned, ",", ""), cleaned)
    return cleaned


def _thai_digits_to_ascii(values: pa.Array) -> pa.Array:
    for thai, ascii_ in zip("๐๑๒๓๔๕๖๗๘๙", "0123456789", strict=True):
        values = pc.replace_substring(values, thai, ascii_)
    return values


def _plain_thai(values: pa.Array, kind: str | None) -> pa.Array:
    """Which (non-ASCII) values are Thai and ASCII words every rewrite leaves as they are.

    Single inner spaces, no Thai digit where digits are rewritten, combining marks already in NFC order.
    """
    patterns = _thai_patterns()
    words = patterns["text"] if kind is None else patterns["no_thai_digits"]
    return pc.and_(
        pc.match_substring_regex(values, words), pc.invert(pc.match_substring_regex(values, patterns["out_of_order"]))
    )


class Normaliser:
    """Normalise batches of received rows: an Arrow table of raw text, one column per field, in and out.

    Each distinct value of a column in the batch is rewritten once: ASCII in Arrow (the same rules, where
    they reduce to whitespace and thousands separators), Thai words Arrow can show are already clean kept,
    everything else (and every date) in DuckDB SQL. Nothing is done cell by cell in Python.
    """

    def __init__(self, fields: list[dict[str, Any]], threads: int | None = None) -> None:
        self.names = [f["name"] for f in fields]
        self.kinds = {f["name"]: rewrite_kind(f) for f in fields}
        self._sql = {kind: _kind_sql(kind) for kind in set(self.kinds.values())}
        self._con = duckdb.connect(config={"threads": threads} if threads else {})
        self._lock = threading.Lock()

    def __call__(self, table: pa.Table) -> pa.Table:
        """The same rows in the same order, every field normalised (None for empty)."""
        columns = [self.column(table.column(name), self.kinds[name]) for name in self.names]
        return pa.Table.from_arrays(columns, names=self.names)

    def column(self, values: pa.ChunkedArray | pa.Array, kind: str | None) -> pa.Array:
        """One column: codes and counts (ASCII letters and digits) stay; other values are rewritten once each."""
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        if values.type != pa.string():
            values = values.cast(pa.string())
        if kind == "date":
            rest = pc.is_valid(values)
        else:
            rest = pc.invert(pc.fill_null(pc.ascii_is_alnum(values), True))
            if not pc.any(rest).as_py():
                return values
        if rest.true_count == len(values) - values.null_count:  # every value (Thai text, dates): no filter, no mask
            encoded = pc.dictionary_encode(values)
            return pc.take(self.distinct(encoded.dictionary, kind), encoded.indices)
        encoded = pc.dictionary_encode(values.filter(rest))
        rewritten = pc.take(self.distinct(encoded.dictionary, kind), encoded.indices)
        return pc.replace_with_mask(values, rest, rewritten)

    def distinct(self, values: pa.Array, kind: str | None) -> pa.Array:
        """Rewrite distinct non-null values: ASCII in Arrow, plain Thai words kept, the rest (and dates) in SQL."""
        if kind == "date":
            return self._sql_rewrite(values, kind)
        ascii_ = pc.string_is_ascii(values)
        out = pc.replace_with_mask(values, ascii_, _ascii_rewrite(values.filter(ascii_), kind))
        todo = pc.invert(ascii_)
        if kind in ("number", "digits") and pc.any(todo).as_py():
            # ASCII but for Thai digits: the digits first changes nothing else (they are neither spaces nor marks)
            digits = _thai_digits_to_ascii(values.filter(todo))
            now_ascii = pc.string_is_ascii(digits)
            done = pc.replace_with_mask(digits, now_ascii, _ascii_rewrite(digits.filter(now_ascii), kind))
            out = pc.replace_with_mask(out, todo, done)
            todo = pc.replace_with_mask(todo, todo, pc.invert(now_ascii))
        if not pc.any(todo).as_py():
            return out
        todo = pc.and_(todo, pc.invert(_plain_thai(values, kind)))
        if not pc.any(todo).as_py():
            return out
        return pc.replace_with_mask(out, todo, self._sql_rewrite(values.filter(todo), kind))

    def _sql_rewrite(self, values: pa.Array, kind: str | None) -> pa.Array:
        with self._lock:
            self._con.register("raw_values", pa.table({"value": values}))
            try:
                out = self._con.execute(self._sql[kind]).fetch_arrow_table()
            finally:
                self._con.unregister("raw_values")
        if out.num_rows != len(values):  # a projection keeps every row in its order; guard it anyway
            raise RuntimeError("normalisation changed the number of values")
        return out.column("value").combine_chunks().cast(pa.string())

    def close(self) -> None:
        self._con.close()
