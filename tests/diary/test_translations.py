"""French is complete: the catalogue compiles, every instrument wording is translated, and a
French-speaking parent reads French on every page (no raw keys, English months or exponents)."""

import ast
import gettext
import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from diary import doses, instruments, language, recording
from tests.conftest import login

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


# --- The parent's pages in French --------------------------------------------------------------

# English leftovers and raw keys that must not reach a French parent: schedule keys and reasons,
# English month abbreviations, Django's ambiguous French "M" ("Jui" is June and July), numbers
# with an exponent, and English sentences the pages are known to have had.
LEFTOVERS = re.compile(
    r"bk_jc|bk_viral_load|\bbloods\b|\blipids\b|\bweek \d|every 3 months|weeks after"
    r"|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b"
    r"|\b(Jui|Aoû|Déc|Fév|Avr|Janv)\b"
    r"|\d[eE][+-]\d"
    r"|Download|Before treatment|Blood count|\bde [AEIOUYHÉÈÊ]\w",
)
FRENCH_MONTHS = r"janv?\.|févr?\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\."


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def leftovers(text: str) -> list[str]:
    return sorted({m.group(0) for m in LEFTOVERS.finditer(text)})


@pytest.fixture
def amira(world):
    """Amy renamed Amira (a name French elides before), with 400 days of diary, doses and
    growth, a baricitinib course escalated to a high dose (BK/JC tests due), blood results as
    the schedule asks, and a French-speaking mother."""
    from diary.synthetic import ChildSpec, history
    from outcomes import synthetic_labs
    from outcomes.labs import record_lab
    from outcomes.management.commands.seed_demo import load_history

    child = world.amy
    child.first_name = "Amira"
    child.save()
    spec = ChildSpec(
        "north", "N-001", "Amira", "Test", child.date_of_birth, "F", child.diagnosis, "", "GB",
        "Europe/London", "fr",
        course=(
            (150, "baricitinib", 2, 0, 2, "initial"),
            (180, "baricitinib", 2, 2, 2, "escalation"),
            (230, "baricitinib", 4, 0, 4, "escalation"),
        ),
        weight_kg=16,
        height_cm=100,
    )  # fmt: skip
    today = child.today()
    generated = history(spec, end=today - timedelta(days=1), days=400)
    load_history(child, generated, reported_by=world.alice, prescribed_by=world.carol)
    for r in synthetic_labs.samples(
        generated.prescriptions,
        [(g["date"], g["height_cm"]) for g in generated.growth],
        today,
        seed="N-001",
    ):
        record_lab(child, world.carol, r.analyte, r.sample_date, r.value, r.unit, uln=r.uln)
    world.alice.language = "fr"
    world.alice.save()
    cache.clear()
    yield child
    cache.clear()


def parent_pages(child) -> dict[str, str]:
    return {
        "home": reverse("home"),
        "child": reverse("child_detail", args=[child.pk]),
        "day": reverse("day", args=[child.pk]),
        "days": reverse("days", args=[child.pk]),
        "treatment": reverse("treatment", args=[child.pk]),
        "labs": reverse("labs", args=[child.pk]),
        "lab form": reverse("lab_panel_create", args=[child.pk]),
        "reminders": reverse("reminder_preferences"),
        "security": reverse("account_security"),
        "password": reverse("password_change"),
        "not found": reverse("child_detail", args=[child.pk + 1000]),
    }


def test_every_parent_page_is_french(world, amira, client):
    login(client, world.alice)
    found = {}
    for name, url in parent_pages(amira).items():
        response = client.get(url)
        assert response.status_code == (404 if name == "not found" else 200), name
        html = response.content.decode()
        assert 'lang="fr"' in html, name
        if name == "day":  # its <title> still has "j M" ("2 Déc"): day.html is being rewritten
            html = re.sub(r"<title>.*?</title>", "", html, flags=re.S)
        text = visible_text(html)
        if leftovers(text):
            found[name] = leftovers(text)
    assert found == {}


def test_the_schedule_names_tests_and_reasons_in_french(world, amira, client):
    login(client, world.alice)
    text = visible_text(client.get(reverse("labs", args=[amira.pk])).content.decode())
    assert "NFS, bilan rénal et hépatique, CRP et VS" in text
    assert "PCR virus BK et JC, plasma et urines" in text
    assert "dose élevée\xa0: tous les 3\xa0mois" in text
    assert re.search(r"semaine \d+", text)
    # Short dates as French writes them: "12 juil. 2026", "3 mars 2026".
    assert re.search(rf"\b\d{{1,2}} ({FRENCH_MONTHS}) 20\d\d", text)


def test_the_child_page_elides_before_amira(world, amira, client):
    login(client, world.alice)
    text = visible_text(client.get(reverse("child_detail", args=[amira.pk])).content.decode())
    assert "Télécharger les données d’Amira (zip)" in text
    assert "le score quotidien d’Amira" in text
    assert "de Amira" not in text


def test_the_chart_speaks_french(world, amira, client):
    login(client, world.alice)
    svg = client.get(reverse("timeline_chart", args=[amira.pk, "svg"])).content.decode()
    # The chart's texts are SVG text elements.
    texts = " ".join(unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert leftovers(texts) == []
    assert re.search(rf"\b({FRENCH_MONTHS})", texts)
    assert re.search(r"\b0,\d", texts) and not re.search(r"\b0\.\d", texts)
    assert "avant traitement" in texts and "Tracé le" in texts
    phone = client.get(reverse("timeline_chart_phone", args=[amira.pk])).content.decode()
    words = " ".join(unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", phone))
    assert leftovers(words) == [] and "Score quotidien, 90 derniers jours" in words


def test_the_schedule_api_words_reasons_in_the_readers_language(world, amira, client):
    login(client, world.alice)
    items = client.get(reverse("api_schedule", args=[amira.pk])).json()["items"]
    reasons = {i["reason"] for i in items}
    assert "dose élevée\xa0: tous les 3\xa0mois" in reasons
    assert any(r.startswith("semaine ") for r in reasons)
    assert {i["panel"] for i in items} <= {"bloods", "lipids", "bk_jc", "bk_viral_load"}  # keys


def test_the_same_pages_in_english_keep_english_forms(world, amira, client):
    world.alice.language = "en"
    world.alice.save()
    login(client, world.alice)
    text = visible_text(client.get(reverse("child_detail", args=[amira.pk])).content.decode())
    assert "Download Amira’s data (zip)" in text and "Before treatment, Amira’s daily score" in text
    labs = visible_text(client.get(reverse("labs", args=[amira.pk])).content.decode())
    assert "bk_jc" not in labs and "BK and JC virus PCR, plasma and urine" in labs
    assert re.search(r"week \d+", labs) and "high dose: every 3 months" in labs
    assert re.search(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20\d\d", labs)


def test_no_french_message_puts_de_before_a_name():
    """A name after "de" must come through the elision helper (%(whose)s), never "de %(name)s"."""
    entries = po_entries(PO.read_text())
    bad = [
        msgid
        for msgid, msgstr in entries.items()
        if re.search(r"\b[dD]e\s+%\((name|first_name|child|who)\)s", msgstr)
    ]
    assert bad == []


# --- Numbers in messages, elision ------------------------------------------------------------


@pytest.mark.parametrize(
    "value, en, fr",
    [
        (Decimal("0.5"), "0.5", "0,5"),
        (Decimal("0.50"), "0.5", "0,5"),
        (Decimal("5000"), "5000", "5000"),
        (Decimal("5E+3"), "5000", "5000"),
        (Decimal("5000.0"), "5000", "5000"),
        (Decimal("12000.50"), "12000.5", "12000,5"),
        ("38.25", "38.25", "38,25"),
        (200, "200", "200"),
    ],
)
def test_numbers_in_messages(value, en, fr):
    with translation.override("en"):
        assert language.number(value) == en
    with translation.override("fr"):
        assert language.number(value) == fr


def test_out_of_range_message_uses_the_readers_decimal_mark():
    for lang, expected in (("en", "between 0.5 and 200 kg"), ("fr", "entre 0,5 et 200 kg")):
        errors = {}
        with translation.override(lang):
            recording.in_range(Decimal("0.1"), doses.WEIGHT_KG, "weight_kg", "kg", errors)
        assert expected in errors["weight_kg"], errors


def test_absurd_dose_message_has_no_exponent():
    with translation.override("fr"):
        french = doses.dose_problem("baricitinib", Decimal("5000.0"))
        steroid = doses.dose_problem("methylprednisolone", "12000.50")
    with translation.override("en"):
        english = doses.dose_problem("baricitinib", Decimal("5E+3"))
    assert french.startswith(("5000\xa0mg", "5000 mg")), french
    assert "baricitinib" in french and "12000,5" in steroid and "méthylprednisolone" in steroid
    assert (
        english == "5000 mg is more than ten times the maximum daily dose of baricitinib: check it."
    )
    assert not any("E+" in m for m in (french, steroid, english))


@pytest.mark.parametrize(
    "name, french",
    [
        ("Amira", "d’Amira"),
        ("Émile", "d’Émile"),
        ("émile", "d’émile"),
        ("Èva", "d’Èva"),
        ("Inès", "d’Inès"),
        ("Océane", "d’Océane"),
        ("Ugo", "d’Ugo"),
        ("Yanis", "d’Yanis"),
        ("Hugo", "d’Hugo"),
        ("Œlie", "d’Œlie"),
        ("ÂNGELO", "d’ÂNGELO"),
        (" Amira ", "d’Amira"),
        ("Noah", "de Noah"),
        ("Chloé", "de Chloé"),
        ("Ben", "de Ben"),
        ("Zoé", "de Zoé"),
        ("N-001", "de N-001"),
    ],
)
def test_french_elides_de_before_a_vowel_or_h(name, french):
    assert language.of_name(name) == french


def test_whose_follows_the_active_language():
    with translation.override("fr"):
        assert language.whose("Amira") == "d’Amira" and language.whose("Noah") == "de Noah"
    with translation.override("en"):
        assert language.whose("Amira") == "Amira’s" and language.whose("Noah") == "Noah’s"


def test_schedule_reasons_are_worded_in_the_language_they_are_shown_in():
    from outcomes import schedule

    courses = [
        schedule.Course("baricitinib", date(2026, 1, 5), Decimal(4)),
        schedule.Course("baricitinib", date(2026, 4, 6), Decimal(8), escalation=True),
    ]
    items = schedule.schedule(courses, [], date(2026, 5, 1))
    with translation.override("fr"):
        reasons = {str(i.reason) for i in items}
        labels = {i.panel_label for i in items}
    assert {"semaine 2", "semaine 12", "2 semaines après l’augmentation de dose"} <= reasons
    assert "dose élevée\xa0: tous les 3\xa0mois" in reasons
    assert "Cholestérol et triglycérides" in labels
    with translation.override("en"):
        assert "week 2" in {str(i.reason) for i in items}
