"""The servers the suite and the benchmarks start listen on ports no outgoing connection can be handed.

Linux gives an outgoing connection a local port from its ephemeral range (``ip_local_port_range``,
32768-60999 unless changed). A server whose port is in that range fails to start whenever a connection
of the moment holds the port: PostgreSQL's "could not bind IPv4 address "127.0.0.1": Address already in
use" in CI, with nothing listening there a moment before. The ports are read where they are declared,
each as every worker of ``make test`` has it (``conftest``: worker N adds 1000 * N).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import catalog_search, datastore_load
from catalog.ckan.conformance import run as conformance
from tests.integration import conftest, test_celery_round, test_dagster_postgres

RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
WORKERS = 2  # make test's pytest-xdist workers (pyproject's addopts)


def _ephemeral() -> range:
    low, high = (int(n) for n in RANGE_FILE.read_text().split()) if RANGE_FILE.exists() else (32768, 60999)
    return range(low, high + 1)


def _declared() -> dict[str, int]:
    ports: dict[str, int] = {}
    for name, group in [
        ("test CKAN", conftest.TEST_PORTS),
        ("national CKAN", conftest.NATIONAL_PORTS),
        ("agency-schema CKAN", conftest.REAL_SCHEMA_PORTS),
    ]:
        for setting, port in group.items():
            first = int(port) - 1000 * conftest._WORKER  # as the first worker has it, whichever runs this
            ports |= {f"{name} {setting}, worker {n}": first + 1000 * n for n in range(WORKERS)}
    for name, group in [
        ("conformance CKAN", conformance.DEFAULT_PORTS),
        ("search benchmark CKAN", catalog_search.PORTS),
        ("datastore benchmark CKAN", datastore_load.PORTS),
    ]:
        ports |= {f"{name} {setting}": int(port) for setting, port in group.items()}
    ports["Dagster's PostgreSQL"] = int(test_dagster_postgres.PORT)
    ports["Celery test PostgreSQL"] = int(test_celery_round.PG_PORT)
    ports["Celery test Redis"] = int(test_celery_round.REDIS_PORT)
    return ports


@pytest.mark.parametrize("name", sorted(_declared()))
def test_a_server_port_is_outside_the_ephemeral_range(name: str) -> None:
    port, ephemeral = _declared()[name], _ephemeral()
    assert port < 65536
    assert port not in ephemeral, f"{name}: {port} is in {ephemeral.start}-{ephemeral.stop - 1}"
