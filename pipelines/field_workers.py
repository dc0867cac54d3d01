"""Field-worker monthly output (seed 000, item 3): what each worker sent, what passed, what was on time.

For supervisors only. Worker ids are internal fields: this table is written to
the round's reports folder next to the run report, never to the catalog, and
the publisher's privacy scan refuses any outgoing table that carries a worker id.
A dataset opts in with ``field_workers: {field: <its worker-id field>}``.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from domain.declarations import DatasetSpec
from domain.frames import as_frame
from domain.work import WorkArea


def field_worker_output(spec: DatasetSpec, work: WorkArea, deadline: dt.date) -> pd.DataFrame | None:
    """Per worker: units submitted, accepted and on time, rows received and quarantined, files."""
    declared = spec.raw.get("field_workers")
    if not declared:
        return None
    worker, code = declared["field"], spec.geography_field
    con = duckdb.connect()
    return as_frame(
        con.execute(
            f"""
        WITH rows AS (
            SELECT r._row_id, r.{code} AS unit, coalesce(r.{worker}, '(ไม่ระบุ / not given)') AS worker,
                   r._file, f.received_at::TIMESTAMPTZ AT TIME ZONE 'Asia/Bangkok' AS received_at,
                   r._row_id NOT IN (SELECT _row_id FROM read_parquet('{work.path("findings")}')) AS accepted
            FROM read_parquet('{work.path("received")}') r
            JOIN read_parquet('{work.path("files")}') f ON f.sha256 = r._file
        )
        SELECT worker AS worker_id,
               count(DISTINCT unit) AS units_submitted,
               count(DISTINCT unit) FILTER (WHERE accepted) AS units_accepted,
               count(DISTINCT unit) FILTER (WHERE accepted AND received_at::DATE <= DATE '{deadline}')
                   AS units_accepted_on_time,
               count(*) AS rows_received,
               count(*) FILTER (WHERE NOT accepted) AS rows_quarantined,
               count(DISTINCT _file) AS files,
               min(received_at)::DATE AS first_file_on,
               max(received_at)::DATE AS last_file_on,
               round(100.0 * count(DISTINCT unit) FILTER (WHERE accepted) / count(DISTINCT unit), 2) AS accepted_pct
        FROM rows GROUP BY worker ORDER BY worker
        """
        )
    )
