"""One correction workbook: a summary sheet, a sheet per file with rows to correct, a hidden ``_about``.

Written with openpyxl in write-only mode (rows streamed to the file: a few thousand rows a
second, memory flat), so the layout is decided before each sheet's first row: widths, hidden
columns and frozen panes first, then the rows top to bottom.

A file's sheet::

    1  title: the file's name                       (title rows: above the header, as offices' own files have)
    2  tambon, when it arrived, rows to correct
    3  what to do, and by when
    4  รหัสหมู่บ้าน / Village code | …               (Thai title / English title)
    5  village_code | …                              (the form's field names: the header a machine reads)
    6… the rows as received; a faulty cell red; reasons in Thai, in English; an office note; then
       the hidden identity _file (SHA-256), _sheet, _row

Row 5 is the form's own header, so the pipeline's ingest would read a returned sheet as a file of
the form (row 4's two-language titles match no column name, so it is taken for a title row).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from domain.work import write_atomic
from pipelines.report.corrections import texts as T
from pipelines.report.corrections.cells import (
    HEADER_HEIGHT,
    add_styles,
    display_width,
    fit,
    number,
    set_widths,
    text,
)
from pipelines.report.corrections.round_data import Context, HeldRow
from pipelines.report.corrections.summary import write_data_team_summary, write_summary

#: Column widths are judged on a file's first rows: enough to see its values' usual length.
WIDTH_SAMPLE = 300
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f']")


def sheet_title(number_: int, file_name: str) -> str:
    """``03 ข้อมูลหมู่บ้าน_ต.ตลาด``: numbered (unique), without the characters Excel refuses, ≤ 31 characters."""
    stem = Path(str(file_name).replace("\\", "/")).stem
    return f"{number_:02d} {_SHEET_FORBIDDEN.sub('_', stem)}".strip()[:31]


def _save(workbook: Workbook, target: Path) -> Path:
    """Save under a hidden temporary name, then rename: a reader never sees half a workbook."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(target, workbook.save)


def _new_workbook() -> Workbook:
    workbook = Workbook(write_only=True)
    add_styles(workbook)
    return workbook


# --------------------------------------------------------------------------- a file's sheet


@dataclass(frozen=True)
class FileSheet:
    """One file's rows to correct, and what its title rows say."""

    title: str
    sha256: str
    name: str
    tambon: tuple[str, str, str]  # code, Thai, English
    received_at: str
    rows: Sequence[HeldRow]


def write_file_sheet(workbook: Workbook, ctx: Context, sheet: FileSheet) -> None:
    """The file's quarantined rows exactly as received, faulty cells red, reasons beside, identity hidden."""
    spec = ctx.spec
    ws = workbook.create_sheet(sheet.title)
    fields = spec.fields
    with_sheet = any(r.sheet for r in sheet.rows)
    lead = [T.ROW_COLUMN, *([T.SHEET_COLUMN] if with_sheet else [])]
    trail = [T.REASON_TH_COLUMN, T.REASON_EN_COLUMN, T.NOTE_COLUMN]
    first_field = len(lead) + 1
    identity_at = first_field + len(fields) + len(trail)
    widths = [8.0] + ([fit([r.sheet for r in sheet.rows], 10, 24)] if with_sheet else [])
    for i, field in enumerate(fields):
        least = min(max(display_width(field.get("title_th", "")) // 2 + 2, 8), 18)
        widths.append(fit([r.values[i] for r in sheet.rows[:WIDTH_SAMPLE]], least, 32))
    widths += [60.0, 60.0, 24.0, 12.0, 10.0, 8.0]
    set_widths(ws, widths, hidden=range(identity_at, identity_at + 3))
    ws.freeze_panes = f"{get_column_letter(first_field)}6"
    ws.row_dimensions[4].height = HEADER_HEIGHT  # two lines: Thai, English (set before the row is written)

    code, tambon_th, tambon_en = sheet.tambon
    n = len(sheet.rows)
    received_th, received_en = _split_received(sheet.received_at)
    ws.append([text(ws, f"{T.FILE_TITLE[0]} «{sheet.name}» / {T.FILE_TITLE[1]} «{sheet.name}»", "cw_title")])
    ws.append(
        [
            text(
                ws,
                f"ตำบล{tambon_th} ({code or '–'}) · ได้รับเมื่อ {received_th} · แถวที่ต้องแก้ไข {n:,} แถว / "
                f"Tambon {tambon_en} ({code or '–'}) · received {received_en} · rows to correct: {n:,}",
                "cw_sub",
            )
        ]
    )
    ws.append(
        [
            text(
                ws,
                f"แก้ไขค่าในช่องสีแดงในแถวเดิม แล้วส่งแบบนี้กลับภายใน {T.date_th(ctx.deadline)} / "
                f"Correct the red cells in the same row and send this workbook back by {T.date_en(ctx.deadline)}",
                "cw_bold",
            )
        ]
    )
    titles = [f"{th}\n{en}" for th, en, _ in lead]
    titles += [f"{f.get('title_th', f['name'])}\n{f.get('title', f['name'])}" for f in fields]
    titles += [f"{th}\n{en}" for th, en, _ in trail]
    titles += list(T.IDENTITY)
    ws.append([text(ws, t, "cw_head") for t in titles])
    machine = [name for _, _, name in lead] + [f["name"] for f in fields] + [name for _, _, name in trail]
    ws.append([text(ws, m, "cw_field") for m in [*machine, *T.IDENTITY]])

    names = [f["name"] for f in fields]
    for row in sheet.rows:
        cells = [number(ws, row.row, "cw_row")]
        if with_sheet:
            cells.append(text(ws, row.sheet))
        for name, value in zip(names, row.values, strict=True):
            cells.append(text(ws, value, "cw_fault" if name in row.faulty else "cw_text"))
        cells += [
            text(ws, "\n".join(row.reasons_th), "cw_reason"),
            text(ws, "\n".join(row.reasons_en), "cw_reason"),
            text(ws, None, "cw_note"),
            text(ws, row.file, "cw_id"),
            text(ws, row.sheet, "cw_id"),
            number(ws, row.row, "cw_row"),
        ]
        ws.append(cells)
    last = get_column_letter(identity_at - 1)
    ws.auto_filter.ref = f"A5:{last}{5 + max(n, 1)}"


def _split_received(iso: str) -> tuple[str, str]:
    both = T.received_both(iso)
    if not both:
        return "–", "–"
    th, en = both.split(" (", 1)
    return th, en.rstrip(")")


# --------------------------------------------------------------------------- the hidden sheet, and whole workbooks


def write_about(workbook: Workbook, ctx: Context, office: str, sheets: list[FileSheet]) -> None:
    """What a returned workbook is matched with: format, dataset, round, office, deadline, and its sheets."""
    ws = workbook.create_sheet(T.ABOUT_SHEET)
    ws.sheet_state = "hidden"
    for key, value in (
        ("format", T.FORMAT),
        ("dataset", ctx.spec.name),
        ("round", ctx.round.key),
        ("round_be", ctx.round.be_key),
        ("amphoe_code", office),
        ("produced", ctx.produced.isoformat()),
        ("correction_deadline", ctx.deadline.isoformat()),
    ):
        ws.append([text(ws, key), text(ws, value)])
    ws.append([text(ws, "sheet"), text(ws, "sha256"), text(ws, "file_name")])
    for sheet in sheets:
        ws.append([text(ws, sheet.title), text(ws, sheet.sha256), text(ws, sheet.name)])


def file_sheets(ctx: Context, rows: Sequence[HeldRow]) -> list[FileSheet]:
    """An office's rows (sorted by file) cut into one :class:`FileSheet` per file, in the workbook's sheet order."""
    out: list[FileSheet] = []
    start = 0
    while start < len(rows):
        sha = rows[start].file
        end = start
        while end < len(rows) and rows[end].file == sha:
            end += 1
        record = ctx.tables.file_read(sha)
        tambon = record["tambon_code"]
        th, en = ctx.name("tambon", tambon)
        out.append(
            FileSheet(
                sheet_title(int(record["sheet_no"]), record["name"]),
                sha,
                record["name"],
                (tambon or "", th, en),
                record["received_at"],
                rows[start:end],
            )
        )
        start = end
    return out


def write_office_workbook(target: Path, ctx: Context, office: str, rows: Sequence[HeldRow]) -> Path:
    """The workbook of one district office: summary, one sheet per file with rows to correct, ``_about``."""
    workbook = _new_workbook()
    sheets = file_sheets(ctx, rows)
    write_summary(workbook, ctx, office, {s.sha256: s.title for s in sheets})
    for sheet in sheets:
        write_file_sheet(workbook, ctx, sheet)
    write_about(workbook, ctx, office, sheets)
    return _save(workbook, target)


def write_data_team_workbook(target: Path, ctx: Context, rows: Sequence[HeldRow]) -> Path:
    """Files and rows no office could be given, and the attributions worth a second look (internal)."""
    workbook = _new_workbook()
    sheets = file_sheets(ctx, rows)
    write_data_team_summary(workbook, ctx, {sheet.sha256: sheet.title for sheet in sheets})
    for sheet in sheets:
        write_file_sheet(workbook, ctx, sheet)
    write_about(workbook, ctx, "", sheets)
    return _save(workbook, target)
