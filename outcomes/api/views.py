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
from diary.models import Child, Medicine, Prescription, Role
from outcomes import deidentify, export, guideline, research, schedule, treatment
from outcomes.api.serializers import (
    DoseGuidanceOut,
    MedicineSerializer,
    PhasesOut,
    PrescriptionSerializer,
)
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

    def update(self, request, *args, **kwargs):
        # Permission before validation: a caregiver learns nothing of the guideline's checks.
        self._check_managed(self.get_object().child)
        return super().update(request, *args, **kwargs)

    def perform_update(self, serializer):
        self._check_managed(serializer.instance.child)
        if "child" in serializer.validated_data and (
            serializer.validated_data["child"] != serializer.instance.child
        ):
            raise ValidationError({"child": [_("A prescription cannot move to another child.")]})
        serializer.save()


class MedicineViewSet(NoDeleteViewSet):
    """The child's other medicines (name, dose, start, stop), entered by clinicians and
    caregivers, each with the guideline's `warnings` for the JAK inhibitor given meanwhile."""

    serializer_class = MedicineSerializer
    filterset_class = filterset_for(Medicine, "kind")

    def get_queryset(self):
        return (
            Medicine.objects.visible_to(self.request.user)
            .select_related("child", "entered_by")
            .order_by("child", "-start_date", "name")
        )

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if hasattr(serializer, "fields") and "child" in serializer.fields:
            serializer.fields["child"].queryset = Child.objects.visible_to(self.request.user)
        return serializer

    def create(self, request, *args, **kwargs):
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        child_id = request.data.get("child")
        visible = Child.objects.visible_to(request.user)
        if not (str(child_id).isdigit() and visible.filter(pk=child_id).exists()):
            raise NotFound(_("No such child."))
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(entered_by=self.request.user)

    def perform_update(self, serializer):
        if "child" in serializer.validated_data and (
            serializer.validated_data["child"] != serializer.instance.child
        ):
            raise ValidationError({"child": [_("A medicine cannot move to another child.")]})
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
            OpenApiParameter(
                "child",
                int,
                description="Read the weight, age and eGFR from this child's record (each no "
                "older than the guideline recency settings); a parameter given overrides it",
            ),
            OpenApiParameter("date", OpenApiTypes.DATE, description="With child: default today"),
            OpenApiParameter("weight_kg", float),
            OpenApiParameter("egfr", float, description="mL/min/1.73m²"),
            OpenApiParameter("age_years", float),
        ],
        responses={
            200: DoseGuidanceOut,
            404: OpenApiResponse(description="A child that is not one of yours"),
        },
    )
    def get(self, request):
        """The guideline's initial and escalation regimens (mg per slot) for one child, its
        renal and age notes, and `missing`: each check a missing or too old weight or eGFR
        leaves undone (then `alternatives` gives the guidance for each band it could be in)."""
        params = request.query_params
        for required in ("drug", "indication"):
            if not params.get(required):
                raise ValidationError({required: [_("This parameter is required.")]})
        values = {name: params.get(name) for name in ("weight_kg", "age_years", "egfr")}
        used: dict = {}
        recency = None
        if params.get("child"):
            raw = params["child"]
            child = (
                Child.objects.visible_to(request.user).filter(pk=raw).first()
                if str(raw).isdigit()
                else None
            )
            if child is None:
                raise NotFound(_("No such child."))
            day = _cutoff_param(request, "date") or child.today()
            inputs = treatment.inputs_for(child, day)
            record = {
                "weight_kg": inputs.weight_kg,
                "age_years": inputs.age_years,
                "egfr": inputs.egfr_value,
            }
            values = {k: v if v not in (None, "") else record[k] for k, v in values.items()}
            recency = treatment.recency()
            used = {
                "date": day,
                "egfr_date": inputs.egfr.sample_date if inputs.egfr else None,
            }
        try:
            alternatives = guideline.dose_alternatives(
                params["drug"],
                params["indication"],
                values["weight_kg"],
                values["age_years"],
                values["egfr"],
            )
            notes = guideline.guidance_notes(
                params["drug"], values["weight_kg"], values["age_years"], values["egfr"]
            )
        except guideline.GuidelineInputError as error:
            raise ValidationError({error.parameter: [error.message]}) from None
        missing = guideline.missing_inputs(
            params["drug"], params["indication"], values["weight_kg"], values["egfr"], recency
        )
        single = alternatives[0][1] if len(alternatives) == 1 else None
        return Response(
            {
                "initial": single.initial.as_dict() if single else None,
                "escalation": single.escalation.as_dict() if single and single.escalation else None,
                "maximum_total": float(single.maximum_total) if single else None,
                "source": single.source if single else None,
                "notes": list(single.notes)
                if single
                else [f"{c.message} ({c.source})" for c in notes],
                "alternatives": [
                    {
                        "when": label,
                        "initial": g.initial.as_dict(),
                        "escalation": g.escalation.as_dict() if g.escalation else None,
                        "maximum_total": float(g.maximum_total),
                        "source": g.source,
                    }
                    for label, g in alternatives
                    if single is None
                ],
                "missing": [c.as_dict() for c in missing],
                "inputs": {
                    **{k: (float(v) if v not in (None, "") else None) for k, v in values.items()},
                    **used,
                },
                "decision": guideline.team_decides(),
            }
        )


def _cutoff_param(request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [_("Use a date as YYYY-MM-DD.")]}) from None


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
                "decision": guideline.team_decides(),
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


class FlagOut(serializers.Serializer):
    id = serializers.IntegerField()
    day = serializers.DateField()
    code = serializers.CharField()
    severity = serializers.CharField()
    message = serializers.CharField()
    source = serializers.CharField()
    result = serializers.IntegerField(allow_null=True)
    acknowledged = serializers.BooleanField()
    decision = serializers.CharField()


class FlagsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=FlagOut(many=True))
    def get(self, request, pk: int):
        """Every guideline flag of a child, newest first: those of results (`result` set) and
        those of a weight or a diary day (a dose above its table, an infection), each naming
        its section; the treating team decides."""
        child = get_object_or_404(Child.objects.visible_to(request.user), pk=pk)
        return Response(
            [
                {
                    "id": f.pk,
                    "day": f.day,
                    "code": f.code,
                    "severity": f.severity,
                    "message": f.message,
                    "source": f.source,
                    "result": f.result_id,
                    "acknowledged": f.acknowledged_at is not None,
                    "decision": guideline.team_decides(),
                }
                for f in child.flags.order_by("-day", "-pk")[:500]
            ]
        )


class ScreeningView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        """The screening checklist before the first dose (SPARN §5.2, §6.2, §10): each item's
        latest outcome and date, and `open`: what is still open for the drug in force
        (baricitinib before any), each naming its section; the treating team decides."""
        child = get_object_or_404(Child.objects.visible_to(request.user), pk=pk)
        rows, still_open, _first = treatment.screening_checklist(child)
        return Response(
            {
                "items": [
                    {
                        "item": item.value,
                        "outcome": record.outcome if record else None,
                        "date": record.date if record else None,
                    }
                    for item, record in rows
                ],
                "open": [c.as_dict() for c in still_open],
            }
        )


class ScheduleView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        """The child's blood-test schedule: due date, panel, reason, source, done; a test is
        done when each of its analytes has a result in the window, else `partial` when some
        have, `missing` naming the groups (one of each) still lacking."""
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
                        "partial": i.partial,
                        "missing": [list(group) for group in i.missing] if not i.done else [],
                    }
                    for i in items
                ],
            }
        )
