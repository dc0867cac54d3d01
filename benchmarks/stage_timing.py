"""A round's stages run one after another and timed: what both round benchmarks measure."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.local import LocalCatalog
from pipelines import stages


@dataclass
class TimedRound:
    figures: dict[str, Any] = field(default_factory=dict)  # each stage's own summary
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    #: CPU time per stage, this process's and its worker processes': what the stage cost the machine, which a
    #: busy neighbour on a shared machine changes far less than the wall time
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    published: list[Any] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time what runs inside as the stage ``name``, wall and CPU."""
        start, cpu = time.perf_counter(), cpu_seconds()
        yield
        self.seconds[name] = time.perf_counter() - start
        self.cpu_seconds[name] = cpu_seconds() - cpu


def file_create_us(folder: Path, files: int = 2000) -> float:
    """Microseconds to write one small new file in ``folder``, as a round's archive and parts are written.

    On a shared machine this ranged from 25 to 650 us in one file system within an hour (slow after many
    files there were deleted), which alone moves a village round's 8,573 archived files by seconds: printed
    beside the round's figures, it tells a slow run from a slow disk. The files go with the data folder.
    """
    probe = folder / "file_create_probe"
    probe.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i in range(files):
        (probe / f"{i}.bin").write_bytes(bytes(4096))
    return round((time.perf_counter() - start) / files * 1e6, 1)


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its children that have ended (a stage's worker
    processes end with the stage)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_stages(job: stages.RoundJob, timed: TimedRound | None = None) -> TimedRound:
    """ingest -> validate -> quality -> aggregate -> publish (to the layout's local catalog), each timed."""
    timed = timed or TimedRound()
    for name, stage in [
        ("ingest", stages.ingest),
        ("validate", stages.validate),
        ("quality", stages.quality),
        ("aggregate", stages.aggregate),
    ]:
        with timed.stage(name):
            timed.figures[name] = stage(job)
    with timed.stage("publish"):
        timed.published = stages.publish(job, LocalCatalog(job.layout.catalog))
        stages.write_report(job, timed.published)
    return timed


def rerun_after_change(job: stages.RoundJob, change: Callable[[Path], Path]) -> tuple[float, list[str]]:
    """One landed file changed by ``change`` (given the landing folder, returns the file it changed), then the
    round run again as the sensors would: its sort, the provinces it changed, the national steps. Returns the
    seconds, and the provinces that ran."""
    landing = job.layout.landing_dirs(job.spec.name, job.round)[0]
    change(landing)
    start = time.perf_counter()
    sorted_ = stages.sort(job)
    for province in stages.stale_parts(job, "validated"):
        stages.read_part(job, province)
        stages.validate_part(job, province)
    for stage in (stages.quality, stages.aggregate):
        stage(job)
    stages.write_report(job, stages.publish(job, LocalCatalog(job.layout.catalog)))
    return time.perf_counter() - start, sorted_.changed


def province_runs_seconds(job: stages.RoundJob, workers: int) -> float:
    """Every province of the round read and validated again, as Dagster runs of ``<dataset>_province`` in
    ``workers`` worker processes (``tambon run --workers``); needs ``DAGSTER_HOME`` and ``TAMBON_DATA_DIR``."""
    from pipelines.definitions import province_job_name
    from pipelines.ingest.provinces import parts_of
    from pipelines.partitions import province_key
    from pipelines.province_workers import run_in_workers

    keys = [str(province_key(job.round.key, p)) for p in sorted(parts_of(job.work))]
    start = time.perf_counter()
    done = run_in_workers(province_job_name(job.spec.name), keys, workers)
    seconds = time.perf_counter() - start
    if not all(done):
        raise RuntimeError(f"province runs failed: {[k for k, ok in zip(keys, done, strict=True) if not ok]}")
    return seconds
