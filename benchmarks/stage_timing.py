"""A round's stages run one after another and timed: what both round benchmarks measure."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from catalog.local import LocalCatalog
from pipelines import stages


@dataclass
class TimedRound:
    figures: dict[str, Any] = field(default_factory=dict)  # each stage's own summary
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    published: list[Any] = field(default_factory=list)


def run_stages(job: stages.RoundJob, timed: TimedRound | None = None) -> TimedRound:
    """ingest -> validate -> quality -> aggregate -> publish (to the layout's local catalog), each timed."""
    timed = timed or TimedRound()
    for name, stage in [
        ("ingest", stages.ingest),
        ("validate", stages.validate),
        ("quality", stages.quality),
        ("aggregate", stages.aggregate),
    ]:
        start = time.perf_counter()
        timed.figures[name] = stage(job)
        timed.seconds[name] = time.perf_counter() - start
    start = time.perf_counter()
    timed.published = stages.publish(job, LocalCatalog(job.layout.catalog))
    stages.write_report(job, timed.published)
    timed.seconds["publish"] = time.perf_counter() - start
    return timed
