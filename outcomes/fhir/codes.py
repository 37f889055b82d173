"""The code tables of the FHIR export and import, in one place: analyte → LOINC, unit → UCUM,
drug → RxNorm and SNOMED CT, growth SDS and centiles → SNOMED CT, visit assessments → the app's
own codes. Each entry carries the code system's own display name.

`checked` says where a code and its display were compared with a published source (a
laboratory's test catalogue, a FHIR implementation guide, the code system's own page);
`False` means taken from the code system's usual use and not compared here: a terminology
server should confirm it before the codes are relied on beyond this app (see docs/fhir.md).
Analytes that have no LOINC code here (viral loads by specimen, the interferon score, IP-10)
are still exported and imported under the app's own code system, with their name as text.
"""

from dataclasses import dataclass

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
V3_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str
    checked: bool | str = False  # False, or where the code and display were compared

    def coding(self) -> dict:
        return {"system": self.system, "code": self.code, "display": self.display}


def _loinc(code: str, display: str, checked: bool | str = False) -> Code:
    return Code(LOINC, code, display, checked)


# Analyte → (the code the export writes, codes the import also reads as the same analyte).
# The export writes the code whose property matches the canonical unit (moles for µmol/L and
# mmol/L); the import reads the mass codes too, converting by the unit sent.
ANALYTE_LOINC: dict[str, tuple[Code, ...] | None] = {
    "hb": (_loinc("718-7", "Hemoglobin [Mass/volume] in Blood"),),
    "wcc": (_loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count"),),
    "neutrophils": (_loinc("751-8", "Neutrophils [#/volume] in Blood by Automated count"),),
    "lymphocytes": (_loinc("731-0", "Lymphocytes [#/volume] in Blood by Automated count"),),
    "platelets": (_loinc("777-3", "Platelets [#/volume] in Blood by Automated count"),),
    "creatinine": (
        _loinc(
            "14682-9",
            "Creatinine [Moles/volume] in Serum or Plasma",
            "German and French national guides name it so",
        ),
        _loinc(
            "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "ARUP test 0020025 catalogue"
        ),
    ),
    "alt": (
        _loinc("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
    ),
    "ast": (
        _loinc(
            "1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma"
        ),
    ),
    "bilirubin": (
        _loinc(
            "14631-6",
            "Bilirubin.total [Moles/volume] in Serum or Plasma",
            "a copy of the LOINC table",
        ),
        _loinc("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma"),
    ),
    "crp": (_loinc("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma"),),
    "esr": (
        _loinc("30341-2", "Erythrocyte sedimentation rate", "method-agnostic, beside 4537-7"),
        _loinc("4537-7", "Erythrocyte sedimentation rate by Westergren method"),
    ),
    "cholesterol": (
        _loinc(
            "14647-2",
            "Cholesterol [Moles/volume] in Serum or Plasma",
            "mapping tables pair it with 2093-3",
        ),
        _loinc("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"),
    ),
    "triglycerides": (
        _loinc(
            "14927-8",
            "Triglyceride [Moles/volume] in Serum or Plasma",
            "mapping tables pair it with 2571-8",
        ),
        _loinc("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma"),
    ),
    # LOINC's BK log load (43201-3, as laboratories use it for blood and urine alike) does not
    # tell plasma from urine, which the guideline's rules do (§6.8: serum/plasma): the app's
    # own code keeps them apart. No JC virus, interferon-score or IP-10 code was confirmed.
    "bk_plasma": None,
    "bk_urine": None,
    "jc_plasma": None,
    "jc_urine": None,
    "ifn_score": None,
    "ip10": None,
}

# Growth measurements: LOINC's vital-signs codes (FHIR's vital signs profile requires them).
BODY_HEIGHT = _loinc("8302-2", "Body height", "FHIR R4 vital signs profile")
BODY_WEIGHT = _loinc("29463-7", "Body weight", "FHIR R4 vital signs profile")
BODY_MASS_INDEX = _loinc("39156-5", "Body mass index (BMI) [Ratio]", "FHIR R4 vital signs profile")

# Growth SDS (Z-scores) and centiles against a growth reference (DOMAIN §6b). Each is an
# Observation of its own, derived from the measurement, as the common guides model a child's
# growth centile (US Core's pediatric BMI-for-age and weight-for-length profiles: a separate
# vital-signs Observation with its own code). LOINC has centile codes (e.g. 8303-0, body height
# percentile) but no Z-score code was found; SNOMED CT has "for age z-score" and "for age
# percentile" observable entities, which the RCPCH suggests for storing rcpchgrowth's results
# (the library that computes them here). The centile travels as a component of its SDS
# Observation. The app's own code (growth_system in export.py) is written beside each.
RCPCH_CODES = "RCPCH Digital Growth Charts docs, SNOMED CT codes for storing results"
GROWTH_SDS: dict[str, Code] = {
    "height": Code(
        SNOMED, "1153604005", "Body height for age z-score (observable entity)", RCPCH_CODES
    ),
    "weight": Code(SNOMED, "1153593003", "Weight for age z-score (observable entity)", RCPCH_CODES),
    "bmi": Code(
        SNOMED, "1153596006", "Body mass index for age z-score (observable entity)", RCPCH_CODES
    ),
}
GROWTH_CENTILE: dict[str, Code] = {
    "height": Code(
        SNOMED, "1153605006", "Body height for age percentile (observable entity)", RCPCH_CODES
    ),
    "weight": Code(
        SNOMED, "1153592008", "Weight for age percentile (observable entity)", RCPCH_CODES
    ),
    "bmi": Code(
        SNOMED, "1153602009", "Body mass index for age percentile (observable entity)", RCPCH_CODES
    ),
}

# Visit assessments (DOMAIN §3) have no LOINC or SNOMED CT code: none was found for the AGS
# Scale (Adang et al. 2020), and LOINC's global assessments (e.g. 75846-6, 75844-1) are 0–10
# numeric ratings of other instruments, not the NIH's 100 mm visual-analogue scale. They travel
# under the app's own code systems (export.py: SITE_URL/fhir/CodeSystem/visit-assessment, and
# .../ags-scale-item for the scale's items, coded by the item's key): code → display.
ASSESSMENT_CODES: dict[str, tuple[str, str]] = {
    "ags_scale": ("ags-scale", "AGS Scale total score (0-11)"),
    "physician_global": ("physician-global", "Physician's global assessment (0-100 mm VAS)"),
    "parent_global": ("parent-global", "Parent's global assessment (0-100 mm VAS)"),
}

# The app's unit → (UCUM code, UCUM's name of the unit). UCUM's print symbols are not
# codes: 10⁹/L is written 10*9/L, µ is u, and an annotation in braces names what is counted.
UNIT_UCUM: dict[str, tuple[str, str]] = {
    "g/dL": ("g/dL", "gram per deciliter"),
    "g/L": ("g/L", "gram per liter"),
    "×10⁹/L": ("10*9/L", "billion per liter"),
    "10^9/L": ("10*9/L", "billion per liter"),
    "cells/µL": ("/uL", "per microliter"),
    "cells/uL": ("/uL", "per microliter"),
    "µmol/L": ("umol/L", "micromole per liter"),
    "umol/L": ("umol/L", "micromole per liter"),
    "mg/dL": ("mg/dL", "milligram per deciliter"),
    "U/L": ("U/L", "enzyme unit per liter"),
    "mg/L": ("mg/L", "milligram per liter"),
    "mm/h": ("mm/h", "millimeter per hour"),
    "mmol/L": ("mmol/L", "millimole per liter"),
    "log10 copies/mL": ("{log_copies}/mL", "log10 copies per milliliter"),
    "copies/mL": ("{copies}/mL", "copies per milliliter"),
    "score": ("{score}", "score"),
    "pg/mL": ("pg/mL", "picogram per milliliter"),
    # Not lab units of the form, but units the export writes.
    "mg": ("mg", "milligram"),
    "kg": ("kg", "kilogram"),
    "cm": ("cm", "centimeter"),
    "mL/min/1.73m²": ("mL/min/{1.73_m2}", "milliliter per minute per 1.73 square meter"),
    "kg/m²": ("kg/m2", "kilogram per square meter"),
    "SDS": ("{SDS}", "standard deviation score"),
    "%": ("%", "percent"),
    "mm": ("mm", "millimeter"),
}

# UCUM codes the import reads, to the app's unit (several spellings laboratories send).
UCUM_TO_UNIT: dict[str, str] = {
    "g/dL": "g/dL",
    "g/L": "g/L",
    "10*9/L": "×10⁹/L",
    "10*3/uL": "×10⁹/L",  # 10³/µL = 10⁹/L
    "/uL": "cells/µL",
    "{cells}/uL": "cells/µL",
    "umol/L": "µmol/L",
    "mg/dL": "mg/dL",
    "U/L": "U/L",
    "[IU]/L": "U/L",
    "mg/L": "mg/L",
    "mm/h": "mm/h",
    "mm/[hr]": "mm/h",
    "mmol/L": "mmol/L",
    "{log_copies}/mL": "log10 copies/mL",
    "{Log_copies}/mL": "log10 copies/mL",
    "{copies}/mL": "copies/mL",
    "{score}": "score",
    "pg/mL": "pg/mL",
}

# Drugs: RxNorm ingredient concepts (RXCUI) and SNOMED CT substance concepts (each passes
# SNOMED CT's check digit, tests/outcomes/test_fhir_export.py). The JAK inhibitors' SNOMED CT
# substance codes were not confirmed here and are left out: RxNorm and the text name them.
DRUG_CODES: dict[str, tuple[Code, ...]] = {
    "baricitinib": (Code(RXNORM, "2047232", "baricitinib"),),
    "ruxolitinib": (Code(RXNORM, "1193326", "ruxolitinib"),),
    "tofacitinib": (Code(RXNORM, "1357536", "tofacitinib"),),
    "prednisolone": (
        Code(RXNORM, "8638", "prednisolone"),
        Code(SNOMED, "116601002", "Prednisolone (substance)"),
    ),
    "prednisone": (
        Code(RXNORM, "8640", "prednisone"),
        Code(SNOMED, "116602009", "Prednisone (substance)"),
    ),
    "methylprednisolone": (
        Code(RXNORM, "6902", "methylprednisolone"),
        Code(SNOMED, "116593003", "Methylprednisolone (substance)"),
    ),
    "hydrocortisone": (
        Code(RXNORM, "5492", "hydrocortisone"),
        Code(SNOMED, "396458002", "Hydrocortisone (substance)"),
    ),
    "dexamethasone": (
        Code(RXNORM, "3264", "dexamethasone"),
        Code(SNOMED, "372584003", "Dexamethasone (substance)"),
    ),
}

# Caregiver relationship → HL7 v3 RoleCode (a home nurse or other carer has no code: text only).
RELATIONSHIP_ROLE: dict[str, Code | None] = {
    "mother": Code(V3_ROLE, "MTH", "mother"),
    "father": Code(V3_ROLE, "FTH", "father"),
    "parent": Code(V3_ROLE, "PRN", "parent"),
    "grandparent": Code(V3_ROLE, "GRPRN", "grandparent"),
    "guardian": Code(V3_ROLE, "GUARD", "guardian"),
    "home_nurse": None,
    "other": None,
}

# Dose slot → FHIR's event timing (R4 value set event-timing, from v3 TimingEvent).
SLOT_WHEN = {"morning": "MORN", "afternoon": "AFT", "evening": "EVE"}

SEX_GENDER = {"F": "female", "M": "male", "X": "unknown"}


def loinc_to_analyte() -> dict[str, str]:
    """Every LOINC code the import reads, to the app's analyte."""
    return {
        code.code: analyte
        for analyte, codes in ANALYTE_LOINC.items()
        for code in codes or ()
        if code.system == LOINC
    }


def unit_ucum(unit: str) -> tuple[str, str]:
    """(UCUM code, name) of the app's UNIT; KeyError for a unit without one."""
    return UNIT_UCUM[unit]
