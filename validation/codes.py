"""Machine codes with Thai and English messages, read from ``messages.yaml``.

Codes are data so that wording can be fixed without touching code, and so that
tests can check that every code the pipeline emits has both messages.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

_MESSAGES = Path(__file__).with_name("messages.yaml")

TYPE_TH = {
    "integer": "จำนวนเต็ม",
    "number": "ตัวเลข",
    "date": "วันที่",
    "boolean": "ค่า มี/ไม่มี",
    "string": "ข้อความ",
}


@cache
def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    return yaml.safe_load(_MESSAGES.read_text(encoding="utf-8"))


def message(kind: str, code: str, **values: Any) -> tuple[str, str]:
    """The (Thai, English) message for ``code``; missing placeholders render empty."""
    entry = catalogue()[kind][code]
    filled = _Blank(values)
    return entry["th"].format_map(filled), entry["en"].format_map(filled)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""
