"""The work area of one dataset round: each stage's tables as Parquet, by name.

A round is worked province by province (issue #16): the row-level tables (``PART_TABLES``) are
written once per province part, under ``provinces/<code>/``, by that province's own steps, and
the round reads them as one table. :meth:`WorkArea.path` of such a table is a glob over the
parts, which DuckDB's ``read_parquet`` reads as one table (parts in code order); the round's own
tables (quality, aggregates, …) stay single files beside them.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: The folder of the province parts inside a round's work folder.
PARTS = "provinces"
#: Province 47's rows are numbered from 47 * ROW_ID_STRIDE: ids stay unique in the round, and a row's
#: part is ``_row_id // ROW_ID_STRIDE`` (a round read whole, as tests do, is all part 0).
ROW_ID_STRIDE = 10**12
#: Tables written per province part: the rows and what happened to each (and each file's record), the
#: accepted rows as units (with geography and indicator results) and the measures of the part's own areas
#: for the aggregates, and what the quality figures count, grouped small (``quality_counts``, ``reason_counts``).
PART_TABLES = frozenset(
    {"received", "accepted", "quarantine", "findings", "files", "corrections", "units", "part_measures",
     "quality_counts", "reason_counts"}
)  # fmt: skip
#: Parts of a table written side by side (:meth:`WorkArea.write_parts`).
PART_WRITERS = 2
#: Part tables of grouped rows: their ``_part`` column (not ``_row_id``) says whose they are.
COUNT_TABLES = frozenset({"quality_counts", "reason_counts"})


def write_atomic(target: Path, write: Callable[[Path], object]) -> Path:
    """``write`` a temporary file, then rename it onto ``target``: a step that dies leaves the previous file,
    not half of one. The temporary's name (``.<name>.<pid>.tmp``) tells a dead run's leftover from a live run's
    (``pipelines.leftovers``); a write that fails removes its own.

    A temporary that is another name of ``target`` already (a hard link written again) is removed after the
    rename: renaming one name of a file onto another leaves both (POSIX ``rename``)."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


#: The data folder's locks: each run's (``pipelines.run_lock``), the catalog's (``catalog.local``) and the like.
LOCKS = ".locks"


@contextmanager
def exclusive(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """A critical section between processes: an exclusive ``flock`` on ``path``, which the kernel releases
    when its process ends however it ends. ``on_wait`` is called once, before waiting, when another holds it.

    Re-entry in one process is not supported: a second open of the file is a second lock and would wait for
    the first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@dataclass(frozen=True)
class WorkArea:
    folder: Path
    #: True for a round worked in province parts: ``PART_TABLES`` are read over every part
    partitioned: bool = False

    def path(self, name: str) -> Path:
        if self.partitioned and name in PART_TABLES:
            return self.folder / PARTS / "*" / f"{name}.parquet"
        return self.folder / f"{name}.parquet"

    def part(self, province: str) -> WorkArea:
        """One province's part: a plain work area whose tables are that province's alone."""
        return WorkArea(self.folder / PARTS / province)

    def parts(self) -> list[str]:
        """The province parts written so far, in code order."""
        folder = self.folder / PARTS
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def write(self, name: str, frame: pd.DataFrame) -> Path:
        """Write then rename: a stage that dies leaves the previous table, not half of one."""
        if self.partitioned and name in PART_TABLES:
            raise ValueError(f"{name} is written per province part (WorkArea.part), not for the round")
        self.folder.mkdir(parents=True, exist_ok=True)
        return write_atomic(self.path(name), lambda temporary: frame.to_parquet(temporary, index=False))

    def write_parts(self, name: str, table: pa.Table, provinces: list[str]) -> None:
        """Each province's rows of a table over several parts, in their order, as that part's table (written
        then renamed, as :meth:`write`): a table of grouped rows says whose they are in ``_part``, a table of
        rows in ``_row_id``.

        The table is sorted by part once and cut (not filtered once per part), and the parts are written
        ``PART_WRITERS`` at a time: a small round's table becomes 78 files of a few hundred rows each, whose
        cost is each file's own (about 2 ms, mostly inside Parquet's writer, which lets go of the GIL)."""
        rows_of = _rows_by_part(table)
        empty = table.schema.empty_table()

        def write_part(province: str) -> None:
            rows = rows_of.get(int(province), empty)
            write_atomic(self.part(province).path(name), partial(pq.write_table, rows, compression="zstd"))

        with ThreadPoolExecutor(PART_WRITERS, thread_name_prefix="write-parts") as pool:
            list(pool.map(write_part, provinces))

    def read(self, name: str) -> pd.DataFrame:
        """A table; of a round worked in parts, every part's rows in code order, as one frame.

        The parts are joined as Arrow tables and made a frame once: a frame a part cost about twice as much
        (a national step reads 78 parts, some tables several times). Parts whose columns differ in type (an
        empty part written from pandas holds null-typed columns) are left out when empty, else joined as frames.
        """
        if not (self.partitioned and name in PART_TABLES):
            return read_file(self.path(name)).to_pandas()
        tables = [read_file(self.part(code).path(name)) for code in self.parts()]
        tables = [t for t in tables if t.num_rows] or tables[:1]
        if not tables:
            raise FileNotFoundError(f"no province part holds {name} in {self.folder}")
        if all(t.schema.equals(tables[0].schema) for t in tables[1:]):
            return pa.concat_tables(tables).to_pandas()
        frames = [t.to_pandas() for t in tables]
        return pd.concat(frames, ignore_index=frames[0].index.name is None)


def read_file(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One Parquet file's table: ``pq.read_table`` sets up a dataset for it first, which for a part's small
    table costs more than the reading (a national step reads 78 parts of several tables)."""
    with pq.ParquetFile(path) as parquet:
        return parquet.read(columns=columns)


def records_by(frame: pd.DataFrame, keys: pd.Series) -> dict[Any, list[dict[str, Any]]]:
    """A small frame's rows as records, listed by their key in the frame's order (a missing key: none): what is
    looked up key by key (an office's, a province's) taken in one pass, not filtered out once per key."""
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for key, record in zip(keys.tolist(), frame.to_dict("records"), strict=True):
        if key is not None and not pd.isna(key):
            grouped.setdefault(key, []).append(record)
    return grouped


#: Rows whose runs of one key are shorter than this on average are sorted by key first (:func:`rows_by_key`)
MIN_RUN_ROWS = 256


def rows_by_key(table: pa.Table, keys: pa.Array | pa.ChunkedArray) -> dict[Any, pa.Table]:
    """A table's rows grouped by ``keys`` (one a row), in key order (a null key last), each group's rows in the
    table's order.

    The rows are cut at the runs of one key, and each group's runs put end to end, without copying a row: rows
    already come so (a batch of the sort's rows: files, each of one province; a table in ``_row_id`` order:
    parts). Rows in short runs (``MIN_RUN_ROWS``) are put in key order first, by one stable sort: a group of
    many short runs is a table of as many small chunks, which costs more to write than the sort (a national
    village round's one batch: 5,580 runs of 13 rows on average)."""
    keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    if len(keys) == 0:
        return {}
    starts = _run_starts(keys)
    if len(keys) < starts.size * MIN_RUN_ROWS:
        order = pc.sort_indices(keys)  # stable: a group's rows keep their order
        table, keys = table.take(order), keys.take(order)
        starts = _run_starts(keys)
    runs: dict[Any, list[pa.Table]] = {}
    ends = [*starts[1:].tolist(), len(keys)]
    for key, start, end in zip(keys.take(starts).to_pylist(), starts.tolist(), ends, strict=True):
        runs.setdefault(key, []).append(table.slice(start, end - start))
    return {key: pa.concat_tables(runs[key]) for key in sorted(runs, key=lambda k: (k is None, k))}


def _run_starts(keys: pa.Array) -> np.ndarray:
    """Where each run of one key starts (``keys`` not empty; a null key is a run of its own row)."""
    same = pc.fill_null(pc.equal(keys.slice(0, len(keys) - 1), keys.slice(1)), False)
    return np.concatenate(([0], np.flatnonzero(pc.invert(same).to_numpy(zero_copy_only=False)) + 1))


def _rows_by_part(table: pa.Table) -> dict[int, pa.Table]:
    """A table's rows by part (``_part``, else ``_row_id // ROW_ID_STRIDE``), each part's in the table's order."""
    keys = table.column("_part") if "_part" in table.column_names else pc.divide(table.column("_row_id"), ROW_ID_STRIDE)
    return rows_by_key(table, keys)


def table_exists(path: Path) -> bool:
    """Whether a table is there: a file, or (a round worked in parts) at least one part of it."""
    if "*" not in path.as_posix():
        return path.exists()
    return any(Path(path.anchor).glob(path.relative_to(path.anchor).as_posix()))
