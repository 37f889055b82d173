"""FHIR R4 export: the child's record as a Bundle, every resource validated with fhir.resources;
the code tables cover everything the app knows; scoping and the access log."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from diary import recording
from diary.doses import Drug, Steroid
from diary.models import (
    AccessEvent,
    Child,
    DataTransfer,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    Relationship,
)
from outcomes.fhir import codes, export
from outcomes.labs import record_lab
from outcomes.models import UNITS, Analyte
from tests.conftest import AGS_ANSWERS, prescribe
from tests.outcomes.fhir_checks import validate_bundle, validate_resource
from tests.seeding import seed_record


def fhir(api, child) -> dict:
    response = api.get(f"/api/children/{child.pk}/fhir/")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/fhir+json")
    return json.loads(response.content)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.fixture
def full_record(world):
    """Amy with a record of every kind: diary days, given/missed/different doses, steroids,
    growth, an interruption, results with a ULN, an eGFR and flags."""
    record = seed_record(world.amy, world.alice, world.carol, "F")
    amy = world.amy
    day = amy.today() - timedelta(days=2)
    recording.record(DiaryEntry, amy, world.alice, uuid.uuid4(), day, {"scores": AGS_ANSWERS})
    for slot, status, given in (("morning", "missed", None), ("evening", "different", "1")):
        data = {"drug": "baricitinib", "slot": slot, "status": status}
        if given:
            data["given_mg"] = given
        recording.record(DoseAdministration, amy, world.alice, uuid.uuid4(), day, data)
    Prescription.objects.create(
        child=amy,
        drug="baricitinib",
        start_date=amy.today() - timedelta(days=1),
        reason="interruption",
        created_by=world.carol,
    )
    record_lab(amy, world.carol, "creatinine", day, "0.4", "mg/dL")  # height 95 → eGFR
    record_lab(amy, world.carol, "alt", day, "300", "U/L", uln="40")  # > 5 × ULN: §6.7
    record_lab(amy, world.carol, "bk_plasma", day, "500", "copies/mL")  # < 3: a note (§6.8)
    return record


def test_export_validates_resource_by_resource(world, api_for, full_record):
    bundle = fhir(api_for(world.carol), world.amy)
    counts = validate_bundle(bundle)
    assert counts == {
        "Patient": 1,
        "RelatedPerson": 1,  # the mother recorded the diary, doses and growth
        "Practitioner": 1,  # the clinician who scored the visit
        "MedicationRequest": 3,  # two baricitinib prescriptions, one steroid
        "Questionnaire": 1,
        "QuestionnaireResponse": 2,
        "MedicationAdministration": 4,  # given, missed, different, a steroid dose
        # Weight, height, BMI and their three SDS; the visit's AGS Scale and physician's
        # global; Hb, creatinine and its eGFR, ALT, BK.
        "Observation": 13,
    }
    assert bundle["type"] == "collection" and "total" not in bundle


def test_patient_carries_the_site_reference(world, api_for, full_record):
    [patient] = resources(fhir(api_for(world.alice), world.amy), "Patient")
    site_ref = [i for i in patient["identifier"] if i.get("use") == "usual"]
    assert site_ref == [
        {
            "use": "usual",
            "type": {"text": "Site reference"},
            "system": export.child_identifier_system("north"),
            "value": "REF-F",
            "assigner": {"display": "North Hospital"},
        }
    ]
    assert patient["name"] == [{"family": "LastnameF", "given": ["FirstnameF"]}]
    assert patient["birthDate"] == "2019-05-01" and patient["gender"] == "female"


def test_questionnaire_has_every_wording_in_english_and_french(world, api_for, full_record):
    bundle = fhir(api_for(world.carol), world.amy)
    [questionnaire] = resources(bundle, "Questionnaire")
    instrument = world.amy.get_instrument()
    assert questionnaire["url"] == export.questionnaire_url("ags")
    assert questionnaire["version"] == str(instrument.version)
    items = {i["linkId"]: i for i in questionnaire["item"]}
    for item in instrument.items:
        element = items[item.key]
        assert element["type"] == "choice"
        with translation.override("fr"):
            french = [str(c) for c in item.choices]
            label = str(item.label)
        assert _fr(element, "text") == label
        assert [o["valueCoding"]["code"] for o in element["answerOption"]] == [
            str(n) for n in range(item.max + 1)
        ]
        with translation.override("en"):
            assert [o["valueCoding"]["display"] for o in element["answerOption"]] == [
                str(c) for c in item.choices
            ]
        assert [_fr(o["valueCoding"], "display") for o in element["answerOption"]] == french
    assert _fr(items["skin_trunk"], "text") != items["skin_trunk"]["text"]  # really French
    assert items["score"]["readOnly"] is True


def _fr(element: dict, name: str) -> str:
    [translation_] = element[f"_{name}"]["extension"]
    assert translation_["url"] == codes.TRANSLATION
    parts = {e["url"]: e for e in translation_["extension"]}
    assert parts["lang"]["valueCode"] == "fr"
    return parts["content"]["valueString"]


def test_diary_day_answers_score_and_caregiver_author(world, api_for, full_record):
    bundle = fhir(api_for(world.carol), world.amy)
    [caregiver] = resources(bundle, "RelatedPerson")
    assert caregiver["relationship"][0]["coding"] == [
        {"system": codes.V3_ROLE, "code": "MTH", "display": "mother"}
    ]
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    scored = [
        r
        for r in resources(bundle, "QuestionnaireResponse")
        if not any(i["linkId"] == "no_symptoms" for i in r["item"])
    ]
    [response] = scored
    answers = {i["linkId"]: i["answer"][0] for i in response["item"]}
    assert answers["irritability"]["valueCoding"]["code"] == "2"
    assert answers["score"] == {"valueDecimal": 5.0}
    assert answers["subscore_skin"] == {"valueDecimal": 1.0}
    assert response["questionnaire"] == f"{export.questionnaire_url('ags')}|1"
    assert response["author"]["reference"] == urls[caregiver["id"]]
    assert response["status"] == "completed"


def test_doses_prescriptions_and_codes(world, api_for, full_record):
    bundle = fhir(api_for(world.carol), world.amy)
    requests = resources(bundle, "MedicationRequest")
    jaki = [r for r in requests if r["identifier"][0]["system"].endswith("/prescriptions")]
    first, interruption = jaki
    assert first["status"] == "completed" and interruption["doNotPerform"] is True
    assert first["medicationCodeableConcept"] == {
        "coding": [{"system": codes.RXNORM, "code": "2047232", "display": "baricitinib"}],
        "text": "Baricitinib",
    }
    slots = [
        (d["timing"]["repeat"]["when"], d["doseAndRate"][0]["doseQuantity"]["value"])
        for d in first["dosageInstruction"]
    ]
    assert slots == [(["MORN"], 2), (["EVE"], 2)]
    assert first["dispenseRequest"]["validityPeriod"]["end"] == str(
        world.amy.today() - timedelta(days=2)
    )
    given = resources(bundle, "MedicationAdministration")
    by_status = sorted((a["status"], a["dosage"]["dose"]["value"]) for a in given)
    assert by_status == [("completed", 1), ("completed", 2), ("completed", 5), ("not-done", 2)]
    missed = next(a for a in given if a["status"] == "not-done")
    assert missed["statusReason"] == [{"text": "Missed"}]
    steroid = next(
        a for a in given if "prednisolone" in a["medicationCodeableConcept"]["text"].lower()
    )
    assert {c["system"] for c in steroid["medicationCodeableConcept"]["coding"]} == {
        codes.RXNORM,
        codes.SNOMED,
    }


def test_lab_observations_loinc_ucum_uln_and_flags(world, api_for, full_record):
    bundle = fhir(api_for(world.carol), world.amy)
    observations = resources(bundle, "Observation")
    by_code = {o["code"]["coding"][0]["code"]: o for o in observations}
    hb = by_code["718-7"]
    assert hb["valueQuantity"] == {
        "value": 7.1,
        "unit": "g/dL",
        "system": codes.UCUM,
        "code": "g/dL",
    }
    assert hb["interpretation"][0]["coding"][0]["code"] == "L"
    assert "§6.7" in hb["note"][0]["text"] and "treating team decides" in hb["note"][0]["text"]
    alt = by_code["1742-6"]
    assert alt["referenceRange"] == [
        {"high": {"value": 40, "unit": "U/L", "system": codes.UCUM, "code": "U/L"}}
    ]
    assert alt["interpretation"][0]["coding"][0]["code"] == "H"
    creatinine = by_code["14682-9"]
    assert creatinine["valueQuantity"]["value"] == float(Decimal("0.4") * Decimal("88.4"))
    egfr = by_code["egfr"]
    assert egfr["derivedFrom"][0]["reference"] in {e["fullUrl"] for e in bundle["entry"]}
    assert egfr["valueQuantity"]["code"] == "mL/min/{1.73_m2}"
    bk = by_code["bk_plasma"]
    assert bk["code"]["coding"][0]["system"] == export.analyte_system()
    assert bk["valueQuantity"]["code"] == "{log_copies}/mL"
    assert "interpretation" not in bk and "§6.8" in bk["note"][0]["text"]  # a note only
    assert by_code["29463-7"]["valueQuantity"]["code"] == "kg"
    assert by_code["8302-2"]["category"][0]["coding"][0]["code"] == "vital-signs"


def test_export_is_logged_as_an_export(world, api_for, full_record):
    fhir(api_for(world.carol), world.amy)
    log = DataTransfer.objects.get(kind=DataTransfer.Kind.FHIR_EXPORT)
    assert (log.user, log.child, log.finished is not None) == (world.carol, world.amy, True)
    assert log.row_counts["Observation"] == 13 and len(log.sha256) == 64
    event = AccessEvent.objects.get(what="fhir_export")
    assert (event.action, event.child, event.role) == ("export", world.amy, "clinician")
    assert not AccessEvent.objects.filter(what="api_fhir").exists()  # not also a "view"


@pytest.mark.parametrize("who", ["bob", "dan", "rita"])
def test_strangers_get_404(world, api_for, who):
    response = api_for(getattr(world, who)).get(f"/api/children/{world.amy.pk}/fhir/")
    assert response.status_code == 404
    assert not DataTransfer.objects.exists()


def test_signed_out_gets_no_bundle(world, client):
    response = client.get(f"/api/children/{world.amy.pk}/fhir/")
    assert response.status_code in (401, 403)


def test_parent_and_site_administrator_may_export(world, api_for):
    for user in (world.alice, world.sam):
        validate_bundle(fhir(api_for(user), world.amy))


def test_a_clinician_reporter_is_a_practitioner(world, api_for):
    prescribe(world.amy, start=world.amy.today() - timedelta(days=30))
    day = world.amy.today() - timedelta(days=1)
    recording.record(
        GrowthMeasurement, world.amy, world.carol, uuid.uuid4(), day, {"weight_kg": "15"}
    )
    recording.record(DiaryEntry, world.amy, world.carol, uuid.uuid4(), day, {"no_symptoms": True})
    bundle = fhir(api_for(world.carol), world.amy)
    validate_bundle(bundle)
    [practitioner] = resources(bundle, "Practitioner")
    assert practitioner["name"][0]["text"] == "Carol"


def test_demo_children_validate(db, settings, api_for, capsys):
    """Done when: the export of a demo child validates, resource by resource."""
    settings.DEMO_PASSWORD = ""
    call_command("seed_demo", cohort=0)
    capsys.readouterr()
    from diary.models import User

    clinician = User.objects.get(username="demo-clinician")
    children = list(Child.objects.visible_to(clinician))
    assert children
    for child in children:
        counts = validate_bundle(fhir(api_for(clinician), child))
        assert counts["QuestionnaireResponse"] > 0 and counts["Observation"] > 0, counts


def test_an_empty_record_is_a_valid_bundle(world, api_for):
    bundle = fhir(api_for(world.carol), world.amy)
    assert validate_bundle(bundle) == {"Patient": 1, "RelatedPerson": 1, "Questionnaire": 1}


# --- The code tables ------------------------------------------------------------------------


def luhn_ok(number: str) -> bool:
    """LOINC's check digit (the part after the dash) is the mod-10 (Luhn) digit of the rest."""
    digits = [int(d) for d in number.replace("-", "")]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
# Row i permutes a digit in position i: the first permutation applied i times.
VERHOEFF_P = [list(range(10))]
for _ in range(7):
    VERHOEFF_P.append([[1, 5, 7, 6, 2, 8, 3, 0, 9, 4][x] for x in VERHOEFF_P[-1]])


def verhoeff_ok(number: str) -> bool:
    """SNOMED CT identifiers end with a Verhoeff check digit."""
    check = 0
    for position, digit in enumerate(reversed(number)):
        check = VERHOEFF_D[check][VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def test_every_analyte_unit_and_drug_has_codes():
    for analyte in Analyte:
        assert analyte.value in codes.ANALYTE_LOINC, analyte
        canonical, accepted = UNITS[analyte]
        for unit in (canonical, *accepted):
            ucum, name = codes.UNIT_UCUM[unit]
            assert ucum and name, unit
    for drug in [*Drug.values, *Steroid.values]:
        assert codes.DRUG_CODES[drug], drug
        assert any(c.system == codes.RXNORM for c in codes.DRUG_CODES[drug])
    for relationship in Relationship.values:
        assert relationship in codes.RELATIONSHIP_ROLE
    assert set(codes.UCUM_TO_UNIT.values()) <= set(codes.UNIT_UCUM)


def test_codes_are_well_formed_and_named():
    loinc = [c for found in codes.ANALYTE_LOINC.values() for c in found or ()]
    loinc += [codes.BODY_HEIGHT, codes.BODY_WEIGHT, codes.BODY_MASS_INDEX]
    assert len({c.code for c in loinc}) == len(loinc)  # one analyte per code
    for code in loinc:
        assert code.system == codes.LOINC and luhn_ok(code.code) and code.display, code
    for found in codes.DRUG_CODES.values():
        for code in found:
            assert code.display and code.code.isdigit()
            if code.system == codes.SNOMED:
                # a concept id: partition 00, then the Verhoeff digit
                assert code.code[-3:-1] == "00" and verhoeff_ok(code.code), code
                assert code.display.endswith("(substance)")
    for analyte, loinc_codes in codes.ANALYTE_LOINC.items():
        # The code the export writes measures the canonical unit's property.
        if loinc_codes and UNITS[analyte][0] in ("µmol/L", "mmol/L"):
            assert "[Moles/volume]" in loinc_codes[0].display, analyte


def test_growth_and_visit_assessment_codes_cover_every_measure():
    from diary import assessments, growth

    assert set(codes.GROWTH_SDS) == set(codes.GROWTH_CENTILE) == set(growth.MEASURES)
    snomed = [*codes.GROWTH_SDS.values(), *codes.GROWTH_CENTILE.values()]
    assert len({c.code for c in snomed}) == len(snomed)
    for code in snomed:
        assert code.system == codes.SNOMED and code.checked, code
        # A concept id: partition 00, then the Verhoeff digit; an observable entity.
        assert code.code[-3:-1] == "00" and verhoeff_ok(code.code), code
        assert code.display.endswith("(observable entity)"), code
    assert all("z-score" in c.display for c in codes.GROWTH_SDS.values())
    assert all("percentile" in c.display for c in codes.GROWTH_CENTILE.values())
    assert set(codes.ASSESSMENT_CODES) == set(assessments.SERIES)
    own = [code for code, _display in codes.ASSESSMENT_CODES.values()]
    assert len(set(own)) == len(own) and all(d for _c, d in codes.ASSESSMENT_CODES.values())
    for unit in ("SDS", "%", "mm", "kg/m²"):
        assert codes.UNIT_UCUM[unit][0], unit


def test_code_checks_catch_a_typo():
    assert luhn_ok("718-7") and not luhn_ok("718-8") and not luhn_ok("781-7")
    assert verhoeff_ok("116601002") and not verhoeff_ok("116601003")
    # SNOMED CT's own: milligram, amoxicillin (substance), diabetes mellitus.
    assert all(verhoeff_ok(c) for c in ("258684004", "372687004", "73211009"))


def test_every_exported_unit_is_ucum():
    for unit in codes.UNIT_UCUM:
        validate_resource(
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "valueQuantity": export.quantity(1, unit),
            }
        )


# --- Growth SDS, BMI and visit assessments --------------------------------------------------


def by_code(bundle: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for observation in resources(bundle, "Observation"):
        out.setdefault(observation["code"]["coding"][0]["code"], []).append(observation)
    return out


def test_growth_sds_and_bmi_are_observations_of_their_own(world, api_for, full_record):
    row = GrowthMeasurement.objects.get(pk=full_record.growth.pk)
    assert row.height_sds is not None and row.weight_sds is not None and row.bmi_sds is not None
    bundle = fhir(api_for(world.carol), world.amy)
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    found = by_code(bundle)
    [weight], [height] = found["29463-7"], found["8302-2"]
    [bmi] = found["39156-5"]
    assert bmi["valueQuantity"] == {
        "value": float(row.bmi),
        "unit": "kg/m²",
        "system": codes.UCUM,
        "code": "kg/m2",
    }
    assert [r["reference"] for r in bmi["derivedFrom"]] == [urls[weight["id"]], urls[height["id"]]]
    assert bmi["category"][0]["coding"][0]["code"] == "vital-signs"
    for measure, measured, loinc_of_source in (
        ("height", height, "8302-2"),
        ("weight", weight, "29463-7"),
        ("bmi", bmi, "39156-5"),
    ):
        [sds] = found[codes.GROWTH_SDS[measure].code]
        assert sds["code"]["coding"][0] == codes.GROWTH_SDS[measure].coding()
        assert sds["code"]["coding"][1]["system"] == export.growth_system()
        assert sds["valueQuantity"]["value"] == pytest.approx(getattr(row, f"{measure}_sds"))
        assert sds["valueQuantity"]["code"] == "{SDS}"
        assert sds["method"]["coding"][0]["code"] == "uk-who"
        assert "UK-WHO" in sds["method"]["text"]
        assert sds["derivedFrom"] == [{"reference": urls[measured["id"]]}], loinc_of_source
        [centile] = sds["component"]
        assert centile["code"]["coding"][0] == codes.GROWTH_CENTILE[measure].coding()
        assert centile["valueQuantity"]["value"] == pytest.approx(
            getattr(row, f"{measure}_centile")
        )
        assert centile["valueQuantity"]["code"] == "%"
        assert "note" not in sds  # an ordinary value: nothing to confirm


def test_no_sds_without_a_reference_and_no_bmi_without_both(world, api_for):
    """A child of unstated sex has no SDS (the references are by sex); a day with a weight
    alone has no BMI."""
    world.amy.sex = "X"
    world.amy.save()
    prescribe(world.amy, start=world.amy.today() - timedelta(days=30))
    for days, data in ((3, {"weight_kg": "15", "height_cm": "100"}), (1, {"weight_kg": "15.2"})):
        recording.record(
            GrowthMeasurement,
            world.amy,
            world.alice,
            uuid.uuid4(),
            world.amy.today() - timedelta(days=days),
            data,
        )
    bundle = fhir(api_for(world.carol), world.amy)
    validate_bundle(bundle)
    found = by_code(bundle)
    assert len(found["29463-7"]) == 2 and len(found["8302-2"]) == 1
    assert len(found["39156-5"]) == 1  # the BMI of the day with both, computed without a sex
    assert not set(found) & {c.code for c in codes.GROWTH_SDS.values()}


def test_visit_assessments_are_observations(world, api_for, full_record):
    from diary import assessments
    from diary.models import VisitAssessment

    later = VisitAssessment.objects.create(
        child=world.amy,
        date=world.amy.today() - timedelta(days=1),
        ags_items={k: int(i < 5) for i, k in enumerate(assessments.ITEM_KEYS)},
        ags_scale=5,
        parent_global=Decimal("55.5"),
        recorded_by=world.carol,
    )
    bundle = fhir(api_for(world.alice), world.amy)
    validate_bundle(bundle)
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    [practitioner] = resources(bundle, "Practitioner")
    found = by_code(bundle)
    first, second = found["ags-scale"]
    assert first["code"]["coding"][0]["system"] == export.assessment_system()
    assert first["category"][0]["coding"][0]["code"] == "survey"
    assert first["valueInteger"] == 11 and first["interpretation"] == [
        {"text": "attenuated (9-11)"}
    ]
    assert [c["code"]["coding"][0]["code"] for c in first["component"]] == list(
        assessments.ITEM_KEYS
    )
    assert all(
        c["code"]["coding"][0]["system"] == export.ags_item_system() for c in first["component"]
    )
    assert [c["valueInteger"] for c in first["component"]] == [1] * 11
    assert first["performer"] == [{"reference": urls[practitioner["id"]], "display": "Carol"}]
    assert any("AssessmentF at the visit" in n["text"] for n in first["note"])
    assert any("not confirmed" in n["text"] for n in first["note"])
    # The later visit: 5 items achieved, their sum the value; a parent's global, no physician's.
    assert second["valueInteger"] == 5 == sum(c["valueInteger"] for c in second["component"])
    assert second["interpretation"] == [{"text": "moderate (4-8)"}]
    assert second["effectiveDateTime"] == later.date.isoformat()
    [physician] = found["physician-global"]
    assert physician["valueQuantity"] == {
        "value": 12,
        "unit": "mm",
        "system": codes.UCUM,
        "code": "mm",
    }
    assert physician["effectiveDateTime"] == full_record.assessment.date.isoformat()
    [parent] = found["parent-global"]
    assert parent["valueQuantity"]["value"] == 55.5 and "performer" not in parent
    assert "100 = worst" in parent["note"][0]["text"]


def test_a_stranger_gets_no_visit_or_growth_observation(world, api_for, full_record):
    for who in (world.bob, world.dan, world.rita):
        response = api_for(who).get(f"/api/children/{world.amy.pk}/fhir/")
        assert response.status_code == 404
        assert b"ags-scale" not in response.content and b"1153604005" not in response.content


def test_an_extreme_confirmed_sds_says_so_and_an_unknown_reference_is_named(
    world, api_for, full_record
):
    GrowthMeasurement.objects.filter(pk=full_record.growth.pk).update(
        height_sds=-9.1, sds_confirmed=True, growth_reference="uk90-old"
    )
    bundle = fhir(api_for(world.carol), world.amy)
    validate_bundle(bundle)
    [height] = by_code(bundle)[codes.GROWTH_SDS["height"].code]
    assert height["valueQuantity"]["value"] == -9.1
    assert height["note"] == [{"text": "Beyond ±8 SDS: confirmed as measured."}]
    assert height["method"]["coding"][0]["code"] == "uk90-old"
    [weight] = by_code(bundle)[codes.GROWTH_SDS["weight"].code]
    assert "note" not in weight  # its own SDS is ordinary
