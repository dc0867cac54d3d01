"""Checks a Table Schema cannot express, declared per dataset in ``dataset.yaml``.

Each rule kind is a function ``(frame, params, context) -> findings`` registered
by name here; a dataset lists which kinds it uses and with which fields, so a
new collection reuses these without new code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.rounds import Round
from validation.rules.arithmetic import code_suffix, sum_equals
from validation.rules.dates import date_in_round
from validation.rules.registry import registry_member
from validation.rules.spatial import spatial_review


@dataclass(frozen=True)
class RuleContext:
    round: Round
    villages: pd.DataFrame  # registry: village_code, tambon_code, latitude, longitude, ...
    fields: dict[str, dict[str, Any]]


Rule = Callable[[pd.DataFrame, dict[str, Any], RuleContext], pd.DataFrame]

RULES: dict[str, Rule] = {
    "registry_member": registry_member,
    "code_suffix": code_suffix,
    "sum_equals": sum_equals,
    "date_in_round": date_in_round,
    "spatial_review": spatial_review,
}
