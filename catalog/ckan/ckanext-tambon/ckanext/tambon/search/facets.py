"""Facet counts (Solr ``facet.field``) over the datasets a query matched, in one query on the index.

Each field's values are stored once per dataset (``fields``), so counting rows counts datasets.
Returns ``{field: {value: count}}`` in Solr's order (count descending, then value), cut to
``facet.limit`` (negative: no limit) and ``facet.mincount``.
"""

from __future__ import annotations

from typing import Any

import ckan.model as model
from sqlalchemy import Text, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY

from .conditions import ALIASES, I


def facet_counts(fields: list[str], where: Any, limit: int, mincount: int) -> dict[str, dict[str, int]]:
    stored = {field: ALIASES.get(field, field) for field in fields}
    keys = func.unnest(literal(sorted(set(stored.values())), ARRAY(Text))).table_valued("key").render_derived()
    values = func.jsonb_array_elements_text(I.c.fields.op("->")(keys.c.key)).table_valued("value").render_derived()
    query = (
        select(keys.c.key, values.c.value, func.count().label("n"))
        .select_from(I)
        .join(keys, literal(True))
        .join(values, literal(True))
        .where(where)
        .group_by(keys.c.key, values.c.value)
    )
    if mincount > 1:
        query = query.having(func.count() >= mincount)
    counts: dict[str, list[tuple[str, int]]] = {}
    for key, value, count in model.Session.execute(query):
        counts.setdefault(key, []).append((value, int(count)))
    facets: dict[str, dict[str, int]] = {}
    for field, key in stored.items():
        items = sorted((item for item in counts.get(key, []) if item[1] >= mincount), key=lambda i: (-i[1], i[0]))
        facets[field] = dict(items if limit < 0 else items[:limit])
    return facets
