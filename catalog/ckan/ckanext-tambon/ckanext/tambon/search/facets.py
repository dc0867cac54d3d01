"""Facet counts (Solr ``facet.field``) over the datasets a query matched.

Returns ``{field: {value: count}}`` in Solr's order (count descending, then
value), cut to ``facet.limit`` (negative: no limit) and ``facet.mincount``.
Extra fields holding JSON lists (ckanext-scheming multiple choice fields)
count each listed value once per dataset.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

import ckan.model as model
from sqlalchemy import case, func, select

from .sql import ALIASES, COLUMNS, PE, PT, RESOURCE_FIELDS, G, M, P, R, T, resource_visible


def _count_pairs(rows: Iterable[tuple[Any, Any]]) -> Counter:
    """rows of (value, count)"""
    counts: Counter = Counter()
    for value, count in rows:
        if value is None or value == "":
            continue
        counts[str(value)] += int(count)
    return counts


def _grouped(value_col: Any, select_from: Any, ids: Any, *where: Any) -> Counter:
    query = (
        select(value_col, func.count(func.distinct(P.c.id)))
        .select_from(select_from)
        .where(P.c.id.in_(ids), *where)
        .group_by(value_col)
    )
    return _count_pairs(model.Session.execute(query))


def _extra_counts(key: str, ids: Any) -> Counter:
    query = select(PE.c.package_id, PE.c.value).where(PE.c.package_id.in_(ids), PE.c.state == "active", PE.c.key == key)
    counts: Counter = Counter()
    for _package_id, value in model.Session.execute(query):
        values = [value]
        if isinstance(value, str) and value.startswith("["):
            try:
                loaded = json.loads(value)
            except ValueError:
                loaded = None
            if isinstance(loaded, list):
                values = loaded
        for item in {str(v) for v in values if v not in (None, "")}:
            counts[item] += 1
    return counts


def field_counts(field: str, ids: Any) -> Counter:
    """Dataset counts per value of one facet field; ``ids`` is a select of
    matching package ids."""
    name = ALIASES.get(field, field)
    if name == "organization":
        return _grouped(G.c.name, P.join(G, G.c.id == P.c.owner_org), ids)
    if name == "groups":
        join = P.join(M, M.c.table_id == P.c.id).join(G, G.c.id == M.c.group_id)
        return _grouped(
            G.c.name,
            join,
            ids,
            M.c.table_name == "package",
            M.c.state == "active",
            G.c.is_organization.is_(False),
        )
    if name == "tags" or name.startswith("vocab_"):
        from ckan.model.vocabulary import vocabulary_table as V

        join = P.join(PT, PT.c.package_id == P.c.id).join(T, T.c.id == PT.c.tag_id)
        where = [PT.c.state == "active"]
        if name == "tags":
            where.append(T.c.vocabulary_id.is_(None))
        else:
            join = join.join(V, V.c.id == T.c.vocabulary_id)
            where.append(V.c.name == name[len("vocab_") :])
        return _grouped(T.c.name, join, ids, *where)
    if name in RESOURCE_FIELDS:
        column = R.c[RESOURCE_FIELDS[name]]
        return _grouped(column, P.join(R, R.c.package_id == P.c.id), ids, resource_visible())
    if name == "capacity":
        value = case((P.c.private.is_(True), "private"), else_="public")
        return _grouped(value, P, ids)
    if name in COLUMNS:
        return _grouped(COLUMNS[name], P, ids)
    if name.startswith("extras_"):
        name = name[len("extras_") :]
    return _extra_counts(name, ids)


def facet_counts(fields: list[str], ids: Any, limit: int, mincount: int) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {}
    for field in fields:
        counts = field_counts(field, ids)
        items = sorted(
            ((value, count) for value, count in counts.items() if count >= mincount),
            key=lambda item: (-item[1], item[0]),
        )
        if limit >= 0:
            items = items[:limit]
        facets[field] = dict(items)
    return facets
