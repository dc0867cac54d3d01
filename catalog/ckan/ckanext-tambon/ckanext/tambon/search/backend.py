"""The search backends CKAN's ``ckan.lib.search`` gets instead of Solr's."""

from __future__ import annotations

import logging
from typing import Any

import ckan.model as model
from ckan.common import asbool, config
from ckan.lib.search.common import SearchError, SearchQueryError
from ckan.lib.search.index import PackageSearchIndex
from ckan.lib.search.query import VALID_SOLR_PARAMETERS, SearchQuery
from sqlalchemy import and_, func, literal, select, true
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict

from . import documents, facets, parser, sql

log = logging.getLogger(__name__)

DEFAULT_SORT = "score desc, metadata_modified desc"
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE when statement_timeout cancels a statement


class NoopPackageIndex(PackageSearchIndex):
    """Nothing to index: searches read CKAN's tables directly."""

    def index_package(self, pkg_dict: dict[str, Any] | None, defer_commit: bool = False) -> None:
        return None

    def update_dict(self, pkg_dict: dict[str, Any], defer_commit: bool = False) -> None:
        return None

    def insert_dict(self, data: dict[str, Any]) -> None:
        return None

    def remove_dict(self, pkg_dict: dict[str, Any]) -> None:
        return None

    def delete_package(self, pkg_dict: dict[str, Any]) -> None:
        return None

    def commit(self) -> None:
        return None

    def clear(self) -> None:
        return None


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v]
    return [value]


def _int(query: Any, key: str, default: int) -> int:
    value = query.get(key, default)
    try:
        return int(value if value not in (None, "") else default)
    except (TypeError, ValueError) as e:
        raise SearchQueryError(f"Invalid {key!r}: {value!r}") from e


def _parse_filter(fq: str) -> parser.Node:
    try:
        return parser.parse(fq)
    except parser.ParseError as e:
        raise SearchQueryError(f"Invalid filter query {fq!r}: {e}") from e


class PostgresPackageSearchQuery(SearchQuery):
    """``package_search`` over PostgreSQL, answering in Solr's shape."""

    def get_all_entity_ids(self, max_results: int = 1000) -> list[str]:
        query = select(sql.P.c.id).where(sql.P.c.state == "active").limit(max_results)
        return [row[0] for row in model.Session.execute(query)]

    def get_index(self, reference: str) -> dict[str, Any]:
        # package_show then reads the dataset from the database
        raise SearchError("no search index: datasets are read from the database")

    def run(
        self,
        query: dict[str, Any],
        permission_labels: list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The caps of ``limits.py`` are checked on what users send (the chained ``package_search``);
        CKAN's own callers may send more (a bulk update ORs 50 ids). A query deep enough to exhaust
        Python's stack is still a bad query (400), not a server error (500)."""
        try:
            return self._run(query, permission_labels)
        except RecursionError:
            raise SearchQueryError("คำค้นซับซ้อนเกินไป / The search query is too complex") from None
        except OperationalError as error:
            # PostgreSQL's statement_timeout (set for CKAN's role by ckan.sh) cancelled it
            if getattr(error.orig, "pgcode", None) != QUERY_CANCELED:
                raise
            model.Session.rollback()
            raise SearchQueryError(
                "การค้นหาใช้เวลานานเกินไป ลองใช้คำค้นให้น้อยลงหรือเจาะจงขึ้น / "
                "The search took too long: try fewer or more specific terms"
            ) from None

    def _run(self, query: dict[str, Any], permission_labels: list[str] | None) -> dict[str, Any]:
        assert isinstance(query, (dict, MultiDict))
        invalid = set(query.keys()) - VALID_SOLR_PARAMETERS
        if invalid:
            raise SearchQueryError(f"Invalid search parameters: {sorted(invalid)}")

        q = query.get("q")
        try:
            q_node = parser.parse(q)
        except parser.ParseError:
            q_node = parser.parse_text_fallback(q)
        filters = _as_list(query.get("fq")) + _as_list(query.get("fq_list"))
        f_nodes = [_parse_filter(fq) for fq in filters]
        source: Any = sql.P
        doc = None
        if any(sql.uses_text(node) for node in [q_node, *f_nodes]):
            lateral = sql.document_lateral()
            source = sql.P.join(lateral, true())
            doc = lateral.c.doc
        conditions = [sql.condition(q_node, doc)]
        conditions += [sql.condition(node, doc) for node in f_nodes]
        if not any("+state:" in fq for fq in filters):
            conditions.append(sql.P.c.state == "active")
        if permission_labels is not None:
            conditions.append(sql.labels_condition(permission_labels))
        where = and_(*conditions)

        texts = sql.positive_texts(q_node)
        score = sql.score_expression(texts, doc) if texts else None
        rows = _int(query, "rows", 10)
        start = _int(query, "start", 0)
        sort = query.get("sort") or DEFAULT_SORT

        self.count = model.Session.execute(select(func.count()).select_from(source).where(where)).scalar()
        page: list[tuple[str, float]] = []
        if rows > 0:
            page_query = (
                select(sql.P.c.id, (score if score is not None else literal(0)).label("score"))
                .select_from(source)
                .where(where)
                .order_by(*sql.order_by(sort, score))
                .offset(max(start, 0))
                .limit(rows)
            )
            page = [(row.id, row.score) for row in model.Session.execute(page_query)]

        fl = documents.parse_fl(query.get("fl"))
        results = documents.build(page, fl)
        for result in results:
            extras = {k[len("extras_") :]: result.pop(k) for k in list(result) if k.startswith("extras_")}
            if extras:
                result["extras"] = extras
        if fl in (["id"], ["name"]):
            results = [result.get(fl[0]) for result in results]
        self.results = results

        self.facets = {}
        facet_fields = _as_list(query.get("facet.field"))
        if facet_fields and asbool(query.get("facet", "true")):
            ids = select(sql.P.c.id).select_from(source).where(where)
            self.facets = facets.facet_counts(
                facet_fields,
                ids,
                limit=_int(query, "facet.limit", config.get("search.facets.limit")),
                mincount=_int(query, "facet.mincount", 1),
            )
        return {"results": self.results, "count": self.count}
