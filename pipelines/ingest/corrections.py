"""Where a district office's returned corrections land, and who sent them.

An office sends back its correction workbook (or a fixed file of its own) after the round; the
file is landed in the round's landing folder, under the office it came from::

    landing/<dataset>/<round>/corrections/<amphoe_code>/<file>             the bytes as uploaded
    landing/<dataset>/<round>/corrections/<amphoe_code>/.<file>.origin.json   where they came from

The folder, not the file, says which office sent it: the round's ingest reads every file there as
that office's correction, and only for villages of that office (an office cannot overwrite
another's data). The sidecar starts with a dot so the ingest never reads it as a data file
(``landing.find_files`` skips such names); it says who uploaded the file, when, and from where
(for example a CKAN resource id and URL), and its ``landed_at`` orders corrections: among several
for one village, the latest landed wins.

Landing is atomic (a reader sees the whole file or none), idempotent (the same bytes landed twice
are one file) and never overwrites: a different upload under a name already taken is kept beside
it, its SHA-256 in its name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from domain.declarations import DatasetSpec
from domain.layout import Layout
from domain.rounds import Round

CORRECTIONS_FOLDER = "corrections"
ORIGIN_SUFFIX = ".origin.json"
_OFFICE = re.compile(r"[0-9]{4}")
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


def office_of(relative_name: str) -> str | None:
    """The office whose corrections folder a landed file is in (``2563-10/corrections/8401/x.xlsx``), else None.

    ``relative_name`` is :attr:`pipelines.ingest.landing.LandedFile.relative_name`: the round's folder
    name, then the path inside it.
    """
    parts = relative_name.split("/")
    if len(parts) >= 4 and parts[1] == CORRECTIONS_FOLDER and _OFFICE.fullmatch(parts[2]):
        return parts[2]
    return None


def in_corrections(relative_name: str) -> bool:
    """Whether a landed file is anywhere under ``corrections/`` (an office's folder or not)."""
    parts = relative_name.split("/")
    return len(parts) >= 3 and parts[1] == CORRECTIONS_FOLDER


def sidecar(path: Path) -> Path:
    """The origin sidecar of a landed file: ``.<name>.origin.json`` beside it."""
    return path.with_name(f".{path.name}{ORIGIN_SUFFIX}")


def read_origin(path: Path) -> dict[str, Any]:
    """The origin of a landed correction (empty when it has none or it cannot be read: the file still counts)."""
    try:
        origin = json.loads(sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return origin if isinstance(origin, dict) else {}


def safe_name(filename: str) -> str:
    """The upload's own name, kept readable (Thai included), without folders or characters a file system refuses."""
    name = _UNSAFE.sub("_", Path(str(filename).replace("\\", "/")).name).strip().lstrip(".")
    return name[:200] or "returned.xlsx"


def land_returned(
    layout_or_folder: Layout | Path,
    spec: DatasetSpec,
    round_: Round,
    amphoe_code: str,
    filename: str,
    data: bytes,
    origin: dict[str, Any],
) -> Path:
    """Land an office's returned file with its origin; the path of the landed file.

    ``layout_or_folder``: the data layout, or the round's landing folder itself. ``origin``: what
    is known of the upload (``uploaded_by``, ``uploaded_at``, ``source``, ``resource_id``, ``url``…),
    kept as given beside the file, with ``amphoe_code``, ``dataset``, ``round``, ``file``,
    ``sha256``, ``bytes`` and ``landed_at`` added. The same bytes landed again return the file
    already there (its sidecar untouched); different bytes never replace an earlier upload.
    """
    if not _OFFICE.fullmatch(str(amphoe_code)):
        raise ValueError(f"รหัสอำเภอต้องเป็นตัวเลข 4 หลัก / amphoe_code must be 4 digits, got {amphoe_code!r}")
    if isinstance(layout_or_folder, Layout):
        folder = layout_or_folder.corrections_dir(spec.name, round_, amphoe_code)
    else:
        folder = Path(layout_or_folder) / CORRECTIONS_FOLDER / amphoe_code
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    for existing in sorted(folder.iterdir()):
        if existing.name.startswith(".") or not existing.is_file() or existing.stat().st_size != len(data):
            continue
        if hashlib.sha256(existing.read_bytes()).hexdigest() == digest:
            return existing  # landed before: one file, one origin
    name = safe_name(filename)
    target = folder / name
    if target.exists():
        stem, suffix = Path(name).stem, Path(name).suffix
        target = folder / f"{stem}.{digest[:12]}{suffix}"
    record = {
        **origin,
        "amphoe_code": amphoe_code,
        "dataset": spec.name,
        "round": round_.key,
        "file": target.name,
        "sha256": digest,
        "bytes": len(data),
        "landed_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
    }
    # the origin first: a crash in between leaves a hidden sidecar, never a file without its origin
    _write_new(sidecar(target), json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"), replace=True)
    _write_new(target, data, replace=False)
    return target


def _write_new(target: Path, data: bytes, *, replace: bool) -> None:
    """Write under a hidden temporary name, then move into place (``replace`` False: never over a file)."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        if replace:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)  # fails if another upload took the name meanwhile: nothing overwritten
    finally:
        temporary.unlink(missing_ok=True)
