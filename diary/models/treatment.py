"""Treatment: prescriptions, steroid courses, screening before a JAK inhibitor, other medicines."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from diary.doses import SLOTS, Drug, Steroid, dose_problem
from diary.models.children import Child, ChildScopedQuerySet

FUTURE_PRESCRIPTION_DAYS = 90  # a planned change may be entered ahead, not further


class PrescriptionReason(models.TextChoices):
    INITIAL = "initial", _("Initial")
    ESCALATION = "escalation", _("Escalation")
    REDUCTION = "reduction", _("Reduction")
    INTERRUPTION = "interruption", _("Interruption")
    RESTART = "restart", _("Restart")
    STOP = "stop", _("Stop")


class PrescriptionQuerySet(ChildScopedQuerySet):
    def in_force_on(self, day) -> "Prescription | None":
        """The prescription in force on DAY: the latest started on or before it.

        One timeline per child: a switch of drug, an interruption or a stop is simply the
        next prescription."""
        return self.filter(start_date__lte=day).order_by("-start_date").first()


class Indication(models.TextChoices):
    INTERFERONOPATHY = "interferonopathy", _("Type I interferonopathy")
    JDM = "jdm", _("Juvenile dermatomyositis")
    JIA = "jia", _("Juvenile idiopathic arthritis")


class Prescription(models.Model):
    """A JAK inhibitor regimen from its start date until the next prescription: a dose change,
    a switch of drug, an interruption (all slots 0) or a stop is a new prescription."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="prescriptions")
    drug = models.CharField(_("drug"), max_length=20, choices=Drug.choices)
    indication = models.CharField(
        _("indication"),
        max_length=20,
        choices=Indication.choices,
        default=Indication.INTERFERONOPATHY,
    )
    start_date = models.DateField(_("start date"))
    morning_mg = models.DecimalField(_("morning (mg)"), max_digits=6, decimal_places=2, default=0)
    afternoon_mg = models.DecimalField(
        _("afternoon (mg)"), max_digits=6, decimal_places=2, default=0
    )
    evening_mg = models.DecimalField(_("evening (mg)"), max_digits=6, decimal_places=2, default=0)
    reason = models.CharField(_("reason"), max_length=20, choices=PrescriptionReason.choices)
    note = models.TextField(_("note"), blank=True)
    override_reason = models.TextField(
        _("reason for going beyond the guideline"),
        blank=True,
        help_text=_("Required when the prescription raises a guideline warning."),
    )
    # SPARN §6.3: baricitinib above 10 mg/day (up to 12) over 40 kg "after discussion with
    # tertiary team": who and when, recorded with the prescription.
    tertiary_discussed_with = models.CharField(
        _("tertiary team discussion: with whom"), max_length=200, blank=True
    )
    tertiary_discussed_on = models.DateField(
        _("tertiary team discussion: date"), null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = PrescriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = _("prescription")
        constraints = [
            models.CheckConstraint(
                condition=Q(morning_mg__gte=0, afternoon_mg__gte=0, evening_mg__gte=0),
                name="prescription_doses_not_negative",
            ),
            models.UniqueConstraint(
                fields=["child", "start_date"], name="one_prescription_per_child_and_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} {self.total_mg} mg/day from {self.start_date}"

    def clean(self) -> None:
        errors = {}
        doses = [self.morning_mg, self.afternoon_mg, self.evening_mg]
        if any(mg is not None and mg < 0 for mg in doses):
            errors["morning_mg"] = _("A dose cannot be negative.")
        elif self.reason not in (
            PrescriptionReason.INTERRUPTION,
            PrescriptionReason.STOP,
        ) and not any(doses):
            errors["morning_mg"] = _("Give the dose of at least one time of day.")
        elif self.reason in (PrescriptionReason.INTERRUPTION, PrescriptionReason.STOP) and any(
            doses
        ):
            errors["reason"] = _("An interruption or a stop has no dose: set every time to 0.")
        elif self.drug and (problem := dose_problem(self.drug, sum(d or 0 for d in doses))):
            errors["morning_mg"] = problem
        if bool(self.tertiary_discussed_with.strip()) != bool(self.tertiary_discussed_on):
            errors["tertiary_discussed_on"] = _(
                "Record the tertiary team discussion with both whom and when."
            )
        elif (
            self.tertiary_discussed_on
            and self.child_id
            and (self.tertiary_discussed_on > self.child.today())
        ):
            errors["tertiary_discussed_on"] = _("The discussion date cannot be in the future.")
        if self.start_date and self.child_id:
            if self.start_date < self.child.date_of_birth:
                errors["start_date"] = _("The start date is before the child's date of birth.")
            elif self.start_date > self.child.today() + timedelta(days=FUTURE_PRESCRIPTION_DAYS):
                errors["start_date"] = _("The start date is more than %(days)d days ahead.") % {
                    "days": FUTURE_PRESCRIPTION_DAYS
                }
            clash = Prescription.objects.filter(child_id=self.child_id, start_date=self.start_date)
            if clash.exclude(pk=self.pk).exists():
                errors["start_date"] = _(
                    "Another prescription starts on this day: change that one instead."
                )
        if errors:
            raise ValidationError(errors)

    def slot_mg(self, slot: str):
        return getattr(self, f"{slot}_mg")

    @property
    def total_mg(self):
        return self.morning_mg + self.afternoon_mg + self.evening_mg

    @property
    def slots(self) -> list[tuple[str, object]]:
        """The slots with a dose, in the order of the day."""
        return [(slot, self.slot_mg(slot)) for slot in SLOTS if self.slot_mg(slot) > 0]


class SteroidPrescription(models.Model):
    """A corticosteroid regimen from its start date until the next one (0 mg/day: stopped)."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="steroid_prescriptions")
    drug = models.CharField(_("steroid"), max_length=20, choices=Steroid.choices)
    start_date = models.DateField(_("start date"))
    mg_per_day = models.DecimalField(_("mg per day"), max_digits=7, decimal_places=2)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = PrescriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = _("steroid prescription")
        constraints = [
            models.CheckConstraint(condition=Q(mg_per_day__gte=0), name="steroid_rx_not_negative"),
            models.UniqueConstraint(
                fields=["child", "start_date"], name="one_steroid_prescription_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} {self.mg_per_day} mg/day from {self.start_date}"

    def clean(self) -> None:
        errors = {}
        if self.mg_per_day is not None and (problem := dose_problem(self.drug, self.mg_per_day)):
            errors["mg_per_day"] = problem
        if self.start_date and self.child_id and self.start_date < self.child.date_of_birth:
            errors["start_date"] = _("The start date is before the child's date of birth.")
        if errors:
            raise ValidationError(errors)


class ScreeningItem(models.TextChoices):
    TB = "tb", _("Tuberculosis screen")
    VZV = "vzv", _("Varicella zoster (VZV): past infection, IgG or vaccination")
    HSV = "hsv", _("Previous herpes simplex (HSV) infection")
    MMR = "mmr", _("MMR vaccination")
    PREGNANCY = "pregnancy", _("Pregnancy test")
    CONTRACEPTION = "contraception", _("Contraception")


class ScreeningOutcome(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    LATENT_TREATED = "latent_treated", _("Latent TB, treated or on treatment")
    LATENT_UNTREATED = "latent_untreated", _("Latent TB, not treated")
    ACTIVE = "active", _("Active TB")
    IMMUNE = "immune", _("Immune (past infection or IgG detected)")
    VACCINATED = "vaccinated", _("Vaccinated")
    NOT_IMMUNE = "not_immune", _("Not immune, not vaccinated")
    PREVIOUS_INFECTION = "previous_infection", _("Previous infection documented")
    NO_PREVIOUS_INFECTION = "no_previous_infection", _("No previous infection")
    POSITIVE = "positive", _("Positive")
    EFFECTIVE = "effective", _("Effective contraception, not the combined pill")
    COMBINED_PILL = "combined_pill", _("Combined contraceptive pill")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


S, OUT = ScreeningItem, ScreeningOutcome

SCREENING_OUTCOMES = {
    S.TB: (OUT.NEGATIVE, OUT.LATENT_TREATED, OUT.LATENT_UNTREATED, OUT.ACTIVE),
    S.VZV: (OUT.IMMUNE, OUT.VACCINATED, OUT.NOT_IMMUNE),
    S.HSV: (OUT.PREVIOUS_INFECTION, OUT.NO_PREVIOUS_INFECTION),
    S.MMR: (OUT.IMMUNE, OUT.VACCINATED, OUT.NOT_IMMUNE),
    S.PREGNANCY: (OUT.NEGATIVE, OUT.POSITIVE, OUT.NOT_APPLICABLE),
    S.CONTRACEPTION: (OUT.EFFECTIVE, OUT.COMBINED_PILL, OUT.NOT_APPLICABLE),
}


class Screening(models.Model):
    """One screening result before a JAK inhibitor (the latest of each item counts)."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="screenings")
    item = models.CharField(_("screening"), max_length=20, choices=ScreeningItem.choices)
    outcome = models.CharField(_("outcome"), max_length=30, choices=ScreeningOutcome.choices)
    date = models.DateField(_("date"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = ChildScopedQuerySet.as_manager()

    class Meta:
        ordering = ["item", "-date", "-pk"]
        verbose_name = _("screening")
        constraints = [
            models.UniqueConstraint(
                fields=["child", "item", "date"], name="one_screening_per_item_and_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.outcome} {self.date}"

    def clean(self) -> None:
        errors = {}
        allowed = SCREENING_OUTCOMES.get(self.item, ())
        if self.item and self.outcome and self.outcome not in allowed:
            errors["outcome"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(str(ScreeningOutcome(o).label) for o in allowed)
            }
        if self.date and self.child_id:
            if self.date > self.child.today():
                errors["date"] = _("The date cannot be in the future.")
            elif self.date < self.child.date_of_birth:
                errors["date"] = _("The date is before the child's date of birth.")
        if errors:
            raise ValidationError(errors)


class MedicineKind(models.TextChoices):
    OTHER = "other", _("Other")
    METHOTREXATE = "methotrexate", _("Methotrexate")
    LEFLUNOMIDE = "leflunomide", _("Leflunomide")
    BIOLOGIC = "biologic", _("Biologic (e.g. anti-TNF, tocilizumab, anakinra)")
    COMBINED_PILL = "combined_pill", _("Combined contraceptive pill")
    LIVE_VACCINE = "live_vaccine", _("Live vaccine (e.g. MMR, varicella, BCG)")


class Medicine(models.Model):
    """A medicine the child takes besides the JAK inhibitor and steroids, from START to STOP
    (none: still taken; a vaccine: the day given), entered by clinicians or caregivers."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="medicines")
    name = models.CharField(_("medicine"), max_length=120)
    kind = models.CharField(
        _("kind"), max_length=20, choices=MedicineKind.choices, default=MedicineKind.OTHER
    )
    dose = models.CharField(_("dose"), max_length=120, blank=True)
    start_date = models.DateField(_("start date"))
    stop_date = models.DateField(_("stop date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = ChildScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "name"]
        verbose_name = _("other medicine")
        constraints = [
            models.CheckConstraint(
                condition=Q(stop_date__isnull=True) | Q(stop_date__gte=models.F("start_date")),
                name="medicine_stops_after_it_starts",
            ),
            models.UniqueConstraint(
                fields=["child", "name", "start_date"], name="one_medicine_per_name_and_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} from {self.start_date}"

    def clean(self) -> None:
        errors = {}
        self.name = (self.name or "").strip()
        if not self.name:
            errors["name"] = _("Give the medicine's name.")
        if self.start_date and self.stop_date and self.stop_date < self.start_date:
            errors["stop_date"] = _("The stop date is before the start date.")
        if self.start_date and self.child_id:
            if self.start_date < self.child.date_of_birth:
                errors["start_date"] = _("The start date is before the child's date of birth.")
            elif self.start_date > self.child.today() + timedelta(days=FUTURE_PRESCRIPTION_DAYS):
                errors["start_date"] = _("The start date is more than %(days)d days ahead.") % {
                    "days": FUTURE_PRESCRIPTION_DAYS
                }
            clash = Medicine.objects.filter(
                child_id=self.child_id, name__iexact=self.name, start_date=self.start_date
            )
            if self.name and clash.exclude(pk=self.pk).exists():
                errors["name"] = _("This medicine is already recorded from this day.")
        if errors:
            raise ValidationError(errors)
