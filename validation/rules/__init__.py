"""Checks a Table Schema cannot express, declared per dataset in ``dataset.yaml``.

Each rule kind is a function ``(params, context) -> SQL`` registered by name
here: a SELECT over the typed rows (``context.typed``: every field typed as the
schema says, NULL where missing or not valid) giving raw findings
(``findings.RAW_COLUMNS``). SQL, so one implementation serves a 40-row test and
a 12.8-million-row national round alike. A dataset lists which kinds it uses
and with which fields, so a new collection reuses these without new code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.rounds import Round
from validation.rules.arithmetic import code_suffix, starts_with, sum_at_most, sum_equals
from validation.rules.dates import date_in_round
from validation.rules.registry import registry_member
from validation.rules.spatial import spatial_review


@dataclass(frozen=True)
class RuleContext:
    round: Round
    fields: dict[str, dict[str, Any]]
    typed: str = "typed_rows"  # relation of typed rows: _row_id + every field
    #: registry relations (``Geography.register`` names): villages, and tambons/amphoes/provinces codes
    registry: dict[str, str] | None = None


Rule = Callable[[dict[str, Any], RuleContext], str]

RULES: dict[str, Rule] = {
    "registry_member": registry_member,
    "code_suffix": code_suffix,
    "sum_equals": sum_equals,
    "sum_at_most": sum_at_most,
    "starts_with": starts_with,
    "date_in_round": date_in_round,
    "spatial_review": spatial_review,
}
