"""CKAN's own search tests pass against our PostgreSQL search (issue #17 point 6).

``catalog/ckan/conformance/run.py`` starts a throw-away cluster of its own (ports 5056,
24356, 63756; ``TAMBON_CONFORMANCE_PORTS`` to change), runs CKAN's tests listed in
``tests.txt`` from the installed CKAN in the CKAN virtualenv, with ``skip.txt`` applied,
then the control, and stops the cluster. This module runs it once and asserts on its JSON
summary: every test not in ``skip.txt`` passed, the search tests that matter were among
them, and without our plugin the same searches fail (so the passes are ours, not Solr's).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_PY = REPO_ROOT / "catalog" / "ckan" / "conformance" / "run.py"
# a run is about 2 minutes; a hung one must not hold CI's 90 minutes
TIMEOUT = 900


def _runner() -> ModuleType:
    """run.py as a module (it is a script of the CKAN folder, not a package): for its settings and cleanup."""
    spec = importlib.util.spec_from_file_location("tambon_ckan_conformance_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the suite and the control. Whatever happens (a timeout kills run.py before its own
    cleanup), the cluster is stopped and its run dir removed afterwards."""
    runner = _runner()
    out = tmp_path_factory.mktemp("conformance") / "summary.json"
    try:
        proc = subprocess.run(
            [sys.executable, str(RUN_PY), "--control", "--json", str(out)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        env = runner.cluster_env()
        runner.stop_cluster(runner.Cluster(env=env, run_dir=Path(env["TAMBON_CKAN_RUN"]), venv=Path()))
    assert out.is_file(), (
        f"run.py wrote no summary (exit {proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    data["report"] = proc.stdout
    return data


def test_every_ckan_search_test_not_in_the_skip_list_passes(summary: dict[str, Any]) -> None:
    suite = summary["suite"]
    assert suite["output_tail"] == "", f"pytest did not run CKAN's tests:\n{suite['output_tail']}"
    assert suite["problems"] == [], "ไม่ผ่านและไม่อยู่ใน skip.txt / not passing and not in skip.txt:\n" + "\n".join(
        suite["problems"]
    )
    assert suite["exitstatus"] == 0, summary["report"]


def test_the_search_tests_that_matter_ran_and_passed(summary: dict[str, Any]) -> None:
    """A collection that silently shrank (a moved CKAN file, a bad tests.txt line) must not look green."""
    passed = set(summary["suite"]["passed"])
    assert len(passed) >= 300, f"only {len(passed)} of CKAN's tests passed"
    for test_class, at_least in [
        ("ckan/tests/logic/action/test_get.py::TestPackageSearch::", 25),
        ("ckan/tests/logic/action/test_get.py::TestPackageAutocomplete::", 5),
        ("ckan/tests/lib/search/test_query.py::TestPackageQuery::", 10),
        ("ckan/tests/lib/search/test_query.py::TestResourceQuery::", 10),
        ("ckan/tests/controllers/test_package.py::TestSearch::", 15),
    ]:
        count = sum(1 for test_id in passed if test_id.startswith(test_class))
        assert count >= at_least, f"{test_class}: {count} passed, expected at least {at_least}"


def test_without_our_search_plugin_the_same_searches_fail(summary: dict[str, Any]) -> None:
    """The control: CKAN falls back to Solr, which is not there, so the searches fail, on Solr. At most a
    few tests may pass either way: those where CKAN refuses a query before searching."""
    control = summary["control"]
    assert control["total"] >= 25, control
    assert len(control["passed"]) <= 3, f"these pass without our search plugin: {control['passed']}"
    messages = list(control["failed_messages"].values())
    assert len(messages) >= control["total"] - 3, control["counts"]
    assert all("solr" in message.lower() for message in messages), messages[:3]
