"""What the correction workbooks read from a round's work area, office by office.

The small tables (files, quality figures, villages not reported) are read whole; the
quarantined rows are streamed from one DuckDB query sorted by office and file, each row
with its findings gathered (the fields to highlight, the reasons in Thai and English in
the validators' order), so a national round (~300,000 quarantined household rows) never
sits in memory at once: one office's rows do.

The values are those of ``quarantine.parquet``: the text as received, normalised only in its
spelling (Thai digits, B.E. dates to ISO, spaces, thousands separators). Re-reading every raw
file would give the cells byte for byte but parse the whole round a second time, and the
office corrects the value that was checked, which is this one.

A quarantined row that an accepted correction has replaced (``applied.settled_rows``) is no
longer the office's to correct: it stays in the quarantine (nothing is dropped) but leaves the
workbooks and their counts, so a re-run after corrections lists what is still open and the
corrections that were refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from typing import Any, NamedTuple

import pandas as pd

from domain.declarations import DatasetSpec
from domain.frames import as_frame
from domain.geography import Geography
from domain.rounds import Round
from domain.work import WorkArea, records_by
from pipelines.report.corrections import texts as T
from pipelines.report.corrections.applied import _connect, _lit, settled_rows
from pipelines.report.corrections.attribution import attribute_files, places_by_rows
from validation.schema_sql import ordered_list

#: The key of rows and files no office can be given: they go to the data team's workbook.
NOBODY = ""
BATCH_ROWS = 20_000


class HeldRow(NamedTuple):
    """One quarantined row as the workbook shows it."""

    file: str  # SHA-256 of the file it came from
    sheet: str
    row: int  # as the office sees it in Excel
    values: tuple[str | None, ...]  # every form field, in the schema's order, as received
    faulty: frozenset[str]  # fields a finding names (highlighted)
    reasons_th: tuple[str, ...]
    reasons_en: tuple[str, ...]


@dataclass(frozen=True)
class RoundTables:
    """The round's small tables, with every file attributed to an office."""

    quality: pd.DataFrame
    files: pd.DataFrame  # files.parquet + amphoe_code, tambon_code, attributed_by, evidence, held, sheet_no
    villages_missing: pd.DataFrame  # village_code, village_name, tambon_code, amphoe_code
    by_rows: pd.DataFrame  # per SHA-256: the districts its rows name (see attribution.places_by_rows)
    settled: frozenset[int] = frozenset()  # _row_id of quarantined rows an accepted correction replaced

    # Each office's workbook reads its own few records of these tables: they are grouped once, here, rather than
    # filtered out of the round's tables for each office (half a national village round's 878 workbooks' time).

    def figures(self, level: str, code: str) -> dict[str, Any] | None:
        return self._areas.get((level, code))

    def tambons_of(self, office: str) -> list[dict[str, Any]]:
        """The figures of the office's tambons, in code order."""
        return self._tambons.get(office, [])

    def files_of(self, office: str) -> list[dict[str, Any]]:
        """The records of the files given to the office, in the table's order."""
        return self._files.get(office, [])

    def file_read(self, sha256: str) -> dict[str, Any]:
        """The record of a file read (status ok)."""
        return self._files_read[sha256]

    def villages_missing_of(self, office: str) -> list[dict[str, Any]]:
        return self._villages_missing.get(office, [])

    @cached_property
    def _areas(self) -> dict[tuple[str, str], dict[str, Any]]:
        areas: dict[tuple[str, str], dict[str, Any]] = {}
        for record in self.quality.to_dict("records"):
            areas.setdefault((record["level"], record["area_code"]), record)
        return areas

    @cached_property
    def _tambons(self) -> dict[str, list[dict[str, Any]]]:
        tambons = self.quality[self.quality["level"] == "tambon"].sort_values("area_code")
        return records_by(tambons, tambons["area_code"].str[:4])

    @cached_property
    def _files(self) -> dict[str, list[dict[str, Any]]]:
        return records_by(self.files, self.files["amphoe_code"])

    @cached_property
    def _files_read(self) -> dict[str, dict[str, Any]]:
        read = self.files[self.files["status"] == "ok"]
        return dict(zip(read["sha256"], read.to_dict("records"), strict=True))

    @cached_property
    def _villages_missing(self) -> dict[str, list[dict[str, Any]]]:
        return records_by(self.villages_missing, self.villages_missing["amphoe_code"])

    def offices(self) -> list[str]:
        """Districts that get a workbook: every district of a province that sent anything, and any
        district a file is attributed to."""
        provinces = self.quality[(self.quality["level"] == "province") & (self.quality["rows_received"] > 0)]
        attributed = set(self.files["amphoe_code"].dropna())
        sent = set(provinces["area_code"]) | {a[:2] for a in attributed}
        amphoes = self.quality[self.quality["level"] == "amphoe"]["area_code"]
        return sorted({a for a in amphoes if a[:2] in sent} | attributed)


def load_round(spec: DatasetSpec, work: WorkArea, geography: Geography) -> RoundTables:
    """Read the files, quality and received tables and attribute every file (see ``attribution``)."""
    files = work.read("files")
    corrections = "office" in files.columns and bool((files["office"].fillna("") != "").any())
    settled = frozenset(settled_rows(spec, work, geography)) if corrections else frozenset()
    con = _connect()
    try:
        geography.register(con)
        counted = work.path("quality_counts") if spec.has_quality_figures else None
        by_rows = places_by_rows(con, work.path("received"), spec.geography_field, counted)
        con.register("settled", pd.DataFrame({"_row_id": pd.Series(sorted(settled), dtype="int64")}))
        held = dict(
            con.execute(
                f"SELECT _file, count(*) FROM read_parquet({_lit(work.path('quarantine'))}) "
                "WHERE _row_id NOT IN (SELECT _row_id FROM settled) GROUP BY 1"
            ).fetchall()
        )
        missing = as_frame(
            con.execute(
                f"""
            SELECT v.village_code, v.village_name, v.tambon_code, v.amphoe_code
            FROM villages v
            WHERE v.village_code NOT IN (
                SELECT DISTINCT CAST("{spec.geography_field}" AS VARCHAR)
                FROM read_parquet({_lit(work.path("received"))}) WHERE "{spec.geography_field}" IS NOT NULL)
            ORDER BY v.village_code
            """
            )
        )
    finally:
        con.close()
    files = attribute_files(files, by_rows, geography)
    files["held"] = files["sha256"].map(held).fillna(0).astype(int)
    files.loc[files["status"] != "ok", "held"] = 0  # a duplicate's rows are its original's
    files = files.sort_values(["amphoe_code", "tambon_code", "name"], na_position="last", kind="mergesort")
    files["sheet_no"] = 0
    with_rows = (files["status"] == "ok") & (files["held"] > 0)
    files.loc[with_rows, "sheet_no"] = files[with_rows].groupby(files["amphoe_code"].fillna(NOBODY)).cumcount() + 1
    for column in ("amphoe_code", "tambon_code"):  # None, never NaN: "no office" reads the same everywhere
        files[column] = files[column].astype(object).where(files[column].notna(), None)
    return RoundTables(work.read("quality"), files.reset_index(drop=True), missing, by_rows, settled)


def held_rows(
    spec: DatasetSpec, work: WorkArea, tables: RoundTables, offices: list[str] | None = None
) -> Iterator[tuple[str, list[HeldRow]]]:
    """(district code or :data:`NOBODY`, its quarantined rows in sheet order), one office at a time.

    ``offices``: only these districts (and :data:`NOBODY` if listed), e.g. one worker's share.
    """
    places = tables.files[(tables.files["status"] == "ok")][["sha256", "amphoe_code", "sheet_no"]].copy()
    places["amphoe_code"] = places["amphoe_code"].fillna(NOBODY)
    if offices is not None:
        places = places[places["amphoe_code"].isin(offices)]
    fields = ", ".join(f'CAST(q."{n}" AS VARCHAR)' for n in spec.field_names)
    query = f"""
        WITH found AS (
            SELECT _row_id,
                   list(DISTINCT field) FILTER (WHERE field IS NOT NULL AND field <> '') AS faulty,
                   {ordered_list("file_row_number", "message_th")} AS th,
                   {ordered_list("file_row_number", "message_en")} AS en
            FROM read_parquet({_lit(work.path("findings"))}, file_row_number = true)
            GROUP BY _row_id
        )
        SELECT p.amphoe_code, q._file, coalesce(q._sheet, '') AS _sheet, q._row, {fields},
               coalesce(f.faulty, []) AS faulty, coalesce(f.th, []) AS th, coalesce(f.en, []) AS en
        FROM read_parquet({_lit(work.path("quarantine"))}) q
        JOIN places p ON p.sha256 = q._file
        LEFT JOIN found f USING (_row_id)
        WHERE q._row_id NOT IN (SELECT _row_id FROM settled)
        ORDER BY p.amphoe_code, p.sheet_no, _sheet, q._row, q._row_id
    """
    con = _connect()
    try:
        con.register("places", places)
        con.register("settled", pd.DataFrame({"_row_id": pd.Series(sorted(tables.settled), dtype="int64")}))
        reader = con.execute(query).fetch_record_batch(BATCH_ROWS)
        n = len(spec.field_names)

        def rows() -> Iterator[tuple[str, HeldRow]]:
            for batch in reader:
                columns = batch.to_pydict()
                names = list(columns)
                for values in zip(*(columns[c] for c in names), strict=True):
                    yield (
                        values[0],
                        HeldRow(
                            values[1],
                            values[2],
                            int(values[3]),
                            tuple(values[4 : 4 + n]),
                            frozenset(values[4 + n] or ()),
                            tuple(values[5 + n] or ()),
                            tuple(values[6 + n] or ()),
                        ),
                    )

        for office, group in groupby(rows(), key=lambda item: item[0]):
            yield office, [row for _, row in group]
    finally:
        con.close()


@dataclass(frozen=True)
class Context:
    """What every workbook of a round shares: the tables, names, dates and targets (picklable, for workers)."""

    spec: DatasetSpec
    round: Round
    tables: RoundTables
    names: dict[str, dict[str, tuple[str, str]]]  # level -> code -> (Thai, English)
    deadline: dt.date
    produced: dt.date
    targets: dict[str, float | None]
    #: the correction loop of earlier rounds, amphoe rows (``measured.earlier_rounds``), newest first
    history: pd.DataFrame | None = None

    def earlier_of(self, office: str) -> list[dict[str, Any]]:
        """The office's rows of :attr:`history` (a blank as None: "–" in the workbook)."""
        return self._earlier.get(office, [])

    @cached_property
    def _earlier(self) -> dict[str, list[dict[str, Any]]]:
        history = self.history
        if history is None or not len(history):
            return {}
        return records_by(history.astype(object).where(history.notna(), None), history["area_code"])

    def name(self, level: str, code: str | None) -> tuple[str, str]:
        """An area's (Thai, English) name; a file whose tambon is unknown says so rather than showing nothing."""
        if code is None or pd.isna(code) or not code:
            return T.TAMBON_UNKNOWN if level == "tambon" else ("", "")
        return self.names[level].get(code, (code, code))
