from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from diary.api.fields import StrictModelSerializer
from diary.models import Medicine, Prescription
from outcomes import treatment


class CautionOut(serializers.Serializer):
    message = serializers.CharField()
    source = serializers.CharField(help_text="The guideline section (or other source) it names")
    kind = serializers.ChoiceField(
        ["dose", "missing"],
        help_text="dose: a limit is (or may be) crossed, a reason is needed to save; missing: "
        "an input is absent or too old, so that check could not be made",
    )
    input = serializers.CharField(required=False, help_text="The missing input")
    decision = serializers.CharField()


class PrescriptionSerializer(StrictModelSerializer):
    total_mg = serializers.DecimalField(max_digits=7, decimal_places=2, read_only=True)
    mg_per_kg = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    missing = serializers.SerializerMethodField()
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
            "tertiary_discussed_with",
            "tertiary_discussed_on",
            "override_reason",
            "warnings",
            "missing",
            "created_by",
            "created",
        ]
        read_only_fields = ["id", "created_by", "created"]
        validators = []  # the model's clean() explains a clash on the start date

    def get_mg_per_kg(self, prescription) -> float | None:
        inputs = treatment.inputs_for(prescription.child, prescription.start_date)
        per_kg = treatment.guideline.mg_per_kg(prescription.total_mg, inputs.weight_kg)
        return float(per_kg) if per_kg is not None else None

    def _cautions(self, prescription):
        cache = self.context.setdefault("cautions", {})
        if prescription.pk not in cache:
            inputs = treatment.inputs_for(prescription.child, prescription.start_date)
            cache[prescription.pk] = treatment.cautions_for(prescription, inputs)
        return cache[prescription.pk]

    @extend_schema_field(CautionOut(many=True))
    def get_warnings(self, prescription) -> list[dict]:
        """Every caution, missing inputs included."""
        return [c.as_dict() for c in self._cautions(prescription)]

    @extend_schema_field(CautionOut(many=True))
    def get_missing(self, prescription) -> list[dict]:
        """The checks a missing or too old weight or eGFR left undone."""
        return [c.as_dict() for c in self._cautions(prescription) if c.kind == "missing"]

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
        blocking = [c for c in cautions if c.blocking]
        if blocking and not (attrs.get("override_reason") or "").strip():
            why = _("This prescription raises guideline warnings: give the reason to save it.")
            raise serializers.ValidationError(
                {"override_reason": [why] + [f"{c.message} ({c.source})" for c in blocking]}
            )
        return attrs


class RegimenOut(serializers.Serializer):
    morning = serializers.FloatField()
    afternoon = serializers.FloatField()
    evening = serializers.FloatField()
    total = serializers.FloatField()


class AlternativeOut(serializers.Serializer):
    when = serializers.CharField(help_text="The band the missing weight or eGFR could be in")
    initial = RegimenOut()
    escalation = RegimenOut(allow_null=True)
    maximum_total = serializers.FloatField()
    source = serializers.CharField()


class DoseGuidanceOut(serializers.Serializer):
    initial = RegimenOut(allow_null=True, help_text="null when a weight or eGFR is missing")
    escalation = RegimenOut(allow_null=True)
    maximum_total = serializers.FloatField(allow_null=True)
    source = serializers.CharField(allow_null=True)
    notes = serializers.ListField(child=serializers.CharField())
    alternatives = AlternativeOut(
        many=True, help_text="With a missing input: the guidance for each band it could be in"
    )
    missing = CautionOut(many=True)
    inputs = serializers.DictField(help_text="The weight, age and eGFR used, and their dates")
    decision = serializers.CharField()


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


class MedicineSerializer(StrictModelSerializer):
    warnings = serializers.SerializerMethodField()
    entered_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Medicine
        fields = [
            "id",
            "child",
            "name",
            "kind",
            "dose",
            "start_date",
            "stop_date",
            "note",
            "warnings",
            "entered_by",
            "created",
        ]
        read_only_fields = ["id", "entered_by", "created"]
        validators = []  # the model's clean() explains a clash

    @extend_schema_field(CautionOut(many=True))
    def get_warnings(self, medicine) -> list[dict]:
        """What the guideline says of this medicine with the JAK inhibitor given meanwhile
        (§8 leflunomide and biologics, §10 the combined pill, §11 live vaccines)."""
        return [c.as_dict() for c in treatment.medicine_cautions(medicine)]

    def validate(self, attrs):
        current = (
            {}
            if self.instance is None
            else {
                f.name: getattr(self.instance, f.name)
                for f in Medicine._meta.concrete_fields
                if f.name not in ("id", "created", "entered_by")
            }
        )
        medicine = Medicine(**{**current, **attrs})
        if self.instance is not None:
            medicine.pk = self.instance.pk
        medicine.clean()
        attrs["name"] = medicine.name
        return attrs
