"""Headless Chromium for the browser tests (the quality page, the report CKAN serves, the portal pages).

One way to start it, so every browser test runs it isolated alike: its own profile in the test's
tmp dir, no sandbox (the tests run as root in CI), no background network services, no scrollbars in
screenshots. ``make browser`` installs Debian's chromium and Thai fonts.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
MISSING = "Debian package chromium is not installed (/usr/bin/chromium missing): `make browser`"


def chromium(url: str, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    """Chromium headless on ``url`` (a page's ``file://`` URI or an http URL) with ``flags`` (``--dump-dom``,
    ``--screenshot=...``, ``--print-to-pdf=...``)."""
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            *flags,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (no imaging library needed)."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])
