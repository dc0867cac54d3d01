"""What a killed run leaves behind, and removing it before the next run of the same round.

Every writer in the pipeline writes to a hidden temporary name next to its target and
renames it into place (``.<name>.<pid>.tmp``, ``domain.work.write_atomic``; DuckDB's ``….tmp.wal``,
the catalog's ``.staging-r<N>-<pid>`` folders), and big DuckDB
joins spill to ``work/<dataset>/<round>/spill/``. A process killed between writing and
renaming leaves those names behind. They never become data (nothing reads a hidden
name), but they pile up and can be large, so the next run sweeps them:

* in the round's own work and reports folders everything temporary goes: the round's
  lock (:mod:`pipelines.run_lock`) is held, so no other process writes there; but for its
  province parts (``provinces/``), whose runs hold their own locks and may be running at this
  moment: there, as in the shared folders, only a dead process's names go;
* in the shared folders (the catalog, the archive), other datasets' runs may be writing
  at this moment, so only names whose process id is no longer alive are removed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from domain.layout import Layout
from domain.rounds import Round
from domain.work import PARTS

_WITH_PID = re.compile(r"^\..+\.(\d+)\.tmp(\.wal)?$|^\.staging-r\d+-(\d+)$")
_TEMPORARY = re.compile(r"^\..+\.tmp(\.wal)?$|^\.staging-r\d+-\d+$")
SPILL = "spill"


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _walk(folder: Path) -> Iterator[Path]:
    """Every entry below ``folder``, parents before children (a removed folder is not entered)."""
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        yield entry
        if entry.is_dir() and not entry.is_symlink() and entry.exists():
            yield from _walk(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def temporary_files(root: Path) -> list[Path]:
    """Every temporary name (any process's) below ``root``, and any spill folder (DuckDB removes its own when it
    closes, so one left is a run's litter even when empty): for tests and checks."""
    found = []
    for path in _walk(root):
        if _TEMPORARY.match(path.name) or (path.name == SPILL and path.is_dir()):
            found.append(path)
    return found


def sweep(layout: Layout, dataset: str, round_: Round) -> list[Path]:
    """Remove what killed runs left for ``dataset``'s ``round_`` and dead processes left anywhere shared.

    Call with the round's lock held. Returns what was removed (the caller logs it).
    """
    removed: list[Path] = []
    for own in (layout.work(dataset, round_), layout.reports(dataset, round_)):
        for path in _walk(own):
            if path.relative_to(own).parts[0] == PARTS:
                if _dead(path):
                    _remove(path)
                    removed.append(path)
            elif _TEMPORARY.match(path.name) or (path.name == SPILL and path.is_dir()):
                _remove(path)
                removed.append(path)
    for shared in (layout.catalog, layout.archive):
        for path in _walk(shared):
            if _dead(path):
                _remove(path)
                removed.append(path)
    return removed


def _dead(path: Path) -> bool:
    """A temporary name of a process no longer alive."""
    match = _WITH_PID.match(path.name)
    return bool(match) and not _process_alive(int(match.group(1) or match.group(3)))
