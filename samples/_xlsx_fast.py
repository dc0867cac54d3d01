"""A minimal, fast XLSX writer for sample files: sheet XML built from Arrow string columns.

openpyxl writes about a hundred thousand cells a second; a national round of the
household survey has millions of XLSX cells. This writer builds each row's XML
with vectorised Arrow string kernels and zips a minimal, valid package (inline
strings, one date style) with pinned timestamps, so the same input gives the
same bytes. openpyxl, pandas and Excel read it.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_EXCEL_EPOCH = dt.date(1899, 12, 30)

_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_NS}">'
    '<fonts count="1"><font><sz val="11"/><name val="Tahoma"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def concat_bytes(array: pa.Array) -> bytes:
    """The UTF-8 bytes of every value of a (null-free) string array, back to back."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if len(array) == 0:
        return b""
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(array.buffers()[1], dtype=width)[array.offset : array.offset + len(array) + 1]
    data = array.buffers()[2]
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0])).to_pybytes()


def xml_escape(array: pa.Array) -> pa.Array:
    for raw, safe in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        if pc.any(pc.match_substring(array, raw)).as_py():
            array = pc.replace_substring(array, raw, safe)
    return array


_INLINE = '<c t="inlineStr"><is><t xml:space="preserve">'
_INLINE_END = "</t></is></c>"
_NUMBER_RE = r"^-?[0-9]+(\.[0-9]+)?$"
_ISO_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def cells_xml(values: pa.Array, kind: str) -> pa.Array:
    """One column's cells as XML. ``kind``: text | number (numbers stay numbers) |
    date (ISO dates become Excel dates, other text stays text). Nulls are empty cells."""
    values = pc.cast(values, pa.string())
    text = pc.binary_join_element_wise(_INLINE, xml_escape(pc.fill_null(values, "")), _INLINE_END, "")
    if kind == "number":
        is_number = pc.fill_null(pc.match_substring_regex(values, _NUMBER_RE), False)
        number = pc.binary_join_element_wise("<c><v>", pc.fill_null(values, "0"), "</v></c>", "")
        text = pc.if_else(is_number, number, text)
    elif kind == "date":
        is_iso = pc.fill_null(pc.match_substring_regex(values, _ISO_RE), False)
        when = pc.strptime(pc.if_else(is_iso, values, "2000-01-01"), format="%Y-%m-%d", unit="s", error_is_null=True)
        days = pc.cast(pc.cast(when, pa.date32()), pa.int32())
        serial = pc.cast(pc.add(days, 25569), pa.string())
        is_iso = pc.and_(is_iso, pc.is_valid(days))
        date = pc.binary_join_element_wise('<c s="1"><v>', pc.fill_null(serial, "0"), "</v></c>", "")
        text = pc.if_else(is_iso, date, text)
    return pc.if_else(pc.is_null(values), "<c/>", text)


def rows_xml(cells: list[pa.Array], first_row: int) -> pa.Array:
    """Whole ``<row>`` elements from per-column cell XML, numbered from ``first_row``."""
    n = len(cells[0])
    numbers = pc.cast(pa.array(np.arange(first_row, first_row + n, dtype=np.int64)), pa.string())
    body = pc.binary_join_element_wise(*cells, "")
    return pc.binary_join_element_wise('<row r="', numbers, '">', body, "</row>", "")


def plain_rows_xml(rows: list[list[str | None]], first_row: int) -> str:
    """Few rows (titles, header, blank trailing rows) as XML, all cells text."""
    out = []
    for number, row in enumerate(rows, start=first_row):
        cells = "".join("<c/>" if c is None else f"{_INLINE}{escape(c)}{_INLINE_END}" for c in row)
        out.append(f'<row r="{number}">{cells}</row>')
    return "".join(out)


class _FixedZip(zipfile.ZipFile):
    def __init__(self, buffer, when: tuple[int, ...], level: int):
        super().__init__(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=level)
        self._when = when

    def put(self, name: str, data: bytes | str) -> None:
        info = zipfile.ZipInfo(name, date_time=self._when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        self.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)


def sheet_xml(body: bytes | str, rows: int, columns: int) -> bytes:
    head = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}">'
        f'<dimension ref="A1:{column_letter(max(columns, 1) - 1)}{max(rows, 1)}"/><sheetData>'
    ).encode()
    if isinstance(body, str):
        body = body.encode("utf-8")
    return head + body + b"</sheetData></worksheet>"


def workbook_bytes(sheets: list[tuple[str, bytes]], when: dt.datetime, author: str, level: int = 1) -> bytes:
    """A workbook of ready sheet XML (see :func:`sheet_xml`), zipped with fixed times."""
    buffer = io.BytesIO()
    stamp = (when.year, when.month, when.day, when.hour, when.minute, 0)
    iso = when.strftime("%Y-%m-%dT%H:%M:00Z")
    with _FixedZip(buffer, stamp, level) as archive:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        archive.put(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}"
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            "</Types>",
        )
        archive.put(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_OFFICE_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" '
            'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
            'Target="docProps/core.xml"/></Relationships>',
        )
        archive.put(
            "docProps/core.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>{escape(author)}</dc:creator><cp:lastModifiedBy>{escape(author)}</cp:lastModifiedBy>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{iso}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{iso}</dcterms:modified></cp:coreProperties>',
        )
        entries = "".join(
            f'<sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
            for i, (title, _) in enumerate(sheets, start=1)
        )
        archive.put(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}">'
            f"<sheets>{entries}</sheets></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_OFFICE_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        archive.put(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{len(sheets) + 1}" Type="{_OFFICE_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        archive.put("xl/styles.xml", _STYLES)
        for i, (_, xml) in enumerate(sheets, start=1):
            archive.put(f"xl/worksheets/sheet{i}.xml", xml)
    return buffer.getvalue()


def excel_serial(day: dt.date) -> int:
    return (day - _EXCEL_EPOCH).days
