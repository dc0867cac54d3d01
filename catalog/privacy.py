"""The last gate before anything is public: refuse to publish personal data, or a spreadsheet formula.

It reads every outgoing file as a reader would (each CSV cell as the text it
holds, the HTML report as text and its tables' header cells as columns), so a
citizen ID that became a float column or a phone number in a title is caught like
any other. Three independent tests: a column that the schema marks personal,
sensitive or internal (in a CSV by its name, in a page's table also by its titles
and aliases); a text cell equal to a value held this round in a personal or
internal field (names, citizen IDs, worker ids); and anything that looks like a
Thai mobile number or a 13-digit citizen ID with a valid check digit, wherever it
hides and in whatever digits (๐๘๑-๒๓๔-๕๖๗๘ is a phone number too).

In depth behind the CSV writer (``catalog.files.guard_formula``): a CSV cell that
a spreadsheet would run as a formula is refused like a leak, so a future writer
that bypasses ``csv_bytes`` cannot publish one.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as arrow_csv

from catalog.files import runs_as_formula
from domain import python_text
from domain.declarations import NON_PUBLIC, DatasetSpec
from domain.work import table_exists
from validation.custom_checks import citizen_id_valid  # one definition of the check digit, shared

# Thai mobile (08x-xxx-xxxx) and landline (0-4381-1154, 02-123-4567) numbers, with or without dashes.
PHONE = re.compile(r"(?<![\d-])(?:0[689]\d-?\d{3}-?\d{4}|0-?[2-7]\d{3}-?\d{4}|0[2-7]-?\d{3}-?\d{4})(?![\d-])")
DIGITS13 = re.compile(r"(?<!\d)\d{13}(?!\d)")


@dataclass(frozen=True)
class Leak:
    table: str  # the outgoing file
    column: str
    kind: str  # private_column | private_value | phone_number | citizen_id | formula | correction_workbook

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.kind}"


class PrivacyError(RuntimeError):
    """Raised instead of publishing; names every table and column at fault."""

    def __init__(self, leaks: list[Leak]) -> None:
        self.leaks = leaks
        found_th, found_en = [], []
        if personal := "; ".join(str(leak) for leak in leaks if leak.kind != "formula"):
            found_th.append(f"พบข้อมูลส่วนบุคคลใน {personal}")
            found_en.append(f"personal data found in {personal}")
        if formulas := "; ".join(str(leak) for leak in leaks if leak.kind == "formula"):
            found_th.append(f"พบเซลล์ที่โปรแกรมตารางคำนวณจะทำงานเป็นสูตรใน {formulas}")
            found_en.append(f"a cell a spreadsheet would run as a formula found in {formulas}")
        super().__init__(f"ไม่เผยแพร่: {'; '.join(found_th)} / refused to publish: {'; '.join(found_en)}")


#: Private values shorter than this are not matched (house numbers such as "12" equal many counts and codes).
MIN_VALUE_LENGTH = 5
_TAGS = re.compile(r"<[^>]+>")


#: Any phone number (PHONE) is nine digits at least with a dash at most between two, a citizen ID (DIGITS13)
#: thirteen digits in a row: either holds nine digits or dashes in a row. (Python's ``\d`` is any decimal digit,
#: as RE2's ``\p{Nd}``.)
_NINE_IN_A_ROW = r"[\p{Nd}-]{9}"


@functools.cache
def _ascii_digits() -> dict[int, str]:
    return {code: str(unicodedata.decimal(chr(code))) for code in python_text.decimal_digits()}


def _unique_text(values: pd.Series) -> pa.Array:
    """A column's distinct cells as text (``str()`` of each), found in Arrow: an outgoing CSV's cells never
    made Python strings one by one (a national table's names, codes and coordinates go no further)."""
    if hasattr(values.array, "__arrow_array__") or pd.api.types.is_integer_dtype(values.dtype):
        # an outgoing CSV's cells (Arrow's) and integers, cast as str() writes them (unless Arrow cannot)
        with contextlib.suppress(pa.ArrowNotImplementedError, pa.ArrowInvalid):
            return pc.unique(pa.array(values)).cast(pa.string())
    return pa.array([str(v) for v in pd.unique(values)], pa.string())


def _numbers_in(distinct: pa.Array) -> list[str]:
    """The distinct cells that may hold a phone number or a citizen ID, with digits of any script as ASCII
    (a number typed in Thai digits, ๐๘๑-..., is the same number)."""
    found = distinct.filter(pc.match_substring_regex(distinct, _NINE_IN_A_ROW)).to_pylist()
    return [text if text.isascii() else text.translate(_ascii_digits()) for text in found]


def scan_table(table: str, frame: pd.DataFrame, private_columns: Iterable[str]) -> list[Leak]:
    """Private column names, and phone numbers or valid citizen IDs in any cell (strings and integers)."""
    leaks = [Leak(table, c, "private_column") for c in frame.columns if c in set(private_columns)]
    for column in frame.columns:
        values = frame[column].dropna()
        if values.dtype.kind in "fbcmM":  # floats, booleans and timestamps cannot hold these
            continue
        distinct = _numbers_in(_unique_text(values))
        if any(PHONE.search(v) for v in distinct):
            leaks.append(Leak(table, column, "phone_number"))
        if any(citizen_id_valid(m) for v in distinct for m in DIGITS13.findall(v)):
            leaks.append(Leak(table, column, "citizen_id"))
    return leaks


def text_cells(frame: pd.DataFrame) -> dict[str, pa.Array]:
    """Per text column, the distinct cell values long enough to identify someone, trimmed as ``str.strip()``
    trims (HTML split at tags). In Arrow but for the cells with a tag: a national table's names stay Arrow's."""
    out = {}
    for column in frame.columns:
        values = frame[column].dropna()
        if values.dtype.kind in "iufbcmM":
            continue
        distinct = _unique_text(values)
        tagged = pc.fill_null(pc.match_substring(distinct, "<"), False)
        plain = pc.utf8_trim(distinct.filter(pc.invert(tagged)), _python_spaces())
        parts = [part.strip() for v in distinct.filter(tagged).to_pylist() for part in _TAGS.split(v)]
        cells = pc.unique(pa.concat_arrays([plain, pa.array(parts, pa.string())]))
        out[column] = cells.filter(pc.greater_equal(pc.utf8_length(cells), MIN_VALUE_LENGTH))
    return out


@functools.cache
def _python_spaces() -> str:
    return "".join(map(chr, python_text.spaces()))


def private_value_leaks(tables: list[tuple[str, pd.DataFrame]], received: Path, fields: list[str]) -> list[Leak]:
    """Outgoing cells equal to a value held this round in a personal or internal field.

    The round's rows can be 12.8 million households: DuckDB streams the received
    Parquet file and semi-joins it to the (small) set of outgoing cells.
    """
    if not fields or not table_exists(received):
        return []
    # Arrow columns, not a Python tuple per cell made into a frame: that cost more than the scan of the round
    candidates = [
        pa.table({"tbl": pa.repeat(table, len(values)), "col": pa.repeat(column, len(values)), "value": values})
        for table, frame in tables
        for column, values in text_cells(frame).items()
        if len(values)
    ]
    if not candidates:
        return []
    # capped, a guard: the round's values (50 million in a national round's four personal columns) only stream
    con = duckdb.connect(config={"memory_limit": "1GB"})
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{received}')").fetchall()}
    # trimmed as the outgoing cells are, trimming only what needs it (a copy of every cell costs half the scan);
    # no length test: every candidate is long enough already
    held = " UNION ALL ".join(
        f"SELECT CASE WHEN {f} LIKE ' %' OR {f} LIKE '% ' THEN trim({f}) ELSE {f} END AS v "
        f"FROM read_parquet('{received}')"
        for f in fields
        if f in present
    )
    if not held:
        return []
    con.register("candidates", pa.concat_tables(candidates))
    # the hash table on the outgoing cells, the round's values streamed past it: left to choose, DuckDB builds
    # it on the round's 50 million values (it misjudges the Parquet files' size), holds gigabytes and spills
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    found = con.execute(
        f"SELECT DISTINCT c.tbl, c.col FROM ({held}) r JOIN candidates c ON c.value = r.v ORDER BY 1, 2"
    ).fetchall()
    return [Leak(table, column, "private_value") for table, column in found]


def formula_leaks(table: str, frame: pd.DataFrame) -> list[Leak]:
    """Columns of a CSV with a cell that a spreadsheet would run as a formula (numbers like -5 are not)."""
    leaks = []
    for column in frame.columns:
        text = _texts(frame[column].dropna())  # text cells only, as they are
        # only a cell whose first character is not a letter or digit can run (catalog.files.runs_as_formula)
        maybe = text.filter(pc.invert(pc.utf8_is_alnum(pc.utf8_slice_codeunits(text, 0, 1))))
        if any(runs_as_formula(v) for v in maybe.to_pylist()):
            leaks.append(Leak(table, column, "formula"))
    return leaks


def _texts(values: pd.Series) -> pa.Array:
    """A column's distinct text cells as they are (not numbers or other values in an object column)."""
    if hasattr(values.array, "__arrow_array__"):
        arrow = pa.array(values.array)
        if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
            return pc.unique(arrow)
    return pa.array([v for v in pd.unique(values) if type(v) is str], pa.string())


def file_cells(name: str, data: bytes) -> pd.DataFrame:
    """An outgoing file as its reader sees it: a CSV's cells as text under its header, anything else as one text.

    Every CSV cell stays the text it holds: no null markers ("NA", "-nan" are text like any other) and line
    breaks inside a quoted cell are read as part of it.
    """
    if not name.endswith(".csv"):
        return pd.DataFrame({"text": [data.decode("utf-8")]})
    parse = arrow_csv.ParseOptions(newlines_in_values=True)
    names = arrow_csv.open_csv(io.BytesIO(data), parse_options=parse).schema.names
    options = arrow_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False)
    return arrow_csv.read_csv(io.BytesIO(data), parse_options=parse, convert_options=options).to_pandas()


def is_workbook(name: str, data: bytes) -> bool:
    """An Excel workbook (a ZIP holding ``xl/workbook.xml``), as every correction workbook is, whatever its name."""
    if name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        return True
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def refuse_public_delivery(name: str, dataset: dict, owner: str) -> None:
    """Refuse to put a correction workbook into ``dataset`` unless it is private and owned by ``owner``.

    A correction workbook holds an office's personal fields as sent: its only place is a private
    dataset of that office's organisation (catalog/office_delivery.py). ``dataset`` is what is sent
    to ``package_create`` or what ``package_show`` returned.
    """
    held_by = (dataset.get("organization") or {}).get("name") or dataset.get("owner_org")
    leaks = [Leak(name, "private", "correction_workbook_public")] if dataset.get("private") is not True else []
    if held_by != owner:
        leaks.append(Leak(name, f"owner_org={held_by}", "correction_workbook_other_office"))
    if leaks:
        raise PrivacyError(leaks)


def scan_files(files: list[tuple[str, bytes]], spec: DatasetSpec | None, received: Path | None) -> list[Leak]:
    """Every test on every outgoing file (name, bytes); an empty list is the only licence to publish.

    ``spec`` and ``received`` name the collection whose rows the files come from (its private
    fields and this round's values in them); without them only the patterns are looked for.
    A workbook is refused whole: correction workbooks go to their office only, never to the public.
    """
    workbooks = [Leak(name, "file", "correction_workbook") for name, data in files if is_workbook(name, data)]
    files = [(name, data) for name, data in files if not is_workbook(name, data)]
    private = spec.private_field_names if spec else []
    labels = private_labels(spec) if spec else set()

    def one_file(file: tuple[str, bytes]) -> tuple[pd.DataFrame, list[Leak], list[Leak], list[Leak]]:
        """The file's cells, and its leaks by test: private columns and numbers, page headers, formulas."""
        name, data = file
        frame = file_cells(name, data)
        headers = html_header_leaks(name, data, labels) if _is_html(name) else []
        formulas = formula_leaks(name, frame) if name.endswith(".csv") else []
        return frame, scan_table(name, frame, private), headers, formulas

    # two files at a time: reading a file's cells and finding its distinct ones is Arrow's, which lets another run
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="privacy-scan") as pool:
        frames, *by_test = zip(*pool.map(one_file, files), strict=True) if files else ((), (), (), ())
    tables = list(zip([name for name, _ in files], frames, strict=True))
    leaks = [leak for found in by_test for leaks_of_file in found for leak in leaks_of_file]  # by test, then file
    leaks = workbooks + leaks
    if spec is None or received is None:
        return leaks
    identifying = [
        f["name"]
        for f in spec.fields
        if f.get("privacy") in ("personal", "internal") and f.get("type", "string") == "string"
    ]
    return leaks + private_value_leaks(tables, received, identifying)


# -- the HTML report ------------------------------------------------------------------------------------------------


def _is_html(name: str) -> bool:
    return name.lower().endswith((".html", ".htm"))


def private_labels(spec: DatasetSpec) -> set[str]:
    """How a non-public field can be named in a page: its name, English and Thai titles and its aliases.

    A published page shows columns by their titles (``ชื่อผู้ใหญ่บ้าน <span>Village headman's name</span>``),
    not by field names, so the names alone would let a personal column through.
    """
    labels: set[str] = set()
    for f in spec.fields:
        if f.get("privacy") in NON_PUBLIC:
            labels |= {f["name"], f.get("title", ""), f.get("title_th", ""), *f.get("aliases", [])}
    return {_label(label) for label in labels if label.strip()}


def _label(text: str) -> str:
    return " ".join(text.split()).casefold()


class _HeaderCells(HTMLParser):
    """Collects the text of every table header cell (``<th>``), each text piece on its own."""

    #: tags that end a header cell even when its ``</th>`` is left out, as HTML allows
    _ENDS_CELL = frozenset({"td", "tr", "thead", "tbody", "tfoot", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[list[str]] = []
        self._in_header = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "th":
            self._in_header = True
            self.cells.append([])
        elif tag in self._ENDS_CELL:
            self._in_header = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" or tag in self._ENDS_CELL:
            self._in_header = False

    def handle_data(self, data: str) -> None:
        if self._in_header and data.strip():
            self.cells[-1].append(data)


def html_header_leaks(name: str, data: bytes, labels: set[str]) -> list[Leak]:
    """A table in the page with a column headed by a non-public field (its name, title or alias).

    The page is read as a reader sees its tables: a header cell is the column. The cell matches
    when its whole text, a piece of it (Thai and English are separate pieces: ``ไทย <span>English</span>``)
    or a side of ``ไทย / English`` is the field's label; the cell's values would be that field's values,
    even when none of them looks like a phone number or an ID.
    """
    if not labels:
        return []
    parser = _HeaderCells()
    parser.feed(data.decode("utf-8", errors="replace"))
    leaks = []
    for pieces in parser.cells:
        whole = " ".join(pieces)
        candidates = {whole, *pieces, *whole.split(" / "), *(p for piece in pieces for p in piece.split(" / "))}
        hit = sorted({_label(c) for c in candidates} & labels)
        if hit:
            leaks.append(Leak(name, hit[0], "private_column"))
    return sorted(set(leaks), key=str)
