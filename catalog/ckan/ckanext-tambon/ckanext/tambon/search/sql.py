"""Turn parsed queries into SQL on CKAN's own tables (package, tag, group...).

Each Solr field CKAN uses maps to a column or an EXISTS subquery:

* text (and free words):   substring of the dataset's search document (name,
  title, notes, author, maintainer, version, url, organization, groups,
  tags, resources' name/description/format and every extra field's value).
  Thai has no spaces between words, so substring (ILIKE) is the only
  sensible match without a Thai tokenizer.
* columns of ``package``:  exact (``*``/``?`` wildcards allowed); title,
  notes, author, maintainer (and the ``*_ngram`` fields the autocomplete
  uses) match as substrings like Solr's tokenized text fields would.
* organization / groups / tags / res_* / vocab_*: through their tables.
* capacity (public/private), site_id and entity_type (always true),
  permission_labels (CKAN's default labels, see ``labels_condition``).
* anything else: an extra field (``extras_x`` or ``x``) whose value equals
  the term, or whose JSON list value (ckanext-scheming's multiple choice
  fields) contains it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import ckan.model as model
from ckan.lib.search.common import SearchQueryError
from dateutil.parser import isoparse
from sqlalchemy import Text, and_, case, cast, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from . import parser as qp

log = logging.getLogger(__name__)

P = model.package_table
G = model.group_table
M = model.member_table
T = model.tag_table
PT = model.package_tag_table
R = model.resource_table
PE = model.package_extra_table

# package columns a query may name directly (Solr field -> column)
COLUMNS = {
    name: P.c[name]
    for name in (
        "id",
        "name",
        "title",
        "notes",
        "url",
        "version",
        "author",
        "author_email",
        "maintainer",
        "maintainer_email",
        "license_id",
        "state",
        "type",
        "owner_org",
        "creator_user_id",
        "metadata_created",
        "metadata_modified",
    )
}
ALIASES = {
    "dataset_type": "type",
    "license": "license_id",
    "title_string": "title",
    "index_id": "id",
}
# Solr "text" fields: a term matches anywhere in them
SUBSTRING_COLUMNS = {"title", "notes", "author", "maintainer"}
NGRAM_FIELDS = {"name_ngram": "name", "title_ngram": "title"}
RESOURCE_FIELDS = {
    "res_name": "name",
    "res_description": "description",
    "res_format": "format",
    "res_url": "url",
    "res_type": "resource_type",
}
ALWAYS_TRUE_FIELDS = {"site_id", "entity_type"}
DATE_COLUMNS = {"metadata_created", "metadata_modified"}
_LIKE_ESCAPE = "\\"


# ------------------------------------------------------------ primitives --


def like_escape(text: str) -> str:
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace("_", _LIKE_ESCAPE + "_")
    )


def _wildcard_pattern(value: str) -> str:
    """Parser marks unescaped * and ? as \\x00 and \\x01."""
    return like_escape(value).replace("\x00", "%").replace("\x01", "_")


def value_match(column: Any, field: qp.Field, substring: bool = False) -> ColumnElement:
    """Compare a column with a Field node's value."""
    if field.value is None:
        return and_(column.isnot(None), column != "")
    if field.wildcard:
        pattern = _wildcard_pattern(field.value)
        if substring:
            pattern = f"%{pattern}%"
        return column.ilike(pattern, escape=_LIKE_ESCAPE)
    if substring:
        return column.ilike(f"%{like_escape(field.value)}%", escape=_LIKE_ESCAPE)
    return column == field.value


def json_escaped(text: str) -> str | None:
    """How ``json.dumps`` (ASCII mode) writes ``text`` inside a JSON string,
    if that differs from the text: scheming stores list fields that way."""
    escaped = json.dumps(text)[1:-1]
    return escaped if escaped != text else None


def extra_value_match(value_col: Any, field: qp.Field) -> ColumnElement:
    """An extra's value equals the term or is a JSON list containing it."""
    if field.value is None or field.wildcard:
        return value_match(value_col, field)
    conds = [value_col == field.value]
    for form in {json.dumps(field.value), json.dumps(field.value, ensure_ascii=False)}:
        conds.append(value_col.like(f"%{like_escape(form)}%", escape=_LIKE_ESCAPE))
    return or_(*conds)


def resource_visible() -> ColumnElement:
    """An active resource that is not staged: a file the publisher uploaded but has not switched on
    (``publish_state`` pending in the resource's extras, see ``publishing.py``) must not make its
    dataset match, for anyone, until the switch."""
    state = cast(func.nullif(cast(R.c.extras, Text), ""), JSONB).op("->>")("publish_state")
    return and_(R.c.state == "active", func.coalesce(state, "") != "pending")


# ----------------------------------------------------------- the document --


def search_document() -> ColumnElement:
    """One text per dataset with everything free text should find."""
    org = select(func.concat_ws(" ", G.c.name, G.c.title)).where(G.c.id == P.c.owner_org).correlate(P).scalar_subquery()
    groups = (
        select(func.string_agg(func.concat_ws(" ", G.c.name, G.c.title), " "))
        .select_from(M.join(G, G.c.id == M.c.group_id))
        .where(
            M.c.table_id == P.c.id,
            M.c.table_name == "package",
            M.c.state == "active",
            G.c.is_organization.is_(False),
        )
        .correlate(P)
        .scalar_subquery()
    )
    tags = (
        select(func.string_agg(T.c.name, " "))
        .select_from(PT.join(T, T.c.id == PT.c.tag_id))
        .where(PT.c.package_id == P.c.id, PT.c.state == "active")
        .correlate(P)
        .scalar_subquery()
    )
    resources = (
        select(func.string_agg(func.concat_ws(" ", R.c.name, R.c.description, R.c.format), " "))
        .where(R.c.package_id == P.c.id, resource_visible())
        .correlate(P)
        .scalar_subquery()
    )
    extras = (
        select(func.string_agg(PE.c.value, " "))
        .where(PE.c.package_id == P.c.id, PE.c.state == "active")
        .correlate(P)
        .scalar_subquery()
    )
    return func.concat_ws(
        " ",
        P.c.name,
        P.c.title,
        P.c.notes,
        P.c.author,
        P.c.maintainer,
        P.c.version,
        P.c.url,
        org,
        groups,
        tags,
        resources,
        extras,
    )


def text_match(doc: ColumnElement, text: str) -> ColumnElement:
    text = text.strip()
    if not text:
        return true()
    conds = [doc.ilike(f"%{like_escape(text)}%", escape=_LIKE_ESCAPE)]
    escaped = json_escaped(text)
    if escaped:
        conds.append(doc.ilike(f"%{like_escape(escaped)}%", escape=_LIKE_ESCAPE))
    return or_(*conds)


# ------------------------------------------------------------- the fields --


def _org_match(field: qp.Field) -> ColumnElement:
    return exists().where(
        G.c.id == P.c.owner_org,
        or_(value_match(G.c.name, field), value_match(G.c.id, field)),
    )


def _group_match(field: qp.Field) -> ColumnElement:
    return exists().where(
        M.c.table_id == P.c.id,
        M.c.table_name == "package",
        M.c.state == "active",
        G.c.id == M.c.group_id,
        G.c.is_organization.is_(False),
        or_(value_match(G.c.name, field), value_match(G.c.id, field)),
    )


def _tag_match(field: qp.Field, vocabulary: str | None = None) -> ColumnElement:
    from ckan.model.vocabulary import vocabulary_table as V

    conds = [PT.c.package_id == P.c.id, PT.c.state == "active", T.c.id == PT.c.tag_id]
    if vocabulary is None:
        conds.append(T.c.vocabulary_id.is_(None))
    else:
        conds += [V.c.id == T.c.vocabulary_id, V.c.name == vocabulary]
    conds.append(value_match(T.c.name, field))
    return exists().where(*conds)


def _resource_match(column: str, field: qp.Field) -> ColumnElement:
    substring = column in ("name", "description")
    return exists().where(
        R.c.package_id == P.c.id,
        resource_visible(),
        value_match(R.c[column], field, substring=substring),
    )


def _extra_match(key: str, field: qp.Field) -> ColumnElement:
    return exists().where(
        PE.c.package_id == P.c.id,
        PE.c.state == "active",
        PE.c.key == key,
        extra_value_match(PE.c.value, field),
    )


def field_condition(field: qp.Field, doc: ColumnElement | None = None) -> ColumnElement:
    name = ALIASES.get(field.name, field.name)
    if name in ALWAYS_TRUE_FIELDS:
        return true()
    if name == "text":
        return text_match(search_document() if doc is None else doc, field.value or "")
    if name == "capacity":
        if field.value is None:
            return true()
        return P.c.private.is_(field.value == "private")
    if name == "private":
        return P.c.private.is_(str(field.value).lower() == "true")
    if name == "permission_labels":
        return labels_condition([field.value]) if field.value else true()
    if name in NGRAM_FIELDS:
        return value_match(P.c[NGRAM_FIELDS[name]], field, substring=True)
    if name in COLUMNS:
        column = COLUMNS[name]
        if name in DATE_COLUMNS and field.value and not field.wildcard:
            when = parse_date(field.value)
            return column == when
        return value_match(column, field, substring=name in SUBSTRING_COLUMNS)
    if name == "organization":
        return _org_match(field)
    if name == "groups":
        return _group_match(field)
    if name == "tags":
        return _tag_match(field)
    if name.startswith("vocab_"):
        return _tag_match(field, vocabulary=name[len("vocab_") :])
    if name in RESOURCE_FIELDS:
        return _resource_match(RESOURCE_FIELDS[name], field)
    if name.startswith("extras_"):
        name = name[len("extras_") :]
    return _extra_match(name, field)


# ------------------------------------------------------------------ dates --

_DATE_MATH = re.compile(
    r"^NOW(?:(?P<sign>[+-])(?P<n>\d+)(?P<unit>YEARS?|MONTHS?|DAYS?|HOURS?|MINUTES?|SECONDS?))?"
    r"(?:/(?P<round>YEAR|MONTH|DAY|HOUR|MINUTE))?$"
)


def parse_date(value: str) -> dt.datetime:
    """ISO dates (``Z`` or offsets become naive UTC, as CKAN stores them)
    and Solr date math ``NOW``, ``NOW-7DAYS``, ``NOW/DAY``..."""
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
    try:
        when = isoparse(value)
    except ValueError as e:
        raise SearchQueryError(f"Invalid date in query: {value!r}") from e
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def range_condition(node: qp.Range) -> ColumnElement:
    name = ALIASES.get(node.name, node.name)
    if name in COLUMNS:
        column = COLUMNS[name]
        convert = parse_date if name in DATE_COLUMNS else (lambda v: v)
        conds = [column.isnot(None)]
        if node.low is not None:
            low = convert(node.low)
            conds.append(column >= low if node.include_low else column > low)
        if node.high is not None:
            high = convert(node.high)
            conds.append(column <= high if node.include_high else column < high)
        return and_(*conds)
    if name.startswith("extras_"):
        name = name[len("extras_") :]
    # extras: compared as text (fine for same-length numbers such as years)
    conds = [PE.c.package_id == P.c.id, PE.c.state == "active", PE.c.key == name]
    if node.low is not None:
        conds.append(PE.c.value >= node.low if node.include_low else PE.c.value > node.low)
    if node.high is not None:
        conds.append(PE.c.value <= node.high if node.include_high else PE.c.value < node.high)
    return exists().where(*conds)


# ------------------------------------------------------------------ trees --


def condition(node: qp.Node, doc: ColumnElement | None = None) -> ColumnElement:
    """SQL boolean for a parsed query, on ``package`` (P). ``doc``: the search document as a column
    computed once per dataset (``document_lateral``); without it each free-text term rebuilds it."""
    if isinstance(node, qp.MatchAll):
        return true()
    if isinstance(node, qp.Text):
        return text_match(search_document() if doc is None else doc, node.value)
    if isinstance(node, qp.Field):
        return field_condition(node, doc)
    if isinstance(node, qp.Range):
        return range_condition(node)
    if isinstance(node, qp.Not):
        # NULL (e.g. a NULL column) must count as "no match", then negate
        return not_(func.coalesce(condition(node.child, doc), false()))
    if isinstance(node, qp.And):
        return and_(*(condition(c, doc) for c in node.children))
    if isinstance(node, qp.Or):
        return or_(*(condition(c, doc) for c in node.children))
    raise SearchQueryError(f"Unsupported query node {node!r}")


def positive_texts(node: qp.Node) -> list[str]:
    """Free-text terms that count towards relevance (not under a NOT)."""
    if isinstance(node, qp.Text):
        return [node.value]
    if isinstance(node, qp.Field) and node.name == "text" and node.value:
        return [node.value]
    if isinstance(node, (qp.And, qp.Or)):
        return [t for c in node.children for t in positive_texts(c)]
    return []


def uses_text(node: qp.Node) -> bool:
    """Whether free text (which needs the search document) appears anywhere in the query."""
    if isinstance(node, qp.Text):
        return True
    if isinstance(node, qp.Field):
        return ALIASES.get(node.name, node.name) == "text"
    if isinstance(node, qp.Not):
        return uses_text(node.child)
    if isinstance(node, (qp.And, qp.Or)):
        return any(uses_text(c) for c in node.children)
    return False


def document_lateral() -> Any:
    """The search document computed once per dataset, to join as ``LATERAL``: a query with 32 words
    otherwise builds the document (five subqueries) about a hundred times per dataset. ``OFFSET 0``
    keeps PostgreSQL from inlining it back into every reference."""
    return select(search_document().label("doc")).correlate(P).offset(0).lateral("search_doc")


def score_expression(texts: list[str], doc: ColumnElement | None = None) -> ColumnElement:
    """A rough relevance: title and name hits weigh 4, notes 2, elsewhere 1."""
    if not texts:
        return literal(0)
    if doc is None:
        doc = search_document()
    parts = []
    for text in texts:
        pattern = f"%{like_escape(text.strip())}%"
        for column, weight in ((P.c.title, 4), (P.c.name, 4), (P.c.notes, 2)):
            parts.append(case((column.ilike(pattern, escape=_LIKE_ESCAPE), weight), else_=0))
        parts.append(case((text_match(doc, text), 1), else_=0))
    return balanced_sum(parts)


def balanced_sum(parts: list[ColumnElement]) -> ColumnElement:
    """``a + b + c + ...`` as a balanced tree: a left-deep chain of a few hundred additions made
    SQLAlchemy's compiler overflow Python's stack (HTTP 500 on long queries)."""
    while len(parts) > 1:
        parts = [parts[i] + parts[i + 1] if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
    return parts[0]


# -------------------------------------------------------- labels and sort --


def labels_condition(labels: list[str]) -> ColumnElement:
    """Datasets carrying at least one of ``labels`` under CKAN's default
    ``IPermissionLabels`` scheme: ``public`` (active, not private),
    ``member-<org id>`` and ``collaborator-<dataset id>`` (private or draft
    datasets of an org, or shared with the user), ``creator-<user id>``
    (the user's own datasets without an organization)."""
    public = and_(P.c.state == "active", P.c.private.is_(False))
    orgs, creators, datasets = [], [], []
    conds = []
    for label in labels:
        if label == "public":
            conds.append(public)
        elif label.startswith("member-"):
            orgs.append(label[len("member-") :])
        elif label.startswith("creator-"):
            creators.append(label[len("creator-") :])
        elif label.startswith("collaborator-"):
            datasets.append(label[len("collaborator-") :])
        else:
            log.warning("permission label %r is not understood: no dataset matches it", label)
    no_org = or_(P.c.owner_org.is_(None), P.c.owner_org == "")
    if orgs:
        conds.append(and_(not_(public), P.c.owner_org.in_(orgs)))
    if creators:
        conds.append(and_(not_(public), no_org, P.c.creator_user_id.in_(creators)))
    if datasets:
        conds.append(and_(not_(public), P.c.id.in_(datasets)))
    return or_(*conds) if conds else false()


def _extra_sort_value(key: str) -> ColumnElement:
    return (
        select(PE.c.value)
        .where(PE.c.package_id == P.c.id, PE.c.state == "active", PE.c.key == key)
        .limit(1)
        .scalar_subquery()
    )


def order_by(sort: str | None, score: ColumnElement | None) -> list[ColumnElement]:
    """``sort`` as Solr takes it: ``field dir[, field dir...]``."""
    clauses = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        bits = part.split()
        if len(bits) == 1:
            bits.append("asc")
        if len(bits) != 2 or bits[1].lower() not in ("asc", "desc"):
            raise SearchQueryError('Invalid "sort" parameter')
        field, direction = bits[0], bits[1].lower()
        if field == "score":
            if score is None:
                continue  # no free text: every score is equal
            expr = score
        elif field in ("title_string", "title"):
            expr = func.lower(func.ltrim(func.coalesce(P.c.title, P.c.name)))
        elif field in ("name", "id", "metadata_created", "metadata_modified", "state"):
            expr = P.c[field]
        elif ALIASES.get(field, field) in COLUMNS:
            expr = COLUMNS[ALIASES.get(field, field)]
        elif field in ("views_recent", "views_total"):
            continue  # tracking is not enabled on this site
        else:
            expr = _extra_sort_value(field[len("extras_") :] if field.startswith("extras_") else field)
        clauses.append(expr.desc().nullslast() if direction == "desc" else expr.asc().nullslast())
    clauses.append(P.c.id.asc())  # stable paging
    return clauses
