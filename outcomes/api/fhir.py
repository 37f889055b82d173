"""FHIR R4 endpoints: a child's record out as a Bundle, hospital lab results in."""

import hashlib
import json

from django.db import IntegrityError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.access import log_access
from diary.api.parsers import JSONParser
from diary.models import AccessAction, Child, DataTransfer
from outcomes.fhir import export, labs_import


class FHIRJSONParser(JSONParser):
    """The API's bounded JSON parser, for FHIR's own media type."""

    media_type = "application/fhir+json"


def _fhir_version_problem(request) -> str | None:
    """A body sent as another FHIR version (`fhirVersion` media-type parameter)."""
    content_type = request.META.get("CONTENT_TYPE", "")
    for part in content_type.split(";")[1:]:
        name, _sep, value = part.strip().partition("=")
        if name.strip().lower() == "fhirversion" and not value.strip().strip('"').startswith("4."):
            return _("This is FHIR %(version)s: send FHIR R4 (fhirVersion=4.0).") % {
                "version": value.strip()[:10]
            }
    return None


OBSERVATION_EXAMPLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "resource": {
                "resourceType": "Observation",
                "identifier": [{"system": "https://lab.example.org/results", "value": "A1"}],
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                "effectiveDateTime": "2026-11-02",
                "valueQuantity": {
                    "value": 11.2,
                    "unit": "g/dL",
                    "system": "http://unitsofmeasure.org",
                    "code": "g/dL",
                },
            }
        }
    ],
}


class FHIRExportView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="children_fhir_retrieve",
        responses={
            (200, export.MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="A FHIR R4 Bundle (type collection): Patient, RelatedPerson, "
                "Practitioner, Questionnaire, QuestionnaireResponse, MedicationRequest, "
                "MedicationAdministration and Observation resources (docs/fhir.md).",
            )
        },
    )
    def get(self, request, pk: int):
        """The child's whole record as a FHIR R4 Bundle, for everyone who may see the child
        (the identifiable copy, as the family download). Logged as an export."""
        child = get_object_or_404(
            Child.objects.visible_to(request.user).select_related("site"), pk=pk
        )
        document, counts = export.bundle(child)
        body = json.dumps(document, ensure_ascii=False).encode()
        name = f"ags-diary-{slugify(child.first_name) or 'child'}-{child.today()}.fhir.json"
        log = DataTransfer.objects.create(
            kind=DataTransfer.Kind.FHIR_EXPORT,
            user=request.user,
            site=child.site,
            child=child,
            file_name=name,
            finished=timezone.now(),
            row_counts=counts,
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
        )
        log_access(
            request,
            AccessAction.EXPORT,
            child,
            what="fhir_export",
            obj=log,
            resources=sum(counts.values()),
        )
        response = Response(document, content_type=f"{export.MEDIA_TYPE}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200:
            # The Bundle is written as FHIR JSON whatever the Accept header asked for.
            response.accepted_renderer = _FHIRRenderer()
            response.accepted_media_type = export.MEDIA_TYPE
            response.renderer_context = self.get_renderer_context()
        return response


class _FHIRRenderer:
    media_type = export.MEDIA_TYPE
    format = "json"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data, ensure_ascii=False).encode()


class FHIRLabsImportView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser, FHIRJSONParser]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Before the method is judged: a child the caller may not see is not found, whatever
        # the method (a 405 would be the same for every child, but 404 is the rule).
        get_object_or_404(Child.objects.visible_to(request.user), pk=kwargs["pk"])

    @extend_schema(
        operation_id="children_fhir_labs_create",
        request={
            "application/fhir+json": OpenApiTypes.OBJECT,
            "application/json": OpenApiTypes.OBJECT,
        },
        examples=[OpenApiExample("One haemoglobin", value=OBSERVATION_EXAMPLE, request_only=True)],
        responses={
            201: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`created` and `unchanged` (already stored) counts, `results` "
                "(the stored results' ids) and `flags` (the guideline flags raised).",
            ),
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="Every Observation was already stored."
            ),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`detail`, and `problems`: each Observation with a problem "
                "(`index` in the Bundle's entries, `reason`). Nothing was stored.",
            ),
        },
    )
    def post(self, request, pk: int):
        """Hospital lab results: a FHIR R4 Bundle (or one Observation) of laboratory
        Observations, mapped by LOINC code and UCUM unit, stored in the canonical unit with the
        guideline flags of a result entered by hand. All or nothing; the same Observation
        sent again is stored once. Only the child's clinicians."""
        child = get_object_or_404(
            Child.objects.visible_to(request.user).select_related("site"), pk=pk
        )
        if not Child.objects.managed_by(request.user).filter(pk=child.pk).exists():
            raise PermissionDenied(_("Only the child's clinicians can import results."))
        if problem := _fhir_version_problem(request):
            raise ParseError(problem)
        raw = request._request.body  # read first (bounded by Django), then parsed by DRF
        status, body = run_import(request, child, request.data, raw)
        return Response(body, status=status)


def run_import(request, child: Child, data, raw: bytes) -> tuple[int, dict]:
    """Import DATA for CHILD as the request's user; (HTTP status, answer). Logged."""
    try:
        try:
            outcome = labs_import.import_labs(child, request.user, data)
        except IntegrityError:
            # Another request stored the same Observation meanwhile: now it is "unchanged".
            outcome = labs_import.import_labs(child, request.user, data)
    except labs_import.BadRequest as error:
        return 400, {"detail": str(error), "problems": []}
    if not outcome.ok:
        return 400, {
            "detail": _("Nothing was stored: %(n)d Observation(s) have a problem.")
            % {"n": len(outcome.problems)},
            "problems": [p.as_dict() for p in outcome.problems],
        }
    created, unchanged = len(outcome.created), len(outcome.unchanged)
    log = DataTransfer.objects.create(
        kind=DataTransfer.Kind.IMPORT,
        user=request.user,
        site=child.site,
        child=child,
        file_name="fhir-labs.json",
        finished=timezone.now(),
        row_counts={"created": {"labs": created}, "unchanged": {"labs": unchanged}},
        size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
    )
    log_access(
        request,
        AccessAction.IMPORT,
        child,
        what="fhir_labs_import",
        obj=log,
        created=created,
        unchanged=unchanged,
    )
    flags = outcome.flags()
    return (201 if created else 200), {
        "created": created,
        "unchanged": unchanged,
        "skipped": outcome.skipped,
        "results": [r.pk for r in outcome.created],
        "flags": [
            {
                "result": f.result_id,
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "source": f.source,
            }
            for f in flags
        ],
    }
