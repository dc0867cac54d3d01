"""When each sample file "arrived": its modification time, which the pipeline reads as ``received_at``.

Offices send their files during the round's month, most by the reporting
deadline (the 25th by default, ``reporting.deadline_day``) and some days late;
without this every sample file would arrive "now", years after its round, and
every on-time figure of the demo would be 0%. Times are office hours in Bangkok,
deterministic from (seed, round, file name), so the same sample gives the same
figures.
"""

from __future__ import annotations

import datetime as dt
import os
import zlib
from pathlib import Path

import numpy as np

from domain.declarations import load_datasets
from domain.rounds import Round
from pipelines.deadlines import reporting_deadline

LATE_SHARE = 0.08  # files that arrive after the deadline
LATE_DAYS = 10  # at most this many days late
BANGKOK = dt.timezone(dt.timedelta(hours=7))


def arrival_time(name: str, deadline: dt.date, round_: Round, seed: int) -> dt.datetime:
    """A file's arrival: between the 3rd of the month and the deadline, or up to LATE_DAYS after it."""
    rng = np.random.default_rng([seed, round_.year, round_.month, zlib.crc32(name.encode("utf-8"))])
    if rng.random() < LATE_SHARE:
        day = deadline + dt.timedelta(days=int(rng.integers(1, LATE_DAYS + 1)))
    else:
        first = dt.date(round_.year, round_.month, 3)
        day = first + dt.timedelta(days=int(rng.integers(0, max((deadline - first).days, 0) + 1)))
    seconds = int(rng.integers(8 * 3600, 17 * 3600))
    return dt.datetime(day.year, day.month, day.day, tzinfo=BANGKOK) + dt.timedelta(seconds=seconds)


def stamp_arrivals(out_dir: Path, dataset: str, round_: Round, seed: int) -> dict[str, dt.datetime]:
    """Set every file's modification time in ``out_dir`` to its arrival; return name -> arrival."""
    deadline = reporting_deadline(load_datasets()[dataset], round_)
    arrivals = {}
    for path in sorted(p for p in Path(out_dir).rglob("*") if p.is_file()):
        name = path.relative_to(out_dir).as_posix()
        arrivals[name] = arrival_time(name, deadline, round_, seed)
        stamp = arrivals[name].timestamp()
        os.utime(path, (stamp, stamp))
    return arrivals
