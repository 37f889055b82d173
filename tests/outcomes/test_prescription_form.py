"""The dose-change form starts from the dose in force and says when that dose is above the
guideline's; p-values print as a paper prints them."""

import re
from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import translation

from diary.models import GrowthMeasurement, Prescription
from outcomes.guideline import DoseGuidance, above_guideline_dose, regimen
from outcomes.stats import p_value_text
from tests.conftest import login, prescribe
from tests.outcomes.test_treatment_pages import post_creatinine


def field_value(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


def selected(page: str, name: str) -> str:
    select = page.split(f'name="{name}"')[1].split("</select>")[0]
    return re.search(r'<option value="([^"]*)"[^>]*selected', select).group(1)


def test_the_form_starts_from_the_dose_in_force(world, client):
    amy = world.amy
    prescribe(amy, morning=4, evening=2, start=amy.today() - timedelta(days=30))
    login(client, world.carol)
    page = client.get(reverse("prescription_create", args=[amy.pk])).content.decode()
    doses = [Decimal(field_value(page, f"{s}_mg")) for s in ("morning", "afternoon", "evening")]
    assert doses == [4, 0, 2]
    assert selected(page, "reason") == "escalation"


def test_after_an_interruption_the_form_offers_the_last_dose_as_a_restart(world, client):
    amy, today = world.amy, world.amy.today()
    prescribe(amy, morning=3, evening=3, start=today - timedelta(days=60))
    Prescription.objects.create(
        child=amy,
        drug="baricitinib",
        start_date=today - timedelta(days=5),
        reason="interruption",
    )
    login(client, world.carol)
    page = client.get(reverse("prescription_create", args=[amy.pk])).content.decode()
    assert Decimal(field_value(page, "morning_mg")) == 3
    assert Decimal(field_value(page, "evening_mg")) == 3
    assert selected(page, "reason") == "restart"


def test_no_prescription_yet_starts_empty(world, client):
    login(client, world.carol)
    page = client.get(reverse("prescription_create", args=[world.amy.pk])).content.decode()
    assert Decimal(field_value(page, "morning_mg")) == 0
    assert selected(page, "reason") == "initial"


def guidance():
    # 22 kg, eGFR > 120 (SPARN §6.3): initial 4/0/2, escalation 4/0/4, maximum 8.
    return DoseGuidance(regimen(4, 0, 2), regimen(4, 0, 4), Decimal(8), "SPARN JAKi guideline §6.3")


def test_above_guideline_dose_boundaries():
    assert above_guideline_dose(8, guidance()) is None
    assert above_guideline_dose(6, guidance()) is None
    with translation.override("en"):
        note = above_guideline_dose(Decimal("8.5"), guidance())
    assert note.startswith("8.5 mg/day is above the guideline's maximum of 8 mg/day")
    assert "§6.3" in note and "the treating team decides" in note
    tertiary = DoseGuidance(regimen(4, 0, 2), regimen(4, 0, 4), Decimal(12), "§6.3")
    with translation.override("en"):
        note = above_guideline_dose(10, tertiary)
    assert note.startswith("10 mg/day is above the guideline's dose of 8 mg/day")
    assert "maximum 12 mg/day" in note
    assert above_guideline_dose(10, None) is None
    with translation.override("fr"):
        assert "8,5\xa0mg/jour" in above_guideline_dose(Decimal("8.5"), guidance())


def test_the_form_notes_a_dose_in_force_above_the_guideline(world, client):
    amy, today = world.amy, world.amy.today()
    GrowthMeasurement.objects.create(child=amy, date=today, weight_kg=22, height_cm=120)
    login(client, world.carol)
    post_creatinine(client, amy, day=today.isoformat())
    prescribe(amy, morning=4, evening=4, start=today - timedelta(days=30))
    page = client.get(reverse("prescription_create", args=[amy.pk])).content.decode()
    assert 'id="current-note"' not in page
    Prescription.objects.create(
        child=amy,
        drug="baricitinib",
        start_date=today - timedelta(days=2),
        morning_mg=6,
        evening_mg=6,
        reason="escalation",
    )
    page = client.get(reverse("prescription_create", args=[amy.pk])).content.decode()
    note = page.split('id="current-note"')[1].split("</p>")[0]
    assert "12 mg/day is above the guideline" in note and "SPARN" in note
    assert "the treating team decides" in note


def test_the_note_is_silent_without_the_inputs_it_needs(world, client):
    # No weight: the guideline cannot be applied; the guidance box says why, no false note.
    amy = world.amy
    prescribe(amy, morning=6, evening=6, start=date(2025, 1, 1))
    login(client, world.carol)
    page = client.get(reverse("prescription_create", args=[amy.pk])).content.decode()
    assert 'id="current-note"' not in page
    assert "weight" in page.split('id="guidance"')[1].split("</aside>")[0].lower()


def test_p_values_print_as_in_a_paper():
    with translation.override("en"):
        assert p_value_text(0.00001) == "< 0.001"
        assert p_value_text(0.0) == "< 0.001"
        assert p_value_text(0.001) == "0.001"
        assert p_value_text(0.0499) == "0.050"
        assert p_value_text(0.1) == "0.10"
        assert p_value_text(0.99) == "0.99"
        assert p_value_text(0.999) == "> 0.99"
        assert p_value_text(None) == "–" and p_value_text(float("nan")) == "–"
    with translation.override("fr"):
        assert p_value_text(0.00001) == "< 0,001"
        assert p_value_text(0.034) == "0,034"


def test_the_note_in_french():
    tertiary = DoseGuidance(regimen(4, 0, 2), regimen(4, 0, 4), Decimal(12), "§6.3")
    with translation.override("fr"):
        note = above_guideline_dose(Decimal("10.5"), tertiary)
    assert note.startswith("10,5\xa0mg/jour dépasse la dose de 8\xa0mg/jour")
    assert "c’est l’équipe soignante qui décide" in note
