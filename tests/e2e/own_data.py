"""A data folder and a Dagster home of the test's own, as a person would run the README's commands in a new folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from domain.layout import Layout


@contextmanager
def own_data_folder(root: Path) -> Iterator[Layout]:
    """``root/data`` as ``TAMBON_DATA_DIR``, ``root/dagster`` as ``DAGSTER_HOME``, no CKAN, ``root`` as the cwd."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root / "data"))
    mp.setenv("DAGSTER_HOME", str(root / "dagster"))
    mp.delenv("CKAN_URL", raising=False)
    (root / "dagster").mkdir()
    mp.chdir(root)
    try:
        yield Layout(root / "data")
    finally:
        mp.undo()
