"""OpenAPI schema post-processing: document every answer the API really gives."""

ERROR = {
    "type": "object",
    "description": "`detail` with a message, or field names with lists of messages.",
    "additionalProperties": True,
}
ANSWERS = {
    "400": "Invalid input: field errors, or a rule of the record (a date before birth…)",
    "401": "Not signed in",
    "403": "Signed in, but not allowed (e.g. a caregiver changing a prescription)",
    "404": "No such object for this user (children of other families or sites are never shown)",
}
# Recorded rows (doses, entries…): a change names the version it was made against.
VERSIONED = [f"Patched{name}ChangeRequest" for name in ("Entry", "Dose", "Steroid", "Growth")]


def document_errors(result, generator, request, public):
    """Add the error answers to every operation, and require `version` on a PATCH."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            wanted = ["400", "401", "403"]
            if path == "/api/auth/token/":
                wanted = ["400"]  # public: wrong credentials
            if "{" in path or "requestBody" in operation:
                wanted.append("404")
            for code in wanted:
                responses.setdefault(
                    code,
                    {
                        "description": ANSWERS[code],
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    for name in VERSIONED:
        if name in components:
            required = components[name].setdefault("required", [])
            if "version" not in required:
                required.append("version")
    return result
