"""What is recorded each day or visit: diary days, dose administrations, steroid doses, weight and
height, visit assessments."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from diary import assessments
from diary.doses import SEIZURE_COUNT, SEIZURE_MINUTES, Drug, Slot, Steroid
from diary.growth import GrowthReference
from diary.models.children import Child, ChildDataQuerySet, ChildScopedQuerySet
from diary.models.treatment import Prescription


class Recorded(models.Model):
    """What every recorded row has: a client-made id (so a replay never duplicates), the child,
    the family's local day, who reported it, and a version for optimistic concurrency."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="+")
    date = models.DateField(_("date"))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ChildDataQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.child_id} {self.date}"


class DiaryEntry(Recorded):
    instrument_key = models.CharField(max_length=20)
    instrument_version = models.PositiveSmallIntegerField()
    scores = models.JSONField(_("scores"), default=dict)
    score = models.FloatField(_("daily score"), null=True, blank=True)
    subscores = models.JSONField(default=dict, blank=True)
    answered = models.PositiveSmallIntegerField(default=0)
    no_symptoms = models.BooleanField(_("no symptoms today"), default=False)
    fever = models.BooleanField(_("fever"), default=False)
    max_temperature = models.DecimalField(
        _("highest temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    illness = models.BooleanField(_("illness or infection"), default=False)
    # SPARN §7.3: a JAK inhibitor is interrupted for herpes zoster (outcomes.signals flags it).
    # The database default lets bulk loaders that do not name the column still insert rows.
    zoster = models.BooleanField(
        _("shingles (herpes zoster) rash"),
        default=False,
        db_default=False,
        help_text=_(
            "A painful rash of small blisters in a band on one side of the body or face. Tick it "
            "if a doctor said it is shingles, or if you think it may be."
        ),
    )
    # Seizure details, only on a day whose seizures item is above 0 (diary.recording); each is
    # optional: empty is "not said", never "none".
    seizure_count = models.PositiveSmallIntegerField(_("number of seizures"), null=True, blank=True)
    seizure_longest_min = models.DecimalField(
        _("longest seizure (minutes)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    seizure_rescue = models.BooleanField(
        _("rescue medicine given"),
        null=True,
        blank=True,
        choices=[(True, _("yes")), (False, _("no"))],
    )
    note = models.TextField(_("note"), blank=True)
    history = HistoricalRecords()

    class Meta(Recorded.Meta):
        verbose_name = _("diary entry")
        verbose_name_plural = _("diary entries")
        constraints = [
            models.UniqueConstraint(fields=["child", "date"], name="one_entry_per_child_and_day"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=24),
                name="entry_score_in_range",
            ),
            models.CheckConstraint(
                condition=Q(max_temperature__isnull=True)
                | Q(max_temperature__gte=34, max_temperature__lte=43),
                name="entry_temperature_plausible",
            ),
            models.CheckConstraint(
                condition=Q(seizure_count__isnull=True)
                | Q(seizure_count__gte=SEIZURE_COUNT[0], seizure_count__lte=SEIZURE_COUNT[1]),
                name="entry_seizure_count_plausible",
            ),
            models.CheckConstraint(
                condition=Q(seizure_longest_min__isnull=True)
                | Q(
                    seizure_longest_min__gte=SEIZURE_MINUTES[0],
                    seizure_longest_min__lte=SEIZURE_MINUTES[1],
                ),
                name="entry_seizure_minutes_plausible",
            ),
            # "No symptoms today" scores the seizures item 0: no seizure details can go with it.
            models.CheckConstraint(
                condition=Q(no_symptoms=False)
                | Q(
                    seizure_count__isnull=True,
                    seizure_longest_min__isnull=True,
                    seizure_rescue__isnull=True,
                ),
                name="entry_no_seizure_details_without_symptoms",
            ),
        ]
        # Covers the cohort statistics (outcomes.cohort_sql), which then read no table rows.
        indexes = [models.Index(fields=["child", "date", "score"], name="entry_child_date_score")]


class DoseStatus(models.TextChoices):
    GIVEN = "given", _("Given as prescribed")
    MISSED = "missed", _("Missed")
    DIFFERENT = "different", _("A different amount")


class DoseAdministration(Recorded):
    """What a caregiver gave of a JAK inhibitor in one slot of one day."""

    slot = models.CharField(_("time of day"), max_length=10, choices=Slot.choices)
    drug = models.CharField(_("drug"), max_length=20, choices=Drug.choices)
    prescription = models.ForeignKey(
        Prescription, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    prescribed_mg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=DoseStatus.choices)
    given_mg = models.DecimalField(_("amount given (mg)"), max_digits=6, decimal_places=2)
    history = HistoricalRecords()

    class Meta(Recorded.Meta):
        verbose_name = _("dose given")
        verbose_name_plural = _("doses given")
        constraints = [
            models.UniqueConstraint(
                fields=["child", "date", "drug", "slot"], name="one_dose_per_slot_and_day"
            ),
            models.CheckConstraint(condition=Q(given_mg__gte=0), name="dose_given_not_negative"),
        ]


class SteroidDose(Recorded):
    drug = models.CharField(_("steroid"), max_length=20, choices=Steroid.choices)
    mg = models.DecimalField(_("dose (mg)"), max_digits=7, decimal_places=2)
    history = HistoricalRecords()

    class Meta(Recorded.Meta):
        verbose_name = _("steroid dose")
        constraints = [
            models.CheckConstraint(condition=Q(mg__gt=0), name="steroid_dose_positive"),
        ]
        # Covers the cohort statistics (outcomes.cohort_sql), which then read no table rows.
        indexes = [
            models.Index(fields=["child", "date", "drug", "mg"], name="steroid_child_date_dose")
        ]


class GrowthMeasurement(Recorded):
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    height_cm = models.DecimalField(
        _("height (cm)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    # Computed on save (diary.growth) against the site's reference, stored with it.
    # Database defaults too: the benchmarks' loader COPYs weights and heights alone.
    growth_reference = models.CharField(
        _("growth reference"),
        max_length=10,
        choices=GrowthReference.choices,
        blank=True,
        default="",
        db_default="",
    )
    height_sds = models.FloatField(_("height SDS"), null=True, blank=True)
    height_centile = models.FloatField(_("height centile"), null=True, blank=True)
    weight_sds = models.FloatField(_("weight SDS"), null=True, blank=True)
    weight_centile = models.FloatField(_("weight centile"), null=True, blank=True)
    bmi = models.DecimalField(
        _("BMI (kg/m²)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    bmi_sds = models.FloatField(_("BMI SDS"), null=True, blank=True)
    bmi_centile = models.FloatField(_("BMI centile"), null=True, blank=True)
    # An SDS beyond diary.growth.SDS_LIMITS was confirmed as measured, not a typing error.
    sds_confirmed = models.BooleanField(_("extreme SDS confirmed"), default=False, db_default=False)
    history = HistoricalRecords()

    class Meta(Recorded.Meta):
        verbose_name = _("weight and height")
        verbose_name_plural = _("weights and heights")
        constraints = [
            models.UniqueConstraint(fields=["child", "date"], name="one_measurement_per_day"),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=False) | Q(height_cm__isnull=False),
                name="measurement_has_a_value",
            ),
            models.CheckConstraint(
                condition=(Q(weight_kg__isnull=True) | Q(weight_kg__gt=0))
                & (Q(height_cm__isnull=True) | Q(height_cm__gt=0)),
                name="measurement_positive",
            ),
        ]


class VisitAssessment(models.Model):
    """At a visit: the AGS Scale (11 items, one point each), and the physician's and the
    parent's global assessments (100 mm visual-analogue scale, 100 = worst). Any of the three
    may be missing; one of them at least is recorded."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="assessments")
    date = models.DateField(_("visit date"))
    ags_items = models.JSONField(_("AGS Scale items"), null=True, blank=True)
    ags_scale = models.PositiveSmallIntegerField(_("AGS Scale"), null=True, blank=True)
    physician_global = models.DecimalField(
        _("physician's global assessment (mm)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
    )
    parent_global = models.DecimalField(
        _("parent's global assessment (mm)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = ChildScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name = _("visit assessment")
        verbose_name_plural = _("visit assessments")
        constraints = [
            models.UniqueConstraint(fields=["child", "date"], name="one_assessment_per_visit_day"),
            models.CheckConstraint(
                condition=Q(ags_scale__isnull=True)
                | Q(ags_scale__gte=0, ags_scale__lte=assessments.AGS_SCALE_MAX),
                name="assessment_ags_scale_in_range",
            ),
            models.CheckConstraint(
                condition=(
                    Q(physician_global__isnull=True)
                    | Q(physician_global__gte=0, physician_global__lte=100)
                )
                & (Q(parent_global__isnull=True) | Q(parent_global__gte=0, parent_global__lte=100)),
                name="assessment_vas_in_range",
            ),
            models.CheckConstraint(
                condition=Q(ags_scale__isnull=False)
                | Q(physician_global__isnull=False)
                | Q(parent_global__isnull=False),
                name="assessment_has_a_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.child_id} {self.date}"

    @classmethod
    def series_for(cls, child) -> dict[str, list[tuple[date, float]]]:
        """`assessments.series` of CHILD's recorded assessments (one query)."""
        rows = cls.objects.filter(child=child).values_list("date", *assessments.SERIES)
        return assessments.series(rows.order_by("date"))

    @property
    def severity_band(self) -> str | None:
        return assessments.severity_band(self.ags_scale)

    def get_severity_band_display(self) -> str:
        band = self.severity_band
        return str(assessments.BAND_LABELS.get(band, band or ""))

    def clean(self) -> None:
        errors = {}
        try:
            values = assessments.clean(
                {
                    "ags_items": self.ags_items,
                    "physician_global": self.physician_global,
                    "parent_global": self.parent_global,
                }
            )
        except assessments.Invalid as invalid:
            for key, message in invalid.errors.items():
                errors.setdefault(key.split(".")[0], []).append(message)
        else:
            self.ags_items, self.ags_scale = values["ags_items"], values["ags_scale"]
        if self.date and self.child_id:
            if self.date > self.child.today():
                errors["date"] = [_("The visit date cannot be in the future.")]
            elif self.date < self.child.date_of_birth:
                errors["date"] = [_("The visit date is before the child's date of birth.")]
            elif (
                VisitAssessment.objects.filter(child_id=self.child_id, date=self.date)
                .exclude(pk=self.pk)
                .exists()
            ):
                errors["date"] = [
                    _("An assessment is already recorded for this visit day: change that one.")
                ]
        if errors:
            raise ValidationError(errors)
