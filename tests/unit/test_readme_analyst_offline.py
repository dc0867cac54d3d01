"""The README's analyst block works on a machine that cannot download DuckDB extensions (issue #15, point 6).

The ``python`` block of the README's analyst section is taken from the README itself (so
the README cannot drift from what is tested) and run as written in a fresh ``python -I``
process, with only two substitutions: the catalog URL becomes a catalog served on
127.0.0.1 (a random free port), and ``duckdb.connect()`` gets a configuration that turns
every download off (no autoinstall, no autoload, an extension repository that does not
exist) with ``HOME`` an empty folder, so no extension installed earlier can be found.

The control run, the same block without its ``SET extension_directory`` line, must fail
to load httpfs: that shows the downloads really are off, so the block passes only
through the duckdb-ext-httpfs wheel.
"""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from catalog import analyst_db
from catalog.local import LocalCatalog
from catalog.outputs import Output
from domain.declarations import REPO_ROOT
from domain.rounds import parse_round

README_URL = "http://127.0.0.1:5000/dataset/…/download/tambon_catalog.duckdb"
OFFLINE = (
    'duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,'
    ' "custom_extension_repository": "http://127.0.0.1:9/no-repository"})'
)


def readme_block() -> str:
    """The analyst section's python block, as written."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## For analysts") :].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "duckdb_ext" in b]
    assert len(blocks) == 1, "the analyst section has one python block that loads the wheel"
    return blocks[0]


def pinned(name: str) -> str:
    lock = (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    return re.search(rf"^{re.escape(name)}==(\S+)$", lock, re.M).group(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A catalog with one published table and its database, served over HTTP on a free local port."""
    import pandas as pd

    root = tmp_path_factory.mktemp("served")
    round_ = parse_round("2563-10")
    fields = [
        {"name": "round", "type": "string", "title": "Round", "title_th": "รอบ"},
        {"name": "tambon_code", "type": "string", "title": "Tambon code", "title_th": "รหัสตำบล"},
    ]
    frame = pd.DataFrame({"round": ["2020-10"], "tambon_code": ["470101"]})
    output = Output(
        "household_survey_tambon",
        "statistics",
        {"th": "ทดสอบ", "en": "Test"},
        {"th": "ทดสอบ", "en": "Test"},
        {"fields": fields, "missingValues": [""], "primaryKey": ["round", "tambon_code"]},
        frame,
    )
    catalog = LocalCatalog(root)
    catalog.publish(output, round_, {})
    catalog.write_index()
    built = analyst_db.build_local(root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{built.path.relative_to(root).as_posix()}"
    finally:
        server.shutdown()
        server.server_close()


def run(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=180, cwd=home, env=env
    )


def offline(block: str, url: str) -> str:
    assert block.count("duckdb.connect()") == 1 and block.count(README_URL) == 1
    return block.replace("duckdb.connect()", OFFLINE).replace(README_URL, url)


def test_the_readme_pins_the_wheel_built_for_the_pinned_duckdb():
    block = readme_block()
    duckdb_version, wheel = pinned("duckdb"), pinned("duckdb-ext-httpfs")
    assert f"duckdb=={duckdb_version} duckdb-ext-httpfs=={wheel}" in block
    assert wheel.startswith(f"{duckdb_version}.")


def test_the_readme_block_runs_with_downloads_off(served, tmp_path):
    result = run(offline(readme_block(), served), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "household_survey_tambon" in result.stdout  # the datasets table, read over HTTP
    assert "tambon_code" in result.stdout  # the columns table


def test_without_the_wheel_folder_httpfs_cannot_be_had(served, tmp_path):
    """The control: downloads really are off, so only the README's extension_directory line makes it work."""
    block = "\n".join(line for line in readme_block().splitlines() if "extension_directory" not in line)
    result = run(offline(block, served), tmp_path)
    assert result.returncode != 0
    assert "httpfs" in result.stderr
