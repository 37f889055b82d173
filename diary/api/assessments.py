"""`/api/assessments/`: visit assessments (AGS Scale, physician's and parent's global
assessments). The child's clinicians record and correct them; the child's caregivers read them;
anyone else gets 404."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from diary import assessments
from diary.api.fields import StrictModelSerializer
from diary.api.filters import filterset_for
from diary.api.views import NoDeleteViewSet
from diary.models import Child, VisitAssessment

ITEMS_SCHEMA = {
    "type": "object",
    "properties": {key: {"type": "integer", "enum": [0, 1]} for key in assessments.ITEM_KEYS},
    "description": "The 11 AGS Scale items, each 0 (not achieved) or 1 (achieved): all or none.",
    "nullable": True,
}


@extend_schema_field(ITEMS_SCHEMA)
class ItemsField(serializers.JSONField):
    pass


class VisitAssessmentSerializer(StrictModelSerializer):
    ags_items = ItemsField(required=False, allow_null=True)
    severity_band = serializers.SerializerMethodField()
    recorded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = VisitAssessment
        fields = [
            "id",
            "child",
            "date",
            "ags_items",
            "ags_scale",
            "severity_band",
            "physician_global",
            "parent_global",
            "note",
            "recorded_by",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "ags_scale", "recorded_by", "created", "updated"]
        validators = []  # the model's clean() explains a second assessment of a day

    def get_severity_band(self, assessment) -> str | None:
        """AGS Scale band (AGS_SCALE_BANDS: unconfirmed defaults severe 0–3, moderate 4–8,
        attenuated 9–11)."""
        return assessment.severity_band

    def validate(self, attrs):
        current = {}
        if self.instance is not None:
            current = {
                name: getattr(self.instance, name)
                for name in ("child", "date", "ags_items", "physician_global", "parent_global")
            }
        assessment = VisitAssessment(**{**current, **attrs})
        if self.instance is not None:
            assessment.pk = self.instance.pk
        try:
            assessment.clean()
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from None
        attrs["ags_items"], attrs["ags_scale"] = assessment.ags_items, assessment.ags_scale
        return attrs


class VisitAssessmentViewSet(NoDeleteViewSet):
    """Visit assessments: the AGS Scale (11 items, 0–11, with its severity band) and the
    physician's and parent's global assessments (0–100 mm, 100 = worst), one per visit day.
    Item outside 0–1 or a value outside 0–100: 400, nothing stored."""

    serializer_class = VisitAssessmentSerializer
    filterset_class = filterset_for(VisitAssessment, "date")

    def get_queryset(self):
        return (
            VisitAssessment.objects.visible_to(self.request.user)
            .select_related("child", "recorded_by")
            .order_by("child", "-date")
        )

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if hasattr(serializer, "fields") and "child" in serializer.fields:
            serializer.fields["child"].queryset = Child.objects.visible_to(self.request.user)
        return serializer

    def _check_managed(self, child_id) -> None:
        # A stranger learns nothing (404); only a linked caregiver hears that it is refused.
        if not Child.objects.visible_to(self.request.user).filter(pk=child_id).exists():
            raise NotFound(_("No such child."))
        if not Child.objects.managed_by(self.request.user).filter(pk=child_id).exists():
            raise PermissionDenied(_("Only the child's clinicians record visit assessments."))

    def create(self, request, *args, **kwargs):
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        child_id = request.data.get("child")
        if not str(child_id).isdigit():
            raise NotFound(_("No such child."))
        self._check_managed(child_id)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(recorded_by=self.request.user)

    def update(self, request, *args, **kwargs):
        self._check_managed(self.get_object().child_id)
        return super().update(request, *args, **kwargs)

    def perform_update(self, serializer):
        if "child" in serializer.validated_data and (
            serializer.validated_data["child"] != serializer.instance.child
        ):
            raise ValidationError({"child": [_("An assessment cannot move to another child.")]})
        serializer.save(recorded_by=self.request.user)
