"""Small-cell suppression with complementary suppression for hierarchical count tables.

Published aggregates of personal data (households failing an indicator, people
with a disability) must not let anyone learn a small count: a cell of 1 or 2
households in a village points at a family. No official Thai threshold exists,
so the threshold is a parameter (see the PDPA note in the project reference).

Hiding the small cells alone is not enough, because the published tables are
full of additive relations that an attacker can subtract:

* row equations: within one area, ``total = part_1 + ... + part_k``
  (households surveyed = passed + failed);
* column equations: within one level, the children of one parent sum to the
  parent's value at the next level (the villages of a tambon add up to the
  tambon, the provinces to the nation).

Any such equation with exactly one hidden cell gives that cell back. The
algorithm therefore repeats, until nothing changes:

1. primary: every count below the threshold (0 too, unless ``zero_is_safe``) is hidden;
2. row equations with exactly one hidden cell: also hide the smallest visible
   part (ties: declared order), or the total when no part is left;
3. column equations with exactly one hidden cell: also hide the smallest visible
   sibling (ties: area key); if there is none (a single child) hide the parent,
   and when the hidden cell is the parent, hide its smallest child. Applied to
   every adjacent pair of levels, this propagates both up and down the hierarchy;

and finally hides every derived figure (percentage, mean) computed from a
hidden count, so a percentage cannot give its numerator back. "Smallest" keeps
the information lost small; with ``zero_is_safe`` a published zero is chosen
only when nothing else is left, since hiding a true 0 next to a 3 would still
show their sum, 3, and so that both are small.

Everything is vectorised per column with numpy (a national round, 75,000
villages by 40 counts, takes about a second), processes levels, equations and
columns in a fixed order and breaks ties by declared order or area key, never by
row position: the result is deterministic and independent of the input row order.

What is guaranteed is what ``check_disclosure`` audits: no visible count below
the threshold, no row or column equation with exactly one hidden cell, no
visible figure computed from a hidden cell. For a single count column that is
also safe against any linear combination of equations (the parent groups form a
tree, so every hidden cell lies on a path of hidden cells that ends in two free
ends). Once row equations link columns, a pattern of several equations could in
principle still pin a cell down; this is not a full audit by linear programming,
though the tests find no such cell on random rounds. Nor does it protect
intervals: a hidden 3 next to a hidden 40 under a visible total of 43 is known
to lie between 0 and 43, which is the usual standard, but a pair of hidden cells
whose visible sum is small tells that both are small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from domain.disclosure import DisclosureRules

Hierarchy = Sequence[tuple[str, str | None]]
_LAST_RESORT = 1e300  # sort key of a visible zero among complement candidates: after every other count


@dataclass(frozen=True)
class Suppressed:
    """One published table after suppression.

    ``frame`` holds the values to publish, hidden cells null (counts as nullable
    ``Int64``, derived figures as ``Float64``): what Parquet gets. ``mask`` is
    True on every hidden cell, where the CSV prints the marker; it differs from
    ``frame.isna()`` because a figure that was null already (a percentage of a
    zero denominator) is marked too when its source is hidden, or the blank would
    tell that the denominator was 0. ``primary`` is True on the counts hidden for
    being small themselves; the rest of ``mask`` is complementary.
    """

    frame: pd.DataFrame
    mask: pd.DataFrame
    primary: pd.DataFrame

    @property
    def n_primary(self) -> int:
        return int(self.primary.to_numpy().sum())

    @property
    def n_hidden(self) -> int:
        return int(self.mask.to_numpy().sum())

    def with_marker(self, marker: str = "x") -> pd.DataFrame:
        """The frame for a CSV: hidden cells replaced by ``marker`` (object dtype where needed)."""
        out = self.frame.copy()
        for column in self.mask.columns[self.mask.any(axis=0).to_numpy()]:
            out[column] = out[column].astype(object).mask(self.mask[column], marker)
        return out


class _Level:
    """Working state of one level: value and hidden arrays per column, positions of parents."""

    def __init__(self, name: str, key: str | None, frame: pd.DataFrame, rules: DisclosureRules) -> None:
        self.name, self.key, self.frame, self.n = name, key, frame, len(frame)
        if key is None:
            if self.n != 1:
                raise ValueError(f"level {name!r} has no key column, so it must have one row, not {self.n}")
            self.key_rank = np.zeros(1, dtype=np.int64)
        else:
            if key not in frame.columns:
                raise ValueError(f"level {name!r} has no key column {key!r}")
            keys = pd.Index(frame[key])
            if keys.hasnans or not keys.is_unique:
                raise ValueError(f"level {name!r}: key {key!r} must be unique and not null")
            self.key_rank = np.empty(self.n, dtype=np.int64)
            self.key_rank[keys.argsort()] = np.arange(self.n)
        self.zero_is_safe = rules.zero_is_safe
        self.counts = [c for c in rules.counts if c in frame.columns]
        self.values: dict[str, np.ndarray] = {}
        self.hidden: dict[str, np.ndarray] = {}
        self.missing: dict[str, np.ndarray] = {}
        self.primary: dict[str, np.ndarray] = {}
        for column in self.counts:
            values = pd.to_numeric(frame[column]).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(values)
            small = values < rules.threshold
            if rules.zero_is_safe:
                small &= values != 0
            self.values[column], self.missing[column], self.primary[column] = values, missing, small
            # A cell missing in the input is unknown to the public as well: it counts as hidden in the equations.
            self.hidden[column] = small | missing
        # An equation with a column this table does not publish gives an attacker nothing here.
        self.equations = [(t, p) for t, p in rules.equations if {t, *p} <= set(frame.columns)]
        self.parent_pos: np.ndarray | None = None
        self.n_children: np.ndarray | None = None

    def link(self, parent: _Level) -> None:
        """Find each row's parent row, by the parent's key column carried in this table."""
        if parent.key is None:
            self.parent_pos = np.zeros(self.n, dtype=np.int64)
        else:
            if parent.key not in self.frame.columns:
                raise ValueError(f"level {self.name!r} lacks {parent.key!r}, the key of its parent {parent.name!r}")
            pos = pd.Index(parent.frame[parent.key]).get_indexer(self.frame[parent.key])
            if (pos < 0).any():
                orphans = self.frame[parent.key][pos < 0].astype(str).unique()[:5]
                raise ValueError(f"level {self.name!r}: {parent.key} not found in {parent.name!r}: {list(orphans)}")
            self.parent_pos = pos.astype(np.int64)
        parent.n_children = np.bincount(self.parent_pos, minlength=parent.n)


def _row_step(level: _Level, total: str, parts: tuple[str, ...]) -> bool:
    """Rows where ``total = sum(parts)`` has exactly one hidden cell get a second one."""
    columns = (total, *parts)
    hidden = np.column_stack([level.hidden[c] for c in columns])
    rows = np.flatnonzero(hidden.sum(axis=1) == 1)
    if rows.size == 0:
        return False
    candidates = np.column_stack([level.values[c][rows] for c in parts])
    if level.zero_is_safe:  # a published zero as the complement would leave the pair's small sum in plain sight
        candidates = np.where(candidates == 0, _LAST_RESORT, candidates)
    candidates = np.where(hidden[rows, 1:], np.inf, candidates)
    pick = np.argmin(candidates, axis=1)  # first minimum: ties go to the declared order
    no_part_left = np.isinf(candidates[np.arange(rows.size), pick])
    for j, part in enumerate(parts):
        level.hidden[part][rows[(pick == j) & ~no_part_left]] = True
    level.hidden[total][rows[no_part_left]] = True
    return True


def _column_step(child: _Level, parent: _Level, column: str) -> bool:
    """Parent groups where ``parent = sum(children)`` has exactly one hidden cell get a second one."""
    assert child.parent_pos is not None and parent.n_children is not None
    groups = child.parent_pos
    child_hidden = child.hidden[column]
    hidden_children = np.bincount(groups, weights=child_hidden, minlength=parent.n)
    # A parent without children in the child table has no equation to protect (and cannot be given back).
    single = ((hidden_children + parent.hidden[column]) == 1) & (parent.n_children > 0)
    if not single.any():
        return False
    rows = np.flatnonzero(single[groups] & ~child_hidden)
    values = child.values[column][rows]
    zero_last = (values == 0) if child.zero_is_safe else np.zeros(rows.size, dtype=bool)
    order = np.lexsort((child.key_rank[rows], values, zero_last, groups[rows]))
    rows = rows[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = groups[rows][1:] != groups[rows][:-1]
    chosen = rows[first]  # the smallest visible child of each group, ties by area key
    child_hidden[chosen] = True
    covered = np.zeros(parent.n, dtype=bool)
    covered[groups[chosen]] = True
    # No visible sibling left (a single child): the parent equals the hidden child, so it goes too.
    parent.hidden[column][single & ~covered] = True
    return True


def _levels(tables: Mapping[str, pd.DataFrame], hierarchy: Hierarchy, rules: DisclosureRules) -> list[_Level]:
    if not hierarchy:
        raise ValueError("the hierarchy lists no level")
    unknown = set(tables) - {name for name, _ in hierarchy}
    if unknown:
        raise ValueError(f"tables not in the hierarchy: {sorted(unknown)}")
    for name, key in hierarchy[:-1]:
        if key is None:
            raise ValueError(f"only the coarsest level may lack a key column, not {name!r}")
    levels = []
    for name, key in hierarchy:
        if name not in tables:
            raise ValueError(f"no table for level {name!r}")
        levels.append(_Level(name, key, tables[name], rules))
    for child, parent in pairwise(levels):
        child.link(parent)
    return levels


def suppress(tables: Mapping[str, pd.DataFrame], hierarchy: Hierarchy, rules: DisclosureRules) -> dict[str, Suppressed]:
    """Hide small counts and whatever would give them back, in every level's table at once.

    ``hierarchy`` lists ``(level, key column)`` from the finest level to the
    coarsest (the coarsest, e.g. the nation, may have no key and one row). A
    row's parent is the row of the next level whose key equals this row's value
    in that key column, so village rows carry ``tambon_code`` and so on. All
    levels are treated together because a complementary cell at one level can
    open a new gap at the level above or below.

    The input frames are not modified. A count already null in the input is
    unknown to the public too, so it counts as hidden in the equations, but it
    is not marked in ``mask`` (it was never suppressed); a figure derived from
    it is.
    """
    levels = _levels(tables, hierarchy, rules)
    pairs = list(pairwise(levels))
    changed = True
    while changed:  # every step hides at least one more cell, so this ends
        changed = False
        for level in levels:
            for total, parts in level.equations:
                changed |= _row_step(level, total, parts)
        for child, parent in pairs:
            for column in child.counts:
                if column in parent.hidden:
                    changed |= _column_step(child, parent, column)
    return {level.name: _publish(level, rules) for level in levels}


def _publish(level: _Level, rules: DisclosureRules) -> Suppressed:
    """Build the published frame and masks in one go (column by column assignment is slow on wide tables)."""
    frame = level.frame
    hidden_of: dict[str, np.ndarray] = dict(level.hidden)
    published: dict[str, pd.api.extensions.ExtensionArray] = {}
    masks: dict[str, np.ndarray] = {}
    for column in level.counts:
        values, hidden = level.values[column], level.hidden[column]
        known = values[~level.missing[column]]
        if np.array_equal(known, np.round(known)):
            published[column] = pd.arrays.IntegerArray(np.where(hidden, 0, values).astype(np.int64), hidden.copy())
        else:
            published[column] = pd.arrays.FloatingArray(np.where(hidden, 0.0, values), hidden.copy())
        masks[column] = hidden & ~level.missing[column]
    for column in rules.derived_order():
        if column not in frame.columns:
            continue
        absent = [s for s in rules.derived[column] if s not in hidden_of]
        if absent:
            raise ValueError(f"level {level.name!r}: {column!r} is published without its sources {absent}")
        hidden = np.logical_or.reduce([hidden_of[s] for s in rules.derived[column]])
        hidden_of[column] = masks[column] = hidden
        values = pd.to_numeric(frame[column]).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
        published[column] = pd.arrays.FloatingArray(np.nan_to_num(values), hidden | np.isnan(values))
    out = pd.DataFrame(
        {c: (pd.Series(published[c], index=frame.index) if c in published else frame[c]) for c in frame.columns},
        index=frame.index,
    ).copy()
    no = np.zeros(len(frame), dtype=bool)
    mask = pd.DataFrame({c: masks.get(c, no) for c in frame.columns}, index=frame.index)
    primary = pd.DataFrame({c: level.primary.get(c, no) for c in frame.columns}, index=frame.index)
    return Suppressed(frame=out, mask=mask, primary=primary)


def check_disclosure(
    tables: Mapping[str, pd.DataFrame | Suppressed], hierarchy: Hierarchy, rules: DisclosureRules
) -> list[str]:
    """Audit published tables as an outsider would see them; every problem as one sentence (empty: none).

    Written independently of :func:`suppress` (pandas group-bys over the published
    frames, a null being a hidden cell) so that it can judge its result: no
    visible count below the threshold, no row or column equation with exactly one
    hidden cell, no visible derived figure computed from a hidden cell.
    """
    frames = {name: (t.frame if isinstance(t, Suppressed) else t).reset_index(drop=True) for name, t in tables.items()}
    problems: list[str] = []
    for name, key in hierarchy:
        frame = frames[name]
        labels = frame[key].astype(str) if key else pd.Series(name, index=frame.index)
        counts = [c for c in rules.counts if c in frame.columns]
        for column in counts:
            values = pd.to_numeric(frame[column])
            small = values.notna() & (values < rules.threshold)
            if rules.zero_is_safe:
                small &= values != 0
            problems += [
                f"{name} {labels[i]}: {column} = {values[i]} is below the threshold {rules.threshold}"
                for i in frame.index[small]
            ]
        for total, parts in rules.equations:
            columns = [total, *parts]
            if not set(columns) <= set(frame.columns):
                continue
            nulls = frame[columns].isna().to_numpy()
            lone = np.flatnonzero(nulls.sum(axis=1) == 1)
            problems += [
                f"{name} {labels[i]}: {total} = {' + '.join(parts)} has {columns[j]} as its only hidden cell"
                for i, j in zip(lone, nulls[lone].argmax(axis=1), strict=True)
            ]
        for column, sources in rules.derived.items():
            if column not in frame.columns:
                continue
            source_hidden = frame[[s for s in sources if s in frame.columns]].isna().any(axis=1)
            problems += [
                f"{name} {labels[i]}: {column} is visible but computed from a hidden cell"
                for i in frame.index[source_hidden & frame[column].notna()]
            ]
    for (child_name, _), (parent_name, parent_key) in pairwise(hierarchy):
        child, parent = frames[child_name], frames[parent_name]
        group = child[parent_key] if parent_key else pd.Series(parent_name, index=child.index)
        parent_rows = parent.set_index(parent_key) if parent_key else parent.set_axis([parent_name])
        for column in rules.counts:
            if column not in child.columns or column not in parent.columns:
                continue
            hidden = child[column].isna().groupby(group.to_numpy()).sum()
            # A group whose parent row is not published has no equation to check.
            parent_hidden = parent_rows[column].isna().reindex(hidden.index)
            hidden = (hidden + parent_hidden.astype(float)).dropna()
            problems += [
                f"{parent_name} {g}: {column} and its {child_name} rows have exactly one hidden cell"
                for g in hidden.index[hidden == 1]
            ]
    return problems
