from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from diary import instruments
from diary.access import LogsAccess
from diary.api.fields import NumberText, Text
from diary.api.filters import filterset_for
from diary.api.views import NoDeleteViewSet
from diary.models import Child, Prescription, Role
from outcomes import deidentify, export, guideline, research, schedule, treatment
from outcomes.api.serializers import DoseGuidanceOut, PhasesOut, PrescriptionSerializer
from outcomes.labs import child_schedule, record_lab
from outcomes.models import LabResult
from outcomes.summaries import as_dict, cohort_summary


class PrescriptionViewSet(NoDeleteViewSet):
    """JAK-inhibitor prescriptions. Clinicians of the child's site create and change them;
    one that raises a guideline warning needs an `override_reason`, kept in its history."""

    serializer_class = PrescriptionSerializer
    filterset_class = filterset_for(Prescription, "drug")

    def get_queryset(self):
        return (
            Prescription.objects.visible_to(self.request.user)
            .select_related("child", "created_by")
            .order_by("child", "-start_date")
        )

    def _check_managed(self, child: Child) -> None:
        if not Child.objects.visible_to(self.request.user).filter(pk=child.pk).exists():
            raise NotFound(_("No such child."))
        if not Child.objects.managed_by(self.request.user).filter(pk=child.pk).exists():
            raise PermissionDenied(_("Only the child's clinicians can prescribe."))

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if hasattr(serializer, "fields") and "child" in serializer.fields:
            serializer.fields["child"].queryset = Child.objects.all()
        return serializer

    def create(self, request, *args, **kwargs):
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        child_id = request.data.get("child")
        child = Child.objects.filter(pk=child_id).first() if str(child_id).isdigit() else None
        if child is None:
            raise NotFound(_("No such child."))
        self._check_managed(child)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    def perform_update(self, serializer):
        self._check_managed(serializer.instance.child)
        if "child" in serializer.validated_data and (
            serializer.validated_data["child"] != serializer.instance.child
        ):
            raise ValidationError({"child": [_("A prescription cannot move to another child.")]})
        serializer.save()


def _cutoff(request) -> date | None:
    raw = request.query_params.get("cutoff")
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({"cutoff": [_("Use a date as YYYY-MM-DD.")]}) from None


class PhasesView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cutoff",
                OpenApiTypes.DATE,
                description=(
                    "Final visit / data cut-off (default: the child's final visit, else today)"
                ),
            )
        ],
        responses=PhasesOut,
    )
    def get(self, request, pk: int):
        """The four NIH treatment phases of a child, derived from prescriptions and markers."""
        child = get_object_or_404(Child.objects.visible_to(request.user), pk=pk)
        cutoff = _cutoff(request)
        if cutoff is not None and cutoff < child.date_of_birth:
            raise ValidationError({"cutoff": [_("The date is before the child's date of birth.")]})
        result = treatment.child_phases(child, cutoff)
        return Response(
            PhasesOut(
                {
                    "cutoff": result.cutoff,
                    "first_dose": result.first_dose,
                    "optimal_date": result.optimal_date,
                    "optimal_derived": result.optimal_derived,
                    "current": result.current,
                    "phases": [
                        {
                            "phase": n,
                            "start": iv.start if iv else None,
                            "end": iv.end if iv else None,
                            "days": iv.days if iv else 0,
                        }
                        for n, iv in result.intervals.items()
                    ],
                }
            ).data
        )


class GuidelineDoseView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("drug", str, required=True, enum=list(guideline.DRUGS)),
            OpenApiParameter("indication", str, required=True, enum=list(guideline.INDICATIONS)),
            OpenApiParameter("weight_kg", float),
            OpenApiParameter("egfr", float, description="mL/min/1.73m²"),
            OpenApiParameter("age_years", float),
        ],
        responses=DoseGuidanceOut,
    )
    def get(self, request):
        """The guideline's initial and escalation regimens (mg per slot) for one child."""
        params = request.query_params
        for required in ("drug", "indication"):
            if not params.get(required):
                raise ValidationError({required: [_("This parameter is required.")]})
        try:
            result = guideline.dose_guidance(
                params["drug"],
                params["indication"],
                params.get("weight_kg"),
                params.get("age_years"),
                params.get("egfr"),
            )
        except guideline.GuidelineInputError as error:
            raise ValidationError({error.parameter: [error.message]}) from None
        return Response(
            {
                "initial": result.initial.as_dict(),
                "escalation": result.escalation.as_dict() if result.escalation else None,
                "maximum_total": float(result.maximum_total),
                "source": result.source,
                "notes": list(result.notes),
            }
        )


def _research_cohort(request, user, cutoff: date | None):
    """The children of one of the researcher's anonymised datasets: the consenting children of
    the sites linked to them under the study, as the export releases them (k-anonymous)."""
    code = request.query_params.get("study")
    if not code:
        codes = list(research.studies_of(user).values_list("code", flat=True))
        if not codes:
            raise PermissionDenied(
                _(
                    "Cohort statistics for researchers cover the children of a study, and no "
                    "site has linked you to one yet."
                )
            )
        if len(codes) > 1:
            message = _("Choose one of your studies: %(codes)s.") % {"codes": ", ".join(codes)}
            raise ValidationError({"study": [message]})
        code = codes[0]
    try:
        study, sites = research.resolve(user, code, request.query_params.getlist("site"))
    except research.PartialSites:
        message = _("A study's statistics cover every site of the study; leave site out.")
        raise ValidationError({"site": [message]}) from None
    options = export.Options(
        study.code, tuple(s.code for s in sites), cutoff or timezone.localdate()
    )
    released = export.cohort(options, settings.PSEUDONYM_KEY).subjects
    return Child.objects.filter(pk__in=[s.child.pk for s in released])


class CohortSummaryView(APIView):
    """The NIH-style cohort summary. Clinicians: the children of their sites. Researchers: the
    children of one of their studies' anonymised datasets (`study`, needed when they have
    several), with cells of 1–4 children suppressed (DOMAIN §9)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("site", str, many=True, description="site code(s); default all yours"),
            OpenApiParameter("cutoff", OpenApiTypes.DATE),
            OpenApiParameter("instrument", str, enum=sorted(instruments.CURRENT)),
            OpenApiParameter("study", str, description="researchers: the study's code"),
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            404: OpenApiResponse(description="A site or study that is not one of yours"),
        },
    )
    def get(self, request):
        user = request.user
        cutoff = _cutoff(request)
        instrument = request.query_params.get("instrument", "ags")
        if instrument not in instruments.CURRENT:
            raise ValidationError({"instrument": [_("Unknown diary.")]})
        clinical = user.clinical_sites()
        if clinical.exists():
            children, min_cell = Child.objects.filter(site__in=clinical), 0
            codes = request.query_params.getlist("site")
            unknown = set(codes) - set(clinical.values_list("code", flat=True))
            if unknown:
                raise NotFound(
                    _("No such site: %(codes)s.") % {"codes": ", ".join(sorted(unknown))}
                )
            if codes:
                children = children.filter(site__code__in=codes)
        elif user.memberships.filter(role=Role.RESEARCHER).exists():
            # Aggregate cells of 1–4 children are suppressed for researchers (DOMAIN §9).
            children, min_cell = _research_cohort(request, user, cutoff), deidentify.SMALL_CELL
        else:
            raise PermissionDenied(_("Cohort statistics are for clinicians and researchers."))
        summary = cohort_summary(
            children.select_related("site"), instrument=instrument, cutoff=cutoff, min_cell=min_cell
        )
        return Response(as_dict(summary))


class LabResultSerializer(serializers.ModelSerializer):
    flags = serializers.SerializerMethodField()

    class Meta:
        model = LabResult
        fields = [
            "id",
            "child",
            "sample_date",
            "analyte",
            "value",
            "unit",
            "entered_value",
            "entered_unit",
            "uln",
            "assay",
            "positivity_threshold",
            "egfr",
            "caregiver_entered",
            "flags",
            "created",
        ]
        read_only_fields = fields

    def get_flags(self, result) -> list[dict]:
        return [
            {
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "source": f.source,
                "acknowledged": f.acknowledged_at is not None,
            }
            for f in result.flags.all()
        ]


class LabInput(serializers.Serializer):
    child = serializers.IntegerField()
    sample_date = serializers.DateField()
    analyte = Text()
    value = NumberText()
    unit = Text(required=False, allow_blank=True, default="")
    uln = NumberText(required=False, allow_blank=True, allow_null=True, default=None)


class LabResultViewSet(
    LogsAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Lab results in canonical units with the guideline flags they raised. Caregivers may add
    results they were given (marked caregiver-entered)."""

    serializer_class = LabResultSerializer
    filterset_class = filterset_for(LabResult, "analyte")

    def get_queryset(self):
        return (
            LabResult.objects.visible_to(self.request.user)
            .prefetch_related("flags")
            .order_by("-sample_date", "-pk")
        )

    @extend_schema(request=LabInput, responses={201: LabResultSerializer})
    def create(self, request):
        incoming = LabInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        child = get_object_or_404(Child.objects.visible_to(request.user), pk=data["child"])
        try:
            result = record_lab(
                child,
                request.user,
                data["analyte"],
                data["sample_date"],
                data["value"],
                data["unit"],
                uln=data["uln"],
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from None
        return Response(LabResultSerializer(result).data, status=201)


class ScheduleView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        """The child's blood-test schedule: due date, panel, reason, source, done."""
        child = get_object_or_404(Child.objects.visible_to(request.user), pk=pk)
        items = child_schedule(child)
        upcoming = schedule.next_due(items, child.today())
        return Response(
            {
                "next_due": upcoming.due if upcoming else None,
                "items": [
                    {
                        "panel": i.panel,
                        "due": i.due,
                        "reason": i.reason,
                        "source": i.source,
                        "done_on": i.done_on,
                    }
                    for i in items
                ],
            }
        )
