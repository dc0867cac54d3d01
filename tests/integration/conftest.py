"""Fixtures for integration tests that need a real CKAN server.

``ckan_server`` installs (cached in ``$TAMBON_CKAN_HOME``, by default
``<repo>/.cache/ckan``) and starts the catalog's CKAN with its own ports and
run dir, so it can run beside the demo instance, and always stops it.
Each test module starts from an empty catalog (its run dir is wiped), so one
module's datasets never change another's counts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CKAN_SH = REPO_ROOT / "catalog" / "ckan" / "ckan.sh"
# the test CKAN's ports; TAMBON_TEST_CKAN_PORTS="web,postgres,redis" runs a second test session beside
# the first (each on its own run dir). pytest-xdist's workers (make test runs two) have a CKAN each:
# worker N adds 1000 * N to every port.
_WORKER = int((os.environ.get("PYTEST_XDIST_WORKER") or "gw0").removeprefix("gw") or 0)
TEST_PORTS = dict(
    zip(
        ("TAMBON_CKAN_PORT", "TAMBON_CKAN_PG_PORT", "TAMBON_CKAN_REDIS_PORT"),
        (
            str(int(port) + 1000 * _WORKER)
            for port in (os.environ.get("TAMBON_TEST_CKAN_PORTS") or "5055,54355,63755").split(",")
        ),
        strict=True,
    )
)


@dataclass(frozen=True)
class CkanServer:
    url: str
    token: str
    run_dir: Path
    env: dict

    def ckan_sh(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run catalog/ckan/ckan.sh with this server's settings."""
        return subprocess.run(
            ["bash", str(CKAN_SH), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def ckan_server():
    env = {**os.environ, **TEST_PORTS}
    home = Path(env.get("TAMBON_CKAN_HOME") or REPO_ROOT / ".cache" / "ckan")
    run_dir = home / f"run-test-{TEST_PORTS['TAMBON_CKAN_PORT']}"
    env["TAMBON_CKAN_HOME"] = str(home)
    env["TAMBON_CKAN_RUN"] = str(run_dir)

    def ckan_sh(command: str, timeout: float, check: bool = True) -> None:
        subprocess.run(["bash", str(CKAN_SH), command], env=env, check=check, timeout=timeout)

    # a previous session killed before its teardown may have left it running
    ckan_sh("stop", timeout=120, check=False)
    shutil.rmtree(run_dir, ignore_errors=True)
    try:
        ckan_sh("install", timeout=900)
        ckan_sh("start", timeout=300)
        values = _read_env_file(run_dir / "env")
        yield CkanServer(url=values["CKAN_URL"], token=values["CKAN_API_TOKEN"], run_dir=run_dir, env=env)
    finally:
        ckan_sh("stop", timeout=120, check=False)


# the national catalog's ports (GD-Catalog, a second CKAN that harvests ours: test_ckan_harvest.py), beside the
# test CKAN's; TAMBON_TEST_NATIONAL_CKAN_PORTS="web,postgres,redis" moves them; worker N adds 1000 * N
NATIONAL_PORTS = dict(
    zip(
        ("TAMBON_CKAN_PORT", "TAMBON_CKAN_PG_PORT", "TAMBON_CKAN_REDIS_PORT"),
        (
            str(int(port) + 1000 * _WORKER)
            for port in (os.environ.get("TAMBON_TEST_NATIONAL_CKAN_PORTS") or "5058,54358,63758").split(",")
        ),
        strict=True,
    )
)


@pytest.fixture(scope="module")
def national_ckan():
    """A second CKAN playing the national catalog (``ckan.sh`` with ``TAMBON_CKAN_ROLE=national``: ckanext-harvest
    added to the shared virtualenv under its install lock), on its own ports and run dir; always stopped, and
    its run dir wiped, at the end of the module."""
    env = {**os.environ, **NATIONAL_PORTS, "TAMBON_CKAN_ROLE": "national"}
    home = Path(env.get("TAMBON_CKAN_HOME") or REPO_ROOT / ".cache" / "ckan")
    run_dir = home / f"run-national-test-{NATIONAL_PORTS['TAMBON_CKAN_PORT']}"
    env["TAMBON_CKAN_HOME"] = str(home)
    env["TAMBON_CKAN_RUN"] = str(run_dir)

    def ckan_sh(command: str, timeout: float, check: bool = True) -> None:
        subprocess.run(["bash", str(CKAN_SH), command], env=env, check=check, timeout=timeout)

    ckan_sh("stop", timeout=120, check=False)  # a session killed before its teardown
    shutil.rmtree(run_dir, ignore_errors=True)
    try:
        ckan_sh("install", timeout=900)
        ckan_sh("start", timeout=300)
        values = _read_env_file(run_dir / "env")
        yield CkanServer(url=values["CKAN_URL"], token=values["CKAN_API_TOKEN"], run_dir=run_dir, env=env)
    finally:
        ckan_sh("stop", timeout=120, check=False)
        shutil.rmtree(run_dir, ignore_errors=True)
