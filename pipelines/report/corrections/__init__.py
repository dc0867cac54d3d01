"""Correction workbooks: each district office's own rejected rows back, the morning after the round.

A district office (ที่ทำการปกครองอำเภอ) that sent a month's files wants to know, in Thai, which of
its rows were held back and why, fix them and send them back before the deadline: its
completeness, accuracy and timeliness are what the role-model district selection scores
(seed 001, criterion 2). After each round of a collection with quality figures, one XLSX
workbook per district office::

    data/reports/<dataset>/<round>/offices/<amphoe_code>_<English name>.xlsx
    data/reports/<dataset>/<round>/corrections_unattributed.xlsx      (the data team's)

* a summary sheet: the office's completeness, accuracy and on-time figures beside its
  province's and the declared targets, its tambons (each tambon team's figures and sheets),
  the files received, those that could not be read and why, the tambons and villages not
  reported, and the deadline for corrections;
* how the office answered its earlier rounds' workbooks: rows returned, fixed, still open, fixed by
  the deadline and the turnaround (``measured``), so the loop is seen by those it measures;
* a sheet per file with rows to correct: every quarantined row as received, in the form's
  order, faulty cells red, the reasons in Thai and English, an empty note column, and the
  row's identity (file SHA-256, sheet, row) in hidden columns for reading it back
  (:func:`pipelines.report.corrections.returned.read_returned`).

Offices get their own data and nobody else's: a file goes to the office its rows name
(``attribution``); a file no office can be given goes to the data team's workbook, with what
was tried. Every workbook holds personal fields as sent (names, citizen IDs), so it is
written to the reports folder only, never under the catalog (refused if asked to).

The deadline is ``corrections.deadline_days`` of ``dataset.yaml`` (default
:data:`DEFAULT_DEADLINE_DAYS`) after the round's reporting deadline: the same date for every
office and every re-run of the round.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from domain.clock import today
from domain.declarations import DatasetSpec
from domain.geography import Geography
from domain.layout import DATA_TEAM_FILE, OFFICES_FOLDER
from domain.rounds import Round
from domain.work import WorkArea
from pipelines.deadlines import reporting_deadline
from pipelines.report.corrections.measured import earlier_rounds, record_published
from pipelines.report.corrections.round_data import NOBODY, Context, HeldRow, RoundTables, load_round
from pipelines.report.corrections.round_data import held_rows as _held_rows
from pipelines.report.corrections.workbook import write_data_team_workbook, write_office_workbook
from pipelines.worker_processes import start_pool

#: Days after the round's reporting deadline (the 25th) by which corrections are due: offices get their
#: workbook the morning after the deadline, so ten days, the 4th or 5th of the next month, well before the
#: next round's own deadline. An assumption until the data team declares its own in ``dataset.yaml``.
DEFAULT_DEADLINE_DAYS = 10
#: From this much to write (rows, and each workbook's own cost in rows), workbooks are written by several processes.
PARALLEL_ROWS = 20_000
#: What a workbook costs to write even without a row (its summary, styles and zip), in rows: about 35 ms, a
#: national village round's 878 workbooks half a minute for one process
WORKBOOK_ROWS = 50
MAX_WORKERS = 8


@dataclass
class Written:
    """What :func:`write_correction_workbooks` wrote."""

    offices: dict[str, Path] = field(default_factory=dict)  # district code -> workbook
    rows: dict[str, int] = field(default_factory=dict)  # district code -> rows to correct
    data_team: Path | None = None
    rows_unattributed: int = 0
    files_unattributed: int = 0
    deadline: dt.date | None = None
    seconds: float = 0.0

    @property
    def rows_total(self) -> int:
        return sum(self.rows.values()) + self.rows_unattributed


def correction_deadline(spec: DatasetSpec, round_: Round) -> dt.date:
    """The round's reporting deadline + ``corrections.deadline_days`` (declared; default 10)."""
    days = spec.raw.get("corrections", {}).get("deadline_days", DEFAULT_DEADLINE_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(
            f"{spec.name}: corrections.deadline_days ต้องเป็นจำนวนวันเต็มบวก / must be a whole number of days, got {days!r}"
        )
    return reporting_deadline(spec, round_) + dt.timedelta(days=days)


def workbook_name(code: str, name_en: str) -> str:
    """``4701_Mueang_Sakon_Nakhon.xlsx``: the code first (sorted, unique), the English name to recognise it."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", name_en).strip("_")
    return f"{code}_{words}.xlsx" if words else f"{code}.xlsx"


def _names(geography: Geography) -> dict[str, dict[str, tuple[str, str]]]:
    out = {}
    levels = (("province", geography.provinces), ("amphoe", geography.amphoes), ("tambon", geography.tambons))
    for level, table in levels:
        codes = table[f"{level}_code"].astype(str)
        out[level] = dict(zip(codes, zip(table["name_th"], table["name_en"], strict=True), strict=True))
    return out


def _targets(spec: DatasetSpec) -> dict[str, float | None]:
    """Declared targets as percentages; accuracy's is declared as a quarantine ceiling (5% → 95%)."""
    declared = spec.quality_targets
    accuracy = declared.get("accuracy_pct")
    if accuracy is None and "quarantine_pct" in declared:
        accuracy = 100 - float(declared["quarantine_pct"])
    raw = {
        "completeness_pct": declared.get("completeness_pct"),
        "accuracy_pct": accuracy,
        "on_time_pct": declared.get("on_time_pct"),
    }
    return {k: None if v is None else float(v) for k, v in raw.items()}


def _shares(offices: list[str], tables: RoundTables, workers: int | None) -> list[list[str]]:
    """The offices cut into one list per worker, balanced by what there is to write (largest first)."""
    held = tables.files.groupby("amphoe_code")["held"].sum().to_dict()
    work = {office: held.get(office, 0) + WORKBOOK_ROWS for office in offices}
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS) if sum(work.values()) >= PARALLEL_ROWS else 1
    workers = max(1, min(workers, len(offices)))
    shares: list[list[str]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for office in sorted(offices, key=lambda o: (-work[o], o)):
        least = loads.index(min(loads))
        shares[least].append(office)
        loads[least] += work[office]
    return [sorted(share) for share in shares if share]


def _write_share(ctx: Context, work: WorkArea, folder: Path, offices: list[str]) -> dict[str, tuple[Path, int]]:
    """Write the workbooks of ``offices`` (sorted), reading only their rows; one worker's part."""
    out: dict[str, tuple[Path, int]] = {}
    stream = _held_rows(ctx.spec, work, ctx.tables, offices)
    pending = next(stream, None)
    names = ctx.names["amphoe"]
    for office in offices:
        rows: list[HeldRow] = []
        if pending is not None and pending[0] == office:
            rows = pending[1]
            pending = next(stream, None)
        target = folder / workbook_name(office, names.get(office, ("", ""))[1])
        out[office] = (write_office_workbook(target, ctx, office, rows), len(rows))
    if pending is not None:  # every attributed file's district gets a workbook: anything left is a bug
        raise RuntimeError(f"rows attributed to district {pending[0]}, which gets no workbook")
    return out


def write_correction_workbooks(
    spec: DatasetSpec,
    round_: Round,
    work: WorkArea,
    geography: Geography,
    reports_dir: Path,
    *,
    catalog_root: Path | None = None,
    produced: dt.date | None = None,
    workers: int | None = None,
) -> Written:
    """Write every office's workbook and the data team's into ``reports_dir`` (the round's reports folder).

    Needs the work area's ``files``, ``received``, ``quarantine``, ``findings`` and ``quality`` tables.
    Workbooks of offices no longer concerned (a re-run with other files) are removed. ``workers``:
    processes writing workbooks (default: one per CPU, up to :data:`MAX_WORKERS`, once there is :data:`PARALLEL_ROWS`
    rows' worth to write; openpyxl writes about 45,000 cells a second per process).
    """
    if not spec.has_quality_figures:
        raise ValueError(f"{spec.name}: correction workbooks need quality figures (a village-level collection)")
    reports_dir = Path(reports_dir).resolve()
    if catalog_root is not None and reports_dir.is_relative_to(Path(catalog_root).resolve()):
        raise ValueError(
            f"แบบแก้ไขมีข้อมูลส่วนบุคคล ห้ามเขียนในแคตตาล็อก / correction workbooks hold personal data and are never "
            f"written under the catalog: {reports_dir}"
        )
    start = time.perf_counter()
    tables = load_round(spec, work, geography)
    ctx = Context(
        spec=spec,
        round=round_,
        tables=tables,
        names=_names(geography),
        deadline=correction_deadline(spec, round_),
        produced=produced or today(),
        targets=_targets(spec),
        history=earlier_rounds(work.folder.parent, round_),
    )
    folder = reports_dir / OFFICES_FOLDER
    written = Written(deadline=ctx.deadline)
    offices = tables.offices()
    shares = _shares(offices, tables, workers)
    if len(shares) <= 1:  # none: a round with no office to write to (no rows held back)
        results = [_write_share(ctx, work, folder, share) for share in shares]
    else:
        pool, _ = start_pool(len(shares))
        with pool:
            results = list(
                pool.map(_write_share, [ctx] * len(shares), [work] * len(shares), [folder] * len(shares), shares)
            )
    for result in results:
        for office, (path, rows) in result.items():
            written.offices[office] = path
            written.rows[office] = rows
    written.offices = dict(sorted(written.offices.items()))
    written.rows = dict(sorted(written.rows.items()))
    nobody = next((rows for office, rows in _held_rows(spec, work, tables, [NOBODY]) if office == NOBODY), [])
    written.data_team = write_data_team_workbook(reports_dir / DATA_TEAM_FILE, ctx, nobody)
    written.rows_unattributed = len(nobody)
    written.files_unattributed = int(tables.files["amphoe_code"].isna().sum())
    record_published(reports_dir, written.offices, ctx.produced)  # the loop is timed from the first workbook
    keep = {p.name for p in written.offices.values()}
    for old in folder.glob("*.xlsx"):
        if old.name not in keep:
            old.unlink()
    written.seconds = round(time.perf_counter() - start, 2)
    return written
