"""A district office's correction, read into the round: which kind of file it is, and its rows.

Every file in an office's corrections folder (:mod:`pipelines.ingest.corrections`) is one of:

* a **returned correction workbook**, recognised by its hidden ``_about`` sheet (never by its
  name): read back with :func:`pipelines.report.corrections.returned.read_returned`. It must be
  for this dataset and round and for the office whose folder it landed in, and every file sheet
  its ``_about`` lists must still have its identity columns; otherwise the whole workbook is
  refused with a reason (the raw file archived like every file), rather than half applied;
* a workbook that carries the identity columns but no ``_about`` (re-typed, or copied into a new
  file): refused the same way, since what it is for cannot be told;
* anything else: a **fixed file** in the office's normal form, read like any received file.

A returned workbook's rows enter the round as rows of their own file (lineage: the workbook's
SHA-256, its sheet, the row as Excel shows it there), each remembering the quarantined row it
corrects (``corrects_file``, ``corrects_sheet``, ``corrects_row``). A row sent back unchanged is
not a correction: it is counted on the file (``rows_unchanged``), and its original stays open in
the quarantine. Whether a row names a village of the office, and which row wins a village, is
decided by validation (``validation.run``, ``validation.duplicates``) like every other check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from domain.declarations import DatasetSpec
from domain.limits import Limits
from domain.rounds import Round
from pipelines.ingest.corrections import office_of, read_origin
from pipelines.ingest.decode import container
from pipelines.ingest.landing import LandedFile
from pipelines.ingest.problems import FileProblem

if TYPE_CHECKING:  # imported where a returned workbook is read (prepare)
    from pipelines.report.corrections.returned import Returned

#: What a returned row carries of the row it corrects (columns of the work area's ``corrections`` table).
CORRECTS = ["corrects_file", "corrects_sheet", "corrects_row"]
#: The column a returned workbook's identity has, which no form of the programme has.
IDENTITY_MARK = "_file"


@dataclass
class Pending:
    """A landed correction before the round's rows are read: its office, origin, and what it turned out to be."""

    landed: LandedFile
    office: str  # "" for a file under corrections/ but in no office's folder
    origin: dict[str, Any] = field(default_factory=dict)
    returned: Returned | None = None  # a returned correction workbook, read
    problem: FileProblem | None = None  # refused as a whole

    @property
    def landed_at(self) -> str:
        """When it landed: the sidecar's ``landed_at``, else the file's own time."""
        return str(self.origin.get("landed_at") or self.landed.received_at)


def identity_key(file: object, sheet: object, row: object) -> str:
    """One text per row identity (file SHA-256, sheet, row), to look rows up by."""
    return f"{file}\x1f{sheet or ''}\x1f{int(row)}"  # type: ignore[call-overload]


def prepare(landed: LandedFile, spec: DatasetSpec, round_: Round | None, limits: Limits) -> Pending:
    """Tell what a landed correction is (see the module's list), reading a returned workbook whole."""
    office = office_of(landed.relative_name) or ""
    pending = Pending(landed, office, read_origin(landed.path))
    if not office:
        pending.problem = FileProblem("correction_no_office", landed.relative_name)
        return pending
    if landed.unread or container(landed.data) != "zip":
        return pending  # unreadable (the ingest says why), or a CSV or a legacy workbook: a fixed file
    # here, not at the top: the reader's package (openpyxl, frictionless, the quality page) took a third of
    # each parse worker's start, and the workers never read a correction
    from pipelines.report.corrections.returned import read_returned

    try:
        returned = read_returned(landed.data, spec)
    except FileProblem as problem:
        pending.problem = problem
        return pending
    except ValueError as exc:  # an identity cell typed over (a row number that is not one)
        pending.problem = FileProblem("correction_retyped", type(exc).__name__)
        return pending
    except Exception as exc:  # any reader's failure is this file's, never the round's
        pending.problem = FileProblem("unreadable_file", type(exc).__name__)
        return pending
    if not returned.about:
        if len(returned.rows):  # identity columns without the _about sheet: a re-typed workbook
            pending.problem = FileProblem("correction_retyped", "_about")
        return pending  # no identity at all: a fixed file in the office's own form
    pending.problem = _check_about(returned, spec, round_, office)
    if pending.problem is None:
        pending.returned = returned
    return pending


def _check_about(returned: Returned, spec: DatasetSpec, round_: Round | None, office: str) -> FileProblem | None:
    about = returned.about
    if about.get("dataset") != spec.name or (round_ is not None and about.get("round") != round_.key):
        return FileProblem("correction_other_round", f"{about.get('dataset', '?')} {about.get('round', '?')}")
    if about.get("amphoe_code") != office:
        return FileProblem("correction_wrong_office", f"{about.get('amphoe_code', '?')} ≠ {office}")
    lost = [title for title in returned.sheets if title in returned.sheets_without_header]
    if lost or (returned.sheets and returned.rows.empty and returned.sheets_without_header):
        return FileProblem("correction_retyped", ", ".join(lost) or "_file, _sheet, _row")
    return None


def returned_table(pending: Pending, spec: DatasetSpec) -> pa.Table:
    """The workbook's rows as received rows (every form field as text) + lineage + what each corrects."""
    assert pending.returned is not None
    rows = pending.returned.rows
    names = spec.field_names
    columns: dict[str, pa.Array] = {
        name: pa.array([None if pd.isna(v) else str(v) for v in rows[name]], pa.string()) for name in names
    }
    n = len(rows)
    columns["_file"] = pa.array([pending.landed.sha256] * n, pa.string())
    columns["_sheet"] = pa.array([str(s) for s in rows["sheet"]], pa.string())
    columns["_row"] = pa.array([int(r) for r in rows["row"]], pa.int64())
    identified = [bool(f) for f in rows["_file"]]
    columns["corrects_file"] = pa.array([f if i else None for f, i in zip(rows["_file"], identified, strict=True)])
    columns["corrects_sheet"] = pa.array(
        [str(s) if i else None for s, i in zip(rows["_sheet"], identified, strict=True)], pa.string()
    )
    columns["corrects_row"] = pa.array(
        [int(r) if i else None for r, i in zip(rows["_row"], identified, strict=True)], pa.int64()
    )
    return pa.table(columns)


def unchanged(table: pa.Table, normalised: pa.Table, originals: dict[str, tuple[Any, ...]]) -> pa.Array:
    """Per returned row: True when it is the row it corrects, value for value (both normalised alike)."""
    values = normalised.to_pylist()
    out = []
    for i, (file, sheet, row) in enumerate(
        zip(
            table.column("corrects_file").to_pylist(),
            table.column("corrects_sheet").to_pylist(),
            table.column("corrects_row").to_pylist(),
            strict=True,
        )
    ):
        original = originals.get(identity_key(file, sheet, row)) if file else None
        out.append(original is not None and tuple(values[i].values()) == original)
    return pa.array(out, pa.bool_())


def wanted_identities(pending: list[Pending]) -> dict[str, set[str]]:
    """Per original file (SHA-256): the identities of the rows the returned workbooks correct."""
    out: dict[str, set[str]] = {}
    for item in pending:
        if item.returned is None:
            continue
        rows = item.returned.rows
        for file, sheet, row in zip(rows["_file"], rows["_sheet"], rows["_row"], strict=True):
            if file:
                out.setdefault(str(file), set()).add(identity_key(file, sheet, row))
    return out


def capture(batch: pa.Table, normalised: pa.Table, wanted: dict[str, set[str]]) -> dict[str, tuple[Any, ...]]:
    """The normalised values of the rows of ``batch`` that a returned workbook corrects, by identity."""
    if not wanted:
        return {}
    mask = pc.is_in(batch.column("_file"), value_set=pa.array(list(wanted), pa.string()))
    if not pc.any(mask).as_py():
        return {}
    lineage = batch.select(["_file", "_sheet", "_row"]).filter(mask).to_pylist()
    values = normalised.filter(mask).to_pylist()
    out = {}
    for where, row in zip(lineage, values, strict=True):
        key = identity_key(where["_file"], where["_sheet"], where["_row"])
        if key in wanted[where["_file"]]:
            out[key] = tuple(row.values())
    return out


def landed_order(pending: list[Pending]) -> list[Pending]:
    """Corrections in the order they landed (then by name): the later supersedes the earlier."""

    def moment(item: Pending) -> tuple[dt.datetime, str]:
        try:
            when = dt.datetime.fromisoformat(item.landed_at)
        except ValueError:
            when = dt.datetime.min
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when, item.landed.relative_name

    return sorted(pending, key=moment)
