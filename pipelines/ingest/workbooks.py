"""Workbooks (.xlsx, .ods, legacy .xls) to header + rows, and the checks made before a workbook is opened.

Read by calamine (Rust, through ``python-calamine``): openpyxl read 3,400 rows a second and
took most of a national household round's ingest. Formulas give their cached value (nothing
is ever evaluated); a merged cell's value is in its top-left cell; hidden worksheets are read
like the others (their rows are rows the office sent: an old copy shows up as duplicates or
dates outside the round, never as a silent loss); chart sheets are not tables.

calamine holds a worksheet as one rectangle from its first to its last cell, and a failed
allocation aborts the whole process, not just the file: a workbook with one cell in A1 and
one in XFD1048576 would end the round. So before calamine sees a file, the zip archive's
members are checked against the sizes they declare (no decompression: a zip bomb is turned
away unopened) and each worksheet's rectangle is bounded from its XML by a few C-speed scans
(:func:`sheet_extent`). A legacy .xls cannot exceed 65,536 rows by 256 columns, and calamine
refuses an .ods that repeats cells beyond its own limit, so those need no scan of their own.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from domain.limits import Limits
from pipelines.ingest.decode import OLE2
from pipelines.ingest.problems import FileProblem

ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_BIG_MEMBER = 1 << 20  # the compression ratio is judged on members at least this large
_CHUNK = 16 << 20  # a worksheet's XML is scanned this many bytes at a time
_SMALL_XML = 1 << 16  # a piece of XML shorter than this is counted row by row

_ROW_REF = re.compile(rb'<row\b[^>]*?\sr="([0-9]{1,12})"')
# Literal prefixes ('r="'), so the scans run at memchr speed; an attribute that merely ends in r (header="0.3")
# can only make a bound larger, never smaller.
_WIDE_REF = re.compile(rb'r="([A-Z]{2,})[0-9]')  # a cell beyond column Z
_ANY_ROW = re.compile(rb'r="[A-Z]*([0-9]+)"')


@functools.cache
def _rows_beyond(row: int) -> re.Pattern[bytes]:
    """A reference to a row below ``row``: more digits, or as many and greater (a digit-by-digit alternation)."""
    digits = str(row)
    alternatives = [f"[0-9]{{{len(digits) + 1},}}"]
    for i, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - i - 1
            alternatives.append(digits[:i] + f"[{int(digit) + 1}-9]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return re.compile(rb'r="[A-Z]*(?:' + "|".join(alternatives).encode() + rb')"')


def workbook_kind(data: bytes, limits: Limits) -> str:
    """'xlsx' or 'ods' for a zip archive that holds one, checked against the limits without unpacking it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise FileProblem("corrupt_xlsx", type(exc).__name__) from exc
    with archive:
        members = archive.infolist()
        _check_sizes(members, limits)
        names = {m.filename for m in members}
        if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
            return "ods"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "xl/workbook.bin" in names:
            raise FileProblem("unsupported_format", "Excel Binary Workbook .xlsb")
    what = "Word .docx" if "word/document.xml" in names else "ZIP"
    raise FileProblem("unsupported_format", what)


def _check_sizes(members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Member count, total declared size and each large member's compression ratio, from the directory."""
    if len(members) > limits.max_zip_members:
        raise FileProblem("archive_too_large", f"{len(members):,} members > {limits.max_zip_members:,}")
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise FileProblem("archive_too_large", f"{total:,} bytes > {limits.max_unzipped_bytes:,}")
    for m in members:
        if m.file_size >= _BIG_MEMBER and m.file_size > limits.max_zip_ratio * max(m.compress_size, 1):
            ratio = m.file_size // max(m.compress_size, 1)
            raise FileProblem("archive_too_large", f"{m.filename}: {ratio:,}:1 > {limits.max_zip_ratio:,}:1")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _rows_and_cells(xml: bytes) -> tuple[int, int]:
    """(``<row `` and ``<row>`` elements, the most ``<c `` and ``<c>`` in one piece of ``xml`` split at every
    ``<row``, the piece before the first counting too) of one piece of a worksheet's XML.

    From the positions of its '<' and the bytes after them, with numpy: not one Python call per row
    (but for a short piece, where the arrays would cost more than the calls).
    """
    if len(xml) < _SMALL_XML:
        cells = max(row.count(b"<c ") + row.count(b"<c>") for row in xml.split(b"<row"))
        return xml.count(b"<row ") + xml.count(b"<row>"), cells
    padded = np.zeros(len(xml) + 4, dtype=np.uint8)  # bytes past the end read as 0: no tag is cut short
    padded[: len(xml)] = np.frombuffer(xml, dtype=np.uint8)
    tags = np.flatnonzero(padded == ord("<"))
    second = padded[tags + 1]
    c_tags, r_tags = tags[second == ord("c")], tags[second == ord("r")]
    after_c = padded[c_tags + 2]
    cells = c_tags[(after_c == ord(" ")) | (after_c == ord(">"))]
    rows = r_tags[(padded[r_tags + 2] == ord("o")) & (padded[r_tags + 3] == ord("w"))]
    after_row = padded[rows + 4]
    elements = int(np.count_nonzero((after_row == ord(" ")) | (after_row == ord(">"))))
    per_row = np.bincount(np.searchsorted(rows, cells), minlength=rows.size + 1)  # a cell is in the row before it
    return elements, int(per_row.max())


@dataclass
class _Extent:
    """What the scans of one worksheet's XML found."""

    row_max: int = 0  # the largest row number a <row> or a cell gives
    rows: int = 0  # <row> elements
    rows_numbered: int = 0  # ... that give their number
    row_cells_max: int = 0  # the most <c> elements in one <row> (a row cut by a piece boundary counts as two)
    wide_max: int = 0  # the largest column beyond Z a cell names

    def add(self, xml: bytes) -> None:
        """One piece of the XML, in document order (a row's element comes before its cells)."""
        rows = _ROW_REF.findall(xml)
        self.row_max = max([self.row_max, *map(int, rows)])
        self.rows_numbered += len(rows)
        if _rows_beyond(self.row_max).search(xml):  # a cell below every row: rare, so read them all
            self.row_max = max([self.row_max, *map(int, set(_ANY_ROW.findall(xml)))])
        rows, cells = _rows_and_cells(xml)
        self.rows += rows
        self.row_cells_max = max(self.row_cells_max, cells)
        self.wide_max = max([self.wide_max, *map(_column_number, set(_WIDE_REF.findall(xml)))])

    def bounds(self) -> tuple[int, int]:
        """(rows, columns) that the worksheet's rectangle cannot exceed.

        Rows: the largest number any reference gives, plus every row without a number. Columns:
        the widest cell named, at least 26, plus the most cells any one row holds (calamine places
        cells without a reference one after another in their row; a sheet-wide count would make
        every ordinary 24-column sheet written without references look thousands of columns wide).
        """
        rows = self.row_max + max(self.rows - self.rows_numbered, 0)
        columns = max(self.wide_max, 26) + self.row_cells_max
        return rows, columns


def _chunks(member: zipfile.ZipExtFile) -> Iterator[bytes]:
    """The member's bytes in pieces that end just after a '>', so no tag is cut in two."""
    carry = b""
    while block := member.read(_CHUNK):
        block = carry + block
        end = block.rfind(b">") + 1
        carry = block[end:]
        if end:
            yield block if end == len(block) else block[:end]  # a whole member usually ends in '>': no copy
    if carry:
        yield carry


def sheet_extent(member: zipfile.ZipExtFile) -> tuple[int, int]:
    """Bounds of (rows, columns) of the worksheet whose XML ``member`` streams."""
    extent = _Extent()
    for chunk in _chunks(member):
        extent.add(chunk)
    return extent.bounds()


def check_xlsx_sheets(data: bytes, limits: Limits) -> None:
    """Refuse a workbook with a worksheet whose rectangle holds more than ``limits.max_sheet_cells`` cells."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                    continue
                with archive.open(info) as member:
                    rows, columns = sheet_extent(member)
                if rows * columns > limits.max_sheet_cells:
                    name = info.filename.removeprefix("xl/worksheets/")
                    raise FileProblem("sheet_too_large", f"{name}: {rows:,} × {columns:,}")
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise FileProblem("corrupt_xlsx", type(exc).__name__) from exc


def ole2_kind(data: bytes) -> str:
    """'xls' for an OLE2 container with a workbook stream; a password-protected Office file
    (an encrypted .xlsx is an OLE2 container too) and any other OLE2 file (a Word .doc) are named as such.
    """
    if not data.startswith(OLE2):
        raise ValueError("not an OLE2 container")
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise FileProblem("password_protected")
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    raise FileProblem("unsupported_format", "OLE2 (not an Excel 97-2003 workbook, e.g. Word .doc)")


def cell_text(value: object) -> str:
    """A cell's value as the text a CSV file would hold (whole numbers without '.0', dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def worksheet_values(data: bytes, kind: str, limits: Limits) -> Iterator[tuple[str, list[list[object]]]]:
    """(name, rows of cell values as calamine gives them) of every worksheet of a workbook already past
    :func:`workbook_kind`: calamine's fastest way out (``to_python``: one list of rows, made in Rust), which
    the readers turn into text column by column (:func:`cell_text` is what each cell becomes).

    Rows start at A1 (``skip_empty_area=False``), so row numbers are the ones Excel shows.
    """
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

    if kind == "xlsx":
        check_xlsx_sheets(data, limits)
    corrupt = "corrupt_xlsx" if kind == "xlsx" else "corrupt_spreadsheet"
    problems = (CalamineError, zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for meta in workbook.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            yield meta.name, workbook.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
    except problems as exc:
        detail = type(exc).__name__ if kind == "xlsx" else f"{kind}: {type(exc).__name__}"
        raise FileProblem(corrupt, detail) from exc


def worksheets(data: bytes, kind: str, limits: Limits) -> Iterator[tuple[str, Iterator[list[str]]]]:
    """(name, rows of cell texts) of every worksheet of a workbook already past :func:`workbook_kind`.

    Rows start at A1 (``skip_empty_area=False``), so row numbers are the ones Excel shows.
    """
    for name, rows in worksheet_values(data, kind, limits):
        yield name, ([cell_text(v) for v in row] for row in rows)
