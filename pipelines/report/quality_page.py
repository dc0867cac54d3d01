"""The quality report of a round as one static HTML page, Thai and English, charts inline.

For the data team and the provinces, who would rather look than read the run
report's JSON: headline figures, completeness and accuracy by province against
the declared targets, the tambons that have not reported, why rows were
quarantined, which files could not be read, and the trend over the rounds so far.

The page is a single self-contained file (inline CSS, inline SVG, no script, no
web font, nothing fetched) so it opens offline, can be mailed or published next
to the packages, and prints. Every value from the data goes through
:func:`html.escape` (file and area names come from outside).

    html = render_quality_page(spec, round_, layout.root / "work" / spec.name)

The data team's internal tables of the round (``quarantine.csv``: each quarantined
row's field, value as received and reason; ``tambons_not_reported.csv``: the full
list of silent tambons) sit beside the page in the reports folder. The page links
to them by file name only (``internal_files``) and never copies a value out of
them: the quarantine table holds personal fields as sent, and this page is also
published next to the quality packages.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd

from catalog.outputs import common_fields
from domain.declarations import DatasetSpec
from domain.rounds import THAI_MONTHS_ABBR, Round, parse_round
from domain.work import WorkArea, records_by, table_exists, write_atomic
from pipelines.deadlines import NOT_REPORTED_FILE, provinces_that_sent_data
from pipelines.report import svg
from pipelines.report.corrections.measured import LOOP_TABLE
from pipelines.report.internal_tables import QUARANTINE_FILE
from validation.codes import catalogue, message

PAGE_NAME = "quality_report.html"

#: Short chart labels for the row reason codes of ``validation/messages.yaml`` (whose
#: messages carry placeholders and are too long for a bar label).
REASON_LABELS: dict[str, tuple[str, str]] = {
    "correction_outside_area": ("แก้ไขหมู่บ้านนอกเขตอำเภอ", "Correction outside the office's district"),
    "missing_value": ("ไม่ได้กรอกช่องที่ต้องกรอก", "Required value missing"),
    "wrong_type": ("ชนิดข้อมูลไม่ถูกต้อง", "Not a valid value of its type"),
    "not_in_list": ("ค่าไม่อยู่ในรายการที่กำหนด", "Not an allowed value"),
    "below_minimum": ("ต่ำกว่าค่าต่ำสุด", "Below the minimum"),
    "above_maximum": ("สูงกว่าค่าสูงสุด", "Above the maximum"),
    "pattern_mismatch": ("ไม่ตรงตามรูปแบบ", "Does not match the pattern"),
    "schema_error": ("ไม่ผ่านการตรวจโครงสร้าง", "Failed a schema check"),
    "unknown_code": ("รหัสไม่อยู่ในทะเบียนหมู่บ้าน", "Code not in the village registry"),
    "code_suffix_mismatch": ("หมู่ที่ไม่ตรงกับรหัส", "Village no. does not match the code"),
    "sum_mismatch": ("ผลรวมไม่ตรง", "Total is not the sum of its parts"),
    "date_outside_round": ("วันที่อยู่นอกเดือนของรอบ", "Date outside the round's month"),
    "coordinates_zero": ("พิกัดเป็น (0, 0)", "Coordinates are (0, 0)"),
    "coordinates_swapped": ("ละติจูด/ลองจิจูดสลับกัน", "Latitude and longitude swapped"),
    "coordinates_outside_thailand": ("พิกัดอยู่นอกประเทศไทย", "Coordinates outside Thailand"),
    "coordinates_far_from_tambon": ("พิกัดไกลจากตำบลเกินจริง", "Too far from the tambon"),
    "duplicate_row": ("ส่งซ้ำในรอบ", "Sent twice in the round"),
    "too_short": ("สั้นกว่าที่กำหนด", "Shorter than allowed"),
    "too_long": ("ยาวกว่าที่กำหนด", "Longer than allowed"),
    "invalid_checksum": ("เลขประจำตัวประชาชนไม่ถูกต้อง", "Citizen ID check digit wrong"),
    "not_unique": ("ค่าซ้ำกับแถวอื่น", "Value not unique"),
    "duplicate_key": ("รหัสซ้ำกับแถวอื่น", "Key repeated"),
    "blank_row": ("แถวว่าง", "Blank row"),
    "unknown_tambon_code": ("รหัสไม่อยู่ในทะเบียนตำบล", "Code not in the tambon registry"),
    "unknown_amphoe_code": ("รหัสไม่อยู่ในทะเบียนอำเภอ", "Code not in the district registry"),
    "unknown_province_code": ("รหัสไม่อยู่ในทะเบียนจังหวัด", "Code not in the province registry"),
    "prefix_mismatch": ("รหัสไม่ขึ้นต้นด้วยรหัสหมู่บ้าน", "Code does not start with its parent's"),
    "sum_exceeds": ("ส่วนย่อยมากกว่ายอดรวม", "Parts exceed their total"),
    "value_too_long": ("ข้อความยาวเกินที่รับได้", "Text longer than accepted"),
}

#: The page's only style sheet (inline: nothing is fetched). Thai fonts first, then what each OS has.
PAGE_CSS = """
:root { --ink: #1d2733; --muted: #5b6673; --line: #d5dbe1; --bg: #f5f7f9; --ok: #1f7a4d; --below: #c2561a;
  --s1: #1f5fa8; --s2: #2e8b57; --target: #b3261e; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5; font-size: 15px;
  font-family: "Sarabun", "Noto Sans Thai", "Noto Sans Thai UI", "Leelawadee UI", "Thonburi", "Tahoma",
  "Loma", "Garuda", sans-serif; }
header { background: #13315c; color: #fff; padding: 20px 32px 12px; }
header h1 { margin: 0 0 4px; font-size: 26px; line-height: 1.3; }
header .en, header .meta { color: #c9d6e8; }
header .kicker { margin: 0; text-transform: uppercase; letter-spacing: .04em; font-size: 13px; }
header .round { margin: 0; font-size: 17px; }
header .meta { margin: 2px 0 8px; font-size: 13px; }
header code { color: #fff; }
nav { display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 14px; }
nav a { color: #fff; }
main { padding: 8px 32px 32px; max-width: 1400px; }
h2 { font-size: 21px; margin: 28px 0 6px; padding-bottom: 4px; border-bottom: 2px solid #13315c; }
h3 { font-size: 17px; margin: 18px 0 6px; }
.en { color: var(--muted); font-weight: normal; }
h2 .en, h3 .en { font-size: .85em; }
.code { font-family: "Tlwg Mono", Menlo, Consolas, monospace; font-size: .9em; color: var(--muted); }
.count { margin-left: 10px; font-size: .85em; font-weight: normal; color: var(--below); }
h2 .count { background: var(--below); color: #fff; border-radius: 10px; padding: 0 9px; }
.note { color: var(--muted); font-size: 13px; margin: 4px 0 8px; }
.empty { padding: 8px 12px; background: var(--bg); border-left: 4px solid var(--muted); }
.empty.ok { border-color: var(--ok); }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin-top: 16px; }
.figure { border: 1px solid var(--line); border-top: 5px solid var(--s1); border-radius: 6px; padding: 8px 12px;
  background: var(--bg); break-inside: avoid; }
.figure.ok { border-top-color: var(--ok); }
.figure.below { border-top-color: var(--below); }
.figure.warn { border-top-color: #d4a017; }
.figure-label { font-size: 14px; line-height: 1.3; }
.figure-label .en { display: block; font-size: 12px; }
.figure-value { font-size: 28px; font-weight: bold; line-height: 1.3; font-variant-numeric: tabular-nums; }
.figure.below .figure-value { color: var(--below); }
.figure-note { font-size: 12px; color: var(--muted); }
.chart-row { display: flex; flex-wrap: wrap; gap: 16px 28px; align-items: flex-start; }
.chart-box { margin: 0; break-inside: avoid; }
.chart-box figcaption { font-weight: bold; margin-bottom: 2px; }
svg.chart { max-width: 100%; height: auto; font-family: inherit; overflow: visible; }
svg .label { font-size: 12px; fill: var(--ink); }
svg .sublabel, svg .tick, svg .legend { font-size: 10.5px; fill: var(--muted); }
svg .legend { font-size: 12px; fill: var(--ink); }
svg .value { font-size: 11.5px; fill: var(--ink); font-variant-numeric: tabular-nums; }
svg .value.inside { fill: #fff; font-weight: bold; }
svg .grid { stroke: #e6eaee; stroke-width: 1; }
svg .bar { fill: var(--s1); }
svg .bar.ok { fill: var(--ok); }
svg .bar.below { fill: var(--below); }
svg .target { stroke: var(--target); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg .target-label { font-size: 11px; fill: var(--target); }
svg .line { fill: none; stroke-width: 2.5; stroke-linejoin: round; }
svg .line.s1, svg .swatch.s1 { stroke: var(--s1); } svg .point.s1 { fill: var(--s1); }
svg .line.s2, svg .swatch.s2 { stroke: var(--s2); } svg .point.s2 { fill: var(--s2); }
svg .swatch { stroke-width: 3; }
svg.compact .line { stroke-width: 2; }
b.s1 { color: var(--s1); } b.s2 { color: var(--s2); }
table { border-collapse: collapse; font-size: 14px; margin: 4px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { background: var(--bg); font-size: 13px; line-height: 1.3; }
thead th .en { display: block; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.group th { background: #eef2f6; font-size: 14px; }
tr.group.province th { background: #dfe6ee; font-size: 15px; }
tr.group .count, .province-block h3 .count { float: right; }
table.files td.name { font-size: 13px; word-break: break-all; }
table.files tr.duplicate td { color: var(--muted); }
table.files td { max-width: 420px; }
.tambon-grid { columns: 390px; column-gap: 22px; }
.province-block { break-inside: avoid; display: inline-block; width: 100%; margin-bottom: 6px; }
.province-block h3 { margin: 8px 0 2px; font-size: 16px; }
table.tambons { width: 100%; font-size: 13.5px; margin: 0 0 6px; }
table.tambons th, table.tambons td { padding: 2px 6px; }
table.tambons thead th .en { display: inline; }
table.tambons tr.group th { font-size: 13.5px; }
ul.chips { list-style: none; padding: 0; margin: 6px 0; display: grid; gap: 4px 10px;
  grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); font-size: 14px; }
ul.chips li { background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 2px 8px; }
ul.chips .en { font-size: 12px; }
ul.chips .count { float: right; color: var(--muted); }
details summary { cursor: pointer; color: var(--s1); margin: 6px 0; }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 10px; }
.multiple { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; break-inside: avoid; }
.multiple figcaption { font-size: 14px; font-weight: bold; line-height: 1.3; }
.multiple figcaption .en { font-size: 12px; }
.multiple .latest { display: block; font-size: 12px; font-weight: normal; }
dl dt { font-weight: bold; margin-top: 8px; } dl dd { margin: 0 0 0 16px; }
dl dd .en { display: block; font-size: 13px; }
@media print {
  body { font-size: 11pt; }
  header { background: none; color: #000; padding: 0 0 6px; border-bottom: 2px solid #000; }
  header .en, header .meta, header code { color: #444; }
  nav { display: none; }
  main { padding: 0; max-width: none; }
  h2, h3, .note, figcaption { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


@dataclass(frozen=True)
class RoundTables:
    """What the page reads from one round's work area."""

    round: Round
    quality: pd.DataFrame
    reasons: pd.DataFrame
    files: pd.DataFrame
    #: the correction loop (``corrections.measured.correction_loop``): offices, provinces, nation
    corrections: pd.DataFrame | None = None

    def level(self, level: str) -> pd.DataFrame:
        """The figures of one level (tambon, amphoe, province, nation): every section reads one level."""
        return self.quality[self.quality["level"] == level]

    @property
    def nation(self) -> pd.Series:
        """The one nation row: the headline figures, the same the run report and the CLI print."""
        return self.level("nation").iloc[0]

    def areas(self, level: str) -> dict[str, dict]:
        """area code -> its row of figures, for lookups while writing tables (rows as plain dicts: fast)."""
        return {row["area_code"]: row for row in self.level(level).to_dict("records")}

    @property
    def not_reported(self) -> pd.DataFrame:
        """Tambons with no row received, as ``pipelines.deadlines.not_reported`` counts them."""
        tambons = self.level("tambon")
        return tambons[tambons["rows_received"] == 0].sort_values("area_code")


@dataclass(frozen=True)
class Targets:
    """The declared quality targets as percentages (None when the dataset declares none)."""

    completeness: float | None
    accuracy: float | None

    @classmethod
    def of(cls, dataset: DatasetSpec) -> Targets:
        """Accuracy's target is declared as a quarantine ceiling: 5% quarantined means 95% accurate."""
        t = dataset.quality_targets
        accuracy = t.get("accuracy_pct", 100 - float(t["quarantine_pct"]) if "quarantine_pct" in t else None)
        completeness = t.get("completeness_pct")
        return cls(None if completeness is None else float(completeness), None if accuracy is None else float(accuracy))


# --------------------------------------------------------------------------- reading


def read_round(work_root: Path, round_: Round) -> RoundTables:
    """The quality tables of one round; the quality stage must have run (a clear error otherwise)."""
    folder = Path(work_root) / round_.key
    if not (folder / "quality.parquet").is_file():
        raise FileNotFoundError(
            f"ยังไม่มีตัวเลขคุณภาพของรอบ {round_} / no quality figures for round {round_} in {folder}: "
            "run the quality stage first"
        )
    work = WorkArea(folder, partitioned=True)  # the round's files: every province part's
    reasons_path = folder / "quality_reasons.parquet"
    loop_path = folder / f"{LOOP_TABLE}.parquet"
    return RoundTables(
        round_,
        pd.read_parquet(folder / "quality.parquet"),
        pd.read_parquet(reasons_path) if reasons_path.is_file() else pd.DataFrame(columns=["level", "reason"]),
        work.read("files") if table_exists(work.path("files")) else pd.DataFrame(columns=["name", "status"]),
        pd.read_parquet(loop_path) if loop_path.is_file() else None,
    )


def rounds_in_work_area(work_root: Path, upto: Round) -> list[Round]:
    """Every round up to ``upto`` whose work area has quality figures, oldest first (the trend's x axis)."""
    found = set()
    for folder in Path(work_root).iterdir() if Path(work_root).is_dir() else []:
        try:
            round_ = parse_round(folder.name)
        except ValueError:
            continue
        # work areas are named by the Gregorian key only (domain.layout); skip anything else
        if folder.name == round_.key and round_ <= upto and (folder / "quality.parquet").is_file():
            found.add(round_)
    return sorted(found | {upto})


def read_trend(work_root: Path, rounds: Iterable[Round]) -> pd.DataFrame:
    """Nation and province figures of every round, in one frame (only the columns the trend needs)."""
    columns = ["level", "area_code", "area_name_th", "area_name_en", "completeness_pct", "accuracy_pct"]
    frames = []
    for round_ in rounds:
        frame = pd.read_parquet(Path(work_root) / round_.key / "quality.parquet", columns=[*columns, "rows_received"])
        frame = frame[frame["level"].isin(["nation", "province"])]
        frames.append(frame.assign(round=round_.key))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- formatting


def esc(value: object) -> str:
    """Any value as escaped text (None and NaN as a dash)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return escape(str(value))


def num(value: object) -> str:
    """An integer count with thousands separators."""
    return svg.fmt_number(None if value is None else float(value), 0)


def pct(value: object) -> str:
    """A percentage as stored (two decimals) with a % sign; a dash for no data."""
    if value is None or pd.isna(value):
        return "–"
    return f"{svg.fmt_number(float(value))}%"


def short_round(round_: Round) -> str:
    """``ต.ค. 63``: short enough for a chart axis."""
    return f"{THAI_MONTHS_ABBR[round_.month - 1]} {str(round_.year + 543)[-2:]}"


def bilingual(th: str, en: str, tag: str = "span") -> str:
    """Thai text with its English counterpart beside it, both escaped."""
    return f'<{tag} class="th">{esc(th)}</{tag}> <{tag} class="en" lang="en">{esc(en)}</{tag}>'


def reason_label(code: str) -> tuple[str, str]:
    """A short Thai/English title for a reason code; unknown codes fall back to their message or the code."""
    if code in REASON_LABELS:
        return REASON_LABELS[code]
    if code in catalogue().get("rows", {}):
        th, en = message("rows", code)
        return th.strip(), en.strip()
    return code, code


# --------------------------------------------------------------------------- sections


def _figure(key: str, th: str, en: str, value: str, note: str = "", css: str = "") -> str:
    """One headline card; ``data-key`` names the quality column it shows; `` · `` in a note starts a new line."""
    lines = "<br>".join(esc(line) for line in note.split(" · ") if line)
    return (
        f'<div class="figure {escape(css)}" data-key="{escape(key)}"><div class="figure-label">{bilingual(th, en)}'
        f'</div><div class="figure-value">{esc(value)}</div><div class="figure-note">{lines}</div></div>'
    )


def _status(value: object, target: float | None) -> str:
    """``ok`` or ``below`` against a target, for colour (the number itself is always printed)."""
    if target is None or value is None or pd.isna(value):
        return ""
    return "ok" if float(value) >= target else "below"


def _share(part: object, whole: int) -> str:
    """``12.3% of received``: the note under a row count."""
    return f"{int(part) / whole:.1%} ของที่ได้รับ · of received" if whole else ""


def _target_note(target: float | None) -> str:
    """The declared target under a percentage, so a reader never has to know it by heart."""
    return f"เป้าหมาย / target ≥ {target:g}%" if target is not None else ""


def headline(tables: RoundTables, targets: Targets) -> str:
    """The figures a reader needs first, all from the nation row of quality.parquet."""
    n, files = tables.nation, tables.files
    received, missing = int(n["rows_received"]), len(tables.not_reported)
    unreadable = int((files["status"] == "rejected").sum()) if "status" in files else 0
    cards = [
        ("rows_received", "แถวที่ได้รับ", "Rows received", num(received), f"{num(len(files))} ไฟล์ / files", ""),
        ("rows_accepted", "ผ่านการตรวจสอบ", "Rows accepted", num(n["rows_accepted"]),
         _share(n["rows_accepted"], received), ""),
        ("rows_quarantined", "ถูกกักไว้", "Rows quarantined", num(n["rows_quarantined"]),
         _share(n["rows_quarantined"], received), "warn" if n["rows_quarantined"] else ""),
        ("completeness_pct", "ความครบถ้วน", "Completeness", pct(n["completeness_pct"]),
         f'{num(n["villages_accepted"])} / {num(n["villages_expected"])} หมู่บ้าน · '
         + _target_note(targets.completeness), _status(n["completeness_pct"], targets.completeness)),
        ("accuracy_pct", "ความถูกต้อง", "Accuracy", pct(n["accuracy_pct"]),
         _target_note(targets.accuracy), _status(n["accuracy_pct"], targets.accuracy)),
        ("tambons_not_reported", "ตำบลที่ยังไม่รายงาน", "Tambons not reported", num(missing),
         f"จาก / of {num(n['tambons_expected'])} ตำบล / tambons", "below" if missing else "ok"),
        ("files_unreadable", "ไฟล์ที่อ่านไม่ได้", "Unreadable files", num(unreadable),
         f"จาก / of {num(len(files))} ไฟล์ / files", "warn" if unreadable else ""),
    ]  # fmt: skip
    return f'<section id="headline" class="figures">{"".join(_figure(*card) for card in cards)}</section>'


def _province_bars(provinces: pd.DataFrame, column: str, target: float | None) -> list[svg.Bar]:
    """One bar per province, lowest first: the provinces to chase are at the top."""
    ordered = provinces.sort_values([column, "area_code"], na_position="first")
    return [
        svg.Bar(
            label=f"{row.area_name_th}",
            sublabel=f"{row.area_name_en} ({row.area_code})",
            value=None if pd.isna(getattr(row, column)) else float(getattr(row, column)),
            css=_status(getattr(row, column), target),
        )
        for row in ordered.itertuples()
    ]


def province_section(tables: RoundTables, targets: Targets) -> str:
    """Completeness and accuracy by province, sorted, against the target line."""
    provinces = tables.level("province")
    reporting = provinces[provinces["rows_received"] > 0]
    silent = len(provinces) - len(reporting)
    head = '<section id="provinces"><h2>' + bilingual(
        "ความครบถ้วนและความถูกต้องรายจังหวัด", "Completeness and accuracy by province"
    )
    if reporting.empty:
        return head + '</h2><p class="empty">ไม่มีจังหวัดใดส่งข้อมูล / no province sent data</p></section>'
    charts = []
    for column, th, en, target in (
        ("completeness_pct", "ความครบถ้วน (ร้อยละ)", "Completeness (%)", targets.completeness),
        ("accuracy_pct", "ความถูกต้อง (ร้อยละ)", "Accuracy (%)", targets.accuracy),
    ):
        chart = svg.hbar_chart(
            _province_bars(reporting, column, target),
            chart_id=f"chart-province-{column.removesuffix('_pct')}",
            title=f"{th} รายจังหวัด / {en} by province, {tables.round}",
            max_value=100,
            target=target,
            target_label=f"เป้าหมาย / target {target:g}%" if target is not None else "",
            unit="%",
        )
        charts.append(f'<figure class="chart-box"><figcaption>{bilingual(th, en)}</figcaption>{chart}</figure>')
    rest_th = f"; อีก {num(silent)} จังหวัดยังไม่ส่ง (ดูรายชื่อด้านล่าง)" if silent else ""
    rest_en = f"; {num(silent)} more have sent nothing (listed below)" if silent else ""
    note = (
        f'<p class="note">แสดง {num(len(reporting))} จังหวัดที่ส่งข้อมูล เรียงจากน้อยไปมาก{rest_th} / '
        f"{num(len(reporting))} provinces that sent data, lowest first{rest_en}.</p>"
    )
    return f'{head}</h2>{note}<div class="chart-row">{"".join(charts)}</div></section>'


def internal_link(name: str, th: str, en: str) -> str:
    """A note linking an internal file of the reports folder by its bare name (relative: never a value from it).

    The published copy of the page sits in the catalog, where the file is not: the note says so.
    """
    return (
        f'<p class="note internal" data-file="{esc(name)}">{esc(th)} (ไฟล์ภายใน ไม่เผยแพร่): '
        f'<a href="{esc(name)}">{esc(name)}</a> <span class="en" lang="en">/ {esc(en)} (internal, never published; '
        "in the round's reports folder <code>data/reports/&lt;dataset&gt;/&lt;round&gt;/</code>)</span></p>"
    )


def reasons_section(tables: RoundTables, internal_files: Collection[str] = ()) -> str:
    """Rows quarantined per reason (nation), most frequent first, Thai and English labels.

    Counts only: which row, field and value is in ``quarantine.csv``, linked when it was written.
    """
    reasons = tables.reasons[tables.reasons["level"] == "nation"]
    head = '<section id="reasons"><h2>' + bilingual("สาเหตุที่แถวถูกกักไว้", "Why rows were quarantined") + "</h2>"
    if reasons.empty:
        return head + '<p class="empty">ไม่มีแถวที่ถูกกักไว้ / no row was quarantined</p></section>'
    rows_file = (
        internal_link(
            QUARANTINE_FILE,
            "แถวที่ถูกกักไว้ทีละแถว พร้อมไฟล์ ชีต แถว ช่อง ค่าที่ได้รับ และสาเหตุ",
            "each quarantined row with its file, sheet, row, field, value as received and reason",
        )
        if QUARANTINE_FILE in internal_files
        else ""
    )
    ordered = reasons.sort_values(["rows_quarantined", "reason"], ascending=[False, True])
    bars = [
        svg.Bar(
            label=reason_label(r.reason)[0],
            sublabel=f"{reason_label(r.reason)[1]} · {r.reason}",
            value=float(r.rows_quarantined),
            text=num(r.rows_quarantined),
        )
        for r in ordered.itertuples()
    ]
    chart = svg.hbar_chart(
        bars,
        chart_id="chart-reasons",
        title=f"แถวที่ถูกกักไว้ตามสาเหตุ / Rows quarantined by reason, {tables.round}",
        decimals=0,
        width=780,
    )
    note = (
        '<p class="note">แถวหนึ่งอาจไม่ผ่านหลายข้อ จึงนับได้มากกว่าหนึ่งสาเหตุ / a row failing several checks counts '
        f"once under each reason; rows quarantined in all: {num(tables.nation['rows_quarantined'])}.</p>"
    )
    return f'{head}{note}{rows_file}<figure class="chart-box wide">{chart}</figure></section>'


def _tambon_rows(missing: list[dict], amphoes: dict[str, dict]) -> str:
    """Table rows of missing tambons under a header row per amphoe (code, names, how many missing)."""
    parts, current = [], None
    for t in missing:
        code = t["area_code"]
        if code[:4] != current:
            current = code[:4]
            a = amphoes.get(current, {})
            count = sum(1 for m in missing if m["area_code"][:4] == current)
            parts.append(
                f'<tr class="group"><th colspan="4">อ.{esc(a.get("area_name_th"))} <span class="en" lang="en">'
                f'{esc(a.get("area_name_en"))}</span> <span class="code">{esc(current)}</span><span '
                f'class="count">{num(count)}/{num(a.get("tambons_expected", 0))}</span></th></tr>'
            )
        parts.append(
            f'<tr class="tambon" data-code="{esc(code)}"><td class="code">{esc(code)}</td>'
            f'<td>{esc(t["area_name_th"])}</td><td lang="en">{esc(t["area_name_en"])}</td>'
            f'<td class="num">{num(t["villages_expected"])}</td></tr>'
        )
    return "".join(parts)


TAMBON_TABLE_HEAD = (
    "<thead><tr><th>รหัส <span class='en'>Code</span></th><th>ตำบล</th><th lang='en'>Tambon</th>"
    "<th class='num' title='หมู่บ้านตามทะเบียน / villages expected'>หมู่บ้าน <span class='en'>Vill.</span></th>"
    "</tr></thead>"
)


def _province_block(province: dict, missing: list[dict], amphoes: dict[str, dict], css: str) -> str:
    """One province's missing tambons by amphoe, as a card of the grid (``missing/expected`` in each header)."""
    code = province["area_code"]
    return (
        f'<div class="province-block {css}" data-province="{esc(code)}"><h3>{esc(province["area_name_th"])} '
        f'<span class="en" lang="en">{esc(province["area_name_en"])}</span> <span class="code">{esc(code)}</span>'
        f'<span class="count">{num(len(missing))}/{num(province["tambons_expected"])}</span></h3>'
        f'<table class="tambons">{TAMBON_TABLE_HEAD}<tbody>{_tambon_rows(missing, amphoes)}</tbody></table></div>'
    )


def _silent_provinces(provinces: list[dict], by_province: dict[str, list[dict]], amphoes: dict[str, dict]) -> str:
    """Provinces that sent nothing at all: one chip each, and every tambon in the same grid, folded away."""
    if not provinces:
        return ""
    chips = "".join(
        f'<li data-province="{esc(p["area_code"])}"><span class="code">{esc(p["area_code"])}</span> '
        f'{esc(p["area_name_th"])} <span class="en" lang="en">{esc(p["area_name_en"])}</span> '
        f'<span class="count">{num(p["tambons_expected"])}</span></li>'
        for p in provinces
    )
    blocks = "".join(_province_block(p, by_province[p["area_code"]], amphoes, "silent") for p in provinces)
    total = num(sum(len(by_province[p["area_code"]]) for p in provinces))
    return (
        f"<h3>{bilingual(f'จังหวัดที่ยังไม่ส่งข้อมูลเลย ({num(len(provinces))} จังหวัด)', 'Provinces that sent nothing')}"
        f'</h3><p class="note">ตัวเลขท้ายชื่อคือจำนวนตำบล / the number after each name is its tambons.</p>'
        f'<ul class="chips">{chips}</ul><details class="all-silent"><summary>'
        f"แสดงรายชื่อทั้ง {total} ตำบล / show all {total} tambons</summary>"
        f'<div class="tambon-grid">{blocks}</div></details>'
    )


def missing_section(tables: RoundTables, internal_files: Collection[str] = ()) -> str:
    """Every tambon without a report, grouped by province and amphoe; partly-reporting provinces first.

    A province "reported" when any row of it was received this round (``pipelines.deadlines``,
    the same split as the ``reported_by_deadline`` check): its missing tambons are the ones
    someone can chase, so they come first and are never folded away.
    """
    missing = tables.not_reported
    head = '<section id="not-reported"><h2>' + bilingual("ตำบลที่ยังไม่รายงาน", "Tambons that have not reported")
    head += f' <span class="count">{num(len(missing))}</span></h2>'
    if missing.empty:
        return head + '<p class="empty ok">ทุกตำบลรายงานแล้ว / every tambon has reported</p></section>'
    provinces, amphoes = tables.areas("province"), tables.areas("amphoe")
    sent = provinces_that_sent_data(tables.quality)
    by_province: dict[str, list[dict]] = {}
    for tambon in missing.to_dict("records"):
        by_province.setdefault(tambon["area_code"][:2], []).append(tambon)
    partial = [provinces[c] for c in sorted(by_province) if c in sent]
    silent = [provinces[c] for c in sorted(by_province) if c not in sent]
    chase = sum(len(by_province[p["area_code"]]) for p in partial)
    note = (
        f'<p class="note">ในจังหวัดที่ส่งข้อมูลแล้ว ยังขาด {num(chase)} ตำบล (แสดงก่อน) และอีก {num(len(silent))} จังหวัด'
        f"ยังไม่ส่งเลย จัดกลุ่มตามจังหวัดและอำเภอ ตัวเลขในหัวข้อคือ ตำบลที่ยังไม่รายงาน/ตำบลทั้งหมด / {num(chase)} tambons "
        f"missing in provinces that sent data (first), {num(len(silent))} provinces that sent nothing; grouped by "
        "province and district; headers show tambons not reported / tambons in the area.</p>"
    )
    full_list = (
        internal_link(
            NOT_REPORTED_FILE,
            "รายชื่อทั้งหมดสำหรับ Excel",
            "the full list for Excel",
        )
        if NOT_REPORTED_FILE in internal_files
        else ""
    )
    blocks = "".join(_province_block(p, by_province[p["area_code"]], amphoes, "partial") for p in partial)
    grid = f'<div class="tambon-grid">{blocks}</div>' if blocks else ""
    return f"{head}{note}{full_list}{grid}{_silent_provinces(silent, by_province, amphoes)}</section>"


def _days(value: object) -> str:
    """Whole days (a median may be half a day); a dash for none."""
    if value is None or pd.isna(value):
        return "–"
    return svg.fmt_number(float(value), 0 if float(value).is_integer() else 1)


CORRECTION_COLUMNS = (
    ("correction_rows_returned", "ส่งคืนให้แก้ไข", "Returned"),
    ("correction_rows_fixed", "แก้ไขแล้ว", "Fixed"),
    ("correction_rows_open", "ยังไม่ได้แก้ไข", "Still open"),
    ("correction_rows_fixed_on_time", "แก้ไขทันกำหนด", "Fixed on time"),
    ("corrections_on_time_pct", "ทันกำหนด (%)", "On time (%)"),
    ("correction_turnaround_days_median", "ระยะเวลา มัธยฐาน (วัน)", "Turnaround median (days)"),
    ("correction_turnaround_days_max", "นานที่สุด (วัน)", "Longest (days)"),
)


def _correction_row(row: dict, label: str, css: str = "") -> str:
    cells = []
    for column, _, _ in CORRECTION_COLUMNS:
        value = row[column]
        shown = pct(value) if column.endswith("_pct") else _days(value) if "days" in column else num(value)
        cells.append(f'<td class="num">{shown}</td>')
    return f'<tr class="{css}"><th>{label}</th>{"".join(cells)}</tr>'


def corrections_section(tables: RoundTables) -> str:
    """Per district office: rows returned for correction, fixed, still open, on time, and the turnaround.

    The figures of ``corrections.measured`` (also published in the quality table); office names and
    counts only, never a row.
    """
    head = '<section id="corrections"><h2>' + bilingual("การแก้ไขข้อมูลของอำเภอ", "Corrections by district office")
    head += "</h2>"
    loop = tables.corrections
    offices = loop[loop["level"] == "amphoe"] if loop is not None else pd.DataFrame()
    if offices.empty:
        return head + '<p class="empty ok">ไม่มีแถวที่ต้องส่งคืนให้อำเภอแก้ไข / no row was returned to an office</p></section>'
    note = (
        '<p class="note">แถวที่ไม่ผ่านการตรวจสอบส่งคืนให้อำเภอในแบบแก้ไขข้อมูล แก้ไขแล้วเมื่อข้อมูลที่อำเภอส่งกลับผ่านการตรวจสอบ '
        "ทันกำหนดเมื่อส่งภายในกำหนดส่งแก้ไข ระยะเวลาแก้ไขนับเป็นวันเต็มตั้งแต่วันที่จัดทำแบบแก้ไขจนถึงวันที่อำเภอส่งข้อมูลที่แก้ไข / "
        '<span lang="en">Rows held back go back to their district office in its correction workbook; a row is fixed '
        "when the office's correction passes every check, on time when it was uploaded by the correction deadline; "
        "turnaround is whole days from the workbook's production to the upload of the fix.</span></p>"
    )
    header = "".join(
        f'<th class="num">{esc(th)}<span class="en">{esc(en)}</span></th>' for _, th, en in CORRECTION_COLUMNS
    )
    body = []
    offices = offices.sort_values("area_code")
    # each province's offices by their code's province digits, from one list of records: taken province by
    # province from a grouping, the same records cost eight times as much (0.05 s for 785 offices)
    by_province = records_by(offices, offices["area_code"].str[:2])
    for province in loop[loop["level"] == "province"].sort_values("area_code").to_dict("records"):
        code = province["area_code"]
        label = f"{esc(province['area_name_th'])} <span class='en'>{esc(province['area_name_en'])}</span> ({esc(code)})"
        body.append(_correction_row(province, label, "group province"))
        for office in by_province.get(code, []):
            name = f"{esc(office['area_name_th'])} <span class='en'>{esc(office['area_name_en'])}</span>"
            body.append(_correction_row(office, f"{name} ({esc(office['area_code'])})"))
    for nation in loop[loop["level"] == "nation"].to_dict("records"):
        body.append(_correction_row(nation, bilingual("รวมทั้งประเทศ", "Nation"), "group"))
    table = (
        f"<table class='corrections'><thead><tr><th>{bilingual('อำเภอ', 'District office')}</th>{header}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    return f"{head}{note}{table}</section>"


def _files_table(files: pd.DataFrame) -> str:
    """File name, problem code, and the Thai and English message an office is sent."""
    rows = "".join(
        f'<tr class="file {esc(f["status"])}"><td class="name">{esc(f["name"])}<br><span class="code">'
        f"{esc(f.get('problem_code'))}</span></td><td>{esc(f.get('message_th'))}</td>"
        f'<td lang="en">{esc(f.get("message_en"))}</td></tr>'
        for f in files.sort_values("name").to_dict("records")
    )
    return (
        "<table class='files'><thead><tr><th>ไฟล์ <span class='en'>File</span></th><th>ปัญหา</th>"
        f"<th lang='en'>Problem</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def files_section(tables: RoundTables) -> str:
    """Files that could not be read, with the message the office reads; exact copies (skipped) after them."""
    files = tables.files
    head = '<section id="files"><h2>' + bilingual("ไฟล์ที่อ่านไม่ได้", "Files that could not be read") + "</h2>"
    status = files["status"] if "status" in files else pd.Series(dtype=str)
    rejected, copies = files[status == "rejected"], files[status == "duplicate"]
    if rejected.empty:
        body = f'<p class="empty ok">อ่านได้ทุกไฟล์ ({num(len(files))}) / every file was read</p>'
    else:
        body = (
            f'<p class="note">{num(len(rejected))} จาก {num(len(files))} ไฟล์ ข้อมูลในไฟล์เหล่านี้ไม่ได้นำเข้า / '
            f"{num(len(rejected))} of {num(len(files))} files: none of their rows were read.</p>"
            + _files_table(rejected)
        )
    if not copies.empty:
        body += (
            f"<h3>{bilingual(f'ไฟล์ซ้ำที่ข้ามไป ({num(len(copies))})', 'Exact copies skipped')}</h3>"
            '<p class="note">ไฟล์เหมือนกันทุกไบต์กับไฟล์ที่ได้รับแล้ว นำเข้าเพียงครั้งเดียว / byte-for-byte copies of a '
            f"file already received: read once.</p>{_files_table(copies)}"
        )
    return f"{head}{body}</section>"


def _trend_series(frame: pd.DataFrame, rounds: list[Round]) -> list[svg.Series]:
    """Completeness and accuracy of one area as two series over the rounds (a gap where a round lacks it)."""
    by_round = frame.set_index("round")
    series = []
    for column, name, css in (
        ("completeness_pct", "ความครบถ้วน / Completeness", "s1"),
        ("accuracy_pct", "ความถูกต้อง / Accuracy", "s2"),
    ):
        values = [by_round[column].get(r.key) for r in rounds]
        series.append(svg.Series(name, [None if v is None or pd.isna(v) else float(v) for v in values], css))
    return series


def _trend_table(trend: pd.DataFrame, rounds: list[Round]) -> str:
    """The nation's figures per round as numbers, for whoever wants them exactly."""
    nation = trend[trend["level"] == "nation"].set_index("round")
    rows = "".join(
        f"<tr><td>{esc(r.label_th)} <span class='en'>{esc(r.key)}</span></td>"
        f"<td class='num'>{pct(nation.loc[r.key, 'completeness_pct'])}</td>"
        f"<td class='num'>{pct(nation.loc[r.key, 'accuracy_pct'])}</td>"
        f"<td class='num'>{num(nation.loc[r.key, 'rows_received'])}</td></tr>"
        for r in rounds
    )
    return (
        "<table class='trend'><thead><tr><th>รอบ <span class='en'>Round</span></th>"
        "<th class='num'>ครบถ้วน <span class='en'>Completeness</span></th>"
        "<th class='num'>ถูกต้อง <span class='en'>Accuracy</span></th>"
        f"<th class='num'>แถวที่ได้รับ <span class='en'>Rows received</span></th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _province_multiples(trend: pd.DataFrame, rounds: list[Round], target: float | None) -> str:
    """One small chart per province that ever sent data, in code order: same scale, easy to scan."""
    provinces = trend[trend["level"] == "province"]
    active = sorted(provinces.loc[provinces["rows_received"] > 0, "area_code"].unique())
    labels = [short_round(r) for r in rounds]
    # each province's rows by one grouping, not a filter of the whole table per province and per use
    frames = dict(iter(provinces.groupby("area_code", sort=False)))
    series = {code: _trend_series(frames[code], rounds) for code in active}
    domain = svg.y_range([s for code in active for s in series[code]], target)  # one scale: cards compare at a glance
    cards = []
    for code in active:
        last = frames[code].iloc[-1]
        chart = svg.line_chart(
            series[code],
            labels,
            y_domain=domain,
            chart_id=f"chart-trend-{code}",
            title=f"แนวโน้ม {last.area_name_th} / trend, {last.area_name_en}",
            target=target,
            width=230,
            height=110,
            compact=True,
        )
        cards.append(
            f'<figure class="multiple"><figcaption>{esc(last.area_name_th)} <span class="en" lang="en">'
            f"{esc(last.area_name_en)}</span><span class='latest'><b class='s1'>{pct(last.completeness_pct)}</b> · "
            f"<b class='s2'>{pct(last.accuracy_pct)}</b></span></figcaption>{chart}</figure>"
        )
    return f'<div class="multiples">{"".join(cards)}</div>'


def trend_section(trend: pd.DataFrame, rounds: list[Round], targets: Targets) -> str:
    """Completeness and accuracy per round, for the nation and for each province, up to this round."""
    labels = [short_round(r) for r in rounds]
    nation = trend[trend["level"] == "nation"]
    chart = svg.line_chart(
        _trend_series(nation, rounds),
        labels,
        chart_id="chart-trend-nation",
        title=f"แนวโน้มทั้งประเทศ / trend, Thailand: {rounds[0]} – {rounds[-1]}",
        target=targets.completeness,
        target_label=f"เป้าหมาย / target {targets.completeness or 0:g}%",
        width=640,
    )
    only_one = (
        '<p class="note">มีข้อมูลเพียงรอบเดียว เส้นแนวโน้มจะปรากฏเมื่อมีรอบถัดไป / only one round so far: '
        "the lines appear from the next round on.</p>"
        if len(rounds) == 1
        else ""
    )
    return (
        '<section id="trend"><h2>'
        + bilingual("แนวโน้มตามรอบ", "Trend across rounds")
        + f"</h2>{only_one}<div class='chart-row'><figure class='chart-box'><figcaption>"
        + bilingual("ทั้งประเทศ", "Thailand")
        + f"</figcaption>{chart}</figure>{_trend_table(trend, rounds)}</div>"
        + "<h3>"
        + bilingual("รายจังหวัด", "By province")
        + "</h3><p class='note'><b class='s1'>ความครบถ้วน / completeness</b> · <b class='s2'>ความถูกต้อง / accuracy"
        + "</b>, เส้นประคือเป้าหมายความครบถ้วน / dashed: completeness target</p>"
        + _province_multiples(trend, rounds, targets.completeness)
        + "</section>"
    )


def definitions() -> str:
    """What the percentages and the correction figures mean, in the words of the published data dictionary."""
    fields = common_fields()
    items = "".join(
        f"<dt>{bilingual(fields[k]['title_th'], fields[k]['title'])}</dt>"
        f"<dd>{esc(fields[k]['description_th'])} <span class='en' lang='en'>{esc(fields[k]['description'])}</span></dd>"
        for k in (
            "completeness_pct",
            "accuracy_pct",
            "rows_quarantined",
            "correction_rows_fixed",
            "corrections_on_time_pct",
            "correction_turnaround_days_median",
        )
        if k in fields
    )
    return f'<section id="definitions"><h2>{bilingual("นิยาม", "Definitions")}</h2><dl>{items}</dl></section>'


# --------------------------------------------------------------------------- page


def _header(dataset: DatasetSpec, round_: Round, rounds: list[Round]) -> str:
    """Title with the dataset and the round in both calendars, and a table of contents."""
    title = dataset.title
    nav = "".join(
        f'<a href="#{anchor}">{esc(th)}</a>'
        for anchor, th in (
            ("provinces", "รายจังหวัด"),
            ("reasons", "สาเหตุ"),
            ("not-reported", "ตำบลที่ยังไม่รายงาน"),
            ("files", "ไฟล์ที่อ่านไม่ได้"),
            ("corrections", "การแก้ไขของอำเภอ"),
            ("trend", "แนวโน้ม"),
            ("definitions", "นิยาม"),
        )
    )
    return (
        f'<header><p class="kicker">{bilingual("รายงานคุณภาพข้อมูล", "Data quality report")}</p>'
        f"<h1>{esc(title.get('th', dataset.name))} <span class='en' lang='en'>{esc(title.get('en', ''))}</span></h1>"
        f'<p class="round">รอบ <b>{esc(round_.label_th)}</b> ({esc(round_.be_key)}) · <span lang="en">Round '
        f"<b>{esc(round_.label_en)}</b> ({esc(round_.key)})</span></p>"
        f'<p class="meta">ชุดข้อมูล / dataset <code>{esc(dataset.name)}</code> · แนวโน้มจาก {num(len(rounds))} รอบ / '
        f"trend over {num(len(rounds))} round(s)</p><nav>{nav}</nav></header>"
    )


def render_quality_page(
    dataset: DatasetSpec, round_: Round, work_root: Path, internal_files: Collection[str] = ()
) -> str:
    """The whole page for ``round_``, from ``work_root/<round key>/`` and the earlier rounds beside it.

    ``internal_files``: names of the internal tables written beside the page (linked, never embedded).
    """
    tables = read_round(work_root, round_)
    targets = Targets.of(dataset)
    rounds = rounds_in_work_area(work_root, round_)
    trend = read_trend(work_root, rounds)
    body = "".join(
        [
            _header(dataset, round_, rounds),
            "<main>",
            headline(tables, targets),
            province_section(tables, targets),
            reasons_section(tables, internal_files),
            missing_section(tables, internal_files),
            files_section(tables),
            corrections_section(tables),
            trend_section(trend, rounds, targets),
            definitions(),
            "</main>",
        ]
    )
    page_title = f"รายงานคุณภาพข้อมูล {dataset.title.get('th', dataset.name)} รอบ {round_.be_key} / quality {round_.key}"
    return (
        '<!DOCTYPE html>\n<html lang="th"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(page_title)}</title><style>{PAGE_CSS}</style></head><body>{body}</body></html>\n"
    )


def write_quality_page(
    dataset: DatasetSpec,
    round_: Round,
    work_root: Path,
    out_dir: Path | None = None,
    internal_files: Collection[str] = (),
) -> Path:
    """Render and write ``quality_report.html`` (default: into the round's work area); returns its path.

    Written to a temporary name and renamed, so a reader never sees half a page.
    """
    folder = Path(out_dir) if out_dir is not None else Path(work_root) / round_.key
    folder.mkdir(parents=True, exist_ok=True)
    page = render_quality_page(dataset, round_, work_root, internal_files)
    return write_atomic(folder / PAGE_NAME, lambda temporary: temporary.write_text(page, encoding="utf-8"))
