"""Throwaway PostgreSQL and Redis servers for integration tests, from the deploy/ scripts a person would use.

Both bind 127.0.0.1 only, install Debian's packages with apt when missing (so a clean CI machine has them),
and are always stopped, and their folders removed, when the ``with`` block ends, also on failure. A server left
by a session killed before its teardown is stopped first.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_SH = REPO_ROOT / "deploy" / "postgres.sh"
REDIS_SH = REPO_ROOT / "deploy" / "redis.sh"


def _script(script: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=900)
    assert not check or result.returncode == 0, f"{script.name} {' '.join(args)} failed:\n{result.stderr}"
    return result


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@contextmanager
def _running(script: Path, name: str, port: str) -> Iterator[dict[str, str]]:
    """``script start DIR PORT`` and the ``DIR/env`` it writes; ``script stop DIR`` and DIR removed at the end.

    DIR is under the system's temporary folder, not pytest's: the postgres OS user must reach it.
    """
    run_dir = Path(tempfile.gettempdir()) / f"{name}-{port}"
    _script(script, "stop", str(run_dir), check=False)  # left over by a session killed before its teardown
    shutil.rmtree(run_dir, ignore_errors=True)
    try:
        started = _script(script, "start", str(run_dir), port, check=False)
        # the server's own log says why it did not start; the folder holding it is removed below
        logs = "".join(f"\n{p.name}:\n{p.read_text(errors='replace')[-3000:]}" for p in run_dir.glob("*.log"))
        assert started.returncode == 0, f"{script.name} start {run_dir} {port} failed:\n{started.stderr}{logs}"
        yield _env_file(run_dir / "env")
    finally:
        _script(script, "stop", str(run_dir), check=False)
        shutil.rmtree(run_dir, ignore_errors=True)


@contextmanager
def postgres(name: str, port: str) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL cluster (deploy/postgres.sh): its ``DAGSTER_PG_*`` settings."""
    with _running(POSTGRES_SH, name, port) as env:
        yield env


@contextmanager
def redis(name: str, port: str) -> Iterator[dict[str, str]]:
    """A fresh Redis (deploy/redis.sh): ``TAMBON_CELERY_BROKER`` pointing at it."""
    with _running(REDIS_SH, name, port) as env:
        yield env
