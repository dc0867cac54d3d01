"""The correction loop measured (issue #14, point 4): per office and round, what was returned, fixed, open, how fast.

One function, :func:`correction_loop`, gives one table (one row per district office that had rows
returned or sent corrections, then a row per province and one for the nation), and every consumer
reads that table or the quality columns made from it in the same stage: the quality report's
section, the Dagster metadata of the quality asset, the published quality output (and through it
the role-model scorecard) and the office's next workbook. The offices' counts it is measured from
come with it, for the run report (:data:`COUNTS_TABLE`), so the report does not count them again.

Definitions (counts by the query of :func:`pipelines.report.corrections.applied.correction_table`, so
the run report and these figures never disagree):

* ``correction_rows_returned``: rows of the office's own files held back, i.e. listed in its
  correction workbook (``rows_returned``);
* ``correction_rows_fixed``: of those, rows an accepted correction replaces (``rows_corrected``);
* ``correction_rows_open``: returned and not fixed;
* a fixed row's *fix* is the moment the correction that replaces it was uploaded: the origin's
  ``uploaded_at`` (what the CKAN sensor records), else its ``landed_at``, else when the round read
  it; as a Thai (Asia/Bangkok) calendar date;
* the *publication* of the workbook it answers: a returned workbook's own ``_about`` ``produced``
  stamp; for a plain fixed file, the date the office's workbook of the round was first produced
  (:data:`LEDGER_FILE`, kept by the writer, so re-writing a workbook never moves it);
* ``correction_turnaround_days_median`` / ``_max``: whole days from publication to fix, over the
  fixed rows (a row, not a file, is what was asked for; 0 when fixed the day it was published;
  blank when no fixed row has a known publication);
* ``correction_rows_fixed_on_time``: fixed rows whose fix date is on or before the correction
  deadline (:func:`pipelines.report.corrections.correction_deadline`);
* ``corrections_on_time_pct``: rows fixed on time / rows returned x 100 (blank when nothing was
  returned: an office with nothing to correct is neither on time nor late).

Tambons are not measured (the office, not the tambon team, answers the workbook): their quality
rows leave these columns blank.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from domain.declarations import DatasetSpec
from domain.frames import as_frame
from domain.geography import Geography
from domain.rounds import Round, parse_round
from domain.work import WorkArea, write_atomic
from pipelines.ingest.problems import FileProblem
from pipelines.report.corrections.applied import _connect, _prepare, prepared_table

BANGKOK = ZoneInfo("Asia/Bangkok")
#: The work area's table of :func:`correction_loop` (offices, provinces, nation).
LOOP_TABLE = "correction_loop"
#: The work area's table of the offices' correction counts (``applied.correction_table``), for the run report.
COUNTS_TABLE = "correction_counts"
#: In the round's reports folder: the date each office's workbook of the round was first produced.
LEDGER_FILE = "correction_workbooks.json"
COUNTS = [
    "correction_rows_returned",
    "correction_rows_fixed",
    "correction_rows_open",
    "correction_rows_fixed_on_time",
]
MEASURES = [
    *COUNTS,
    "corrections_on_time_pct",
    "correction_turnaround_days_median",
    "correction_turnaround_days_max",
]
COLUMNS = ["level", "area_code", "area_name_th", "area_name_en", *MEASURES]


# --------------------------------------------------------------------------- publication dates


def record_published(reports_dir: Path, offices: Iterable[str], produced: dt.date) -> dict[str, dt.date]:
    """Note ``produced`` as the publication of each office's workbook, unless an earlier one is noted.

    The workbooks are re-written on every re-run of the round (with the day's date); the loop is
    measured from the first, the one the office was sent.
    """
    known = published_on(reports_dir)
    for office in offices:
        known.setdefault(office, produced)
    path = Path(reports_dir) / LEDGER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"first_produced": {office: day.isoformat() for office, day in sorted(known.items())}}
    text = json.dumps(body, ensure_ascii=False, indent=2)
    write_atomic(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return known


def published_on(reports_dir: Path) -> dict[str, dt.date]:
    """Office -> the date its workbook of the round was first produced (empty before any was written)."""
    try:
        raw = json.loads((Path(reports_dir) / LEDGER_FILE).read_text(encoding="utf-8"))
        return {str(k): dt.date.fromisoformat(v) for k, v in raw.get("first_produced", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _moment(value: object) -> dt.datetime | None:
    """An ISO 8601 time (UTC when it names no zone), or None when it is missing or not a time."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def fix_date(origin: Mapping[str, Any], received_at: object = None) -> dt.date | None:
    """The Thai date of a correction: its upload (``uploaded_at``), else ``landed_at``, else its reading."""
    for value in (origin.get("uploaded_at"), origin.get("landed_at"), received_at):
        moment = _moment(value)
        if moment is not None:
            return moment.astimezone(BANGKOK).date()
    return None


def _produced_stamp(path: object, spec: DatasetSpec) -> dt.date | None:
    """A returned correction workbook's ``_about`` ``produced`` date (None for any other file)."""
    from pipelines.report.corrections.returned import read_about

    try:
        about = read_about(Path(str(path)).read_bytes(), spec)
        return dt.date.fromisoformat(about["produced"]) if about.get("produced") else None
    except (OSError, ValueError, FileProblem):
        return None


def correction_times(spec: DatasetSpec, files: pd.DataFrame, first_produced: Mapping[str, dt.date]) -> pd.DataFrame:
    """Per readable correction file: ``sha256``, ``fixed_on`` (date) and ``published_on`` (date or None)."""
    rows = []
    if "office" in files.columns:
        chosen = files[(files["office"].fillna("") != "") & (files["status"] == "ok")]
        for record in chosen.to_dict("records"):
            try:
                origin = json.loads(record.get("origin") or "{}")
            except ValueError:
                origin = {}
            origin = origin if isinstance(origin, dict) else {}
            stamp = _produced_stamp(record["archived_as"], spec) if record.get("format") == "xlsx" else None
            rows.append(
                {
                    "sha256": record["sha256"],
                    "fixed_on": fix_date(origin, record.get("received_at")),
                    "published_on": stamp or first_produced.get(record["office"]),
                }
            )
    return pd.DataFrame(rows, columns=["sha256", "fixed_on", "published_on"])


# --------------------------------------------------------------------------- fixed rows


def fixed_rows(con: duckdb.DuckDBPyConnection, spec: DatasetSpec) -> pd.DataFrame:
    """Each returned row that was fixed (``office``, ``_row_id``) with every accepted correction replacing it
    (``fix_file``): by its identity (a returned workbook's row) or by the dataset's key (any correction).

    ``con``: filled by ``applied._prepare``; the rows are exactly those ``correction_table`` counts as
    ``rows_corrected``.
    """
    key = [k for k in spec.duplicates.get("key", []) if k in spec.field_names]
    fixed = "NOT q.from_correction AND q.office IS NOT NULL AND q.corrected AND q.codes <> 'duplicate_row'"
    parts = [
        f"""SELECT q.office, q._row_id, f._file AS fix_file FROM held q JOIN fixes f
            ON f.corrects_file = q._file AND f.corrects_sheet = q._sheet AND f.corrects_row = q._row
            WHERE {fixed}"""
    ]
    if key:
        same = " AND ".join(f'f."k_{k}" = q."k_{k}"' for k in key)
        parts.append(
            f"SELECT q.office, q._row_id, f._file FROM held q JOIN fixes f ON {same} "
            f"WHERE f._file <> q._file AND {fixed}"
        )
    return as_frame(con.execute(" UNION ".join(parts) + " ORDER BY 1, 2, 3"))


# --------------------------------------------------------------------------- the table


def _summary(level: str, code: str, names: tuple[str, str], counts: Mapping[str, int], days: list[int]) -> dict:
    returned = int(counts["correction_rows_returned"])
    on_time = int(counts["correction_rows_fixed_on_time"])
    return {
        "level": level,
        "area_code": code,
        "area_name_th": names[0],
        "area_name_en": names[1],
        **{c: int(counts[c]) for c in COUNTS},
        "corrections_on_time_pct": round(100.0 * on_time / returned, 2) if returned else None,
        "correction_turnaround_days_median": float(pd.Series(days).median()) if days else None,
        "correction_turnaround_days_max": max(days) if days else None,
    }


def correction_loop(
    spec: DatasetSpec,
    round_: Round,
    work: WorkArea,
    geography: Geography,
    first_produced: Mapping[str, dt.date] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The round's correction loop, one row per office, then per province, then the nation (:data:`COLUMNS`),
    and the offices' counts it is measured from (``applied.correction_table``: the run report's figures).

    ``first_produced``: office -> the first production of its workbook of the round (:func:`published_on`),
    the publication a plain fixed file answers.
    """
    from pipelines.report.corrections import correction_deadline

    deadline = correction_deadline(spec, round_)
    con = _connect()
    try:  # one preparation for both: the counts and the fixed rows come from the same tables
        _prepare(con, spec, work, geography)
        counted = prepared_table(con)
        fixes = fixed_rows(con, spec)
    finally:
        con.close()
    times = correction_times(spec, work.read("files"), first_produced or {}).set_index("sha256")
    fixes = fixes.join(times, on="fix_file")
    # a row fixed twice (by identity and by key) was fixed when the first of them came
    fixes = fixes.sort_values(["office", "_row_id", "fixed_on"], na_position="last", kind="mergesort")
    fixes = fixes.drop_duplicates(["office", "_row_id"])
    fixes["on_time"] = fixes["fixed_on"].map(lambda d: d is not None and not pd.isna(d) and d <= deadline)
    fixes["days"] = [
        max(0, (f - p).days) if f is not None and p is not None and not pd.isna(f) and not pd.isna(p) else None
        for f, p in zip(fixes["fixed_on"], fixes["published_on"], strict=True)
    ]
    amphoes = dict(zip(geography.amphoes["amphoe_code"].astype(str), geography.amphoes["province_code"], strict=True))
    names = {
        "amphoe": _names(geography.amphoes, "amphoe_code"),
        "province": _names(geography.provinces, "province_code"),
    }
    by_office = fixes.groupby("office")  # once: a village round has 785 offices to measure
    on_time = by_office["on_time"].sum()
    taken = {office: [int(d) for d in days if d is not None and not pd.isna(d)] for office, days in by_office["days"]}
    offices, by_province = [], {}
    for row in counted.to_dict("records"):
        office = str(row["office"])
        counts = {
            "correction_rows_returned": row["rows_returned"],
            "correction_rows_fixed": row["rows_corrected"],
            "correction_rows_open": row["rows_open"],
            "correction_rows_fixed_on_time": int(on_time.get(office, 0)),
        }
        days = taken.get(office, [])
        offices.append(_summary("amphoe", office, names["amphoe"].get(office, (office, office)), counts, days))
        province = str(amphoes.get(office, office[:2]))
        total = by_province.setdefault(province, ({c: 0 for c in COUNTS}, []))
        for c in COUNTS:
            total[0][c] += counts[c]
        total[1].extend(days)
    provinces = [
        _summary("province", code, names["province"].get(code, (code, code)), counts, days)
        for code, (counts, days) in sorted(by_province.items())
    ]
    nation_counts = {c: sum(t[0][c] for t in by_province.values()) for c in COUNTS}
    nation_days = [d for t in by_province.values() for d in t[1]]
    nation = _summary("nation", "TH", ("ประเทศไทย", "Thailand"), nation_counts, nation_days)
    return typed(pd.DataFrame([*offices, *provinces, nation], columns=COLUMNS)), counted


def loop_totals(loop: pd.DataFrame) -> dict[str, Any]:
    """The nation row as plain values (None for a blank), with the number of offices measured."""
    nation = loop[loop["level"] == "nation"].iloc[0]
    out: dict[str, Any] = {"offices": int((loop["level"] == "amphoe").sum())}
    for column in MEASURES:
        value = nation[column]
        whole = column in COUNTS or column == "correction_turnaround_days_max"
        out[column] = None if pd.isna(value) else int(value) if whole else float(value)
    return out


def _names(table: pd.DataFrame, code: str) -> dict[str, tuple[str, str]]:
    return dict(zip(table[code].astype(str), zip(table["name_th"], table["name_en"], strict=True), strict=True))


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as nullable integers, the rest as floats: blank stays blank in Parquet and CSV."""
    types = {c: "Int64" for c in [*COUNTS, "correction_turnaround_days_max"]}
    types |= {"corrections_on_time_pct": "Float64", "correction_turnaround_days_median": "Float64"}
    return frame.astype({c: t for c, t in types.items() if c in frame.columns})


def with_quality(quality: pd.DataFrame, loop: pd.DataFrame) -> pd.DataFrame:
    """The quality figures with the loop's columns: offices, provinces and the nation measured (0 when nothing
    was returned to them), tambons blank."""
    measured = loop.set_index(["level", "area_code"])[MEASURES]
    out = quality.drop(columns=[c for c in MEASURES if c in quality.columns]).join(measured, on=["level", "area_code"])
    counted = out["level"] != "tambon"
    for column in COUNTS:
        out[column] = out[column].astype("Int64").mask(counted & out[column].isna(), 0)
    return typed(out)


# --------------------------------------------------------------------------- earlier rounds, for the next workbook


def earlier_rounds(work_root: Path, round_: Round, office: str | None = None, limit: int = 3) -> pd.DataFrame:
    """The loop's figures of earlier rounds of the collection, newest first (up to ``limit`` rounds).

    Read from each earlier round's quality figures (amphoe rows, ``office`` alone when given): what an
    office is shown in its next workbook. A round measured before this existed is skipped.
    """
    found = []
    for folder in Path(work_root).iterdir() if Path(work_root).is_dir() else []:
        try:
            earlier = parse_round(folder.name)
        except ValueError:
            continue
        if folder.name == earlier.key and earlier < round_ and (folder / "quality.parquet").is_file():
            found.append(earlier)
    frames = []
    for earlier in sorted(found, reverse=True):
        frame = pd.read_parquet(Path(work_root) / earlier.key / "quality.parquet")
        if not set(MEASURES) <= set(frame.columns):
            continue
        frame = frame[frame["level"] == "amphoe"]
        if office is not None:
            frame = frame[frame["area_code"] == office]
        frames.append(frame[["area_code", *MEASURES]].assign(round=earlier.key, round_be=earlier.be_key))
        if len(frames) == limit:
            break
    if not frames:
        return typed(pd.DataFrame(columns=["round", "round_be", "area_code", *MEASURES]))
    return typed(pd.concat(frames, ignore_index=True)[["round", "round_be", "area_code", *MEASURES]])
