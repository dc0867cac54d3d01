"""pytest plugin loaded into CKAN's own test run by ``run.py`` (``-p conformance_plugin``).

Why a plugin and not ``--deselect``: a skipped test still shows up, with the reason
from ``skip.txt``, so the report counts every test CKAN ships; a known failure is
still run (``xfail(strict=True)``), so the day it passes the run fails and says to
take it off the list; and a list entry that names no collected test (CKAN renamed
it, or a typo) is reported, and ``run.py`` fails a full run for it instead of silently
skipping nothing.

It also writes a JSON report keyed by test id (outcome, first line of the failure,
duration), which ``run.py`` reads: pytest's JUnit XML does not keep test ids.

And it seeds Faker before each test, from the test's id. CKAN's factories fill titles and
descriptions with random English words (``fake.text()``), so a test that searches ``q=One``
among "Dataset One/Two/Three" finds two datasets when a description happens to hold "one"
(about 2 runs in 100, with Solr too). Seeded, each test gets the same data in every run: a
failure is ours, and repeatable.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SOLR_ONLY = "solr-only"
KNOWN_FAILURES = "known failures, to fix (issue #17)"
SECTIONS = (SOLR_ONLY, KNOWN_FAILURES)


@dataclass(frozen=True)
class Entry:
    test_id: str
    reason: str
    section: str

    def covers(self, node_id: str) -> bool:
        """An entry names one test, a parametrised test (all its cases) or a class (all its tests)."""
        return node_id == self.test_id or node_id.startswith((self.test_id + "::", self.test_id + "["))


def load_skip_list(path: Path) -> list[Entry]:
    """Entries of ``skip.txt``: ``test id | reason`` lines under ``[solr-only]`` or
    ``[known failures, to fix (issue #17)]``. A line without a reason is an error: every skip says why."""
    entries: list[Entry] = []
    section = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section not in SECTIONS:
                raise pytest.UsageError(f"{path}:{number}: unknown section [{section}] (known: {SECTIONS})")
            continue
        test_id, _, reason = (part.strip() for part in line.partition(" | "))
        if not section or not reason or " " in test_id:
            raise pytest.UsageError(f"{path}:{number}: expected 'test id | reason' under a section, got {raw!r}")
        entries.append(Entry(test_id, reason, section))
    return entries


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tambon conformance")
    group.addoption("--conformance-skip-list", help="skip.txt: tests not expected to pass, each with a reason")
    group.addoption("--conformance-report", help="write a JSON report of every test's outcome here")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Conformance(config), "tambon_conformance")


class _Conformance:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        skip_list = config.getoption("conformance_skip_list")
        self.entries = load_skip_list(Path(skip_list)) if skip_list else []
        self.results: dict[str, dict[str, Any]] = {}
        self.unused: list[str] = []
        self.started = time.monotonic()

    def entry_for(self, node_id: str) -> Entry | None:
        return next((entry for entry in self.entries if entry.covers(node_id)), None)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        used: set[str] = set()
        for item in items:
            entry = self.entry_for(item.nodeid)
            if entry is None:
                continue
            used.add(entry.test_id)
            if entry.section == SOLR_ONLY:
                item.add_marker(pytest.mark.skip(reason=f"skip.txt [{SOLR_ONLY}]: {entry.reason}"))
            else:
                item.add_marker(pytest.mark.xfail(strict=True, reason=f"skip.txt [{KNOWN_FAILURES}]: {entry.reason}"))
        # reported, not refused: a part of the selection collects only some of the listed tests; run.py
        # refuses an entry that no part collected
        self.unused = [entry.test_id for entry in self.entries if entry.test_id not in used]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Before the test's fixtures run (they call the factories too)."""
        _seed_test_data(item.nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.results.setdefault(report.nodeid, {"outcome": "passed", "message": "", "seconds": 0.0})
        record["seconds"] = round(record["seconds"] + report.duration, 3)
        wasxfail = getattr(report, "wasxfail", None)
        if report.failed:
            if record["outcome"] in ("failed", "error"):
                return
            record["outcome"] = "failed" if report.when == "call" else "error"
            record["message"] = _first_line(report)
        elif report.skipped:
            if wasxfail is not None:
                record["outcome"], record["message"] = "xfailed", _first_line(report)
            else:
                record["outcome"] = "skipped"
                longrepr = report.longrepr
                record["message"] = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        elif report.when == "call" and wasxfail is not None:
            record["outcome"], record["message"] = "xpassed", str(wasxfail)
        entry = self.entry_for(report.nodeid)
        if entry is not None:
            record["listed"] = entry.section

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        path = self.config.getoption("conformance_report")
        if not path:
            return
        report = {
            "exitstatus": int(exitstatus),
            "seconds": round(time.monotonic() - self.started, 1),
            "tests": self.results,
            "unused_skips": self.unused,
        }
        Path(path).write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")


def _seed_test_data(node_id: str) -> None:
    try:
        from faker import Faker
    except ImportError:  # CKAN without its test dependencies: nothing random to seed
        return
    Faker.seed(zlib.crc32(node_id.encode()))


def _first_line(report: pytest.TestReport) -> str:
    """The crash line (exception and message) of a failure, or the xfail reason: enough to say why."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).strip()[:500]
    text = str(report.longrepr or "").strip()
    return text.splitlines()[-1][:500] if text else ""
