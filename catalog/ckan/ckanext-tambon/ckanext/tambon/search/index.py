"""Writing the search index: CKAN's own indexer, with our table where Solr would be.

CKAN's ``PackageSearchIndex.index_package`` builds the document Solr stores (the validated dataset
JSON, flattened tags, groups, organisation, ``res_*`` lists, extras, ``permission_labels`` from
``get_permission_labels().get_dataset_labels``, plugins' ``before_dataset_index``) and hands it to a
Solr connection. ``install()`` gives that module a connection of ours (``IndexWriter``) whose
``add`` turns the document into one row of ``tambon_search_index`` (``rows.build``). So create,
update, delete, the DataStore's flag update and ``ckan search-index rebuild`` all fill the index,
through the very hooks that fill Solr.

Staged (pending) resources are taken out before CKAN builds the document: they must not make a
dataset match, nor appear in the results, for anyone, until the publisher switches them on.

Rows are written on a connection of their own, committed at once: the indexer runs inside CKAN's
commit (``before_commit``) and also after it (the DataStore's flag), where nothing would commit a
write made on CKAN's session.
"""

from __future__ import annotations

import logging
from typing import Any

import ckan.model as model
from ckan.lib.search.index import PackageSearchIndex
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from ..publishing import hide_pending
from . import rows
from .table import INDEX, WORDS, ensure

log = logging.getLogger(__name__)


class PostgresPackageIndex(PackageSearchIndex):
    """CKAN's package indexer writing to ``tambon_search_index`` (see the module's docstring)."""

    def index_package(self, pkg_dict: dict[str, Any] | None, defer_commit: bool = False) -> None:
        if pkg_dict is None:
            return None
        return super().index_package(hide_pending(dict(pkg_dict)), defer_commit)

    def delete_package(self, pkg_dict: dict[str, Any]) -> None:
        ensure()
        reference = pkg_dict.get("id")
        with model.meta.engine.begin() as connection:
            connection.execute(delete(INDEX).where((INDEX.c.id == reference) | (INDEX.c.name == reference)))

    def commit(self) -> None:
        return None  # every row is committed when written

    def clear(self) -> None:
        """Empty the index with DELETE, not TRUNCATE: CKAN's session may be idle in a transaction that has
        read the index (a search before ``search-index clear`` or ``rebuild -c``), holding a share lock that
        TRUNCATE's exclusive lock waits on for ever; DELETE's row lock does not conflict with it."""
        ensure()
        with model.meta.engine.begin() as connection:
            connection.execute(delete(INDEX))
            connection.execute(delete(WORDS))


class IndexWriter:
    """What ``ckan.lib.search.index`` takes for a Solr connection: only ``add`` is reached (our index
    class overrides delete, commit and clear)."""

    url = "postgresql://tambon_search_index"

    def add(self, docs: list[dict[str, Any]], commit: bool = True, **_kwargs: Any) -> None:
        ensure()
        with model.meta.engine.begin() as connection:
            for doc in docs:
                write(connection, doc)

    def delete(self, **_kwargs: Any) -> None:
        raise NotImplementedError("PostgresPackageIndex deletes rows itself")

    def commit(self, **_kwargs: Any) -> None:
        return None


def write(connection: Any, doc: dict[str, Any]) -> None:
    """Insert or replace one dataset's row, and remember its words for fuzzy terms."""
    row, weights = rows.build(doc)
    vector = rows.vector_expression(weights)
    values = {**row, "vector": vector, "indexed_at": func.now()}
    statement = insert(INDEX).values(**values)
    update = {name: statement.excluded[name] for name in values if name != "id"}
    connection.execute(statement.on_conflict_do_update(index_elements=[INDEX.c.id], set_=update))
    words = select(func.unnest(func.tsvector_to_array(INDEX.c.vector))).where(INDEX.c.id == row["id"])
    connection.execute(insert(WORDS).from_select(["word"], words).on_conflict_do_nothing())


def install() -> None:
    """Point CKAN's indexer at our table instead of Solr."""
    import ckan.lib.search.index as solr_index

    solr_index.make_connection = lambda *args, **kwargs: IndexWriter()
