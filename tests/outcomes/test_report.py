"""The visit report and the family summary, read back with pypdf as a reader (or a search
engine) would: the range respected everywhere, results, flags and overdue tests in both
languages, the child and "page x of y" on every page, nothing running off the page."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import formats, translation
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from diary import instruments
from diary.models import (
    AccessEvent,
    DiaryEntry,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
)
from outcomes import pdf, schedule
from outcomes.labs import record_lab
from outcomes.models import LabFlag, Severity
from tests.conftest import login

FR_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
LONG_NOTE = (
    "Slept badly for three nights after the cold, cried at every nappy change, refused the "
    "bottle twice and had a rash on both legs that faded by the evening; we gave paracetamol "
    "once and the morning dose late, at eleven, because she was asleep; the physiotherapist "
    "visited on Thursday and thinks the head control is better than last month; "
    "supercalifragilisticexpialidociouslylongwordwithoutanybreakthatmustbesplitacrossthecell "
    "and the end of this note is here: END-OF-NOTE."
)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def read(response) -> PdfReader:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return PdfReader(io.BytesIO(response.content))


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def day(value) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


@pytest.fixture
def amy_course(world):
    """Amy's 400 days: treatment from day -260, escalated on day -230 (then optimal); the
    report's range is days -120 to -10. Something of each kind inside and outside it."""
    amy = world.amy
    today = amy.today()

    def ago(n):
        return today - timedelta(days=n)

    ags = instruments.get("ags")
    # Phase 3 scores 2 before the range and 6 inside it: a clipped mean reads 6.00.
    DiaryEntry.objects.bulk_create(
        DiaryEntry(
            child=amy,
            date=ago(n),
            instrument_key=ags.key,
            instrument_version=ags.version,
            scores={},
            score=12 if n > 260 else 2 if n > 120 else 6,
        )
        for n in range(1, 401)
    )
    notes = {300: "Outside note: the scooter trip", 50: "Inside note: brighter mornings"}
    notes[30] = LONG_NOTE
    for n, note in notes.items():
        DiaryEntry.objects.filter(child=amy, date=ago(n)).update(note=note)
    for n, (m, a, e, reason) in {260: (2, 0, 2, "initial"), 230: (2, 2, 2, "escalation")}.items():
        Prescription.objects.create(
            child=amy,
            drug="baricitinib",
            start_date=ago(n),
            morning_mg=m,
            afternoon_mg=a,
            evening_mg=e,
            reason=reason,
        )
    for n, kg in {400: "15.05", 200: "15.55", 60: "16.35"}.items():
        GrowthMeasurement.objects.create(child=amy, date=ago(n), weight_kg=Decimal(kg))
    SteroidDose.objects.create(child=amy, date=ago(300), drug="prednisolone", mg=Decimal(3))
    SteroidDose.objects.create(child=amy, date=ago(20), drug="prednisolone", mg=Decimal(5))
    # Outside: a low Hb on day -150. Inside: a low Hb on day -92 (the week-24 bloods were due
    # that day: partly done) and a normal neutrophil count.
    record_lab(amy, world.carol, "hb", ago(150), "7.35", "g/dL")
    record_lab(amy, world.carol, "hb", ago(92), "7.45", "g/dL")
    record_lab(amy, world.carol, "neutrophils", ago(40), "3.05", "×10⁹/L")
    assert LabFlag.objects.filter(child=amy).count() == 2
    # After the range: a later Hb, note, weight and steroid dose that the report must not show.
    record_lab(amy, world.carol, "hb", ago(5), "9.15", "g/dL")
    DiaryEntry.objects.filter(child=amy, date=ago(5)).update(note="After note: swimming")
    GrowthMeasurement.objects.create(child=amy, date=ago(4), weight_kg=Decimal("16.95"))
    SteroidDose.objects.create(child=amy, date=ago(2), drug="prednisolone", mg=Decimal(7))
    return amy, ago(120), ago(10), ago


def report_url(child, first, last, **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"from": first, "to": last, **extra}.items())
    return reverse("visit_report", args=[child.pk]) + "?" + query


def test_the_report_keeps_to_its_range(world, client, amy_course):
    amy, first, last, ago = amy_course
    login(client, world.carol)
    text = text_of(read(client.get(report_url(amy, first, last))))
    words = flat(text)
    # Phases: only 3 and 4 meet the range, clipped to it (phase 3's days inside score 6).
    assert "3 · optimal dose" in words and "4 · last 90 days" in words
    assert "before treatment" not in words and "dose escalation" not in words
    assert "6.00" in words and f"{day(first)} – {day(ago(90))}" in words
    assert f"{day(ago(89))} – {day(last)}" in words
    assert "Outside this range: phase 1, 2." in words
    # Results, flags, notes, weights and steroid doses of the range only.
    assert "7.45 g/dL" in words and "3.05 ×10⁹/L" in words
    assert "7.35" not in words and day(ago(150)) not in words
    assert "9.15" not in words and "After note" not in words and "16.95" not in words
    assert "7 mg of prednisolone" not in words
    assert "Inside note: brighter mornings" in words and "scooter" not in words
    assert "16.35" in words and "15.55" not in words
    assert f"the latest: 5 mg of prednisolone on {day(ago(20))}" in words
    # The initial prescription ended before the range: only the one in force on its first day.
    assert day(ago(260)) not in words and day(ago(230)) in words
    # The range in the title, the chart's own text (vector, not a picture) and the doses.
    assert f"From {formats.date_format(first, 'j F Y')} to" in words
    assert "7-day mean" in words
    assert "of 333 prescribed doses recorded as given" in words  # 111 days × 3 slots


def test_results_flags_and_overdue_tests_in_english(world, client, amy_course):
    amy, first, last, ago = amy_course
    login(client, world.carol)
    words = flat(text_of(read(client.get(report_url(amy, first, last)))))
    assert "Haemoglobin (Hb)" in words
    assert f"{Severity.ADJUST.label}: Hb below 8 g/dL" in words
    assert "Guideline flags in this range" in words and "open" in words
    # The week-24 bloods, due on day -92: only the Hb was taken.
    assert "Blood tests overdue" in words
    assert f"{day(ago(92))} Blood count, kidney and liver tests, CRP and ESR" in words
    assert "partial: missing White cell count" in words
    assert "tests due in this range are overdue" in words or "test due in this range is" in words
    assert re.search(r"Also overdue from before the range: \d+ tests?", words)
    # The guideline's dose beside the prescription, and mg/kg/day.
    # No eGFR recorded: said, with the doses of both eGFR bands.
    assert "No eGFR in the last 98 days: the dose could not be checked" in words
    assert "eGFR > 120: initial 2 / 2 / 2 = 6 mg/day" in words
    assert "SPARN JAKi guideline §6.3" in words and "appendix 2" in words
    assert "0.40 (15.05 kg)" in words  # 6 mg/day at the weight measured before its start


def test_results_flags_and_overdue_tests_in_french(world, client, amy_course):
    amy, first, last, ago = amy_course
    world.carol.language = "fr"
    world.carol.save()
    login(client, world.carol)
    reader = read(client.get(report_url(amy, first, last)))
    words = flat(text_of(reader))
    with translation.override("fr"):
        severity = str(Severity.ADJUST.label)
        bloods = schedule.panel_label("bloods")
        short_day = day(ago(92))
        closing = str(
            translation.gettext(
                "Phases as in the NIH baricitinib study (Sanchez et al., JCI 2018). Guideline "
                "doses, thresholds and the monitoring schedule: SPARN JAKi guideline. Decision "
                "support: the treating team decides."
            )
        )
    assert not closing.startswith("Phases as") and flat(closing) in words  # whole, not cut off
    assert "Compte rendu de consultation" in words
    month = FR_MONTHS[first.month - 1]
    assert f"Du {first.day} {month} {first.year} au" in words
    assert "7,45 g/dL" in words and "3,05 ×10⁹/L" in words and "7.45" not in words
    assert f"{severity}: Hb below 8 g/dL" in words  # the flag's text as it was recorded
    assert f"{short_day} {bloods}" in words and "partielle : manque" in words
    assert "6,00" in words and "mg/jour" in words and "mg/day" not in words
    assert "mg/kg/jour" in words and "mg/kg/day" not in words
    assert "0,40 (15,05 kg)" in words
    assert "moyenne sur 7 jours" in words  # the chart speaks French too
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} sur {len(reader.pages)}" in page.extract_text()


def test_every_page_has_the_child_and_page_x_of_y(world, client, amy_course):
    amy, first, last, _ago = amy_course
    login(client, world.carol)
    reader = read(client.get(report_url(amy, first, last)))
    assert len(reader.pages) >= 2
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {len(reader.pages)}" in text
        assert "Amy Test" in text and "Date of birth: 1 May 2019" in text
        assert "North Hospital" in text and f"Visit report · {day(first)} – {day(last)}" in text


def text_boxes(page) -> list[tuple[float, float, str]]:
    """(left, right, text) of each horizontal run of text on PAGE, measured with its font."""
    pdf.register_fonts()
    boxes = []

    def visit(text, cm, tm, font, size):
        if not text.strip() or font is None or abs(tm[1]) > 1e-6 or abs(cm[1]) > 1e-6:
            return
        name = str(font.get("/BaseFont")).split("+")[-1].lstrip("/")
        scale = tm[0] * cm[0]
        left = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        boxes.append((left, left + stringWidth(text.rstrip("\n"), name, size) * scale, text))

    page.extract_text(visitor_text=visit)
    return boxes


@pytest.mark.parametrize("language", ["en", "fr"])
def test_long_values_wrap_inside_their_cells(world, client, amy_course, language):
    amy, first, last, _ago = amy_course
    world.carol.language = language
    world.carol.save()
    login(client, world.carol)
    reader = read(client.get(report_url(amy, first, last, paper="letter")))
    words = flat(text_of(reader))
    # Whole (the unbroken word is split across lines, so compare without spaces)...
    assert LONG_NOTE.replace(" ", "") in words.replace(" ", "")
    # ...on several lines, and no line of any page runs past the margins.
    note_lines = [t for p in reader.pages for _l, _r, t in text_boxes(p) if t.strip() in LONG_NOTE]
    assert len(note_lines) >= 4
    width = float(reader.pages[0].mediabox[2])
    for page in reader.pages:
        for left, right, text in text_boxes(page):
            assert left >= pdf.MARGIN - 1 and right <= width - pdf.MARGIN + 1, (text, left, right)


def test_the_family_copy_has_no_notes_and_no_empty_headings(world, client, amy_course):
    amy, first, last, _ago = amy_course
    login(client, world.alice)
    # A caregiver asking for the clinical team's copy still gets the family's.
    words = flat(text_of(read(client.get(report_url(amy, first, last, copy="clinician")))))
    assert "Copy for the family" in words and "Copy for the clinical team" not in words
    assert "Inside note" not in words and "Diary notes" not in words
    assert "Visit assessments" not in words  # nothing recorded: no heading


def test_a_report_with_nothing_in_its_range_says_so(world, client):
    login(client, world.carol)
    today = world.amy.today()
    for first, last in ((today, today), (today - timedelta(days=9), today + timedelta(days=30))):
        reader = read(client.get(report_url(world.amy, first, last)))
        words = flat(text_of(reader))
        # A range past today ends today.
        assert f"Visit report · {day(first)} – {day(today)}" in words
        assert "No diary day or dose to draw in this range." in words
        assert "No blood result in this range." in words
        assert "No weight or height recorded in this range." in words
        assert "No diary note in this range." in words
        assert "No monitoring schedule: no JAK inhibitor given." in words
        assert "Guideline flags in this range" not in words
    # A range all before birth, or all after today, or backwards, has nothing to show.
    born = world.amy.date_of_birth
    for first, last in (
        (born - timedelta(days=30), born - timedelta(days=1)),
        (today + timedelta(days=1), today + timedelta(days=9)),
        (today, today - timedelta(days=1)),
    ):
        assert client.get(report_url(world.amy, first, last)).status_code == 400
    # From long before birth: the report starts at birth.
    words = flat(text_of(read(client.get(report_url(world.amy, "1900-01-01", today)))))
    assert f"From {formats.date_format(born, 'j F Y')} to" in words


def test_markup_and_odd_characters_in_a_note_are_printed_as_typed(world, client, amy_course):
    amy, first, last, ago = amy_course
    odd = "<b>bold?</b> & <font size=40>big</font> ½ dose – “quoted” 😀 <para>"
    DiaryEntry.objects.filter(child=amy, date=ago(45)).update(note=odd)
    login(client, world.carol)
    words = flat(text_of(read(client.get(report_url(amy, first, last)))))
    assert "<b>bold?</b> & <font size=40>big</font> ½ dose – “quoted”" in words


def test_a_family_summary_with_nothing_recorded_says_so(world, client):
    login(client, world.bob)
    words = flat(text_of(read(client.get(reverse("family_summary", args=[world.ben.pk])))))
    assert "The diary has a score for 0 of the last 90 days (0%)." in words
    assert "No JAK-inhibitor treatment is prescribed." in words
    assert "No blood test is scheduled." in words and "No fever was recorded." in words
    assert "Ask the treating team about any question on the treatment." in words
    assert "Other medicines taken now" not in words  # no heading without content
    assert "Page 1 of 1" in words


def test_strangers_get_404_for_the_report_and_the_summary(world, client):
    for stranger in (world.bob, world.dan, world.rita):
        login(client, stranger)
        assert client.get(reverse("visit_report", args=[world.amy.pk])).status_code == 404
        assert client.get(reverse("family_summary", args=[world.amy.pk])).status_code == 404
    assert not AccessEvent.objects.filter(child=world.amy).exists()
    client.logout()
    response = client.get(reverse("family_summary", args=[world.amy.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_caregiver_gets_the_summary_logged_as_an_export(world, client, amy_course):
    amy = amy_course[0]
    login(client, world.alice)
    home = client.get(reverse("home")).content.decode()
    page = client.get(reverse("child_detail", args=[amy.pk])).content.decode()
    url = reverse("family_summary", args=[amy.pk])
    assert url in home and url in page
    words = flat(text_of(read(client.get(url))))
    assert "Summary of the last 90 days: Amy Test" in words
    event = AccessEvent.objects.get(what="family_summary")
    assert (event.user, event.action, event.child, event.role) == (
        world.alice,
        "export",
        amy,
        "caregiver",
    )


@pytest.fixture
def noah(world):
    """A demo child made as the demo makes Noah: still escalating, with his last two months of
    blood tests not done; his father is Alice here."""
    from django.utils import timezone

    from diary.models import CareLink, Child
    from diary.synthetic import DEMO_CHILDREN, history
    from outcomes.management.commands.seed_demo import CHILD_FIELDS, Command, load_history

    spec = next(s for s in DEMO_CHILDREN if s.reference == "N-002")
    fields = {k: v for k, v in vars(spec).items() if k in CHILD_FIELDS}
    child = Child.objects.create(site=world.north, reference=spec.reference, **fields)
    CareLink.objects.create(caregiver=world.alice, child=child, relationship="father")
    today = timezone.localdate()
    generated = history(spec, end=today - timedelta(days=1))
    load_history(child, generated, reported_by=world.alice, prescribed_by=world.carol)
    Command()._labs(spec, child, generated, today, world.carol)
    return child


def test_the_family_summary_of_a_demo_child(world, client, noah):
    from outcomes import reminders

    overdue = reminders.overdue_counts(type(noah).objects.filter(pk=noah.pk), noah.today())
    assert overdue[noah.pk] >= 3  # the demo's point: his tests are overdue
    login(client, world.alice)
    words = flat(text_of(read(client.get(reverse("family_summary", args=[noah.pk])))))
    today = noah.today()
    first = today - timedelta(days=89)
    assert f"From {formats.date_format(first, 'j F Y')} to" in words
    assert re.search(r"The diary has a score for \d+ of the last 90 days \(\d+%\)", words)
    assert re.search(
        r"In the last 30 days it averaged \d+\.\d: (lower|higher|about the same)", words
    )
    assert re.search(
        r"Of the \d+ doses prescribed from .* \d+ were recorded as given, \d+ as missed", words
    )
    current = Prescription.objects.filter(child=noah).in_force_on(today)
    assert "Prescribed: Baricitinib, 2 mg in the morning" in words
    assert f"{current.total_mg.normalize():f} mg a day" in words
    assert words.count("Overdue: ") == overdue[noah.pk]
    assert "Next blood test due on" in words
    assert "A steroid was given on" in words or "No steroid dose was recorded" in words
    for section in ("§7.3", "§11", "§12", "§9"):
        assert f"SPARN JAKi guideline {section}" in words
    assert "the treating team decides" in words
    # In the caregiver's language.
    world.alice.language = "fr"
    world.alice.save()
    words = flat(text_of(read(client.get(reverse("family_summary", args=[noah.pk])))))
    assert f"Du {first.day} {FR_MONTHS[first.month - 1]} {first.year} au" in words
    assert words.count("En retard : ") == overdue[noah.pk]
    assert "Résumé des 90 derniers jours" in words and "mg/jour" in words
    assert re.search(r"Le journal a un score pour \d+ des 90 derniers jours \(\d+ %\)", words)
    assert "Page 1 sur" in words


@pytest.mark.parametrize("height", [300, 700, 2400])
def test_a_chart_of_any_height_fits_the_page_it_is_on(height):
    from reportlab.graphics.shapes import Drawing, Rect, String

    drawing = Drawing(500, height)
    drawing.add(Rect(0, 0, 500, height, fillColor=None))
    drawing.add(String(10, height - 20, "top of the chart", fontName=pdf.FONT))
    st = pdf.styles()
    story = [pdf.text(f"Paragraph {n} before the chart.", st.body) for n in range(30)]
    story.append(pdf.Chart(drawing))
    story.append(pdf.text("After the chart.", st.body))
    running = pdf.Running("Child", "Born", "Site", "Test", "Footer")
    reader = PdfReader(io.BytesIO(pdf.build(story, running, "a4", "Test")))
    text = text_of(reader)
    assert "top of the chart" in text and "After the chart." in text
    assert len(reader.pages) <= 3


# --- Growth SDS and visit assessments -------------------------------------------------------


@pytest.fixture
def visits_and_sds(world, amy_course):
    """Amy's course with visit assessments and growth SDS inside the range (day -60), before it
    (day -200) and after it (day -5 and -4)."""
    from diary import assessments, growth
    from diary.models import VisitAssessment

    amy, first, last, ago = amy_course
    achieved = ("normocephaly", "social_smile", "vocalisations", "head_control", "sitting")
    for n, items, physician, parent in (
        (200, ("normocephaly",), Decimal("77"), None),
        (60, achieved, Decimal("42.5"), Decimal("30")),
        (5, None, None, Decimal("88.5")),
    ):
        VisitAssessment.objects.create(
            child=amy,
            date=ago(n),
            ags_items={k: int(k in items) for k in assessments.ITEM_KEYS} if items else None,
            ags_scale=len(items) if items else None,
            physician_global=physician,
            parent_global=parent,
            recorded_by=world.carol,
        )
    sds = {}
    for n, height in ((200, Decimal("104.0")), (60, Decimal("108.3")), (4, Decimal("110.1"))):
        row = GrowthMeasurement.objects.get(child=amy, date=ago(n))
        found = growth.scores("uk-who", "F", amy.date_of_birth, ago(n), row.weight_kg, height)
        values = growth.growth_values("uk-who", found, confirmed=False)
        GrowthMeasurement.objects.filter(pk=row.pk).update(height_cm=height, **values)
        sds[n] = values
    return amy, first, last, ago, sds


def test_visit_assessments_and_growth_sds_of_the_range(world, client, visits_and_sds):
    amy, first, last, ago, sds = visits_and_sds
    login(client, world.carol)
    words = flat(text_of(read(client.get(report_url(amy, first, last)))))
    section = words.split("Visit assessments")[1]
    assert f"{day(ago(60))} AGS Scale 5 of 11 (moderate)" in section
    assert (
        "Achieved: Normocephaly (no microcephaly), Social smile, Vocalisations (cooing or "
        "babbling), Head control (more than 60 seconds), Independent sitting (more than 2 "
        "minutes)." in section
    )
    assert "Physician's global assessment 42.5 mm" in section
    assert "Parent's global assessment 30 mm" in section
    assert "severity bands are configurable defaults" in section
    # Before and after the range: not there.
    assert "77 mm" not in words and "88.5" not in words and "1 of 11 (" not in words
    # SDS columns, the range's values only, and the reference they were computed against.
    assert "Height SDS" in words and "Weight SDS" in words and "BMI SDS" in words
    inside = sds[60]
    for key in ("height_sds", "weight_sds", "bmi_sds"):
        assert pdf.number(inside[key]) in words, key
    for n in (200, 4):
        assert pdf.number(sds[n]["height_sds"]) not in words
    assert "SDS (Z-scores) for age and sex against UK-WHO (UK90 from 4 years)" in words
    # The chart names its phases and draws the range's visit and SDS panels.
    assert "3 optimal dose" in words and "4 last 90 days" in words
    assert "SDS against UK-WHO" in words and "moderate 4–8" in words


def test_visit_assessments_and_sds_in_french(world, client, visits_and_sds):
    amy, first, last, ago, sds = visits_and_sds
    world.carol.language = "fr"
    world.carol.save()
    login(client, world.carol)
    words = flat(text_of(read(client.get(report_url(amy, first, last)))))
    with translation.override("fr"):
        short = day(ago(60))
    assert f"{short} Échelle AGS 5 sur 11 (modérée)" in words
    assert "Acquis : Normocéphalie" in words
    assert "Évaluation globale du médecin 42,5 mm" in words and "42.5" not in words
    assert "Taille (DS)" in words and "Poids (DS)" in words
    with translation.override("fr"):
        height = pdf.number(sds[60]["height_sds"])
    assert "," in height and height in words
    assert "DS (Z-scores) pour l’âge et le sexe selon UK-WHO (UK90 à partir de 4 ans)" in words


def test_no_sds_columns_without_sds_and_no_section_without_visits(world, client, amy_course):
    from diary.models import VisitAssessment

    amy, first, last, ago = amy_course
    # A visit outside the range only.
    VisitAssessment.objects.create(
        child=amy, date=ago(200), physician_global=50, recorded_by=world.carol
    )
    login(client, world.carol)
    words = flat(text_of(read(client.get(report_url(amy, first, last)))))
    assert "16.35" in words  # the weight is there...
    assert "Height SDS" not in words and "Weight SDS" not in words  # ...without SDS columns
    assert "Visit assessments" not in words and "50 mm" not in words
    assert "SDS (Z-scores)" not in words


# --- The family summary's growth in plain words -------------------------------------------


def test_centiles_in_a_parents_words():
    from outcomes.family_summary import centile_words

    assert centile_words(24.6, "weigh less") == (
        "About 25 in every 100 children of the same age and sex weigh less (centile 25)."
    )
    assert centile_words(0.3, "are shorter").startswith("Fewer than 1 in every 100")
    assert centile_words(99.7, "weigh less").startswith("More than 99 in every 100")
    # Half up, never "about 0" nor "about 100".
    assert centile_words(0.5, "weigh less").startswith("About 1 in every 100")
    assert centile_words(2.5, "weigh less").startswith("About 3 in every 100")
    assert centile_words(99.49, "weigh less").startswith("About 99 in every 100")
    assert centile_words(99.5, "weigh less").startswith("More than 99 in every 100")
    with translation.override("fr"):
        assert centile_words(0.2, "pèsent moins") == (
            "Moins de 1 % des enfants du même âge et du même sexe pèsent moins "
            "(centile inférieur à 1)."
        )


@pytest.fixture
def measured(world):
    """Amy weighed 30 days ago (with SDS, the save path's), measured 200 days ago (outside the
    summary's 90 days), and weighed 10 days ago without a centile (as a weight stored before
    SDS were computed)."""
    import uuid

    from diary import recording

    amy = world.amy
    today = amy.today()
    for days, data in (
        (200, {"weight_kg": "22.1", "height_cm": "119.5"}),
        (30, {"weight_kg": "24.2"}),
        (10, {"weight_kg": "24.6"}),
    ):
        recording.record(
            GrowthMeasurement, amy, world.alice, uuid.uuid4(), today - timedelta(days=days), data
        )
    GrowthMeasurement.objects.filter(child=amy, date=today - timedelta(days=10)).update(
        weight_sds=None, weight_centile=None
    )
    return amy, GrowthMeasurement.objects.get(child=amy, date=today - timedelta(days=30))


def test_the_family_summary_says_the_latest_centile(world, client, measured):
    amy, row = measured
    assert 1 < row.weight_centile < 99  # said as "about N in every 100"
    login(client, world.alice)
    words = flat(text_of(read(client.get(reverse("family_summary", args=[amy.pk])))))
    n = round(row.weight_centile)
    assert (
        f"Weight on {formats.date_format(row.date, 'j F Y')}: 24.2 kg. About {n} in every 100 "
        f"children of the same age and sex weigh less (centile {n})." in words
    )
    assert "24.6" not in words  # the later weight has no centile: not said
    assert "Height on" not in words and "119.5" not in words  # measured before the 90 days
    assert "Centiles against the UK-WHO (UK90 from 4 years) growth reference" in words
    assert "SDS" not in words  # a clinician's number, not a parent's
    world.alice.language = "fr"
    world.alice.save()
    words = flat(text_of(read(client.get(reverse("family_summary", args=[amy.pk])))))
    with translation.override("fr"):
        when = formats.date_format(row.date, "j F Y")
    assert (
        f"Poids le {when} : 24,2 kg. Environ {n} enfants sur 100 du même âge et du même sexe "
        f"pèsent moins (centile {n})." in words
    )
    assert "Croissance" in words


def test_no_growth_words_without_a_centile_in_the_90_days(world, client):
    GrowthMeasurement.objects.create(
        child=world.amy, date=world.amy.today() - timedelta(days=5), weight_kg=Decimal("15")
    )  # stored without SDS (as the benchmarks' loader does)
    login(client, world.alice)
    words = flat(text_of(read(client.get(reverse("family_summary", args=[world.amy.pk])))))
    assert "in every 100 children" not in words and "Centiles against" not in words
    assert "Growth" not in words


@pytest.mark.parametrize(
    "language,expected",
    [("en", "Steroid given on 1 day of 3;"), ("fr", "Corticoïde donné 1 jour sur 3 ;")],
)
def test_one_steroid_day_is_said_in_the_singular(world, client, amy_course, language, expected):
    amy, _first, _last, ago = amy_course
    world.carol.language = language
    world.carol.save()
    login(client, world.carol)
    words = flat(text_of(read(client.get(report_url(amy, ago(3), ago(1))))))
    assert expected in words
    assert "1 jours" not in words and "1 days" not in words
