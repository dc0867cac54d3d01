"""Declared indicators -> SQL: per-unit pass / fail / not applicable, and dimension flags.

A dataset's ``indicators`` (``applies`` and ``passes`` as SQL over a typed row)
and ``dimensions`` (a mapping file) become one relation with a nullable boolean
per indicator (NULL: not applicable) and one flag per measured dimension. The
aggregate measures over it are :func:`domain.measures.measures`, and the disclosure
rules for the published counts :func:`domain.disclosure.disclosure_rules`: all three
come from the same declaration, so a new indicator is a new YAML entry and nothing else.
"""

from __future__ import annotations

from domain.declarations import DatasetSpec


def scored_sql(spec: DatasetSpec, source: str) -> str:
    """SELECT over ``source`` adding derived values, indicator results and dimension flags."""
    derived = "".join(f", {d.sql} AS {d.name}" for d in spec.derived)
    inner = f"SELECT *{derived} FROM {source}"
    results = "".join(
        f", CASE WHEN ({i.applies}) THEN coalesce(({i.passes})::BOOLEAN, false) END AS {i.id}" for i in spec.indicators
    )
    scored = f"SELECT *{results} FROM ({inner})"
    flags = [
        f"({' OR '.join(f'coalesce(NOT {i.id}, false)' for i in members)}) AS dim_{d.name}"
        for d, members in spec.measured_dimensions()
    ]
    if not flags:
        return scored
    names = [f"dim_{d.name}" for d, _ in spec.measured_dimensions()]
    return f"SELECT *, ({' OR '.join(names)}) AS failing_any FROM (SELECT *, {', '.join(flags)} FROM ({scored}))"
