"""FHIR R4 import of hospital lab results: LOINC and UCUM mapped to the app's analytes and
canonical units, flags as for a hand-entered result, all or nothing, idempotent, only the
child's clinicians; bad input is a 400 with what was wrong, never a 500."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from diary.models import AccessEvent, DataTransfer, GrowthMeasurement
from outcomes.fhir import export
from outcomes.fhir.labs_import import MAX_ENTRIES
from outcomes.labs import record_lab
from outcomes.models import LabFlag, LabResult, Reminder, ReminderKind
from tests.conftest import make_child, prescribe

UCUM = "http://unitsofmeasure.org"


def observation(loinc, value, ucum, day, ident=None, **extra) -> dict:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": str(day),
        "valueQuantity": {"value": value, "unit": ucum, "system": UCUM, "code": ucum},
    }
    if ident:
        obs["identifier"] = [{"system": "https://lab.example.org/results", "value": ident}]
    obs.update(extra)
    return obs


def bundle(*observations, patient=None) -> dict:
    entries = [{"resource": o} for o in observations]
    if patient:
        entries.insert(
            0, {"fullUrl": "urn:uuid:9b1e6c1e-1111-4e4e-8e8e-000000000001", "resource": patient}
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def post(api, child, body, content_type="application/fhir+json"):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return api.post(f"/api/children/{child.pk}/fhir/labs/", data=data, content_type=content_type)


@pytest.fixture
def amy(world):
    """Amy on baricitinib for two months, with a height (for the eGFR) and a site reference."""
    amy = world.amy
    amy.reference = "N-042"
    amy.save()
    prescribe(amy, start=amy.today() - timedelta(days=60))
    GrowthMeasurement.objects.create(
        child=amy, date=amy.today() - timedelta(days=20), height_cm=Decimal("110")
    )
    return amy


def panel(day) -> dict:
    """A hospital panel in the units hospitals send: g/L, 10³/µL, mg/dL, with a ULN."""
    return bundle(
        observation("718-7", 112, "g/L", day, "HB1"),
        observation("751-8", 0.8, "10*3/uL", day, "NEUT1"),
        observation("2160-0", 0.5, "mg/dL", day, "CREA1"),
        observation(
            "1742-6",
            250,
            "U/L",
            day,
            "ALT1",
            referenceRange=[{"high": {"value": 40, "unit": "U/L", "system": UCUM, "code": "U/L"}}],
        ),
    )


def test_panel_stored_in_canonical_units_with_flags_and_alert(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    response = post(api_for(world.carol), amy, panel(day))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["created"], body["unchanged"]) == (4, 0)
    stored = {r.analyte: r for r in LabResult.objects.filter(child=amy)}
    assert stored["hb"].value == Decimal("11.200") and stored["hb"].unit == "g/dL"
    assert (stored["hb"].entered_value, stored["hb"].entered_unit) == (Decimal("112"), "g/L")
    assert stored["neutrophils"].value == Decimal("0.800")
    assert stored["creatinine"].value == Decimal("44.200")  # 0.5 × 88.4 µmol/L
    assert stored["creatinine"].egfr == Decimal("89.6")  # 36 × 110 cm / 44.2 µmol/L
    assert stored["alt"].uln == Decimal("40.000")
    codes = set(LabFlag.objects.filter(child=amy).values_list("code", flat=True))
    assert codes == {"bari-low-neutrophils", "bari-high-alt"}
    assert {f["code"] for f in body["flags"]} == codes
    # The clinicians' immediate alert, as for a result typed into the form.
    assert Reminder.objects.filter(child=amy, kind=ReminderKind.THRESHOLD).exists()
    # History: who and when.
    history = stored["hb"].history.get()
    assert history.history_user == world.carol and history.history_type == "+"
    assert all(r.entered_by == world.carol and not r.caregiver_entered for r in stored.values())
    log = DataTransfer.objects.get(kind=DataTransfer.Kind.IMPORT, child=amy)
    assert log.row_counts == {"created": {"labs": 4}, "unchanged": {"labs": 0}}
    assert AccessEvent.objects.get(what="fhir_labs_import").action == "import"


def test_same_flags_as_the_form(world, api_for, amy, ben_north):
    """The import and the hand-entered result judge alike (same function, same flags)."""
    day = amy.today() - timedelta(days=2)
    post(api_for(world.carol), amy, bundle(observation("751-8", 0.8, "10*9/L", day)))
    prescribe(ben_north, start=amy.today() - timedelta(days=60))
    by_hand = record_lab(ben_north, world.carol, "neutrophils", day, "0.8", "×10⁹/L")
    imported = LabResult.objects.get(child=amy)
    assert imported.value == by_hand.value
    assert list(imported.flags.values_list("code", "severity", "message", "source")) == list(
        by_hand.flags.values_list("code", "severity", "message", "source")
    )


@pytest.fixture
def ben_north(world):
    return make_child(world.north, "Cleo", reference="N-077")


def test_importing_the_same_bundle_twice_stores_it_once(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    api = api_for(world.carol)
    assert post(api, amy, panel(day)).status_code == 201
    again = post(api, amy, panel(day))
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 4)
    assert LabResult.objects.filter(child=amy).count() == 4
    assert LabFlag.objects.filter(child=amy).count() == 2


def test_without_identifier_code_time_and_value_are_the_key(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    api = api_for(world.carol)
    one = bundle(observation("718-7", 11.5, "g/dL", day), observation("718-7", 11.5, "g/dL", day))
    assert post(api, amy, one).json()["created"] == 1  # a duplicate entry: stored once
    assert post(api, amy, one).json()["unchanged"] == 1
    other_value = bundle(observation("718-7", 11.6, "g/dL", day))
    assert post(api, amy, other_value).json()["created"] == 1
    assert LabResult.objects.filter(child=amy).count() == 2


def test_one_identifier_two_values_is_refused(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    body = bundle(
        observation("718-7", 11.5, "g/dL", day, "X1"), observation("718-7", 9, "g/dL", day, "X1")
    )
    response = post(api_for(world.carol), amy, body)
    assert response.status_code == 400
    assert response.json()["problems"] == [
        {"index": 1, "reason": "Same identifier as entry 0, with another result."}
    ]
    assert not LabResult.objects.exists()


def test_every_problem_listed_and_nothing_stored(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    future = amy.today() + timedelta(days=3)
    no_value = observation("718-7", 1, "g/dL", day)
    del no_value["valueQuantity"]
    no_time = observation("718-7", 11, "g/dL", day)
    del no_time["effectiveDateTime"]
    someone_else = observation(
        "718-7", 11, "g/dL", day, subject={"identifier": {"system": "urn:mrn", "value": "N-999"}}
    )
    body = bundle(
        observation("718-7", 11.5, "g/dL", day, "GOOD"),  # 0: fine
        observation("99999-9", 1, "g/dL", day),  # 1: unknown code
        observation("718-7", 11, "mmol/L", day),  # 2: wrong unit for Hb
        observation("718-7", 11, "g/dL", future),  # 3: future
        observation("718-7", 250, "g/dL", day),  # 4: impossible
        no_value,  # 5
        no_time,  # 6
        someone_else,  # 7
        observation("1742-6", 50, "U/L", day),  # 8: ALT without its ULN
        observation("718-7", 11, "g/dL", day, status="preliminary"),  # 9
    )
    response = post(api_for(world.carol), amy, body)
    assert response.status_code == 400
    problems = {p["index"]: p["reason"] for p in response.json()["problems"]}
    assert sorted(problems) == list(range(1, 10))
    assert "99999-9" in problems[1]
    assert "mmol/L" in problems[2]
    assert "future" in problems[3]
    assert "not a possible value" in problems[4]
    assert "no value" in problems[5]
    assert "no sample time" in problems[6]
    assert "another patient" in problems[7]
    assert "upper limit of normal" in problems[8] and "§6.7" in problems[8]
    assert "final" in problems[9]
    assert not LabResult.objects.exists() and not LabFlag.objects.exists()
    assert not DataTransfer.objects.exists()


def test_subject_checked_through_the_bundles_patient(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.3.4", "value": "N-042"}],
    }
    ours = observation(
        "718-7",
        11,
        "g/dL",
        day,
        subject={"reference": "urn:uuid:9b1e6c1e-1111-4e4e-8e8e-000000000001"},
    )
    response = post(api_for(world.carol), amy, bundle(ours, patient=patient))
    assert response.status_code == 201 and response.json()["created"] == 1
    patient["identifier"][0]["value"] = "N-043"
    ours["valueQuantity"]["value"] = 12
    response = post(api_for(world.carol), amy, bundle(ours, patient=patient))
    assert response.status_code == 400
    assert response.json()["problems"][0]["index"] == 1  # the Patient is entry 0


def test_wrong_child_same_site(world, api_for, amy, ben_north):
    """A Bundle about Amy posted to Cleo's URL is refused: her identifier is not Cleo's."""
    day = amy.today() - timedelta(days=2)
    obs = observation(
        "718-7", 11, "g/dL", day, subject={"identifier": {"system": "urn:mrn", "value": "N-042"}}
    )
    response = post(api_for(world.carol), ben_north, bundle(obs))
    assert response.status_code == 400 and "another patient" in response.text
    assert not LabResult.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"), [("alice", 403), ("bob", 404), ("dan", 404), ("rita", 404)]
)
def test_only_the_childs_clinicians(world, api_for, amy, who, status):
    day = amy.today() - timedelta(days=2)
    response = post(api_for(getattr(world, who)), amy, panel(day))
    assert response.status_code == status
    assert not LabResult.objects.exists()


def test_site_administrator_may_import(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    assert post(api_for(world.sam), amy, panel(day)).status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"not json at all", "application/fhir+json", "could not be read"),
        (b"[1, 2, 3]", "application/json", "resourceType"),
        (b'{"foo": 1}', "application/json", "resourceType"),
        (b'{"resourceType": "Patient", "id": "x"}', "application/json", "Patient cannot"),
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": []}',
            "application/json",
            "no Observation",
        ),
        (b'{"resourceType": "Bundle", "entry": {"a": 1}}', "application/json", "must be a list"),
        (
            json.dumps(
                {
                    "resourceType": "Observation",
                    "meta": {
                        "profile": ["http://hl7.org/fhir/3.0/StructureDefinition/Observation"]
                    },
                }
            ).encode(),
            "application/json",
            "STU3",
        ),
        (b'{"resourceType": "Observation"}', "application/fhir+json; fhirVersion=3.0", "FHIR 3.0"),
        (b"[" * 100 + b"]" * 100, "application/json", "nested too deeply"),
        (
            b'{"resourceType": "Observation", "status": "final", "code": {"text": "Hb"}, '
            b'"valueQuantity": {"value": NaN}}',
            "application/json",
            "could not be read",
        ),
    ],
)
def test_bad_input_is_a_400(world, api_for, amy, body, content_type, expected):
    response = post(api_for(world.carol), amy, body, content_type)
    assert response.status_code == 400, response.content[:300]
    assert expected in response.text
    assert not LabResult.objects.exists()


def test_stu3_observation_is_named_as_such(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    stu3 = observation("718-7", 11, "g/dL", day, context={"reference": "Encounter/1"})
    response = post(api_for(world.carol), amy, bundle(stu3))
    assert response.status_code == 400
    assert "STU3" in response.json()["problems"][0]["reason"]


def test_not_an_observation_is_listed(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    body = bundle(
        observation("718-7", 11, "g/dL", day),
        {"resourceType": "MedicationRequest", "status": "active"},
        {"resourceType": "Observation", "status": "final"},  # no code: not valid FHIR
    )
    response = post(api_for(world.carol), amy, body)
    problems = {p["index"]: p["reason"] for p in response.json()["problems"]}
    assert "only Observations" in problems[1] and "code" in problems[2]


def test_a_bundle_over_the_limit_is_refused(world, api_for, amy):
    day = amy.today() - timedelta(days=2)
    entry = {"resource": {"resourceType": "Observation"}}
    huge = {"resourceType": "Bundle", "type": "collection", "entry": [entry] * 10_000}
    response = post(api_for(world.carol), amy, huge)
    assert response.status_code == 400
    assert f"at most {MAX_ENTRIES}" in response.json()["detail"]
    at_limit = bundle(*[observation("718-7", 11, "g/dL", day)] * MAX_ENTRIES)
    assert post(api_for(world.carol), amy, at_limit).status_code == 201


def test_a_body_over_the_size_limit_is_refused(world, api_for, amy, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    day = amy.today() - timedelta(days=2)
    big = bundle(*[observation("718-7", 11, "g/dL", day, f"id-{n}") for n in range(100)])
    response = post(api_for(world.carol), amy, big)
    assert response.status_code == 400 and "too large" in response.text
    assert not LabResult.objects.exists()


def test_problems_in_the_users_language(world, client_for, amy):
    world.carol.language = "fr"
    world.carol.save()
    day = amy.today() - timedelta(days=2)
    response = post(
        client_for(world.carol),
        amy,
        bundle(observation("99999-9", 1, "g/dL", day)),
        content_type="application/fhir+json",
    )
    body = response.json()
    assert "Rien n’a été enregistré" in body["detail"]
    assert "Code d’examen inconnu" in body["problems"][0]["reason"]


def test_round_trip_into_another_child_of_the_site(world, api_for, amy, ben_north):
    """Exporting a child and importing its lab Observations into another child of the same
    site gives the same canonical values and flags."""
    day = amy.today() - timedelta(days=3)
    later = amy.today() - timedelta(days=1)
    record_lab(amy, world.carol, "hb", day, "71", "g/L")
    record_lab(amy, world.carol, "neutrophils", later, "400", "cells/µL")
    record_lab(amy, world.carol, "alt", day, "130", "U/L", uln="40")
    record_lab(amy, world.carol, "bilirubin", day, "3", "mg/dL", uln="1.2")
    record_lab(amy, world.carol, "bk_plasma", day, "20000", "copies/mL")
    record_lab(amy, world.carol, "creatinine", day, "40", "µmol/L")
    prescribe(ben_north, start=amy.today() - timedelta(days=60))
    GrowthMeasurement.objects.create(
        child=ben_north, date=amy.today() - timedelta(days=20), height_cm=Decimal("110")
    )
    exported = json.loads(api_for(world.carol).get(f"/api/children/{amy.pk}/fhir/").content)
    labs = [
        e["resource"]
        for e in exported["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["category"][0]["coding"][0]["code"] == "laboratory"
        and e["resource"]["code"]["coding"][0]["code"] != "egfr"
    ]
    for obs in labs:
        obs["subject"] = {"identifier": {"system": "urn:mrn", "value": ben_north.reference}}
        obs.pop("interpretation", None)
        obs.pop("note", None)
    response = post(api_for(world.carol), ben_north, bundle(*labs))
    assert response.status_code == 201, response.json()

    def summary(child):
        rows = LabResult.objects.filter(child=child).order_by("sample_date", "analyte")
        return [
            (
                r.analyte,
                r.sample_date,
                r.value,
                r.unit,
                r.uln,
                r.egfr,
                sorted(r.flags.values_list("code", flat=True)),
            )
            for r in rows
        ]

    assert summary(ben_north) == summary(amy)
    assert sorted(LabFlag.objects.filter(child=ben_north).values_list("code", flat=True)) == sorted(
        LabFlag.objects.filter(child=amy, result__isnull=False).values_list("code", flat=True)
    )


def test_the_schema_documents_both_endpoints(world, client_for):
    import yaml

    schema = yaml.safe_load(client_for(world.carol).get("/api/schema/").content)
    export_op = schema["paths"]["/api/children/{id}/fhir/"]["get"]
    assert "application/fhir+json" in export_op["responses"]["200"]["content"]
    import_op = schema["paths"]["/api/children/{id}/fhir/labs/"]["post"]
    assert "application/fhir+json" in import_op["requestBody"]["content"]
    assert {"200", "201", "400", "403", "404"} <= set(import_op["responses"])


def test_own_analyte_codes_import(world, api_for, amy):
    """Analytes without a LOINC code travel under the app's own code system."""
    day = amy.today() - timedelta(days=2)
    obs = observation("x", 5000, "{copies}/mL", day)
    obs["code"] = {"coding": [{"system": export.analyte_system(), "code": "bk_plasma"}]}
    response = post(api_for(world.carol), amy, bundle(obs))
    assert response.status_code == 201, response.json()
    result = LabResult.objects.get(child=amy)
    assert (result.analyte, result.value) == ("bk_plasma", Decimal("3.699"))
    assert LabFlag.objects.get(result=result).code == "bk-3"


@pytest.mark.parametrize("value", [1e30, -3, 1e308, 0.0000001])
def test_odd_numbers_are_problems_not_errors(world, api_for, amy, value):
    day = amy.today() - timedelta(days=2)
    response = post(api_for(world.carol), amy, bundle(observation("718-7", value, "g/dL", day)))
    assert response.status_code == 400, response.content[:300]
    assert response.json()["problems"][0]["index"] == 0
    assert not LabResult.objects.exists()


def test_a_huge_number_typed_into_the_labs_form_is_refused(world, amy):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="not a possible value"):
        record_lab(amy, world.carol, "hb", amy.today(), "1e30", "g/dL")
