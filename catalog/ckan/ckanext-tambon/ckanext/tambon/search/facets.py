"""Facet counts (Solr ``facet.field``) over the datasets a query matched, in one query on the index.

Each field's values are stored once per dataset, so counting datasets per value is counting rows. The
query groups the matches by their arrays of values (one column per facet field), and Python adds each
group's count to every value of its arrays: many datasets share the same organisation, tags, formats
and provinces, so the database returns a few hundred groups rather than one row per dataset and value
(expanding every value in SQL took 40 ms at 2,500 matches, grouping the arrays 7 ms).

The usual facet fields are read from ``facets`` (small, in the row; ``rows.facet_values``), other fields
from ``fields`` (compressed out of the row): a row indexed before ``facets`` existed has it NULL and is
read from ``fields`` too, so the counts are exact either way.

Returns ``{field: {value: count}}`` (and the number of matches) in Solr's order (count descending, then value), cut to
``facet.limit`` (negative: no limit) and ``facet.mincount``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import ckan.model as model
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from .conditions import ALIASES, I
from .rows import FACET_FIELDS, FACET_PREFIXES


def stored_values(key: str) -> ColumnElement:
    """The jsonb array of a field's values: from ``facets`` when ``rows.facet_values`` keeps the field
    there (absent there: no values), else, and for rows without ``facets``, from ``fields``."""
    if key in FACET_FIELDS or key.startswith(FACET_PREFIXES):
        return func.coalesce(I.c.facets, I.c.fields).op("->")(key)
    return I.c.fields.op("->")(key)


def facet_counts(fields: list[str], where: Any, limit: int, mincount: int) -> tuple[dict[str, dict[str, int]], int]:
    """(the facets, the number of matches): every match is in exactly one group, so the groups' counts add
    up to the count, and the search needs no count query of its own."""
    stored = {field: ALIASES.get(field, field) for field in fields}
    keys = sorted(set(stored.values()))
    columns = [stored_values(key).label(f"f{i}") for i, key in enumerate(keys)]
    query = select(*columns, func.count().label("n")).where(where).group_by(*columns)
    counts: dict[str, Counter[str]] = {key: Counter() for key in keys}
    total = 0
    for row in model.Session.execute(query):
        n = int(row[-1])
        total += n
        for key, values in zip(keys, row[:-1], strict=True):
            for value in _texts(values):
                counts[key][value] += n
    facets: dict[str, dict[str, int]] = {}
    for field, key in stored.items():
        items = sorted((item for item in counts[key].items() if item[1] >= mincount), key=lambda i: (-i[1], i[0]))
        facets[field] = dict(items if limit < 0 else items[:limit])
    return facets, total


def _texts(values: Any) -> list[str]:
    """A stored array as its distinct texts (jsonb_array_elements_text's text of each element)."""
    if values is None:
        return []
    if isinstance(values, str) and values.startswith("["):  # a driver that hands jsonb over as text
        values = json.loads(values)
    if not isinstance(values, list):
        values = [values]
    out = []
    for value in values:
        if isinstance(value, bool):
            out.append("true" if value else "false")
        elif value is not None:
            out.append(value if isinstance(value, str) else str(value))
    return list(dict.fromkeys(out))
