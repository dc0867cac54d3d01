"""``tambon_datastore_load``: one round of a published CSV into its DataStore table, with PostgreSQL COPY.

Why: ``datastore_upsert`` writes a row at a time (two SQL statements a row for an upsert, one for an
insert), so a national village round (75,000 rows) took minutes. The publisher has already uploaded the
round's CSV as a resource of the dataset (and checked its SHA-256), so the file is on this server: the
action reads it from CKAN's storage and, in ONE transaction,

1. checks the file's SHA-256 against the one the caller expects (the local catalog's), and that every row
   belongs to the round being replaced (``column`` = ``value``);
2. ``COPY``s it into a temporary table of text columns;
3. deletes the round's rows from the DataStore table and inserts the new ones with one
   ``INSERT ... SELECT``, converting as the publisher did through ``datastore_upsert``: a missing value
   (``missing_values``, e.g. ``""`` and the small-cell marker ``x``) is NULL, a boolean column is true
   for its ``true_values`` and false for any other value, every other column is cast to the table's own
   type (the types the data dictionary declared), as PostgreSQL casts the strings ``datastore_upsert``
   sends; ``_full_text`` (the Data API's free-text search) is what CKAN's own trigger would write, computed
   in the same statement for all rows (the trigger leaves a given value alone): about 3 s for a national
   round instead of 6-8 s row by row.

Readers see the previous rows of the round until the transaction commits, then all of the new ones.

The full-text indexes CKAN puts on every text column are made GIN here (same names, same expressions)
when they are GiST (CKAN's default method): inserting 70,000 rows into a table with 18 GiST indexes takes
about 26 s in PostgreSQL alone (whatever the client), into GIN ones a few seconds; both answer the same ``@@``
searches. On a new (empty) table the change costs nothing; ``ckan.datastore.default_fts_index_method = gin``
makes new tables GIN from the start. During the load GIN's pending list may hold the whole round
(``gin_pending_list_limit``): autovacuum merges it into the indexes afterwards, in the background (until
then, free-text searches of that table read the list too: ~0.2 s instead of ~0.02 s for 70,000 rows).

The caller needs the rights of ``datastore_upsert`` and ``datastore_delete`` on the table and of
``resource_show`` on the file's resource, which must be an upload of the same dataset.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import time
from typing import Any

import ckan.plugins.toolkit as toolkit

from .limits import other_cap

#: a column type as PostgreSQL names it (bigint, double precision, numeric(10,2), text[]): cast to as it is
_TYPE = re.compile(r"^[a-z][a-z0-9_ ]*(\(\d+(,\d+)?\))?(\[\])?$")
#: the heart of CKAN's full-text trigger (datastore/backend/postgres.py), whitespace collapsed
_CKAN_TRIGGER = (
    "IF NEW._full_text IS NOT NULL THEN RETURN NEW; END IF; NEW._full_text := ( SELECT to_tsvector(string_agg(value, "
    "' ')) FROM json_each_text(row_to_json(NEW.*)) WHERE key NOT LIKE '\\_%');"
)


def _error(field: str, message: str) -> toolkit.ValidationError:
    return toolkit.ValidationError({field: [message]})


def _header(path: str) -> list[str]:
    with open(path, "rb") as handle:
        first = handle.readline(1 << 20)
    text = first.decode("utf-8-sig" if first.startswith(codecs.BOM_UTF8) else "utf-8")
    return next(csv.reader(io.StringIO(text)))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _gin_indexes(engine: Any, table: str, timeout: int) -> int:
    """The table's GiST full-text indexes made GIN, same names and expressions; how many were changed.

    One transaction per index, committed before the load: on a large table made before, a load that then
    fails (or a worker replaced mid-way) keeps the indexes already changed, so the next load goes on from there.
    """
    import sqlalchemy as sa

    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = :t"),
            {"t": table},
        ).fetchall()
    changed = 0
    for name, definition in rows:
        if " USING gist " not in definition or ("to_tsvector(" not in definition and "_full_text" not in definition):
            continue
        with engine.begin() as connection:
            connection.execute(sa.text(f"SET LOCAL statement_timeout = {timeout}"))
            connection.execute(sa.text(f"DROP INDEX {_quote(name)}"))
            connection.execute(sa.text(definition.replace(" USING gist ", " USING gin ", 1)))
        changed += 1
    return changed


def _ckan_full_text(connection: Any) -> bool:
    """Whether CKAN's ``populate_full_text_trigger`` is the one this module computes in bulk (CKAN 2.9-2.11)."""
    import sqlalchemy as sa

    definition = connection.execute(
        sa.text(
            "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = 'populate_full_text_trigger' AND n.nspname = 'public'"
        )
    ).scalar()
    return _CKAN_TRIGGER in " ".join((definition or "").split())


def _as_json_text(value: str, kind: str) -> str:
    """SQL for ``value`` as ``json_each_text(row_to_json(row))`` gives it (how CKAN's trigger reads a row), cheaper.

    Text as it is; numbers by their output function (as JSON writes them); booleans ``true``/``false``; any
    other type through ``to_json``, which is what ``row_to_json`` does for each column.
    """
    if kind == "text" or kind.startswith("character varying"):
        return value
    if kind in ("bigint", "integer", "smallint", "double precision", "real") or kind.startswith("numeric"):
        return f"{value}::text"
    if kind == "boolean":
        return f"CASE WHEN {value} THEN 'true' WHEN NOT {value} THEN 'false' END"
    return f"to_json({value}) #>> '{{}}'"


def tambon_datastore_load(context: dict[str, Any], data_dict: dict[str, Any]) -> dict[str, Any]:
    """Replace one round's rows of a DataStore table by the rows of an uploaded CSV resource.

    :param resource_id: the DataStore table (its resource id)
    :param source_id: the resource whose uploaded CSV is loaded (same dataset; UTF-8, a BOM allowed)
    :param sha256: the SHA-256 the file must have (the local catalog's)
    :param column: the column that names the round (e.g. ``round``); every row of the file must hold ``value``
    :param value: the round whose rows are replaced
    :param missing_values: the values that mean NULL (default ``[""]``)
    :param true_values: ``{boolean column: [values meaning true]}`` (any other value, not missing, is false)
    :returns: ``{"rows": inserted, "deleted": rows of the round before, "gin_indexes": indexes made GIN,
        "seconds": time in the database}``
    """
    from ckanext.datastore.backend.postgres import DatastorePostgresqlBackend

    table_id = toolkit.get_or_bust(data_dict, "resource_id")
    source_id = toolkit.get_or_bust(data_dict, "source_id")
    expected = str(toolkit.get_or_bust(data_dict, "sha256")).lower()
    column = str(toolkit.get_or_bust(data_dict, "column"))
    value = str(toolkit.get_or_bust(data_dict, "value"))
    missing = [str(v) for v in data_dict.get("missing_values") or [""]]
    true_values = data_dict.get("true_values") or {}
    if not isinstance(true_values, dict) or not all(isinstance(v, list) for v in true_values.values()):
        raise _error("true_values", "a mapping of a boolean column to a list of values")

    toolkit.check_access("datastore_upsert", context, {"resource_id": table_id})
    toolkit.check_access("datastore_delete", context, {"resource_id": table_id})
    toolkit.check_access("resource_show", context, {"id": source_id})
    shown = {**context, "ignore_auth": True}
    table = toolkit.get_action("resource_show")(dict(shown), {"id": table_id})
    source = toolkit.get_action("resource_show")(dict(shown), {"id": source_id})
    if source.get("url_type") != "upload" or source.get("package_id") != table.get("package_id"):
        raise _error("source_id", "must be an uploaded file of the same dataset as the table")
    from ckan.lib.uploader import get_resource_uploader

    path = get_resource_uploader(source).get_path(source["id"])
    got = _sha256(path)
    if got != expected:
        raise _error("sha256", f"the stored file's SHA-256 is {got}, not {expected}")
    header = _header(path)
    if column not in header or len(set(header)) != len(header) or any(":" in name for name in header):
        raise _error("source_id", f"the file's header must name each column once, {column} among them")

    import sqlalchemy as sa
    from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError

    engine = DatastorePostgresqlBackend.get_active_backend()._get_write_engine()
    timeout = other_cap("datastore.load_timeout_ms")
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        seconds[name] = round(time.perf_counter() - started - sum(seconds.values()), 3)

    try:
        gin = _gin_indexes(engine, table_id, timeout)
        lap("indexes")
        with engine.begin() as connection:
            connection.execute(sa.text(f"SET LOCAL statement_timeout = {timeout}"))
            # GIN's pending list takes a whole round (merged into the index by autovacuum after the load)
            connection.execute(sa.text("SET LOCAL gin_pending_list_limit = '1GB'"))
            # the table's columns, in the table's order (CKAN's full-text trigger reads a row in that order)
            table_columns = connection.execute(
                sa.text(
                    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = to_regclass(quote_ident(:t)) AND attnum > 0 AND NOT attisdropped "
                    "ORDER BY attnum"
                ),
                {"t": table_id},
            ).fetchall()
            types = {name: kind for name, kind in table_columns}
            unknown = [name for name in header if name not in types or name.startswith("_")]
            if unknown:
                raise _error("source_id", f"columns the table does not have: {unknown}")
            if not all(_TYPE.match(kind) for name, kind in table_columns if not name.startswith("_")):
                raise _error("resource_id", f"a column type this load does not cast to: {sorted(set(types.values()))}")
            lap("prepare")
            staging = "tambon_load"
            columns = ", ".join(_quote(n) for n in header)
            connection.execute(
                sa.text(
                    f"CREATE TEMP TABLE {staging} ({', '.join(f'{_quote(n)} text' for n in header)}) ON COMMIT DROP"
                )
            )
            cursor = connection.connection.cursor()
            with open(path, "rb") as handle:
                # empty fields stay "" (not NULL): which values are missing is the caller's rule, for every type
                cursor.copy_expert(
                    f"COPY {staging} ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8', "
                    f"FORCE_NOT_NULL ({columns}))",
                    handle,
                )
            others = connection.execute(
                sa.text(f"SELECT count(*) FROM {staging} WHERE {_quote(column)} IS DISTINCT FROM :value"),
                {"value": value},
            ).scalar()
            if others:
                raise _error("value", f"{others} rows of the file are not of {column} = {value}")
            params: dict[str, Any] = {"missing": missing, "value": value}
            values, names = [], [name for name, _ in table_columns if not name.startswith("_")]
            for index, name in enumerate(names):
                col, kind = _quote(name), types[name]
                if name not in header:
                    values.append(f"NULL::{kind} AS {col}")
                elif name in true_values:
                    params[f"true_{index}"] = [str(v) for v in true_values[name]]
                    values.append(
                        f"CASE WHEN {col} = ANY(:missing) THEN NULL WHEN {col} = ANY(:true_{index}) THEN true "
                        f"ELSE false END AS {col}"
                    )
                elif kind == "text":
                    values.append(f"CASE WHEN {col} = ANY(:missing) THEN NULL ELSE {col} END AS {col}")
                else:
                    values.append(f"(CASE WHEN {col} = ANY(:missing) THEN NULL ELSE {col} END)::{kind} AS {col}")
            targets = ", ".join(_quote(n) for n in names)
            rows = f"SELECT {', '.join(values)} FROM {staging}"
            bulk_full_text = _ckan_full_text(connection) and "_full_text" in types
            if bulk_full_text:
                # what CKAN's trigger computes, for all rows at once (the trigger keeps a _full_text given)
                rendered = ", ".join(_as_json_text(f"r.{_quote(n)}", types[n]) for n in names if n in header)
                rows = (
                    f"SELECT r.*, CASE WHEN num_nonnulls(VARIADIC ARRAY[{rendered}]) = 0 THEN NULL "
                    f"ELSE to_tsvector(concat_ws(' ', VARIADIC ARRAY[{rendered}])) END FROM ({rows}) r"
                )
                targets += ', "_full_text"'
            lap("copy")
            deleted = connection.execute(
                sa.text(f"DELETE FROM {_quote(table_id)} WHERE {_quote(column)} = :value"), {"value": value}
            ).rowcount
            lap("delete")
            inserted = connection.execute(
                sa.text(f"INSERT INTO {_quote(table_id)} ({targets}) {rows}"), params
            ).rowcount
            lap("insert")
    except (DataError, IntegrityError, ProgrammingError) as error:
        raise _error("records", str(getattr(error, "orig", error)).strip().splitlines()[0]) from None
    return {
        "rows": inserted,
        "deleted": deleted,
        "gin_indexes": gin,
        "full_text": "bulk" if bulk_full_text else "trigger",
        "seconds": {**seconds, "commit": round(time.perf_counter() - started - sum(seconds.values()), 3)},
    }
