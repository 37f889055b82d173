"""/api/prescriptions/, /api/children/{id}/phases/ and /api/guideline/dose/."""

from datetime import date

import pytest

from diary.models import GrowthMeasurement, Prescription
from outcomes.labs import record_lab
from tests.conftest import prescribe, record_fbc

BODY = {
    "drug": "baricitinib",
    "indication": "interferonopathy",
    "start_date": "2026-01-10",
    "morning_mg": "4",
    "afternoon_mg": "0",
    "evening_mg": "4",
    "reason": "escalation",
}


@pytest.fixture
def amy(world):
    GrowthMeasurement.objects.create(
        child=world.amy, date=date(2025, 12, 1), weight_kg=22, height_cm=120
    )
    record_fbc(world.amy, world.carol, date(2025, 1, 20))  # §6.3's baseline bloods
    prescribe(world.amy, morning=4, evening=2, start=date(2025, 2, 1))
    # 36 × 120 cm / 33 µmol/L = 130.9: the §6.3 table (eGFR > 120).
    record_lab(world.amy, world.carol, "creatinine", date(2025, 12, 1), 33, "µmol/L")
    return world.amy


def test_clinician_prescribes(world, amy, api_for):
    response = api_for(world.carol).post(
        "/api/prescriptions/", {**BODY, "child": amy.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["total_mg"] == "8.00" and body["mg_per_kg"] == 0.364
    assert body["warnings"] == [] and body["created_by"] == "carol"


def test_warning_needs_a_reason(world, amy, api_for):
    api = api_for(world.carol)
    data = {**BODY, "child": amy.pk, "morning_mg": "8", "evening_mg": "6"}
    response = api.post("/api/prescriptions/", data, format="json")
    assert response.status_code == 400
    reasons = response.json()["override_reason"]
    assert "give the reason" in reasons[0]
    assert any("0.64 mg/kg/day is above 0.6 mg/kg/day" in r for r in reasons)
    response = api.post("/api/prescriptions/", {**data, "override_reason": "MDT"}, format="json")
    assert response.status_code == 201
    assert len(response.json()["warnings"]) >= 1


def test_caregiver_gets_403_with_a_message_and_stranger_404(world, amy, api_for):
    response = api_for(world.alice).post(
        "/api/prescriptions/", {**BODY, "child": amy.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the child's clinicians can prescribe."
    existing = Prescription.objects.get()
    response = api_for(world.alice).patch(
        f"/api/prescriptions/{existing.pk}/", {"morning_mg": "9"}, format="json"
    )
    assert response.status_code == 403
    for stranger in (world.dan, world.bob, world.rita):
        api = api_for(stranger)
        assert (
            api.post("/api/prescriptions/", {**BODY, "child": amy.pk}, format="json").status_code
            == 404
        )
        assert api.get(f"/api/prescriptions/{existing.pk}/").status_code == 404
        assert api.get(f"/api/children/{amy.pk}/phases/").status_code == 404
    assert Prescription.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"morning_mg": "-1"}, "morning_mg"),
        ({"morning_mg": "lots"}, "morning_mg"),
        ({"morning_mg": "0", "evening_mg": "0"}, "morning_mg"),
        ({"start_date": "2010-01-01"}, "start_date"),
        ({"start_date": "2025-02-01"}, "start_date"),
    ],
)
def test_bad_prescriptions(world, amy, api_for, change, field):
    response = api_for(world.carol).post(
        "/api/prescriptions/", {**BODY, "child": amy.pk, **change}, format="json"
    )
    assert response.status_code == 400 and field in response.json(), response.json()
    assert Prescription.objects.count() == 1


def test_phases_endpoint(world, amy, api_for):
    response = api_for(world.alice).get(f"/api/children/{amy.pk}/phases/", {"cutoff": "2026-06-30"})
    assert response.status_code == 200
    body = response.json()
    # One unchanged prescription since 1 Feb 2025: optimal from the first dose.
    assert body["first_dose"] == "2025-02-01" and body["optimal_date"] == "2025-02-01"
    assert body["optimal_derived"] is True and body["current"] == 4
    assert body["phases"][3] == {"phase": 4, "start": "2026-04-02", "end": "2026-06-30", "days": 90}
    assert body["phases"][1] == {"phase": 2, "start": None, "end": None, "days": 0}
    bad = api_for(world.alice).get(f"/api/children/{amy.pk}/phases/", {"cutoff": "30/06/2026"})
    assert bad.status_code == 400 and "cutoff" in bad.json()


def test_guideline_dose_endpoint(world, api_for):
    api = api_for(world.alice)
    response = api.get(
        "/api/guideline/dose/",
        {
            "drug": "baricitinib",
            "indication": "interferonopathy",
            "weight_kg": 25,
            "egfr": 130,
            "age_years": 6,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["initial"] == {"morning": 4, "afternoon": 0, "evening": 2, "total": 6}
    assert body["escalation"] == {"morning": 4, "afternoon": 0, "evening": 4, "total": 8}
    assert body["source"].startswith("SPARN JAKi guideline §6.3")
    jdm = api.get(
        "/api/guideline/dose/", {"drug": "baricitinib", "indication": "jdm", "age_years": 4}
    ).json()
    assert jdm["escalation"] is None and jdm["initial"]["total"] == 2
    for params, field in [
        ({"indication": "jia"}, "drug"),
        (
            {
                "drug": "baricitinib",
                "indication": "interferonopathy",
                "weight_kg": "-5",
                "egfr": 100,
            },
            "weight_kg",
        ),
    ]:
        response = api.get("/api/guideline/dose/", params)
        assert response.status_code == 400 and field in response.json(), params


def test_schema_has_the_treatment_endpoints(world, api_for):
    import yaml

    schema = yaml.safe_load(api_for(world.carol).get("/api/schema/").content)
    for path in ("/api/prescriptions/", "/api/children/{id}/phases/", "/api/guideline/dose/"):
        assert path in schema["paths"], path
