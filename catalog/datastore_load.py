"""One round's rows into the dataset's DataStore table: PostgreSQL COPY on the server when it can, else the Action API.

The DataStore table of a dataset holds the current revision of every round (``CkanPublisher._datastore``).
Loading a round *replaces* that round's rows: none of an earlier revision is left, none is doubled.

* **On a CKAN that runs our extension** (``tambon_datastore_load``, ckanext-tambon's ``datastore_load.py``):
  the round's CSV is already on the server (uploaded and verified by the publisher's staging step), so one
  call names it, with its SHA-256, and the server deletes the round's rows and loads the file with ``COPY``
  and one ``INSERT ... SELECT``, in one transaction: 6-9 s for a national village round (70,000 rows) on
  two cores, where ``datastore_upsert`` took 157 s (``benchmarks/datastore_load.py``).
* **On any other CKAN** (the action unknown), through the Action API: ``datastore_delete`` of the round's
  rows, then ``datastore_insert``-style ``datastore_upsert`` (``method="insert"``, one SQL statement a row
  instead of the upsert's two) in batches. A table without a ``round`` column is upserted by its key as
  before.

Both type the values the same way (the data dictionary's column types, missing values as NULL, a boolean
true for its ``trueValues`` and false otherwise); ``tests/integration/test_ckan_datastore_load.py`` compares
them row by row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from catalog.ckan_client import CkanClient, CkanError

SERVER_ACTION = "tambon_datastore_load"
#: the column every published table has (its primary key's first part): which round a row belongs to
ROUND_COLUMN = "round"
BATCH_ROWS = 5000  # ~5.5 MB of JSON for a village round: well under the DataStore body cap (64 MB)


def load_round(
    client: CkanClient,
    table_id: str,
    schema: dict[str, Any],
    csv: Path,
    round_key: str,
    source: dict[str, Any] | None = None,
    sha256: str | None = None,
) -> int:
    """Replace the rows of ``round_key`` in the table by the rows of ``csv``; returns the rows loaded.

    ``source`` is the CKAN resource holding the same CSV (its ``hash`` must be ``sha256``): with it, and
    a ``round`` column, the server loads the file itself; otherwise, or when the server does not know
    the action, the rows are sent through the Action API.
    """
    names = [f["name"] for f in schema["fields"]]
    if source is not None and sha256 and source.get("hash") == sha256 and ROUND_COLUMN in names:
        try:
            result = client.call(
                SERVER_ACTION,
                resource_id=table_id,
                source_id=source["id"],
                sha256=sha256,
                column=ROUND_COLUMN,
                value=round_key,
                missing_values=schema.get("missingValues", [""]),
                true_values={
                    f["name"]: f.get("trueValues", ["true"]) for f in schema["fields"] if f.get("type") == "boolean"
                },
            )
            return int(result["rows"])
        except CkanError as error:
            if "Action name not known" not in error.detail:
                raise
    return load_by_api(client, table_id, schema, csv, round_key)


def records(schema: dict[str, Any], csv: Path) -> list[dict[str, Any]]:
    """The CSV's rows as ``datastore_upsert`` takes them: missing values (per the Table Schema: empty, and
    the small-cell marker of suppressed counts) as None, booleans as True/False, the rest as text."""
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = dict.fromkeys(schema.get("missingValues", [""]), None)
    rows = frame.replace(missing).to_dict(orient="records")
    bools = {f["name"]: f for f in schema["fields"] if f.get("type") == "boolean"}
    for row in rows:
        for name, spec in bools.items():
            if row[name] is not None:
                row[name] = row[name] in spec.get("trueValues", ["true"])
    return rows


def load_by_api(client: CkanClient, table_id: str, schema: dict[str, Any], csv: Path, round_key: str) -> int:
    """Through the Action API only: delete the round's rows, then insert; or upsert by key without a round column."""
    rows = records(schema, csv)
    key = schema.get("primaryKey", [])
    if ROUND_COLUMN in {f["name"] for f in schema["fields"]}:
        client.call("datastore_delete", resource_id=table_id, filters={ROUND_COLUMN: round_key}, force=True)
        method = "insert"
    else:
        method = "upsert" if key else "insert"
    for start in range(0, len(rows), BATCH_ROWS):
        client.call(
            "datastore_upsert",
            resource_id=table_id,
            records=rows[start : start + BATCH_ROWS],
            method=method,
            force=True,
        )
    return len(rows)
