"""The small round several integration modules publish: both collections of one small province, one month.

Samut Songkhram (75) is the smallest province, so the village profile and a twentieth of the household
survey go through the real stages into a local catalog in seconds; :func:`publish_all` then mirrors every
output into CKAN with its DataStore table, as the pipeline's CKAN asset does.
"""

from __future__ import annotations

import json

import samples.household_survey as household_generator
import samples.village_profile as village_generator
from catalog.ckan_publish import CkanPublisher, Outcome
from catalog.local import LocalCatalog
from domain.declarations import load_datasets
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages

ROUND = parse_round("2563-10")
PROVINCE = "75"  # Samut Songkhram: the smallest province, a quick round


def build(layout: Layout, local: LocalCatalog) -> None:
    """Sample files of both collections, through the stages, into ``local``."""
    specs = load_datasets()
    for name, generate in (
        ("village_profile", lambda d: village_generator.generate(ROUND, d, provinces=[PROVINCE], bad_files=False)),
        (
            "household_survey",
            lambda d: household_generator.generate(ROUND, d, provinces=[PROVINCE], bad_files=False, scale=0.05),
        ),
    ):
        generate(layout.landing_dir(name, ROUND))
        job = stages.RoundJob(specs[name], ROUND, layout)
        for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
            stage(job)
        stages.publish(job, local)


def publish_all(publisher: CkanPublisher, local: LocalCatalog) -> dict[str, Outcome]:
    """Every output of ``local`` into CKAN, each with its DataStore table."""
    outcomes = {}
    for pointer in sorted(local.root.glob("*/latest.json")):
        output = pointer.parent.name
        current = local.pointer(output)["latest"]["path"]
        package = json.loads((local.root / output / current / "datapackage.json").read_text(encoding="utf-8"))
        outcomes[output] = publisher.publish(output, package["resources"][0]["schema"])
    return outcomes
