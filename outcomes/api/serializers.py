from django.utils.translation import gettext as _
from rest_framework import serializers

from diary.api.fields import StrictModelSerializer
from diary.models import Prescription
from outcomes import treatment


class CautionOut(serializers.Serializer):
    message = serializers.CharField()
    source = serializers.CharField()


class PrescriptionSerializer(StrictModelSerializer):
    total_mg = serializers.DecimalField(max_digits=7, decimal_places=2, read_only=True)
    mg_per_kg = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Prescription
        fields = [
            "id",
            "child",
            "drug",
            "indication",
            "start_date",
            "morning_mg",
            "afternoon_mg",
            "evening_mg",
            "total_mg",
            "mg_per_kg",
            "reason",
            "note",
            "override_reason",
            "warnings",
            "created_by",
            "created",
        ]
        read_only_fields = ["id", "created_by", "created"]
        validators = []  # the model's clean() explains a clash on the start date

    def get_mg_per_kg(self, prescription) -> float | None:
        inputs = treatment.inputs_for(prescription.child, prescription.start_date)
        per_kg = treatment.guideline.mg_per_kg(prescription.total_mg, inputs.weight_kg)
        return float(per_kg) if per_kg is not None else None

    def get_warnings(self, prescription) -> list[dict]:
        inputs = treatment.inputs_for(prescription.child, prescription.start_date)
        return [
            {"message": c.message, "source": c.source}
            for c in treatment.cautions_for(prescription, inputs)
        ]

    def validate(self, attrs):
        current = (
            {}
            if self.instance is None
            else {
                f.name: getattr(self.instance, f.name)
                for f in Prescription._meta.concrete_fields
                if f.name not in ("id", "created", "created_by")
            }
        )
        prescription = Prescription(**{**current, **attrs})
        if self.instance is not None:
            prescription.pk = self.instance.pk
        prescription.clean()
        cautions = treatment.cautions_for(
            prescription, treatment.inputs_for(prescription.child, prescription.start_date)
        )
        if cautions and not (attrs.get("override_reason") or "").strip():
            why = _("This prescription raises guideline warnings: give the reason to save it.")
            raise serializers.ValidationError(
                {"override_reason": [why] + [f"{c.message} ({c.source})" for c in cautions]}
            )
        return attrs


class RegimenOut(serializers.Serializer):
    morning = serializers.FloatField()
    afternoon = serializers.FloatField()
    evening = serializers.FloatField()
    total = serializers.FloatField()


class DoseGuidanceOut(serializers.Serializer):
    initial = RegimenOut()
    escalation = RegimenOut(allow_null=True)
    maximum_total = serializers.FloatField()
    source = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField())


class PhaseOut(serializers.Serializer):
    phase = serializers.IntegerField()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    days = serializers.IntegerField()


class PhasesOut(serializers.Serializer):
    cutoff = serializers.DateField()
    first_dose = serializers.DateField(allow_null=True)
    optimal_date = serializers.DateField(allow_null=True)
    optimal_derived = serializers.BooleanField()
    current = serializers.IntegerField(allow_null=True)
    phases = PhaseOut(many=True)
