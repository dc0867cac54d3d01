"""Our Thai catalogue for CKAN (ckanext-tambon.po): complete, Thai, Thai's plural rule, and the .mo matches it.

CKAN serves the compiled .mo (ckan.sh compiles it at every start); a .mo committed out of step
with the .po would serve old labels to anyone starting CKAN another way. The plural rule is what
makes "23 datasets found" read Thai (see PortalPlugin in ckanext/tambon/plugin.py).
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MESSAGES = REPO / "catalog/ckan/ckanext-tambon/ckanext/tambon/i18n/th/LC_MESSAGES"
LABELS = REPO / "tests/integration/english_labels.txt"


def read_po(path: Path) -> tuple[str, dict[str | tuple[str, str], str]]:
    """(header, {msgid or (msgid, msgid_plural): Thai}) from a .po file (the subset of the format we write)."""
    entries: dict[str | tuple[str, str], str] = {}
    header = ""
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            found = re.match(r"^(msgid_plural|msgid|msgstr(?:\[0\])?) (\".*\")$", line)
            if found:
                key = found[1]
                fields[key] = ast.literal_eval(found[2])
            else:
                assert key, line
                fields[key] += ast.literal_eval(line)
        if "msgid" not in fields:
            continue
        text = fields.get("msgstr", fields.get("msgstr[0]", ""))
        if fields["msgid"] == "":
            header = text
        elif "msgid_plural" in fields:
            entries[(fields["msgid"], fields["msgid_plural"])] = text
        else:
            entries[fields["msgid"]] = text
    return header, entries


def test_every_label_is_translated_to_thai_with_thais_plural_rule():
    header, entries = read_po(MESSAGES / "ckanext-tambon.po")
    assert "Plural-Forms: nplurals=1; plural=0;" in header
    assert len(entries) > 50
    thai = re.compile(r"[\u0E00-\u0E7F]")
    assert [k for k, v in entries.items() if not thai.search(v)] == []
    labels = [line for line in LABELS.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    # a translation that carries an English label along would put it back on the Thai page
    assert [(k, v) for k, v in entries.items() for label in labels if label in v] == []


def test_the_compiled_catalogue_matches_the_po():
    _, entries = read_po(MESSAGES / "ckanext-tambon.po")
    with (MESSAGES / "ckanext-tambon.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for key, text in entries.items():
        got = compiled.ngettext(key[0], key[1], 5) if isinstance(key, tuple) else compiled.gettext(key)
        assert got == text, key
    assert compiled.plural(23) == 0
