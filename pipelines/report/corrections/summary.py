"""The summary sheet: an office's figures beside its province's and the targets, its tambons, files and gaps.

And the data team's summary: the files no office could be given, those given by a guess from
their name or content, and those whose rows name several districts. Both are tables one under
another, each under a heading in Thai and English, written top to bottom (write-only mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pipelines.report.corrections import texts as T
from pipelines.report.corrections.cells import HEADER_HEIGHT, number, set_widths, text
from pipelines.report.corrections.round_data import Context


class _Summary:
    """Appends the summary's lines and tables, counting rows (a header row's height is set before it is written)."""

    WIDTHS = (34.0, 34.0, 22.0, 22.0, 26.0, 26.0, 30.0, 14.0, 14.0, 14.0, 24.0)

    def __init__(self, workbook: Workbook) -> None:
        self.ws: WriteOnlyWorksheet = workbook.create_sheet(T.SUMMARY_SHEET, 0)
        self.written = 0  # rows so far: a row's height must be set before it is written
        set_widths(self.ws, self.WIDTHS)

    def append(self, cells: list[Any]) -> None:
        self.ws.append(cells)
        self.written += 1

    def line(self, value: str, style: str = "cw_text") -> None:
        self.append([text(self.ws, value, style)])

    def pair(self, label: tuple[str, str], value: str, style: str = "cw_text") -> None:
        self.append([text(self.ws, T.both(label), "cw_head"), text(self.ws, value, style)])

    def blank(self) -> None:
        self.append([])

    def section(self, heading: tuple[str, str], header: Sequence[tuple[str, str]]) -> None:
        self.blank()
        self.line(T.both(heading), "cw_section")
        self.ws.row_dimensions[self.written + 1].height = HEADER_HEIGHT
        self.append([text(self.ws, T.both(h, "\n"), "cw_head") for h in header])

    def row(self, values: Sequence[Any]) -> None:
        self.append([v if not isinstance(v, str | type(None)) else text(self.ws, v) for v in values])

    def none(self) -> None:
        self.line(T.both(T.NONE))


def _pct(ws: WriteOnlyWorksheet, value: Any, target: float | None) -> Any:
    below = target is not None and value is not None and not pd.isna(value) and float(value) < target
    return number(ws, value, "cw_pct_below" if below else "cw_pct")


def _against(value: Any, target: float | None) -> str:
    if target is None:
        return T.both(T.NO_TARGET)
    if value is None or pd.isna(value):
        return T.both(T.NO_DATA)
    return T.both(T.MET if float(value) >= target else T.BELOW)


def write_summary(workbook: Workbook, ctx: Context, office: str, sheets: dict[str, str]) -> None:
    """The office's figures beside its province's and the targets, its tambons, files and gaps.

    ``sheets``: SHA-256 -> the sheet holding that file's rows.
    """
    s = _Summary(workbook)
    ws = s.ws
    tables = ctx.tables
    amphoe_th, amphoe_en = ctx.name("amphoe", office)
    province = office[:2]
    province_th, province_en = ctx.name("province", province)
    office_th = f"ที่ทำการปกครองอำเภอ{amphoe_th} จังหวัด{province_th}"
    office_en = f"the {amphoe_en} District Office, {province_en}"
    s.line(T.both(T.TITLE), "cw_title")
    s.pair(T.DATASET, f"{ctx.spec.title['th']} / {ctx.spec.title['en']}")
    s.pair(T.ROUND, f"{ctx.round.label_th} ({ctx.round.be_key}) / {ctx.round.label_en} ({ctx.round.key})")
    s.pair(T.OFFICE, f"{office_th} ({office}) / {amphoe_en}, {province_en}")
    passed = ctx.produced > ctx.deadline
    s.pair(
        T.DEADLINE,
        T.date_both(ctx.deadline) + (f" {T.DEADLINE_PASSED[0]} / {T.DEADLINE_PASSED[1]}" if passed else ""),
        "cw_strong",
    )
    s.pair(T.PRODUCED, T.date_both(ctx.produced))
    deadline = {"deadline_th": T.date_th(ctx.deadline), "deadline_en": T.date_en(ctx.deadline)}
    s.line(T.HOW_TO[0].format(**deadline), "cw_bold")
    s.line(T.HOW_TO[1].format(**deadline), "cw_bold")
    s.line(T.VALUES_AS_READ[0])
    s.line(T.VALUES_AS_READ[1])
    s.line(T.PRIVACY[0].format(office=office_th), "cw_sub")
    s.line(T.PRIVACY[1].format(office_en=office_en), "cw_sub")

    mine = tables.figures("amphoe", office) or {}
    theirs = tables.figures("province", province) or {}
    s.section(T.SECTION_FIGURES, T.FIGURE_HEADER)
    for column, label in T.FIGURES.items():
        target = ctx.targets.get(column)
        s.row(
            [
                T.both(label),
                _pct(ws, mine.get(column), target),
                _pct(ws, theirs.get(column), None),
                number(ws, target, "cw_pct") if target is not None else T.both(T.NO_TARGET),
                _against(mine.get(column), target),
            ]
        )
    for column, label in T.COUNTS.items():
        s.row([T.both(label), number(ws, mine.get(column)), number(ws, theirs.get(column))])

    _earlier(s, ctx, office)

    files, tambon_rows = tables.files_of(office), tables.tambons_of(office)
    s.section(T.SECTION_TAMBONS, T.TAMBON_HEADER)
    for area in tambon_rows:
        mine_files = [f for f in files if f["tambon_code"] == area["area_code"]]
        reported = area["rows_received"] > 0
        s.row(
            [
                area["area_code"],
                area["area_name_th"],
                area["area_name_en"],
                number(ws, area["villages_expected"]),
                number(ws, area["villages_reported"]),
                number(ws, area["villages_accepted"]),
                _pct(ws, area["completeness_pct"], ctx.targets.get("completeness_pct")),
                _pct(ws, area["accuracy_pct"], ctx.targets.get("accuracy_pct")),
                T.both(T.YES if reported and area["tambons_on_time"] > 0 else T.NO),
                number(ws, sum(f["held"] for f in mine_files)),
                ", ".join(sheets[f["sha256"]] for f in mine_files if f["sha256"] in sheets),
            ]
        )
    unknown = [f for f in files if f["tambon_code"] is None]
    if unknown:
        held = number(ws, sum(f["held"] for f in unknown))
        listed = ", ".join(sheets[f["sha256"]] for f in unknown if f["sha256"] in sheets)
        s.row(["", T.both(T.TAMBON_UNKNOWN), "", None, None, None, None, None, None, held, listed])

    s.section(T.SECTION_FILES, T.FILE_HEADER)
    if not files:
        s.none()
    for record in files:
        tambon = ctx.name("tambon", record["tambon_code"])
        shown = sheets.get(record["sha256"], "") if record["status"] == "ok" else ""
        s.row(
            [
                shown,
                record["name"],
                f"{tambon[0]} ({_code(record['tambon_code'])})",
                T.received_both(record["received_at"]),
                T.both(T.STATUS.get(record["status"], (record["status"], record["status"]))),
                number(ws, record["rows_received"]),
                number(ws, record["held"]),
            ]
        )

    unreadable = [f for f in files if f["status"] == "rejected"]
    s.section(T.SECTION_UNREADABLE, T.UNREADABLE_HEADER)
    if not unreadable:
        s.none()
    for record in unreadable:
        s.row(
            [
                record["name"],
                T.received_both(record["received_at"]),
                record["problem_code"],
                record["message_th"],
                record["message_en"],
                f"{record['evidence_th']} / {record['evidence_en']}",
            ]
        )

    silent = [area for area in tambon_rows if area["rows_received"] == 0]
    s.section(T.SECTION_TAMBONS_MISSING, T.TAMBON_MISSING_HEADER)
    if not silent:
        s.none()
    for area in silent:
        s.row([area["area_code"], area["area_name_th"], area["area_name_en"], number(ws, area["villages_expected"])])

    villages = tables.villages_missing_of(office)
    silent_codes = {area["area_code"] for area in silent}
    s.section(T.SECTION_VILLAGES_MISSING, T.VILLAGE_MISSING_HEADER)
    if not villages:
        s.none()
    for village in villages:
        s.row(
            [
                village["village_code"],
                village["village_name"],
                village["tambon_code"],
                ctx.name("tambon", village["tambon_code"])[0],
                T.both(T.YES if village["tambon_code"] in silent_codes else T.NO),
            ]
        )


def _earlier(s: _Summary, ctx: Context, office: str) -> None:
    """How the office answered the workbooks of earlier rounds (``measured.earlier_rounds``), newest first."""
    from domain.rounds import parse_round
    from pipelines.report.corrections.measured import COUNTS

    mine = ctx.earlier_of(office)
    s.section(T.SECTION_EARLIER, T.EARLIER_HEADER)
    if not mine:
        s.none()
        return
    for record in mine:
        earlier = parse_round(record["round"])
        s.row(
            [
                f"{earlier.label_th} ({earlier.be_key}) / {earlier.label_en}",
                *(number(s.ws, record[c]) for c in COUNTS),
                number(s.ws, record["corrections_on_time_pct"], "cw_pct"),
                number(s.ws, record["correction_turnaround_days_median"], "cw_pct"),
                number(s.ws, record["correction_turnaround_days_max"]),
            ]
        )
    s.line(T.both(T.EARLIER_NOTE), "cw_sub")


def _code(value: object) -> str:
    return "–" if value is None or pd.isna(value) else str(value)


def write_data_team_summary(workbook: Workbook, ctx: Context, sheets: dict[str, str]) -> None:
    """The data team's summary sheet (``sheets``: SHA-256 -> the sheet holding that file's rows)."""
    s = _Summary(workbook)
    ws = s.ws
    s.line(T.both(T.UNATTRIBUTED_TITLE), "cw_title")
    s.pair(T.DATASET, f"{ctx.spec.title['th']} / {ctx.spec.title['en']}")
    s.pair(T.ROUND, f"{ctx.round.label_th} ({ctx.round.be_key}) / {ctx.round.label_en} ({ctx.round.key})")
    s.pair(T.PRODUCED, T.date_both(ctx.produced))
    files = ctx.tables.files
    by_sheet = sheets

    nobody = files[files["amphoe_code"].isna()]
    s.section(T.UNATTRIBUTED_FILES, (*T.DATA_TEAM_FILE_HEADER, ("แผ่นงาน", "Sheet")))
    if not len(nobody):
        s.none()
    for record in nobody.to_dict("records"):
        s.row(
            [
                record["name"],
                record["sha256"],
                T.both(T.STATUS.get(record["status"], (record["status"], record["status"]))),
                record["problem_code"],
                record["message_th"],
                record["message_en"],
                number(ws, record["held"]),
                record["evidence_th"],
                record["evidence_en"],
                by_sheet.get(record["sha256"], "") if record["status"] == "ok" else "",
            ]
        )

    guessed = files[files["attributed_by"].isin(["name", "content"])]
    s.section(T.GUESSED_FILES, (T.DATA_TEAM_FILE_HEADER[0], ("อำเภอ", "District"), ("หลักฐาน", "Evidence")))
    if not len(guessed):
        s.none()
    for record in guessed.to_dict("records"):
        th, en = ctx.name("amphoe", record["amphoe_code"])
        s.row([record["name"], f"{th} / {en} ({record['amphoe_code']})",
               f"{record['evidence_th']} / {record['evidence_en']}"])  # fmt: skip

    mixed = ctx.tables.by_rows[ctx.tables.by_rows["amphoe_rows"].map(len) > 1]
    s.section(T.MIXED_FILES, T.MIXED_HEADER)
    if not len(mixed):
        s.none()
    names = dict(zip(files["sha256"], files["name"], strict=False))
    for record in mixed.to_dict("records"):
        s.row(
            [
                names.get(record["_file"], record["_file"]),
                record["amphoe_code"] or "–",
                ", ".join(f"{code} ({n:,})" for code, n in sorted(record["amphoe_rows"].items())),
            ]
        )
