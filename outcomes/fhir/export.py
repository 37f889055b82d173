"""A child's whole record as one FHIR R4 Bundle (type `collection`): the identifiable copy, as
the family download is. Plain dicts in, plain JSON out; the tests validate every resource with
fhir.resources.

What each record becomes (docs/fhir.md):
  child → Patient; caregiver → RelatedPerson; clinician who recorded → Practitioner;
  instrument version → Questionnaire; diary day → QuestionnaireResponse;
  prescription and steroid prescription → MedicationRequest;
  dose slot and steroid dose → MedicationAdministration;
  lab result (and its eGFR), weight, height, BMI, growth SDS → Observation;
  visit assessment → an Observation per measure recorded (AGS Scale with its items as
  components, physician's and parent's global assessments).
"""

import uuid
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation
from django.utils.text import capfirst

from diary import assessments, growth, instruments
from diary.models import (
    CareLink,
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
    SteroidPrescription,
    User,
    VisitAssessment,
)
from outcomes.fhir import codes
from outcomes.models import Analyte, LabFlag, LabResult

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"
DECISION = "Decision support: the treating team decides."
# Stable ids: the same record gets the same urn:uuid in every export.
NAMESPACE = uuid.UUID("6f1c1a52-8b0e-4d55-9a55-4a3c1c8f0e21")


def base_url() -> str:
    return f"{settings.SITE_URL}/fhir"


def questionnaire_url(key: str) -> str:
    return f"{base_url()}/Questionnaire/{key}"


def analyte_system() -> str:
    """The app's own code system of analytes (for those without a LOINC code, and beside it)."""
    return f"{base_url()}/CodeSystem/analyte"


def growth_system() -> str:
    """The app's own codes of growth SDS and centiles (beside SNOMED CT's) and references."""
    return f"{base_url()}/CodeSystem/growth"


def assessment_system() -> str:
    return f"{base_url()}/CodeSystem/visit-assessment"


def ags_item_system() -> str:
    return f"{base_url()}/CodeSystem/ags-scale-item"


def child_identifier_system(site_code: str) -> str:
    return f"{base_url()}/sites/{site_code}/child-reference"


def urn(kind: str, key) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{settings.SITE_URL}|{kind}|{key}')}"


def number(value):
    """A Decimal as a JSON number, as written (12.300 → 12.3, 4.000 → 4)."""
    if value is None:
        return None
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def quantity(value, unit: str) -> dict:
    code, _name = codes.unit_ucum(unit)
    return {"value": number(value), "unit": unit, "system": codes.UCUM, "code": code}


def translated(english: str, french: str) -> dict:
    """The `_element` of a string with its French translation (FHIR's translation extension)."""
    return {
        "extension": [
            {
                "url": codes.TRANSLATION,
                "extension": [
                    {"url": "lang", "valueCode": "fr"},
                    {"url": "content", "valueString": french},
                ],
            }
        ]
    }


def in_both(text) -> tuple[str, str]:
    with translation.override("en"):
        english = str(text)
    with translation.override("fr"):
        french = str(text)
    return english, french


def text_with_french(element: dict, name: str, text) -> None:
    english, french = in_both(text)
    element[name] = english
    element[f"_{name}"] = translated(english, french)


def drug_concept(drug: str, label: str) -> dict:
    return {"coding": [c.coding() for c in codes.DRUG_CODES[drug]], "text": label}


def identifier(kind: str, value) -> dict:
    return {"system": f"{base_url()}/{kind}", "value": str(value)}


class _Bundle:
    def __init__(self):
        self.entries: list[dict] = []
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, full_url: str, resource: dict) -> str:
        resource.setdefault("id", full_url.rsplit(":", 1)[1])
        self.entries.append({"fullUrl": full_url, "resource": resource})
        self.counts[resource["resourceType"]] += 1
        return full_url


def ref(full_url: str, display: str = "") -> dict:
    out = {"reference": full_url}
    if display:
        out["display"] = display
    return out


# --- People ---------------------------------------------------------------------------------


def patient(child: Child) -> dict:
    resource = {
        "resourceType": "Patient",
        "identifier": [],
        "active": True,
        "name": [{"family": child.last_name, "given": [child.first_name]}],
        "gender": codes.SEX_GENDER[child.sex],
        "birthDate": child.date_of_birth.isoformat(),
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": child.language}]}}
        ],
    }
    if child.reference:
        resource["identifier"].append(
            {
                "use": "usual",
                "type": {"text": "Site reference"},
                "system": child_identifier_system(child.site.code),
                "value": child.reference,
                "assigner": {"display": child.site.name},
            }
        )
    resource["identifier"].append(identifier("children", child.pk))
    if child.country:
        resource["address"] = [{"country": str(child.country)}]
    return resource


def related_person(link: CareLink, patient_url: str) -> dict:
    user = link.caregiver
    role = codes.RELATIONSHIP_ROLE.get(link.relationship)
    relationship = {"text": str(link.get_relationship_display())}
    if role:
        relationship["coding"] = [role.coding()]
    return {
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": ref(patient_url),
        "relationship": [relationship],
        "name": [_name(user)],
    }


def practitioner(user: User) -> dict:
    return {"resourceType": "Practitioner", "active": True, "name": [_name(user)]}


def _name(user: User) -> dict:
    if user.first_name or user.last_name:
        name = {"text": user.display_name}
        if user.last_name:
            name["family"] = user.last_name
        if user.first_name:
            name["given"] = [user.first_name]
        return name
    return {"text": user.username}


# --- Diary ----------------------------------------------------------------------------------

# Items every diary day may carry besides the instrument's own: (linkId, type), worded as
# the diary's fields are.
DAY_ITEMS = (
    ("date", "date"),
    ("no_symptoms", "boolean"),
    ("max_temperature", "decimal"),
    ("illness", "boolean"),
    ("seizure_count", "integer"),
    ("seizure_longest_min", "decimal"),
    ("seizure_rescue", "boolean"),
    ("note", "text"),
)


def _field_label(name: str):
    return capfirst(DiaryEntry._meta.get_field(name).verbose_name)


def answer_system(instrument: instruments.Instrument, item: instruments.Item) -> str:
    return f"{questionnaire_url(instrument.key)}/{instrument.version}/{item.key}"


def questionnaire(instrument: instruments.Instrument) -> dict:
    """The instrument version with every item's wording of every score, in English with the
    French translation."""
    resource = {
        "resourceType": "Questionnaire",
        "url": questionnaire_url(instrument.key),
        "version": str(instrument.version),
        "name": "".join(part.title() for part in instrument.key.replace("-", " ").split()),
        "status": "active",
        "language": "en",
        "subjectType": ["Patient"],
        "description": (
            f"Scored by {instrument.rule} of the items; a day with fewer than "
            f"{round(instrument.min_answered * 100)}% of the items answered has no score."
        ),
        "item": [],
    }
    text_with_french(resource, "title", instrument.name)
    for link_id, kind in DAY_ITEMS[:2]:
        resource["item"].append(_plain_item(link_id, kind, _field_label(link_id)))
    for item in instrument.items:
        element = {"linkId": item.key, "type": "choice", "required": False, "answerOption": []}
        text_with_french(element, "text", item.label)
        for score, wording in enumerate(item.choices):
            coding = {"system": answer_system(instrument, item), "code": str(score)}
            text_with_french(coding, "display", wording)
            element["answerOption"].append({"valueCoding": coding})
        resource["item"].append(element)
    for link_id, kind in DAY_ITEMS[2:]:
        resource["item"].append(_plain_item(link_id, kind, _field_label(link_id)))
    score = _plain_item("score", "decimal", _field_label("score"))
    score["readOnly"] = True
    resource["item"].append(score)
    for group, label in instrument.subscore_labels.items():
        sub = _plain_item(f"subscore_{group}", "decimal", label)
        sub["readOnly"] = True
        resource["item"].append(sub)
    return resource


def _plain_item(link_id: str, kind: str, label) -> dict:
    element = {"linkId": link_id, "type": kind, "required": link_id == "date"}
    text_with_french(element, "text", label)
    return element


def questionnaire_response(
    entry: DiaryEntry, instrument: instruments.Instrument, patient_url: str, author: dict | None
) -> dict:
    with translation.override("en"):
        items = [{"linkId": "date", "answer": [{"valueDate": entry.date.isoformat()}]}]
        if entry.no_symptoms:
            items.append({"linkId": "no_symptoms", "answer": [{"valueBoolean": True}]})
        for item in instrument.items:
            value = entry.scores.get(item.key)
            if value is None or not 0 <= value <= item.max:
                continue
            coding = {
                "system": answer_system(instrument, item),
                "code": str(value),
                "display": str(item.choices[value]),
            }
            items.append({"linkId": item.key, "answer": [{"valueCoding": coding}]})
        extra = {
            "max_temperature": ("valueDecimal", number(entry.max_temperature)),
            "illness": ("valueBoolean", entry.illness or None),
            "seizure_count": ("valueInteger", entry.seizure_count),
            "seizure_longest_min": ("valueDecimal", number(entry.seizure_longest_min)),
            "seizure_rescue": ("valueBoolean", entry.seizure_rescue),
            "note": ("valueString", entry.note or None),
            "score": ("valueDecimal", entry.score),
        }
        for group in instrument.subscore_labels:
            extra[f"subscore_{group}"] = ("valueDecimal", (entry.subscores or {}).get(group))
        for link_id, (kind, value) in extra.items():
            if value is not None:
                items.append({"linkId": link_id, "answer": [{kind: value}]})
    resource = {
        "resourceType": "QuestionnaireResponse",
        "identifier": identifier("diary-entries", entry.pk),
        "questionnaire": f"{questionnaire_url(instrument.key)}|{instrument.version}",
        "status": "completed",
        "subject": ref(patient_url),
        "authored": _instant(entry.updated),
        "item": items,
    }
    if author:
        resource["author"] = author
    return resource


def _instant(moment) -> str:
    return timezone.localtime(moment, timezone.get_fixed_timezone(0)).isoformat(timespec="seconds")


# --- Treatment ------------------------------------------------------------------------------


def _validity(start, following) -> dict:
    period = {"start": start.isoformat()}
    if following is not None:
        period["end"] = (following - timedelta(days=1)).isoformat()
    return period


def medication_request(rx: Prescription, following, today, patient_url: str) -> dict:
    """A JAK-inhibitor prescription from its start until the next one: a dose per slot."""
    label = str(rx.get_drug_display())
    stopped = rx.total_mg <= 0
    dosage = []
    for n, (slot, mg) in enumerate(rx.slots, 1):
        dosage.append(
            {
                "sequence": n,
                "text": f"{number(mg)} mg {slot}",
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "d",
                        "when": [codes.SLOT_WHEN[slot]],
                    }
                },
                "doseAndRate": [{"doseQuantity": quantity(mg, "mg")}],
            }
        )
    notes = [f"Reason: {rx.get_reason_display()}"]
    if rx.override_reason:
        notes.append(f"Reason for going beyond the guideline: {rx.override_reason}")
    if rx.tertiary_discussed_on:
        notes.append(
            f"Discussed with the tertiary team ({rx.tertiary_discussed_with}) on "
            f"{rx.tertiary_discussed_on.isoformat()}"
        )
    if rx.note:
        notes.append(rx.note)
    resource = {
        "resourceType": "MedicationRequest",
        "identifier": [identifier("prescriptions", rx.pk)],
        "status": _status(rx.start_date, following, today),
        "intent": "order",
        "medicationCodeableConcept": drug_concept(rx.drug, label),
        "subject": ref(patient_url),
        "authoredOn": rx.start_date.isoformat(),
        "reasonCode": [{"text": str(rx.get_indication_display())}],
        "note": [{"text": n} for n in notes],
        "dispenseRequest": {"validityPeriod": _validity(rx.start_date, following)},
    }
    if stopped:
        resource["doNotPerform"] = True  # an interruption or a stop: every slot 0 mg
    else:
        resource["dosageInstruction"] = dosage
    if rx.created_by_id:
        resource["requester"] = {"display": rx.created_by.display_name}
    return resource


def steroid_request(rx: SteroidPrescription, following, today, patient_url: str) -> dict:
    label = str(rx.get_drug_display())
    resource = {
        "resourceType": "MedicationRequest",
        "identifier": [identifier("steroid-prescriptions", rx.pk)],
        "status": _status(rx.start_date, following, today),
        "intent": "order",
        "medicationCodeableConcept": drug_concept(rx.drug, label),
        "subject": ref(patient_url),
        "authoredOn": rx.start_date.isoformat(),
        "dispenseRequest": {"validityPeriod": _validity(rx.start_date, following)},
    }
    if rx.mg_per_day > 0:
        resource["dosageInstruction"] = [
            {
                "text": f"{number(rx.mg_per_day)} mg per day",
                "timing": {"repeat": {"period": 1, "periodUnit": "d"}},
                "maxDosePerPeriod": {
                    "numerator": quantity(rx.mg_per_day, "mg"),
                    "denominator": {
                        "value": 1,
                        "unit": "day",
                        "system": codes.UCUM,
                        "code": "d",
                    },
                },
            }
        ]
    else:
        resource["doNotPerform"] = True
    if rx.note:
        resource["note"] = [{"text": rx.note}]
    return resource


def _status(start, following, today) -> str:
    if following is not None and following <= today:
        return "completed"
    return "active"


def administration(
    dose: DoseAdministration, request_url: str | None, patient_url: str, performer: dict | None
) -> dict:
    label = str(dose.get_drug_display())
    resource = {
        "resourceType": "MedicationAdministration",
        "identifier": [identifier("doses", dose.pk)],
        "status": "not-done" if dose.status == "missed" else "completed",
        "medicationCodeableConcept": drug_concept(dose.drug, label),
        "subject": ref(patient_url),
        "effectiveDateTime": dose.date.isoformat(),
        "dosage": {"text": str(dose.slot), "dose": quantity(dose.given_mg, "mg")},
    }
    if dose.status == "missed":
        resource["statusReason"] = [{"text": "Missed"}]
        resource["dosage"]["dose"] = quantity(dose.prescribed_mg or 0, "mg")
    elif dose.status == "different":
        resource["note"] = [
            {
                "text": f"A different amount: {number(dose.given_mg)} mg given, "
                f"{number(dose.prescribed_mg)} mg prescribed"
            }
        ]
    if request_url:
        resource["request"] = ref(request_url)
    if performer:
        resource["performer"] = [{"actor": performer}]
    return resource


def steroid_administration(
    dose: SteroidDose, request_url: str | None, patient_url: str, performer: dict | None
) -> dict:
    resource = {
        "resourceType": "MedicationAdministration",
        "identifier": [identifier("steroid-doses", dose.pk)],
        "status": "completed",
        "medicationCodeableConcept": drug_concept(dose.drug, str(dose.get_drug_display())),
        "subject": ref(patient_url),
        "effectiveDateTime": dose.date.isoformat(),
        "dosage": {"dose": quantity(dose.mg, "mg")},
    }
    if request_url:
        resource["request"] = ref(request_url)
    if performer:
        resource["performer"] = [{"actor": performer}]
    return resource


# --- Observations ---------------------------------------------------------------------------


def analyte_code(analyte: str) -> dict:
    own = {"system": analyte_system(), "code": analyte, "display": str(Analyte(analyte).label)}
    loinc = codes.ANALYTE_LOINC[analyte]
    coding = [loinc[0].coding()] if loinc else []
    return {"coding": [*coding, own], "text": str(Analyte(analyte).label)}


def _interpretation(flag: LabFlag) -> str:
    """v3 ObservationInterpretation: above (H) or below (L) the guideline's limit."""
    return "H" if "high" in flag.code or flag.code.startswith("bk-") else "L"


INTERPRETATION_DISPLAY = {"H": "High", "L": "Low"}


def _flagged(resource: dict, flags: list[LabFlag]) -> None:
    for flag in flags:
        note = f"{flag.message} ({flag.source}). {DECISION}"
        resource.setdefault("note", []).append({"text": note})
        if flag.severity == "info":
            continue
        code = _interpretation(flag)
        resource.setdefault("interpretation", []).append(
            {
                "coding": [
                    {
                        "system": codes.INTERPRETATION,
                        "code": code,
                        "display": INTERPRETATION_DISPLAY[code],
                    }
                ],
                "text": f"{flag.get_severity_display()}: {flag.message}",
            }
        )


def lab_observation(result: LabResult, patient_url: str, flags: list[LabFlag]) -> dict:
    resource = {
        "resourceType": "Observation",
        "identifier": [identifier("lab-results", result.pk)],
        "status": "final",
        "category": [_category("laboratory", "Laboratory")],
        "code": analyte_code(result.analyte),
        "subject": ref(patient_url),
        "effectiveDateTime": result.sample_date.isoformat(),
        "valueQuantity": quantity(result.value, result.unit),
    }
    if result.uln is not None or result.reference_low is not None:
        limits = {}
        if result.reference_low is not None:
            limits["low"] = quantity(result.reference_low, result.unit)
        if result.uln is not None:
            limits["high"] = quantity(result.uln, result.unit)
        resource["referenceRange"] = [limits]
    if result.assay:
        resource["method"] = {"text": result.assay}
    if result.positivity_threshold is not None:
        resource.setdefault("note", []).append(
            {"text": f"Positivity threshold: {number(result.positivity_threshold)}"}
        )
    if result.caregiver_entered:
        resource.setdefault("note", []).append({"text": "Entered by a caregiver."})
    _flagged(resource, flags)
    return resource


def egfr_observation(
    result: LabResult, creatinine_url: str, patient_url: str, flags: list[LabFlag]
) -> dict:
    resource = {
        "resourceType": "Observation",
        "identifier": [identifier("lab-results", f"{result.pk}-egfr")],
        "status": "final",
        "category": [_category("laboratory", "Laboratory")],
        "code": {
            "coding": [{"system": analyte_system(), "code": "egfr", "display": "eGFR"}],
            "text": "eGFR (SPARN §6.2b: constant × height (cm) / creatinine (µmol/L))",
        },
        "subject": ref(patient_url),
        "effectiveDateTime": result.sample_date.isoformat(),
        "valueQuantity": quantity(result.egfr, "mL/min/1.73m²"),
        "method": {
            "text": f"Constant {number(result.egfr_constant)}, height "
            f"{number(result.egfr_height_cm)} cm"
        },
        "derivedFrom": [ref(creatinine_url)],
    }
    _flagged(resource, flags)
    return resource


def growth_observation(row: GrowthMeasurement, which: str, patient_url: str) -> dict:
    code, value, unit = (
        (codes.BODY_HEIGHT, row.height_cm, "cm")
        if which == "height"
        else (codes.BODY_WEIGHT, row.weight_kg, "kg")
    )
    return {
        "resourceType": "Observation",
        "identifier": [identifier("growth", f"{row.pk}-{which}")],
        "status": "final",
        "category": [_category("vital-signs", "Vital Signs")],
        "code": {"coding": [code.coding()], "text": code.display},
        "subject": ref(patient_url),
        "effectiveDateTime": row.date.isoformat(),
        "valueQuantity": quantity(value, unit),
    }


GROWTH_NAMES = {"height": "Height", "weight": "Weight", "bmi": "BMI"}


def bmi_observation(row: GrowthMeasurement, patient_url: str, derived: list[str]) -> dict:
    """The BMI computed from the day's weight and height (FHIR's vital signs BMI profile)."""
    code = codes.BODY_MASS_INDEX
    return {
        "resourceType": "Observation",
        "identifier": [identifier("growth", f"{row.pk}-bmi")],
        "status": "final",
        "category": [_category("vital-signs", "Vital Signs")],
        "code": {"coding": [code.coding()], "text": code.display},
        "subject": ref(patient_url),
        "effectiveDateTime": row.date.isoformat(),
        "valueQuantity": quantity(row.bmi, "kg/m²"),
        "derivedFrom": [ref(url) for url in derived],
    }


def sds_observation(
    row: GrowthMeasurement, measure: str, patient_url: str, measured_url: str
) -> dict:
    """MEASURE's SDS (Z-score) for age and sex, with its centile as a component, against the
    growth reference stored with it (DOMAIN §6b), derived from the measurement."""
    sds = getattr(row, f"{measure}_sds")
    centile = getattr(row, f"{measure}_centile")
    name = GROWTH_NAMES[measure]
    code = codes.GROWTH_SDS[measure]
    own = {"system": growth_system(), "code": f"{measure}-sds", "display": f"{name} SDS"}
    # A reference the app no longer knows is still named by its code.
    reference = str(
        dict(growth.GrowthReference.choices).get(row.growth_reference, row.growth_reference)
    )
    resource = {
        "resourceType": "Observation",
        "identifier": [identifier("growth", f"{row.pk}-{measure}-sds")],
        "status": "final",
        "category": [_category("vital-signs", "Vital Signs")],
        "code": {"coding": [code.coding(), own], "text": f"{name} SDS (Z-score) for age and sex"},
        "subject": ref(patient_url),
        "effectiveDateTime": row.date.isoformat(),
        "valueQuantity": {
            "value": round(sds, 3),
            "unit": "SDS",
            "system": codes.UCUM,
            "code": codes.unit_ucum("SDS")[0],
        },
        "method": {
            "coding": [
                {"system": growth_system(), "code": row.growth_reference, "display": reference}
            ],
            "text": f"Growth reference {reference} (rcpchgrowth)",
        },
        "derivedFrom": [ref(measured_url)],
    }
    if centile is not None:
        percentile = codes.GROWTH_CENTILE[measure]
        resource["component"] = [
            {
                "code": {
                    "coding": [
                        percentile.coding(),
                        {
                            "system": growth_system(),
                            "code": f"{measure}-centile",
                            "display": f"{name} centile",
                        },
                    ],
                    "text": f"{name} centile for age and sex",
                },
                "valueQuantity": quantity(Decimal(str(centile)), "%"),
            }
        ]
    if row.sds_confirmed and abs(sds) > growth.SDS_LIMITS[measure]:
        resource["note"] = [
            {"text": f"Beyond ±{growth.SDS_LIMITS[measure]:g} SDS: confirmed as measured."}
        ]
    return resource


def assessment_observations(
    visit: VisitAssessment, patient_url: str, performer: dict | None
) -> list[tuple[str, dict]]:
    """(measure, Observation) for each measure recorded at VISIT: the AGS Scale with its 11
    items as components and its severity band, and the global assessments in mm."""
    out = []
    for measure in assessments.SERIES:
        value = getattr(visit, measure)
        if value is None:
            continue
        code, display = codes.ASSESSMENT_CODES[measure]
        resource = {
            "resourceType": "Observation",
            "identifier": [identifier("visit-assessments", f"{visit.pk}-{code}")],
            "status": "final",
            "category": [_category("survey", "Survey")],
            "code": {
                "coding": [{"system": assessment_system(), "code": code, "display": display}],
                "text": display,
            },
            "subject": ref(patient_url),
            "effectiveDateTime": visit.date.isoformat(),
        }
        if measure == "ags_scale":
            resource["valueInteger"] = int(value)
            resource["component"] = [
                {
                    "code": {
                        "coding": [
                            {
                                "system": ags_item_system(),
                                "code": item.key,
                                "display": str(item.label),
                            }
                        ],
                        "text": str(item.label),
                    },
                    "valueInteger": int((visit.ags_items or {}).get(item.key, 0)),
                }
                for item in assessments.AGS_SCALE_ITEMS
            ]
            band = visit.severity_band
            if band:
                low, high = settings.AGS_SCALE_BANDS[band]
                resource["interpretation"] = [{"text": f"{band} ({low}-{high})"}]
            notes = [
                f"{assessments.AGS_SCALE_SOURCE}: {assessments.AGS_SCALE_MAX} milestones, one "
                "point each. Severity bands are configurable defaults, not confirmed."
            ]
        else:
            resource["valueQuantity"] = quantity(value, "mm")
            notes = [
                "100 mm visual-analogue scale, 100 = worst (NIH, Sanchez 2018, Figure 2)."
                + (" The parent's own assessment." if measure == "parent_global" else "")
            ]
        if performer and measure != "parent_global":
            resource["performer"] = [performer]
        if visit.note:
            notes.append(visit.note)
        resource["note"] = [{"text": n} for n in notes]
        out.append((code, resource))
    return out


def _category(code: str, display: str) -> dict:
    return {"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": code, "display": display}]}


# --- The Bundle -----------------------------------------------------------------------------


def _with_next(rows: list) -> list[tuple]:
    """Each row with the one after it (None after the last)."""
    return list(zip(rows, [*rows[1:], None], strict=False))


def bundle(child: Child) -> tuple[dict, dict[str, int]]:
    """The child's record as a FHIR R4 Bundle, and the count of each resource type."""
    with translation.override("en"):
        return _bundle(child)


def _bundle(child: Child) -> tuple[dict, dict[str, int]]:
    out = _Bundle()
    today = child.today()
    patient_url = out.add(urn("child", child.pk), patient(child))

    people: dict[int, dict] = {}
    for link in CareLink.objects.filter(child=child).select_related("caregiver"):
        full_url = out.add(urn("caregiver", link.pk), related_person(link, patient_url))
        people[link.caregiver_id] = ref(full_url, link.caregiver.display_name)

    def person(user_id: int | None) -> dict | None:
        """The reporter: a caregiver as RelatedPerson, anyone else as Practitioner."""
        if user_id is None:
            return None
        if user_id not in people:
            user = User.objects.filter(pk=user_id).first()
            if user is None:
                return None
            full_url = out.add(urn("user", user_id), practitioner(user))
            people[user_id] = ref(full_url, user.display_name)
        return people[user_id]

    # Treatment: each prescription runs until the next one starts.
    rx_urls: dict[int, str] = {}
    prescriptions = list(
        Prescription.objects.filter(child=child).select_related("created_by").order_by("start_date")
    )
    for rx, following in _with_next(prescriptions):
        rx_urls[rx.pk] = out.add(
            urn("prescription", rx.pk),
            medication_request(rx, following and following.start_date, today, patient_url),
        )
    steroid_rx = list(SteroidPrescription.objects.filter(child=child).order_by("start_date"))
    steroid_urls = []
    for rx, following in _with_next(steroid_rx):
        steroid_urls.append(
            (
                rx,
                out.add(
                    urn("steroid-prescription", rx.pk),
                    steroid_request(rx, following and following.start_date, today, patient_url),
                ),
            )
        )

    # Diary: one Questionnaire per instrument version used, one response per day.
    entries = DiaryEntry.objects.filter(child=child).order_by("date")
    versions = set(entries.values_list("instrument_key", "instrument_version").distinct())
    versions.add((child.get_instrument().key, child.get_instrument().version))
    for key, version in sorted(versions):
        instrument = instruments.get(key, version)
        out.add(urn("questionnaire", f"{key}|{version}"), questionnaire(instrument))
    for entry in entries.iterator():
        instrument = instruments.get(entry.instrument_key, entry.instrument_version)
        out.add(
            urn("diary-entry", entry.pk),
            questionnaire_response(entry, instrument, patient_url, person(entry.reported_by_id)),
        )

    for dose in DoseAdministration.objects.filter(child=child).order_by("date", "slot").iterator():
        out.add(
            urn("dose", dose.pk),
            administration(
                dose, rx_urls.get(dose.prescription_id), patient_url, person(dose.reported_by_id)
            ),
        )
    for dose in SteroidDose.objects.filter(child=child).order_by("date", "drug").iterator():
        in_force = [url for rx, url in steroid_urls if rx.start_date <= dose.date]
        out.add(
            urn("steroid-dose", dose.pk),
            steroid_administration(
                dose, in_force[-1] if in_force else None, patient_url, person(dose.reported_by_id)
            ),
        )

    # Observations: growth (the measurements, the BMI and the SDS derived from them), visit
    # assessments, then results with their flags.
    for row in GrowthMeasurement.objects.filter(child=child).order_by("date"):
        measured = {}
        for which in ("weight", "height"):
            if getattr(row, "weight_kg" if which == "weight" else "height_cm") is not None:
                measured[which] = out.add(
                    urn("growth", f"{row.pk}-{which}"), growth_observation(row, which, patient_url)
                )
        if row.bmi is not None and len(measured) == 2:
            measured["bmi"] = out.add(
                urn("growth", f"{row.pk}-bmi"),
                bmi_observation(row, patient_url, [measured["weight"], measured["height"]]),
            )
        for measure in growth.MEASURES:
            if measure in measured and getattr(row, f"{measure}_sds") is not None:
                out.add(
                    urn("growth", f"{row.pk}-{measure}-sds"),
                    sds_observation(row, measure, patient_url, measured[measure]),
                )
    for visit in VisitAssessment.objects.filter(child=child).order_by("date", "pk"):
        for code, resource in assessment_observations(
            visit, patient_url, person(visit.recorded_by_id)
        ):
            out.add(urn("visit-assessment", f"{visit.pk}-{code}"), resource)
    flags: dict[int, list[LabFlag]] = defaultdict(list)
    for flag in LabFlag.objects.filter(child=child, result__isnull=False).order_by("pk"):
        flags[flag.result_id].append(flag)
    for result in LabResult.objects.filter(child=child).order_by("sample_date", "pk"):
        own = flags.get(result.pk, [])
        on_egfr = [f for f in own if f.code.endswith("-egfr")]
        result_url = out.add(
            urn("lab", result.pk),
            lab_observation(result, patient_url, [f for f in own if f not in on_egfr]),
        )
        if result.egfr is not None:
            out.add(
                urn("lab-egfr", result.pk),
                egfr_observation(result, result_url, patient_url, on_egfr),
            )

    now = _instant(timezone.now())
    document = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": now},
        "identifier": identifier("exports", uuid.uuid4()),
        "type": "collection",
        "timestamp": now,
        "entry": out.entries,
    }
    return document, dict(out.counts)
