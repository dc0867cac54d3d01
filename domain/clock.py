"""The date deadlines are judged on, one clock for every layer."""

from __future__ import annotations

import datetime as dt
import os


def today() -> dt.date:
    """The date deadlines are judged on: ``TAMBON_TODAY`` (ISO) when set, for re-runs and tests."""
    override = os.environ.get("TAMBON_TODAY")
    return dt.date.fromisoformat(override) if override else dt.date.today()
