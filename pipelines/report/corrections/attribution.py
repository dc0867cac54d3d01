"""Which district office (and which tambon team in it) sent each file of a round.

File names say nothing reliable and nobody logs in to send a file, so the office is read from
what the file gave (except an office's returned correction: it landed in that office's own
corrections folder, which says who sent it, and its rows, refused ones included, go back to that
office alone, whatever villages they name):

* **by its rows**: the district (amphoe) that most of the file's rows name by their village code
  (its first four digits), the tambon likewise. The whole file goes back to that office, the rows
  that name another district included: the office typed them, and sending them to the district
  they name would hand one office's rows (names, ID numbers) to another. A tie between districts
  is not a sender: the file is left to the data team, as is a file none of whose rows names a
  registry district.
* **a file without rows** (unreadable, empty, a letter instead of the form) by **registry codes**
  in its name or, for a text file, in its archived bytes (an Excel "Unicode text" file rejected
  for its encoding still lists its villages), then by **place names** after ``ต.``/``ตำบล``,
  ``อ.``/``อำเภอ``, ``จ.``/``จังหวัด`` in its name or text (an office's cover letter names its
  district and province). Workbooks and other containers (zip, OLE2) are never opened here: the
  one that was rejected may be damaged or hostile (a zip bomb), and ingest already refused it.
  A name that fits several districts is narrowed to the districts that sent readable files this
  round; still more than one, or none, and the file goes to the data team with what was tried.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from domain.geography import Geography
from domain.work import table_exists
from pipelines.ingest.decode import OLE2
from pipelines.ingest.normalise import THAI_DIGITS

#: At most this many bytes of an archived text file are read for codes and names.
CONTENT_BYTES = 4 << 20

#: Markers before a place name, per level (Bangkok's เขต/แขวง are not part of the programme).
MARKERS = {
    "province": ("จังหวัด", "จ."),
    "amphoe": ("อำเภอ", "อ."),
    "tambon": ("ตำบล", "ต."),
}
#: Said when a place name fitted several districts and only one of them sent files this round.
NARROWED = (
    " (ชื่อนี้มีหลายอำเภอ เลือกอำเภอที่ส่งไฟล์รอบนี้)",
    " (a name several districts share, narrowed to the one that sent files)",
)
_CODE_RUN = re.compile(r"(?<![0-9])([0-9]{6}|[0-9]{8})(?![0-9])")


@dataclass(frozen=True)
class Place:
    """The office a file is attributed to (``amphoe_code`` None: nobody), how, and in words."""

    amphoe_code: str | None
    tambon_code: str | None
    how: str  # rows | name | content | corrections | none
    evidence_th: str
    evidence_en: str


def places_by_rows(
    con: duckdb.DuckDBPyConnection, received: Path, code_field: str, counted: Path | None = None
) -> pd.DataFrame:
    """Per file (SHA-256) with rows: the district and tambon most rows name, and the districts named.

    Needs ``geography.register(con)`` (the ``areas`` view). Columns: ``_file``, ``amphoe_code``
    (None on a tie or when no row names a registry district), ``tambon_code``, ``rows``,
    ``amphoe_rows`` (district code -> rows naming it). ``counted``: the parts' ``quality_counts``, when the
    collection writes them: rows by file, registry tambon and district already, so the round's every
    row (12 million in a national household round) is not read again.
    """
    # one query for every file (a national round has 8,000+): a per-file pandas loop took a minute
    found = con.execute(
        f"""
        {_districts_ctes(received, code_field, counted)}, tambons AS (
            SELECT c._file, c.tambon_code, sum(c.n) AS n
            FROM counts c JOIN amphoe a ON a._file = c._file AND a.amphoe_code = c.amphoe_code
            WHERE c.tambon_code IS NOT NULL GROUP BY ALL
        ), tambon AS ({_plurality_sql("tambons", "tambon_code")}
        ), named AS (
            SELECT _file, list(struct_pack(code := amphoe_code, n := n) ORDER BY amphoe_code) AS named
            FROM amphoes GROUP BY _file
        )
        SELECT f._file, a.amphoe_code, t.tambon_code, f.rows, n.named
        FROM (SELECT _file, sum(n) AS rows FROM counts GROUP BY _file) f
        LEFT JOIN amphoe a USING (_file) LEFT JOIN tambon t USING (_file) LEFT JOIN named n USING (_file)
        ORDER BY f._file
        """
    ).fetchall()
    out = [
        {
            "_file": file,
            "amphoe_code": amphoe,
            "tambon_code": tambon,
            "rows": int(rows),
            "amphoe_rows": {item["code"]: int(item["n"]) for item in named or []},
        }
        for file, amphoe, tambon, rows, named in found
    ]
    return pd.DataFrame(out, columns=["_file", "amphoe_code", "tambon_code", "rows", "amphoe_rows"])


def _districts_ctes(received: Path, code_field: str, counted: Path | None) -> str:
    """``WITH counts`` (rows by file, registry district and tambon), ``amphoes`` (rows by file and district
    named) and ``amphoe`` (each file's district, where one is named most): what :func:`places_by_rows` and
    :func:`districts_sql` start from."""
    if counted is not None and table_exists(counted):
        counts = f"SELECT _file, amphoe_code, tambon_code, sum(n) AS n FROM read_parquet('{_sql_path(counted)}')"
    else:
        counts = f"""SELECT r._file, am.amphoe_code, t.tambon_code, count(*) AS n
            FROM read_parquet('{_sql_path(received)}') r
            LEFT JOIN (SELECT DISTINCT amphoe_code FROM areas) am ON am.amphoe_code = substr(r."{code_field}", 1, 4)
            LEFT JOIN (SELECT DISTINCT tambon_code FROM areas) t ON t.tambon_code = substr(r."{code_field}", 1, 6)"""
    return f"""WITH counts AS ({counts} GROUP BY ALL
        ), amphoes AS (
            SELECT _file, amphoe_code, sum(n) AS n FROM counts WHERE amphoe_code IS NOT NULL GROUP BY ALL
        ), amphoe AS ({_plurality_sql("amphoes", "amphoe_code")})"""


def districts_sql(received: Path, code_field: str, counted: Path | None = None) -> str:
    """Per file with rows: ``_file`` and ``amphoe_code``, as :func:`places_by_rows` has them, in SQL (same needs):
    for a query that wants each file's district and nothing else, without its tambons and the districts it
    names made into Python values, file by file."""
    return f"""{_districts_ctes(received, code_field, counted)}
        SELECT f._file, a.amphoe_code FROM (SELECT DISTINCT _file FROM counts) f LEFT JOIN amphoe a USING (_file)"""


def _plurality_sql(table: str, column: str) -> str:
    """Per file, the ``column`` value with strictly more rows than every other (none on a tie), as SQL."""
    return f"""
        SELECT _file, {column} FROM (
            SELECT _file, {column}, n,
                   row_number() OVER w AS place, lead(n) OVER w AS runner_up
            FROM {table} WINDOW w AS (PARTITION BY _file ORDER BY n DESC, {column})
        ) WHERE place = 1 AND (runner_up IS NULL OR runner_up < n)"""


def _plurality(counts: dict[str, int]) -> str | None:
    """The key with strictly more than every other, else None (a tie names no sender)."""
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


class Gazetteer:
    """Registry codes and Thai place names, to read a district out of a file's name or text."""

    def __init__(self, geography: Geography) -> None:
        self.village_amphoe = _lookup(geography.villages, "village_code", "amphoe_code")
        self.tambon_amphoe = _lookup(geography.tambons, "tambon_code", "amphoe_code")
        amphoes = geography.amphoes
        self.amphoe_province = _lookup(amphoes, "amphoe_code", "province_code")
        self.names: dict[str, dict[str, set[str]]] = {
            "province": _by_name(geography.provinces, "province_code"),
            "amphoe": _by_name(amphoes, "amphoe_code"),
            "tambon": _by_name(geography.tambons, "tambon_code"),
        }
        self.longest = {level: max(map(len, names), default=0) for level, names in self.names.items()}

    def codes_in(self, text: str) -> Counter[str]:
        """District votes of the registry village (8 digits) and tambon (6 digits) codes in ``text``."""
        votes: Counter[str] = Counter()
        for code in _CODE_RUN.findall(text.translate(THAI_DIGITS)):
            amphoe = self.village_amphoe.get(code) if len(code) == 8 else self.tambon_amphoe.get(code)
            if amphoe:
                votes[amphoe] += 1
        return votes

    def named(self, text: str, level: str) -> set[str]:
        """Codes at ``level`` whose Thai name follows one of the level's markers (longest name wins)."""
        text = unicodedata.normalize("NFC", text)
        found: set[str] = set()
        names, longest = self.names[level], self.longest[level]
        for marker in MARKERS[level]:
            start = text.find(marker)
            while start >= 0:
                rest = text[start + len(marker) :].lstrip()
                for length in range(min(longest, len(rest)), 0, -1):
                    codes = names.get(rest[:length])
                    if codes:
                        found |= codes
                        break
                start = text.find(marker, start + len(marker))
        return found

    def amphoes_named(self, text: str) -> set[str]:
        """The districts ``text`` points to by place names: tambons within the named district and province."""
        provinces = self.named(text, "province")
        amphoes = {a for a in self.named(text, "amphoe") if not provinces or self.amphoe_province[a] in provinces}
        tambons = {t for t in self.named(text, "tambon") if not provinces or t[:2] in provinces}
        from_tambons = {self.tambon_amphoe[t] for t in tambons}
        if amphoes and from_tambons:
            return (amphoes & from_tambons) or (amphoes | from_tambons)
        return amphoes or from_tambons

    def tambon_named(self, text: str, amphoe: str) -> str | None:
        tambons = {t for t in self.named(text, "tambon") if self.tambon_amphoe[t] == amphoe}
        return next(iter(tambons)) if len(tambons) == 1 else None


def _lookup(table: pd.DataFrame, key: str, value: str) -> dict[str, str]:
    return dict(zip(table[key].astype(str), table[value].astype(str), strict=True))


def _by_name(table: pd.DataFrame, code: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, value in zip(table["name_th"].astype(str), table[code].astype(str), strict=True):
        out.setdefault(unicodedata.normalize("NFC", name.strip()), set()).add(value)
    return out


def readable_text(archived: str | Path | None) -> str | None:
    """The start of an archived file as text, or None for a container (xlsx, xls, ods) or a missing file.

    UTF-16 is read by its byte-order mark (Excel's "Unicode text"), then UTF-8, then Windows-874.
    """
    if not archived:
        return None
    path = Path(archived)
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        data = handle.read(CONTENT_BYTES)
    if data.startswith((b"PK\x03\x04", OLE2, b"%PDF")):
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp874", errors="replace")


def place_without_rows(name: str, archived: str | None, gazetteer: Gazetteer, sending: set[str]) -> Place:
    """A file that gave no row attributable by its codes: try its name, then its archived text.

    ``sending``: districts that sent readable files this round, which a name fitting several narrows to.
    """
    text = readable_text(archived)
    tried_th = ["ชื่อไฟล์"] + (["เนื้อหาไฟล์"] if text is not None else [])
    tried_en = ["file name"] + (["file content"] if text is not None else [])
    for how, source in (("name", name), ("content", text)):
        if source is None:
            continue
        votes = gazetteer.codes_in(source)
        amphoe = _plurality(dict(votes))
        if amphoe is not None:
            return Place(
                amphoe,
                None,
                how,
                f"{_where_th(how)}มีรหัสหมู่บ้าน/ตำบลของอำเภอนี้ {votes[amphoe]} รหัส",
                f"its {how} holds {votes[amphoe]} village/tambon codes of this district",
            )
    for how, source in (("name", name), ("content", text)):
        if source is None:
            continue
        candidates = gazetteer.amphoes_named(source)
        narrowed = candidates if len(candidates) <= 1 else candidates & sending
        if len(narrowed) == 1:
            amphoe = next(iter(narrowed))
            among = ("", "") if len(candidates) == 1 else NARROWED
            return Place(
                amphoe,
                gazetteer.tambon_named(source, amphoe),
                how,
                f"{_where_th(how)}ระบุชื่อตำบล/อำเภอ/จังหวัดของอำเภอนี้{among[0]}",
                f"its {how} names this district's tambon, district or province{among[1]}",
            )
    return Place(
        None,
        None,
        "none",
        "ตรวจ" + " และ".join(tried_th) + "แล้ว ไม่พบรหัสหรือชื่อที่ระบุอำเภอได้อย่างเดียว",
        "checked the " + " and ".join(tried_en) + ": no code or place name pointing to one district",
    )


def _where_th(how: str) -> str:
    return "ชื่อไฟล์" if how == "name" else "เนื้อหาไฟล์"


def attribute_files(files: pd.DataFrame, by_rows: pd.DataFrame, geography: Geography) -> pd.DataFrame:
    """``files`` (one record per landed file) with ``amphoe_code``, ``tambon_code``, ``how``, evidence.

    A duplicate shares its original's SHA-256 and so its rows' place. A file that gave no row at all
    is tried by name and content (:func:`place_without_rows`); one whose rows name no single district
    is not: a guess from its name would send its rows' personal fields to an office on a hunch.
    """
    rows = by_rows.set_index("_file")
    sending = {a for a in by_rows["amphoe_code"].dropna()}
    gazetteer: Gazetteer | None = None
    places = []
    for record in files.itertuples(index=False):
        found = rows.loc[record.sha256] if record.sha256 in rows.index else None
        office = getattr(record, "office", "") or ""
        if office:  # a correction: its folder says which office sent it
            place = Place(
                office,
                None,
                "corrections",
                "อำเภอนี้ส่งกลับมาในโฟลเดอร์แก้ไขของอำเภอเอง",
                "returned by this office into its own corrections folder",
            )
        elif found is not None and pd.notna(found["amphoe_code"]):
            count = found["amphoe_rows"][found["amphoe_code"]]
            place = Place(
                found["amphoe_code"],
                found["tambon_code"] if pd.notna(found["tambon_code"]) else None,
                "rows",
                f"แถวในไฟล์ {count:,} จาก {found['rows']:,} แถวระบุรหัสหมู่บ้านของอำเภอนี้",
                f"{count:,} of its {found['rows']:,} rows name this district's villages",
            )
        elif found is not None:  # rows, none naming a district (or a tie): their personal fields go to nobody
            named = found["amphoe_rows"]
            detail = f" ({_counts(named)})" if named else ""
            place = Place(
                None,
                None,
                "none",
                f"แถวในไฟล์ไม่ระบุอำเภอใดอำเภอหนึ่ง{detail} จึงไม่เดาจากชื่อไฟล์ (แถวมีข้อมูลส่วนบุคคล)",
                f"its rows name no single district{detail}; not guessed from its name (the rows hold personal data)",
            )
        else:
            gazetteer = gazetteer or Gazetteer(geography)
            place = place_without_rows(str(record.name), str(record.archived_as or ""), gazetteer, sending)
        places.append(place)
    out = files.copy()
    out["amphoe_code"] = [p.amphoe_code for p in places]
    out["tambon_code"] = [p.tambon_code for p in places]
    out["attributed_by"] = [p.how for p in places]
    out["evidence_th"] = [p.evidence_th for p in places]
    out["evidence_en"] = [p.evidence_en for p in places]
    return out


def _counts(amphoe_rows: dict[str, int]) -> str:
    return ", ".join(f"{code}: {n:,}" for code, n in sorted(amphoe_rows.items()))
