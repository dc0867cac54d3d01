"""A realistic round of provincial local-office indicator reports (seed 004), with faults.

Each provincial local-administration office (สถ.จ.) sends one file with a row per
indicator (1-12), as offices really send them: CSV UTF-8 / UTF-8 with BOM /
Windows-874 or XLSX with the form's title above the header, Thai (90%) or English
headers, dates in three spellings, Thai digits in some CSV files.

What each value looks like is read from the scorecard declaration
(``scorecards/local_office_kpi.yaml``), by normalisation method, so a changed
indicator changes the samples without code: percentages 55-100, counts around the
declared thresholds (fewer for "lower is better"), levels 1-5, days against the
deadline (80% within it).

Recorded in the truth JSON:

* the ten provinces seed 004's letter left out mostly send nothing (80% each), and
  4% of invited offices send nothing (at least one when 20+ offices);
* 3% of indicators left out of a file (at least one when 10+ files);
* one office re-sends its whole report a few days later with one value corrected
  (the later rows must be kept) when 10+ offices send;
* row faults, about 0.5% of rows each and at least one each when 100+ rows:
  indicator 13, a negative value, a value in words, a missing value, an unknown
  province code, an unreadable date;
* two unreadable files (an empty file, a covering letter saved as .csv).

Same arguments, byte-identical files; values are a hash of (seed, province,
indicator), files and faults come from a generator seeded by (seed, round).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from domain.rounds import Round
from pipelines.scorecards.declaration import SCORECARDS_DIR, Criterion, load_scorecard
from registry.geography import provinces as province_table
from registry.villages import hash_uniform
from samples.arrivals import stamp_arrivals
from samples.district_self_assessment import (
    DATE_STYLES,
    FileLook,
    FileTruth,
    SampleTruth,
    choose,
    headers,
    person,
    pick_format,
    resolve,
    schema_fields,
    submission_counts,
    table_rows,
    unique_name,
    write_bad_files,
    write_table_file,
)
from samples.village_profile import _check_out_dir, truth_path

DATASET = "local_office_kpi_submissions"
SCORECARD = SCORECARDS_DIR / "local_office_kpi.yaml"
NOT_INVITED_SEND_RATE = 0.20
SILENT_RATE = 0.04
MISSING_INDICATOR_RATE = 0.03
FAULT_RATE = 0.005
EXPECTED_CODE = {
    "indicator_13": "above_maximum",
    "negative_value": "below_minimum",
    "value_in_words": "wrong_type",
    "missing_value": "missing_value",
    "unknown_province": "unknown_code",
    "bad_date": "wrong_type",
}
VALUE_IN_WORDS = ("ดำเนินการแล้ว", "ครบถ้วน", "ร้อยละร้อย", "อยู่ระหว่างดำเนินการ", "-")
_TO_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
EVIDENCE = (
    "รายงานผลตามแบบที่กรมกำหนด พร้อมภาพถ่ายกิจกรรม",
    "สรุปผลจากระบบ INFO และหนังสือแจ้งผลการดำเนินงาน",
    "คำสั่งแต่งตั้งคณะทำงาน รายงานการประชุม และภาพกิจกรรม",
    "หนังสือเสนอผู้ว่าราชการจังหวัด และบันทึกรายงานผล",
    "ลิงก์ประชาสัมพันธ์ในเว็บไซต์สำนักงานและกลุ่ม Line",
)
LETTER = (
    "บันทึกข้อความ\nส่วนราชการ สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด{province}\n"
    "เรื่อง รายงานผลการดำเนินงานตามตัวชี้วัดท้องถิ่นจังหวัดดีเด่น\n\n"
    "ตามที่กรมส่งเสริมการปกครองท้องถิ่นกำหนดตัวชี้วัด จึงขอรายงานผลการดำเนินงานมาพร้อมนี้\n"
)


def _value(criterion: Criterion, u: float, v: float) -> float:
    """A realistic value for the indicator, by how it is scored (u, v uniform in [0, 1))."""
    norm, p = criterion.normalise, criterion.normalise.params
    if norm.method == "percent":
        return 100.0 if u > 0.8 else round(55 + 45 * v, 1)
    if norm.method == "levels":
        thresholds = [float(t) for t in p["thresholds"]]
        if p.get("better") == "lower":  # complaints: mostly none or one
            return float(int(np.searchsorted([0.55, 0.8, 0.92, 0.97], u, side="right")))
        top = max(thresholds)
        return float(round(top * (0.2 + 1.1 * u)))
    if norm.method == "level_scale":
        return float(min(int(p["max"]), 1 + int(u * int(p["max"]) * 1.1)))
    if norm.method == "deadline_days":
        limit = float(p["limit"])
        return float(int(limit * (0.4 + 0.55 * v))) if u < 0.8 else float(int(limit * (1.02 + 0.4 * v)))
    if norm.method == "linear":
        return round(float(p["min"]) + (float(p["max"]) - float(p["min"])) * u, 2)
    raise ValueError(f"no sample values for normalise method {norm.method!r}")


def generate(
    round: Round | str,
    out_dir: Path | str,
    provinces: list[str] | None = None,
    seed: int = 2567,
    bad_files: bool = True,
) -> SampleTruth:
    """Write one round of provincial local-office indicator files into ``out_dir`` (flat, must be empty).

    Same arguments give byte-identical files. Returns the truth, also written to
    ``out_dir.parent / f"{out_dir.name}.truth.json"``.
    """
    round_, chosen = resolve(round, provinces)
    out_dir = Path(out_dir)
    card = load_scorecard(SCORECARD)
    indicators = {c.no: c for c in card.criteria}
    rng = np.random.default_rng([seed, round_.year, round_.month, 4])
    province_name = province_table().set_index("province_code")["name_th"].to_dict()

    not_invited = [p for p in chosen if p in card.exclude and rng.random() >= NOT_INVITED_SEND_RATE]
    invited = [p for p in chosen if p not in card.exclude]
    silent = sorted(
        not_invited + [invited[i] for i in choose(rng, len(invited), SILENT_RATE, 1 if len(invited) >= 20 else 0)]
    )
    sending = [p for p in chosen if p not in silent]

    salt = (seed % 1_000_000) * 32
    rows_by_file: list[tuple[str, list[dict[str, Any]]]] = []
    all_rows = [(p, n) for p in sending for n in sorted(indicators)]
    missing_ix = set(choose(rng, len(all_rows), MISSING_INDICATOR_RATE, 1 if len(sending) >= 10 else 0))
    missing = [f"{p}:{n}" for k, (p, n) in enumerate(all_rows) if k in missing_ix]
    for province in sending:
        day = round_.first_day + dt.timedelta(days=int(rng.integers(3, min(28, round_.last_day.day))))
        reporter = f"{person(rng)} ท้องถิ่นจังหวัด{province_name[province]}"
        rows = []
        for n in sorted(indicators):
            if f"{province}:{n}" in missing:
                continue
            key = np.array([int(province) * 100 + n], dtype=np.int64)
            u, v = float(hash_uniform(key, salt + 1)[0]), float(hash_uniform(key, salt + 2)[0])
            rows.append(
                {
                    "province_code": province,
                    "province_name": province_name[province],
                    "indicator_no": n,
                    "value": _value(indicators[n], u, v),
                    "evidence": EVIDENCE[int(rng.integers(len(EVIDENCE)))],
                    "submitted_on": day,
                    "submitted_by": reporter,
                }
            )
        rows_by_file.append((province, rows))

    duplicates: list[dict[str, Any]] = []
    resent: str | None = None
    if len(sending) >= 10:  # one office re-sends its whole report, one value corrected, dated later
        g = int(rng.integers(len(rows_by_file)))
        resent, rows = rows_by_file[g]
        later = rows[0]["submitted_on"] + dt.timedelta(days=int(rng.integers(2, 6)))
        fixed = int(rng.integers(len(rows)))
        copy = [dict(r, submitted_on=later) for r in rows]
        rows[fixed] = dict(rows[fixed], value=max(0.0, rows[fixed]["value"] - 1))  # the earlier, wrong figure
        rows_by_file.append((resent, copy))
        for i, r in enumerate(rows):
            duplicates.append(
                {"key": f"{resent}:{r['indicator_no']}", "earlier": (g, i), "later": (len(rows_by_file) - 1, i)}
            )

    flat = [(g, i) for g, (p, rows) in enumerate(rows_by_file) if p != resent for i in range(len(rows))]
    fault_of: dict[tuple[int, int], tuple[str, str, Any]] = {}
    known = set(province_table()["province_code"])
    for kind in EXPECTED_CODE:
        free = [k for k in flat if k not in fault_of]
        for j in choose(rng, len(free), FAULT_RATE, 1 if len(flat) >= 100 else 0):
            g, i = free[j]
            if kind == "indicator_13":
                fault_of[(g, i)] = (kind, "indicator_no", 13)
            elif kind == "negative_value":
                fault_of[(g, i)] = (kind, "value", -float(rng.integers(1, 20)))
            elif kind == "value_in_words":
                fault_of[(g, i)] = (kind, "value", VALUE_IN_WORDS[int(rng.integers(len(VALUE_IN_WORDS)))])
            elif kind == "missing_value":
                fault_of[(g, i)] = (kind, "value", None)
            elif kind == "unknown_province":
                fault_of[(g, i)] = (
                    kind,
                    "province_code",
                    next(f"{k:02d}" for k in range(99, 0, -1) if f"{k:02d}" not in known),
                )
            else:
                fault_of[(g, i)] = (kind, "submitted_on", "30/02/2567")

    _check_out_dir(out_dir)
    used: set[str] = set()
    names_out: list[str] = []
    truths: list[FileTruth] = []
    fields = [f["name"] for f in schema_fields(DATASET)]
    for g, (province, rows) in enumerate(rows_by_file):
        fmt, encoding = pick_format(rng)
        language = "en" if rng.random() < 0.10 else "th"
        style = DATE_STYLES[int(rng.choice(3, p=[0.4, 0.4, 0.2]))]
        thai_digits = fmt == "csv" and rng.random() < 0.10
        title = (
            [f"แบบรายงานผลการดำเนินงานตามตัวชี้วัดท้องถิ่นจังหวัดดีเด่น สถ.จ.{province_name[province]}"]
            if fmt == "xlsx" or rng.random() < 0.2
            else []
        )
        look = FileLook(fmt, encoding, language, style, thai_digits, title)
        header = headers(DATASET, language, rng)
        here = {i: fault_of[(g, i)] for i in range(len(rows)) if (g, i) in fault_of}
        written, faults = table_rows(rows, fields, here, look, "province_code", EXPECTED_CODE)
        stem = f"ตัวชี้วัดท้องถิ่นจังหวัดดีเด่น สถ.จ.{province_name[province]}"
        name = unique_name(used, stem, ".xlsx" if fmt == "xlsx" else ".csv")
        when = dt.datetime.combine(rows[0]["submitted_on"], dt.time(8 + int(rng.integers(0, 9)), int(rng.integers(60))))
        truths.append(
            write_table_file(out_dir, name, look, header, written, when, f"สถ.จ.{province}", "ตัวชี้วัด", province, faults)
        )
        names_out.append(name)

    for d in duplicates:
        (g1, i1), (g2, i2) = d.pop("earlier"), d.pop("later")
        d["rows"] = [{"file": names_out[g1], "row": i1 + 1}, {"file": names_out[g2], "row": i2 + 1}]
        d["kept"] = {"file": names_out[g2], "row": i2 + 1}
        d["expected_code"] = "duplicate_row"

    if bad_files:
        letter = LETTER.format(province=province_name[chosen[0]]).encode("utf-8")
        truths += write_bad_files(
            out_dir,
            [
                ("empty", unique_name(used, "ตัวชี้วัด", ".csv"), b""),
                ("not_a_table", unique_name(used, "บันทึกข้อความนำส่ง", ".csv"), letter),
            ],
        )

    faulty = {(f.name, x.row) for f in truths for x in f.faults}
    expected: dict[str, dict[str, Any]] = {}
    for g, (_, rows) in enumerate(rows_by_file):  # later files come later: a re-send overwrites
        for i, row in enumerate(rows):
            if (names_out[g], i + 1) not in faulty:
                expected[f"{row['province_code']}:{row['indicator_no']}"] = {
                    "value": row["value"],
                    "submitted_on": row["submitted_on"].isoformat(),
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
            "offices": len(chosen),
            "offices_sent": len(sending),
            "not_invited_silent": not_invited,
            **submission_counts(truths, rows_by_file, EXPECTED_CODE),
        },
    )
    stamp_arrivals(out_dir, DATASET, round_, seed)
    truth_path(out_dir).write_text(truth.to_json(), encoding="utf-8")
    return truth
