"""The search query class CKAN's ``ckan.lib.search`` gets instead of Solr's: ``package_search`` over
our index table (``table.INDEX``), answering in Solr's shape."""

from __future__ import annotations

import logging
from typing import Any

import ckan.model as model
from ckan.common import asbool, config
from ckan.lib.search.common import SearchError, SearchQueryError
from ckan.lib.search.query import (
    MAGIC_FIELD_RE,
    QUERY_PARSER_RE,
    VALID_SOLR_PARAMETERS,
    SearchQuery,
    _get_local_query_parser,
)
from sqlalchemy import and_, func, literal, select, text
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict

from . import documents, facets, parser
from .conditions import Compiler, I, labels_condition, order_by, positive_texts
from .table import retrying

log = logging.getLogger(__name__)

DEFAULT_SORT = "score desc, metadata_modified desc"
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE when statement_timeout cancels a statement


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


def refuse_query_parsers(query: dict[str, Any] | MultiDict) -> None:
    """Solr local parameters (``{!...}``) and magic fields (``_query_:``, ``_val_:``) refused the way
    CKAN's own ``PackageSearchQuery.run`` refuses them, with its messages (CKAN's tests check them).

    Why here and not only in ``limits.py``: that wall guards the API's ``package_search``; this one is the
    query class itself, which every caller reaches (CKAN's pages, the CLI, other plugins, CKAN's tests,
    which do not load ``tambon_limits``). A parser the operator allowed
    (``ckan.search.solr_allowed_query_parsers``) is still refused: only Solr implements it."""
    allowed = config.get("ckan.search.solr_allowed_query_parsers") or []
    for param in list(query.keys()):
        values = query.getlist(param) if isinstance(query, MultiDict) else query[param]
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str):
                continue
            value = value.strip()
            if MAGIC_FIELD_RE.search(value):
                raise SearchError(f"Magic fields are not supported in param '{param}'.")
            found = QUERY_PARSER_RE.findall(value)
            if not found:
                continue
            if len(found) > 1:
                raise SearchError(f"Query parsers are not supported in param '{param}'.")
            if not value.startswith("{!"):
                raise SearchError(f"Local parameters must be defined at the beginning of param '{param}'.")
            if _get_local_query_parser(value) not in allowed:
                raise SearchError(f"Local parameters are not supported in param '{param}'.")
            raise SearchQueryError(
                f"การค้นหาบน PostgreSQL ไม่มีตัวแยกคำค้นของ Solr ใน {param} / "
                f"Solr query parsers are not available on the PostgreSQL search (param '{param}')"
            )


def _parse_filter(fq: str) -> parser.Node:
    try:
        return parser.parse(fq)
    except parser.ParseError as e:
        raise SearchQueryError(f"Invalid filter query {fq!r}: {e}") from e


class PostgresPackageSearchQuery(SearchQuery):
    """``package_search`` over the index table, answering in Solr's shape."""

    def get_all_entity_ids(self, max_results: int = 1000) -> list[str]:
        query = select(I.c.id).limit(max_results)
        return retrying(lambda: [row[0] for row in model.Session.execute(query)])

    def get_index(self, reference: str) -> dict[str, Any]:
        """The indexed document of one dataset (``ckan search-index show``), as Solr's ``get_index`` returns
        it. ``package_show`` does not use it as its cache (``install_package_show_without_cache``)."""
        query = select(I.c.id, I.c.document, I.c.data_dict, I.c.validated_data_dict).where(
            (I.c.id == reference) | (I.c.name == reference)
        )
        row = retrying(lambda: model.Session.execute(query.limit(1)).first())
        if row is None:
            raise SearchError(f"Dataset not found in the search index: {reference}")
        return {**(row.document or {}), "id": row.id, "data_dict": row.data_dict,
                "validated_data_dict": row.validated_data_dict}  # fmt: skip

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
            return retrying(lambda: self._run(query, permission_labels))
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
        refuse_query_parsers(query)

        q = query.get("q")
        try:
            q_node = parser.parse(q)
        except parser.ParseError:
            q_node = parser.parse_text_fallback(q)
        filters = _as_list(query.get("fq")) + _as_list(query.get("fq_list"))
        f_nodes = [_parse_filter(fq) for fq in filters]
        compiler = Compiler()
        conditions = [compiler.condition(q_node)] + [compiler.condition(node) for node in f_nodes]
        if not any("+state:" in fq for fq in filters):
            conditions.append(I.c.state == "active")
        if permission_labels is not None:
            conditions.append(labels_condition(permission_labels))
        where = and_(*conditions)

        score = compiler.score(positive_texts(q_node))
        rows = _int(query, "rows", 10)
        start = _int(query, "start", 0)
        sort = query.get("sort") or DEFAULT_SORT
        fl = documents.parse_fl(query.get("fl"))

        ordering = order_by(sort, score)  # a bad sort is refused even when nothing matches, as by Solr
        # PostgreSQL compiles a query it expects to be costly (JIT): the facet query's estimate (every group's
        # arrays expanded) passes the threshold, and compiling took 30 ms of a 50 ms search; these queries
        # run for milliseconds. For this request's transaction only.
        model.Session.execute(text("SET LOCAL jit = off"))
        self.facets = {}
        facet_fields = _as_list(query.get("facet.field"))
        if facet_fields and asbool(query.get("facet", "true")):
            # the facet query sees every match once: its groups add up to the count (one scan fewer)
            self.facets, self.count = facets.facet_counts(
                facet_fields,
                where,
                limit=_int(query, "facet.limit", config.get("search.facets.limit")),
                mincount=_int(query, "facet.mincount", 1),
            )
        else:
            self.count = model.Session.execute(select(func.count()).select_from(I).where(where)).scalar()
        self.results = []
        if rows > 0 and self.count > max(start, 0):
            columns = [I.c.id, (score if score is not None else literal(0.0)).label("score")]
            # the flattened document only when fl asks for its fields (CKAN's own fl: id validated_data_dict)
            if "*" in fl or set(fl) - {"id", "score", *documents.FULL_DICT_FIELDS}:
                columns.append(I.c.document)
            columns += [I.c[name] for name in documents.FULL_DICT_FIELDS if name in fl or "*" in fl]
            page = select(*columns).where(where).order_by(*ordering).offset(max(start, 0)).limit(rows)
            results = [documents.result(row, fl) for row in model.Session.execute(page)]
            for result in results:
                extras = {k[len("extras_") :]: result.pop(k) for k in list(result) if k.startswith("extras_")}
                if extras:
                    result["extras"] = extras
            self.results = [r.get(fl[0]) for r in results] if fl in (["id"], ["name"]) else results
        return {"results": self.results, "count": self.count}


class _SearchWithoutShow:
    """``ckan.lib.search`` as ``package_show`` sees it, but with ``show`` failing: the index holds each
    dataset without its staged resources, which editors must see, so ``package_show`` always builds the
    dataset from the database (as it does when Solr is unreachable). Everything else is the real module,
    looked up at each use (so mocks of ``ckan.lib.search`` still apply)."""

    def __getattr__(self, name: str) -> Any:
        import ckan.lib.search as search

        return getattr(search, name)

    @staticmethod
    def show(reference: str) -> dict[str, Any]:
        raise SearchError("package_show reads datasets from the database, not from the search index")


def install_package_show_without_cache() -> None:
    """Give ``ckan.logic.action.get`` (whose ``package_show`` reads ``search.show``) the module above."""
    import ckan.logic.action.get as get

    get.search = _SearchWithoutShow()  # type: ignore[assignment]
