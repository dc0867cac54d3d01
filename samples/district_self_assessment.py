"""A realistic round of district self-assessment files for the role-model district selection.

Seed 001 asks each province's office (ที่ทำการปกครองจังหวัด) to assess its districts
and report; what arrives is a file per province (70%) or a one-district file sent
by each district office (30%), in the formats offices really use:
CSV UTF-8 / UTF-8 with BOM / Windows-874 and XLSX (with a title row above the
header), Thai headers (the schema's Thai titles or the aliases people type) and
sometimes English ones, dates in three spellings, Thai digits in some files.

What the pipeline must cope with, all recorded in the truth JSON:

* provinces that sent nothing (5%, at least one when 5+ provinces) and districts
  left out of their province's file (8%, at least one when 20+ districts);
* one district sent twice (an earlier version, then a corrected one dated later:
  the later one must be kept) when 20+ districts are generated;
* row faults, about 0.8% of rows each and at least one each when 50+ rows: a score
  above 100, a score in words, missing evidence, an unknown district code, a code
  typed with a dash, an unreadable date;
* two unreadable files (an empty file, a covering letter saved as .csv).

Scores are a hash of (seed, district code) so a district looks the same from
round to round; everything about files and faults comes from a generator seeded
by (seed, round). Same arguments, byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from domain.declarations import DATASETS_DIR
from domain.rounds import BE_OFFSET, THAI_MONTHS_ABBR, Round, parse_round
from registry.geography import amphoes as amphoe_table
from registry.geography import provinces as province_table
from registry.villages import hash_uniform
from samples import names
from samples.arrivals import stamp_arrivals
from samples.village_profile import _check_out_dir, _xlsx_bytes, chosen_provinces, truth_path, unique_name

DATASET = "district_self_assessment"
TRUTH_VERSION = 1
CRITERIA = (1, 3, 4)

SILENT_PROVINCE_RATE = 0.05
MISSING_DISTRICT_RATE = 0.08
PER_DISTRICT_FILES_RATE = 0.30
FAULT_RATE = 0.008
#: fault -> the row code the pipeline (validation/messages.yaml) is expected to give it.
EXPECTED_CODE = {
    "score_above_100": "above_maximum",
    "score_in_words": "wrong_type",
    "missing_evidence": "missing_value",
    "unknown_amphoe": "unknown_code",
    "code_with_dash": "pattern_mismatch",
    "bad_date": "wrong_type",
}
BAD_FILE_CODE = {"empty": "empty_file", "not_a_table": "not_a_table"}
FORMATS = (("csv", "utf-8", 0.40), ("csv", "utf-8-sig", 0.25), ("csv", "cp874", 0.20), ("xlsx", None, 0.15))
DATE_STYLES = ("iso", "dmy_be", "thai")
_TO_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")

EVIDENCE = {
    1: (
        "นายอำเภอ{amphoe}กำหนดทิศทางการขับเคลื่อนโครงการ TST ในการประชุมหัวหน้าส่วนราชการประจำเดือน",
        "อำเภอ{amphoe}จัดทำแนวทางการใช้ข้อมูลหมู่บ้านประกอบแผนพัฒนาอำเภอ และติดตามผลทุกเดือน",
        "นายอำเภอลงพื้นที่ร่วมกับทีม Tambon Smart Team ทุกตำบล และมอบหมายปลัดอำเภอประจำตำบลเป็นพี่เลี้ยง",
        "แปลงนโยบายสู่การปฏิบัติ: ใช้ข้อมูลจากโครงการคัดกรองครัวเรือนเปราะบางในอำเภอ{amphoe}",
    ),
    3: (
        "ลูกจ้างโครงการลงพื้นที่สนับสนุนโครงการคนละครึ่งและเราชนะครบทุกตำบล",
        "จัดทำแผนแปรรูปผลผลิตทางการเกษตรร่วมกับสำนักงานเกษตรอำเภอ{amphoe}",
        "พัฒนา Application แผนที่บริการของอำเภอ{amphoe} จากข้อมูลที่จัดเก็บ",
        "จัดทำแผนเส้นทางท่องเที่ยวเชิงวัฒนธรรมของอำเภอ{amphoe} ร่วมกับ ก.บ.ต.",
        "จัดทำแผนธุรกิจระดับอำเภอเพื่อยกระดับผลิตภัณฑ์ชุมชน",
    ),
    4: (
        "บูรณาการกับโรงพยาบาลส่งเสริมสุขภาพตำบลและ อปท. จัดทำแผนดูแลผู้สูงอายุ",
        "ร่วมกับภาคเอกชนและสภาองค์กรชุมชนจัดทำโครงการแหล่งน้ำชุมชน",
        "ทำงานร่วมกับพัฒนาชุมชนอำเภอ{amphoe}และเกษตรอำเภอในฐานะผู้ดำเนินการร่วม",
        "ประสานสถานศึกษาในพื้นที่อำเภอ{amphoe}ใช้ข้อมูลหมู่บ้านวางแผนการเรียนรู้ชุมชน",
    ),
}
SCORE_IN_WORDS = ("ดีมาก", "ผ่าน", "๙๐ คะแนน", "เก้าสิบ", "n/a")
LETTER = (
    "ที่ มท ๐๓๐๕.๑/{no}\nที่ทำการปกครองจังหวัด{province}\n\nเรื่อง รายงานการคัดเลือกอำเภอต้นแบบ (Role Model)\n"
    "เรียน ผู้ตรวจราชการกรมการปกครอง ประจำเขตตรวจราชการ\n\nตามที่กรมการปกครองได้มอบหมายให้จังหวัดพิจารณาคัดเลือก"
    "อำเภอต้นแบบ จึงขอส่งแบบรายงานมาพร้อมนี้\n\nขอแสดงความนับถือ\nปลัดจังหวัด{province}\n"
)


@dataclass
class FaultTruth:
    row: int  # data row in its file, from 1
    line: int  # the row as Excel shows it (title and header rows counted)
    amphoe_code: str
    fault: str
    field: str
    value: str | None
    expected_code: str


@dataclass
class FileTruth:
    name: str
    sha256: str
    size: int
    format: str  # csv | xlsx | bad
    encoding: str | None
    header_language: str | None  # th | en
    header_row: int | None
    rows: int
    province_code: str | None
    date_style: str | None = None
    thai_digits: bool = False
    faults: list[FaultTruth] = field(default_factory=list)
    bad_kind: str | None = None
    expected_problem: str | None = None


@dataclass
class SampleTruth:
    dataset: str
    round: str
    round_be: str
    seed: int
    provinces: list[str]
    files: list[FileTruth]
    silent_provinces: list[str]  # sent nothing
    missing_units: list[str]  # districts left out of their province's file
    duplicates: list[dict[str, Any]]  # {key, rows: [{file, row}], kept: {file, row}}
    expected: dict[str, dict[str, Any]]  # unit code -> values of the row that must be accepted
    summary: dict[str, Any]
    version: int = TRUTH_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> SampleTruth:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data["files"] = [FileTruth(**{**f, "faults": [FaultTruth(**x) for x in f["faults"]]}) for f in data["files"]]
        return cls(**data)

    def faults(self) -> list[tuple[str, FaultTruth]]:
        return [(f.name, x) for f in self.files for x in f.faults]


# --------------------------------------------------------------------------- shared writing helpers


@cache
def schema_fields(dataset: str) -> tuple[dict[str, Any], ...]:
    schema = json.loads((DATASETS_DIR / dataset / "schema.json").read_text(encoding="utf-8"))
    return tuple(schema["fields"])


def choose(rng: np.random.Generator, n: int, rate: float, minimum: int = 0) -> list[int]:
    """A sorted random subset of range(n) of binomial size, at least ``minimum``."""
    if n <= 0:
        return []
    k = min(n, max(int(rng.binomial(n, rate)), minimum))
    return sorted(int(i) for i in rng.choice(n, size=k, replace=False))


def date_text(day: dt.date, style: str) -> str:
    """A date as offices write it: ISO, d/m/B.E. or '20 มี.ค. 2564'."""
    if style == "iso":
        return day.isoformat()
    if style == "dmy_be":
        return f"{day.day}/{day.month}/{day.year + BE_OFFSET}"
    return f"{day.day} {THAI_MONTHS_ABBR[day.month - 1]} {day.year + BE_OFFSET}"


def headers(dataset: str, language: str, rng: np.random.Generator) -> list[str]:
    """The header row: English names, or the Thai title (70%) or a Thai alias people type."""
    out = []
    for f in schema_fields(dataset):
        if language == "en":
            out.append(f["name"])
            continue
        thai_aliases = [a for a in f.get("aliases", []) if not a.isascii()]
        out.append(
            thai_aliases[int(rng.integers(len(thai_aliases)))] if thai_aliases and rng.random() < 0.3 else f["title_th"]
        )
    return out


def table_bytes(
    fmt: str,
    encoding: str | None,
    header: list[str],
    rows: list[list[Any]],
    title_lines: list[str],
    when: dt.datetime,
    author: str,
    sheet: str,
) -> bytes:
    """One file's bytes: CSV in the given encoding, or XLSX with pinned times (deterministic)."""
    if fmt == "xlsx":
        table = [[line] for line in title_lines] + [header] + rows
        return _xlsx_bytes([(sheet[:31], table)], when, author)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in title_lines:
        writer.writerow([line] + [""] * (len(header) - 1))
    writer.writerow(header)
    writer.writerows([["" if c is None else c for c in r] for r in rows])
    return buffer.getvalue().encode(encoding or "utf-8")


def pick_format(rng: np.random.Generator) -> tuple[str, str | None]:
    index = int(rng.choice(len(FORMATS), p=[p for *_, p in FORMATS]))
    return FORMATS[index][0], FORMATS[index][1]


def person(rng: np.random.Generator) -> str:
    female = rng.random() < 0.35
    first = names.FEMALE_FIRST if female else names.MALE_FIRST
    surname = names.SURNAMES[int(rng.integers(len(names.SURNAMES)))]
    return f"{'นาง' if female else 'นาย'}{first[int(rng.integers(len(first)))]} {surname}"


def resolve(round_: Round | str, provinces: list[str] | None) -> tuple[Round, list[str]]:
    """The round and the sorted 2-digit province codes (all 76 when None)."""
    round_ = round_ if isinstance(round_, Round) else parse_round(str(round_))
    return round_, chosen_provinces(provinces, province_table()["province_code"].tolist())


@dataclass(frozen=True)
class FileLook:
    """How one office writes its file: format, encoding, header language, dates, digits, title rows."""

    fmt: str
    encoding: str | None
    language: str
    style: str
    thai_digits: bool
    title: list[str]


def table_rows(
    rows: list[dict[str, Any]],
    fields: list[str],
    faults: dict[int, tuple[str, str, Any]],
    look: FileLook,
    unit: str,
    expected_code: dict[str, str],
) -> tuple[list[list[Any]], list[FaultTruth]]:
    """A file's cells as the office types them (its date style, Thai digits if it uses them, the
    faults put in: row index -> (kind, field, value)) and the truth of each fault."""
    written, truths = [], []
    for i, row in enumerate(rows):
        fault = faults.get(i)
        cells = []
        for name in fields:
            value = row[name]
            if fault and fault[1] == name:
                value = fault[2]
            elif isinstance(value, dt.date):
                value = date_text(value, look.style)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if look.thai_digits and name != "submitted_by" and isinstance(value, int | float | str):
                value = str(value).translate(_TO_THAI_DIGITS)
            cells.append(value)
        written.append(cells)
        if fault:
            kind, name, value = fault
            text = None if value is None else str(value)
            truths.append(FaultTruth(i + 1, len(look.title) + 2 + i, row[unit], kind, name, text, expected_code[kind]))
    return written, truths


def write_table_file(
    out_dir: Path,
    name: str,
    look: FileLook,
    header: list[str],
    written: list[list[Any]],
    when: dt.datetime,
    author: str,
    sheet: str,
    province: str,
    faults: list[FaultTruth],
) -> FileTruth:
    payload = table_bytes(look.fmt, look.encoding, header, written, look.title, when, author, sheet)
    (out_dir / name).write_bytes(payload)
    return FileTruth(
        name, hashlib.sha256(payload).hexdigest(), len(payload), look.fmt, look.encoding, look.language,
        len(look.title) + 1, len(written), province, look.style, look.thai_digits, faults,
    )  # fmt: skip


def write_bad_files(out_dir: Path, files: list[tuple[str, str, bytes]]) -> list[FileTruth]:
    """(kind, name, payload) files that are no table at all, and their truths."""
    truths = []
    for kind, name, payload in files:
        (out_dir / name).write_bytes(payload)
        truths.append(
            FileTruth(
                name, hashlib.sha256(payload).hexdigest(), len(payload), "bad", None, None, None, 0, None,
                bad_kind=kind, expected_problem=BAD_FILE_CODE[kind],
            )
        )  # fmt: skip
    return truths


def submission_counts(
    truths: list[FileTruth], groups: list[tuple[str, list[dict[str, Any]]]], kinds: dict[str, str]
) -> dict[str, Any]:
    """The summary figures both submission samples report: files, rows and faults."""
    return {
        "files": len(truths),
        "data_files": len(groups),
        "rows": sum(len(r) for _, r in groups),
        "faulty_rows": sum(len(f.faults) for f in truths),
        "faults_by_kind": {k: sum(1 for f in truths for x in f.faults if x.fault == k) for k in kinds},
    }


# --------------------------------------------------------------------------- generator


def _scores(codes: list[str], seed: int) -> dict[str, dict[int, int]]:
    """Stable per-district scores: a district's level (55-95) plus a criterion's own spread."""
    keys = np.array([int(c) for c in codes], dtype=np.int64)
    salt = (seed % 1_000_000) * 16
    level = 55 + 40 * hash_uniform(keys, salt + 1)
    out: dict[str, dict[int, int]] = {c: {} for c in codes}
    for n in CRITERIA:
        spread = (hash_uniform(keys, salt + 2 + n) - 0.5) * 20
        values = np.clip(np.rint(level + spread), 0, 100).astype(int)
        for code, value in zip(codes, values, strict=True):
            out[code][n] = int(value)
    return out


def generate(
    round: Round | str,
    out_dir: Path | str,
    provinces: list[str] | None = None,
    seed: int = 2564,
    bad_files: bool = True,
) -> SampleTruth:
    """Write one round of district self-assessment files into ``out_dir`` (flat, must be empty).

    Same arguments give byte-identical files. Returns the truth, also written to
    ``out_dir.parent / f"{out_dir.name}.truth.json"``.
    """
    round_, chosen = resolve(round, provinces)
    out_dir = Path(out_dir)
    rng = np.random.default_rng([seed, round_.year, round_.month, 1])
    amphoes = amphoe_table()
    amphoes = amphoes[amphoes["province_code"].isin(chosen)].reset_index(drop=True)
    amphoe_name = dict(zip(amphoes["amphoe_code"], amphoes["name_th"], strict=True))
    province_name = province_table().set_index("province_code")["name_th"].to_dict()
    scores = _scores(amphoes["amphoe_code"].tolist(), seed)

    silent = [chosen[i] for i in choose(rng, len(chosen), SILENT_PROVINCE_RATE, 1 if len(chosen) >= 5 else 0)]
    reporting = amphoes[~amphoes["province_code"].isin(silent)]["amphoe_code"].tolist()
    missing = [
        reporting[i] for i in choose(rng, len(reporting), MISSING_DISTRICT_RATE, 1 if len(reporting) >= 20 else 0)
    ]
    sending = [c for c in reporting if c not in set(missing)]

    # rows: (amphoe_code, submitted_on, values by field)
    def row_for(code: str, day: dt.date, adjust: int = 0) -> dict[str, Any]:
        values: dict[str, Any] = {
            "amphoe_code": code,
            "amphoe_name": amphoe_name[code],
            "submitted_on": day,
            "submitted_by": f"{person(rng)} ปลัดจังหวัด{province_name[code[:2]]}",
        }
        for n in CRITERIA:
            values[f"criterion{n}_score"] = max(0, min(100, scores[code][n] - adjust))
            options = EVIDENCE[n]
            values[f"criterion{n}_evidence"] = options[int(rng.integers(len(options)))].format(
                amphoe=amphoe_name[code].removeprefix("อำเภอ")
            )
        return values

    first_day = round_.first_day
    groups: list[tuple[str, list[dict[str, Any]]]] = []  # (province, rows) per file
    for province in [p for p in chosen if p not in silent]:
        codes = [c for c in sending if c[:2] == province]
        if not codes:
            continue
        day = first_day + dt.timedelta(days=int(rng.integers(4, min(25, round_.last_day.day))))
        if rng.random() < PER_DISTRICT_FILES_RATE:
            groups += [(province, [row_for(c, day)]) for c in codes]
        else:
            groups.append((province, [row_for(c, day) for c in codes]))

    duplicates: list[dict[str, Any]] = []
    if len(sending) >= 20:  # a district re-sends a corrected assessment, dated later
        code = sending[int(rng.integers(len(sending)))]
        file_index = next(i for i, (_, rows) in enumerate(groups) if any(r["amphoe_code"] == code for r in rows))
        original = next(r for r in groups[file_index][1] if r["amphoe_code"] == code)
        original_day = original["submitted_on"]
        later = original_day + dt.timedelta(days=int(rng.integers(1, 4)))
        # the earlier copy had lower scores; the correction (later) carries the true ones
        original.update({f"criterion{n}_score": max(0, scores[code][n] - 15) for n in CRITERIA})
        corrected = row_for(code, later)
        groups.append((code[:2], [corrected]))
        duplicates.append({"key": code, "earlier_file_index": file_index, "later_file_index": len(groups) - 1})

    # faults: at most one per row, never on the re-sent district
    flat = [(g, i) for g, (_, rows) in enumerate(groups) for i in range(len(rows))]
    dup_codes = {d["key"] for d in duplicates}
    eligible = [k for k, (g, i) in enumerate(flat) if groups[g][1][i]["amphoe_code"] not in dup_codes]
    fault_of: dict[tuple[int, int], tuple[str, str, Any]] = {}
    minimum = 1 if len(eligible) >= 50 else 0
    known_codes = set(amphoe_table()["amphoe_code"])
    for kind in EXPECTED_CODE:
        free = [k for k in eligible if flat[k] not in fault_of]
        for j in choose(rng, len(free), FAULT_RATE, minimum):
            g, i = flat[free[j]]
            row = groups[g][1][i]
            n = CRITERIA[int(rng.integers(len(CRITERIA)))]
            if kind == "score_above_100":
                fault_of[(g, i)] = (kind, f"criterion{n}_score", int(rng.integers(101, 120)))
            elif kind == "score_in_words":
                fault_of[(g, i)] = (kind, f"criterion{n}_score", SCORE_IN_WORDS[int(rng.integers(len(SCORE_IN_WORDS)))])
            elif kind == "missing_evidence":
                fault_of[(g, i)] = (kind, f"criterion{n}_evidence", None)
            elif kind == "unknown_amphoe":
                province = row["amphoe_code"][:2]
                bad = next(f"{province}{k:02d}" for k in range(90, 40, -1) if f"{province}{k:02d}" not in known_codes)
                fault_of[(g, i)] = (kind, "amphoe_code", bad)
            elif kind == "code_with_dash":
                code = row["amphoe_code"]
                fault_of[(g, i)] = (kind, "amphoe_code", f"{code[:2]}-{code[2:]}")
            else:
                fault_of[(g, i)] = (kind, "submitted_on", "31/02/2564")

    _check_out_dir(out_dir)
    used: set[str] = set()
    truths: list[FileTruth] = []
    fields = [f["name"] for f in schema_fields(DATASET)]
    file_names: list[str] = []
    for g, (province, rows) in enumerate(groups):
        fmt, encoding = pick_format(rng)
        language = "en" if rng.random() < 0.10 else "th"
        style = DATE_STYLES[int(rng.choice(3, p=[0.4, 0.4, 0.2]))]
        thai_digits = rng.random() < 0.10 and fmt == "csv"
        title = (
            [f"แบบรายงานการคัดเลือกอำเภอต้นแบบ (Role Model) จังหวัด{province_name[province]}"]
            if (fmt == "xlsx" or rng.random() < 0.2)
            else []
        )
        look = FileLook(fmt, encoding, language, style, thai_digits, title)
        header = headers(DATASET, language, rng)
        here = {i: fault_of[(g, i)] for i in range(len(rows)) if (g, i) in fault_of}
        written, faults = table_rows(rows, fields, here, look, "amphoe_code", EXPECTED_CODE)
        stem = (
            f"แบบรายงาน Role Model จ.{province_name[province]}"
            if len(rows) > 1
            else f"ประเมินตนเอง อ.{amphoe_name[rows[0]['amphoe_code']]}"
        )
        name = unique_name(used, stem, ".xlsx" if fmt == "xlsx" else ".csv")
        when = dt.datetime.combine(rows[0]["submitted_on"], dt.time(9 + int(rng.integers(0, 8)), int(rng.integers(60))))
        truths.append(
            write_table_file(
                out_dir, name, look, header, written, when, f"ปค.{province}", "แบบรายงาน", province, faults
            )
        )
        file_names.append(name)

    for d in duplicates:
        earlier, later = d.pop("earlier_file_index"), d.pop("later_file_index")
        earlier_row = next(i for i, r in enumerate(groups[earlier][1]) if r["amphoe_code"] == d["key"]) + 1
        d["rows"] = [{"file": file_names[earlier], "row": earlier_row}, {"file": file_names[later], "row": 1}]
        d["kept"] = {"file": file_names[later], "row": 1}
        d["expected_code"] = "duplicate_row"

    if bad_files:
        letter = LETTER.format(no=int(rng.integers(1000, 9999)), province=province_name[chosen[0]]).encode("utf-8")
        truths += write_bad_files(
            out_dir,
            [
                ("empty", unique_name(used, "Book1", ".csv"), b""),
                ("not_a_table", unique_name(used, "หนังสือนำส่ง", ".csv"), letter),
            ],
        )

    faulty = {(f.name, x.row) for f in truths for x in f.faults}
    expected: dict[str, dict[str, Any]] = {}
    for g, (_, rows) in enumerate(groups):
        for i, row in enumerate(rows):
            if (file_names[g], i + 1) in faulty:
                continue
            code = row["amphoe_code"]
            if code in expected and expected[code]["submitted_on"] > row["submitted_on"].isoformat():
                continue
            expected[code] = {
                "submitted_on": row["submitted_on"].isoformat(),
                **{f"criterion{n}_score": row[f"criterion{n}_score"] for n in CRITERIA},
            }
    truth = SampleTruth(
        dataset=DATASET,
        round=round_.key,
        round_be=round_.be_key,
        seed=seed,
        provinces=chosen,
        files=truths,
        silent_provinces=silent,
        missing_units=missing,
        duplicates=duplicates,
        expected=dict(sorted(expected.items())),
        summary={
            "districts": len(amphoes),
            "districts_sent": len(sending),
            **submission_counts(truths, groups, EXPECTED_CODE),
        },
    )
    stamp_arrivals(out_dir, DATASET, round_, seed)
    truth_path(out_dir).write_text(truth.to_json(), encoding="utf-8")
    return truth
