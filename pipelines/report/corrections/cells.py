"""Cells for the correction workbook: every text through the formula guard, every cell in a Thai font.

openpyxl decides a cell's type from its value: a ``str`` starting with ``=`` becomes a formula
(``<f>`` in the XML) and one spelling an error code (``#N/A``) becomes an error cell. So a text
cell here is always built by :func:`text`: the value goes through ``catalog.files.guard_formula``
(the one rule of every spreadsheet file we write: an apostrophe in front of text a spreadsheet
would run), and its ``data_type`` is then set to string, so that whatever the value, it is
written as an inline string and never as a formula or an error. Characters XML 1.0 cannot hold
(control characters other than tab, LF and CR) become U+FFFD rather than failing the workbook.

Styles are named styles registered once per workbook (:func:`add_styles`); each cell is built
with its style's array (openpyxl's ``Cell(..., style_array=...)``) rather than by assigning the
style by name, which spends a hash of the style on every cell: 20% faster on a national round.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from catalog.files import guard_formula
from pipelines.report.corrections.texts import FONT

EXCEL_CELL_CHARS = 32_767
#: Points: a header cell of two lines (Thai, then English) in 10-point Tahoma.
HEADER_HEIGHT = 28
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Thai vowel and tone marks written above or below a letter, and invisible characters: no width of their own.
_NO_WIDTH = re.compile("[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u200b-\u200d\u2060\ufeff\u00ad]")

FAULT_FILL = "FFC7CE"  # Excel's own "bad" red, with its dark red text
FAULT_TEXT = "9C0006"
HEADER_FILL = "D9E1F2"
NOTE_FILL = "FFF2CC"
BELOW_FILL = "FCE4D6"

_TOP = Alignment(vertical="top")
_WRAP = Alignment(vertical="top", wrap_text=True)
STYLES: dict[str, dict] = {
    "cw_text": {"font": Font(name=FONT, size=10), "alignment": _TOP},
    "cw_fault": {
        "font": Font(name=FONT, size=10, color=FAULT_TEXT),
        "fill": PatternFill("solid", fgColor=FAULT_FILL),
        "alignment": _TOP,
    },
    "cw_reason": {"font": Font(name=FONT, size=10, color=FAULT_TEXT), "alignment": _WRAP},
    "cw_note": {"font": Font(name=FONT, size=10), "fill": PatternFill("solid", fgColor=NOTE_FILL), "alignment": _WRAP},
    "cw_head": {
        "font": Font(name=FONT, size=10, bold=True),
        "fill": PatternFill("solid", fgColor=HEADER_FILL),
        "alignment": Alignment(vertical="center", wrap_text=True),
    },
    "cw_field": {
        "font": Font(name=FONT, size=8, color="595959"),
        "fill": PatternFill("solid", fgColor=HEADER_FILL),
        "alignment": _TOP,
    },
    "cw_title": {"font": Font(name=FONT, size=14, bold=True, color="1F3864")},
    "cw_section": {"font": Font(name=FONT, size=12, bold=True, color="1F3864")},
    "cw_sub": {"font": Font(name=FONT, size=10, color="404040")},
    "cw_bold": {"font": Font(name=FONT, size=10, bold=True, color=FAULT_TEXT)},
    "cw_strong": {"font": Font(name=FONT, size=10, bold=True, color=FAULT_TEXT), "alignment": _WRAP},
    "cw_row": {"font": Font(name=FONT, size=10), "alignment": _TOP, "number_format": "0"},
    "cw_int": {"font": Font(name=FONT, size=10), "alignment": _TOP, "number_format": "#,##0"},
    "cw_pct": {"font": Font(name=FONT, size=10), "alignment": _TOP, "number_format": "0.00"},
    "cw_pct_below": {
        "font": Font(name=FONT, size=10, bold=True, color=FAULT_TEXT),
        "fill": PatternFill("solid", fgColor=BELOW_FILL),
        "alignment": _TOP,
        "number_format": "0.00",
    },
    "cw_id": {"font": Font(name=FONT, size=8, color="808080"), "alignment": _TOP},
}


_ARRAYS: WeakKeyDictionary[Workbook, dict[str, StyleArray]] = WeakKeyDictionary()


def add_styles(workbook: Workbook) -> None:
    """Register the named styles (once per workbook, before any cell uses one) and keep each one's array."""
    probe = workbook.create_sheet("_probe")  # a sheet to hang template cells on; removed before anything is written
    arrays = {}
    for name, parts in STYLES.items():
        workbook.add_named_style(NamedStyle(name=name, **parts))
        template = Cell(probe)
        template.style = name
        arrays[name] = template._style
    workbook.remove(probe)
    _ARRAYS[workbook] = arrays


def _cell(ws: WriteOnlyWorksheet, value: object, style: str) -> Cell:
    return Cell(ws, row=1, column=1, value=value, style_array=copy.copy(_ARRAYS[ws.parent][style]))


def spreadsheet_text(value: object) -> str:
    """A value as the text a cell may hold: XML-safe, guarded against formulas, within Excel's length."""
    text = _NOT_XML.sub("\ufffd", str(value))
    return guard_formula(text)[:EXCEL_CELL_CHARS]


def text(ws: WriteOnlyWorksheet, value: object, style: str = "cw_text") -> Cell:
    """A string cell (never a formula, never an error value); None and NaN give an empty styled cell."""
    blank = value is None or (isinstance(value, float) and math.isnan(value))
    cell = _cell(ws, "" if blank else spreadsheet_text(value), style)
    cell.data_type = "s"  # openpyxl would make "=…" a formula and "#N/A" an error: it is text
    return cell


def number(ws: WriteOnlyWorksheet, value: object, style: str = "cw_int") -> Cell:
    """A number cell; a missing number (None, NaN) is the text ``–`` so no blank reads as zero."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return text(ws, "–", "cw_text")
    return _cell(ws, int(value) if style in ("cw_int", "cw_row") else float(value), style)


def display_width(value: object) -> int:
    """Columns a text takes: Thai vowel and tone marks above and below a letter take none."""
    text = str(value)
    return len(text) - len(_NO_WIDTH.findall(text))


def set_widths(ws: WriteOnlyWorksheet, widths: Iterable[float], hidden: Iterable[int] = ()) -> None:
    """Column widths (characters), and columns to hide (1-based); before the first row is written."""
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = round(width, 1)
    for index in hidden:
        ws.column_dimensions[get_column_letter(index)].hidden = True


def fit(values: Iterable[object], least: int = 6, most: int = 40) -> float:
    """A width that shows the longest line of ``values`` within bounds."""
    longest = max((display_width(line) for v in values if v is not None for line in str(v).split("\n")), default=0)
    return float(min(max(longest + 2, least), most))
