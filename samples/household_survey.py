"""A realistic month of raw household-survey (จปฐ.) files, as field offices really send them.

:func:`generate` writes one round's files for some provinces (or all of Thailand:
about 12.4 million rows, 7,350 files, 2.6 GB) into a flat folder, and returns (and
writes next to the folder) a :class:`~samples.village_profile.SampleTruth` that
says exactly what was put in: every file, its format, the faults injected row by
row with the finding code the pipeline should give, the tambons that sent
nothing, the villages left out and the households sent twice.

Households per village are the village-profile sample's ``households`` for the
same village, seed and round, times :data:`HOUSEHOLD_FACTOR` (the จปฐ. counts
family units, a few more than registered houses; the national total is then
about 12.8 million), times ``scale``.

What is realistic here, and how often:

* each tambon sends one file (both workers' villages); 2% of tambons send
  nothing; 1% of villages are missing from their tambon's file; 3% of tambons
  also send a small correction file that re-sends 3% of their households with a
  later survey date (the older copy is the duplicate); about one file in 1,000
  arrives twice, byte for byte, under another name;
* CSV UTF-8 50%, CSV UTF-8 with BOM 25%, CSV Windows-874 20%, XLSX 5% (half with
  title rows above the header, some with typed numeric and date cells); headers
  are the Thai titles (80%), the English names (12%) or the schema's aliases (8%);
* noise that normalisation must accept: Thai digits (10% of files), thousands
  separators in incomes (30% of CSV files), ".00" decimals, three date spellings
  (ISO, 15/10/2563, 15 ต.ค. 2563 or 63), two boolean spellings (มี/ไม่มี, ใช่/ไม่ใช่),
  stray spaces and zero-width (NBSP in Windows-874) spaces in 0.3% of cells,
  blank trailing rows, pipe-delimited files, LF line ends;
* faults, each at 0.1-0.3% of rows (see :data:`FAULT_RATES`), at most one per
  row, recorded with the row as Excel shows it and the expected code
  (:data:`EXPECTED_CODE`); a few faults can also raise other codes
  (:data:`ALSO_CODES`, copied into the truth's summary);
* about four unreadable files when ``bad_files`` (not a table, empty, corrupt
  XLSX, UTF-16, sometimes a PDF).

Values are drawn per household, vectorised with numpy (per province, from a
generator seeded by (seed, round, province)) and turned into text with Arrow
string kernels, so a national round takes about 2.5 minutes on one core
(1.1 GB peak memory; the truth JSON, one file per line, is about 57 MB). File plans (formats,
names, silent tambons...) come from a generator seeded by (seed, round). Same
arguments give byte-identical files. Every count drawn from a rate is at least
one per province once the province has :data:`MIN_ROWS_FOR_EVERY_FAULT` rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domain.declarations import DATASETS_DIR
from domain.rounds import BE_OFFSET, THAI_MONTHS_ABBR, Round, parse_round
from registry.villages import load_villages, registry_path
from samples import _xlsx_fast as xl
from samples import names
from samples.arrivals import stamp_arrivals
from samples.village_profile import (
    FaultTruth,
    FileNaming,
    FileTruth,
    SampleTruth,
    _check_out_dir,
    _choose,
    _pick,
    _sheet_title,
    _village_attributes,
    bad_file_truth,
    chosen_provinces,
    copied_file_truth,
    file_counts,
    point_to_kept_files,
    truth_path,
)

DATASET = "household_survey"
HOUSEHOLD_FACTOR = 1.05  # survey households per village-profile household (national total ~12.8M)

#: Per-row rate of each injected fault (duplicates come from correction files instead).
FAULT_RATES: dict[str, float] = {
    "missing_value": 0.003,
    "text_in_number": 0.002,
    "bad_date": 0.001,
    "short_code": 0.002,
    "bad_check_digit": 0.002,
    "members_zero": 0.001,
    "members_too_many": 0.001,
    "occupation_misspelt": 0.002,
    "sex_sum_mismatch": 0.003,
    "part_exceeds_total": 0.002,
    "household_id_prefix": 0.001,
    "date_outside_round": 0.002,
    "unknown_village": 0.001,
}
FAULT_KINDS: tuple[str, ...] = (*FAULT_RATES, "duplicate_household")

#: The row code the pipeline (validation/messages.yaml) is expected to give each fault.
EXPECTED_CODE: dict[str, str] = {
    "missing_value": "missing_value",
    "text_in_number": "wrong_type",
    "bad_date": "wrong_type",
    "short_code": "pattern_mismatch",
    "bad_check_digit": "invalid_checksum",
    "members_zero": "below_minimum",
    "members_too_many": "above_maximum",
    "occupation_misspelt": "not_in_list",
    "sex_sum_mismatch": "sum_mismatch",
    "part_exceeds_total": "sum_exceeds",
    "household_id_prefix": "prefix_mismatch",
    "date_outside_round": "date_outside_round",
    "unknown_village": "unknown_code",
    "duplicate_household": "duplicate_row",
}
#: Other codes a fault can also raise, depending on the rule implementations:
#: a 7-digit village code is also unknown and no longer the household id's prefix;
#: a 12-digit citizen id may also fail its check digit.
ALSO_CODES: dict[str, list[str]] = {
    "short_code": ["unknown_code", "prefix_mismatch", "invalid_checksum"],
}
MIN_ROWS_FOR_EVERY_FAULT = 200
SILENT_TAMBON_RATE = 0.02
MISSING_VILLAGE_RATE = 0.01
CORRECTION_TAMBON_RATE = 0.03
CORRECTION_ROW_RATE = 0.03  # of the tambon's households, re-sent in its correction file
DUPLICATE_FILE_RATE = 1 / 1000
CELL_NOISE_RATE = 0.003

FORMATS = (  # (format, encoding, share of files)
    ("csv", "utf-8", 0.50),
    ("csv", "utf-8-sig", 0.25),
    ("csv", "cp874", 0.20),
    ("xlsx", None, 0.05),
)
#: date spellings: 0 ISO, 1 d/m/yyyy B.E., 2 dd/mm/yyyy B.E., 3 "15 ต.ค. 2563", 4 "15 ต.ค. 63"
DATE_STYLES = ("iso", "dmy_be", "dmy_be", "thai", "thai")
DATE_STYLE_SHARES = (0.40, 0.22, 0.18, 0.14, 0.06)
BOOLEAN_SPELLINGS = (("มี", "ไม่มี"), ("ใช่", "ไม่ใช่"))

#: Members 1..12 (mean about 2.8).
MEMBERS_P = np.array([0.20, 0.30, 0.22, 0.15, 0.077, 0.033, 0.011, 0.0055, 0.0025, 0.0012, 0.0005, 0.0003])

OCCUPATIONS = ("เกษตรกรรม", "ประมง", "ปศุสัตว์", "รับจ้างทั่วไป", "ค้าขาย", "รับราชการ", "อุตสาหกรรม", "ไม่มีอาชีพ", "อื่นๆ")
OCCUPATION_SHARES = {  # in the order of OCCUPATIONS
    "default": (0.52, 0.01, 0.03, 0.20, 0.07, 0.03, 0.03, 0.08, 0.03),
    "coastal": (0.40, 0.10, 0.02, 0.22, 0.09, 0.03, 0.04, 0.07, 0.03),
    "industrial": (0.22, 0.02, 0.01, 0.30, 0.13, 0.04, 0.16, 0.07, 0.05),
}
COASTAL = {"20", "21", "22", "23", "24", "75", "76", "77", "80", "81", "82", "83", "84", "85", "86", "90", "91",
           "92", "93", "94", "96"}  # fmt: skip
INDUSTRIAL = {"11", "12", "13", "14", "20", "21", "74"}
#: Median income per person per year (baht) by region, and provinces well below or above it.
REGION_INCOME = {"northeast": 70_000, "north": 72_000, "central": 98_000, "east": 105_000, "west": 88_000,
                 "south": 92_000}  # fmt: skip
POOR_PROVINCES = {"58", "94", "95", "96", "46", "33", "32", "38", "49", "63", "55"}
INCOME_SIGMA = 0.5
POVERTY_LINE = 38_000

MISSPELT_OCCUPATION = ("เกษตร", "ทำนา", "ทำสวน", "รับจ้าง", "เกษตรกร", "ค้าขายของชำ", "ข้าราชการ", "แม่บ้าน",
                       "ว่างงาน", "พนักงานบริษัท", "ทำไร่")  # fmt: skip
NOT_A_NUMBER = ("ไม่ทราบ", "ไม่มีข้อมูล", "n/a", "ประมาณ {v}", "{v} บาท", "-", "ห้าพัน", "{v}บ.", "?")
MISSING_FIELDS = ("survey_date", "house_no", "head_citizen_id", "head_name", "income_main", "income_secondary",
                  "head_occupation", "drinking_water_all_year", "housing_secure", "welfare_card")  # fmt: skip
TEXT_IN_NUMBER_FIELDS = ("income_main", "income_main", "income_secondary", "income_other", "income_own_produce")

CORRECTION_NAMES = ("ฉบับแก้ไข ต.{tambon}", "แก้ไขข้อมูล จปฐ. ต.{tambon}", "ส่งเพิ่มเติม {abbr}{yy}", "แก้ไข_{code}",
                    "จปฐ {tambon} (แก้ไข)", "data_แก้ไข({k})")  # fmt: skip
FILE_NAMES = ("จปฐ ต.{tambon}", "ข้อมูล จปฐ. ต.{tambon} อ.{amphoe}", "จปฐ{yy}_{code}", "ครัวเรือน ต.{tambon}",
              "แบบ จปฐ.1 ต.{tambon}", "จปฐ {abbr}{yy}", "household_{code}", "{worker}", "ส่งอำเภอ {tambon}",
              "ข้อมูลครัวเรือน ({k})",
              *(name for name in names.FILE_NAMES if "หมู่บ้าน" not in name))  # fmt: skip
SHEET_NAMES = ("จปฐ", "ข้อมูลครัวเรือน", "แบบ จปฐ.1", "ต.{tambon}", "Sheet1", "ครัวเรือน")
TITLE = "ข้อมูลความจำเป็นพื้นฐาน (จปฐ.) ตำบล{tambon} อำเภอ{amphoe} จังหวัด{province}"
SUBTITLE = "ประจำเดือน {month_th}"
NOTES = (
    ("คำอธิบายการกรอกข้อมูล",),
    ("1. กรอกข้อมูลหนึ่งแถวต่อหนึ่งครัวเรือน",),
    ("2. รหัสครัวเรือน 12 หลัก = รหัสหมู่บ้าน 8 หลัก + ลำดับครัวเรือน 4 หลัก",),
    ("3. รายได้เป็นบาทต่อปี",),
)

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
ZWSP = "\u200b"
NBSP = "\u00a0"


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # string | integer | number | date | boolean
    thai_digits: bool  # Thai digits are written here in a Thai-digit file


@dataclass
class _File:
    index: int
    tambon_code: str
    province: str
    worker: str
    kind: str = "main"  # main | correction
    villages: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # into the plan's villages
    format: str = "csv"
    encoding: str | None = "utf-8"
    header_language: str = "th"  # th | en | alias
    headers: list[str] = field(default_factory=list)
    header_glitch: bool = False
    title_lines: list[str] = field(default_factory=list)
    date_style: int = 0
    thai_digits: bool = False
    thousands: bool = False
    decimals: bool = False
    boolean_style: int = 0
    delimiter: str = ","
    line_end: str = "\r\n"
    blank_trailing: int = 0
    blank_style: str = "commas"
    xlsx_numeric: bool = False
    notes_sheet: bool = False
    sheet_name: str = ""
    name: str = ""
    # filled while writing
    rows: int = 0
    start: int = 0  # first row in its province's row table
    faults: list[FaultTruth] = field(default_factory=list)


# --------------------------------------------------------------------------- schema


def _schema() -> list[dict[str, Any]]:
    return json.loads((DATASETS_DIR / DATASET / "schema.json").read_text(encoding="utf-8"))["fields"]


SCHEMA: list[dict[str, Any]] = _schema()
FIELD_NAMES: tuple[str, ...] = tuple(f["name"] for f in SCHEMA)
FIELDS: tuple[_Field, ...] = tuple(
    _Field(f["name"], f["type"], f["type"] in ("integer", "number", "date") or f["name"] in (
        "household_id", "village_code", "house_no", "head_citizen_id"))
    for f in SCHEMA
)  # fmt: skip
INCOME_FIELDS = ("income_main", "income_secondary", "income_other", "income_own_produce")
COUNT_FIELDS = tuple(f.name for f in FIELDS if f.kind == "integer")


def citizen_check_digit(first12: np.ndarray) -> np.ndarray:
    """DOPA check digit of 12-digit numbers (int64): (11 - sum(d_i * (14 - i)) mod 11) mod 10."""
    x = np.asarray(first12, dtype=np.int64).copy()
    total = np.zeros(x.shape, dtype=np.int64)
    for weight in range(2, 14):  # the last digit weighs 2, the first 13
        total += (x % 10) * weight
        x //= 10
    return (11 - total % 11) % 10


def _region(province: str) -> str:
    if province[0] in "34":
        return "northeast"
    if province[0] in "56":
        return "north"
    if province[0] in "89":
        return "south"
    if province[0] == "7":
        return "west"
    if province[0] == "2":
        return "east"
    return "central"


def _date_text(style: int, day: dt.date) -> str:
    be = day.year + BE_OFFSET
    if style == 0:
        return day.isoformat()
    if style == 1:
        return f"{day.day}/{day.month}/{be}"
    if style == 2:
        return f"{day.day:02d}/{day.month:02d}/{be}"
    year = str(be) if style == 3 else str(be)[2:]
    return f"{day.day} {THAI_MONTHS_ABBR[day.month - 1]} {year}"


# --------------------------------------------------------------------------- plan


class _Plan(FileNaming):
    """Which tambons send which files in which style: one generator for the whole run."""

    def __init__(self, round_: Round, provinces: list[str] | None, seed: int, scale: float):
        self.round = round_
        self.seed = seed
        self.rng = np.random.default_rng([seed, round_.year, round_.month])
        FileNaming.__init__(self)
        every = load_villages()
        self.provinces = chosen_provinces(provinces, sorted(every["province_code"].unique()))
        households = _village_attributes(every, seed, round_)["households"]
        keep = every["province_code"].isin(self.provinces).to_numpy()
        self.villages = every[keep].reset_index(drop=True)
        base = households[keep] * HOUSEHOLD_FACTOR * scale
        self.households = np.maximum(1, np.rint(base)).astype(np.int64)
        self.max_village_no = every.groupby("tambon_code")["village_no"].max().to_dict()
        self.all_amphoes = np.array(sorted(every["amphoe_code"].unique()), dtype=np.int64)
        self.files: list[_File] = []
        self.worker = np.empty(len(self.villages), dtype=object)  # who recorded each village
        self._structure()

    def _structure(self) -> None:
        rng = self.rng
        v = self.villages
        codes, starts, counts = np.unique(v["tambon_code"].to_numpy(), return_index=True, return_counts=True)
        n_t = len(codes)
        silent = np.zeros(n_t, dtype=bool)
        silent[_choose(rng, n_t, SILENT_TAMBON_RATE, 1 if n_t >= 50 else 0)] = True
        self.silent_tambons = [str(c) for c in codes[silent]]
        reporting = [np.arange(s, s + c) for s, c, q in zip(starts, counts, silent, strict=True) if not q]
        reporting_villages = np.concatenate(reporting) if reporting else np.zeros(0, dtype=np.int64)
        missing = np.zeros(len(v), dtype=bool)
        minimum = 1 if len(reporting_villages) >= 500 else 0
        missing[reporting_villages[_choose(rng, len(reporting_villages), MISSING_VILLAGE_RATE, minimum)]] = True
        n_reporting = int((~silent).sum())
        corrections = np.zeros(n_t, dtype=bool)
        chosen = np.flatnonzero(~silent)[_choose(rng, n_reporting, CORRECTION_TAMBON_RATE, 1 if n_t >= 20 else 0)]
        corrections[chosen] = True
        for code, start, count, quiet, correct in zip(codes, starts, counts, silent, corrections, strict=True):
            if quiet:
                continue
            members = np.arange(start, start + count)
            present = members[~missing[members]]
            if len(present) == 0:
                missing[members[0]] = False
                present = members[:1]
            code = str(code)
            # one file per tambon; both workers survey, the sender types the other's villages too
            self._new_file(code, _pick(rng, ("1", "2")), "main", present)
            cut = int(rng.integers(0, len(present) + 1)) if rng.random() < 0.6 else len(present)
            self.worker[present[:cut]] = "1"
            self.worker[present[cut:]] = "2"
            if correct:
                self._new_file(code, _pick(rng, ("1", "2")), "correction", np.zeros(0, dtype=np.int64))
        self.missing = missing
        self.missing_villages = [str(c) for c in v["village_code"].to_numpy()[missing]]
        n_f = len(self.files)
        kinds = rng.choice(len(FORMATS), size=n_f, p=[share for *_, share in FORMATS])
        if n_f >= 20:  # every format at least once
            for k in range(len(FORMATS)):
                if not (kinds == k).any():
                    counts = np.bincount(kinds, minlength=len(FORMATS))
                    spare = np.flatnonzero(counts[kinds] > 1)
                    kinds[spare[int(rng.integers(len(spare)))]] = k
        for f, k in zip(self.files, kinds.tolist(), strict=True):
            f.format, f.encoding = FORMATS[k][0], FORMATS[k][1]
            self._style(f)

    def _new_file(self, tambon: str, worker: str, kind: str, villages: np.ndarray) -> None:
        self.files.append(_File(len(self.files), tambon, tambon[:2], worker, kind, np.asarray(villages)))

    def _style(self, f: _File) -> None:
        rng = self.rng
        u = rng.random()
        f.header_language = "th" if u < 0.80 else ("en" if u < 0.92 else "alias")
        f.headers = self._headers(f)
        f.date_style = int(rng.choice(len(DATE_STYLES), p=DATE_STYLE_SHARES))
        f.thai_digits = rng.random() < 0.10
        f.boolean_style = int(rng.random() < 0.35)
        f.decimals = rng.random() < 0.10
        tambon, amphoe = f.tambon_code, f.tambon_code[:4]
        title = TITLE.format(
            tambon=self.tambon_name[tambon],
            amphoe=self.amphoe_name[amphoe].removeprefix("อำเภอ"),
            province=self.province_name[tambon[:2]],
        )
        subtitle = SUBTITLE.format(month_th=self.round.label_th)
        if f.format == "xlsx":
            f.encoding = None
            f.xlsx_numeric = rng.random() < 0.6 and not f.thai_digits
            f.thousands = not f.xlsx_numeric and rng.random() < 0.3
            if rng.random() < 0.5:
                f.title_lines = _pick(rng, ([title], [title, ""], [title, subtitle], [title, subtitle, ""]))
            f.blank_trailing = int(rng.choice([0, 1, 2, 3], p=[0.6, 0.2, 0.1, 0.1]))
            f.notes_sheet = rng.random() < 0.1
            f.sheet_name = _sheet_title(_pick(rng, SHEET_NAMES).format(tambon=self.tambon_name[tambon]))
        else:
            f.thousands = rng.random() < 0.3
            f.delimiter = "|" if rng.random() < 0.02 else ","
            f.line_end = "\r\n" if rng.random() < 0.8 else "\n"
            if rng.random() < 0.03:
                f.title_lines = [title] if rng.random() < 0.5 else [title, ""]
            f.blank_trailing = int(rng.choice([0, 1, 2, 3], p=[0.7, 0.15, 0.1, 0.05]))
            f.blank_style = "commas" if rng.random() < 0.7 else "empty"
        if rng.random() < 0.03:
            i = int(rng.integers(len(f.headers)))
            space = NBSP if f.encoding == "cp874" else ZWSP
            f.headers[i] = _pick(rng, (" " + f.headers[i], f.headers[i] + " ", space + f.headers[i]))
            f.header_glitch = True
        templates = CORRECTION_NAMES if f.kind == "correction" else FILE_NAMES
        f.name = self.file_name(self.rng, self.round, templates, f.tambon_code, f.worker, f.format)

    def _headers(self, f: _File) -> list[str]:
        if f.header_language == "en":
            return list(FIELD_NAMES)
        if f.header_language == "th":
            return [fd["title_th"] for fd in SCHEMA]
        out = []
        for fd in SCHEMA:
            aliases = fd.get("aliases", [])
            out.append(_pick(self.rng, aliases) if aliases and self.rng.random() < 0.7 else fd["title_th"])
        return out


# --------------------------------------------------------------------------- values


class _Province:
    """Every household row of one province: typed values, then text columns, in file order."""

    def __init__(self, plan: _Plan, province: str, files: list[_File]):
        self.plan = plan
        self.province = province
        self.files = files
        self.rng = np.random.default_rng([plan.seed, plan.round.year, plan.round.month, int(province)])
        self.fault_kind: dict[int, tuple[str, str | None]] = {}  # row -> (kind, field)
        self.dup_pairs: list[tuple[int, int]] = []  # (older row, newer row)
        self._rows()
        self._values()
        self._duplicates()
        self._faults()

    # ----------------------------------------------------------------- rows

    def _rows(self) -> None:
        plan, rng = self.plan, self.rng
        main = [f for f in self.files if f.kind == "main"]
        village = np.concatenate([f.villages for f in main]) if main else np.zeros(0, dtype=np.int64)
        counts = plan.households[village]
        row_village = np.repeat(village, counts)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        serial = np.arange(len(row_village)) - starts + 1
        row_file = np.repeat(np.concatenate([np.full(len(f.villages), f.index) for f in main]), counts)
        # correction files: some households of the tambon's main files, surveyed again later
        copies_of: list[np.ndarray] = []
        copy_file: list[np.ndarray] = []
        tambon_of_row = plan.villages["tambon_code"].to_numpy().astype(np.int64)[row_village]
        for f in self.files:
            if f.kind != "correction":
                continue
            rows = np.flatnonzero(tambon_of_row == int(f.tambon_code))
            k = min(len(rows), 1 + int(rng.binomial(len(rows), CORRECTION_ROW_RATE)))
            picked = np.sort(rng.choice(rows, size=k, replace=False))
            copies_of.append(picked)
            copy_file.append(np.full(k, f.index))
        n_main = len(row_village)
        originals = np.concatenate(copies_of) if copies_of else np.zeros(0, dtype=np.int64)
        source = np.concatenate([np.arange(n_main), originals])
        file_of = np.concatenate([row_file, *copy_file]) if copy_file else row_file
        order = np.argsort(file_of, kind="stable")
        self.source = source[order]  # main-row index each final row copies
        self.row_file = file_of[order]
        self.n_main = n_main
        self.row_village = row_village[self.source]
        self.serial = serial[self.source]
        self.is_copy = order >= n_main
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        self.copy_pairs = list(zip(position[originals].tolist(), position[n_main:].tolist(), strict=True))
        self.n = len(order)
        bounds = np.r_[0, np.flatnonzero(np.diff(self.row_file)) + 1, self.n] if self.n else np.zeros(1, np.int64)
        by_file = {int(self.row_file[bounds[i]]): (int(bounds[i]), int(bounds[i + 1])) for i in range(len(bounds) - 1)}
        for f in self.files:
            f.start, end = by_file.get(f.index, (0, 0))
            f.rows = end - f.start

    # ----------------------------------------------------------------- households

    def _values(self) -> None:
        """Typed values per main household (drawn once), then taken into file order."""
        plan, rng = self.plan, self.rng
        n = self.n_main
        v = plan.villages
        src_village = self.row_village[~self.is_copy]  # main rows are in file order already
        region = _region(self.province)
        kind = "industrial" if self.province in INDUSTRIAL else ("coastal" if self.province in COASTAL else "default")

        shift = {"northeast": 0.02, "north": -0.02, "south": 0.03}.get(region, -0.01)
        p = MEMBERS_P.copy()
        p[2:5] += shift / 3
        p[0] -= shift
        members = 1 + rng.choice(len(p), size=n, p=p / p.sum())
        male = rng.binomial(members, 0.487)
        elderly_p = {"north": 0.19, "northeast": 0.165, "south": 0.13, "east": 0.13}.get(region, 0.145)
        alone_old = (members == 1) & (rng.random(n) < 0.3)
        has_elderly = alone_old | (rng.random(n) < elderly_p)
        elderly = has_elderly * (1 + ((members >= 2) & (rng.random(n) < 0.35)))
        room = members - elderly
        max_children = np.where(room >= 2, room - 1, np.where((room == 1) & (elderly > 0), 1, 0))
        child_p = np.where(members >= 3, 0.55, np.where(members == 2, 0.18, 0.0))
        has_child = (rng.random(n) < child_p) & (max_children > 0)
        children = np.minimum(has_child * (1 + rng.binomial(np.maximum(max_children - 1, 0), 0.3)), max_children)
        school_fail = 0.03 if self.province in {"94", "95", "96", "58", "63"} else 0.012
        in_school = children - rng.binomial(children, school_fail)
        cared = elderly - rng.binomial(elderly, 0.025)
        disabled_p = np.where(elderly > 0, 0.055, 0.03)
        disabled = (rng.random(n) < disabled_p) * (1 + ((members >= 2) & (rng.random(n) < 0.08)))
        disabled = np.minimum(disabled, members)
        disabled_cared = disabled - rng.binomial(disabled, 0.05)

        # head occupation: heads of households of old people only often have none
        occupation = rng.choice(len(OCCUPATIONS), size=n, p=OCCUPATION_SHARES[kind])
        only_old = (elderly == members) & (rng.random(n) < 0.5)
        occupation = np.where(only_old, OCCUPATIONS.index("ไม่มีอาชีพ"), occupation)

        # income per person per year: a lognormal around the province's median
        median = REGION_INCOME[region] * (1.25 if self.province in INDUSTRIAL else 1.0)
        median *= 0.82 if self.province in POOR_PROVINCES else 1.0
        median *= float(np.exp(0.08 * rng.standard_normal()))
        village_level = np.exp(0.15 * rng.standard_normal(len(v)))[src_village]
        per_person = median * village_level * np.exp(INCOME_SIGMA * rng.standard_normal(n))
        total = per_person * members
        farming = np.isin(occupation, [0, 1, 2])
        own_share = np.where(farming, rng.uniform(0.05, 0.20, n), (rng.random(n) < 0.3) * rng.uniform(0, 0.05, n))
        none = occupation == OCCUPATIONS.index("ไม่มีอาชีพ")
        remit = np.where(none, rng.uniform(0.4, 0.9, n), (rng.random(n) < 0.35) * rng.uniform(0.05, 0.35, n))
        second = np.where(none, 0.0, (rng.random(n) < 0.4) * rng.uniform(0.05, 0.3, n))
        allowances = elderly * 7_200 + disabled * 9_600
        own = np.rint(total * own_share / 100) * 100
        other = np.rint(total * remit / 100) * 100 + allowances
        secondary = np.rint(total * second / 100) * 100
        rest = np.maximum(total - own - other - secondary, 0)
        step = np.where(rng.random(n) < 0.6, 1000, 100)
        main = np.rint(rest / step) * step
        per_person_written = (main + secondary + other + own) / members
        card_p = 1.0 / (1.0 + np.exp(1.6 * (np.log(per_person_written + 1) - np.log(60_000))))
        welfare = rng.random(n) < np.clip(0.05 + 0.75 * card_p, 0, 0.85)
        water_ok = rng.random(n) < (0.93 if region in ("northeast", "north") else 0.965)
        housing_ok = rng.random(n) < (0.96 if region in ("northeast", "north") else 0.975)

        # the head: sex, name, citizen id (digits 2-5 the amphoe where the birth was registered)
        female = rng.random(n) < np.where(elderly == members, 0.55, 0.33)
        title = np.where(female, np.where(rng.random(n) < 0.75, 1, 2), 0)
        male_first = rng.integers(0, len(names.MALE_FIRST), n)
        female_first = rng.integers(0, len(names.FEMALE_FIRST), n)
        surname = rng.integers(0, len(names.SURNAMES), n)
        amphoe = v["amphoe_code"].to_numpy().astype(np.int64)[src_village]
        native = rng.random(n) < 0.85
        birth_amphoe = np.where(native, amphoe, plan.all_amphoes[rng.integers(0, len(plan.all_amphoes), n)])
        first_digit = np.array([3, 1, 5, 8])[rng.choice(4, size=n, p=[0.72, 0.25, 0.02, 0.01])]
        order = np.argsort(amphoe, kind="stable")
        rank = np.empty(n, dtype=np.int64)
        starts = np.searchsorted(amphoe[order], amphoe[order], side="left")
        rank[order] = np.arange(n) - starts
        salt = int(rng.integers(0, 5_000_000))
        seq = np.where(native, (rank * 3_021_377 + salt) % 5_000_000, 5_000_000 + rng.integers(0, 5_000_000, n))
        first12 = first_digit * 10**11 + birth_amphoe * 10**7 + seq
        citizen = first12 * 10 + citizen_check_digit(first12)

        # house numbers: about the household's order in the village, some "45/3"
        house = np.maximum(1, np.rint(self.serial[~self.is_copy] * rng.uniform(0.7, 1.3, len(v))[src_village]))
        house += rng.integers(0, 3, n)
        slash = np.where(rng.random(n) < 0.15, rng.integers(1, 10, n), 0)

        last_day = plan.round.last_day.day
        day = rng.integers(1, last_day + 1, n)

        typed = {
            "members": members, "members_male": male, "members_female": members - male,
            "children_6_14": children, "children_6_14_in_school": in_school, "elderly_60_plus": elderly,
            "elderly_cared": cared, "disabled": disabled, "disabled_cared": disabled_cared,
            "income_main": main, "income_secondary": secondary, "income_other": other, "income_own_produce": own,
            "occupation": occupation, "water": water_ok, "housing": housing_ok, "welfare": welfare,
            "title": title, "male_first": male_first, "female_first": female_first, "surname": surname,
            "citizen": citizen, "house": house.astype(np.int64), "slash": slash, "day": day,
        }  # fmt: skip
        src = self.source
        self.t = {k: np.asarray(a)[src].copy() for k, a in typed.items()}
        codes = v["village_code"].to_numpy().astype(np.int64)[self.row_village]
        self.t["village_code"] = codes.copy()
        self.t["household_id"] = codes * 10_000 + self.serial
        self.t["day_offset"] = np.zeros(self.n, dtype=np.int64)  # days moved outside the round (faults)
        self.worker = plan.worker[self.row_village]
        self.text_override: dict[str, dict[int, str | None]] = {}

    def _duplicates(self) -> None:
        """The re-sent copy was surveyed later in the month; a third also correct an income."""
        rng, t = self.rng, self.t
        last_day = self.plan.round.last_day.day
        for older, newer in self.copy_pairs:
            day = int(rng.integers(1, last_day))
            t["day"][older] = day
            t["day"][newer] = int(rng.integers(day + 1, last_day + 1))
            if rng.random() < 0.33:
                t["income_main"][newer] = max(0, t["income_main"][newer] + int(rng.integers(-20, 21)) * 500)
            self.dup_pairs.append((older, newer))
        for f in self.files:  # the correction file's sender recorded its rows
            if f.kind == "correction" and f.rows:
                self.worker[f.start : f.start + f.rows] = f.worker

    # ----------------------------------------------------------------- faults

    def _override(self, name: str, row: int, text: str | None) -> None:
        self.text_override.setdefault(name, {})[row] = text

    def _faults(self) -> None:
        rng, plan = self.rng, self.plan
        round_ = plan.round
        allowed = ~self.is_copy
        allowed[[older for older, _ in self.dup_pairs]] = False
        eligible = np.flatnonzero(allowed)
        eligible = eligible[rng.permutation(len(eligible))]
        minimum = 1 if self.n >= MIN_ROWS_FOR_EVERY_FAULT else 0
        cursor = 0
        be_year = round_.year + BE_OFFSET
        for kind, rate in FAULT_RATES.items():
            k = min(max(int(rng.binomial(self.n, rate)), minimum), len(eligible) - cursor)
            rows = eligible[cursor : cursor + k]
            cursor += k
            for row in rows.tolist():
                target = self._fault(kind, row, be_year)
                if target is not None:
                    self.fault_kind[row] = (kind, target)

    def _fault(self, kind: str, row: int, be_year: int) -> str | None:
        rng, t, round_ = self.rng, self.t, self.plan.round
        if kind == "missing_value":
            target = _pick(rng, MISSING_FIELDS)
            self._override(target, row, None)
        elif kind == "text_in_number":
            target = _pick(rng, TEXT_IN_NUMBER_FIELDS)
            value = int(t[target][row]) or 5000
            self._override(target, row, _pick(rng, NOT_A_NUMBER).format(v=value))
        elif kind == "bad_date":
            target = "survey_date"
            day = round_.last_day.day + 1
            abbr = THAI_MONTHS_ABBR[round_.month - 1]
            self._override(target, row, _pick(rng, (
                f"{day}/{round_.month}/{be_year}", f"31/02/{be_year}", f"{day} {abbr} {be_year}",
                f"{round_.year}-{round_.month:02d}-{day}", f"{abbr} {str(be_year)[2:]}", f"15/{round_.month}",
                f"{int(t['day'][row])}/13/{be_year}", f"{int(t['day'][row])}-{abbr}",
            )))  # fmt: skip
        elif kind == "short_code":
            code = str(int(t["village_code"][row]))
            if rng.random() < 0.7:
                target = "head_citizen_id"
                text = str(int(t["citizen"][row]))
                cut = int(rng.integers(0, 13))
                self._override(target, row, text[:cut] + text[cut + 1 :])
            else:  # the village number typed without its leading zero, or a digit lost
                target = "village_code"
                number = int(code[6:])
                self._override(target, row, code[:6] + str(number) if number < 10 else code[:7])
        elif kind == "bad_check_digit":
            target = "head_citizen_id"
            citizen = int(t["citizen"][row])
            t["citizen"][row] = citizen - citizen % 10 + (citizen % 10 + int(rng.integers(1, 10))) % 10
        elif kind == "members_zero":
            target = "members"
            for name in COUNT_FIELDS:
                t[name][row] = 0
        elif kind == "members_too_many":
            target = "members"
            t["members"][row] = 45
            t["members_male"][row] = 45 - t["members_female"][row]
        elif kind == "sex_sum_mismatch":
            target = "members"
            part = "members_male" if rng.random() < 0.5 else "members_female"
            delta = int(rng.integers(1, 3))
            t[part][row] = t[part][row] + delta if (t[part][row] == 0 or rng.random() < 0.5) else t[part][row] - 1
        elif kind == "part_exceeds_total":
            pairs = [("children_6_14", "children_6_14_in_school"), ("elderly_60_plus", "elderly_cared"),
                     ("disabled", "disabled_cared")]  # fmt: skip
            weights = [0.45, 0.45, 0.10]
            total, part = pairs[int(rng.choice(3, p=weights))]
            target = total
            t[part][row] = t[total][row] + int(rng.integers(1, 3))
        elif kind == "household_id_prefix":
            target = "household_id"
            code = int(t["village_code"][row])
            number = code % 100
            other = number + 1 if number < 99 and (number == 1 or rng.random() < 0.5) else number - 1
            t["household_id"][row] = (code - number + other) * 10_000 + int(t["household_id"][row] % 10_000)
        elif kind == "date_outside_round":
            target = "survey_date"
            day = dt.date(round_.year, round_.month, int(t["day"][row]))
            u = rng.random()
            if u < 0.4:
                moved = round_.first_day - dt.timedelta(days=int(rng.integers(1, 11)))
            elif u < 0.8:
                moved = round_.last_day + dt.timedelta(days=int(rng.integers(1, 11)))
            else:  # the B.E. year typed one too low
                moved = day.replace(year=round_.year - 1, day=min(day.day, 28))
            t["day_offset"][row] = (moved - day).days
        elif kind == "unknown_village":
            target = "village_code"
            code = int(t["village_code"][row])
            tambon = str(code // 100)
            number = int(self.plan.max_village_no[tambon]) + 1 + int(rng.integers(0, 2))
            if number > 99:
                return None
            new = (code // 100) * 100 + number
            t["village_code"][row] = new
            t["household_id"][row] = new * 10_000 + int(t["household_id"][row] % 10_000)
        else:  # occupation_misspelt
            target = "head_occupation"
            self._override(target, row, _pick(rng, MISSPELT_OCCUPATION))
        return target

    # ----------------------------------------------------------------- text

    def text_columns(self) -> dict[str, pa.Array]:
        """Every field as written: styles per file, faults, Thai digits, noise, CSV quoting.

        Each column is cast once; the few cells that differ from the plain spelling
        (faults, Thai-digit files, noise, grouped or quoted baht) are computed on the
        side and put back in one pass."""
        t, plan = self.t, self.plan
        files = {f.index: f for f in self.files}
        index = np.array(sorted(files))
        lookup = np.searchsorted(index, self.row_file)

        def per_file(attr: str) -> np.ndarray:
            return np.array([getattr(files[i], attr) for i in index])[lookup]

        thai = per_file("thai_digits")
        thousands = per_file("thousands")
        decimals = per_file("decimals")
        date_style = per_file("date_style").astype(np.int64)
        boolean_style = per_file("boolean_style").astype(np.int64)
        cp874 = per_file("encoding") == "cp874"
        quote = (per_file("delimiter") == ",") & (per_file("format") == "csv")

        def text(values: np.ndarray) -> pa.Array:
            return pc.cast(pa.array(values), pa.string())

        cols: dict[str, pa.Array] = {}
        cols["household_id"] = text(t["household_id"])
        cols["village_code"] = text(t["village_code"])
        round_ = plan.round
        table = [
            _date_text(style, dt.date(round_.year, round_.month, min(d, round_.last_day.day)))
            for style in range(len(DATE_STYLES))
            for d in range(1, 32)
        ]
        cols["survey_date"] = pa.array(table).take(pa.array(date_style * 31 + t["day"] - 1))
        for row in np.flatnonzero(t["day_offset"]).tolist():
            day = dt.date(round_.year, round_.month, int(t["day"][row])) + dt.timedelta(days=int(t["day_offset"][row]))
            self._override("survey_date", row, _date_text(int(date_style[row]), day))
        house = text(t["house"])
        slashed = pc.binary_join_element_wise(house, text(t["slash"]), "/")
        cols["house_no"] = pc.if_else(pa.array(t["slash"] > 0), slashed, house)
        cols["head_citizen_id"] = text(t["citizen"])
        titles = pa.array(["นาย", "นาง", "นางสาว"]).take(pa.array(t["title"]))
        first = pc.if_else(
            pa.array(t["title"] > 0),
            pa.array(names.FEMALE_FIRST).take(pa.array(t["female_first"])),
            pa.array(names.MALE_FIRST).take(pa.array(t["male_first"])),
        )
        surnames = pa.array(names.SURNAMES).take(pa.array(t["surname"]))
        cols["head_name"] = pc.binary_join_element_wise(pc.binary_join_element_wise(titles, first, ""), surnames, " ")
        for name in COUNT_FIELDS:
            cols[name] = text(t[name])
        for name in INCOME_FIELDS:
            cols[name] = text(t[name].astype(np.int64))
        cols["head_occupation"] = pa.array(OCCUPATIONS).take(pa.array(t["occupation"]))
        spellings = pa.array([s for pair in BOOLEAN_SPELLINGS for s in pair])
        for name, key in (("drinking_water_all_year", "water"), ("housing_secure", "housing"),
                          ("welfare_card", "welfare")):  # fmt: skip
            cols[name] = spellings.take(pa.array(boolean_style * 2 + (~t[key]).astype(np.int64)))
        tambon = (t["village_code"] // 100).astype(str) if self.n else np.zeros(0, dtype=str)
        worker = pa.array(self.worker.astype(str))
        cols["recorded_by"] = pc.binary_join_element_wise("TST", pa.array(tambon), worker, "-")

        thai_rows = np.flatnonzero(thai)
        noise = self._noise_cells(cp874)
        for fd in FIELDS:
            name = fd.name
            override = self.text_override.get(name, {})
            override_rows = np.array(sorted(override), dtype=np.int64)
            parts = [override_rows]
            if fd.thai_digits:
                parts.append(thai_rows)
            if name in noise:
                parts.append(noise[name][0])
            money = name in INCOME_FIELDS
            if money:
                values = t[name].astype(np.int64)
                parts.append(np.flatnonzero((thousands & (values >= 1000)) | decimals))
            at_any = np.zeros(self.n, dtype=bool)
            for part in parts:
                at_any[part] = True
            special = np.flatnonzero(at_any)
            if len(special) == 0:
                continue
            if money:
                sub = _money(values[special], thousands[special], decimals[special])
            else:
                sub = cols[name].take(pa.array(special))
            if len(override_rows):
                at = np.zeros(len(special), dtype=bool)
                at[np.searchsorted(special, override_rows)] = True
                given = pa.array([override[r] for r in override_rows.tolist()], type=pa.string())
                sub = pc.replace_with_mask(sub, pa.array(at), given)
            if fd.thai_digits and len(thai_rows):
                at = thai[special]
                if at.any():
                    digits = sub.filter(pa.array(at))
                    for digit, thai_digit in enumerate(THAI_DIGITS):
                        digits = pc.replace_substring(digits, str(digit), thai_digit)
                    sub = pc.replace_with_mask(sub, pa.array(at), digits)
            if name in noise:
                rows, lead, trail = noise[name]
                at = np.zeros(len(special), dtype=bool)
                at[np.searchsorted(special, rows)] = True
                spaced = pc.binary_join_element_wise(pa.array(lead), sub.filter(pa.array(at)), pa.array(trail), "")
                sub = pc.replace_with_mask(sub, pa.array(at), spaced)
            if money:
                has_comma = pc.fill_null(pc.match_substring(sub, ","), False).to_numpy(zero_copy_only=False)
                at = quote[special] & has_comma
                if at.any():
                    quoted = pc.binary_join_element_wise('"', sub.filter(pa.array(at)), '"', "")
                    sub = pc.replace_with_mask(sub, pa.array(at), quoted)
            cols[name] = pc.replace_with_mask(cols[name], pa.array(at_any), sub)

        self.written = {
            row: (None if target is None else cols[target][row].as_py()) for row, (_, target) in self.fault_kind.items()
        }
        self.written_id = {older: cols["household_id"][older].as_py() for older, _ in self.dup_pairs}
        return {name: cols[name] for name in FIELD_NAMES}

    def _noise_cells(self, cp874: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Stray spaces and zero-width spaces in a few cells of rows without faults:
        per field, (rows, text before, text after)."""
        rng = self.rng
        width = len(FIELD_NAMES)
        k = int(rng.binomial(self.n * width, CELL_NOISE_RATE)) if self.n else 0
        if k == 0:
            return {}
        chosen = np.zeros(self.n * width, dtype=bool)
        chosen[rng.integers(0, self.n * width, k)] = True
        faulty = np.fromiter(self.fault_kind, dtype=np.int64, count=len(self.fault_kind))
        chosen.reshape(self.n, width)[faulty] = False
        cells = np.flatnonzero(chosen)
        rows, columns = cells // width, cells % width
        how = rng.integers(0, 4, len(rows))
        out = {}
        for c in range(width):
            pick = columns == c
            r = rows[pick]
            if len(r) == 0:
                continue
            space = np.where(cp874[r], NBSP, ZWSP)
            lead = np.where(how[pick] == 0, " ", np.where(how[pick] == 2, space, ""))
            trail = np.where(how[pick] == 1, " ", np.where(how[pick] == 3, space, ""))
            out[FIELD_NAMES[c]] = (r, lead, trail)
        return out


def _money(values: np.ndarray, thousands: np.ndarray, decimals: np.ndarray) -> pa.Array:
    """Baht as the office typed them: 45000, 45,000, 45000.00 or 45,000.00 (unquoted)."""
    plain = pc.cast(pa.array(values), pa.string())

    def pad3(x: np.ndarray) -> pa.Array:
        return pc.utf8_lpad(pc.cast(pa.array(x), pa.string()), 3, "0")

    millions, thousands_part, units = values // 1_000_000, (values // 1000) % 1000, values % 1000
    head = pc.if_else(
        pa.array(values >= 1_000_000),
        pc.binary_join_element_wise(pc.cast(pa.array(millions), pa.string()), pad3(thousands_part), ","),
        pc.cast(pa.array(values // 1000), pa.string()),
    )
    grouped = pc.binary_join_element_wise(head, pad3(units), ",")
    out = pc.if_else(pa.array(thousands & (values >= 1000)), grouped, plain)
    return pc.if_else(pa.array(decimals), pc.binary_join_element_wise(out, ".00", ""), out)


# --------------------------------------------------------------------------- writing


def _csv_lines(cols: dict[str, pa.Array], province: _Province) -> pa.Array:
    """Every row as one CSV line (cells are already quoted where needed), in file order."""
    files = {f.index: f for f in province.files}
    index = np.array(sorted(files))
    lookup = np.searchsorted(index, province.row_file)
    delimiter = pa.array(np.array([files[i].delimiter for i in index])[lookup])
    line_end = pa.array(np.array([files[i].line_end for i in index])[lookup])
    joined = pc.binary_join_element_wise(*(cols[n] for n in FIELD_NAMES), delimiter, null_handling="replace")
    return pc.binary_join_element_wise(joined, line_end, "")


def _csv_payload(f: _File, body: bytes) -> bytes:
    width = len(FIELD_NAMES)
    head = []
    for line in f.title_lines:
        head.append(f.delimiter.join([line] + [""] * (width - 1)))
    head.append(f.delimiter.join(f.headers))
    text = f.line_end.join(head) + f.line_end
    tail = ((f.delimiter * (width - 1)) if f.blank_style == "commas" else "") + f.line_end
    tail = tail * f.blank_trailing
    if f.encoding == "cp874":
        return (text + body.decode("utf-8") + tail).encode("cp874")
    data = text.encode("utf-8") + body + tail.encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if f.encoding == "utf-8-sig" else data


def _xlsx_payload(f: _File, cols: dict[str, pa.Array], round_: Round, when: dt.datetime) -> bytes:
    width = len(FIELD_NAMES)
    head_rows: list[list[str | None]] = [[line] if line else [None] for line in f.title_lines]
    head_rows.append(list(f.headers))
    cells = []
    for fd in FIELDS:
        column = cols[fd.name].slice(f.start, f.rows)
        kind = "text"
        if f.xlsx_numeric and (fd.kind in ("integer", "number") or fd.name == "village_code"):
            kind = "number"
        elif f.xlsx_numeric and fd.kind == "date":
            kind = "date"
        cells.append(xl.cells_xml(column, kind))
    first = len(head_rows) + 1
    body = xl.plain_rows_xml(head_rows, 1).encode("utf-8")
    body += xl.concat_bytes(xl.rows_xml(cells, first)) if f.rows else b""
    last = first + f.rows
    body += xl.plain_rows_xml([[None] * width for _ in range(f.blank_trailing)], last).encode("utf-8")
    sheets = [(f.sheet_name, xl.sheet_xml(body, last - 1 + f.blank_trailing, width))]
    if f.notes_sheet:
        notes = [list(r) for r in NOTES]
        sheets.append(("คำอธิบาย", xl.sheet_xml(xl.plain_rows_xml(notes, 1), len(notes), 1)))
    return xl.workbook_bytes(sheets, when, f"TST-{f.tambon_code}-{f.worker}")


def _file_time(round_: Round, rng: np.random.Generator) -> dt.datetime:
    day = min(round_.last_day.day, 20 + int(rng.integers(0, 8)))
    return dt.datetime(round_.year, round_.month, day, 8 + int(rng.integers(0, 10)), int(rng.integers(0, 60)))


def _file_truth(f: _File, payload: bytes) -> FileTruth:
    return FileTruth(
        name=f.name,
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        format=f.format,
        encoding=f.encoding,
        header_language=f.header_language,
        header_row=len(f.title_lines) + 1,
        title_rows=len(f.title_lines),
        rows=f.rows,
        tambon_code=f.tambon_code,
        delimiter=f.delimiter if f.format == "csv" else None,
        date_style=DATE_STYLES[f.date_style],
        thai_digits=f.thai_digits,
        thousands_separators=f.thousands,
        blank_trailing_rows=f.blank_trailing,
        header_glitch=f.header_glitch,
        faults=f.faults,
    )


def _bad_files(plan: _Plan, csv_sample: tuple[_File, bytes] | None, xlsx_sample: bytes | None):
    """(name, bytes, kind) of the unreadable files: about four per run."""
    rng = plan.rng
    round_ = plan.round
    some = plan.files[int(rng.integers(len(plan.files)))] if plan.files else None
    tambon = some.tambon_code if some else plan.villages["tambon_code"].iloc[0]
    letter = names.LETTER.format(
        amphoe=plan.amphoe_name[tambon[:4]].removeprefix("อำเภอ"),
        province=plan.province_name[tambon[:2]],
        province_short="มท",
        code_no=f"{int(rng.integers(100, 999))}",
        year_be=round_.year + BE_OFFSET,
        day=min(25, round_.last_day.day),
        month_th=round_.label_th,
        tambon=plan.tambon_name[tambon],
        name=f"นาย{_pick(rng, names.MALE_FIRST)} {_pick(rng, names.SURNAMES)}",
    )
    out = [
        (plan.unique(f"ข้อมูล จปฐ. ต.{plan.tambon_name[tambon]}", ".csv"), letter.encode("utf-8"), "not_a_table"),
        (plan.unique("book1", ".csv"), b"", "empty"),
    ]
    if xlsx_sample is not None:
        cut = int(len(xlsx_sample) * rng.uniform(0.45, 0.8))
        out.append((plan.unique(f"data({int(rng.integers(1, 10))})", ".xlsx"), xlsx_sample[:cut], "corrupt_xlsx"))
    if csv_sample is not None:  # Excel's "Unicode Text": UTF-16 LE with BOM, tab-separated
        f, payload = csv_sample
        text = payload.decode(f.encoding or "utf-8").removeprefix("\ufeff")
        text = text.replace(f.delimiter, "\t").replace('"', "")
        name = plan.unique(f"จปฐ {THAI_MONTHS_ABBR[round_.month - 1]}{str(round_.year + BE_OFFSET)[2:]}", ".csv")
        out.append((name, b"\xff\xfe" + text.encode("utf-16-le"), "unknown_encoding"))
    if rng.random() < 0.5:  # a scanned letter saved as PDF, renamed .csv
        pdf = (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
        )
        out.append((plan.unique("scan0001", ".csv"), pdf, "pdf"))
    return out


def generate(
    round: Round | str,
    out_dir: Path | str,
    provinces: list[str] | None = None,
    seed: int = 2563,
    bad_files: bool = True,
    scale: float = 1.0,
) -> SampleTruth:
    """Write one round of raw household-survey files into ``out_dir`` (flat, must be empty).

    ``provinces``: 2-digit codes (None: all 76). ``scale`` multiplies the households
    of every village (at least one each). Same arguments give byte-identical files.
    Returns the :class:`SampleTruth`, also written as JSON to :func:`truth_path`.
    """
    round_ = round if isinstance(round, Round) else parse_round(str(round))
    out_dir = Path(out_dir)
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale}")
    plan = _Plan(round_, provinces, seed, scale)
    _check_out_dir(out_dir)
    file_rng = np.random.default_rng([seed, round_.year, round_.month, 1])
    when = {f.index: _file_time(round_, file_rng) for f in plan.files if f.format == "xlsx"}

    truths: dict[int, FileTruth] = {}
    duplicates: list[dict[str, Any]] = []
    stats = _Stats()
    csv_sample: tuple[_File, bytes] | None = None
    xlsx_sample: bytes | None = None
    by_province: dict[str, list[_File]] = {}
    for f in plan.files:
        by_province.setdefault(f.province, []).append(f)
    for province in plan.provinces:
        files = by_province.get(province, [])
        if not files:
            continue
        chunk = _Province(plan, province, files)
        cols = chunk.text_columns()
        stats.add(chunk)
        lines = _csv_lines(cols, chunk) if any(f.format == "csv" for f in files) else None
        offsets = None
        if lines is not None:
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
            data = lines.buffers()[2]
        starts = np.array([f.start if f.rows else -1 for f in files])
        order = np.argsort(starts, kind="stable")

        def file_of_row(row: int, files=files, starts=starts[order], order=order) -> tuple[_File, int]:
            f = files[int(order[np.searchsorted(starts, row, side="right") - 1])]
            return f, row - f.start + 1

        for row, (kind, target) in sorted(chunk.fault_kind.items()):
            f, number = file_of_row(row)
            f.faults.append(_fault_truth(chunk, f, row, number, kind, target))
        for older, newer in chunk.dup_pairs:
            (fo, no), (fn, nn) = file_of_row(older), file_of_row(newer)
            hid = str(int(chunk.t["household_id"][older]))
            code = str(int(chunk.t["village_code"][older]))
            fo.faults.append(FaultTruth(no, len(fo.title_lines) + 1 + no, code, "duplicate_household", "household_id",
                                        chunk.written_id[older], EXPECTED_CODE["duplicate_household"]))  # fmt: skip
            duplicates.append({
                "household_id": hid, "village_code": code,
                "rows": [{"file": fo.name, "row": no, "line": len(fo.title_lines) + 1 + no},
                         {"file": fn.name, "row": nn, "line": len(fn.title_lines) + 1 + nn}],
                "kept": {"file": fn.name, "row": nn, "line": len(fn.title_lines) + 1 + nn},
            })  # fmt: skip
        for f in files:
            f.faults.sort(key=lambda x: (x.row, x.fault))
            if f.format == "xlsx":
                payload = _xlsx_payload(f, cols, round_, when[f.index])
                xlsx_sample = xlsx_sample or payload
            else:
                a, b = int(offsets[f.start]), int(offsets[f.start + f.rows])
                payload = _csv_payload(f, data.slice(a, b - a).to_pybytes())
                if csv_sample is None or (f.rows and f.rows < 200 and len(payload) < len(csv_sample[1])):
                    csv_sample = (f, payload)
            (out_dir / f.name).write_bytes(payload)
            truths[f.index] = _file_truth(f, payload)
            stats.bytes += len(payload)
        del chunk, cols, lines

    ordered = [truths[f.index] for f in plan.files if f.index in truths]
    # the same file sent twice under another name; the name that sorts first is kept
    duplicate_files: list[tuple[str, str]] = []
    renamed: dict[str, str] = {}
    for i in _choose(plan.rng, len(ordered), DUPLICATE_FILE_RATE, 0).tolist():
        original = ordered[i]
        stem, dot, ext = original.name.rpartition(".")
        copy_name = plan.unique(_pick(plan.rng, (f"{stem} - Copy", f"{stem}(1)", f"{stem}_ส่งซ้ำ")), f"{dot}{ext}")
        (out_dir / copy_name).write_bytes((out_dir / original.name).read_bytes())
        copy, pair = copied_file_truth(original, copy_name)
        ordered.append(copy)
        duplicate_files.append(pair)
        renamed[original.name] = pair[0]
    point_to_kept_files(duplicates, renamed)

    if bad_files:
        for name, payload, kind in _bad_files(plan, csv_sample, xlsx_sample):
            (out_dir / name).write_bytes(payload)
            ordered.append(bad_file_truth(name, payload, kind))
            stats.bytes += len(payload)

    truth = SampleTruth(
        dataset=DATASET,
        round=round_.key,
        round_be=round_.be_key,
        seed=seed,
        provinces=list(plan.provinces),
        registry=str(registry_path() or "synthetic"),
        files=ordered,
        silent_tambons=plan.silent_tambons,
        missing_villages=plan.missing_villages,
        duplicate_files=duplicate_files,
        duplicate_villages=duplicates,
        summary=stats.summary(plan, ordered, scale),
    )
    stamp_arrivals(out_dir, DATASET, round_, seed)
    truth_path(out_dir).write_text(truth_json(truth), encoding="utf-8")
    return truth


def truth_json(truth: SampleTruth) -> str:
    """The truth as JSON, one file per line: ``SampleTruth.to_json`` (``asdict`` and an
    indented encoder) takes a minute for a national round's 300,000 faults."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = []
    for key, value in vars(truth).items():
        if key == "files":
            files = [dump({**vars(f), "faults": [vars(x) for x in f.faults]}) for f in value]
            lines.append(' "files": [\n  ' + ",\n  ".join(files) + "\n ]")
        else:
            lines.append(f" {dump(key)}: {dump(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _fault_truth(chunk: _Province, f: _File, row: int, number: int, kind: str, target: str | None) -> FaultTruth:
    return FaultTruth(
        row=number,
        line=len(f.title_lines) + 1 + number,
        village_code=str(int(chunk.t["village_code"][row])),
        fault=kind,
        field=target,
        value=chunk.written.get(row),
        expected_code=EXPECTED_CODE[kind],
    )


class _Stats:
    """Running totals for the summary, kept per province so nothing big stays in memory."""

    def __init__(self) -> None:
        self.rows = 0
        self.households = 0
        self.bytes = 0
        self.members = 0
        self.region: dict[str, list[float]] = {}
        self.shares: dict[str, float] = {}

    def add(self, chunk: _Province) -> None:
        t = chunk.t
        clean = np.ones(chunk.n, dtype=bool)
        clean[list(chunk.fault_kind)] = False
        clean &= ~chunk.is_copy
        self.rows += chunk.n
        self.households += int((~chunk.is_copy).sum())
        members = t["members"][clean]
        income = sum(t[name][clean].astype(np.float64) for name in INCOME_FIELDS)
        per_person = income / np.maximum(members, 1)
        region = _region(chunk.province)
        totals = self.region.setdefault(region, [0.0, 0.0])
        totals[0] += len(members)
        totals[1] += float((per_person < POVERTY_LINE).sum())
        n = len(members)
        for key, value in {
            "members": float(members.sum()),
            "elderly_households": float((t["elderly_60_plus"][clean] > 0).sum()),
            "disabled_households": float((t["disabled"][clean] > 0).sum()),
            "children_households": float((t["children_6_14"][clean] > 0).sum()),
            "welfare_card": float(t["welfare"][clean].sum()),
            "drinking_water_all_year": float(t["water"][clean].sum()),
            "housing_secure": float(t["housing"][clean].sum()),
            "under_38000": float((per_person < POVERTY_LINE).sum()),
            "clean": float(n),
        }.items():
            self.shares[key] = self.shares.get(key, 0.0) + value

    def summary(self, plan: _Plan, truths: list[FileTruth], scale: float) -> dict[str, Any]:
        clean = max(self.shares.get("clean", 0.0), 1.0)
        return {
            "registry_villages": len(plan.villages),
            "registry_tambons": int(plan.villages["tambon_code"].nunique()),
            "scale": scale,
            **file_counts(truths, self.rows, FAULT_KINDS),
            "households": self.households,
            "bytes": self.bytes,
            "expected_codes": EXPECTED_CODE,
            "also_codes": ALSO_CODES,
            "silent_tambons": len(plan.silent_tambons),
            "missing_villages": len(plan.missing_villages),
            "mean_members": round(self.shares.get("members", 0.0) / clean, 3),
            "share_of_clean_households": {
                k: round(v / clean, 4) for k, v in self.shares.items() if k not in ("members", "clean")
            },
            "under_38000_by_region": {r: round(v[1] / v[0], 4) for r, v in sorted(self.region.items()) if v[0]},
        }


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samples.household_survey", description=__doc__.splitlines()[0])
    parser.add_argument("--round", required=True, help="2563-10 or 2020-10")
    parser.add_argument("--out", required=True, type=Path, help="empty folder to write the files into")
    parser.add_argument("--provinces", help="comma-separated 2-digit codes (default: all 76)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2563)
    parser.add_argument("--no-bad-files", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    provinces = args.provinces.split(",") if args.provinces else None
    truth = generate(args.round, args.out, provinces=provinces, seed=args.seed, bad_files=not args.no_bad_files,
                     scale=args.scale)  # fmt: skip
    s = truth.summary
    print(
        f"household_survey {truth.round_be}: {s['data_files']} data files + {s['bad_files']} bad, "
        f"{s['rows']:,} rows ({s['households']:,} households), {s['bytes'] / 1e6:,.0f} MB, "
        f"{s['faulty_rows']:,} faults, {s['silent_tambons']} silent tambons, "
        f"{time.perf_counter() - started:.1f} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
