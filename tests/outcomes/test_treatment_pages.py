"""Clinicians change doses with the guidance beside them; phases follow; caregivers can't."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from diary.models import GrowthMeasurement, Prescription
from outcomes.models import LabResult
from tests.conftest import login, prescribe, record_fbc

RX = {
    "drug": "baricitinib",
    "indication": "interferonopathy",
    "morning_mg": "4",
    "afternoon_mg": "0",
    "evening_mg": "4",
    "reason": "escalation",
    "note": "",
    "override_reason": "",
}


@pytest.fixture
def amy(world):
    """Amy, 7 years old on 1 Jan 2026, 22 kg and 120 cm, creatinine 30 µmol/L: eGFR 144."""
    child = world.amy
    GrowthMeasurement.objects.create(
        child=child, date=date(2025, 12, 1), weight_kg=22, height_cm=120
    )
    prescribe(child, morning=4, evening=2, start=date(2025, 12, 15))
    return child


def post_creatinine(client, child, value="30", unit="µmol/L", day="2025-12-20"):
    return client.post(
        reverse("creatinine_create", args=[child.pk]),
        {"sample_date": day, "value": value, "unit": unit},
        follow=True,
    )


def test_creatinine_gives_the_egfr_with_its_constant(world, amy, client):
    login(client, world.carol)
    page = post_creatinine(client, amy).content.decode()
    result = LabResult.objects.get()
    # 36 × 120 / 30 = 144.0
    assert result.egfr == Decimal("144.0") and result.egfr_constant == 36
    assert result.egfr_height_cm == 120 and result.entered_by == world.carol
    assert "eGFR 144.0" in page
    post_creatinine(client, amy, value="0.34", unit="mg/dL", day="2025-12-21")
    # 0.34 mg/dL = 30.056 µmol/L → 36 × 120 / 30.056 = 143.7
    assert LabResult.objects.get(sample_date=date(2025, 12, 21)).egfr == Decimal("143.7")


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        ("0", "µmol/L", "is not a possible value"),
        ("30", "mmol/L", "Select a valid choice"),
        ("abc", "µmol/L", "Enter a number"),
    ],
)
def test_bad_creatinine_is_refused(world, amy, client, value, unit, message):
    login(client, world.carol)
    page = post_creatinine(client, amy, value=value, unit=unit).content.decode()
    assert message in page
    assert not LabResult.objects.exists()


def test_the_form_shows_the_guidance_with_its_source(world, amy, client):
    login(client, world.carol)
    # The form opens on today's date: a weight and an eGFR of today.
    today = amy.today()
    GrowthMeasurement.objects.create(child=amy, date=today, weight_kg=22, height_cm=120)
    post_creatinine(client, amy, day=today.isoformat())
    page = client.get(reverse("prescription_create", args=[amy.pk])).content.decode()
    guidance = page.split('id="guidance"')[1].split("</aside>")[0]
    assert "SPARN JAKi guideline §6.3" in guidance
    # 22 kg, eGFR > 120: initial 4/0/2, escalation 4/0/4.
    assert "<td>4</td><td>0</td><td>2</td><td>6</td>" in guidance
    assert "<td>4</td><td>0</td><td>4</td><td>8</td>" in guidance


def test_escalation_within_the_guideline_is_saved(world, amy, client):
    login(client, world.carol)
    record_fbc(amy, world.carol, date(2025, 12, 1))  # §6.3's baseline bloods
    post_creatinine(client, amy)
    response = client.post(
        reverse("prescription_create", args=[amy.pk]), {**RX, "start_date": "2026-01-10"}
    )
    assert response.status_code == 302
    prescription = Prescription.objects.get(start_date=date(2026, 1, 10))
    assert prescription.total_mg == 8 and prescription.created_by == world.carol
    page = client.get(reverse("treatment", args=[amy.pk])).content.decode()
    # 8 mg/day at 22 kg = 0.36 mg/kg/day
    assert "0.36" in page.split('id="prescriptions"')[1]


def test_a_dose_above_the_guideline_needs_a_reason(world, amy, client):
    login(client, world.carol)
    post_creatinine(client, amy)
    data = {**RX, "start_date": "2026-01-10", "morning_mg": "6", "evening_mg": "6"}
    response = client.post(reverse("prescription_create", args=[amy.pk]), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "12 mg/day is above the guideline&#x27;s maximum of 8 mg/day" in page
    assert "0.55" not in page  # 12/22 = 0.55 mg/kg/day is within 0.6: no second warning
    assert "give the reason to save it" in page
    assert not Prescription.objects.filter(start_date=date(2026, 1, 10)).exists()
    response = client.post(
        reverse("prescription_create", args=[amy.pk]),
        {**data, "override_reason": "Tertiary team agreed (MDT 9 Jan)"},
    )
    assert response.status_code == 302
    saved = Prescription.objects.get(start_date=date(2026, 1, 10))
    assert saved.override_reason == "Tertiary team agreed (MDT 9 Jan)"
    assert saved.history.get().override_reason == saved.override_reason


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"morning_mg": "0", "evening_mg": "0"}, "Give the dose of at least one time of day."),
        ({"morning_mg": "-2"}, "A dose cannot be negative."),
        ({"morning_mg": "two"}, "Enter a number."),
        ({"start_date": "2015-01-01"}, "The start date is before the child&#x27;s date of birth."),
        ({"start_date": "2099-01-01"}, "The start date is more than 90 days ahead."),
        ({"start_date": "2025-12-15"}, "Another prescription starts on this day"),
        ({"reason": "interruption"}, "An interruption or a stop has no dose"),
        ({"morning_mg": "200"}, "more than ten times the maximum daily dose"),
    ],
)
def test_bad_prescriptions_name_the_field(world, amy, client, change, message):
    login(client, world.carol)
    response = client.post(
        reverse("prescription_create", args=[amy.pk]), {**RX, "start_date": "2026-01-10", **change}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Prescription.objects.count() == 1


def test_an_interruption_is_recorded_with_dates_and_reason(world, amy, client):
    login(client, world.carol)
    record_fbc(amy, world.carol, date(2025, 12, 1))  # §6.3's baseline bloods
    post_creatinine(client, amy)
    data = {
        **RX,
        "start_date": "2026-01-10",
        "morning_mg": "0",
        "evening_mg": "0",
        "reason": "interruption",
        "note": "Serious chest infection (SPARN §7.3)",
    }
    assert client.post(reverse("prescription_create", args=[amy.pk]), data).status_code == 302
    restart = {**RX, "start_date": "2026-01-20", "reason": "restart"}
    assert client.post(reverse("prescription_create", args=[amy.pk]), restart).status_code == 302
    page = client.get(reverse("treatment", args=[amy.pk])).content.decode()
    assert "Interruption" in page and "Serious chest infection" in page


def test_caregivers_cannot_prescribe_and_strangers_see_nothing(world, amy, client):
    login(client, world.alice)
    assert client.get(reverse("treatment", args=[amy.pk])).status_code == 200
    for name in (
        "prescription_create",
        "steroid_prescription_create",
        "markers_edit",
        "creatinine_create",
    ):
        response = client.post(reverse(name, args=[amy.pk]), {**RX, "start_date": "2026-01-10"})
        assert response.status_code == 403, name
        assert b"Only the child&#x27;s clinicians can change the treatment." in response.content
    assert Prescription.objects.count() == 1
    login(client, world.dan)
    assert client.get(reverse("treatment", args=[amy.pk])).status_code == 404


def test_markers_recompute_the_phases(world, amy, client):
    login(client, world.carol)
    today = amy.today()
    optimal = today - timedelta(days=30)
    client.post(
        reverse("markers_edit", args=[amy.pk]),
        {"optimal_dose_date": optimal.isoformat(), "final_visit_date": ""},
    )
    amy.refresh_from_db()
    assert amy.optimal_dose_date == optimal
    page = client.get(reverse("treatment", args=[amy.pk])).content.decode()
    phases = page.split('id="phases"')[1].split("</table>")[0]
    # Set 30 days ago: phase 3 is empty and phase 4 runs from the marker to today.
    assert (
        f"<td>{optimal.day} {optimal:%b %Y}</td><td>{today.day} {today:%b %Y}</td><td>31</td>"
        in phases
    )
    assert "(set by a clinician)" in page
    # Clearing the marker derives it again.
    client.post(
        reverse("markers_edit", args=[amy.pk]), {"optimal_dose_date": "", "final_visit_date": ""}
    )
    page = client.get(reverse("treatment", args=[amy.pk])).content.decode()
    assert "(derived: the latest prescription unchanged for 90 days)" in page
    assert amy.history.count() == 3


def test_a_steroid_prescription(world, amy, client):
    login(client, world.carol)
    response = client.post(
        reverse("steroid_prescription_create", args=[amy.pk]),
        {"drug": "prednisolone", "start_date": "2026-01-05", "mg_per_day": "7.5", "note": ""},
    )
    assert response.status_code == 302
    assert amy.steroid_prescriptions.get().mg_per_day == Decimal("7.5")


def test_steroids_as_prednisone_equivalent_per_kg(world):
    from diary.models import SteroidDose
    from outcomes.treatment import steroid_mg_per_kg_by_day

    child = world.amy
    GrowthMeasurement.objects.create(child=child, date=date(2026, 1, 10), weight_kg=20)
    GrowthMeasurement.objects.create(child=child, date=date(2026, 2, 1), weight_kg=25)
    for day, drug, mg in [
        (date(2026, 1, 5), "prednisolone", 10),  # before any weight: 20 kg
        (date(2026, 1, 20), "methylprednisolone", 8),  # 10 mg pred-eq, 20 kg
        (date(2026, 1, 20), "hydrocortisone", 20),  # + 5 mg pred-eq
        (date(2026, 2, 1), "dexamethasone", 3),
    ]:  # 20.01 mg at 25 kg
        SteroidDose.objects.create(child=child, date=day, drug=drug, mg=mg)
    assert steroid_mg_per_kg_by_day(child, date(2026, 1, 1), date(2026, 2, 28)) == {
        date(2026, 1, 5): Decimal("0.500"),
        date(2026, 1, 20): Decimal("0.750"),
        date(2026, 2, 1): Decimal("0.800"),
    }
