"""What is derived from and followed up about a child's course: lab results (for now the
creatinine that gives the eGFR used by the dose guidance)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from diary.models import Child


class Analyte(models.TextChoices):
    CREATININE = "creatinine", _("Creatinine")


# Canonical unit per analyte, and the units accepted on entry with their factor to it.
UNITS = {
    Analyte.CREATININE: (
        "µmol/L",
        {"µmol/L": Decimal(1), "umol/L": Decimal(1), "mg/dL": Decimal("88.4")},
    ),
}
PLAUSIBLE = {Analyte.CREATININE: (Decimal("5"), Decimal("3000"))}  # µmol/L


class LabResultQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(child__in=Child.objects.visible_to(user))


class LabResult(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="lab_results")
    sample_date = models.DateField(_("sample date"))
    analyte = models.CharField(_("test"), max_length=30, choices=Analyte.choices)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=20)  # canonical
    entered_value = models.DecimalField(max_digits=10, decimal_places=3)
    entered_unit = models.CharField(max_length=20)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    caregiver_entered = models.BooleanField(default=False)
    # eGFR from a creatinine: stored with the constant and the height it used (SPARN §6.2b).
    egfr = models.DecimalField("eGFR", max_digits=6, decimal_places=1, null=True, blank=True)
    egfr_constant = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    egfr_height_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = LabResultQuerySet.as_manager()

    class Meta:
        ordering = ["-sample_date", "-pk"]
        verbose_name = _("lab result")
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="lab_value_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_analyte_display()} {self.value} {self.unit} ({self.sample_date})"

    def clean(self) -> None:
        errors = {}
        if self.sample_date and self.child_id:
            if self.sample_date > self.child.today():
                errors["sample_date"] = _("The sample date cannot be in the future.")
            elif self.sample_date < self.child.date_of_birth:
                errors["sample_date"] = _("The sample date is before the child's date of birth.")
        if errors:
            raise ValidationError(errors)
