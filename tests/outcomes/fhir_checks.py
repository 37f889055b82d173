"""Checking FHIR R4 resources with fhir.resources (its R4B models: FHIR 4.3, whose resources
used here are those of R4 4.0.1) plus the required code bindings the models leave unchecked."""

from fhir.resources.R4B import get_fhir_model_class

# Required bindings of the elements the export writes (R4): fhir.resources checks structure
# and types, not codes.
REQUIRED = {
    "Observation": {"status": {"registered", "preliminary", "final", "amended", "corrected"}},
    "MedicationRequest": {
        "status": {"active", "on-hold", "cancelled", "completed", "stopped", "draft"},
        "intent": {"proposal", "plan", "order", "original-order"},
    },
    "MedicationAdministration": {
        "status": {"in-progress", "not-done", "on-hold", "completed", "stopped", "unknown"}
    },
    "QuestionnaireResponse": {"status": {"in-progress", "completed", "amended", "stopped"}},
    "Questionnaire": {"status": {"draft", "active", "retired", "unknown"}},
    "Patient": {"gender": {"male", "female", "other", "unknown"}},
}
ITEM_TYPES = {"boolean", "decimal", "integer", "date", "string", "text", "choice", "group"}
WHEN = {"MORN", "AFT", "EVE"}


def validate_resource(resource: dict):
    """The fhir.resources model of RESOURCE (raises pydantic's ValidationError when invalid)."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for element, allowed in REQUIRED.get(resource["resourceType"], {}).items():
        if element in resource:
            assert resource[element] in allowed, (resource["resourceType"], element)
    if resource["resourceType"] == "Questionnaire":
        for item in resource["item"]:
            assert item["type"] in ITEM_TYPES, item
    for dosage in resource.get("dosageInstruction", []):
        for when in dosage.get("timing", {}).get("repeat", {}).get("when", []):
            assert when in WHEN
    return model


def validate_bundle(bundle: dict) -> dict[str, int]:
    """Validate the Bundle whole and each resource alone; every reference resolves inside it.
    Returns the count of each resource type."""
    get_fhir_model_class("Bundle").model_validate(bundle)
    assert bundle["type"] == "collection"
    urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert len(urls) == len(bundle["entry"]), "fullUrl values must be unique"
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        validate_resource(resource)
        counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
        for reference in _references(resource):
            assert reference in urls, (resource["resourceType"], reference)
    return counts


def _references(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)
