"""Which round is "latest": the one rule behind every latest link, ``_latest`` view and front-page figure.

Why a rule at all: rounds are published as they arrive, so the newest round can hold
one province (Sakon Nakhon reported early) while every other province is still
collecting. Taking "latest" to mean "newest" would then silently replace a complete
month with one province in the latest CSV, in the analysts' ``_latest`` views and in
any figure headed "latest". Users read "latest" as "the most recent complete picture":
the district officer downloading the latest CSV expects her whole province in it, the
analyst expects ``<name>_latest`` to be comparable with last month, the data team
expects a round still being reported to be visible but not to stand in for the country.

The rule (:data:`RULE`): the latest round is the newest round that is **settled**:

* its reporting deadline (``reporting.deadline_day`` of the round's month) has passed, or
* every expected province (the registry's provinces) has reported in it.

A newer round still being reported is published and visible as its own round (its
revision files, the all-rounds views), but is not "latest" until it settles. If no
round is settled, the newest round is latest and the pick says it is a fallback.
A round whose metadata carries no reporting information (published before this rule,
or an output with no reporting window) is settled: there is nothing to wait for.

Everything the rule needs is in the pointer (``latest.json``, ``rounds[<round>].reporting``)
and the round's ``datapackage.json`` (``tambon:reporting``), written by the pipeline at
publish time (:func:`reporting_metadata`), so the analysts' catalog and the CKAN
publisher apply it without reading any data. The pick depends on the date (a deadline
passes), so every reader decides it when it reads, with :func:`pick_latest`.

No Dagster here: the catalog, the publisher and a front page all call it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain import clock
from domain.rounds import date_th, parse_round

#: the key of the reporting block in a pointer's round entry and (prefixed ``tambon:``) in a datapackage
REPORTING_KEY = "reporting"
PACKAGE_KEY = "tambon:reporting"

#: The rule, said once, for pages, descriptions and the analysts' catalog (Thai first).
RULE: dict[str, str] = {
    "th": "รอบล่าสุด คือรอบใหม่ที่สุดที่พ้นกำหนดส่งรายงานแล้ว หรือได้รับรายงานครบทุกจังหวัดแล้ว "
    "รอบที่ใหม่กว่าซึ่งยังรับรายงานอยู่เผยแพร่และดูได้เป็นรอบของตัวเอง แต่ยังไม่นับเป็นรอบล่าสุดจนกว่าจะพ้นกำหนดส่ง"
    "หรือรายงานครบ ถ้ายังไม่มีรอบใดเข้าเกณฑ์ จะใช้รอบใหม่ที่สุดและระบุไว้",
    "en": "The latest round is the newest round past its reporting deadline or reported by every province. "
    "A newer round still being reported is published and visible as its own round, but is not the latest "
    "until its deadline passes or every province has reported. If no round qualifies yet, the newest round "
    "is used and this is said.",
}


def rule_text(separator: str = " / ") -> str:
    """The rule in one line, Thai then English (for a description field that holds one text)."""
    return f"{RULE['th']}{separator}{RULE['en']}"


def judging_day() -> dt.date:
    """The date the deadline is judged on: the project's clock (``TAMBON_TODAY`` when set), so tests can move time."""
    return clock.today()


def _date_en(day: dt.date) -> str:
    return f"{day.day} {day:%b} {day.year} (B.E. {day.year + 543})"


def reporting_metadata(deadline: dt.date, expected: Iterable[str], reported: Iterable[str]) -> dict[str, Any]:
    """What the pipeline writes with a round at publish time, so that the rule can be applied later.

    Province codes rather than counts: a page can then say which provinces have not reported.
    """
    expected_codes = sorted({str(code) for code in expected})
    return {
        "deadline": deadline.isoformat(),
        "provinces_expected": expected_codes,
        "provinces_reported": sorted({str(code) for code in reported} & set(expected_codes)),
    }


@dataclass(frozen=True)
class RoundStatus:
    """One published round as the rule sees it: its deadline and which provinces reported (None: not known)."""

    round: str  # Gregorian YYYY-MM, the storage key
    deadline: dt.date | None = None
    expected: frozenset[str] | None = None
    reported: frozenset[str] | None = None

    @classmethod
    def from_metadata(cls, round_: str, reporting: Mapping[str, Any] | None) -> RoundStatus:
        """From a pointer's or datapackage's reporting block (see :func:`reporting_metadata`)."""
        if not reporting:
            return cls(round_)
        deadline = reporting.get("deadline")
        expected, reported = reporting.get("provinces_expected"), reporting.get("provinces_reported")
        return cls(
            round_,
            dt.date.fromisoformat(deadline) if deadline else None,
            frozenset(map(str, expected)) if expected is not None else None,
            frozenset(map(str, reported)) if reported is not None else None,
        )

    @property
    def known(self) -> bool:
        """Whether anything tells that this round could still be waiting for reports."""
        return self.deadline is not None or self.expected is not None

    @property
    def complete(self) -> bool:
        """Every expected province has reported (False when coverage is not known)."""
        return self.expected is not None and self.reported is not None and self.expected <= self.reported

    def past_deadline(self, today: dt.date) -> bool:
        """After the deadline day (on the day itself offices may still send, as ``late_or_missing`` judges)."""
        return self.deadline is not None and today > self.deadline

    def settled(self, today: dt.date) -> bool:
        return not self.known or self.complete or self.past_deadline(today)

    @property
    def coverage(self) -> tuple[int, int] | None:
        """(provinces reported, provinces expected), when known."""
        if self.expected is None or self.reported is None:
            return None
        return len(self.reported & self.expected), len(self.expected)

    @property
    def missing(self) -> list[str]:
        """Expected provinces that have not reported (empty when coverage is not known)."""
        if self.expected is None or self.reported is None:
            return []
        return sorted(self.expected - self.reported)


@dataclass(frozen=True)
class LatestPick:
    """The rule's answer for one dataset on one day."""

    round: str  # the latest round (Gregorian key)
    newest: str  # the newest published round (the same unless a newer one is still being reported)
    reason: str  # complete | past_deadline | no_reporting_window | fallback_newest
    fallback: bool  # no round is settled: the newest is used anyway
    judged_on: dt.date
    pending: tuple[RoundStatus, ...] = field(default=())  # rounds newer than ``round``, still being reported
    status: RoundStatus | None = None  # the latest round's own status

    @property
    def round_be(self) -> str:
        return parse_round(self.round).be_key

    def note(self) -> dict[str, str]:
        """Why this round is latest on this day, Thai and English: for descriptions and pages."""
        be = self.round_be
        status = self.status or RoundStatus(self.round)
        coverage = status.coverage
        if self.reason == "complete":
            th, en = f"รอบ {be} ได้รับรายงานครบทุกจังหวัดแล้ว", f"round {be} ({self.round}) is reported by every province"
        elif self.reason == "past_deadline" and status.deadline is not None:
            th = f"รอบ {be} พ้นกำหนดส่งรายงาน ({date_th(status.deadline)}) แล้ว"
            en = f"round {be} ({self.round}) is past its reporting deadline ({_date_en(status.deadline)})"
            if coverage:
                th += f" ได้รับรายงาน {coverage[0]} จาก {coverage[1]} จังหวัด"
                en += f"; {coverage[0]} of {coverage[1]} provinces reported"
        elif self.reason == "no_reporting_window":
            th, en = f"รอบ {be} ไม่มีกำหนดส่งรายงาน", f"round {be} ({self.round}) has no reporting window"
        else:
            th = f"ยังไม่มีรอบใดพ้นกำหนดส่งหรือรายงานครบ จึงใช้รอบใหม่ที่สุด {be} ซึ่งยังรับรายงานอยู่"
            en = f"no round is past its deadline or fully reported yet, so the newest round {be} ({self.round}) is "
            en += "used while it is still being reported"
            if coverage:
                th += f" (ได้รับรายงาน {coverage[0]} จาก {coverage[1]} จังหวัด)"
                en += f" ({coverage[0]} of {coverage[1]} provinces reported)"
        for waiting in self.pending:
            wbe = parse_round(waiting.round).be_key
            got = waiting.coverage
            th += f" รอบ {wbe} ยังรับรายงานอยู่"
            en += f"; round {wbe} ({waiting.round}) is still being reported"
            if got:
                th += f" (ได้รับ {got[0]} จาก {got[1]} จังหวัด"
                en += f" ({got[0]} of {got[1]} provinces"
                if waiting.deadline:
                    th += f" กำหนดส่ง {date_th(waiting.deadline)}"
                    en += f", deadline {_date_en(waiting.deadline)}"
                th += ")"
                en += ")"
            elif waiting.deadline:
                th += f" (กำหนดส่ง {date_th(waiting.deadline)})"
                en += f" (deadline {_date_en(waiting.deadline)})"
            th += " จึงยังไม่เป็นรอบล่าสุด"
            en += " and is not the latest yet"
        return {"th": th, "en": en}


def pick_latest(rounds: Iterable[RoundStatus], today: dt.date | None = None) -> LatestPick:
    """The latest round among ``rounds`` (any order) on ``today`` (default: :func:`judging_day`), by :data:`RULE`."""
    ordered = sorted(rounds, key=lambda s: s.round)
    if not ordered:
        raise ValueError("ยังไม่มีรอบที่เผยแพร่ / no published round to choose from")
    day = today or judging_day()
    newest = ordered[-1]
    settled = [s for s in ordered if s.settled(day)]
    if settled:
        chosen = settled[-1]
        if chosen.complete:
            reason = "complete"
        elif chosen.past_deadline(day):
            reason = "past_deadline"
        else:
            reason = "no_reporting_window"
        fallback = False
    else:
        chosen, reason, fallback = newest, "fallback_newest", True
    pending = tuple(s for s in ordered if s.round > chosen.round)
    return LatestPick(chosen.round, newest.round, reason, fallback, day, pending, chosen)


def statuses_of_pointer(pointer: Mapping[str, Any]) -> list[RoundStatus]:
    """Each round of a ``latest.json`` pointer with its reporting block (see catalog/local.py)."""
    rounds = pointer.get("rounds", {})
    return [RoundStatus.from_metadata(key, entry.get(REPORTING_KEY)) for key, entry in rounds.items()]


def pick_from_pointer(pointer: Mapping[str, Any], today: dt.date | None = None) -> LatestPick:
    """The rule applied to one dataset's pointer: what the CKAN publisher and the local index use."""
    return pick_latest(statuses_of_pointer(pointer), today)


def latest_round(catalog_root: Path, output: str, today: dt.date | None = None) -> LatestPick:
    """The latest round of ``output`` in a local catalog folder, for a page's "latest" figures.

    The front page calls this for the round its figures come from, and shows :data:`RULE`
    and :meth:`LatestPick.note` beside them.
    """
    pointer = json.loads((Path(catalog_root) / output / "latest.json").read_text(encoding="utf-8"))
    return pick_from_pointer(pointer, today)
