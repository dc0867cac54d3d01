"""A realistic month of raw village-profile files, as field offices really send them.

:func:`generate` writes one round's files for some provinces (or all of Thailand)
into a flat folder, and returns (and writes next to the folder) a
:class:`SampleTruth` that says exactly what was put in: every file, its format,
the faults injected row by row, the tambons that sent nothing, the villages left
out, the duplicated files and the villages sent twice.

What is realistic here, and how often (per file unless said otherwise):

* each tambon's two workers send one file (80%) or one file each (20%); 2% of
  tambons send nothing; 1.5% of villages are missing from their tambon's file;
  3% of two-file tambons send one village twice (a duplicate row across files);
  about one file in 500 arrives twice, byte for byte, under another name;
* CSV UTF-8 40%, CSV UTF-8 with BOM 25%, CSV Windows-874 20%, XLSX 15% (half
  with title rows above the header); Thai headers 90%, English 10%; a stray
  space or zero-width space in a header 5%; file names meaningless;
* noise that normalisation must accept: Thai digits throughout (10% of files),
  thousands separators (30% of CSV files), stray spaces / zero-width spaces in
  2% of cells, blank trailing rows, numeric XLSX cells, three date spellings;
* faults that validation must reject, about 0.2-0.5% of rows each (see
  :data:`FAULT_RATES`), at most one per row;
* about four unreadable files (not a table, empty, corrupt XLSX, UTF-16).

Every count drawn from a rate is at least one when the run is big enough to
exercise it (>= 500 rows, >= 50 tambons or >= 50 files): a test run of two
provinces meets every case. Village-level values (households, population,
water, road...) are a hash of (seed, village code) with a small monthly drift,
so a village looks the same from round to round; everything about files and
faults is drawn from a generator seeded by (seed, round).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from domain.declarations import DATASETS_DIR
from domain.rounds import BE_OFFSET, THAI_MONTHS_ABBR, Round, parse_round
from registry.geography import amphoes as amphoe_table
from registry.geography import provinces as province_table
from registry.geography import tambons as tambon_table
from registry.villages import (
    KM_PER_DEG_LAT,
    hash_normal,
    hash_uniform,
    load_villages,
    registry_path,
    tambon_centres,
)
from samples import names
from samples.arrivals import stamp_arrivals

DATASET = "village_profile"
TRUTH_VERSION = 1

#: Per-row rate of each injected fault (``duplicate_village`` comes from the
#: two-file tambons instead, see :data:`DUPLICATE_VILLAGE_RATE`).
FAULT_RATES: dict[str, float] = {
    "missing_required": 0.005,
    "invalid_enum": 0.004,
    "negative_number": 0.002,
    "not_a_number": 0.003,
    "population_sum_mismatch": 0.005,
    "village_no_mismatch": 0.003,
    "unknown_village": 0.002,
    "date_outside_round": 0.004,
    "bad_date": 0.002,
    "coordinates_swapped": 0.003,
    "coordinates_zero": 0.003,
    "coordinates_far": 0.002,
}
DUPLICATE_VILLAGE_RATE = 0.03  # of tambons whose two workers each send a file
FAULT_KINDS: tuple[str, ...] = (*FAULT_RATES, "duplicate_village")

#: The row code the pipeline (validation/messages.yaml) is expected to give each fault.
EXPECTED_CODE: dict[str, str] = {
    "missing_required": "missing_value",
    "invalid_enum": "not_in_list",  # "wrong_type" when the field is a boolean
    "negative_number": "below_minimum",
    "not_a_number": "wrong_type",
    "population_sum_mismatch": "sum_mismatch",
    "village_no_mismatch": "code_suffix_mismatch",
    "unknown_village": "unknown_code",
    "date_outside_round": "date_outside_round",
    "bad_date": "wrong_type",
    "coordinates_swapped": "coordinates_swapped",
    "coordinates_zero": "coordinates_zero",
    "coordinates_far": "coordinates_far_from_tambon",
    "duplicate_village": "duplicate_row",
}
#: The file code the pipeline is expected to give each bad file.
BAD_FILE_CODE = {
    "not_a_table": "not_a_table",
    "pdf": "unsupported_format",
    "empty": "empty_file",
    "corrupt_xlsx": "corrupt_xlsx",
    "unknown_encoding": "unknown_encoding",
}

SILENT_TAMBON_RATE = 0.02
MISSING_VILLAGE_RATE = 0.015
TWO_FILE_RATE = 0.20
DUPLICATE_FILE_RATE = 1 / 500
CELL_NOISE_RATE = 0.02
JITTER_M = 300.0
FAR_MIN_KM = 60.0  # coordinates_far: at least this far from the tambon's centre

FORMATS = (  # (format, encoding, share of files)
    ("csv", "utf-8", 0.40),
    ("csv", "utf-8-sig", 0.25),
    ("csv", "cp874", 0.20),
    ("xlsx", None, 0.15),
)
DATE_STYLES = (("iso", 0.4), ("dmy_be", 0.4), ("thai", 0.2))

WATER = {
    "ประปาหมู่บ้าน": 0.40,
    "น้ำบรรจุขวด": 0.22,
    "บ่อบาดาล": 0.17,
    "ประปาส่วนภูมิภาค": 0.10,
    "น้ำฝน": 0.07,
    "บ่อน้ำตื้น": 0.025,
    "แหล่งน้ำธรรมชาติ": 0.015,
}
ROAD = {"คอนกรีต": 0.46, "ลาดยาง": 0.37, "ลูกรัง": 0.13, "ดิน": 0.04}
OCCUPATION = {
    "default": {
        "เกษตรกรรม": 0.74, "รับจ้างทั่วไป": 0.11, "ค้าขาย": 0.05, "ปศุสัตว์": 0.03,
        "อุตสาหกรรม": 0.03, "ประมง": 0.015, "รับราชการ": 0.01, "อื่นๆ": 0.015,
    },
    "coastal": {
        "เกษตรกรรม": 0.62, "ประมง": 0.13, "รับจ้างทั่วไป": 0.11, "ค้าขาย": 0.06,
        "ปศุสัตว์": 0.02, "อุตสาหกรรม": 0.03, "รับราชการ": 0.01, "อื่นๆ": 0.02,
    },
    "industrial": {
        "เกษตรกรรม": 0.42, "รับจ้างทั่วไป": 0.22, "อุตสาหกรรม": 0.16, "ค้าขาย": 0.10,
        "ประมง": 0.03, "ปศุสัตว์": 0.02, "รับราชการ": 0.02, "อื่นๆ": 0.03,
    },
}  # fmt: skip
COASTAL = set(
    [
        "20",
        "21",
        "22",
        "23",
        "24",
        "75",
        "76",
        "77",
        "80",
        "81",
        "82",
        "83",
        "84",
        "85",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "96",
    ]
)
INDUSTRIAL = set(["11", "12", "13", "14", "74"])

#: Wrong spellings an office really types for an enum or mi/mai-mi field.
INVALID_ENUM = {
    "drinking_water_source": ("ประปา", "น้ำประปา", "บ่อ", "น้ำบาดาล", "ซื้อน้ำ"),
    "has_electricity": ("มีบางส่วน", "ใช่", "มีบางครัวเรือน"),
    "has_internet": ("มีบางจุด", "ไม่แน่ใจ", "มี(บางส่วน)"),
    "access_road": ("ถนนลาดยาง", "หินคลุก", "ลาดยางบางส่วน"),
    "main_occupation": ("ทำนา", "เกษตร", "ทำสวนยาง", "รับจ้าง"),
}
MISSING_FIELDS = (
    "village_name", "survey_date", "households", "drinking_water_source",
    "has_electricity", "has_internet", "access_road", "main_occupation",
)  # fmt: skip
NOT_A_NUMBER = ("ไม่ทราบ", "ไม่มีข้อมูล", "n/a", "ประมาณ {v}", "{v} หลัง", "-{v}-", "สองร้อย")

_TO_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
ZWSP = "\u200b"
NBSP = "\u00a0"


# --------------------------------------------------------------------------- truth


@dataclass
class FaultTruth:
    """One injected fault: ``row`` counts data rows from 1; ``line`` is the row in the
    file as Excel shows it (header and title rows counted)."""

    row: int
    line: int
    village_code: str
    fault: str
    field: str | None
    value: str | None
    expected_code: str


@dataclass
class FileTruth:
    name: str
    sha256: str
    size: int
    format: str  # csv | xlsx | bad
    encoding: str | None  # utf-8 | utf-8-sig | cp874 | None (xlsx, bad)
    header_language: str | None  # th | en | None
    header_row: int | None  # 1-based line of the header (None for bad files)
    title_rows: int
    rows: int  # data rows written (header, title and blank rows excluded)
    tambon_code: str | None
    delimiter: str | None = None
    date_style: str | None = None  # iso | dmy_be | thai
    thai_digits: bool = False
    thousands_separators: bool = False
    blank_trailing_rows: int = 0
    header_glitch: bool = False
    faults: list[FaultTruth] = field(default_factory=list)
    bad_kind: str | None = None  # not_a_table | pdf | empty | corrupt_xlsx | unknown_encoding
    expected_problem: str | None = None  # the pipeline's file code for a bad or copied file
    duplicate_of: str | None = None  # a byte-identical copy of this earlier file


@dataclass
class SampleTruth:
    dataset: str
    round: str  # Gregorian YYYY-MM
    round_be: str
    seed: int
    provinces: list[str]
    registry: str  # "synthetic" or the registry CSV path
    files: list[FileTruth]
    silent_tambons: list[str]  # tambons that sent nothing at all
    missing_villages: list[str]  # villages of reporting tambons left out of every file
    duplicate_files: list[tuple[str, str]]  # (original, byte-identical copy)
    duplicate_villages: list[dict[str, Any]]  # {village_code, rows: [{file,row,line}], kept}
    summary: dict[str, Any]
    version: int = TRUTH_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleTruth:
        data = dict(data)
        data["files"] = [FileTruth(**{**f, "faults": [FaultTruth(**x) for x in f["faults"]]}) for f in data["files"]]
        data["duplicate_files"] = [tuple(p) for p in data["duplicate_files"]]
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> SampleTruth:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def faults(self) -> list[tuple[str, FaultTruth]]:
        """Every injected fault as (file name, fault), byte-identical copies excluded."""
        return [(f.name, x) for f in self.files if f.duplicate_of is None for x in f.faults]

    def file(self, name: str) -> FileTruth:
        return next(f for f in self.files if f.name == name)


def bad_file_truth(name: str, payload: bytes, kind: str) -> FileTruth:
    """The truth of a deliberately unreadable file (``kind``: a key of :data:`BAD_FILE_CODE`)."""
    return FileTruth(
        name=name,
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        format="bad",
        encoding="utf-16" if kind == "unknown_encoding" else None,
        header_language=None,
        header_row=None,
        title_rows=0,
        rows=0,
        tambon_code=None,
        bad_kind=kind,
        expected_problem=BAD_FILE_CODE[kind],
    )


def copied_file_truth(original: FileTruth, copy_name: str) -> tuple[FileTruth, tuple[str, str]]:
    """The truth of a byte-identical copy of ``original``, and (kept, dropped) names.

    The pipeline ingests the name that sorts first; the other is the duplicate, its faults never reached.
    """
    copy = FileTruth(**{**asdict(original), "name": copy_name, "faults": list(original.faults)})
    kept, dropped = sorted((original, copy), key=lambda t: t.name)
    dropped.duplicate_of = kept.name
    dropped.expected_problem = "duplicate_file"
    dropped.faults = [FaultTruth(**asdict(x)) for x in dropped.faults]
    return copy, (kept.name, dropped.name)


def point_to_kept_files(duplicate_rows: list[dict[str, Any]], renamed: dict[str, str]) -> None:
    """Row references of duplicated units name the copy that is ingested, after file copies were added."""
    for entry in duplicate_rows:
        for ref in (*entry["rows"], entry["kept"]):
            ref["file"] = renamed.get(ref["file"], ref["file"])


def truth_path(out_dir: Path) -> Path:
    """Where :func:`generate` writes the truth: beside the landing folder, not in it."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}.truth.json"


# --------------------------------------------------------------------------- helpers


@cache
def schema_fields() -> tuple[dict[str, Any], ...]:
    schema = json.loads((DATASETS_DIR / DATASET / "schema.json").read_text(encoding="utf-8"))
    return tuple(schema["fields"])


def _choose(rng: np.random.Generator, n: int, rate: float, minimum: int = 0) -> np.ndarray:
    """A random subset of range(n) of binomial size (at least ``minimum``), as indices."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    k = min(n, max(int(rng.binomial(n, rate)), minimum))
    return np.sort(rng.choice(n, size=k, replace=False))


def _weighted(u: np.ndarray, table: dict[str, float]) -> np.ndarray:
    values = np.array(list(table), dtype=object)
    cdf = np.cumsum(np.array(list(table.values()), dtype=np.float64))
    return values[np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(values) - 1)]


def _pick(rng: np.random.Generator, options: tuple[Any, ...] | list[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _region(province_code: str) -> str:
    first = province_code[0]
    return {"3": "northeast", "4": "northeast", "5": "north", "8": "south", "9": "south"}.get(first, "central")


def _km(lat1, lon1, lat2, lon2):
    """Equirectangular distance in km (fine for the distances checked here)."""
    mean = np.radians((np.asarray(lat1) + np.asarray(lat2)) / 2.0)
    dy = (np.asarray(lat2) - np.asarray(lat1)) * KM_PER_DEG_LAT
    dx = (np.asarray(lon2) - np.asarray(lon1)) * KM_PER_DEG_LAT * np.cos(mean)
    return np.hypot(dx, dy)


def _offset_points(rng, lat, lon, min_km, max_km):
    n = len(lat)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    dist = np.sqrt(rng.uniform(min_km**2, max_km**2, n))
    new_lat = lat + dist * np.sin(angle) / KM_PER_DEG_LAT
    new_lon = lon + dist * np.cos(angle) / (KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    return new_lat, new_lon


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile whose entries all carry one fixed timestamp (byte-identical XLSX)."""

    fixed_time = (2020, 10, 1, 0, 0, 0)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.fixed_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        data = Path(filename).read_bytes()
        self.writestr(self._info(arcname or Path(filename).name), data)


def _xlsx_bytes(sheets: list[tuple[str, list[list[Any]]]], when: dt.datetime, author: str) -> bytes:
    """Write an XLSX with openpyxl (write-only) with pinned properties and zip times."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.properties.creator = author
    workbook.properties.lastModifiedBy = author
    workbook.properties.created = when
    workbook.properties.modified = when
    buffer = io.BytesIO()
    archive = _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    archive.fixed_time = (when.year, when.month, when.day, when.hour, when.minute, 0)
    ExcelWriter(workbook, archive).save()
    return buffer.getvalue()


def _sheet_title(text: str) -> str:
    for bad in "[]:*?/\\":
        text = text.replace(bad, " ")
    return text[:31]


# --------------------------------------------------------------------------- attributes


def _village_attributes(villages: pd.DataFrame, seed: int, round_: Round) -> dict[str, np.ndarray]:
    """Stable per-village values: a hash of (seed, code), plus a small monthly drift."""
    keys = villages["village_code"].astype(np.int64).to_numpy()
    salt = (seed % 1_000_000) * 64
    month_salt = salt + 32 + (round_.year * 12 + round_.month) * 1_000_003

    base = np.exp(np.log(140.0) + 0.55 * hash_normal(keys, salt + 1))
    drift_on = hash_uniform(keys, month_salt) < 0.3
    drift = np.where(drift_on, np.floor((hash_uniform(keys, month_salt + 1) - 0.5) * 7), 0)
    households = np.clip(np.rint(base) + drift, 30, 600).astype(np.int64)
    per_household = 2.4 + 1.2 * hash_uniform(keys, salt + 2)
    total = np.rint(households * per_household).astype(np.int64)
    male_share = 0.49 + 0.012 * hash_normal(keys, salt + 3)
    male = np.rint(total * male_share).astype(np.int64)

    province = villages["province_code"].to_numpy()
    occupation = np.empty(len(keys), dtype=object)
    kind = np.where(
        np.isin(province, list(INDUSTRIAL)),
        "industrial",
        np.where(np.isin(province, list(COASTAL)), "coastal", "default"),
    )
    u_occ = hash_uniform(keys, salt + 4)
    for name, table in OCCUPATION.items():
        mask = kind == name
        occupation[mask] = _weighted(u_occ[mask], table)

    regions = np.array([_region(p) for p in province], dtype=object)
    product = np.full(len(keys), "", dtype=object)
    has_product = hash_uniform(keys, salt + 5) < 0.40
    u_prod = hash_uniform(keys, salt + 6)
    for name, options in names.PRODUCTS.items():
        mask = has_product & (regions == name)
        index = np.minimum((u_prod[mask] * len(options)).astype(np.int64), len(options) - 1)
        product[mask] = np.array(options, dtype=object)[index]

    female_headman = hash_uniform(keys, salt + 7) < 0.15
    u_first, u_last = hash_uniform(keys, salt + 8), hash_uniform(keys, salt + 9)
    male_first = np.array(names.MALE_FIRST, dtype=object)
    female_first = np.array(names.FEMALE_FIRST, dtype=object)
    surnames = np.array(names.SURNAMES, dtype=object)
    first = np.where(
        female_headman,
        female_first[(u_first * len(female_first)).astype(np.int64)],
        male_first[(u_first * len(male_first)).astype(np.int64)],
    )
    headman = (
        np.where(female_headman, "นาง", "นาย").astype(object)
        + first
        + " "
        + surnames[(u_last * len(surnames)).astype(np.int64)]
    )
    prefix = _weighted(hash_uniform(keys, salt + 10), {"08": 0.6, "09": 0.3, "06": 0.1})
    digits = (hash_uniform(keys, salt + 11) * 1e8).astype(np.int64)
    phone = prefix + pd.Series(digits).astype(str).str.zfill(8).to_numpy(dtype=object)

    return {
        "households": households,
        "population_male": male,
        "population_female": total - male,
        "population_total": total,
        "drinking_water_source": _weighted(hash_uniform(keys, salt + 12), WATER),
        "has_electricity": hash_uniform(keys, salt + 13) < 0.98,
        "has_internet": hash_uniform(keys, salt + 14) < 0.70,
        "access_road": _weighted(hash_uniform(keys, salt + 15), ROAD),
        "main_occupation": occupation,
        "notable_product": product,
        "headman_name": headman,
        "headman_phone": phone,
    }


# --------------------------------------------------------------------------- plan


@dataclass
class _File:
    index: int
    tambon_code: str
    worker: str
    rows: list[int] = field(default_factory=list)  # row ids (into the row table)
    format: str = "csv"
    encoding: str | None = "utf-8"
    header_language: str = "th"
    title_rows: int = 0  # title rows above the header (blank separator rows included)
    title_lines: list[str] = field(default_factory=list)
    date_style: str = "iso"
    two_digit_year: bool = False
    zero_pad: bool = False
    thai_digits: bool = False
    thousands: bool = False
    decimals: int = 6
    delimiter: str = ","
    line_end: str = "\r\n"
    blank_trailing: int = 0
    blank_style: str = "commas"
    header_glitch: tuple[int, str] | None = None
    xlsx_numeric: bool = True
    notes_sheet: bool = False
    sheet_name: str = ""
    name: str = ""
    sorted_rows: bool = True


def chosen_provinces(provinces: list[str] | None, known: list[str]) -> list[str]:
    """The provinces asked for (2-digit codes, any spelling), all of ``known`` for None; an unknown one is an error."""
    if provinces is None:
        return known
    chosen = sorted({str(p).strip().zfill(2) for p in provinces})
    unknown = [p for p in chosen if p not in known]
    if unknown or not chosen:
        raise ValueError(
            f"unknown province code(s) {unknown or chosen}: use 2-digit codes "
            "of the 76 provinces (Bangkok, 10, is not part of TST)"
        )
    return chosen


class FileNaming:
    """Thai place names and the file names a round has used: how field offices name what they send."""

    def __init__(self) -> None:
        self.tambon_name = tambon_table().set_index("tambon_code")["name_th"].to_dict()
        self.amphoe_name = amphoe_table().set_index("amphoe_code")["name_th"].to_dict()
        self.province_name = province_table().set_index("province_code")["name_th"].to_dict()
        self.used_names: set[str] = set()

    def file_name(
        self, rng: np.random.Generator, round_: Round, templates: tuple[str, ...], tambon: str, worker: int, fmt: str
    ) -> str:
        """A name from one of ``templates`` for a tambon's file; one in ten names the wrong month."""
        month = round_.month
        if rng.random() < 0.1:
            month = (month % 12) + 1
        template = _pick(rng, templates)
        stem = template.format(
            tambon=self.tambon_name[tambon],
            amphoe=self.amphoe_name[tambon[:4]].removeprefix("อำเภอ"),
            province=self.province_name[tambon[:2]],
            code=tambon,
            abbr=THAI_MONTHS_ABBR[month - 1],
            yy=str(round_.year + BE_OFFSET)[2:],
            k=int(rng.integers(1, 10)),
            worker=f"TST-{tambon}-{worker}",
        )
        ext = ".xlsx" if fmt == "xlsx" else ".csv"
        if rng.random() < 0.05:
            ext = ext.upper()
        return self.unique(stem, ext)

    def unique(self, stem: str, ext: str) -> str:
        return unique_name(self.used_names, stem, ext)


def unique_name(used: set[str], stem: str, ext: str) -> str:
    """``stem + ext``, or ``stem (2) + ext`` and so on: a name not yet in ``used`` (casefolded, as
    Windows and macOS compare them), then added to it."""
    stem = stem.replace("/", "-").strip()
    name, k = f"{stem}{ext}", 1
    while name.casefold() in used:
        k += 1
        name = f"{stem} ({k}){ext}"
    used.add(name.casefold())
    return name


def file_counts(truths: list[FileTruth], rows: int, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The summary figures every sample round reports: files, rows and the faults (of ``kinds``) put in them."""
    originals = [t for t in truths if t.duplicate_of is None and t.format != "bad"]
    by_kind = {kind: 0 for kind in kinds}
    formats: dict[str, int] = {}
    for t in originals:
        for x in t.faults:
            by_kind[x.fault] += 1
        key = t.format if t.format == "xlsx" else f"csv/{t.encoding}"
        formats[key] = formats.get(key, 0) + 1
    return {
        "files": len(truths),
        "data_files": len(originals),
        "bad_files": sum(1 for t in truths if t.format == "bad"),
        "rows": rows,
        "faulty_rows": sum(by_kind.values()),
        "faults_by_kind": by_kind,
        "fault_rate_by_kind": {k: round(v / rows, 5) if rows else 0.0 for k, v in by_kind.items()},
        "files_by_format": dict(sorted(formats.items())),
    }


class _Builder(FileNaming):
    def __init__(self, round_: Round, provinces: list[str] | None, seed: int):
        self.round = round_
        self.seed = seed
        self.rng = np.random.default_rng([seed, round_.year, round_.month])
        FileNaming.__init__(self)
        villages = load_villages()
        self.provinces = chosen_provinces(provinces, sorted(villages["province_code"].unique()))
        villages = villages[villages["province_code"].isin(self.provinces)]
        self.all_villages = load_villages()
        centres = tambon_centres()
        self.centres = dict(
            zip(
                centres["tambon_code"],
                zip(centres["latitude"], centres["longitude"], strict=True),
                strict=True,
            )
        )
        self.villages = villages.reset_index(drop=True)
        self.attrs = _village_attributes(self.villages, seed, round_)
        self.files: list[_File] = []
        # the row table (one entry per data row written)
        self.row_village: list[int] = []  # index into self.villages (source village)
        self.row_file: list[int] = []
        self.row_worker: list[str] = []
        self.row_role: list[str] = []  # normal | dup_orig | dup_copy | extra
        self.row_extra_no: dict[int, int] = {}  # extra row -> its new village number
        self.dup_pairs: list[tuple[int, int, bool]] = []  # (orig row, copy row, identical)

    # ----------------------------------------------------------------- structure

    def plan(self) -> None:
        rng = self.rng
        v = self.villages
        codes, starts, counts = np.unique(v["tambon_code"].to_numpy(), return_index=True, return_counts=True)
        self.tambon_counts = dict(zip(codes, counts, strict=True))
        n_t = len(codes)
        silent = np.zeros(n_t, dtype=bool)
        silent[_choose(rng, n_t, SILENT_TAMBON_RATE, 1 if n_t >= 50 else 0)] = True
        self.silent_tambons = [str(c) for c in codes[silent]]

        reporting = np.concatenate(
            [np.arange(s, s + c) for s, c, q in zip(starts, counts, silent, strict=True) if not q]
            or [np.zeros(0, dtype=np.int64)]
        )
        missing = np.zeros(len(v), dtype=bool)
        minimum = 1 if len(reporting) >= 500 else 0
        missing[reporting[_choose(rng, len(reporting), MISSING_VILLAGE_RATE, minimum)]] = True

        for code, start, count, quiet in zip(codes, starts, counts, silent, strict=True):
            if quiet:
                continue
            members = np.arange(start, start + count)
            present = members[~missing[members]]
            if len(present) == 0:  # never let a reporting tambon lose every village
                missing[members[0]] = False
                present = members[:1]
            self._tambon_files(str(code), present)
        self.missing_villages = [str(c) for c in v["village_code"].to_numpy()[missing]]

        self._duplicate_villages()
        self._unknown_villages()
        for f in self.files:
            self._style(f)
        self._order_rows()

    def _add_row(self, file: _File, village: int, worker: str, role: str = "normal") -> int:
        row = len(self.row_village)
        self.row_village.append(int(village))
        self.row_file.append(file.index)
        self.row_worker.append(worker)
        self.row_role.append(role)
        file.rows.append(row)
        return row

    def _new_file(self, tambon: str, worker: str) -> _File:
        file = _File(index=len(self.files), tambon_code=tambon, worker=worker)
        self.files.append(file)
        return file

    def _tambon_files(self, tambon: str, present: np.ndarray) -> None:
        rng = self.rng
        if len(present) >= 2 and rng.random() < TWO_FILE_RATE:
            if rng.random() < 0.6:  # worker 1 took the first villages, worker 2 the rest
                cut = int(rng.integers(1, len(present)))
                parts = [present[:cut], present[cut:]]
            else:
                coin = rng.random(len(present)) < 0.5
                if coin.all() or not coin.any():
                    coin[0] = not coin[0]
                parts = [present[coin], present[~coin]]
            for worker, part in zip(("1", "2"), parts, strict=True):
                file = self._new_file(tambon, worker)
                for village in part:
                    self._add_row(file, village, worker)
        else:
            sender = _pick(rng, ("1", "2"))
            file = self._new_file(tambon, sender)
            # both workers survey; the one who sends types the other's villages too
            cut = int(rng.integers(0, len(present) + 1)) if rng.random() < 0.6 else len(present)
            for i, village in enumerate(present):
                self._add_row(file, village, "1" if i < cut else "2")

    def _duplicate_villages(self) -> None:
        rng = self.rng
        pairs: dict[str, list[_File]] = {}
        for f in self.files:
            pairs.setdefault(f.tambon_code, []).append(f)
        two = [fs for fs in pairs.values() if len(fs) == 2]
        minimum = 1 if two and len(self.row_village) >= 500 else 0
        for i in _choose(rng, len(two), DUPLICATE_VILLAGE_RATE, minimum):
            source, target = two[i] if rng.random() < 0.5 else two[i][::-1]
            original = source.rows[int(rng.integers(len(source.rows)))]
            self.row_role[original] = "dup_orig"
            copy = self._add_row(target, self.row_village[original], target.worker, "dup_copy")
            self.dup_pairs.append((original, copy, bool(rng.random() < 0.35)))

    def _unknown_villages(self) -> None:
        """Rows for villages not in the registry (a newly formed village, numbered next)."""
        rng = self.rng
        normal = [r for r, role in enumerate(self.row_role) if role == "normal"]
        minimum = 1 if len(self.row_village) >= 500 else 0
        rate = FAULT_RATES["unknown_village"]
        next_no: dict[str, int] = {}
        for i in _choose(rng, len(normal), rate, minimum):
            source = normal[i]
            file = self.files[self.row_file[source]]
            tambon = file.tambon_code
            number = next_no.get(tambon, int(self.tambon_counts[tambon])) + 1
            if number > 99:
                continue
            next_no[tambon] = number
            row = self._add_row(file, self.row_village[source], self.row_worker[source], "extra")
            self.row_extra_no[row] = number

    def _style(self, f: _File) -> None:
        rng = self.rng
        kinds = [(fmt, enc) for fmt, enc, _ in FORMATS]
        shares = np.array([s for *_, s in FORMATS])
        f.format, f.encoding = kinds[int(rng.choice(len(kinds), p=shares))]
        f.header_language = "en" if rng.random() < 0.10 else "th"
        styles = [s for s, _ in DATE_STYLES]
        f.date_style = styles[int(rng.choice(3, p=[p for _, p in DATE_STYLES]))]
        f.two_digit_year = f.date_style == "thai" and rng.random() < 0.3
        f.zero_pad = rng.random() < 0.4
        f.thai_digits = rng.random() < 0.10
        f.decimals = int(rng.choice([4, 5, 6, 7], p=[0.15, 0.2, 0.6, 0.05]))
        f.sorted_rows = rng.random() < 0.85
        if rng.random() < 0.05:
            f.header_glitch = (
                int(rng.integers(len(schema_fields()))),
                _pick(rng, ("lead", "trail", "zwsp")),
            )
        tambon, amphoe = f.tambon_code, f.tambon_code[:4]
        title = names.TITLE.format(
            tambon=self.tambon_name[tambon],
            amphoe=self.amphoe_name[amphoe].removeprefix("อำเภอ"),
            province=self.province_name[tambon[:2]],
        )
        subtitle = names.SUBTITLE.format(month_th=self.round.label_th)
        if f.format == "xlsx":
            f.encoding = None
            f.xlsx_numeric = rng.random() < 0.7 and not f.thai_digits
            f.thousands = not f.xlsx_numeric and rng.random() < 0.3
            if rng.random() < 0.5:
                f.title_lines = _pick(rng, ([title], [title, ""], [title, subtitle], [title, subtitle, ""]))
            f.blank_trailing = int(rng.choice([0, 1, 2, 3], p=[0.6, 0.2, 0.1, 0.1]))
            f.notes_sheet = rng.random() < 0.1
            f.sheet_name = _sheet_title(_pick(rng, names.SHEET_NAMES).format(tambon=self.tambon_name[tambon]))
        else:
            f.thousands = rng.random() < 0.3
            f.delimiter = "|" if rng.random() < 0.02 else ","
            f.line_end = "\r\n" if rng.random() < 0.8 else "\n"
            if rng.random() < 0.05:
                f.title_lines = [title] if rng.random() < 0.5 else [title, ""]
            f.blank_trailing = int(rng.choice([0, 1, 2, 3], p=[0.7, 0.15, 0.1, 0.05]))
            f.blank_style = "commas" if rng.random() < 0.7 else "empty"
        f.title_rows = len(f.title_lines)
        f.name = self.file_name(self.rng, self.round, names.FILE_NAMES, f.tambon_code, f.worker, f.format)

    def _order_rows(self) -> None:
        rng = self.rng
        numbers = self.villages["village_no"].to_numpy()
        for f in self.files:
            extras = [r for r in f.rows if self.row_role[r] == "extra"]
            others = [r for r in f.rows if self.row_role[r] != "extra"]
            if f.sorted_rows:
                others.sort(key=lambda r: (numbers[self.row_village[r]], r))
            else:
                others = [others[i] for i in rng.permutation(len(others))]
            f.rows = others + extras

    # ----------------------------------------------------------------- values

    def values(self) -> None:
        """Typed values of every row, then duplicates and faults applied."""
        rng = self.rng
        v = self.villages
        order = np.array([r for f in self.files for r in f.rows], dtype=np.int64)
        self.order = order  # rows in file order
        n = len(self.row_village)
        src = np.array(self.row_village, dtype=np.int64)
        extra = np.array([role == "extra" for role in self.row_role])

        codes = v["village_code"].to_numpy(dtype=object)[src].copy()
        numbers = v["village_no"].to_numpy()[src].copy()
        village_names = v["village_name"].to_numpy(dtype=object)[src].copy()
        lat = v["latitude"].to_numpy()[src].copy()
        lon = v["longitude"].to_numpy()[src].copy()
        jitter_lat, jitter_lon = _offset_points(rng, lat, lon, 0.0, JITTER_M / 1000.0)
        far_lat, far_lon = _offset_points(rng, lat, lon, 0.6, 1.5)
        lat = np.where(extra, far_lat, jitter_lat)
        lon = np.where(extra, far_lon, jitter_lon)
        suffixes = ("พัฒนา", "ใหม่", "สามัคคี", "ใหม่พัฒนา")
        for row, number in self.row_extra_no.items():
            codes[row] = f"{codes[row][:6]}{number:02d}"
            numbers[row] = number
            village_names[row] = village_names[row] + _pick(rng, suffixes)

        last_day = self.round.last_day.day
        days = rng.integers(1, last_day + 1, n)
        self.cols: dict[str, np.ndarray] = {
            "village_code": codes,
            "village_no": numbers.astype(np.int64),
            "village_name": village_names,
            "survey_date": np.array([dt.date(self.round.year, self.round.month, int(d)) for d in days], dtype=object),
            **{k: a[src].copy() for k, a in self.attrs.items()},
            "latitude": lat,
            "longitude": lon,
            "recorded_by": np.array(
                [f"TST-{c[:6]}-{w}" for c, w in zip(v["tambon_code"].to_numpy()[src], self.row_worker, strict=True)],
                dtype=object,
            ),
        }
        self.overrides: dict[tuple[int, str], str | None] = {}
        self.fault_of: dict[int, tuple[str, str | None]] = {}
        for row in self.row_extra_no:
            self.fault_of[row] = ("unknown_village", "village_code")
        self._apply_duplicates()
        self._apply_faults()

    def _apply_duplicates(self) -> None:
        rng = self.rng
        c = self.cols
        last_day = self.round.last_day.day
        for original, copy, identical in self.dup_pairs:
            for name in c:
                if name != "recorded_by":
                    c[name][copy] = c[name][original]
            if identical:
                continue
            day = c["survey_date"][original].day
            choices = [d for d in range(max(1, day - 6), min(last_day, day + 6) + 1) if d != day]
            c["survey_date"][copy] = c["survey_date"][original].replace(day=_pick(rng, choices))
            if rng.random() < 0.6:  # a recount: a few households and people differ
                delta = int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1)
                c["households"][copy] = max(30, c["households"][copy] + delta)
                people = round(delta * 2.8)
                c["population_female"][copy] = max(0, c["population_female"][copy] + people)
                c["population_total"][copy] = c["population_male"][copy] + c["population_female"][copy]

    def _apply_faults(self) -> None:
        rng = self.rng
        c = self.cols
        eligible = np.array([r for r in self.order if self.row_role[r] == "normal"], dtype=int)
        eligible = eligible[rng.permutation(len(eligible))]
        n_rows = len(self.row_village)
        minimum = 1 if n_rows >= 500 else 0
        cursor = 0
        round_ = self.round
        be_year = round_.year + BE_OFFSET
        for kind, rate in FAULT_RATES.items():
            if kind == "unknown_village":
                continue
            k = min(max(int(rng.binomial(n_rows, rate)), minimum), len(eligible) - cursor)
            rows = eligible[cursor : cursor + k]
            cursor += k
            for row in rows:
                row = int(row)
                target: str | None = None
                if kind == "missing_required":
                    target = _pick(rng, MISSING_FIELDS)
                    self.overrides[(row, target)] = None
                elif kind == "invalid_enum":
                    target = _pick(rng, tuple(INVALID_ENUM))
                    self.overrides[(row, target)] = _pick(rng, INVALID_ENUM[target])
                elif kind == "negative_number":
                    target = "households"
                    c[target][row] = -int(c[target][row])
                elif kind == "not_a_number":
                    target = "households" if rng.random() < 0.8 else "population_male"
                    text = _pick(rng, NOT_A_NUMBER).format(v=int(c[target][row]))
                    self.overrides[(row, target)] = text
                elif kind == "population_sum_mismatch":
                    target = "population_total"
                    if rng.random() < 0.2:  # the female count was forgotten in the total
                        c[target][row] = int(c["population_male"][row])
                    else:
                        delta = int(rng.integers(1, 40)) * (1 if rng.random() < 0.5 else -1)
                        c[target][row] = max(0, int(c[target][row]) + delta)
                        if c[target][row] == c["population_male"][row] + c["population_female"][row]:
                            c[target][row] += 1
                elif kind == "village_no_mismatch":
                    target = "village_no"
                    number = int(c[target][row])
                    options = [x for x in (number - 1, number + 1, number * 10) if 1 <= x <= 99]
                    c[target][row] = _pick(rng, options)
                elif kind == "date_outside_round":
                    target = "survey_date"
                    choice = rng.random()
                    if choice < 0.4:
                        c[target][row] = round_.first_day - dt.timedelta(days=int(rng.integers(1, 11)))
                    elif choice < 0.8:
                        c[target][row] = round_.last_day + dt.timedelta(days=int(rng.integers(1, 11)))
                    else:  # the B.E. year typed one too low (29 Feb has no such day: 28th)
                        day = c[target][row]
                        c[target][row] = day.replace(year=round_.year - 1, day=min(day.day, 28))
                elif kind == "bad_date":
                    target = "survey_date"
                    day = round_.last_day.day + 1
                    self.overrides[(row, target)] = _pick(
                        rng,
                        (
                            f"{day}/{round_.month}/{be_year}",
                            f"31/02/{be_year}",
                            f"{day} {THAI_MONTHS_ABBR[round_.month - 1]} {be_year}",
                            f"{round_.year}-{round_.month:02d}-{day}",
                            f"{THAI_MONTHS_ABBR[round_.month - 1]} {str(be_year)[2:]}",
                            f"15/{round_.month}",
                            f"{c[target][row].day}/13/{be_year}",
                        ),
                    )
                elif kind == "coordinates_swapped":
                    c["latitude"][row], c["longitude"][row] = (
                        c["longitude"][row],
                        c["latitude"][row],
                    )
                elif kind == "coordinates_zero":
                    c["latitude"][row] = c["longitude"][row] = 0.0
                elif kind == "coordinates_far":
                    self._far_point(row)
                self.fault_of[row] = (kind, target)

    def _far_point(self, row: int) -> None:
        """Move the point to a real village at least FAR_MIN_KM from this tambon."""
        code = str(self.cols["village_code"][row])
        lat0, lon0 = self.centres[code[:6]]
        lats = self.all_villages["latitude"].to_numpy()
        lons = self.all_villages["longitude"].to_numpy()
        for _ in range(200):
            pick = int(self.rng.integers(len(lats)))
            if _km(lat0, lon0, lats[pick], lons[pick]) >= FAR_MIN_KM:
                self.cols["latitude"][row] = lats[pick]
                self.cols["longitude"][row] = lons[pick]
                return
        raise RuntimeError(f"no far point found for {code}")  # pragma: no cover

    # ----------------------------------------------------------------- cells

    def _text_cells(self, f: _File, row: int) -> list[str | None]:
        """The cells of one data row as the office typed them (before noise)."""
        c = self.cols
        out: list[str | None] = []
        for field_ in schema_fields():
            name = field_["name"]
            key = (row, name)
            if key in self.overrides:
                out.append(self.overrides[key])
                continue
            value = c[name][row]
            kind = field_["type"]
            if kind == "integer":
                value = int(value)
                text = f"{value:,}" if f.thousands and abs(value) >= 1000 else str(value)
            elif kind == "number":
                text = f"{float(value):.{f.decimals}f}" if value != 0.0 else "0"
            elif kind == "date":
                text = self._date_text(f, value)
            elif kind == "boolean":
                text = "มี" if value else "ไม่มี"
            else:
                text = str(value)
            if f.thai_digits and name != "recorded_by" and kind != "boolean":
                text = text.translate(_TO_THAI_DIGITS)
            out.append(text if text != "" else None)
        return out

    def _date_text(self, f: _File, day: dt.date) -> str:
        be = day.year + BE_OFFSET
        d, m = (f"{day.day:02d}", f"{day.month:02d}") if f.zero_pad else (day.day, day.month)
        if f.date_style == "iso":
            return day.isoformat()
        if f.date_style == "dmy_be":
            return f"{d}/{m}/{be}"
        year = str(be)[2:] if f.two_digit_year else str(be)
        return f"{day.day} {THAI_MONTHS_ABBR[day.month - 1]} {year}"

    def _xlsx_cell(self, f: _File, row: int, index: int, text: str | None) -> Any:
        """Typed cell for XLSX: numbers, codes and ISO dates as Excel values."""
        if text is None or not f.xlsx_numeric:
            return text
        name = schema_fields()[index]["name"]
        if (row, name) in self.overrides:
            return text
        value = self.cols[name][row]
        if name == "village_code":
            return int(value)
        kind = schema_fields()[index]["type"]
        if kind == "integer":
            return int(value)
        if kind == "number":
            return round(float(value), f.decimals)
        if kind == "date" and f.date_style == "iso":
            return value
        return text

    def cells(self) -> dict[int, list[list[Any]]]:
        """Every file's data rows, as written, with noise; and the faults' written values."""
        rng = self.rng
        width = len(schema_fields())
        out: dict[int, list[list[Any]]] = {}
        self.written_value: dict[int, str | None] = {}
        n = len(self.order)
        noise = rng.random((n, width)) < CELL_NOISE_RATE
        noise_kind = rng.integers(0, 4, (n, width))
        position = 0
        for f in self.files:
            rows_out = []
            space = NBSP if f.encoding == "cp874" else ZWSP
            for row in f.rows:
                texts = self._text_cells(f, row)
                fault = self.fault_of.get(row)
                cells: list[Any] = []
                for i, text in enumerate(texts):
                    cell = self._xlsx_cell(f, row, i, text) if f.format == "xlsx" else text
                    if isinstance(cell, str) and noise[position, i] and fault is None:
                        cell = (" " + cell, cell + " ", space + cell, cell + space)[noise_kind[position, i]]
                    cells.append(cell)
                if fault is not None:
                    self.written_value[row] = self._fault_value(texts, fault)
                rows_out.append(cells)
                position += 1
            out[f.index] = rows_out
        return out

    def _fault_value(self, texts: list[str | None], fault: tuple[str, str | None]) -> str | None:
        kind, target = fault
        index = {f["name"]: i for i, f in enumerate(schema_fields())}
        if kind.startswith("coordinates"):
            return f"{texts[index['latitude']]},{texts[index['longitude']]}"
        return texts[index[target]] if target else None


# --------------------------------------------------------------------------- writing


def _headers(f: _File) -> list[str]:
    headers = [(fd["title_th"] if f.header_language == "th" else fd["name"]) for fd in schema_fields()]
    if f.header_glitch:
        index, how = f.header_glitch
        text = headers[index]
        zwsp = NBSP if f.encoding == "cp874" else ZWSP
        headers[index] = {"lead": " " + text, "trail": text + " ", "zwsp": zwsp + text}[how]
    return headers


def _csv_bytes(f: _File, rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=f.delimiter, lineterminator=f.line_end)
    width = len(schema_fields())
    for line in f.title_lines:
        writer.writerow([line] + [""] * (width - 1) if line else [""] * width)
    writer.writerow(_headers(f))
    writer.writerows([["" if c is None else c for c in r] for r in rows])
    for _ in range(f.blank_trailing):
        if f.blank_style == "commas":
            writer.writerow([""] * width)
        else:
            buffer.write(f.line_end)
    text = buffer.getvalue()
    return text.encode(f.encoding or "utf-8")


def _file_time(round_: Round, rng: np.random.Generator) -> dt.datetime:
    day = min(round_.last_day.day, 20 + int(rng.integers(0, 8)))
    return dt.datetime(round_.year, round_.month, day, 8 + int(rng.integers(0, 10)), int(rng.integers(0, 60)))


def _xlsx_file(f: _File, rows: list[list[Any]], round_: Round, rng) -> bytes:
    width = len(schema_fields())
    table: list[list[Any]] = [[line] if line else [] for line in f.title_lines]
    table.append(_headers(f))
    table.extend(rows)
    table.extend([[None] * width for _ in range(f.blank_trailing)])
    sheets = [(f.sheet_name, table)]
    if f.notes_sheet:
        sheets.append(("คำอธิบาย", [list(r) for r in names.NOTES_SHEET]))
    return _xlsx_bytes(sheets, _file_time(round_, rng), f"TST-{f.tambon_code}-{f.worker}")


def _bad_files(builder: _Builder, data: dict[int, list[list[Any]]]) -> list[tuple[str, bytes, str]]:
    """(name, bytes, kind) of the unreadable files: about four per run."""
    rng = builder.rng
    round_ = builder.round
    files = builder.files
    some = files[int(rng.integers(len(files)))]
    tambon, amphoe = some.tambon_code, some.tambon_code[:4]
    letter = names.LETTER.format(
        amphoe=builder.amphoe_name[amphoe].removeprefix("อำเภอ"),
        province=builder.province_name[tambon[:2]],
        province_short="มท",
        code_no=f"{int(rng.integers(100, 999))}",
        year_be=round_.year + BE_OFFSET,
        day=min(25, round_.last_day.day),
        month_th=round_.label_th,
        tambon=builder.tambon_name[tambon],
        name=f"นาย{_pick(rng, names.MALE_FIRST)} {_pick(rng, names.SURNAMES)}",
    )
    out = [
        (builder.unique(f"ข้อมูลหมู่บ้าน ต.{builder.tambon_name[tambon]}", ".csv"),
         letter.encode("utf-8"), "not_a_table"),
        (builder.unique("book1", ".csv"), b"", "empty"),
    ]  # fmt: skip

    # a corrupt workbook: an office's real workbook cut short in the upload
    source = next((f for f in files if f.format == "xlsx"), files[0])
    rows = data[source.index]
    typed = _File(**{**asdict(source), "format": "xlsx", "title_lines": [], "notes_sheet": False})
    typed.sheet_name = typed.sheet_name or "ข้อมูลหมู่บ้าน"
    whole = _xlsx_file(typed, rows, round_, rng)
    cut = int(len(whole) * rng.uniform(0.45, 0.8))
    out.append((builder.unique(f"data({int(rng.integers(1, 10))})", ".xlsx"), whole[:cut],
                "corrupt_xlsx"))  # fmt: skip

    # Excel's "Unicode Text": UTF-16 LE with BOM, tab-separated
    source = files[int(rng.integers(len(files)))]
    lines = ["\t".join(_headers(source))] + [
        "\t".join("" if c is None else str(c) for c in r) for r in data[source.index]
    ]
    text = "\r\n".join(lines) + "\r\n"
    out.append((builder.unique(f"สำรวจ {THAI_MONTHS_ABBR[round_.month - 1]}"
                                f"{str(round_.year + BE_OFFSET)[2:]}", ".csv"),
                b"\xff\xfe" + text.encode("utf-16-le"), "unknown_encoding"))  # fmt: skip
    if rng.random() < 0.5:  # a scanned letter saved as PDF, renamed .csv
        pdf = (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
            b"%%EOF\n"
        )
        out.append((builder.unique("scan0001", ".csv"), pdf, "pdf"))
    return out


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise NotADirectoryError(out_dir)
        if any(out_dir.iterdir()):
            raise FileExistsError(f"{out_dir} is not empty: generate() writes a whole round into an empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)


def generate(
    round: Round | str,
    out_dir: Path | str,
    provinces: list[str] | None = None,
    seed: int = 2563,
    bad_files: bool = True,
) -> SampleTruth:
    """Write one round of raw village-profile files into ``out_dir`` (flat, must be empty).

    ``provinces``: 2-digit codes (None: all 76). Same arguments give byte-identical
    files. Returns the :class:`SampleTruth`, also written as JSON to
    ``out_dir.parent / f"{out_dir.name}.truth.json"``.
    """
    round_ = round if isinstance(round, Round) else parse_round(str(round))
    out_dir = Path(out_dir)
    builder = _Builder(round_, provinces, seed)
    builder.plan()
    builder.values()
    data = builder.cells()
    _check_out_dir(out_dir)

    truths: list[FileTruth] = []
    payloads: list[tuple[str, bytes]] = []
    file_rng = np.random.default_rng([seed, round_.year, round_.month, 1])
    for f in builder.files:
        rows = data[f.index]
        payload = _xlsx_file(f, rows, round_, file_rng) if f.format == "xlsx" else _csv_bytes(f, rows)
        payloads.append((f.name, payload))
        header_row = f.title_rows + 1
        faults = []
        for number, row in enumerate(f.rows, start=1):
            if row in builder.fault_of:
                kind, target = builder.fault_of[row]
                code = str(builder.cols["village_code"][row])
                expected = EXPECTED_CODE[kind]
                if kind == "invalid_enum" and target in ("has_electricity", "has_internet"):
                    expected = "wrong_type"
                faults.append(
                    FaultTruth(
                        number, header_row + number, code, kind, target,
                        builder.written_value.get(row), expected,
                    )
                )  # fmt: skip
        truths.append(
            FileTruth(
                name=f.name,
                sha256=hashlib.sha256(payload).hexdigest(),
                size=len(payload),
                format=f.format,
                encoding=f.encoding,
                header_language=f.header_language,
                header_row=header_row,
                title_rows=f.title_rows,
                rows=len(f.rows),
                tambon_code=f.tambon_code,
                delimiter=f.delimiter if f.format == "csv" else None,
                date_style=f.date_style,
                thai_digits=f.thai_digits,
                thousands_separators=f.thousands,
                blank_trailing_rows=f.blank_trailing,
                header_glitch=f.header_glitch is not None,
                faults=faults,
            )
        )

    # villages sent twice: which row the pipeline keeps (latest date, more filled, sha, row)
    by_row = {}
    for f, t in zip(builder.files, truths, strict=True):
        for number, row in enumerate(f.rows, start=1):
            by_row[row] = (t, number)
    duplicate_villages = []
    for original, copy, identical in builder.dup_pairs:
        entries = []
        for row in (original, copy):
            t, number = by_row[row]
            filled = sum(
                1 for name in builder.cols if (row, name) not in builder.overrides and builder.cols[name][row] != ""
            )
            entries.append((row, t, number, builder.cols["survey_date"][row], filled))
        entries.sort(key=lambda e: (-e[3].toordinal(), -e[4], e[1].sha256, e[2]))
        kept, dropped = entries[0], entries[1]
        row, t, number = dropped[0], dropped[1], dropped[2]
        code = str(builder.cols["village_code"][row])
        t.faults.append(
            FaultTruth(
                number, t.header_row + number, code, "duplicate_village", "village_code",
                code, EXPECTED_CODE["duplicate_village"],
            )
        )  # fmt: skip
        t.faults.sort(key=lambda x: x.row)
        duplicate_villages.append(
            {
                "village_code": code,
                "identical": identical,
                "rows": [
                    {"file": e[1].name, "row": e[2], "line": e[1].header_row + e[2]}
                    for e in sorted(entries, key=lambda e: e[0])
                ],
                "kept": {
                    "file": kept[1].name,
                    "row": kept[2],
                    "line": kept[1].header_row + kept[2],
                },
            }
        )

    # The same file sent twice under another name (about once per 500 files). The
    # pipeline reads files in name order and keeps the first of identical ones, so
    # the one whose name sorts first is "kept", the other is its duplicate.
    duplicate_files: list[tuple[str, str]] = []
    renamed: dict[str, str] = {}
    n_files = len(payloads)
    for i in _choose(builder.rng, n_files, DUPLICATE_FILE_RATE, 1 if n_files >= 50 else 0):
        original = truths[int(i)]
        stem, dot, ext = original.name.rpartition(".")
        copy_name = builder.unique(_pick(builder.rng, (f"{stem} - Copy", f"{stem}(1)", f"{stem}_ส่งซ้ำ")), f"{dot}{ext}")
        payloads.append((copy_name, payloads[int(i)][1]))
        copy, pair = copied_file_truth(original, copy_name)
        truths.append(copy)
        duplicate_files.append(pair)
        renamed[original.name] = pair[0]
    point_to_kept_files(duplicate_villages, renamed)

    if bad_files:
        for name, payload, kind in _bad_files(builder, data):
            payloads.append((name, payload))
            truths.append(bad_file_truth(name, payload, kind))

    for name, payload in payloads:
        (out_dir / name).write_bytes(payload)

    truth = SampleTruth(
        dataset=DATASET,
        round=round_.key,
        round_be=round_.be_key,
        seed=seed,
        provinces=list(builder.provinces),
        registry=str(registry_path() or "synthetic"),
        files=truths,
        silent_tambons=builder.silent_tambons,
        missing_villages=builder.missing_villages,
        duplicate_files=duplicate_files,
        duplicate_villages=duplicate_villages,
        summary=_summary(builder, truths),
    )
    stamp_arrivals(out_dir, DATASET, round_, seed)
    truth_path(out_dir).write_text(truth.to_json(), encoding="utf-8")
    return truth


def _summary(builder: _Builder, truths: list[FileTruth]) -> dict[str, Any]:
    rows = sum(t.rows for t in truths if t.duplicate_of is None and t.format != "bad")
    return {
        "registry_villages": len(builder.villages),
        "registry_tambons": int(builder.villages["tambon_code"].nunique()),
        **file_counts(truths, rows, FAULT_KINDS),
        "silent_tambons": len(builder.silent_tambons),
        "missing_villages": len(builder.missing_villages),
    }
