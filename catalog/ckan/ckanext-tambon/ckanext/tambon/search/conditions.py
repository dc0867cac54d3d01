"""A parsed query (``parser``) as SQL on the index table (``table.INDEX``), and its relevance.

* Free text: the dataset's weighted words (``vector @@ tsquery``). Each term is split like the
  indexed text (``words``): Thai words through our tokenizer, the rest through PostgreSQL's
  ``tambon_english`` configuration (stemmed, stop words kept). ``word*`` is a prefix, ``word~``
  any indexed word similar to it (trigram similarity over ``tambon_search_words``), ``"a phrase"``
  words in that order.
* ``field:value``: the field's values (``fields``: exact, as Solr's string fields; title, notes,
  author, maintainer, resource names and descriptions as substrings, as before; ``*``/``?``
  wildcards); ``field:*`` means the field has a value.
* ``field:[a TO b]``: as numbers when both ends are numbers, as dates when they are dates (ISO or
  ``NOW-7DAYS``-style date math), else as text.
* Relevance: ``ts_rank`` over the weighted words (A title 1.0, B tags/organisation/coverage 0.4,
  C description 0.2, D resources/columns 0.1), summed over the terms, times each term's ``^boost``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import ckan.model as model
from ckan.lib.search.common import SearchError, SearchQueryError
from dateutil.parser import isoparse
from sqlalchemy import Float, and_, cast, exists, false, func, literal, literal_column, not_, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import UserDefinedType

from . import parser as qp
from . import words
from .rows import ENGLISH, as_number
from .table import INDEX, WORDS, has_trigram

log = logging.getLogger(__name__)

I = INDEX  # noqa: E741 - the index table, as the SQL reads it

ALIASES = {"license": "license_id"}
NGRAM_FIELDS = {"name_ngram": "name", "title_ngram": "title"}
SUBSTRING_FIELDS = {"title", "notes", "author", "maintainer", "res_name", "res_description"}
ALWAYS_TRUE_FIELDS = {"site_id", "entity_type"}
COLUMN_SORTS = {"name", "id", "metadata_created", "metadata_modified", "state"}
FUZZY_WORDS = 32  # most similar indexed words a fuzzy term stands for
_LIKE_ESCAPE = "\\"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DATE_MATH = re.compile(
    r"^NOW(?:(?P<sign>[+-])(?P<n>\d+)(?P<unit>YEARS?|MONTHS?|DAYS?|HOURS?|MINUTES?|SECONDS?))?"
    r"(?:/(?P<round>YEAR|MONTH|DAY|HOUR|MINUTE))?$"
)
_EPOCH = dt.datetime(1970, 1, 1)


class TSQUERY(UserDefinedType):
    """PostgreSQL's tsquery (SQLAlchemy 1.4 has no type for it): tsquery text cast without parsing."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "tsquery"


# ------------------------------------------------------------------ dates --


def parse_date(value: str) -> dt.datetime:
    """ISO dates (``Z`` or offsets become naive UTC, as CKAN stores them) and Solr date math ``NOW``,
    ``NOW-7DAYS``, ``NOW/DAY``..."""
    value = value.strip()
    try:
        return _parse_date(value)
    except (OverflowError, ValueError) as e:  # NOW-99999999999YEARS, year 0...
        raise SearchQueryError(f"Invalid date in query: {value!r}") from e


def _parse_date(value: str) -> dt.datetime:
    m = _DATE_MATH.match(value.upper())
    if m:
        when = dt.datetime.utcnow()
        if m.group("sign"):
            n = int(m.group("n")) * (1 if m.group("sign") == "+" else -1)
            unit = m.group("unit").rstrip("S")
            if unit == "YEAR":
                when = when.replace(year=when.year + n)
            elif unit == "MONTH":
                month = when.month - 1 + n
                when = when.replace(year=when.year + month // 12, month=month % 12 + 1, day=1)
            else:
                when += dt.timedelta(**{unit.lower() + "s": n})
        rounding = m.group("round")
        if rounding:
            keep = ["YEAR", "MONTH", "DAY", "HOUR", "MINUTE"].index(rounding)
            parts = dict(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
            for name in ["month", "day", "hour", "minute"][:keep]:
                parts.pop(name)
            when = when.replace(**parts)
        return when
    when = isoparse(value)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def is_date(value: str | None) -> bool:
    return value is not None and bool(_ISO_DATE.match(value) or _DATE_MATH.match(value.upper()))


def epoch(value: str) -> float:
    return (parse_date(value) - _EPOCH).total_seconds()


# ------------------------------------------------------------- primitives --


def like_escape(value: str) -> str:
    return (
        value.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace("_", _LIKE_ESCAPE + "_")
    )


def _values_of(name: str) -> Any:
    """The field's text values, one row each (for EXISTS)."""
    return func.jsonb_array_elements_text(I.c.fields.op("->")(name)).table_valued("value").render_derived()


def any_value(name: str, test: Any) -> ColumnElement:
    values = _values_of(name)
    return exists(select(literal(1)).select_from(values).where(test(values.c.value)))


def has_value(name: str, value: str) -> ColumnElement:
    """Exact match through the GIN index (``fields @> {"name": ["value"]}``).

    ``state`` and ``capacity`` (which CKAN's ``package_search`` adds to every search: ``+capacity:public
    +state:active``) are read from the row's own columns instead: testing them in ``fields`` decompressed
    that large value for every candidate row (most of the time of a search at 5,000 datasets). Both come
    from the same document: ``state`` as it is, ``capacity`` is ``private`` or ``public`` from ``private``
    (``index_package``)."""
    if name == "state":
        return I.c.state == value
    if name == "capacity":
        return I.c.private.is_(value == "private") if value in ("public", "private") else false()
    return I.c.fields.op("@>")(cast(literal(json.dumps({name: [value]})), JSONB))


def _path_exists(column: Any, name: str, low: float | None, high: float | None, node: qp.Range) -> ColumnElement:
    """A range over a jsonb array of numbers (``numbers`` or ``dates``), as a jsonpath filter."""
    tests = []
    if low is not None:
        tests.append("@ >= $lo" if node.include_low else "@ > $lo")
    if high is not None:
        tests.append("@ <= $hi" if node.include_high else "@ < $hi")
    path = "$[*] ? (" + " && ".join(tests) + ")" if tests else "$[*]"
    variables = json.dumps({"lo": low, "hi": high})
    return func.coalesce(
        func.jsonb_path_exists(
            column.op("->")(name), literal_column(f"'{path}'::jsonpath"), cast(literal(variables), JSONB)
        ),
        false(),
    )


# -------------------------------------------------------------- free text --


class Compiler:
    """Builds the SQL of one search; the tsquery of each free-text term is made once (a fuzzy term
    asks the words table which indexed words are similar)."""

    def __init__(self) -> None:
        self._queries: dict[qp.Text, ColumnElement | None] = {}

    def tsquery(self, node: qp.Text) -> ColumnElement | None:
        if node not in self._queries:
            self._queries[node] = self._tsquery(node)
        return self._queries[node]

    def _tsquery(self, node: qp.Text) -> ColumnElement | None:
        split = words.split(node.value)
        parts: list[ColumnElement] = []
        if split.latin.strip():
            if node.prefix:
                terms = [words.quote_lexeme(w) for w in re.findall(r"\w+", split.latin.lower())]
                if terms:
                    terms[-1] += ":*"
                    parts.append(func.to_tsquery(ENGLISH, " & ".join(terms)))
            elif node.phrase:
                parts.append(func.phraseto_tsquery(ENGLISH, split.latin))
            else:
                parts.append(func.plainto_tsquery(ENGLISH, split.latin))
        if split.thai:
            operator = "<->" if node.phrase else "&"
            parts.append(cast(literal(words.tsquery_literal(split.thai, operator, node.prefix)), TSQUERY))
        if not parts:
            return None
        query = parts[0]
        for part in parts[1:]:
            query = query.op("&&")(part)
        if node.fuzzy:
            similar = self.similar_words(node.value)
            if similar:
                query = query.op("||")(cast(literal(words.tsquery_literal(similar, "|")), TSQUERY))
        return query

    def similar_words(self, term: str) -> list[str]:
        """Indexed words within trigram similarity of ``term`` (pg_trgm's threshold, 0.3), most similar
        first; without pg_trgm, the words it begins."""
        term = term.strip().lower()
        if not term:
            return []
        if has_trigram():
            similarity = func.similarity(WORDS.c.word, term)
            query = select(WORDS.c.word).where(WORDS.c.word.op("%")(term)).order_by(similarity.desc())
        else:
            query = select(WORDS.c.word).where(WORDS.c.word.startswith(term, autoescape=True))
        return [row[0] for row in model.Session.execute(query.limit(FUZZY_WORDS))]

    def text_match(self, node: qp.Text) -> ColumnElement:
        query = self.tsquery(node)
        if query is None:
            return true()  # nothing to look for (punctuation): Solr drops such a term too
        # a term that makes no lexeme (punctuation only) becomes an empty query: it restricts nothing
        return or_(func.numnode(query) == 0, I.c.vector.op("@@")(query))

    def score(self, nodes: list[qp.Text]) -> ColumnElement | None:
        parts = []
        for node in nodes:
            query = self.tsquery(node)
            if query is not None:
                rank = func.ts_rank(I.c.vector, query)
                parts.append(rank * node.boost if node.boost != 1.0 else rank)
        return balanced_sum(parts) if parts else None

    # ---------------------------------------------------------- fields --

    def field(self, node: qp.Field) -> ColumnElement:
        name = ALIASES.get(node.name, node.name)
        if name in ALWAYS_TRUE_FIELDS:
            return true()
        if name == "text":
            return self.text_match(qp.Text(node.value or "", phrase=node.phrase))
        if name == "permission_labels":
            return labels_condition([node.value]) if node.value else true()
        substring = name in SUBSTRING_FIELDS or name in NGRAM_FIELDS
        name = NGRAM_FIELDS.get(name, name)
        if node.value is None:
            return I.c.fields.op("?")(name)
        value = node.value
        if name == "private":
            value = value.lower()
        if node.wildcard:
            pattern = like_escape(value).replace("\x00", "%").replace("\x01", "_")
            if substring:
                pattern = f"%{pattern}%"
            return any_value(name, lambda v: v.ilike(pattern, escape=_LIKE_ESCAPE))
        if substring:
            pattern = f"%{like_escape(value)}%"
            return any_value(name, lambda v: v.ilike(pattern, escape=_LIKE_ESCAPE))
        if name in ("metadata_created", "metadata_modified") and is_date(value):
            when = epoch(value)
            fake = qp.Range(name, value, value)
            return _path_exists(I.c.dates, name, when, when, fake)
        if name == "organization":
            return or_(has_value(name, value), has_value("owner_org", value))
        return has_value(name, value)

    def range(self, node: qp.Range) -> ColumnElement:
        name = ALIASES.get(node.name, node.name)
        low, high = node.low, node.high
        if low is None and high is None:
            return I.c.fields.op("?")(name)
        ends = [v for v in (low, high) if v is not None]
        if all(is_date(v) for v in ends):
            return _path_exists(I.c.dates, name, _maybe(epoch, low), _maybe(epoch, high), node)
        if all(as_number(v) is not None for v in ends):
            return _path_exists(I.c.numbers, name, _maybe(as_number, low), _maybe(as_number, high), node)

        def within(value: Any) -> ColumnElement:
            tests = []
            if low is not None:
                tests.append(value >= low if node.include_low else value > low)
            if high is not None:
                tests.append(value <= high if node.include_high else value < high)
            return and_(*tests)

        return any_value(name, within)

    # ----------------------------------------------------------- trees --

    def condition(self, node: qp.Node) -> ColumnElement:
        if isinstance(node, qp.MatchAll):
            return true()
        if isinstance(node, qp.Text):
            return self.text_match(node)
        if isinstance(node, qp.Field):
            return self.field(node)
        if isinstance(node, qp.Range):
            return self.range(node)
        if isinstance(node, qp.Not):
            # NULL must count as "no match", then negate
            return not_(func.coalesce(self.condition(node.child), false()))
        if isinstance(node, qp.And):
            return and_(*(self.condition(c) for c in node.children))
        if isinstance(node, qp.Or):
            return or_(*(self.condition(c) for c in node.children))
        raise SearchQueryError(f"Unsupported query node {node!r}")


def _maybe(convert: Any, value: str | None) -> Any:
    return None if value is None else convert(value)


def positive_texts(node: qp.Node) -> list[qp.Text]:
    """Free-text terms that count towards relevance (not under a NOT)."""
    if isinstance(node, qp.Text):
        return [node]
    if isinstance(node, qp.Field) and node.name == "text" and node.value:
        return [qp.Text(node.value, phrase=node.phrase)]
    if isinstance(node, (qp.And, qp.Or)):
        return [t for c in node.children for t in positive_texts(c)]
    return []


def balanced_sum(parts: list[ColumnElement]) -> ColumnElement:
    """``a + b + c + ...`` as a balanced tree: a left-deep chain of a few hundred additions made
    SQLAlchemy's compiler overflow Python's stack (HTTP 500 on long queries)."""
    while len(parts) > 1:
        parts = [parts[i] + parts[i + 1] if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
    return parts[0]


# -------------------------------------------------------- labels and sort --


def labels_condition(labels: list[str]) -> ColumnElement:
    """Datasets carrying at least one of the user's permission labels (computed at index time by
    CKAN's ``get_dataset_labels``, as for Solr)."""
    if not labels:
        return false()
    return I.c.permission_labels.overlap(list(labels))


def order_by(sort: str | None, score: ColumnElement | None) -> list[ColumnElement]:
    """``sort`` as Solr takes it: ``field dir[, field dir...]``."""
    clauses = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        bits = part.split()
        if len(bits) == 1:
            # Solr refuses a field without a direction ("Missing sort order"): a server error to CKAN's
            # package_search (SearchError), as with Solr; limits.py refuses it to API users with 400 first
            raise SearchError(
                f"sort ต้องระบุทิศทาง asc หรือ desc: {part!r} / Missing sort order: {part!r} needs asc or desc"
            )
        if len(bits) != 2 or bits[1].lower() not in ("asc", "desc"):
            raise SearchQueryError('Invalid "sort" parameter')
        field, direction = bits[0], bits[1].lower()
        if field == "score":
            if score is None:
                continue  # no free text: every score is equal
            exprs = [score]
        elif field in ("title_string", "title"):
            exprs = [I.c.title_sort]
        elif field in COLUMN_SORTS:
            exprs = [I.c[field]]
        elif field in ("views_recent", "views_total"):
            continue  # tracking is not enabled on this site
        else:
            name = ALIASES.get(field, field)
            number = cast(I.c.numbers.op("->")(name).op("->>")(0), Float)
            exprs = [number, I.c.fields.op("->")(name).op("->>")(0)]
        for expr in exprs:
            clauses.append(expr.desc().nullslast() if direction == "desc" else expr.asc().nullslast())
    clauses.append(I.c.id.asc())  # stable paging
    return clauses
