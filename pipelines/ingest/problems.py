"""A file that cannot be read, with a code and a message in Thai and English."""

from __future__ import annotations

from validation.codes import message


class FileProblem(Exception):
    """Raised for one file; the round goes on without it."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        self.message_th, self.message_en = message("files", code, detail=detail)
        super().__init__(f"{code}: {self.message_en}")
