"""Finding a round's files and keeping each one, byte-for-byte, by its SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ingest.in_turn import InTurn

_HASH_BLOCK = 1 << 20
#: What the sort hands to its archiving thread at a time (the batch in hand and one being copied at most)
ARCHIVE_BATCH_BYTES = 64 << 20


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative_name: str
    sha256: str
    size: int
    received_at: str  # when it landed (file modification time, UTC, ISO 8601)
    data: bytes = field(repr=False)  # read once: hashed, archived and parsed from the same bytes
    #: why the file's bytes are not in ``data``: 'too_large' (hashed and archived from disk, not read),
    #: or the error that stopped reading it (then it has no hash and no archived copy)
    unread: str = ""


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def land(base: Path, path: Path, max_bytes: int | None, stat: os.stat_result | None = None) -> LandedFile:
    """One file: read whole, or hashed from disk when larger than ``max_bytes``, or the error reading it.

    ``stat``: the file's, when the listing that found it has it already (:func:`listing`).
    """
    relative = f"{base.name}/{path.relative_to(base).as_posix()}"
    try:
        stat = path.stat() if stat is None else stat
        landed_at = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(microsecond=0).isoformat()
        if max_bytes is not None and stat.st_size > max_bytes:
            return LandedFile(path, relative, _hash_file(path), stat.st_size, landed_at, b"", "too_large")
        data = path.read_bytes()
    except OSError as exc:  # vanished, unreadable: the round goes on without it
        return LandedFile(path, relative, "", 0, "", b"", type(exc).__name__)
    return LandedFile(path, relative, hashlib.sha256(data).hexdigest(), len(data), landed_at, data)


def find_files(
    landing_dirs: list[Path],
    max_bytes: int | None = None,
    where: Callable[[str], bool] | None = None,
    under: str = "",
) -> Iterator[LandedFile]:
    """Every regular file under the round's landing folders, in a stable order, one in memory at a time.

    A file larger than ``max_bytes`` is hashed from disk and not read into memory (it will be rejected).
    A name starting with a dot is never a file sent (a temporary file, an origin sidecar). ``where``:
    only the files whose relative name (``2563-10/a/b.csv``) it accepts, e.g. an office's corrections;
    ``under``: only below this folder of each landing folder (named as ever from the landing folder).
    """
    for item in listing(landing_dirs, under):
        if item.hidden or (where is not None and not where(item.relative_name)):
            continue
        yield land(item.base, item.path, max_bytes, item.stat)


@dataclass(frozen=True)
class Listed:
    """A regular file under a landing folder, as :func:`listing` found it."""

    base: Path  # the landing folder
    relative_name: str  # the landing folder's name, then the path inside it ('2563-10/a/b.csv')
    path: Path
    stat: os.stat_result | None  # None: it could not be read (it vanished): reading it will say why

    @property
    def hidden(self) -> bool:
        """A name starting with a dot is never a file sent (a temporary file, an origin sidecar)."""
        return self.path.name.startswith(".")


def listing(landing_dirs: list[Path], under: str = "") -> list[Listed]:
    """Every regular file under the round's landing folders (``under``: only below this folder of each), hidden
    ones too, with its stat, in the order ``sorted(base.rglob("*"))`` gives (folder by folder, a path's parts
    compared in turn), one landing folder after the other.

    One ``scandir`` walk: each file is looked at once (``rglob``, ``is_file`` and a ``stat`` of each
    cost several system calls and Path objects a file, and a village round has thousands of small files).
    Like ``rglob``, a link to a folder is not followed; a link to a file is a file.
    """
    found: list[Listed] = []
    for base in landing_dirs:
        here: list[tuple[list[str], os.DirEntry[str]]] = []
        start = [part for part in under.split("/") if part]
        folders = [(start, os.fspath(base.joinpath(*start)))]
        while folders:
            parts, folder = folders.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:  # gone or unreadable: rglob passes it by too
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(([*parts, entry.name], entry.path))
                    elif entry.is_file():
                        here.append(([*parts, entry.name], entry))
                except OSError:
                    continue
        here.sort(key=lambda item: item[0])
        for parts, entry in here:
            try:
                stat: os.stat_result | None = entry.stat()
            except OSError:
                stat = None
            found.append(Listed(base, "/".join([base.name, *parts]), base.joinpath(*parts), stat))
    return found


def archive_path(archive: Path, landed: LandedFile) -> Path:
    suffix = landed.path.suffix.lower()[:10]
    return archive / landed.sha256[:2] / f"{landed.sha256}{suffix}"


def archive_file(archive: Path, landed: LandedFile) -> Path:
    """Copy into the archive once; an existing archived copy is never rewritten."""
    target = archive_path(archive, landed)
    if not target.exists():
        # one temporary name per thread (the same file sent twice may be archived by two threads at once),
        # the process id last: a dead run's leftover is known by it (pipelines.leftovers)
        temporary = target.with_name(f".{target.name}.t{threading.get_native_id()}.{os.getpid()}.tmp")
        if landed.unread == "too_large":
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(landed.path, temporary)
            temporary.chmod(0o444)
        else:
            _write_read_only(temporary, landed.data)
        os.replace(temporary, target)
    return target


class Archiver:
    """Copies landed files into the archive on a thread of its own, a batch of ``batch_bytes`` at a time.

    Why batches: a round of small files copied one by one between the parsing of each spent more in the
    copies than the copies cost alone, every system call giving up Python's lock and waiting to take it
    back from the parsing thread (a national village round's 8,573 files: its sort 9.1-10.5 s against
    10.7-12.2 s). The village round's small files (34 MB) are now copied in one go after the parsing; a
    household round's large ones a batch at a time beside it. :meth:`close` returns once every file added
    is archived, so nothing is recorded as archived before it is.
    """

    def __init__(self, archive: Path, batch_bytes: int = ARCHIVE_BATCH_BYTES) -> None:
        self.archive, self.batch_bytes = archive, batch_bytes
        self._batch: list[LandedFile] = []
        self._bytes = 0
        self._copying = InTurn("archive")

    def add(self, landed: LandedFile) -> None:
        self._batch.append(landed)
        self._bytes += len(landed.data)
        if self._bytes >= self.batch_bytes:
            self._hand_over()

    def _hand_over(self) -> None:
        """The batch in hand to the thread, once the one before it is copied (its error raised here)."""
        batch, self._batch, self._bytes = self._batch, [], 0
        if batch:
            self._copying.submit(self._copy, batch)

    def _copy(self, batch: list[LandedFile]) -> None:
        for landed in batch:
            archive_file(self.archive, landed)

    def close(self) -> None:
        """Every file added is archived (or the first error is raised), and the thread ended."""
        try:
            self._hand_over()
        finally:
            self._copying.close()


def _write_read_only(path: Path, data: bytes) -> None:
    """``data`` in a new file made read-only, its folder made only when it has none (the archive's folders
    exist after a round's first files: asking for each again cost as much as writing a small file)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        handle = os.open(path, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
        os.fchmod(handle, 0o444)
    finally:
        os.close(handle)
