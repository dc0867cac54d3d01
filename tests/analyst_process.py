"""An analyst's machine, simulated: a fresh ``python -I`` process that imports only duckdb.

Shared by the unit test (a local HTTP server) and the integration test (the real
CKAN): both attach the catalog database by URL and compare with local files.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
from importlib import metadata
import duckdb
extension = next(f for f in metadata.files("duckdb-ext-httpfs") if f.name == "httpfs.duckdb_extension")
con = duckdb.connect()
con.execute(f"LOAD '{extension.locate()}'")
con.execute(f"ATTACH '{sys.argv[1]}' AS tambon (READ_ONLY)")
rows = {v: con.execute(f"SELECT * FROM tambon.{v} ORDER BY ALL").fetchall() for v in sys.argv[2:]}
ours = {"pandas", "pyarrow", "catalog", "domain", "pipelines", "requests"}
loaded = sorted({m.split(".")[0] for m in sys.modules} & ours)
print(json.dumps({"rows": rows, "loaded": loaded}, default=str))
"""


def attach_and_read(url: str, views: list[str]) -> dict:
    """Rows of each view (JSON-normalised) and which of our heavy modules the process loaded."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT, url, *views], capture_output=True, text=True, timeout=180, cwd="/"
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def normalised(rows: list) -> list:
    """Local rows in the JSON form the analyst process prints."""
    return json.loads(json.dumps(rows, default=str))
