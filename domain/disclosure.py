"""Disclosure control declared as data: which published counts must not be small, and what adds up to what.

:class:`DisclosureRules` is what ``catalog/suppression.py`` protects a table by; :func:`disclosure_rules`
derives it from a collection's declaration (its ``disclosure:`` block, indicators and derived values)
and the measures it publishes (:func:`domain.measures.measures`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.declarations import DatasetSpec, Measure


@dataclass(frozen=True, kw_only=True)
class DisclosureRules:
    """What to protect and which relations an attacker could use, declared as data.

    ``counts`` are the columns subject to the threshold and to the column
    (hierarchy) equations. ``equations`` are ``(total, parts)`` with
    ``total = sum(parts)`` in every row; a single part declares two equal
    columns, which matter just as much (hiding one of two equal cells hides
    nothing). ``derived`` maps a computed column to the columns it is computed
    from (counts or other derived columns).
    """

    threshold: int = 5
    counts: tuple[str, ...]
    equations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    zero_is_safe: bool = False

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError(f"threshold must be at least 1, got {self.threshold}")
        counts = set(self.counts)
        for total, parts in self.equations:
            if not parts:
                raise ValueError(f"equation for {total!r} has no parts")
            unknown = {total, *parts} - counts
            if unknown:
                equation = f"{total} = {' + '.join(parts)}"
                raise ValueError(f"equation {equation} uses columns not in counts: {sorted(unknown)}")
        overlap = counts & set(self.derived)
        if overlap:
            raise ValueError(f"columns both counts and derived: {sorted(overlap)}")
        for column, sources in self.derived.items():
            unknown = set(sources) - counts - set(self.derived)
            if unknown:
                raise ValueError(f"derived {column!r} is computed from undeclared columns {sorted(unknown)}")
        self.derived_order()  # raises on a cycle

    def derived_order(self) -> list[str]:
        """Derived columns in an order where every source comes before the column computed from it."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1: visiting, 2: done

        def visit(column: str) -> None:
            if state.get(column) == 2:
                return
            if state.get(column) == 1:
                raise ValueError(f"derived columns form a cycle through {column!r}")
            state[column] = 1
            for source in self.derived[column]:
                if source in self.derived:
                    visit(source)
            state[column] = 2
            order.append(column)

        for column in self.derived:
            visit(column)
        return order


def disclosure_rules(spec: DatasetSpec, measures: list[Measure]) -> DisclosureRules | None:
    """Which published columns are counts, which add up, and which figures are computed from which counts."""
    if not spec.disclosure:
        return None
    names = {m.name for m in measures}
    counts = tuple(m.name for m in measures if m.type == "integer")
    unit = spec.raw.get("unit_noun", {"en": "units"})["en"]
    equations = [(f"{i.id}_surveyed", (f"{i.id}_passed", f"{i.id}_failed")) for i in spec.indicators]
    # Equal columns are equations too: hiding one of two equal cells hides nothing.
    equations += [(f"{unit}_surveyed", (f"{i.id}_surveyed",)) for i in spec.indicators if i.applies.strip() == "true"]
    equations += [
        (f"dim_{d.name}_failing", (f"{members[0].id}_failed",))
        for d, members in spec.measured_dimensions()
        if len(members) == 1
    ]
    derived: dict[str, tuple[str, ...]] = {}
    for i in spec.indicators:
        derived[f"{i.id}_pct_passed"] = (f"{i.id}_passed", f"{i.id}_surveyed")
        derived[f"{i.id}_pct_failed"] = (f"{i.id}_failed", f"{i.id}_surveyed")
    derived[f"{unit}_pct_failing_any"] = (f"{unit}_failing_any", f"{unit}_surveyed")
    for d in spec.derived:
        derived[f"{d.name}_mean"] = (f"{unit}_surveyed",)
    return DisclosureRules(
        threshold=int(spec.disclosure.get("threshold", 5)),
        counts=counts,
        equations=tuple((total, parts) for total, parts in equations if {total, *parts} <= names),
        derived={k: v for k, v in derived.items() if k in names and all(s in names for s in v)},
        zero_is_safe=bool(spec.disclosure.get("zero_is_safe", False)),
    )
