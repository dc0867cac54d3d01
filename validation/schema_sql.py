"""The Table Schema checks as DuckDB SQL: the same findings as ``frictionless``, for big rounds.

``frictionless`` (``validation.schema_check``) stays the definition of validity;
this module mirrors its semantics cell by cell so a 12.8-million-row round is
checked in one vectorised pass instead of a Python loop per cell. What it mirrors
(frictionless 5.21, read from its source, pinned by tests/unit/test_validator_parity.py):

* missing values: ``str(cell) in missingValues`` (a NULL cell is the empty string);
* integer: ``int(cell.strip())``: sign, Unicode digits, single underscores between
  digits, surrounding whitespace (Python's definition); no ``1e3``, no ``3.0``;
* number: ``Decimal(cell.strip())``: underscores anywhere are dropped, exponents,
  ``inf``/``infinity``/``nan`` in any case; NaN fails every bound;
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
* a row whose every cell is missing is one ``blank_row`` finding, nothing else.

Where it cannot mirror (a number beyond ±1.7e38 digits for an integer bound, a
Python-only regular expression, a non-default format), :func:`unsupported` says
so and the caller falls back to frictionless.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from frictionless import Schema

from validation import custom_checks, findings
from validation.schema_check import (
    ROW_ERROR_CODES,
    constraint_code,
    constraint_detail,
    type_detail,
    validation_descriptor,
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
    return lit("".join(c for c in map(chr, range(0x110000)) if c.isspace()))


@cache
def _digits() -> tuple[str, str]:
    """Non-ASCII decimal digits and their ASCII values: Python's ``int`` and ``Decimal`` read them."""
    chars = [chr(c) for c in range(128, 0x110000) if unicodedata.category(chr(c)) == "Nd"]
    return "".join(chars), "".join(str(unicodedata.decimal(c)) for c in chars)


def lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _col(name: str, part: str) -> str:
    return ident(f"{name}:{part}")


def _ascii_digits(expr: str) -> str:
    """Unicode digits to ASCII, only for the rare cell that is not plain ASCII (cheap test first)."""
    source, target = _digits()
    mapped = f"translate({expr}, {lit(source)}, {lit(target)})"
    return f"(CASE WHEN strlen({expr}) = length({expr}) THEN {expr} ELSE {mapped} END)"


def _strip(expr: str) -> str:
    return f"trim({expr}, {_python_space()})"


@cache
def _python_space_class() -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in map(chr, range(0x110000)) if c.isspace())


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
            true = ", ".join(lit(v) for v in self.spec.get("trueValues", ["true", "True", "TRUE", "1"]))
            false = ", ".join(lit(v) for v in self.spec.get("falseValues", ["false", "False", "FALSE", "0"]))
            value = f"(CASE WHEN {m} THEN NULL WHEN {t} IN ({false}) THEN false WHEN {t} IN ({true}) THEN true END)"
            return f"({value} IS NOT NULL)", value
        return f"(NOT {m})", f"(CASE WHEN NOT {m} THEN {t} END)"

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

    def constraint_fails(self, name: str) -> str:
        """Layer C: this constraint fails, given the cell is present and well typed."""
        v, n, bound = _col(self.name, "v"), _col(self.name, "n"), self.constraint_values.get(name)
        nan = f"isnan({v}) OR " if self.type == "number" else ""
        negative = f"starts_with({n}, '-')"  # an integer beyond HUGEINT: only its sign matters
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


def _fields(schema: dict[str, Any]) -> list[_Field]:
    typed = Schema.from_descriptor(validation_descriptor(schema))
    out = []
    for index, spec in enumerate(schema["fields"], start=1):
        missing = spec.get("missingValues", schema.get("missingValues", [""]))
        plan = _Field(spec=spec, index=index, missing_values=list(missing))
        reader = typed.get_field(spec["name"]).create_value_reader()
        for name, value in spec.get("constraints", {}).items():
            if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                plan.constraint_values[name] = reader(value)
            elif name == "enum":
                plan.constraint_values[name] = [reader(v) for v in value]
            else:
                plan.constraint_values[name] = value
        out.append(plan)
    return out


def _typed_layers(relation: str, plans: list[_Field], keep: list[str]) -> str:
    """SELECT with, per field: raw text, ``:m`` missing, ``:n`` parsed text, ``:ok`` type valid, ``:v`` value."""
    carried = ", ".join(ident(c) for c in ["_row_id", *keep])
    layer_a = [carried]
    for p in plans:
        layer_a += [p.raw(), f"{p.missing()} AS {_col(p.name, 'm')}"]
        if (n := p.normalised()) is not None:
            layer_a.append(f"{n} AS {_col(p.name, 'n')}")
        else:
            layer_a.append(f"NULL::VARCHAR AS {_col(p.name, 'n')}")
    layer_b = [carried]
    for p in plans:
        ok, value = p.ok_and_value()
        layer_b += [p.raw(), _col(p.name, "m"), _col(p.name, "n"), f"{ok} AS {_col(p.name, 'ok')}"]
        layer_b.append(f"{value} AS {_col(p.name, 'v')}")
    layer_b.append(f"({' AND '.join(_col(p.name, 'm') for p in plans)}) AS {ident(':blank')}")
    return f"SELECT {', '.join(layer_b)} FROM (SELECT {', '.join(layer_a)} FROM {relation})"


def typed_sql(relation: str, schema: dict[str, Any], keep: list[str] | None = None) -> str:
    """Rows with every field typed as the schema says (NULL where missing or not valid), plus ``keep``.

    The one place text becomes typed values: the rules and the accepted table read it.
    """
    keep = keep or []
    plans = _fields(schema)
    columns = [ident("_row_id")]
    for p in plans:
        value = _col(p.name, "v")
        columns.append(f"TRY_CAST({value} AS BIGINT) AS {p.raw()}" if p.type == "integer" else f"{value} AS {p.raw()}")
    columns += [ident(c) for c in keep]
    return f"SELECT {', '.join(columns)} FROM ({_typed_layers(relation, plans, keep)})"


@dataclass(frozen=True)
class _Check:
    field: str
    field_index: int  # 0: a row-level finding, no cell value
    code: str
    detail: str
    sql: str  # boolean over the typed layers


def _cell_checks(schema: dict[str, Any], plans: list[_Field]) -> list[_Check]:
    checks: list[_Check] = []
    blank = ident(":blank")
    custom = {}
    for name, check in custom_checks.declared(schema):
        custom.setdefault(name, []).append(check)
    for p in plans:
        m, ok = _col(p.name, "m"), _col(p.name, "ok")
        constraints = p.spec.get("constraints", {})
        checks.append(_Check(p.name, p.index, "wrong_type", type_detail(p.spec), f"(NOT {m} AND NOT {ok})"))
        failing = []
        for name in _ORDER[p.type]:
            if name not in constraints or (name == "required" and not constraints[name]):
                continue
            if name == "required":
                sql = f"({m} AND NOT ({blank}))"
            else:
                sql = f"({ok} AND {p.constraint_fails(name)})"
                failing.append(sql)
            checks.append(_Check(p.name, p.index, constraint_code(name), constraint_detail(constraints[name]), sql))
        for check in custom.get(p.name, []):
            clean = f" AND NOT ({' OR '.join(failing)})" if failing else ""
            value = _col(p.name, "v") if p.type == "string" else f"CAST({_col(p.name, 'v')} AS VARCHAR)"
            sql = f"({ok}{clean} AND {check.invalid_sql(value)})"
            checks.append(_Check(p.name, p.index, check.code, check.name, sql))
    checks.append(_Check("", 0, ROW_ERROR_CODES["blank-row"], "", f"({blank})"))
    return checks


def _key_findings(layers: str, plans: list[_Field], schema: dict[str, Any], keep_keys: bool) -> list[str]:
    """unique and primaryKey: window queries, only built when the schema asks for them."""
    by_name = {p.name: p for p in plans}
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
            WHERE prev IS NOT NULL"""
        )
    key = validation_descriptor(schema, keep_keys).get("primaryKey", [])
    key = [key] if isinstance(key, str) else list(key)
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
    con: duckdb.DuckDBPyConnection, relation: str, schema: dict[str, Any], keep_keys: bool = False
) -> str:
    """An SQL query of raw findings (``findings.RAW_COLUMNS``) for ``relation``, as ``schema_errors`` gives.

    ``relation`` has ``_row_id`` and every schema field as VARCHAR (NULL for empty).
    Registers a small lookup table on ``con``; the query reads ``relation`` once for
    the cell checks (plus once per unique field or primary key).
    """
    problems = unsupported(schema)
    if problems:
        raise ValueError("the DuckDB validator cannot mirror frictionless here: " + "; ".join(problems))
    plans = _fields(schema)
    layers = _typed_layers(relation, plans, [])
    checks = _cell_checks(schema, plans)
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
    cells = f"""
        SELECT e._row_id, c.field, c.code, 'schema' AS rule,
               CASE WHEN c.field_index > 0 THEN e.vals[c.field_index] ELSE '' END AS value, c.detail
        FROM (SELECT _row_id, vals, unnest(ks) AS k
              FROM (SELECT _row_id,
                           CASE WHEN bad THEN [{raws}] END AS vals,
                           CASE WHEN bad THEN list_filter([{listed}], lambda x: x IS NOT NULL) END AS ks
                    FROM (SELECT *, {" OR ".join(f"b{k}" for k in range(len(checks)))} AS bad
                          FROM (SELECT _row_id, {", ".join(p.raw() for p in plans)}, {flags} FROM ({layers}))))) e
        JOIN {table} c USING (k)
    """
    return "\nUNION ALL\n".join([cells, *_key_findings(layers, plans, schema, keep_keys)])


def connect(temp_directory: Path | None = None, memory_limit: str = "4GB") -> duckdb.DuckDBPyConnection:
    """A connection with a memory cap and a spill folder, so a national round stays bounded."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = {lit(memory_limit)}")
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {lit(str(temp_directory))}")
    con.execute("SET preserve_insertion_order = false")
    return con


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
        con.execute("SET preserve_insertion_order = true")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name}_csv AS SELECT * FROM read_csv({lit(str(path))}, all_varchar = true, "
            "header = true)"
        )
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT rowid::BIGINT AS _row_id, * FROM {name}_csv")
    return name


def validate_file_sql(path: Path | str, schema: dict[str, Any], keep_keys: bool = False) -> pd.DataFrame:
    """Findings (with messages) for a Parquet or CSV file of text cells: the standalone DuckDB validator.

    The benchmark counterpart is ``schema_check.schema_findings`` on the same file read as text.
    """
    con = connect()
    try:
        relation = source_relation(con, Path(path))
        con.register("message_templates", findings.templates(schema["fields"]))
        con.execute(f"CREATE TEMP TABLE raw_findings AS {schema_errors_sql(con, relation, schema, keep_keys)}")
        return con.execute(
            f"SELECT * EXCLUDE (code_rank) FROM ({findings.messages_sql('raw_findings', 'message_templates')}) "
            "ORDER BY _row_id, rule, field, code_rank"
        ).df()
    finally:
        con.close()
