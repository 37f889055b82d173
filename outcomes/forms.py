from django import forms
from django.utils.translation import gettext_lazy as _

from diary.forms import DateInput
from diary.models import Child, Medicine, Prescription, Screening, SteroidPrescription
from outcomes.models import UNITS, Analyte


class PrescriptionForm(forms.ModelForm):
    class Meta:
        model = Prescription
        fields = [
            "drug",
            "indication",
            "start_date",
            "morning_mg",
            "afternoon_mg",
            "evening_mg",
            "reason",
            "note",
            "tertiary_discussed_with",
            "tertiary_discussed_on",
            "override_reason",
        ]
        widgets = {
            "start_date": DateInput,
            "tertiary_discussed_on": DateInput,
            "note": forms.Textarea(attrs={"rows": 2}),
            "override_reason": forms.Textarea(attrs={"rows": 2}),
        }
        localized_fields = ["morning_mg", "afternoon_mg", "evening_mg"]


class SteroidPrescriptionForm(forms.ModelForm):
    class Meta:
        model = SteroidPrescription
        fields = ["drug", "start_date", "mg_per_day", "note"]
        widgets = {"start_date": DateInput, "note": forms.Textarea(attrs={"rows": 2})}
        localized_fields = ["mg_per_day"]


class MarkersForm(forms.ModelForm):
    class Meta:
        model = Child
        fields = ["optimal_dose_date", "final_visit_date"]
        widgets = {"optimal_dose_date": DateInput, "final_visit_date": DateInput}

    def clean(self):
        cleaned = super().clean()
        optimal, final = cleaned.get("optimal_dose_date"), cleaned.get("final_visit_date")
        if optimal and optimal > self.instance.today():
            self.add_error("optimal_dose_date", _("The date cannot be in the future."))
        if optimal and final and final < optimal:
            self.add_error(
                "final_visit_date", _("The final visit cannot precede the optimal dose.")
            )
        if final and final < self.instance.date_of_birth:
            self.add_error("final_visit_date", _("The date is before the child's date of birth."))
        return cleaned


class CreatinineForm(forms.Form):
    sample_date = forms.DateField(label=_("Sample date"), widget=DateInput)
    value = forms.DecimalField(
        label=_("Creatinine"), max_digits=10, decimal_places=3, localize=True
    )
    unit = forms.ChoiceField(
        label=_("Unit"),
        choices=[(u, u) for u in UNITS[Analyte.CREATININE][1] if u != "umol/L"],
    )


class ScreeningForm(forms.ModelForm):
    class Meta:
        model = Screening
        fields = ["item", "outcome", "date", "note"]
        widgets = {"date": DateInput, "note": forms.Textarea(attrs={"rows": 2})}


class MedicineForm(forms.ModelForm):
    class Meta:
        model = Medicine
        fields = ["name", "kind", "dose", "start_date", "stop_date", "note"]
        widgets = {
            "start_date": DateInput,
            "stop_date": DateInput,
            "note": forms.Textarea(attrs={"rows": 2}),
        }
