"""Finding a round's files and keeping each one, byte-for-byte, by its SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative_name: str
    sha256: str
    size: int
    received_at: str  # when it landed (file modification time, UTC, ISO 8601)


def find_files(landing_dirs: list[Path]) -> list[LandedFile]:
    """Every regular file under the round's landing folders, in a stable order."""
    found = []
    for base in landing_dirs:
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                continue
            data = path.read_bytes()
            landed_at = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
            found.append(
                LandedFile(
                    path=path,
                    relative_name=f"{base.name}/{path.relative_to(base).as_posix()}",
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data),
                    received_at=landed_at.isoformat(),
                )
            )
    return found


def archive_path(archive: Path, landed: LandedFile) -> Path:
    suffix = landed.path.suffix.lower()[:10]
    return archive / landed.sha256[:2] / f"{landed.sha256}{suffix}"


def archive_file(archive: Path, landed: LandedFile) -> Path:
    """Copy into the archive once; an existing archived copy is never rewritten."""
    target = archive_path(archive, landed)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(landed.path.read_bytes())
        temporary.chmod(0o444)
        os.replace(temporary, target)
    return target
