from django.utils.translation import gettext as _
from rest_framework import serializers

from diary.api.fields import Amount, StrictModelSerializer, Text
from diary.doses import Drug, Slot, Steroid
from diary.forms import consent_version_error
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    DoseStatus,
    GrowthMeasurement,
    Site,
    SteroidDose,
)


class ChildSerializer(StrictModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", queryset=Site.objects.none())
    disease_group = serializers.CharField(read_only=True)
    has_research_consent = serializers.BooleanField(read_only=True)

    class Meta:
        model = Child
        fields = [
            "id",
            "site",
            "reference",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "diagnosis",
            "disease_group",
            "genotype",
            "instrument",
            "country",
            "timezone",
            "language",
            "consent_version",
            "consent_date",
            "consent_withdrawn_date",
            "has_research_consent",
            "created",
        ]
        read_only_fields = ["id", "created"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # Only the caller's own sites can be named: no placing a child elsewhere.
            self.fields["site"].queryset = request.user.clinical_sites()

    def validate(self, attrs):
        if (
            self.instance is not None
            and attrs.get("site", self.instance.site) != self.instance.site
        ):
            # Moving a child changes who may see them: not a field edit (the admin does it).
            raise serializers.ValidationError(
                {"site": [_("A child's site is fixed once registered.")]}
            )
        instance = Child(**{**self._current(), **attrs})
        instance.clean()  # model rules (dates, genotype, consent) with their messages
        version = attrs.get("consent_version")
        changed = version and (self.instance is None or version != self.instance.consent_version)
        # A choice from the site's consent versions, never free text.
        if (
            changed
            and instance.site_id
            and not instance.site.consent_versions.filter(label=version).exists()
        ):
            raise serializers.ValidationError(
                {"consent_version": [consent_version_error(instance.site)]}
            )
        site, reference = attrs.get("site", instance.site), attrs.get("reference", "")
        if reference:
            clash = Child.objects.filter(site=site, reference=reference)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"reference": _("Another child at this site has this reference.")}
                )
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {
            f.name: getattr(self.instance, f.name)
            for f in Child._meta.concrete_fields
            if f.name not in ("id", "created_by")
        }


# --- What families record: input shapes (validated further by diary.recording) -------------


class RecordIn(serializers.Serializer):
    id = serializers.UUIDField(help_text="Made by the client; sending the same id again is safe.")
    child = serializers.IntegerField(min_value=1)
    date = serializers.DateField()
    version = serializers.IntegerField(
        min_value=1, required=False, help_text="On a change: the version it was made against."
    )


class EntryIn(RecordIn):
    scores = serializers.DictField(child=serializers.IntegerField(), required=False)
    no_symptoms = serializers.BooleanField(required=False, default=False)
    max_temperature = Amount(max_digits=4, decimal_places=1, required=False, allow_null=True)
    illness = serializers.BooleanField(required=False, default=False)
    zoster = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Shingles (herpes zoster) that day. On a JAK inhibitor it flags the child to "
        "the clinicians (SPARN JAKi guideline §7.3).",
    )
    # Checked by diary.recording (ranges, and only with a seizures score above 0).
    seizure_count = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Number of seizures that day, 1–500. Only with a `seizures` score above 0.",
    )
    seizure_longest_min = Amount(
        max_digits=None,
        decimal_places=None,
        required=False,
        allow_null=True,
        default=None,
        help_text="The longest seizure that day in minutes, 0–1440, one decimal at most "
        "(0.5: 30 seconds). Only with a `seizures` score above 0.",
    )
    seizure_rescue = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Rescue medicine given for a seizure that day; null: not said. Only with a "
        "`seizures` score above 0.",
    )
    note = Text(required=False, allow_blank=True, default="", max_length=5000)


class DoseIn(RecordIn):
    drug = serializers.ChoiceField(choices=Drug.choices)
    slot = serializers.ChoiceField(choices=Slot.choices)
    status = serializers.ChoiceField(choices=DoseStatus.choices)
    given_mg = Amount(max_digits=8, decimal_places=2, required=False, allow_null=True)


class SteroidIn(RecordIn):
    drug = serializers.ChoiceField(choices=Steroid.choices)
    mg = Amount(max_digits=9, decimal_places=2)


class GrowthIn(RecordIn):
    weight_kg = Amount(max_digits=7, decimal_places=2, required=False, allow_null=True)
    height_cm = Amount(max_digits=6, decimal_places=1, required=False, allow_null=True)
    confirm_sds = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=False,
        help_text="Store a height or weight whose SDS is beyond ±8 (BMI ±15) for the child's age "
        "and sex; without it such a value is refused as a likely typing error.",
    )


# --- … and as stored ------------------------------------------------------------------------


class RecordOut(serializers.ModelSerializer):
    # Null when the account that reported it is gone (or for generated demo rows).
    reported_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        fields = ["id", "child", "date", "version", "reported_by", "created", "updated"]

    def get_extra_kwargs(self):
        # A stored row as it is sent back: every field is read-only.
        extra = super().get_extra_kwargs()
        for name in self.Meta.fields:
            extra.setdefault(name, {})["read_only"] = True
        return extra


class EntryOut(RecordOut):
    # Declared: the model field's yes/no choices would make it a choice of true/false.
    seizure_rescue = serializers.BooleanField(
        read_only=True,
        allow_null=True,
        label=DiaryEntry._meta.get_field("seizure_rescue").verbose_name,
    )

    class Meta(RecordOut.Meta):
        model = DiaryEntry
        fields = RecordOut.Meta.fields + [
            "instrument_key",
            "instrument_version",
            "scores",
            "score",
            "subscores",
            "answered",
            "no_symptoms",
            "fever",
            "max_temperature",
            "illness",
            "zoster",
            "seizure_count",
            "seizure_longest_min",
            "seizure_rescue",
            "note",
        ]


class DoseOut(RecordOut):
    class Meta(RecordOut.Meta):
        model = DoseAdministration
        fields = RecordOut.Meta.fields + [
            "drug",
            "slot",
            "status",
            "given_mg",
            "prescribed_mg",
            "prescription",
        ]


class SteroidOut(RecordOut):
    class Meta(RecordOut.Meta):
        model = SteroidDose
        fields = RecordOut.Meta.fields + ["drug", "mg"]


class GrowthOut(RecordOut):
    class Meta(RecordOut.Meta):
        model = GrowthMeasurement
        fields = RecordOut.Meta.fields + [
            "weight_kg",
            "height_cm",
            "growth_reference",
            "height_sds",
            "height_centile",
            "weight_sds",
            "weight_centile",
            "bmi",
            "bmi_sds",
            "bmi_centile",
            "sds_confirmed",
        ]


class ChoiceOut(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()


class ItemOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    group = serializers.CharField()
    choices = ChoiceOut(many=True)


class InstrumentOut(serializers.Serializer):
    key = serializers.CharField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    rule = serializers.CharField()
    max_score = serializers.IntegerField()
    min_answered = serializers.FloatField()
    items = ItemOut(many=True)

    def to_representation(self, instrument):
        return {
            "key": instrument.key,
            "version": instrument.version,
            "name": str(instrument.name),
            "rule": instrument.rule,
            "max_score": instrument.max_score,
            "min_answered": instrument.min_answered,
            "items": [
                {
                    "key": item.key,
                    "label": str(item.label),
                    "min": item.min,
                    "max": item.max,
                    "group": item.group,
                    "choices": [
                        {"value": n, "label": str(wording)}
                        for n, wording in enumerate(item.choices)
                    ],
                }
                for item in instrument.items
            ],
        }


# --- A whole day in one request (POST /api/days/) ------------------------------------------


def _in_a_day(incoming):
    """INCOMING without its child and date (the day gives them); version may be null."""
    fields = {
        "child": None,
        "date": None,
        "version": serializers.IntegerField(
            min_value=1,
            required=False,
            allow_null=True,
            help_text="On a change: the version it was made against. Absent or null: a new row.",
        ),
    }
    return type("Day" + incoming.__name__, (incoming,), fields)


DayEntryIn = _in_a_day(EntryIn)
DayDoseIn = _in_a_day(DoseIn)
DaySteroidIn = _in_a_day(SteroidIn)
DayGrowthIn = _in_a_day(GrowthIn)


class DayIn(serializers.Serializer):
    child = serializers.IntegerField(min_value=1)
    date = serializers.DateField()
    entry = DayEntryIn(
        required=False, allow_null=True, help_text="Symptoms and the day's fields; null: unchanged."
    )
    # A day has at most three slots of a drug or two (a switch); a few steroid doses at most.
    doses = DayDoseIn(
        many=True, required=False, max_length=9, help_text="JAK inhibitor dose slots recorded."
    )
    steroids = DaySteroidIn(
        many=True, required=False, max_length=10, help_text="Steroid doses given."
    )
    growth = DayGrowthIn(
        required=False, allow_null=True, help_text="Weight and height; null: none."
    )


class DayOut(serializers.Serializer):
    child = serializers.IntegerField()
    date = serializers.DateField()
    entry = EntryOut(allow_null=True)
    doses = DoseOut(many=True)
    steroids = SteroidOut(many=True)
    growth = GrowthOut(allow_null=True)
