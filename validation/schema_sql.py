"""The Table Schema checks as DuckDB SQL: the same findings as ``frictionless``, for rounds of any size.

``frictionless`` (``validation.schema_check``) stays the definition of validity;
this module mirrors its semantics cell by cell so a 12.8-million-row round is
checked in one vectorised pass instead of a Python loop per cell. What it mirrors
(frictionless 5.21, read from its source, pinned by tests/unit/test_validator_parity.py):

* missing values: ``str(cell) in missingValues`` (a NULL cell is the empty string);
* integer: ``int(cell.strip())``: sign, Unicode digits, single underscores between
  digits, surrounding whitespace (Python's definition); no ``1e3``, no ``3.0``;
* number: ``Decimal(cell.strip())``: underscores anywhere are dropped, exponents,
  ``inf``/``infinity``/``nan`` in any case; NaN fails every bound; compared as DOUBLE, except where
  the DOUBLE ties with a bound or enum member: there ``Decimal`` decides (``DECIMAL_SIGN``);
  ``bareNumber``/``groupChar``/``decimalChar`` left at their defaults only (a ``1,000``
  or ``฿5`` is a type error there too);
* date: ``strptime(cell, "%Y-%m-%d")`` unstripped: a 4-digit year (Unicode digits),
  month ``1``-``12`` with or without a zero, day likewise or with one leading space,
  and a real calendar day;
* boolean: the exact ``trueValues``/``falseValues`` strings (false wins a tie);
* a cell with a type error has no constraint checked; every failing constraint
  of a cell is its own finding; constraint values are typed by frictionless itself;
* ``pattern`` is ``re.match("^" + pattern + "$")`` (``$`` also before a final newline);
* ``unique``/``primaryKey`` on typed values, the 2nd and later occurrences reported
  against the previous one; a key that is all missing is itself an error;
* a row whose every cell is missing is one ``blank_row`` finding, nothing else;
* a cell longer than the descriptor's ``maxCellLength`` is one ``value_too_long`` finding
  (a short excerpt as its value, its length as detail) and nothing else is said about it
  (``schema_check`` defines this one, frictionless has no such check).

Where it cannot mirror (a number beyond ±1.7e38 digits for an integer bound, a
Python-only regular expression, a non-default format), :func:`unsupported` says
so and the caller falls back to frictionless.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from domain import python_text
from domain.frames import as_frame
from domain.limits import CUT_LENGTH_PATTERN
from validation import custom_checks, findings
from validation.schema_check import (
    EXCERPT,
    MAX_CELL_LENGTH,
    ROW_ERROR_CODES,
    TOO_LONG,
    constraint_code,
    constraint_detail,
    type_detail,
    validation_descriptor,
    validation_schema,
)

SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN", "string": "VARCHAR"}
_ORDER = {  # frictionless checks constraints in its field class's supported_constraints order
    "integer": ["required", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum"],
    "number": ["required", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum"],
    "date": ["required", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum"],
    "boolean": ["required", "enum"],
    "string": ["required", "minLength", "maxLength", "pattern", "enum"],
}
_INTEGER = r"[+-]?[0-9]+(_[0-9]+)*"
_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_PLAIN_INTEGER = r"[0-9]{1,18}"
_PLAIN_NUMBER = r"[0-9]{1,15}(\.[0-9]{1,15})?"
_PLAIN_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_NUMBER_WORDS = r"[+-]?(inf(inity)?|s?nan[0-9]*)"  # matched on the lower-cased text, only when _NUMBER fails
_DATE = r"\p{Nd}{4}-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\p{Nd}|0[1-9]|[1-9]| [1-9])"  # Python's strptime regexes


@cache
def _python_space() -> str:
    """Every character ``str.strip()`` removes, as an SQL literal (control characters included)."""
    return lit("".join(map(chr, python_text.spaces())))


@cache
def _digits() -> tuple[str, str]:
    """Non-ASCII decimal digits and their ASCII values: Python's ``int`` and ``Decimal`` read them."""
    chars = [chr(c) for c in python_text.decimal_digits() if c >= 128]
    return "".join(chars), "".join(str(unicodedata.decimal(c)) for c in chars)


def lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ordered_list(order: str, value: str) -> str:
    """The aggregate ``list(value ORDER BY order)``, as a list sorted once per group: DuckDB sorts an ordered
    aggregate group by group, which for many small groups (a quarantined row's few messages) cost five times as
    much (a household province's 13,345 quarantined rows: 0.23-0.32 s against 0.04 s)."""
    return f"list_transform(list_sort(list({{'o': {order}, 'v': {value}}})), x -> x.v)"


def _col(name: str, part: str) -> str:
    return ident(f"{name}:{part}")


def _ascii_digits(expr: str) -> str:
    """Unicode digits to ASCII, only for the rare cell that holds one.

    DuckDB's ``translate`` builds its map of some 700 digits on every call, so the
    cheap tests go first: plain ASCII, then a non-ASCII digit at all (Thai text such
    as ``ต.ค. 63`` has none).
    """
    source, target = _digits()
    mapped = f"translate({expr}, {lit(source)}, {lit(target)})"
    return (
        f"(CASE WHEN strlen({expr}) = length({expr}) THEN {expr}"
        rf" WHEN regexp_matches({expr}, '[^\P{{Nd}}0-9]') THEN {mapped} ELSE {expr} END)"
    )


#: DuckDB compares numbers as DOUBLE, frictionless as ``Decimal``: they disagree only where the DOUBLE
#: equals the bound (``100.0000000000000001`` is above a maximum of 100 for Python, equal in DOUBLE).
#: That tie, rare, is settled by this function in Python, exactly (:func:`register_functions`).
DECIMAL_SIGN = "tambon_decimal_sign"
#: A decimal of at most this many digits is one DOUBLE, and two of them compare as their DOUBLEs do.
EXACT_DIGITS = 15


def _decimal_sign(text: str, bound: str) -> int | None:
    """sign(Decimal(text) - Decimal(bound)), as frictionless's ``Decimal`` comparison decides it."""
    try:
        difference = Decimal(text) - Decimal(bound)
    except (InvalidOperation, ValueError):
        return None
    return 0 if difference.is_nan() else (difference > 0) - (difference < 0)


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register :data:`DECIMAL_SIGN` on ``con`` (once: a second registration is refused)."""
    with contextlib.suppress(duckdb.NotImplementedException):  # asking the catalog first costs more than this
        con.create_function(DECIMAL_SIGN, _decimal_sign, ["VARCHAR", "VARCHAR"], "INTEGER", side_effects=False)


def _exact_in_double(value: Any) -> bool:
    """Whether a bound has at most :data:`EXACT_DIGITS` significant digits (so DOUBLE comparisons with
    a plain number of at most that many digits are exact)."""
    number = Decimal(str(value))
    return number.is_finite() and len(number.normalize().as_tuple().digits) <= EXACT_DIGITS


def _member(expr: str, members: str) -> str:
    """``expr IN (members)`` for text, as ``list_contains``: the same answer (NULL for a NULL cell),
    at about half the cost of DuckDB's chain of comparisons for a list of Thai words."""
    return f"list_contains([{members}], {expr})"


def _canonical_digits(expr: str, most: int = 18) -> str:
    """True when ``expr`` is 1 to ``most`` ASCII digits: Python's ``int`` and DuckDB's BIGINT cast read
    it alike (a leading zero included: ``int("05")`` is 5, and so is the cast).

    Tested with a GLOB for any other character: a quarter cheaper than a round trip through
    DuckDB's integer cast and back to text, and half the cost of a regular expression (on
    12.8 million rows of nine integer fields, that is what the fast path spends most on).
    Every character outside ``0-9`` (a sign, a space, ``e``, ``_``, ``x``, a Thai digit, any
    byte of a multi-byte character) fails, so the rows DuckDB would read differently from
    Python go the slow, exact way.
    """
    return f"(strlen({expr}) BETWEEN 1 AND {int(most)} AND NOT ({expr} GLOB '*[!0-9]*'))"


_DIGIT_RUN = re.compile(r"(?:\[0-9\]|\\d)\{([1-9][0-9]?)\}")  # [0-9]{8}, \d{13}: GLOB says it exactly


def _strip(expr: str) -> str:
    return f"trim({expr}, {_python_space()})"


@cache
def _python_space_class() -> str:
    """Python's whitespace as the inside of a RE2 character class."""
    return python_text.re2_class(python_text.spaces())[1:-1]


@cache
def python_regex_to_re2(pattern: str) -> str:
    """frictionless's ``re.match('^' + p + '$')`` as an RE2 search: start-anchored, Python's ``$``,
    Unicode ``\\d``/``\\w``/``\\s`` as Python means them."""
    space = _python_space_class()
    classes = {"d": r"\p{Nd}", "w": r"\p{L}\p{N}_", "s": space}
    negated = {"D": r"\P{Nd}", "W": r"[^\p{L}\p{N}_]", "S": f"[^{space}]"}
    out, i, in_class, source = [], 0, False, f"^{pattern}$"
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source):
            nxt = source[i + 1]
            if nxt in classes:
                out.append(classes[nxt] if in_class else f"[{classes[nxt]}]")
            elif nxt in negated and not in_class:
                out.append(negated[nxt])
            elif nxt == "Z":
                out.append(r"\z")
            else:
                out.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]" or out[-1] == "["
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"(?:\n?\z)"
        out.append(char)
        i += 1
    return r"\A(?:" + "".join(out) + ")"


@dataclass
class _Field:
    """One schema field as SQL: how to tell it is missing, parse it and check it."""

    spec: dict[str, Any]
    index: int  # 1-based position among the schema's fields (frictionless's fieldNumber)
    missing_values: list[str]
    constraint_values: dict[str, Any] = field(default_factory=dict)  # typed by frictionless
    max_length: int | None = None  # the descriptor's maxCellLength

    def too_long(self) -> str:
        """The cell has more characters than the limit (``length``: code points, as Python's ``len``)."""
        if self.max_length is None:
            return "false"
        return f"coalesce(length({self.raw()}) > {int(self.max_length)}, false)"

    def plain_is_short(self) -> bool:
        """Whether every plain spelling (:meth:`plain`) is within the limit, so the fast path need not measure."""
        if self.max_length is None:
            return True
        if self.type in ("integer", "number", "date"):
            return self.max_length >= 32  # 18 digits, 15.15 digits, 10 characters
        if self.type == "boolean":
            words = [*self.spec.get("trueValues", ["true"]), *self.spec.get("falseValues", ["false"])]
            return all(len(w) <= self.max_length for w in words)
        constraints = self.spec.get("constraints", {})  # a clean string meets every constraint
        if isinstance(constraints.get("maxLength"), int) and constraints["maxLength"] <= self.max_length:
            return True
        if "enum" in constraints and all(len(str(v)) <= self.max_length for v in constraints["enum"]):
            return True
        run = _DIGIT_RUN.fullmatch(str(constraints.get("pattern", "")))
        return bool(run) and int(run.group(1)) <= self.max_length  # exactly that many digits

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def type(self) -> str:
        return self.spec.get("type", "string")

    def raw(self) -> str:
        return ident(self.name)

    def text(self) -> str:
        """The cell as frictionless sees it: NULL is the empty string."""
        return f"coalesce({self.raw()}, '')"

    def missing(self) -> str:
        if self.missing_values == [""]:
            return f"({self.raw()} IS NULL OR {self.raw()} = '')"
        return f"({self.text()} IN ({', '.join(map(lit, self.missing_values))}))"

    def normalised(self) -> str | None:
        """Layer A: the text Python actually parses (integer, number, date), with ASCII digits.

        Plain cells (``120``, ``5000.50``, ``2020-10-15``) take a fast path: stripping
        Python's whitespace set and mapping Unicode digits cost ten times more than a
        small regular expression, and are only needed for the odd cell.
        """
        t = self.text()
        if self.type == "integer":
            return (
                f"(CASE WHEN regexp_full_match({t}, '{_PLAIN_INTEGER}') THEN {t} ELSE {_ascii_digits(_strip(t))} END)"
            )
        if self.type == "number":
            slow = _ascii_digits(f"replace({_strip(t)}, '_', '')")
            return f"(CASE WHEN regexp_full_match({t}, '{_PLAIN_NUMBER}') THEN {t} ELSE {slow} END)"
        if self.type == "date":
            return f"(CASE WHEN regexp_full_match({t}, '{_PLAIN_DATE}') THEN {t} ELSE {_ascii_digits(t)} END)"
        return None

    def ok_and_value(self) -> tuple[str, str]:
        """Layer B: (type is valid, typed value); both over layer A's columns."""
        m, n, t = _col(self.name, "m"), _col(self.name, "n"), self.text()
        if self.type == "integer":
            ok = f"(NOT {m} AND regexp_full_match({n}, '{_INTEGER}'))"
            return ok, f"(CASE WHEN {ok} THEN TRY_CAST(replace({n}, '_', '') AS HUGEINT) END)"
        if self.type == "number":
            words = f"regexp_full_match(lower({n}), '{_NUMBER_WORDS}')"
            ok = f"(NOT {m} AND (regexp_full_match({n}, '{_NUMBER}') OR {words}))"
            # every valid spelling casts, except the NaN ones DuckDB does not know (nan123, snan)
            return ok, f"(CASE WHEN {ok} THEN coalesce(TRY_CAST({n} AS DOUBLE), 'NaN'::DOUBLE) END)"
        if self.type == "date":
            rest = f"substr({n}, 6)"
            iso = (
                f"substr({n}, 1, 4) || '-' || lpad(split_part({rest}, '-', 1), 2, '0') || '-' "
                f"|| lpad(trim(split_part({rest}, '-', 2)), 2, '0')"
            )
            value = (
                f"(CASE WHEN {m} OR substr({n}, 1, 4) = '0000' THEN NULL"
                f" WHEN regexp_full_match({t}, '{_PLAIN_DATE}') THEN TRY_CAST({t} AS DATE)"
                f" WHEN regexp_full_match({t}, '{_DATE}') THEN TRY_CAST({iso} AS DATE) END)"
            )
            return f"({value} IS NOT NULL)", value
        if self.type == "boolean":
            true, false = self.boolean_words()
            value = f"(CASE WHEN {m} THEN NULL WHEN {t} IN ({false}) THEN false WHEN {t} IN ({true}) THEN true END)"
            return f"({value} IS NOT NULL)", value
        return f"(NOT {m})", f"(CASE WHEN NOT {m} THEN {t} END)"

    def boolean_words(self) -> tuple[str, str]:
        """The true and false spellings, as SQL lists."""
        true = ", ".join(lit(v) for v in self.spec.get("trueValues", ["true", "True", "TRUE", "1"]))
        false = ", ".join(lit(v) for v in self.spec.get("falseValues", ["false", "False", "FALSE", "0"]))
        return true, false

    def plain(self) -> str:
        """The fast path: the cell holds the plain spelling of a value (``120``, ``5000.50``,
        ``2020-10-15``, a boolean word, any text), whose typed value :meth:`plain_value` gives.

        An integer is plain when it is ASCII digits only (:func:`_canonical_digits`): DuckDB reads
        more spellings than Python (``1e3``, `` 12``, ``1_2``, ``12.0``, ``0x10``), and bare digits
        are the ones both read alike (a number: unsigned digits with an optional decimal part).
        Plain spellings are what nearly every cell holds; everything else takes the full path
        of the layers.
        """
        t = self.raw()
        present = "" if self.missing_values == [""] else f"NOT {self.missing()} AND "
        # unsigned, at most 18 digits: a plain number is never negative and always fits a BIGINT
        if self.type == "integer":
            return f"({present}{_canonical_digits(t)})"
        if self.type == "number":
            return f"({present}{self._plain_number(t)})"
        if self.type == "date":
            # Python's %Y wants four digits: no year 0 (DuckDB writes it back as 0001-01-01 (BC), so the
            # round trip turns it down), none past 9999 (more than ten characters)
            return f"({present}strlen({t}) = 10 AND CAST(TRY_CAST({t} AS DATE) AS VARCHAR) = {t})"
        if self.type == "boolean":
            true, false = self.boolean_words()
            words = [*self.spec.get("trueValues", ["true"]), *self.spec.get("falseValues", ["false"])]
            if any(w in self.missing_values for w in words):
                return f"(NOT {self.missing()} AND {_member(t, f'{true}, {false}')})"
            return _member(t, f"{true}, {false}")  # a missing cell is no word: NULL or false either way
        if self.missing_values == [""]:
            return f"(strlen({t}) > 0)"  # NULL for a NULL cell: not vouched for, as the callers read it
        return f"(NOT {self.missing()})"

    @staticmethod
    def _plain_number(text: str) -> str:
        """At most EXACT_DIGITS digits in all, so the DOUBLE compares with a bound as the Decimal does.
        One RE2 match for whole and decimal amounts alike: a GLOB for the whole ones first cost more than
        it saved."""
        return f"(strlen({text}) <= {EXACT_DIGITS + 1} AND regexp_full_match({text}, '{_PLAIN_NUMBER}'))"

    def implies_present(self) -> bool:
        """Whether a constraint term of the fast path already fails a missing text cell, so that
        :meth:`plain` need not be tested as well: a digit-run pattern (its GLOB wants N digits) or an
        enum without the empty string, when the empty string is the only missing value. (A pattern
        a custom check implies is tested by that check instead, and any cell passing it matches.)"""
        if self.type != "string" or self.missing_values != [""]:
            return False
        constraints = self.spec.get("constraints", {})
        pattern = constraints.get("pattern")
        if pattern is not None and _DIGIT_RUN.fullmatch(str(pattern)):  # in the test, or in its check's
            return True
        enum = constraints.get("enum")
        return isinstance(enum, list) and bool(enum) and all(isinstance(v, str) and v != "" for v in enum)

    def plain_meets(self, name: str) -> bool:
        """Whether every plain value meets this constraint (a plain number is never negative)."""
        if self.type not in ("integer", "number"):
            return False
        bound = self.constraint_values.get(name)
        return (name == "minimum" and bound <= 0) or (name == "exclusiveMinimum" and bound < 0)

    def plain_cast(self) -> str:
        """The typed value of a cell known to be plain (see :meth:`plain`)."""
        t = self.raw()
        return {
            "integer": f"TRY_CAST({t} AS BIGINT)",
            "number": f"TRY_CAST({t} AS DOUBLE)",
            "date": f"TRY_CAST({t} AS DATE)",
            "boolean": f"NOT ({t} IN ({self.boolean_words()[1]}))",  # false wins a tie, as in frictionless
        }.get(self.type, t)

    def plain_value(self) -> str:
        """The typed value of a cell of a clean row: plain, or missing (NULL)."""
        return f"(CASE WHEN NOT {self.missing()} THEN {self.plain_cast()} END)"

    def literal(self, value: Any) -> str:
        if self.type == "integer":
            return f"{int(value)}::HUGEINT"
        if self.type == "number":
            return f"CAST({lit(str(value))} AS DOUBLE)"
        if self.type == "date":
            return f"DATE {lit(value.isoformat())}"
        if self.type == "boolean":
            return "true" if value else "false"
        return lit(value)

    def constraint_fails(self, name: str, plain: bool = False) -> str:
        """Layer C: this constraint fails, given the cell is present and well typed.

        Over the layers' typed value and parsed text; with ``plain``, over the plain cast of a
        plain cell (:meth:`plain`), which is never NaN and never beyond the SQL type's range.
        """
        bound = self.constraint_values.get(name)
        ops = {"minimum": "<", "exclusiveMinimum": "<=", "maximum": ">", "exclusiveMaximum": ">="}
        if plain:
            v = self.plain_cast()
            if self.type == "number" and name in (*ops, "enum"):
                bounds = bound if name == "enum" else [bound]
                if not all(_exact_in_double(b) for b in bounds if b is not None):
                    return "true"  # a DOUBLE cannot tell: not vouched for, the layers decide exactly
            if name in ops:
                fits = self.type != "integer" or -(2**63) <= int(bound) < 2**63
                literal = str(int(bound)) if self.type == "integer" and fits else self.literal(bound)
                return f"({v} {ops[name]} {literal})"
            if name == "enum":  # a plain value is never NULL
                members = [self.literal(x) for x in bound if x is not None]
                if not members:
                    return "true"
                listed = ", ".join(members)
                return f"NOT {_member(v, listed)}" if self.type == "string" else f"NOT ({v} IN ({listed}))"
        else:
            v = _col(self.name, "v")
        n = _col(self.name, "n")
        nan = f"isnan({v}) OR " if self.type == "number" else ""
        negative = f"starts_with({n}, '-')"  # an integer beyond HUGEINT: only its sign matters
        if self.type == "number" and name in ops:  # DOUBLE, except where it ties with the bound
            literal = self.literal(bound)
            exact = f"{DECIMAL_SIGN}({n}, {lit(str(bound))}) {ops[name]} 0"
            if _exact_in_double(bound):  # a plain number that ties with such a bound equals it: no Python call
                exact = f"(CASE WHEN {self._plain_number(n)} THEN 0 {ops[name]} 0 ELSE {exact} END)"
            fails = f"(CASE WHEN {v} = {literal} THEN {exact} ELSE {v} {ops[name]} {literal} END)"
            fallback = negative if "inimum" in name else f"NOT {negative}"
            return f"({nan}coalesce({fails}, {fallback}))"
        if self.type == "number" and name == "enum":  # a DOUBLE match is a match if the Decimals agree
            members = [x for x in bound if x is not None]
            if not members:
                return "true"
            listed = ", ".join(self.literal(x) for x in members)
            same = " OR ".join(f"{DECIMAL_SIGN}({n}, {lit(str(x))}) = 0" for x in members)
            return f"coalesce(CASE WHEN {v} IN ({listed}) THEN NOT ({same}) ELSE true END, true)"
        if name == "minimum":
            return f"({nan}coalesce({v} < {self.literal(bound)}, {negative}))"
        if name == "exclusiveMinimum":
            return f"({nan}coalesce({v} <= {self.literal(bound)}, {negative}))"
        if name == "maximum":
            return f"({nan}coalesce({v} > {self.literal(bound)}, NOT {negative}))"
        if name == "exclusiveMaximum":
            return f"({nan}coalesce({v} >= {self.literal(bound)}, NOT {negative}))"
        if name == "enum":
            members = [self.literal(x) for x in bound if x is not None]
            return f"coalesce(NOT ({v} IN ({', '.join(members)})), true)" if members else "true"
        if name == "pattern":
            if plain and (run := _DIGIT_RUN.fullmatch(bound)):  # GLOB: a third cheaper than RE2
                return f"NOT ({v} GLOB '{'[0-9]' * int(run.group(1))}')"
            return f"NOT regexp_matches({v}, {lit(python_regex_to_re2(bound))})"
        if name == "minLength":
            return f"(length({v}) < {int(bound)})"
        if name == "maxLength":
            return f"(length({v}) > {int(bound)})"
        raise ValueError(f"unsupported constraint {name!r}")


def unsupported(schema: dict[str, Any]) -> list[str]:
    """Why the SQL engine cannot mirror frictionless on this schema (empty: it can)."""
    problems = []
    for spec in schema["fields"]:
        name, kind = spec["name"], spec.get("type", "string")
        if kind not in SQL_TYPES:
            problems.append(f"{name}: type {kind!r}")
        if spec.get("format", "default") != "default":
            problems.append(f"{name}: format {spec['format']!r}")
        for key in ("bareNumber", "groupChar", "decimalChar", "floatNumber"):
            if key in spec:
                problems.append(f"{name}: {key}")
        missing = spec.get("missingValues", schema.get("missingValues", [""]))
        if not all(isinstance(v, str) for v in missing):
            problems.append(f"{name}: missingValues")
        for constraint in spec.get("constraints", {}):
            if constraint != "unique" and constraint not in _ORDER.get(kind, []):
                problems.append(f"{name}: constraint {constraint!r}")
        if pattern := spec.get("constraints", {}).get("pattern"):
            try:
                duckdb.execute("SELECT regexp_matches('', ?)", [python_regex_to_re2(pattern)])
            except duckdb.Error:
                problems.append(f"{name}: pattern {pattern!r} is not RE2")
    try:
        custom_checks.declared(schema)
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def _fields(schema: dict[str, Any]) -> tuple[_Field, ...]:
    """The schema's fields as plans, built once per schema (frictionless reads the descriptor slowly)."""
    return _plans(json.dumps(schema, sort_keys=True, ensure_ascii=False))


@cache
def _plans(descriptor: str) -> tuple[_Field, ...]:
    schema = json.loads(descriptor)
    typed = validation_schema(schema)
    out = []
    for index, spec in enumerate(schema["fields"], start=1):
        missing = spec.get("missingValues", schema.get("missingValues", [""]))
        plan = _Field(spec=spec, index=index, missing_values=list(missing), max_length=schema.get(MAX_CELL_LENGTH))
        reader = typed.get_field(spec["name"]).create_value_reader()
        for name, value in spec.get("constraints", {}).items():
            if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                plan.constraint_values[name] = reader(value)
            elif name == "enum":
                plan.constraint_values[name] = [reader(v) for v in value]
            else:
                plan.constraint_values[name] = value
        out.append(plan)
    return tuple(out)


def _typed_layers(relation: str, plans: tuple[_Field, ...], keep: list[str]) -> str:
    """SELECT with, per field: raw text, ``:m`` missing, ``:n`` parsed text, ``:ok`` type valid, ``:v`` value,
    ``:long`` longer than the cell limit."""
    carried = ", ".join(ident(c) for c in ["_row_id", *keep])
    layer_a = [carried]
    for p in plans:
        layer_a += [p.raw(), f"{p.missing()} AS {_col(p.name, 'm')}", f"{p.too_long()} AS {_col(p.name, 'long')}"]
        if (n := p.normalised()) is not None:
            layer_a.append(f"{n} AS {_col(p.name, 'n')}")
        else:
            layer_a.append(f"NULL::VARCHAR AS {_col(p.name, 'n')}")
    layer_b = [carried]
    for p in plans:
        ok, value = p.ok_and_value()
        layer_b += [
            p.raw(),
            _col(p.name, "m"),
            _col(p.name, "long"),
            _col(p.name, "n"),
            f"{ok} AS {_col(p.name, 'ok')}",
        ]
        layer_b.append(f"{value} AS {_col(p.name, 'v')}")
    layer_b.append(f"({' AND '.join(_col(p.name, 'm') for p in plans)}) AS {ident(':blank')}")
    return f"SELECT {', '.join(layer_b)} FROM (SELECT {', '.join(layer_a)} FROM {relation})"


def _custom_checks(schema: dict[str, Any]) -> dict[str, list[custom_checks.CustomCheck]]:
    by_field: dict[str, list[custom_checks.CustomCheck]] = {}
    for name, check in custom_checks.declared(schema):
        by_field.setdefault(name, []).append(check)
    return by_field


@dataclass(frozen=True)
class CleanTest:
    """The fast path's test: TRUE for a row the schema checks have nothing to say about.

    Every field is missing where that is allowed, or plainly spelled (:meth:`_Field.plain`)
    with every constraint and custom check met by its plain value; and the row is not
    blank. Conservative by construction: a row it cannot vouch for (odd spelling, NULL
    anywhere in the test) is not clean and goes through the full checks, which decide.
    Such a row's test is FALSE or NULL: coalescing each term to FALSE would cost a tenth
    of the pass, so callers ask ``IS NOT TRUE``.
    On a real round nearly every row is clean, so the full checks run on a few per cent.

    ``helpers`` are columns the test reads more than once (computed once per row): name and SQL.
    """

    helpers: tuple[tuple[str, str], ...]
    predicate: str

    def over(self, relation: str) -> str:
        """``relation`` with the helper columns, for the predicate to read."""
        return f"(SELECT *{''.join(f', {sql} AS {name}' for name, sql in self.helpers)} FROM {relation})"


def clean_test(schema: dict[str, Any], plans: tuple[_Field, ...] | None = None) -> CleanTest:
    plans = plans or _fields(schema)
    custom = _custom_checks(schema)
    helpers, fields = [], []
    for p in plans:
        constraints = p.spec.get("constraints", {})
        implied = {check.implies_pattern for check in custom.get(p.name, [])}
        good = [] if p.implies_present() else [p.plain()]
        for name in _ORDER[p.type]:
            if name not in constraints or name == "required" or p.plain_meets(name):
                continue
            if name == "pattern" and constraints[name] in implied:
                continue
            good.append(f"NOT {p.constraint_fails(name, plain=True)}")
        for check in custom.get(p.name, []):
            value = p.raw() if p.type == "string" else f"CAST({p.plain_cast()} AS VARCHAR)"
            prepared = None
            if check.prepare_sql is not None:
                prepared = _col(p.name, check.name)
                helpers.append((prepared, check.prepare_sql(value)))
            good.append(f"NOT {check.invalid_sql(value, prepared)}")
        if good == [p.plain()] and p.type == "string" and not constraints.get("required"):
            continue  # any text or none: nothing to vouch for
        present = "(" + " AND ".join(good) + ")"
        fields.append(present if constraints.get("required") else f"({p.missing()} OR {present})")
    if not any(p.spec.get("constraints", {}).get("required") for p in plans):  # else a clean row has a value
        fields.append("NOT (" + " AND ".join(p.missing() for p in plans) + ")")
    if measured := [p for p in plans if not p.plain_is_short()]:
        # bytes bound characters: one greatest() of byte lengths (kept in the string, no scan) vouches for all
        longest = ", ".join(f"strlen({p.raw()})" for p in measured)
        fields.append(f"coalesce(greatest({longest}), 0) <= {int(measured[0].max_length)}")
    return CleanTest(tuple(helpers), "(" + " AND ".join(fields) + ")")


def suspects_sql(relation: str, schema: dict[str, Any]) -> str:
    """``_row_id`` of the rows of ``relation`` the fast path cannot vouch for (materialise it once)."""
    test = clean_test(schema)
    return f"SELECT _row_id FROM {test.over(relation)} WHERE {test.predicate} IS NOT TRUE"


#: The column of :func:`typed_pass_sql` that holds a suspect row's cells
SUSPECT_CELLS = "_suspect"


def typed_pass_sql(relation: str, schema: dict[str, Any], carried: dict[str, str]) -> str:
    """Every row of ``relation`` typed by the fast path in one pass, with ``carried`` (name: SQL over
    ``relation``) and ``_suspect``: the cells of a row the fast path cannot vouch for, as a list in the
    schema's order (NULL for a clean row).

    A suspect row's typed values here are the plain casts' guesses: the caller replaces them with the
    full path's (:func:`typed_sql` over :func:`suspect_cells_sql`). One pass over ``relation`` both
    tests and types its rows, where finding the suspects first and typing the rest after read it twice,
    and a scan keeps the relation's order, so the rows need no sort to be stored in it.
    """
    plans = _fields(schema)
    test = clean_test(schema, plans)
    columns = [
        ident("_row_id"),
        *(f"{p.plain_value()} AS {p.raw()}" for p in plans),
        *(f"{sql} AS {ident(name)}" for name, sql in carried.items()),
        f"{_cells_if_suspect(test, [p.name for p in plans])} AS {SUSPECT_CELLS}",
    ]
    return f"SELECT {', '.join(columns)} FROM {test.over(relation)}"


def suspect_cells_sql(relation: str, schema: dict[str, Any], keep: list[str]) -> str:
    """The suspect rows of a :func:`typed_pass_sql` table as text again: ``_row_id``, the fields, ``keep``."""
    cells = _cells_back(SUSPECT_CELLS, [p.name for p in _fields(schema)])
    columns = ", ".join(["_row_id", cells, *map(ident, keep)])
    return f"SELECT {columns} FROM {relation} WHERE {SUSPECT_CELLS} IS NOT NULL"


def _cells_if_suspect(test: CleanTest, names: list[str]) -> str:
    """A row's cells ``names`` as one list when the fast path cannot vouch for it, else NULL. (A list, not a
    struct: a NULL struct still stores a NULL for each of its fields, a quarter of a scan.)"""
    return f"CASE WHEN {test.predicate} THEN NULL ELSE [{', '.join(map(ident, names))}] END"


def _cells_back(column: str, names: list[str]) -> str:
    """The cells of a :func:`_cells_if_suspect` list ``column`` under their names again."""
    return ", ".join(f"{column}[{i}] AS {ident(n)}" for i, n in enumerate(names, start=1))


#: ``suspects`` for a relation that holds the suspect rows only (the standalone validator's CSV path)
EVERY_ROW = "every row"


def _split(
    relation: str, schema: dict[str, Any], suspects: str | None, suspect_rows: str | None = None
) -> tuple[str, str]:
    """(clean rows, suspect rows) of ``relation``, by a table of suspects' ``_row_id`` or by the test itself;
    ``suspect_rows``: the suspect rows themselves, with the columns of ``relation``, when the caller has them."""
    if suspects == EVERY_ROW:
        return f"(SELECT * FROM {relation} LIMIT 0)", relation
    if suspects is None:
        suspects = f"({suspects_sql(relation, schema)})"
    return (
        f"(SELECT * FROM {relation} ANTI JOIN {suspects} USING (_row_id))",
        suspect_rows or f"(SELECT * FROM {relation} SEMI JOIN {suspects} USING (_row_id))",
    )


def typed_sql(relation: str, schema: dict[str, Any], keep: list[str]) -> str:
    """The rows of ``relation`` (the suspects: rows the fast path cannot vouch for) with every field typed as
    the schema says (NULL where missing or not valid), through the layers, plus ``keep``.

    With :func:`typed_pass_sql` (every other row), the one place text becomes typed values: the rules and the
    accepted table read them.
    """
    plans = _fields(schema)
    slow = [ident("_row_id")]
    for p in plans:
        value = _col(p.name, "v")
        slow.append(f"TRY_CAST({value} AS BIGINT) AS {p.raw()}" if p.type == "integer" else f"{value} AS {p.raw()}")
    return f"SELECT {', '.join(slow + [ident(c) for c in keep])} FROM ({_typed_layers(relation, plans, keep)})"


@dataclass(frozen=True)
class _Check:
    field: str
    field_index: int  # 0: a row-level finding, no cell value
    code: str
    detail: str
    sql: str  # boolean over the typed layers


def _cell_checks(schema: dict[str, Any], plans: tuple[_Field, ...]) -> list[_Check]:
    checks: list[_Check] = []
    blank = ident(":blank")
    custom = _custom_checks(schema)
    for p in plans:
        m, ok, long = _col(p.name, "m"), _col(p.name, "ok"), _col(p.name, "long")
        short = f"NOT {long} AND "  # a too-long cell has that finding only
        constraints = p.spec.get("constraints", {})
        if p.max_length is not None:
            checks.append(_Check(p.name, p.index, TOO_LONG, "", long))
        checks.append(_Check(p.name, p.index, "wrong_type", type_detail(p.spec), f"({short}NOT {m} AND NOT {ok})"))
        failing = []
        for name in _ORDER[p.type]:
            if name not in constraints or (name == "required" and not constraints[name]):
                continue
            if name == "required":
                sql = f"({short}{m} AND NOT ({blank}))"
            else:
                sql = f"({ok} AND {p.constraint_fails(name)})"
                failing.append(sql)
                sql = f"({short}{sql})"
            checks.append(_Check(p.name, p.index, constraint_code(name), constraint_detail(constraints[name]), sql))
        for check in custom.get(p.name, []):
            clean = f" AND NOT ({' OR '.join(failing)})" if failing else ""
            value = _col(p.name, "v") if p.type == "string" else f"CAST({_col(p.name, 'v')} AS VARCHAR)"
            sql = f"({short}{ok}{clean} AND {check.invalid_sql(value, None)})"
            checks.append(_Check(p.name, p.index, check.code, check.name, sql))
    checks.append(_Check("", 0, ROW_ERROR_CODES["blank-row"], "", f"({blank})"))
    return checks


def _key_values(
    relation: str, plans: tuple[_Field, ...], schema: dict[str, Any], names: set[str], suspects: str | None
) -> str:
    """``_row_id`` and, for the fields in ``names``, the raw text and the typed value (``:v``) of every row."""
    clean, suspect = _split(relation, schema, suspects)
    fast, slow = [ident("_row_id")], [ident("_row_id")]
    for p in plans:
        if p.name in names:
            value = f"CAST({p.plain_value()} AS HUGEINT)" if p.type == "integer" else p.plain_value()
            fast += [p.raw(), f"{value} AS {_col(p.name, 'v')}"]
            slow += [p.raw(), _col(p.name, "v")]
    layers = _typed_layers(suspect, plans, [])
    return f"SELECT {', '.join(fast)} FROM {clean} UNION ALL SELECT {', '.join(slow)} FROM ({layers})"


def _key_findings(
    relation: str, plans: tuple[_Field, ...], schema: dict[str, Any], keep_keys: bool, suspects: str | None
) -> list[str]:
    """unique and primaryKey: window queries over every row, only built when the schema asks for them."""
    by_name = {p.name: p for p in plans}
    key = validation_descriptor(schema, keep_keys).get("primaryKey", [])
    key = [key] if isinstance(key, str) else list(key)
    names = {p.name for p in plans if p.spec.get("constraints", {}).get("unique")} | set(key)
    if not names:
        return []
    layers = _key_values(relation, plans, schema, names, suspects)
    position = "(row_number() OVER (ORDER BY _row_id) + 1)"  # frictionless's rowNumber: header is row 1
    note = "'the same as in the row at position ' || prev"
    parts = []
    for p in plans:
        if not p.spec.get("constraints", {}).get("unique"):
            continue
        v = _col(p.name, "v")
        not_nan = f" AND NOT isnan({v})" if p.type == "number" else ""
        parts.append(
            f"""SELECT _row_id, {lit(p.name)} AS field, '{ROW_ERROR_CODES["unique-error"]}' AS code, 'schema' AS rule,
                   coalesce({p.raw()}, '') AS value, {note} AS detail
            FROM (SELECT _row_id, {p.raw()}, lag(pos) OVER (PARTITION BY {v} ORDER BY pos) AS prev
                  FROM (SELECT *, {position} AS pos FROM ({layers})) WHERE {v} IS NOT NULL{not_nan})
            WHERE prev IS NOT NULL AND NOT {p.too_long()}"""
        )
    if key:
        values = ", ".join(_col(k, "v") for k in key)
        previous = f"CASE WHEN {{all_null}} THEN NULL ELSE lag(pos) OVER (PARTITION BY {values} ORDER BY pos) END"
        all_null = " AND ".join(f"{_col(k, 'v')} IS NULL" for k in key)
        code = ROW_ERROR_CODES["primary-key"]
        parts.append(
            f"""SELECT _row_id, '' AS field, '{code}' AS code, 'schema' AS rule, '' AS value,
                   CASE WHEN {all_null} THEN 'cells composing the primary keys are all "None"' ELSE {note} END AS detail
            FROM (SELECT _row_id, {", ".join(_col(k, "v") for k in key)},
                         {previous.format(all_null=all_null)} AS prev
                  FROM (SELECT *, {position} AS pos FROM ({layers})))
            WHERE {all_null} OR prev IS NOT NULL"""
        )
        assert all(k in by_name for k in key), key
    return parts


def schema_errors_sql(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    schema: dict[str, Any],
    keep_keys: bool = False,
    suspects: str | None = None,
    suspect_rows: str | None = None,
) -> str:
    """An SQL query of raw findings (``findings.RAW_COLUMNS``) for ``relation``, as ``schema_errors`` gives.

    ``relation`` has ``_row_id`` and every schema field as VARCHAR (NULL for empty).
    Registers a small lookup table on ``con``. The cell checks run on the rows the fast
    path cannot vouch for (``suspects`` and ``suspect_rows``, see :func:`_split`); unique
    fields and the primary key look at every row.
    """
    problems = unsupported(schema)
    if problems:
        raise ValueError("the DuckDB validator cannot mirror frictionless here: " + "; ".join(problems))
    plans = _fields(schema)
    _, suspect = _split(relation, schema, suspects, suspect_rows)
    layers = _typed_layers(suspect, plans, [])
    checks = _cell_checks(schema, plans)
    register_functions(con)
    lookup = pd.DataFrame(
        [(k, c.field, c.field_index, c.code, c.detail) for k, c in enumerate(checks)],
        columns=["k", "field", "field_index", "code", "detail"],
    )
    table = f"schema_checks_{id(lookup)}"
    con.register(table, lookup)
    flags = ", ".join(f"{c.sql} AS b{k}" for k, c in enumerate(checks))
    blank = f"b{len(checks) - 1}"
    # A blank row is one finding: frictionless replaces the row's cell errors by it.
    listed = ", ".join(
        f"CASE WHEN b{k} THEN {k} END" if k == len(checks) - 1 else f"CASE WHEN b{k} AND NOT {blank} THEN {k} END"
        for k in range(len(checks))
    )
    raws = ", ".join(f"coalesce({p.raw()}, '')" for p in plans)
    # No WHERE: DuckDB would push it below the flags and compute every check twice. A clean
    # row's list is NULL instead, and unnest(NULL) gives no rows.
    cell = "e.vals[c.field_index]"
    cut = f"nullif(regexp_extract({cell}, {lit(CUT_LENGTH_PATTERN + '$')}, 1), '')"
    cells = f"""
        SELECT e._row_id, c.field, c.code, 'schema' AS rule,
               CASE WHEN c.code = '{TOO_LONG}' THEN left({cell}, {EXCERPT}) || '…'
                    WHEN c.field_index > 0 THEN {cell} ELSE '' END AS value,
               CASE WHEN c.code = '{TOO_LONG}' THEN coalesce({cut}, format('{{:,}}', length({cell})))
                    ELSE c.detail END AS detail
        FROM (SELECT _row_id, vals, unnest(ks) AS k
              FROM (SELECT _row_id,
                           CASE WHEN bad THEN [{raws}] END AS vals,
                           CASE WHEN bad THEN list_filter([{listed}], lambda x: x IS NOT NULL) END AS ks
                    FROM (SELECT *, {" OR ".join(f"b{k}" for k in range(len(checks)))} AS bad
                          FROM (SELECT _row_id, {", ".join(p.raw() for p in plans)}, {flags} FROM ({layers}))))) e
        JOIN {table} c USING (k)
    """
    return "\nUNION ALL\n".join([cells, *_key_findings(relation, plans, schema, keep_keys, suspects)])


#: Threads of each DuckDB connection the stages open (unset: DuckDB's default, every core); a worker process
#: of ``pipelines.part_pool`` gets its share of the machine's cores.
DUCKDB_THREADS = "TAMBON_DUCKDB_THREADS"


def connect(temp_directory: Path | None = None, memory_limit: str = "4GB") -> duckdb.DuckDBPyConnection:
    """A connection with a memory cap and a spill folder, so a national round stays bounded."""
    con = duckdb.connect()
    if os.environ.get(DUCKDB_THREADS):
        con.execute(f"SET threads = {int(os.environ[DUCKDB_THREADS])}")
    con.execute(f"SET memory_limit = {lit(memory_limit)}")
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {lit(str(temp_directory))}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")  # a worker process's log is no terminal
    return con


@contextlib.contextmanager
def insertion_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Inside, what reads one table (a scan, a filter, no join) comes out in the table's order, and a table
    is stored in the order its rows came: ``connect`` lets DuckDB reorder otherwise, which is faster."""
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute("SET preserve_insertion_order = false")


def source_relation(con: duckdb.DuckDBPyConnection, path: Path, name: str = "received_rows") -> str:
    """A view of a Parquet or CSV file as text with ``_row_id``: its own column, or else the row position."""
    path = Path(path)
    if path.suffix == ".parquet":
        columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()}
        if "_row_id" in columns:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet({lit(str(path))})")
        else:  # the ingest does not write _row_id yet: the row's position in the file is its id
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * EXCLUDE (file_row_number), "
                f"file_row_number::BIGINT AS _row_id FROM read_parquet({lit(str(path))}, file_row_number = true)"
            )
    else:  # a CSV: a table loaded in the file's order, so its rowid is the row position
        with insertion_order(con):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name}_csv AS SELECT * FROM read_csv({lit(str(path))}, "
                "all_varchar = true, header = true)"
            )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT rowid::BIGINT AS _row_id, * FROM {name}_csv")
    return name


def _has_keys(schema: dict[str, Any], keep_keys: bool) -> bool:
    unique = any(f.get("constraints", {}).get("unique") for f in schema["fields"])
    return unique or bool(validation_descriptor(schema, keep_keys).get("primaryKey"))


def csv_text_source(path: Path) -> str:
    """``read_csv`` of a CSV file with its own header, every column text.

    RFC 4180 declared rather than sniffed: sniffing costs a third of the scan.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    columns = "{" + ", ".join(f"{lit(h)}: 'VARCHAR'" for h in header) + "}"
    return (
        f"read_csv({lit(str(path))}, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {columns})"
    )


def _csv_suspects(con: duckdb.DuckDBPyConnection, path: Path, schema: dict[str, Any]) -> str:
    """One pass over a CSV file keeping only the rows the fast path cannot vouch for: the query of those rows,
    with their row ids, for a materialised CTE.

    Each row becomes NULL (clean) or the list of its cells (:func:`_cells_if_suspect`) in a table
    loaded in file order, so its ``rowid`` is the row's position: no copy of the whole file is kept.
    The suspects are read from that table, not copied to one of their own: a few thousand rows
    in one row group would be checked on one thread, the whole table's row groups on all. Read
    through a view instead, each cell's ``s[i]`` was taken again wherever the checks name it (a
    third of their time); a materialised CTE takes it once, and its rows are still checked in parallel.
    """
    test = clean_test(schema)
    names = [f["name"] for f in schema["fields"]]
    with insertion_order(con):
        con.execute(
            f"CREATE TEMP TABLE flagged AS SELECT {_cells_if_suspect(test, names)} AS s "
            f"FROM {test.over(csv_text_source(path))}"
        )
    return f"SELECT rowid::BIGINT AS _row_id, {_cells_back('s', names)} FROM flagged WHERE s IS NOT NULL"


def validate_file_sql(path: Path | str, schema: dict[str, Any], keep_keys: bool = False) -> pd.DataFrame:
    """Findings (with messages) for a Parquet or CSV file of text cells: the standalone DuckDB validator.

    A CSV file without unique or key constraints is read once, keeping only the suspect rows;
    otherwise every row is loaded (the key checks compare all of them).
    The benchmark counterpart is ``schema_check.schema_findings`` on the same file read as text.
    """
    path = Path(path)
    con = connect()
    try:
        cte = ""
        if path.suffix != ".parquet" and not _has_keys(schema, keep_keys):
            cte = f"WITH suspect_rows AS MATERIALIZED ({_csv_suspects(con, path, schema)}) "
            query = schema_errors_sql(con, "suspect_rows", schema, keep_keys, suspects=EVERY_ROW)
        else:
            relation = source_relation(con, path)
            query = schema_errors_sql(con, relation, schema, keep_keys)
        con.register("message_templates", findings.templates(schema["fields"]))
        # one query from the suspect rows to the messages: no table of raw findings in between
        return as_frame(
            con.execute(
                f"{cte}SELECT * EXCLUDE (code_rank) FROM ({findings.messages_sql(f'({query})', 'message_templates')}) "
                "ORDER BY _row_id, rule, field, code_rank"
            )
        )
    finally:
        con.close()
