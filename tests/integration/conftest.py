"""Fixtures for integration tests that need a real CKAN server.

``ckan_server`` installs (cached in ``$TAMBON_CKAN_HOME``, by default
``<repo>/.cache/ckan``) and starts the catalog's CKAN with its own ports and
run dir, so it can run beside the demo instance, and always stops it.
Each test module starts from an empty catalog (its run dir is wiped), so one
module's datasets never change another's counts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CKAN_SH = REPO_ROOT / "catalog" / "ckan" / "ckan.sh"
# the test CKAN's ports; TAMBON_TEST_CKAN_PORTS="web,postgres,redis" runs a second test session beside
# the first (each on its own run dir). pytest-xdist's workers (make test runs two) have a CKAN each:
# worker N adds 1000 * N to every port. Every server's port is outside Linux's ephemeral range (32768-60999),
# which outgoing connections take ports from: a PostgreSQL on 55358 once failed to start in CI because a
# connection held that port (test_service_ports.py).
_WORKER = int((os.environ.get("PYTEST_XDIST_WORKER") or "gw0").removeprefix("gw") or 0)


def _ports(variable: str, default: str) -> dict[str, str]:
    """ckan.sh's port settings from ``variable`` ("web,postgres,redis") or ``default``, moved for this worker."""
    ports = (str(int(port) + 1000 * _WORKER) for port in (os.environ.get(variable) or default).split(","))
    return dict(zip(("TAMBON_CKAN_PORT", "TAMBON_CKAN_PG_PORT", "TAMBON_CKAN_REDIS_PORT"), ports, strict=True))


TEST_PORTS = _ports("TAMBON_TEST_CKAN_PORTS", "5055,24355,63755")


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


@contextlib.contextmanager
def _running_ckan(ports: dict[str, str], run_name: str, wipe: bool, **settings: str) -> Iterator[CkanServer]:
    """A CKAN of ``ckan.sh`` on ``ports`` with its own run dir (``settings``: more of ckan.sh's environment),
    installed and started, always stopped at the end (and its run dir removed when ``wipe``)."""
    env = {**os.environ, **ports, **settings}
    home = Path(env.get("TAMBON_CKAN_HOME") or REPO_ROOT / ".cache" / "ckan")
    run_dir = home / f"{run_name}-{ports['TAMBON_CKAN_PORT']}"
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
        if wipe:
            shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def ckan_server():
    with _running_ckan(TEST_PORTS, "run-test", wipe=False, TAMBON_CKAN_ROLE="catalog") as server:
        yield server


# the national catalog's ports (GD-Catalog, a second CKAN that harvests ours: test_ckan_harvest.py), beside the
# test CKAN's; TAMBON_TEST_NATIONAL_CKAN_PORTS="web,postgres,redis" moves them; worker N adds 1000 * N
NATIONAL_PORTS = _ports("TAMBON_TEST_NATIONAL_CKAN_PORTS", "5058,24358,63758")


@pytest.fixture(scope="module")
def national_ckan():
    """A second CKAN playing the national catalog (``ckan.sh`` with ``TAMBON_CKAN_ROLE=national``: ckanext-harvest
    added to the shared virtualenv under its install lock), on its own ports and run dir; always stopped, and
    its run dir wiped, at the end of the module."""
    with _running_ckan(NATIONAL_PORTS, "run-national-test", wipe=True, TAMBON_CKAN_ROLE="national") as server:
        yield server


# the agency-schema CKAN's ports (test_ckan_real_schema.py): our CKAN with the Thai GDC fields only, beside the test
# CKAN's; TAMBON_TEST_REAL_SCHEMA_CKAN_PORTS="web,postgres,redis" moves them; worker N adds 1000 * N
REAL_SCHEMA_PORTS = _ports("TAMBON_TEST_REAL_SCHEMA_CKAN_PORTS", "5068,24368,63768")
OUR_SCHEMA = REPO_ROOT / "catalog" / "ckan" / "ckanext-tambon" / "ckanext" / "tambon" / "thai_gdc_dataset.yaml"


@pytest.fixture(scope="module")
def real_schema_ckan(tmp_path_factory):
    """Our CKAN as a Thai agency catalog runs it: the dataset schema has the Thai GDC fields only (ckanext-thai_gdc's
    keys), so the server drops the keys of ours (``title_en``, ``round_coverage``, ``latest_revision``...).

    The schema is ours with every field marked ``tambon_extra`` left out (the real files cannot be downloaded here;
    tests/unit/test_gdc_schema_fields.py checks ours against the real keys), given to ``ckan.sh`` as
    ``TAMBON_CKAN_SCHEMA``. Own ports and run dir; always stopped, and its run dir wiped, at the end of the module."""
    import yaml

    schema = yaml.safe_load(OUR_SCHEMA.read_text(encoding="utf-8"))
    schema["dataset_fields"] = [f for f in schema["dataset_fields"] if not f.get("tambon_extra")]
    schema["resource_fields"] = [f for f in schema["resource_fields"] if not f.get("tambon_extra")]
    schema["about"] = "Thai GDC fields only (tambon-opendata's schema without its own fields)"
    path = tmp_path_factory.mktemp("real-schema") / "thai_gdc_only.yaml"
    path.write_text(yaml.safe_dump(schema, allow_unicode=True, sort_keys=False), encoding="utf-8")

    settings = {"TAMBON_CKAN_SCHEMA": str(path), "TAMBON_CKAN_ROLE": "catalog"}
    with _running_ckan(REAL_SCHEMA_PORTS, "run-real-schema-test", wipe=True, **settings) as server:
        yield server
