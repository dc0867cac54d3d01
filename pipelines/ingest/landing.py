"""Finding a round's files and keeping each one, byte-for-byte, by its SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative_name: str
    sha256: str
    size: int
    received_at: str  # when it landed (file modification time, UTC, ISO 8601)
    data: bytes = field(repr=False)  # read once: hashed, archived and parsed from the same bytes


def find_files(landing_dirs: list[Path]) -> Iterator[LandedFile]:
    """Every regular file under the round's landing folders, in a stable order, one in memory at a time."""
    for base in landing_dirs:
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                continue
            data = path.read_bytes()
            landed_at = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
            yield LandedFile(
                path=path,
                relative_name=f"{base.name}/{path.relative_to(base).as_posix()}",
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                received_at=landed_at.isoformat(),
                data=data,
            )


def archive_path(archive: Path, landed: LandedFile) -> Path:
    suffix = landed.path.suffix.lower()[:10]
    return archive / landed.sha256[:2] / f"{landed.sha256}{suffix}"


def archive_file(archive: Path, landed: LandedFile) -> Path:
    """Copy into the archive once; an existing archived copy is never rewritten."""
    target = archive_path(archive, landed)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(landed.data)
        temporary.chmod(0o444)
        os.replace(temporary, target)
    return target
