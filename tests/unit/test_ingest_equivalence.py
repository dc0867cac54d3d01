"""The streaming ingest gives exactly the rows and file records the row-by-row ingest gave.

``_legacy_read_round`` below is a verbatim copy of the implementation before streaming
(commit 28a6c13: Python ``csv`` rows, ``normalise_column`` per distinct value, one
pandas frame); it is the reference the ingest as a round runs it (sorted into province parts, each part
read: ``tests.ingest_parts``) is compared against: the same rows and records, whatever part holds them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import unicodedata
import zipfile
from dataclasses import asdict

import pandas as pd
import pytest

import samples.village_profile as generator
from domain.rounds import BE_OFFSET, THAI_MONTHS, THAI_MONTHS_ABBR, parse_round
from domain.work import ROW_ID_STRIDE
from pipelines.ingest.decode import decode_text, sniff_container
from pipelines.ingest.landing import archive_file, find_files
from pipelines.ingest.normalise import header_matcher
from pipelines.ingest.problems import FileProblem
from pipelines.ingest.received import FileRecord
from pipelines.ingest.tables import read_csv
from tests.ingest_parts import ingest

# --- the implementation before streaming, verbatim but for names -------------------------------------------------

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")
_THAI_DATE = re.compile(r"(\d{1,2})\s*([ก-๙.]+)\s*(\d{4}|\d{2})")
_MONTH_BY_NAME = {
    name.replace(".", ""): number
    for number, names in enumerate(zip(THAI_MONTHS, THAI_MONTHS_ABBR, strict=True), start=1)
    for name in names
}
HEADER_SEARCH_ROWS = 10
_DELIMITERS = (",", "|", ";", "\t")


def legacy_clean_text(value):
    value = _SPACES.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFC", value))).strip()
    return value or None


def _year(text):
    year = int(text)
    if len(text) == 2:
        year += 2500
    return year - BE_OFFSET if year > 2400 else year


def legacy_normalise_date(value):
    text = value.translate(_THAI_DIGITS)
    if m := _ISO.fullmatch(text):
        year, month, day = _year(m[1]), int(m[2]), int(m[3])
    elif m := _DMY.fullmatch(text):
        day, month, year = int(m[1]), int(m[2]), _year(m[3])
    elif (m := _THAI_DATE.fullmatch(text)) and m[2].replace(".", "") in _MONTH_BY_NAME:
        day, month, year = int(m[1]), _MONTH_BY_NAME[m[2].replace(".", "")], _year(m[3])
    else:
        return value
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return value


def legacy_normalise_number(value):
    text = value.translate(_THAI_DIGITS)
    return text.replace(",", "") if _THOUSANDS.fullmatch(text) else text


def _legacy_rewrite(field):
    kind = field.get("type", "string")
    if kind in ("integer", "number"):
        return legacy_normalise_number
    if kind == "date":
        return legacy_normalise_date
    if kind == "string" and "pattern" in field.get("constraints", {}):
        return lambda v: v.translate(_THAI_DIGITS)
    return None


def _legacy_normalise_column(values, field):
    rewrite = _legacy_rewrite(field)
    mapping = {}
    for raw in values.dropna().unique():
        text = legacy_clean_text(str(raw))
        mapping[raw] = rewrite(text) if (text is not None and rewrite) else text
    return values.map(mapping).astype(object).where(values.notna(), None)


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _find_table(name, lines, match_header):
    iterator = iter(lines)
    for number, cells in enumerate(iterator, start=1):
        if number > HEADER_SEARCH_ROWS:
            return None
        columns = match_header(cells)
        if columns:
            break
    else:
        return None
    header_row, raw_header = number, cells
    rows = []
    blank = 0
    for number, cells in enumerate(iterator, start=header_row + 1):
        if any(legacy_clean_text(c) for c in cells):
            rows.append((number, cells))
        else:
            blank += 1
    return dict(name=name, header_row=header_row, columns=columns, raw_header=raw_header, rows=rows, blank_rows=blank)


def legacy_read_csv(text, match_header):
    first_lines = text.splitlines()[:HEADER_SEARCH_ROWS]
    delimiter = max(_DELIMITERS, key=lambda d: sum(line.count(d) for line in first_lines))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    sheet = _find_table("", reader, match_header)
    if sheet is None:
        raise FileProblem("not_a_table")
    return [sheet]


def _legacy_read_xlsx(data, match_header):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise FileProblem("corrupt_xlsx", type(exc).__name__) from exc
    sheets = []
    try:
        for worksheet in workbook.worksheets:
            lines = ([_cell_text(v) for v in row] for row in worksheet.iter_rows(values_only=True))
            sheet = _find_table(worksheet.title, lines, match_header)
            if sheet is not None:
                sheets.append(sheet)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise FileProblem("corrupt_xlsx", type(exc).__name__) from exc
    finally:
        workbook.close()
    if not sheets:
        raise FileProblem("not_a_table")
    return sheets


def _legacy_file_rows(sheets, spec, record):
    out = []
    names = spec.field_names
    for sheet in sheets:
        positions = {name: i for i, name in enumerate(sheet["columns"]) if name}
        record.unknown_columns += [
            h for h, name in zip(sheet["raw_header"], sheet["columns"], strict=False) if h and not name
        ]
        record.missing_columns += [n for n in names if n not in positions]
        record.blank_rows_skipped += sheet["blank_rows"]
        for number, cells in sheet["rows"]:
            values = [cells[positions[n]] if n in positions and positions[n] < len(cells) else None for n in names]
            out.append([*values, record.sha256, sheet["name"], number])
    record.sheets = ",".join(s["name"] for s in sheets)
    record.header_row = sheets[0]["header_row"]
    record.rows_received = len(out)
    if not out:
        raise FileProblem("no_data_rows")
    return out


def _legacy_read_round(spec, landing_dirs, archive):
    rows, records, seen = [], [], {}
    match = header_matcher(spec.fields)
    for landed in find_files(landing_dirs):
        archived = archive_file(archive, landed)
        record = FileRecord(landed.sha256, landed.relative_name, landed.size, str(archived), landed.received_at)
        records.append(record)
        if landed.sha256 in seen:
            record.status, record.problem_code = "duplicate", "duplicate_file"
            problem = FileProblem("duplicate_file", seen[landed.sha256])
            record.message_th, record.message_en = problem.message_th, problem.message_en
            continue
        seen[landed.sha256] = landed.relative_name
        try:
            if sniff_container(landed.data) == "zip":
                record.format = "xlsx"
                sheets = _legacy_read_xlsx(landed.data, match)
            else:
                text, record.encoding = decode_text(landed.data)
                record.format = "csv"
                sheets = legacy_read_csv(text, match)
            rows.extend(_legacy_file_rows(sheets, spec, record))
        except FileProblem as problem:
            record.status, record.problem_code = "rejected", problem.code
            record.message_th, record.message_en = problem.message_th, problem.message_en
            record.rows_received = 0
    frame = pd.DataFrame(rows, columns=[*spec.field_names, "_file", "_sheet", "_row"])
    for name in spec.field_names:
        frame[name] = _legacy_normalise_column(frame[name], spec.field(name))
    frame["_row"] = frame["_row"].astype("int64")
    files = pd.DataFrame([asdict(r) for r in records], columns=list(FileRecord.__dataclass_fields__))
    return frame, files


# --- the comparisons ---------------------------------------------------------------------------------------------


def _as_objects(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None).reset_index(drop=True)


@pytest.fixture(scope="module")
def village_round(tmp_path_factory):
    root = tmp_path_factory.mktemp("equivalence")
    landing = root / "landing" / "2563-10"
    generator.generate(parse_round("2563-10"), landing, provinces=["75", "83"])
    return root, landing


def test_streaming_ingest_gives_the_same_rows_and_files_as_before(village_spec, village_round):
    root, landing = village_round
    expected_rows, expected_files = _legacy_read_round(village_spec, [landing], root / "archive_old")
    got = ingest(village_spec, [landing], root / "new", batch_rows=97)
    rows = got.read_rows()
    assert got.rows == len(expected_rows) > 400
    # each part's rows numbered from its province's offset, in the files' order
    assert rows.index.name == "_row_id" and rows.index.is_unique
    assert ((rows.index // ROW_ID_STRIDE).astype(str).str.zfill(2) == rows["village_code"].str[:2]).all()
    assert list(rows.columns) == list(expected_rows.columns)
    lineage = ["_file", "_sheet", "_row"]
    pd.testing.assert_frame_equal(
        _as_objects(rows.sort_values(lineage, kind="stable")), _as_objects(expected_rows.sort_values(lineage))
    )
    got_files = got.files.sort_values("name").reset_index(drop=True)
    expected_files = expected_files.sort_values("name").reset_index(drop=True)
    assert {"utf-8", "utf-8-sig", "cp874"} <= set(got_files["encoding"]) and "xlsx" in set(got_files["format"])
    assert set(got_files["status"]) >= {"ok", "rejected"}
    # calamine ends a sheet at its last cell with a value: empty rows after it are not rows at all
    # (openpyxl counted them as blank rows skipped). Everything else about the files is the same.
    xlsx = got_files["format"] == "xlsx"
    assert (got_files.loc[xlsx, "blank_rows_skipped"] <= expected_files.loc[xlsx, "blank_rows_skipped"]).all()
    ignored = ["archived_as", "blank_rows_skipped"]
    pd.testing.assert_frame_equal(
        got_files.drop(columns=ignored), expected_files.drop(columns=ignored), check_dtype=False
    )
    csv_files = ~xlsx
    assert got_files.loc[csv_files, "blank_rows_skipped"].tolist() == (
        expected_files.loc[csv_files, "blank_rows_skipped"].tolist()
    )


_PIECES = ["a", "ก", "1", "๒", " ", "", '"', ",", '""', "\u200b", "\u00a0", "\u3000", ";", "x,y", '"q,"', "\t", "|"]
_BREAKS = ["\n", "\r", "\r\n", '"a\nb"']


def _random_text(rng: random.Random, header: list[str], delimiter: str) -> str:
    pieces = _PIECES + _BREAKS if rng.random() < 0.3 else _PIECES
    lines = [delimiter.join(header)]
    for _ in range(rng.randint(0, 12)):
        roll = rng.random()
        if roll < 0.1:
            lines.append("")
        elif roll < 0.2:
            lines.append(delimiter * (len(header) - 1))
        else:
            width = len(header) if rng.random() < 0.9 else rng.randint(1, len(header) + 2)
            cells = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) for _ in range(width)]
            lines.append(delimiter.join(cells))
    ending = rng.choice(["\n", "\r\n", "\r"])
    return ending.join(lines) + rng.choice(["", ending, ending * 2])


def test_csv_bodies_read_as_pythons_csv_reads_them(village_spec):
    """Arrow's reader where it agrees with ``csv``; ``csv`` itself for anything odd (checked on random files)."""
    match = header_matcher(village_spec.fields)
    header = ["รหัสหมู่บ้าน", "หมู่ที่", "ชื่อหมู่บ้าน", "อื่น"]
    rng = random.Random(20201015)
    for _ in range(600):
        delimiter = rng.choice([",", ";", "|", "\t"])
        text = _random_text(rng, header, delimiter)
        try:
            expected = legacy_read_csv(text, match)[0]
        except FileProblem:  # the random text may make another delimiter win the sniffing
            with pytest.raises(FileProblem):
                read_csv(text, match)
            continue
        got = read_csv(text, match)[0]
        assert (got.header_row, got.blank_rows, got.columns) == (
            expected["header_row"],
            expected["blank_rows"],
            expected["columns"],
        ), repr(text)
        want = {
            name: [cells[i] if i < len(cells) else None for _, cells in expected["rows"]]
            for i, name in enumerate(expected["columns"])
            if name
        }
        want["_row"] = [number for number, _ in expected["rows"]]
        assert got.rows.to_pydict() == want, repr(text)
