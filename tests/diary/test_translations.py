"""French is complete: the catalogue compiles, and every instrument wording is translated."""

import ast
import gettext
from pathlib import Path

import pytest
from django.utils import translation

from diary import instruments

PO = Path(__file__).resolve().parents[2] / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def all_wordings():
    for instrument in instruments.REGISTRY.values():
        yield instrument.name
        for item in instrument.items:
            yield item.label
            yield from item.choices


@pytest.mark.parametrize("text", list(all_wordings()), ids=str)
def test_every_instrument_wording_is_in_french(text):
    with translation.override("en"):
        english = str(text)
    with translation.override("fr"):
        french = str(text)
    assert french and french != english


def test_catalogue_has_no_untranslated_or_fuzzy_entries():
    text = PO.read_text()
    assert "#, fuzzy" not in text
    entries = text.split("\n\n")[1:]
    untranslated = [e for e in entries if e.rstrip().endswith('msgstr ""') and "msgstr[" not in e]
    assert untranslated == []


def po_entries(text: str) -> dict[str, str]:
    """Singular, context-free entries of a .po file: {msgid: msgstr}."""
    entries = {}
    for block in text.split("\n\n"):
        if "msgctxt" in block or "msgid_plural" in block:
            continue
        fields, current = {}, None
        for line in block.splitlines():
            if line.startswith(("msgid ", "msgstr ")):
                current, _, rest = line.partition(" ")
                fields[current] = ast.literal_eval(rest)
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        if fields.get("msgid"):
            entries[fields["msgid"]] = fields.get("msgstr", "")
    return entries


def test_compiled_catalogue_matches_the_po_file():
    with PO.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    entries = po_entries(PO.read_text())
    assert len(entries) > 300
    stale = [msgid for msgid, msgstr in entries.items() if compiled.gettext(msgid) != msgstr]
    assert stale == [], "run: python manage.py compilemessages -l fr"
