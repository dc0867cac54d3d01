"""Scorecards as data (issue #5, item 4): declared criteria, weights, normalisation and picks.

A scorecard (``scorecards/<name>.yaml``) scores a unit (district or province) on
criteria fed by published tables, ranks the units and picks winners. This package
loads and checks the declarations (:mod:`.declaration`), reads the inputs from the
published catalog (:mod:`.inputs`), computes in DuckDB (:mod:`.compute`) and turns
the results into publishable tables (:mod:`.outputs`).

Typical use for one round::

    card = load_scorecards()["role_model_district"]
    result = compute_round(card, catalog_root, round_)
    for output in scorecard_outputs(card, round_, result):
        LocalCatalog(catalog_root).publish(output, round_, card.gdc | output.gdc)
"""

from __future__ import annotations

from pathlib import Path

from domain.rounds import Round
from pipelines.scorecards.compute import ScoreResult, normalise_sql, normalise_values, score
from pipelines.scorecards.declaration import (
    SCORECARDS_DIR,
    Criterion,
    Normalise,
    PickLevel,
    Scorecard,
    ScorecardError,
    TieBreak,
    check_inputs,
    known_outputs,
    load_scorecard,
    load_scorecards,
    parse_scorecard,
)
from pipelines.scorecards.inputs import MissingInputError, load_inputs, published_parquet, units_for
from pipelines.scorecards.outputs import describe_normalise, scorecard_outputs


def compute_round(card: Scorecard, catalog_root: Path, round_: Round) -> ScoreResult:
    """Read the card's inputs for the round from the local catalog and score every registry unit."""
    return score(card, round_, load_inputs(card, catalog_root, round_), units_for(card, round_))


__all__ = [
    "SCORECARDS_DIR",
    "Criterion",
    "MissingInputError",
    "Normalise",
    "PickLevel",
    "ScoreResult",
    "Scorecard",
    "ScorecardError",
    "TieBreak",
    "check_inputs",
    "compute_round",
    "describe_normalise",
    "known_outputs",
    "load_inputs",
    "load_scorecard",
    "load_scorecards",
    "normalise_sql",
    "normalise_values",
    "parse_scorecard",
    "published_parquet",
    "score",
    "scorecard_outputs",
    "units_for",
]
