"""The local catalog folder: immutable, versioned packages and a stable "latest" pointer.

    catalog/<output>/<round>/r<N>/   <output>_<B.E. round>_<round>_r<N>.{parquet,csv} + datapackage.json
    catalog/<output>/latest.json     current revision of each round (with its reporting deadline and the
                                     provinces reported), the newest round, and the latest round
    catalog/catalog.json             every output with its titles and current versions

"Latest" is not simply "newest": a round still being reported (before its deadline, some
provinces missing) does not replace a settled one (catalog/latest.py says the rule). The
pointer keeps both: ``newest`` is the publisher's bookkeeping (the newest revision written,
whose schema and titles describe the dataset), ``latest`` is the rule's pick on the day the
pointer was written, for readers of the file. Code that needs "latest" applies the rule
itself (:func:`catalog.latest.pick_from_pointer`), since a deadline passes without a publish.

A revision is identified by the SHA-256 of its CSV bytes (deterministic from the
table), so re-running an unchanged round publishes nothing. A new revision is
written to a staging folder and renamed into place, then the pointer is swapped:
a crash leaves either the old revision or the complete new one, never half.

Pointers, the index and the analysts' database are each read, changed and written whole, and
runs of different rounds or datasets publish side by side (a run lock is per round): whoever
publishes holds :meth:`LocalCatalog.publishing` from the first pointer read to the last write,
so no run writes back a pointer or index read before another run's revision.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from catalog.files import FORMULA_PREFIX, arrow_table, parquet_bytes, schema_metadata, sha256
from catalog.latest import PACKAGE_KEY, REPORTING_KEY, pick_from_pointer
from catalog.outputs import Output
from domain.rounds import Round
from domain.work import LOCKS, exclusive, write_atomic

#: What a publisher is told while another holds the catalog (:meth:`LocalCatalog.publishing`)
PUBLISHING_ELSEWHERE = (
    "รอให้การเผยแพร่ลงแคตตาล็อกของอีกรอบหรืออีกชุดข้อมูลเสร็จก่อน / waiting for another run publishing to the catalog"
)

LICENSE = {
    "name": "OGL-TH",
    "title": "Open Government License – Thailand (สัญญาอนุญาตให้ใช้ข้อมูลภาครัฐแบบเปิดของประเทศไทย)",
}

# How the CSV writer keeps spreadsheets from running a text cell as a formula (catalog.files.guard_formula),
# said next to the CSV resource so that whoever reads datapackage.json knows why a cell starts with ' and
# how to get the value back; the Parquet resource holds the values as received and carries no such note.
FORMULA_GUARD = {
    "th": f"ในไฟล์ CSV ค่าข้อความของคอลัมน์เหล่านี้ (fields) ที่ขึ้นต้นด้วย = + - @ แท็บ หรืออักขระขึ้นบรรทัด (CR)"
    f" (ไม่นับช่องว่างนำหน้า) หรือขึ้นต้นด้วย {FORMULA_PREFIX} จะมี {FORMULA_PREFIX} เติมไว้ข้างหน้าหนึ่งตัว"
    f" เพื่อไม่ให้ Excel หรือ LibreOffice ทำงานเป็นสูตร ตัด {FORMULA_PREFIX} ตัวแรกออกจะได้ค่าเดิม"
    f" ค่าที่เป็นตัวเลขล้วน เช่น -5 หรือ +66 คงไว้ตามเดิม ไฟล์ Parquet เก็บค่าตามที่ได้รับ",
    "en": f"In the CSV file, a text value of these fields that starts with = + - @, a tab or a carriage return"
    f" (leading spaces looked through), or with {FORMULA_PREFIX}, has one {FORMULA_PREFIX} put in front so that"
    f" Excel or LibreOffice do not run it as a formula; remove the first {FORMULA_PREFIX} to get the value."
    f" A text that is one plain number, such as -5 or +66, is left as it is. The Parquet file holds the values"
    f" as received.",
}


@dataclass
class Published:
    output: str
    round: str
    status: str  # new | unchanged
    revision: int
    folder: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic replace, so a reader never sees half a pointer."""
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    write_atomic(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


class LocalCatalog:
    def __init__(self, root: Path) -> None:
        self.root = root

    def publishing(self, on_wait: Callable[[str], None] | None = None) -> AbstractContextManager[None]:
        """The catalog's own lock, held by one publisher at a time (module docstring): ``<parent>/.locks/
        <catalog>.lock`` beside the runs' locks, not in the catalog folder, which holds only what is published.
        ``on_wait``: told :data:`PUBLISHING_ELSEWHERE` when another publisher holds it, before waiting."""
        told = None if on_wait is None else partial(on_wait, PUBLISHING_ELSEWHERE)
        return exclusive(self.root.parent / LOCKS / f"{self.root.name}.lock", told)

    def pointer(self, output: str) -> dict[str, Any]:
        return _read_json(self.root / output / "latest.json")

    def publish(
        self,
        output: Output,
        round_: Round,
        gdc: dict[str, Any],
        reporting: dict[str, Any] | None = None,
        today: dt.date | None = None,
    ) -> Published:
        """Publish the round's table as a new revision, or nothing when its CSV is unchanged.

        ``reporting`` (:func:`catalog.latest.reporting_metadata`: the round's deadline and the provinces
        expected and reported) is kept in the datapackage and the pointer so that "latest" can be decided
        without reading data; an unchanged revision only has the pointer's copy brought up to date.
        """
        base = self.root / output.name
        pointer = self.pointer(output.name)
        csv = output.csv
        content = sha256(csv)
        current = pointer.get("rounds", {}).get(round_.key)
        if current and current["content_sha256"] == content:
            folder = base / current["path"]
            if reporting is not None and current.get(REPORTING_KEY) != reporting:
                pointer["rounds"][round_.key] = {**current, REPORTING_KEY: reporting}
                self._write_pointer(base, output, pointer["rounds"], today)
            return Published(output.name, round_.key, "unchanged", current["revision"], folder, current["files"])
        revision = self._next_revision(base / round_.key, current["revision"] if current else 0)
        version = f"{round_.be_key}_{round_.key}_r{revision}"
        stem = f"{output.name}_{version}"
        parquet = parquet_bytes(
            arrow_table(output.frame, output.schema, schema_metadata(output.name, version, output.schema))
        )
        blobs = {"csv": (f"{stem}.csv", csv), "parquet": (f"{stem}.parquet", parquet)}
        files = {fmt: {"path": name, "sha256": sha256(data), "bytes": len(data)} for fmt, (name, data) in blobs.items()}
        folder = base / round_.key / f"r{revision}"
        staging = folder.with_name(f".staging-r{revision}-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name, data in blobs.values():
            (staging / name).write_bytes(data)
        package = self._datapackage(output, round_, revision, version, files, gdc)
        if reporting is not None:
            package[PACKAGE_KEY] = reporting
        (staging / "datapackage.json").write_text(
            json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        for path in staging.iterdir():
            path.chmod(0o444)
        os.rename(staging, folder)
        rounds = pointer.get("rounds", {})
        rounds[round_.key] = {
            "revision": revision,
            "version": version,
            "path": f"{round_.key}/r{revision}",
            "content_sha256": content,
            "files": files,
            "published_at": package["created"],
            **({REPORTING_KEY: reporting} if reporting is not None else {}),
        }
        self._write_pointer(base, output, rounds, today)
        return Published(output.name, round_.key, "new", revision, folder, files)

    @staticmethod
    def _write_pointer(base: Path, output: Output, rounds: dict[str, Any], today: dt.date | None) -> None:
        """The pointer swap: ``newest`` for the publisher, ``latest`` by the rule as of ``today``."""
        document = {"name": output.name, "title": output.title, "rounds": rounds}
        _write_json(base / "latest.json", document | _latest_keys(document, today))

    @staticmethod
    def _next_revision(round_dir: Path, current: int) -> int:
        """The revision after the pointer's ``current`` one.

        A folder numbered above it was renamed into place by a run killed before it swapped the
        pointer: never published, so nobody can have read it, and it is removed rather than skipped
        (a re-run then numbers its revisions exactly as a clean run would).
        """
        for folder in round_dir.glob("r*"):
            if folder.name[1:].isdigit() and int(folder.name[1:]) > current:
                shutil.rmtree(folder)
        return current + 1

    @staticmethod
    def _datapackage(
        output: Output,
        round_: Round,
        revision: int,
        version: str,
        files: dict[str, dict[str, Any]],
        gdc: dict[str, Any],
    ) -> dict[str, Any]:
        resources = []
        for fmt, info in files.items():
            resource = {
                "name": f"{output.name}-{fmt}",
                "path": info["path"],
                "format": fmt,
                "mediatype": "text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
                "schema": output.schema,
            }
            if fmt == "csv":
                text_fields = [f["name"] for f in output.schema["fields"] if f.get("type", "string") == "string"]
                resource |= {
                    "encoding": "utf-8-sig",
                    "hash": f"sha256:{info['sha256']}",
                    "bytes": info["bytes"],
                    "tambon:formulaGuard": FORMULA_GUARD | {"fields": text_fields},
                }
            else:  # frictionless reads Parquet through pyarrow and cannot count its bytes
                resource |= {"sha256": info["sha256"], "size": info["bytes"]}
            resources.append(resource)
        return {
            "name": output.name,
            "title": output.title["en"],
            "title_th": output.title["th"],
            "description": output.description["en"],
            "description_th": output.description["th"],
            "version": version,
            "round": round_.key,
            "round_be": round_.be_key,
            "revision": revision,
            "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "licenses": [LICENSE],
            "thai_gdc": gdc,
            "resources": resources,
        }

    def write_index(self) -> Path:
        """``catalog.json``: one entry per output with its titles and current version."""
        entries = {}
        for pointer_path in sorted(self.root.glob("*/latest.json")):
            pointer = _read_json(pointer_path)
            entries[pointer["name"]] = {
                "title": pointer["title"],
                **_latest_keys(pointer),  # decided now: a deadline may have passed since the pointer was written
                "rounds": {k: v["version"] for k, v in sorted(pointer["rounds"].items())},
            }
        path = self.root / "catalog.json"
        _write_json(path, {"datasets": entries})
        return path


def _latest_keys(pointer: dict[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """``latest`` (the rule's round), ``newest`` (the newest round) and why, for a pointer or the index."""
    rounds = pointer["rounds"]
    pick = pick_from_pointer(pointer, today)

    def at(key: str) -> dict[str, Any]:
        return {"round": key, **{k: rounds[key][k] for k in ("revision", "version", "path")}}

    return {
        "latest": at(pick.round),
        "newest": at(pick.newest),
        "latest_rule": {
            "judged_on": pick.judged_on.isoformat(),
            "reason": pick.reason,
            "fallback": pick.fallback,
            "still_reporting": [s.round for s in pick.pending],
            "note": pick.note(),
        },
    }
