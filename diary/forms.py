from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from diary.models import Child, ConsentVersion, Relationship, Role


class DateInput(forms.DateInput):
    input_type = "date"


class ChildForm(forms.ModelForm):
    class Meta:
        model = Child
        fields = [
            "site",
            "reference",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "diagnosis",
            "genotype",
            "instrument",
            "country",
            "timezone",
            "language",
            "consent_version",
            "consent_date",
            "consent_withdrawn_date",
        ]
        widgets = {
            "date_of_birth": DateInput,
            "consent_date": DateInput,
            "consent_withdrawn_date": DateInput,
        }

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        # A clinician can only place a child at one of their own sites.
        self.fields["site"].queryset = sites
        if sites.count() == 1 and not self.instance.pk:
            self.fields["site"].initial = sites.first()
        if self.instance.pk:
            # Moving a child changes who may see them: not a field edit (the admin does it).
            self.fields["site"].disabled = True
        # The consent version is chosen from those the site's administrators defined.
        labels = sorted(
            set(ConsentVersion.objects.filter(site__in=sites).values_list("label", flat=True))
        )
        current = self.instance.consent_version
        if current and current not in labels:
            labels.append(current)  # kept as recorded
        self.fields["consent_version"] = forms.ChoiceField(
            label=Child._meta.get_field("consent_version").verbose_name.capitalize(),
            choices=[("", "—"), *((label, label) for label in labels)],
            required=False,
            help_text=_(
                "The versions of the consent form are defined by the site's administrators."
            ),
        )

    def clean(self):
        cleaned = super().clean()
        site, reference = cleaned.get("site"), cleaned.get("reference")
        version = cleaned.get("consent_version")
        changed = version and version != self.instance.consent_version
        if site and changed and not site.consent_versions.filter(label=version).exists():
            self.add_error("consent_version", consent_version_error(site))
        if site and reference:
            clash = Child.objects.filter(site=site, reference=reference).exclude(
                pk=self.instance.pk
            )
            if clash.exists():
                self.add_error("reference", _("Another child at this site has this reference."))
        return cleaned


class CaregiverInviteForm(forms.Form):
    email = forms.EmailField(label=_("Caregiver's email"))
    relationship = forms.ChoiceField(label=_("Relationship to the child"), choices=Relationship)


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role)


class AcceptInvitationForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            user = get_user_model()(
                username=self.email,
                email=self.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(p1, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


def consent_version_error(site) -> str:
    labels = ", ".join(site.consent_versions.values_list("label", flat=True)) or "—"
    return _(
        "Choose one of the consent versions defined by the site's administrators: %(labels)s."
    ) % {"labels": labels}
