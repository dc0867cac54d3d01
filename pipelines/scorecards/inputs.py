"""What a scorecard reads: the units from the registry and its inputs from the published catalog.

Inputs are read from the local catalog folder (the published, versioned packages),
not from the pipeline's work area: a scorecard is then computed from exactly the
figures anyone can download for that round, and re-computing it later gives the
same result as long as those revisions are current.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from domain.rounds import Round
from pipelines.scorecards.declaration import Scorecard, ScorecardError


class MissingInputError(ScorecardError, FileNotFoundError):
    """A required input has no published revision for the round (run its dataset first)."""


def units_for(card: Scorecard, round_: Round) -> pd.DataFrame:
    """Every unit the card scores, with its province and the inspection region in force in the round.

    All registry units are scored (not only those that sent something), so a district
    that sent nothing is visible with its zeros instead of silently missing.
    """
    import registry

    regions = registry.inspection_regions(as_of=round_.last_day)[["province_code", "region"]]
    provinces = registry.provinces().rename(columns={"name_th": "province_name_th", "name_en": "province_name_en"})
    if card.unit == "province":
        units = provinces.assign(
            unit_code=provinces["province_code"],
            unit_name_th=provinces["province_name_th"],
            unit_name_en=provinces["province_name_en"],
        )
    else:
        amphoes = registry.amphoes().rename(
            columns={"amphoe_code": "unit_code", "name_th": "unit_name_th", "name_en": "unit_name_en"}
        )
        units = amphoes.merge(provinces, on="province_code", how="left")
    units = units.merge(regions, on="province_code", how="left")
    lost = units[units["region"].isna()]["province_code"].unique().tolist()
    if lost:
        raise ScorecardError(f"provinces {lost} have no inspection region in force on {round_.last_day}")
    from pipelines.scorecards.compute import UNIT_COLUMNS

    return units[list(UNIT_COLUMNS)].sort_values("unit_code", ignore_index=True)


def published_parquet(catalog_root: Path, output: str, round_: Round) -> Path | None:
    """The current revision's Parquet of ``output`` for the round, per ``<output>/latest.json``.

    Layout (catalog/local.py): ``<root>/<output>/latest.json`` holds ``rounds[<round>]``
    with ``path`` (``<round>/r<N>``) and ``files.parquet.path`` (the file name).
    """
    pointer_path = Path(catalog_root) / output / "latest.json"
    if not pointer_path.exists():
        return None
    pointer = json.loads(pointer_path.read_text(encoding="utf-8"))
    entry = pointer.get("rounds", {}).get(round_.key)
    if not entry:
        return None
    return Path(catalog_root) / output / entry["path"] / entry["files"]["parquet"]["path"]


def load_inputs(card: Scorecard, catalog_root: Path, round_: Round) -> dict[str, pd.DataFrame]:
    """Each declared input as published for ``round_`` (its current revision).

    A required input with no published revision for the round raises
    :class:`MissingInputError`, so no ranking is published on part of its data; an
    optional one (``required: false``) comes back as an empty frame with the declared
    columns, and every unit scores the missing score on its criteria.
    """
    out = {}
    for name, spec in card.inputs.items():
        path = published_parquet(catalog_root, spec.output, round_)
        if path is None:
            if spec.required:
                raise MissingInputError(
                    f"{card.name}: ยังไม่มีการเผยแพร่ {spec.output} รอบ {round_} / {spec.output} has no published "
                    f"revision for round {round_.key} in {catalog_root} (run that dataset's round first)"
                )
            columns = list(dict.fromkeys([spec.key, *spec.filter, *spec.columns]))
            out[name] = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
            continue
        out[name] = pq.read_table(path).to_pandas()
    return out
