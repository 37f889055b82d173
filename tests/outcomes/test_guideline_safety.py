"""No check skipped in silence: missing or old inputs, renal and age limits (SPARN §5.2–§6.4).

Each test quotes the guideline's text it is built from."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from diary.models import GrowthMeasurement, Prescription
from outcomes import guideline as g
from outcomes import treatment
from outcomes.labs import record_lab
from tests.conftest import record_fbc, record_screening

D = Decimal


def by_kind(cautions):
    return {
        "dose": [c for c in cautions if c.kind == "dose"],
        "missing": [c.input for c in cautions if c.kind == "missing"],
    }


# --- Row 1: baricitinib 12 mg/day, 20 kg, no eGFR on record ------------------------------------


def test_twelve_mg_at_20_kg_without_egfr_is_above_every_table():
    # §6.3 (eGFR > 120) 20–40 kg escalation "4mg – 4mg = 8mg"; appendix 2 (≤ 120) "6mg".
    cautions = g.prescription_warnings("baricitinib", "interferonopathy", D(12), 20, 6, None)
    found = by_kind(cautions)
    assert len(found["dose"]) == 1 and found["dose"][0].blocking
    message = found["dose"][0].message
    assert "above the guideline's maximum whatever the missing value" in message
    assert "8 mg/day (20–40 kg, eGFR > 120)" not in message  # the weight is known
    assert "8 mg/day (eGFR > 120)" in message and "6 mg/day (eGFR ≤ 120)" in message
    assert found["missing"] == ["egfr"]


@pytest.mark.parametrize(
    ("total", "dose_warning", "word"),
    [
        ("6", False, None),
        ("6.5", True, "may be above"),
        ("8", True, "may be above"),
        ("8.5", True, "whatever"),
    ],
)
def test_without_egfr_the_dose_is_checked_against_both_tables(total, dose_warning, word):
    # 20 kg: 8 mg/day if eGFR > 120 (§6.3), 6 mg/day if ≤ 120 (appendix 2).
    cautions = g.prescription_warnings("baricitinib", "interferonopathy", D(total), 20, 6, None)
    found = by_kind(cautions)
    assert bool(found["dose"]) is dose_warning
    if word:
        assert word in found["dose"][0].message
    # The missing eGFR is always said, and alone it does not block saving.
    missing = [c for c in cautions if c.kind == "missing"]
    assert [c.input for c in missing] == ["egfr"] and not missing[0].blocking
    assert "§6.3 / appendix 2" in missing[0].message and "§6.2b" in missing[0].source


# --- Row 2: baricitinib 10 mg/day, no weight, eGFR 130 ----------------------------------------


def test_ten_mg_without_weight_at_egfr_130_may_be_above_8():
    # §6.3: "<20kg … 8mg", "20-40kg … 8mg", ">40kg … 10mg (… 12mg after discussion)".
    found = by_kind(g.prescription_warnings("baricitinib", "interferonopathy", D(10), None, 6, 130))
    assert found["missing"] == ["weight_kg"]
    message = found["dose"][0].message
    assert "may be above" in message
    assert "8 mg/day (< 20 kg)" in message and "8 mg/day (20–40 kg)" in message
    assert "> 40 kg" not in message  # 10 mg/day is within the > 40 kg band's maximum


@pytest.mark.parametrize(("total", "warned"), [("8", False), ("8.5", True), ("12", True)])
def test_without_weight_the_boundary_is_the_lowest_band(total, warned):
    found = by_kind(
        g.prescription_warnings("baricitinib", "interferonopathy", D(total), None, 6, 130)
    )
    assert bool(found["dose"]) is warned
    more = by_kind(
        g.prescription_warnings("baricitinib", "interferonopathy", D("12.5"), None, 6, 130)
    )
    assert "whatever the missing value" in more["dose"][0].message


def test_without_weight_nor_egfr_both_are_missing():
    found = by_kind(g.prescription_warnings("baricitinib", "interferonopathy", D(4), None, 6, None))
    assert found["missing"] == ["weight_kg", "egfr"] and not found["dose"]


# --- Row 4: dose guidance at eGFR 29.9 or 9 ---------------------------------------------------


@pytest.mark.parametrize(
    ("egfr", "sections"),
    [
        ("9", ["§6.2b i–ii"]),
        ("9.9", ["§6.2b i–ii"]),
        ("10", ["§6.1, §6.2b"]),
        ("29.9", ["§6.1, §6.2b"]),
        ("30", []),
        ("90", []),
    ],
)
def test_renal_notes_are_in_the_dose_guidance(egfr, sections):
    # §6.1 "not recommended … creatinine clearance <30ml/min"; §6.2b ii "severe renal failure
    # (… <10ml/min)"; §6.2b i "specialist MDT discussion".
    guidance = g.dose_guidance("baricitinib", "interferonopathy", weight_kg=25, egfr=egfr)
    noted = [n for n in guidance.notes if "SPARN JAKi guideline §6" in n and "renal" in n]
    assert len(noted) == len(sections)
    for section in sections:
        assert any(section in n for n in noted)
    cautions = g.prescription_warnings("baricitinib", "interferonopathy", D(4), 25, 6, egfr)
    assert len([c for c in cautions if "§6.2b" in c.source]) == len(sections)
    # The notes apply to baricitinib whatever the indication.
    jdm = g.dose_guidance("baricitinib", "jdm", age_years=8, egfr=egfr)
    assert len([n for n in jdm.notes if "renal" in n]) == len(sections)


def test_severe_renal_failure_note_says_not_recommended():
    note = g.dose_guidance("baricitinib", "interferonopathy", weight_kg=25, egfr=9).notes[0]
    assert "severe renal failure" in note and "not recommended" in note


# --- Row 5: tofacitinib at 1 year (8 kg) ------------------------------------------------------


@pytest.mark.parametrize(("age", "noted"), [(1, True), ("1.9", True), (2, False), (17, False)])
def test_tofacitinib_from_two_years(age, noted):
    # §5.3: "approved by NICE … for children 2 years and above"; BNFC "children 2-17".
    guidance = g.dose_guidance("tofacitinib", "jia", weight_kg=8, age_years=age)
    assert guidance.initial.morning == D("2.5")  # 7–<10 kg: 2.5 mg twice daily
    assert any("§5.3" in n and "2 years" in n for n in guidance.notes) is noted
    cautions = g.prescription_warnings("tofacitinib", "jia", D(5), 8, age, 100)
    assert any(c.blocking and "2 years" in c.message for c in cautions) is noted


@pytest.mark.parametrize(("egfr", "noted"), [("29.9", True), ("30", False)])
def test_tofacitinib_reduced_dose_in_severe_renal_impairment(egfr, noted):
    # §5.2b: "A reduced dose should be used in severe renal impairment".
    guidance = g.dose_guidance("tofacitinib", "jia", weight_kg=25, age_years=8, egfr=egfr)
    assert any("§5.2b" in n and "reduced dose" in n for n in guidance.notes) is noted


def test_tofacitinib_without_weight_or_under_5_kg_is_said():
    found = by_kind(g.prescription_warnings("tofacitinib", "jia", D(8), None, 8, 100))
    assert found["missing"] == ["weight_kg"]
    # 8 mg/day is 4 mg bd (20–<40 kg): above the lower bands' 2, 2.5 and 3.2 mg bd.
    assert "may be above" in found["dose"][0].message
    tiny = g.prescription_warnings("tofacitinib", "jia", D(4), "4.5", 3, 100)
    assert any(c.blocking and "from 5 kg" in c.message for c in tiny)


def test_every_caution_names_its_section_and_the_team_decides():
    cautions = g.prescription_warnings("baricitinib", "interferonopathy", D(12), None, 6, None)
    cautions += g.prescription_warnings("tofacitinib", "jia", D(5), 8, 1, 20)
    assert cautions
    for c in cautions:
        assert c.source.startswith(("SPARN JAKi guideline §", "CHOP")), c
        assert c.as_dict()["decision"] == "Decision support: the treating team decides."


# --- Recency of weight, height and eGFR (settings) -------------------------------------------


@pytest.fixture
def amy(world):
    return world.amy


def test_weight_and_egfr_recency_boundaries(world, amy, settings):
    day = date(2026, 6, 1)
    GrowthMeasurement.objects.create(child=amy, date=day - timedelta(days=90), weight_kg=22)
    GrowthMeasurement.objects.create(
        child=amy, date=day - timedelta(days=300), height_cm=120, weight_kg=20
    )
    GrowthMeasurement.objects.create(child=amy, date=day - timedelta(days=120), height_cm=121)
    record_lab(amy, world.carol, "creatinine", day - timedelta(days=98), 33, "µmol/L")
    inputs = treatment.inputs_for(amy, day)
    assert inputs.weight_kg == 22 and inputs.egfr_value == D("132.0")  # 36 × 121 / 33
    later = treatment.inputs_for(amy, day + timedelta(days=1))
    assert later.weight_kg is None and later.egfr is None  # 91 and 99 days old
    missing = treatment.missing_for("baricitinib", "interferonopathy", later)
    assert [m.message.split(":")[0] for m in missing] == [
        "No weight in the last 90 days",
        "No eGFR in the last 98 days",
    ]
    settings.GUIDELINE_WEIGHT_MAX_AGE_DAYS = 91
    assert treatment.inputs_for(amy, day + timedelta(days=1)).weight_kg == 22


@pytest.mark.parametrize(("days", "computed"), [(180, True), (181, False)])
def test_a_height_older_than_the_recency_gives_no_egfr(world, amy, days, computed):
    sample = date(2026, 6, 1)
    GrowthMeasurement.objects.create(child=amy, date=sample - timedelta(days=days), height_cm=120)
    result = record_lab(amy, world.carol, "creatinine", sample, 30, "µmol/L")
    assert (result.egfr == D("144.0")) is computed


# --- Where the decision is made: the API and the form -----------------------------------------


def test_api_prescription_lists_what_was_not_checked(world, amy, api_for):
    GrowthMeasurement.objects.create(child=amy, date=date(2026, 1, 1), weight_kg=20)
    record_fbc(amy, world.carol, date(2026, 1, 1))
    api = api_for(world.carol)
    body = {
        "child": amy.pk,
        "drug": "baricitinib",
        "indication": "interferonopathy",
        "start_date": "2026-01-10",
        "morning_mg": "6",
        "afternoon_mg": "0",
        "evening_mg": "6",
        "reason": "escalation",
    }
    refused = api.post("/api/prescriptions/", body, format="json")
    assert refused.status_code == 400
    assert any("whatever the missing value" in r for r in refused.json()["override_reason"])
    saved = api.post("/api/prescriptions/", {**body, "override_reason": "MDT"}, format="json")
    assert saved.status_code == 201
    data = saved.json()
    assert [m["input"] for m in data["missing"]] == ["egfr"]
    assert data["missing"][0]["message"].startswith("No eGFR in the last 98 days")
    kinds = {w["kind"] for w in data["warnings"]}
    assert kinds == {"dose", "missing"}
    assert all(w["decision"] and "§" in w["source"] for w in data["warnings"])
    # A dose within every table is saved without a reason, the missing eGFR still said.
    low = {**body, "start_date": "2026-01-20", "morning_mg": "2", "evening_mg": "2"}
    response = api.post("/api/prescriptions/", low, format="json")
    assert response.status_code == 201 and response.json()["missing"]


def test_form_says_what_it_cannot_check_before_saving(world, amy, client_for):
    from django.urls import reverse

    client = client_for(world.carol)
    page = client.get(reverse("prescription_create", args=[amy.pk])).content.decode()
    block = page.split('id="missing"')[1].split("</div>")[0]
    assert "No weight in the last 90 days" in block and "No eGFR in the last 98 days" in block
    assert "the treating team decides" in block
    # Saved without a dose warning: the page after saving still says what was not checked.
    today = amy.today()
    record_screening(amy, world.carol, today)
    GrowthMeasurement.objects.create(child=amy, date=today, weight_kg=20)
    response = client.post(
        reverse("prescription_create", args=[amy.pk]),
        {
            "drug": "baricitinib",
            "indication": "interferonopathy",
            "start_date": today.isoformat(),
            "morning_mg": "2",
            "afternoon_mg": "0",
            "evening_mg": "2",
            "reason": "initial",
            "note": "",
            "override_reason": "",
        },
        follow=True,
    )
    assert Prescription.objects.filter(child=amy).count() == 1
    assert "No eGFR in the last 98 days" in response.content.decode()


def test_dose_endpoint_missing_list_and_alternatives(world, amy, api_for):
    api = api_for(world.carol)
    body = api.get(
        "/api/guideline/dose/",
        {"drug": "baricitinib", "indication": "interferonopathy", "weight_kg": 25},
    ).json()
    assert body["initial"] is None and body["maximum_total"] is None
    assert [(a["when"], a["maximum_total"]) for a in body["alternatives"]] == [
        ("eGFR > 120", 8),
        ("eGFR ≤ 120", 6),
    ]
    assert [m["input"] for m in body["missing"]] == ["egfr"]
    assert "given" in body["missing"][0]["message"] and body["decision"]
    # From the child's record: the recency is named.
    GrowthMeasurement.objects.create(child=amy, date=amy.today(), weight_kg=25, height_cm=120)
    body = api.get(
        "/api/guideline/dose/",
        {"drug": "baricitinib", "indication": "interferonopathy", "child": amy.pk},
    ).json()
    assert body["inputs"]["weight_kg"] == 25 and body["inputs"]["egfr"] is None
    assert body["missing"][0]["message"].startswith("No eGFR in the last 98 days")
    record_lab(amy, world.carol, "creatinine", amy.today(), 350, "µmol/L")  # eGFR 12.3
    body = api.get(
        "/api/guideline/dose/",
        {"drug": "baricitinib", "indication": "interferonopathy", "child": amy.pk},
    ).json()
    assert body["missing"] == [] and body["initial"]["total"] == 4
    assert any("§6.1" in n and "not recommended" in n for n in body["notes"])
    # Another family's child: 404.
    assert (
        api_for(world.dan)
        .get(
            "/api/guideline/dose/",
            {"drug": "baricitinib", "indication": "interferonopathy", "child": amy.pk},
        )
        .status_code
        == 404
    )


@override_settings(GUIDELINE_EGFR_MAX_AGE_DAYS=30)
def test_recency_is_a_setting(world, amy):
    GrowthMeasurement.objects.create(child=amy, date=date(2026, 1, 1), height_cm=120)
    record_lab(amy, world.carol, "creatinine", date(2026, 1, 1), 33, "µmol/L")
    assert treatment.inputs_for(amy, date(2026, 1, 31)).egfr_value == D("130.9")
    assert treatment.inputs_for(amy, date(2026, 2, 1)).egfr is None


# --- Rest of SPARN: escalation only if baseline bloods are normal (§6.3) ----------------------


def escalate(world, amy, api_for, reason="escalation", morning="4", evening="4"):
    return api_for(world.carol).post(
        "/api/prescriptions/",
        {
            "child": amy.pk,
            "drug": "baricitinib",
            "indication": "interferonopathy",
            "start_date": "2026-03-01",
            "morning_mg": morning,
            "afternoon_mg": "0",
            "evening_mg": evening,
            "reason": reason,
        },
        format="json",
    )


@pytest.fixture
def on_six(world, amy):
    """Amy, 25 kg, eGFR 144, on 4/–/2 = 6 mg/day since 1 Feb 2026."""
    GrowthMeasurement.objects.create(child=amy, date=date(2026, 1, 20), weight_kg=25, height_cm=120)
    record_lab(amy, world.carol, "creatinine", date(2026, 1, 20), 30, "µmol/L")
    Prescription.objects.create(
        child=amy,
        drug="baricitinib",
        start_date=date(2026, 2, 1),
        morning_mg=4,
        evening_mg=2,
        reason="initial",
    )
    return amy


@pytest.mark.parametrize(
    ("values", "warned"),
    [
        ({}, None),
        ({"hb": "8.0"}, "with abnormal"),  # §6.1: do not start with Hb ≤ 8
        ({"hb": "8.1"}, None),
        ({"platelets": "74"}, "with abnormal"),  # §6.7: platelets < 75
        ({"neutrophils": None}, "without"),
    ],
)
def test_escalation_needs_normal_baseline_bloods(world, on_six, api_for, values, warned):
    # §6.3: "Dose escalation if baseline bloods are normal".
    record_fbc(on_six, world.carol, date(2026, 1, 20), **values)
    response = escalate(world, on_six, api_for)
    if warned is None:
        assert response.status_code == 201, response.json()
        return
    assert response.status_code == 400
    reasons = " ".join(response.json()["override_reason"])
    assert f"Escalation {warned}" in reasons and "(SPARN JAKi guideline §6.3)" in reasons
    if values.get("neutrophils", "") is None:
        assert "Neutrophils" in reasons


def test_an_increase_is_an_escalation_whatever_its_label(world, on_six, api_for):
    response = escalate(world, on_six, api_for, reason="restart")  # 6 → 8 mg/day
    assert response.status_code == 400 and "Escalation without baseline bloods" in str(
        response.json()
    )
    same = escalate(world, on_six, api_for, reason="restart", morning="4", evening="2")
    assert same.status_code == 201  # the same dose: not an escalation


def test_baseline_is_before_the_first_dose(world, on_six, api_for):
    # Bloods after the first dose are monitoring, not baseline.
    record_fbc(on_six, world.carol, date(2026, 2, 15))
    assert escalate(world, on_six, api_for).status_code == 400
    record_fbc(on_six, world.carol, date(2026, 1, 31))
    assert escalate(world, on_six, api_for).status_code == 201


# --- Rest of SPARN: 12 mg/day over 40 kg after the tertiary team's discussion (§6.3) ----------


@pytest.mark.parametrize(
    ("total", "recorded", "expected"),
    [
        ("10", False, None),
        ("10.5", False, "tertiary"),
        ("12", False, "tertiary"),
        ("12", True, None),
        ("12.5", True, "above the guideline's maximum of 12"),
    ],
)
def test_above_ten_mg_over_40_kg_needs_the_tertiary_discussion(total, recorded, expected):
    # §6.3 > 40 kg: "10mg … (option to maximise evening dose to 6mg if tolerated after
    # discussion with tertiary team to a total daily dose of 12mg)".
    cautions = g.prescription_warnings(
        "baricitinib", "interferonopathy", D(total), 60, 12, 130, tertiary_recorded=recorded
    )
    found = [c.message for c in cautions if c.blocking]
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0]


def test_tertiary_discussion_is_recorded_with_whom_and_when(world, amy, api_for):
    GrowthMeasurement.objects.create(child=amy, date=date(2026, 1, 1), weight_kg=60, height_cm=150)
    record_lab(amy, world.carol, "creatinine", date(2026, 1, 1), 40, "µmol/L")  # eGFR 135
    record_screening(amy, world.carol, date(2026, 1, 1))
    api = api_for(world.carol)
    body = {
        "child": amy.pk,
        "drug": "baricitinib",
        "indication": "interferonopathy",
        "start_date": "2026-01-10",
        "morning_mg": "6",
        "afternoon_mg": "0",
        "evening_mg": "6",
        "reason": "escalation",
    }
    refused = api.post("/api/prescriptions/", body, format="json")
    assert refused.status_code == 400 and "tertiary team" in str(refused.json())
    half = api.post(
        "/api/prescriptions/", {**body, "tertiary_discussed_with": "Dr Grey"}, format="json"
    )
    assert half.status_code == 400 and "both whom and when" in str(half.json())
    future = {**body, "tertiary_discussed_with": "Dr Grey", "tertiary_discussed_on": "2099-01-01"}
    assert api.post("/api/prescriptions/", future, format="json").status_code == 400
    done = {
        **body,
        "tertiary_discussed_with": "Dr Grey, GOSH",
        "tertiary_discussed_on": "2026-01-08",
    }
    saved = api.post("/api/prescriptions/", done, format="json")
    assert saved.status_code == 201, saved.json()
    assert saved.json()["warnings"] == []
    rx = Prescription.objects.get(start_date=date(2026, 1, 10))
    assert rx.history.get().tertiary_discussed_with == "Dr Grey, GOSH"
