"""The search index's tables: one row per dataset, written when CKAN indexes it, read by ``package_search``.

Why a table of ours: building each dataset's text from ``package``, ``tag``, ``resource`` and
``package_extra`` at query time cost 3.3 s per search at 1,000 datasets. The row holds what Solr
would hold: the weighted words (``vector``), every field's values for filters and facets
(``fields``: text arrays; ``numbers``, ``dates``: the same values as numbers and epoch seconds, so
ranges compare as numbers and dates), the permission labels, and the JSON of the dataset that
``package_search`` returns, so a page of results is one indexed query.

``tambon_search_words`` holds every lexeme once, with a trigram index, for fuzzy terms (``villag~``).

English words go through ``tambon_english``: PostgreSQL's ``english`` configuration (Snowball stemming)
without its stop list, as CKAN's Solr schema keeps stop words: ``after``, ``one`` or ``the`` are words
a title may be searched by.

What a search reads of every match stays in the row: the words and facet arrays (``STORAGE MAIN``) and
the small columns (state, labels, dates, title). PostgreSQL moves values out of a row (TOAST) until it
is under ``toast_tuple_target``, 2 kB by default: with the words and facets taking most of that, it
moved even the title and the permission labels out, and testing the labels of 5,000 matches read
37,000 pages (31 ms of a 50 ms search at 10,000 datasets). At 4 kB only the large values move out (the
JSON documents, ``fields``) and the same test reads the 3,300 pages of the table (8 ms).

``row_version`` says how a row was made; a row of an older version is made again by
``ckan tambon-search refresh`` (``refresh.py``; ``ckan.sh`` runs it after an upgrade of the extension).

The tables are created on first use (``ensure``); ``ckan.sh`` creates ``pg_trgm`` as the database
superuser (it is a trusted extension: the database owner can create it too). Without ``pg_trgm``
fuzzy terms fall back to prefix matching.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import ckan.model as model
from sqlalchemy import Boolean, Column, DateTime, MetaData, SmallInteger, Table, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.exc import ProgrammingError

log = logging.getLogger(__name__)

INDEX_TABLE = "tambon_search_index"
WORDS_TABLE = "tambon_search_words"
UNDEFINED_TABLE = "42P01"
TEXT_CONFIG = "tambon_english"
#: 1: PostgreSQL's ``english`` (stop words dropped), rows toasted at 2 kB; 2: ``tambon_english`` (stop
#: words kept), at ``TOAST_TUPLE_TARGET``
ROW_VERSION = 2
TOAST_TUPLE_TARGET = 4080

metadata = MetaData()
INDEX = Table(
    INDEX_TABLE,
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text),
    Column("state", Text),
    Column("private", Boolean),
    Column("type", Text),
    Column("owner_org", Text),
    Column("title_sort", Text),
    Column("metadata_created", DateTime),
    Column("metadata_modified", DateTime),
    Column("permission_labels", ARRAY(Text)),
    Column("vector", TSVECTOR),
    Column("fields", JSONB),
    Column("facets", JSONB),
    Column("numbers", JSONB),
    Column("dates", JSONB),
    Column("document", JSONB),
    Column("data_dict", Text),
    Column("validated_data_dict", Text),
    Column("indexed_at", DateTime),
    Column("row_version", SmallInteger),
)
WORDS = Table(WORDS_TABLE, metadata, Column("word", Text, primary_key=True))

DDL = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = '{TEXT_CONFIG}_stem'
                     AND dictnamespace = current_schema()::regnamespace) THEN
        CREATE TEXT SEARCH DICTIONARY {TEXT_CONFIG}_stem (TEMPLATE = snowball, Language = english);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{TEXT_CONFIG}'
                     AND cfgnamespace = current_schema()::regnamespace) THEN
        CREATE TEXT SEARCH CONFIGURATION {TEXT_CONFIG} (COPY = english);
        ALTER TEXT SEARCH CONFIGURATION {TEXT_CONFIG} ALTER MAPPING REPLACE english_stem WITH {TEXT_CONFIG}_stem;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS {INDEX_TABLE} (
    id text PRIMARY KEY,
    name text,
    state text,
    private boolean,
    type text,
    owner_org text,
    title_sort text,
    metadata_created timestamp,
    metadata_modified timestamp,
    permission_labels text[] NOT NULL DEFAULT '{{}}',
    vector tsvector NOT NULL,
    fields jsonb NOT NULL,
    numbers jsonb NOT NULL,
    dates jsonb NOT NULL,
    document jsonb NOT NULL,
    data_dict text,
    validated_data_dict text,
    indexed_at timestamp NOT NULL DEFAULT now(),
    row_version smallint NOT NULL DEFAULT 1
);
-- the usual facet fields again, small enough to stay in the row (``rows.facet_values``): added after the
-- first release, so NULL in a row indexed before (facets then read ``fields``); ALTER only when missing,
-- as it waits for every open transaction that has read the table
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_name = '{INDEX_TABLE}' AND column_name = 'facets'
                     AND table_schema = current_schema()) THEN
        ALTER TABLE {INDEX_TABLE} ADD COLUMN facets jsonb;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_name = '{INDEX_TABLE}' AND column_name = 'row_version'
                     AND table_schema = current_schema()) THEN
        ALTER TABLE {INDEX_TABLE} ADD COLUMN row_version smallint NOT NULL DEFAULT 1;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = '{INDEX_TABLE}'::regclass
                     AND reloptions @> ARRAY['toast_tuple_target={TOAST_TUPLE_TARGET}']) THEN
        ALTER TABLE {INDEX_TABLE} SET (toast_tuple_target = {TOAST_TUPLE_TARGET});
    END IF;
    -- the words and the facet fields compressed in the row, not moved out of it: ranking and counting read
    -- them for every match (ts_rank over 2,500 matches: 13 ms out of the row, 5 ms in it); a value still
    -- too large for the row is moved out as before. Applies to rows written from then on.
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = '{INDEX_TABLE}'::regclass AND attname IN ('vector', 'facets')
                 AND attstorage <> 'm') THEN
        ALTER TABLE {INDEX_TABLE} ALTER COLUMN vector SET STORAGE MAIN, ALTER COLUMN facets SET STORAGE MAIN;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_vector ON {INDEX_TABLE} USING gin (vector);
CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_fields ON {INDEX_TABLE} USING gin (fields jsonb_path_ops);
CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_labels ON {INDEX_TABLE} USING gin (permission_labels);
CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_modified ON {INDEX_TABLE} (metadata_modified);
CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_created ON {INDEX_TABLE} (metadata_created);
CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_title ON {INDEX_TABLE} (title_sort);
CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_name ON {INDEX_TABLE} (name);
CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_state ON {INDEX_TABLE} (state, private);
CREATE TABLE IF NOT EXISTS {WORDS_TABLE} (word text PRIMARY KEY);
"""
TRIGRAM_DDL = f"CREATE INDEX IF NOT EXISTS {WORDS_TABLE}_trgm ON {WORDS_TABLE} USING gin (word gin_trgm_ops)"

_lock = threading.Lock()
_state: dict[str, bool] = {"ready": False, "trigram": False}
T = TypeVar("T")


def ensure(force: bool = False) -> None:
    """Create the tables and indexes if missing: once per process, in a transaction of its own, under an
    advisory lock (two gunicorn workers starting together must not both create them)."""
    with _lock:
        if _state["ready"] and not force:
            return
        engine = model.meta.engine
        assert engine is not None, "CKAN's database engine is not configured yet"
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": INDEX_TABLE})
            connection.execute(text(DDL))
            _state["trigram"] = _ensure_trigram(connection)
        _state["ready"] = True


def _ensure_trigram(connection: Any) -> bool:
    has = connection.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")).scalar()
    if not has:
        savepoint = connection.begin_nested()
        try:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            savepoint.commit()
        except ProgrammingError as error:  # not allowed for this role: fuzzy terms fall back to prefixes
            savepoint.rollback()
            log.warning("pg_trgm is not available, fuzzy search falls back to prefixes: %s", error.orig)
            return False
    connection.execute(text(TRIGRAM_DDL))
    return True


def has_trigram() -> bool:
    return _state["trigram"]


def retrying(action: Callable[[], T]) -> T:
    """Run ``action`` on CKAN's session; if the tables are gone (a test run dropped every table), create
    them again and run it once more."""
    ensure()
    try:
        return action()
    except ProgrammingError as error:
        if getattr(error.orig, "pgcode", None) != UNDEFINED_TABLE:
            raise
        model.Session.rollback()
        ensure(force=True)
        return action()
