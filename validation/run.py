"""Validate one round of received rows: schema, declared rules, duplicates; split the rows.

Nothing is dropped: every received row ends up in exactly one of ``accepted``
or ``quarantine``, and ``findings`` says why for each quarantined row.

A district office's corrections (files from its corrections folder: ``corrections``, one row
per file with its office and landed order) are checked like every row, and more: a row naming
a village outside the office's district is ``correction_outside_area`` (an office cannot
overwrite another's data), and an accepted correction supersedes every other row of its key
(``validation.duplicates``).

Everything after the schema check runs in DuckDB over the received Parquet file,
so a national household round (12.8 million rows) never sits in pandas. Two
engines check the Table Schema and feed the same assembly:

* ``frictionless``: the reference definition, a Python loop per cell (≈10k rows/s);
* ``duckdb``: ``validation.schema_sql``, the same findings row for row, vectorised;
* ``auto`` (default): DuckDB for a round of any size, and frictionless whenever the
  schema uses something the SQL engine cannot mirror. DuckDB is held to frictionless's
  findings row for row by the parity tests, so a small round gains nothing from the slow
  engine (a national village round, 72,537 rows, took 5 s with it).

``TAMBON_VALIDATOR=frictionless|duckdb|auto`` picks the engine when the caller
does not.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from domain.declarations import DatasetSpec
from domain.frames import as_frame
from domain.geography import Geography
from domain.limits import limits_for
from domain.rounds import Round
from domain.work import WorkArea, write_atomic
from validation import findings, schema_sql
from validation.duplicates import duplicate_findings, key_columns
from validation.rules import RULES, RuleContext
from validation.schema_check import schema_errors, validation_descriptor
from validation.schema_sql import ident, lit

LINEAGE = ["_file", "_sheet", "_row"]
ENGINES = ("frictionless", "duckdb", "auto")
#: DuckDB's cap for the validate stage. 3 GB, not 4: with 4 GB the national household round's
#: validate stage peaked at 4.5 GB resident (DuckDB's cap plus Python and its buffers), above the
#: round's 4 GB target; with 3 GB it peaked at 3.5 GB and was no slower (it spills what it must).
MEMORY_LIMIT = os.environ.get("TAMBON_VALIDATOR_MEMORY", "3GB")

log = logging.getLogger(__name__)


@dataclass
class Validated:
    accepted: pd.DataFrame  # typed, _row_id + schema fields + lineage
    quarantine: pd.DataFrame  # text as received (normalised) + lineage + codes and reasons
    findings: pd.DataFrame  # one row per finding


def choose_engine(engine: str | None, schema: dict[str, Any]) -> str:
    """The schema engine to run: the caller's, else ``TAMBON_VALIDATOR``, else ``auto``: DuckDB
    whenever it can mirror the schema, whatever the round's size."""
    engine = engine or os.environ.get("TAMBON_VALIDATOR", "auto")
    if engine not in ENGINES:
        raise ValueError(f"unknown validator engine {engine!r} (one of {ENGINES})")
    if engine != "auto":
        return engine
    problems = schema_sql.unsupported(schema)
    if problems:
        log.warning("DuckDB validator cannot mirror this schema, using frictionless: %s", "; ".join(problems))
        return "frictionless"
    return "duckdb"


def validate_round(
    work: WorkArea,
    spec: DatasetSpec,
    round_: Round,
    geography: Geography,
    file_names: dict[str, str],
    engine: str | None = None,
    corrections: pd.DataFrame | None = None,
    then: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    carry: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Read ``received``, write ``accepted``, ``quarantine`` and ``findings`` (Parquet); return the counts.

    ``corrections``: the round's correction files (``sha256``, ``office``, ``correction_order``).
    ``carry``: more columns of every row for ``then`` (name: SQL over the received text), in ``typed_rows``.
    ``then``: more work on the accepted rows while they are at hand, typed, in this connection (the
    view ``accepted``, with the registry's views), rather than read back from their file.
    """
    scratch = work.folder / f".validate.{os.getpid()}.tmp"
    con = schema_sql.connect(temp_directory=scratch, memory_limit=MEMORY_LIMIT)
    try:
        source = schema_sql.source_relation(con, work.path("received"), "received_file")
        rows = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
        chosen = choose_engine(engine, validation_descriptor(spec.schema))
        con.register("correction_files", correction_files(corrections))
        _assemble(con, source, spec, round_, geography, file_names, chosen, carry or {})
        with schema_sql.insertion_order(con):  # the accepted rows in the typed rows' order (see ``_assemble``)
            for name, query in _outputs(spec).items():
                copy_parquet(con, query, work.path(name))
        counts = _counts(con, rows)
        if then is not None:
            then(con)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return {**counts, "engine": chosen}


def validate_frame(
    received: pd.DataFrame,
    spec: DatasetSpec,
    round_: Round,
    geography: Geography,
    file_names: dict[str, str],
    engine: str | None = None,
) -> Validated:
    """``validate_round`` on a frame (rows in order, ids = positions), for tests and small callers."""
    with tempfile.TemporaryDirectory() as folder:
        work = WorkArea(Path(folder))
        work.write("received", received.reset_index(drop=True))
        validate_round(work, spec, round_, geography, file_names, engine)
        return Validated(work.read("accepted"), work.read("quarantine"), work.read("findings"))


def correction_files(files: pd.DataFrame | None) -> pa.Table:
    """The correction files as a typed table (``_c_sha256``, ``_c_office``, ``_c_order``), empty when none."""
    schema = pa.schema([("_c_sha256", pa.string()), ("_c_office", pa.string()), ("_c_order", pa.int64())])
    if files is None or files.empty:
        return schema.empty_table()
    return pa.table(
        [
            pa.array(files["sha256"].astype(str).tolist(), pa.string()),
            pa.array(files["office"].astype(str).tolist(), pa.string()),
            pa.array(files["correction_order"].astype("int64").tolist(), pa.int64()),
        ],
        schema=schema,
    )


def _outside_area_sql(spec: DatasetSpec) -> str:
    """Raw findings: a correction's row naming a village (the geography field) outside its office's district."""
    code = ident(spec.geography_field)
    return f"""
        SELECT r._row_id, {lit(spec.geography_field)} AS field, 'correction_outside_area' AS code,
               'corrections' AS rule, r.{code} AS value, c._c_office AS detail
        FROM received_rows r JOIN correction_files c ON c._c_sha256 = r._file
        WHERE r.{code} IS NOT NULL AND substr(r.{code}, 1, 4) <> c._c_office
    """


def _typing_view(
    con: duckdb.DuckDBPyConnection, spec: DatasetSpec, rows: str, name: str, limit: int, extra: dict[str, str]
) -> None:
    """View ``name``: the text ``rows`` as typing reads them, a too-long cell NULL, with the duplicate keys."""
    # bytes first: a cell of at most ``limit`` bytes is short, and its length is known without a scan
    short = [
        f"CASE WHEN strlen({ident(n)}) <= {limit} OR length({ident(n)}) <= {limit} THEN {ident(n)} END AS {ident(n)}"
        for n in spec.field_names
    ]
    carried = "".join(f", {sql} AS {ident(key)}" for key, sql in extra.items())
    con.execute(
        f"CREATE TEMP VIEW {name} AS SELECT *{carried} "
        f"FROM (SELECT _row_id, {', '.join(short + list(map(ident, LINEAGE)))} FROM {rows})"
    )


def _correction_order(con: duckdb.DuckDBPyConnection) -> str:
    """SQL of a row's ``_correction`` by its ``_file``: an office's correction's place in the landed order, NULL
    for every other row. The round's few correction files written out: a join would not keep the rows' order."""
    files = con.execute("SELECT _c_sha256, _c_order FROM correction_files").fetchall()
    if not files:
        return "NULL::BIGINT"
    shas, orders = ", ".join(lit(sha) for sha, _ in files), ", ".join(str(int(order)) for _, order in files)
    return f"[{orders}][list_position([{shas}], _file)]"


def _assemble(
    con: duckdb.DuckDBPyConnection,
    source: str,
    spec: DatasetSpec,
    round_: Round,
    geography: Geography,
    file_names: dict[str, str],
    engine: str,
    carry: dict[str, str],
) -> None:
    """Temp tables ``found`` (raw findings) and ``findings_all`` (with messages), views of the rows (``accepted``
    among them).

    A cell longer than the collection's ``max_cell_length`` is ``value_too_long`` (both schema engines)
    and NULL in the typed rows, so no declared rule quotes thousands of characters back in its message.
    """
    limit = limits_for(spec).max_cell_length
    schema = validation_descriptor(spec.schema, max_cell_length=limit)
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    # Every field as text (a column pandas wrote all-empty has no type), absent ones as NULL.
    texts = [
        f"CAST({ident(n)} AS VARCHAR) AS {ident(n)}" if n in present else f"NULL::VARCHAR AS {ident(n)}"
        for n in spec.field_names
    ]
    lineage = [ident(c) if c in present else f"NULL AS {ident(c)}" for c in LINEAGE]
    con.execute(f"CREATE TEMP VIEW received_rows AS SELECT _row_id, {', '.join(texts + lineage)} FROM {source}")
    extra = key_columns(spec.duplicates, spec.field_names)
    # Every row typed in one pass, the rows the fast path cannot vouch for kept aside with their cells. Stored
    # in the received rows' order (``_row_id``, a scan keeps it): the accepted rows and the units are written so.
    carried = {c: ident(c) for c in LINEAGE} | {"_correction": _correction_order(con)} | extra | carry
    with schema_sql.insertion_order(con):
        con.execute(f"CREATE TEMP TABLE typed_rows AS {schema_sql.typed_pass_sql('received_rows', schema, carried)}")
    # The suspects as text, kept once: every reader of them (their typing, the schema checks) reads these few
    # per cent, not all the rows again. Their fast-path guesses in the typed rows are then replaced.
    suspect_text = schema_sql.suspect_cells_sql("typed_rows", schema, LINEAGE)
    con.execute(f"CREATE TEMP TABLE suspect_received AS {suspect_text}")
    con.execute("CREATE TEMP VIEW suspects AS SELECT _row_id FROM suspect_received")
    _typing_view(con, spec, "suspect_received", "suspect_plus", limit, extra)
    retyped = [*spec.field_names, *extra]
    con.execute(
        f"UPDATE typed_rows SET {', '.join(f'{ident(c)} = s.{ident(c)}' for c in retyped)} "
        f"FROM ({schema_sql.typed_sql('suspect_plus', schema, list(extra))}) s WHERE typed_rows._row_id = s._row_id"
    )
    geography.register(con)
    names = pd.DataFrame({"sha256": list(file_names), "name": list(file_names.values())}, dtype=object)
    con.register("file_names", names)

    if engine == "duckdb":
        schema_part = schema_sql.schema_errors_sql(
            con, "received_rows", schema, suspects="suspects", suspect_rows="suspect_received"
        )
    else:
        rows = as_frame(
            con.execute(
                f"SELECT _row_id, {', '.join(map(ident, spec.field_names))} FROM received_rows ORDER BY _row_id"
            )
        )
        con.register("frictionless_findings", schema_errors(rows.set_index("_row_id"), schema))
        schema_part = "SELECT * FROM frictionless_findings"
    context = RuleContext(round=round_, fields={f["name"]: f for f in spec.fields}, typed="typed_rows")
    parts = [schema_part]
    for declared in spec.rules:
        params = {k: v for k, v in declared.items() if k != "rule"}
        parts.append(RULES[declared["rule"]](params, context))
    if con.execute("SELECT count(*) FROM correction_files").fetchone()[0]:
        parts.append(_outside_area_sql(spec))
    columns = ", ".join(findings.RAW_COLUMNS)
    union = " UNION ALL ".join(f"SELECT {columns} FROM ({sql})" for sql in parts)
    con.execute(f"CREATE TEMP TABLE found AS {union}")
    duplicates = duplicate_findings(spec.duplicates, "typed_rows", "found", "file_names", superseding="_correction")
    if duplicates is not None:
        con.execute(f"INSERT INTO found SELECT {columns} FROM ({duplicates})")
    con.register("message_templates", findings.templates(spec.fields, limit))
    con.execute(
        f"""
        CREATE TEMP TABLE findings_all AS
        SELECT *, row_number() OVER (PARTITION BY _row_id ORDER BY rule, field, code_rank, value, detail) AS place
        FROM ({findings.messages_sql("found", "message_templates")})
        """
    )
    con.execute("CREATE TEMP TABLE rejected AS SELECT DISTINCT _row_id FROM found")
    # The rejected rows (a few per cent) marked in place: the accepted rows are then the typed rows filtered, which
    # keeps their order (a join with ``rejected`` would not), and are written as they come, not sorted again.
    con.execute("ALTER TABLE typed_rows ADD COLUMN _rejected BOOLEAN DEFAULT false")
    con.execute("UPDATE typed_rows SET _rejected = true WHERE _row_id IN (SELECT _row_id FROM rejected)")
    fields, lineage = ", ".join(map(ident, spec.field_names)), ", ".join(map(ident, LINEAGE))
    con.execute(f"CREATE TEMP VIEW accepted AS SELECT _row_id, {fields}, {lineage} FROM typed_rows WHERE NOT _rejected")


def _outputs(spec: DatasetSpec) -> dict[str, str]:
    """The three tables as queries: accepted (typed), quarantine (as received, with reasons), findings."""
    fields = ", ".join(map(ident, spec.field_names))
    lineage = ", ".join(map(ident, LINEAGE))
    reasons = f"""
        SELECT _row_id,
               {_ordered_join("first_place", "code", ",")} AS codes,
               {_ordered_join("first_place", "reasons_th", " | ")} AS reasons_th,
               {_ordered_join("first_place", "reasons_en", " | ")} AS reasons_en
        FROM (SELECT _row_id, code, min(place) AS first_place,
                     {_ordered_join("place", "message_th", " | ")} AS reasons_th,
                     {_ordered_join("place", "message_en", " | ")} AS reasons_en
              FROM findings_all GROUP BY _row_id, code)
        GROUP BY _row_id
    """
    return {
        "findings": f"SELECT {', '.join(findings.COLUMNS)} FROM findings_all ORDER BY _row_id, place",
        "accepted": "FROM accepted",
        "quarantine": f"""
            SELECT _row_id, {fields}, {lineage}, codes, reasons_th, reasons_en
            FROM received_rows JOIN ({reasons}) USING (_row_id) ORDER BY _row_id
        """,
    }


def _ordered_join(order: str, value: str, separator: str) -> str:
    """``string_agg(value, separator ORDER BY order)``, NULLs skipped alike (see ``schema_sql.ordered_list``)."""
    return f"array_to_string({schema_sql.ordered_list(order, value)}, {lit(separator)})"


#: zstd's fastest level: a national household round's accepted rows were written a fifth faster than at DuckDB's
#: default (3), in files 1% larger
_PARQUET = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"


def copy_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    """COPY to Parquet, then rename: a stage that dies leaves the previous table, not half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, lambda t: con.execute(f"COPY ({query}) TO {lit(str(t))} ({_PARQUET})"))


def _counts(con: duckdb.DuckDBPyConnection, rows: int) -> dict[str, Any]:
    rejected = con.execute("SELECT count(*) FROM rejected").fetchone()[0]
    by_code = con.execute(
        "SELECT code, count(*), count(DISTINCT _row_id) FROM findings_all GROUP BY code ORDER BY code"
    ).fetchall()
    return {
        "rows_received": int(rows),
        "rows_accepted": int(rows - rejected),
        "rows_quarantined": int(rejected),
        "findings_by_code": {code: int(n) for code, n, _ in by_code},
        "rows_by_code": {code: int(n) for code, _, n in by_code},
    }
