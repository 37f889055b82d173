"""Children, who may see them (care links, invitations) and the querysets every query of a child's
data starts from."""

import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from diary import instruments
from diary.models.people import CLINICAL_ROLES, TIMEZONE_CHOICES, Role, Site, SiteMembership


class Diagnosis(models.TextChoices):
    AGS1 = "AGS1", "AGS1 (TREX1)"
    AGS2 = "AGS2", "AGS2 (RNASEH2B)"
    AGS3 = "AGS3", "AGS3 (RNASEH2C)"
    AGS4 = "AGS4", "AGS4 (RNASEH2A)"
    AGS5 = "AGS5", "AGS5 (SAMHD1)"
    AGS6 = "AGS6", "AGS6 (ADAR)"
    AGS7 = "AGS7", "AGS7 (IFIH1)"
    AGS8 = "AGS8", "AGS8 (LSM11)"
    AGS9 = "AGS9", "AGS9 (RNU7-1)"
    CANDLE = "CANDLE", "CANDLE / PRAAS"
    SAVI = "SAVI", "SAVI (STING1)"
    OTHER = "OTHER", _("Other or undefined interferonopathy")


# DOMAIN §2: the gene that defines each AGS subtype and SAVI.
DIAGNOSIS_GENE = {
    "AGS1": "TREX1",
    "AGS2": "RNASEH2B",
    "AGS3": "RNASEH2C",
    "AGS4": "RNASEH2A",
    "AGS5": "SAMHD1",
    "AGS6": "ADAR",
    "AGS7": "IFIH1",
    "AGS8": "LSM11",
    "AGS9": "RNU7-1",
    "SAVI": "STING1",
}


def disease_group(diagnosis: str) -> str:
    """The coarse group used where a genotype would identify a child (DOMAIN §9)."""
    if diagnosis.startswith("AGS"):
        return "AGS"
    return diagnosis


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "X", _("Other / not stated")


class ChildQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ChildQuerySet":
        """The children USER may see: linked as a caregiver, or a clinician of their site.

        Every view and API query for health data starts here.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        care = CareLink.objects.filter(caregiver=user).values("child")
        sites = SiteMembership.objects.filter(user=user, role__in=CLINICAL_ROLES).values("site")
        return self.filter(Q(pk__in=care) | Q(site__in=sites))

    def managed_by(self, user) -> "ChildQuerySet":
        """The children whose record USER may change: clinicians of the child's site."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        sites = SiteMembership.objects.filter(user=user, role__in=CLINICAL_ROLES).values("site")
        return self.filter(site__in=sites)


class Child(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="children")
    reference = models.CharField(
        _("site reference"),
        max_length=40,
        blank=True,
        help_text=_("The site's own reference for the child (e.g. hospital number)."),
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    date_of_birth = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    diagnosis = models.CharField(_("diagnosis"), max_length=10, choices=Diagnosis.choices)
    genotype = models.CharField(
        _("genotype"),
        max_length=100,
        blank=True,
        help_text=_("Gene and variant(s), e.g. RNASEH2B c.529G>A homozygous."),
    )
    country = CountryField(_("country"))
    timezone = models.CharField(
        _("family time zone"), max_length=64, choices=TIMEZONE_CHOICES, default="Europe/London"
    )
    language = models.CharField(
        _("family language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    instrument = models.CharField(
        _("diary"),
        max_length=20,
        choices=instruments.CHOICES,
        blank=True,
        help_text=_("Leave empty to use the diary of the diagnosis."),
    )
    optimal_dose_date = models.DateField(
        _("optimal dose reached on"),
        null=True,
        blank=True,
        help_text=_(
            "Leave empty to derive it: the start of the latest prescription unchanged for 90 days."
        ),
    )
    final_visit_date = models.DateField(
        _("final visit / data cut-off"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use today."),
    )
    consent_version = models.CharField(_("research consent version"), max_length=40, blank=True)
    consent_date = models.DateField(_("research consent date"), null=True, blank=True)
    consent_withdrawn_date = models.DateField(_("consent withdrawn on"), null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    objects = ChildQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "pk"]
        verbose_name = _("child")
        verbose_name_plural = _("children")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "reference"],
                condition=~Q(reference=""),
                name="unique_child_reference_per_site",
            ),
            models.CheckConstraint(
                condition=Q(consent_date__isnull=True) | ~Q(consent_version=""),
                name="consent_date_needs_version",
            ),
            models.CheckConstraint(
                condition=Q(consent_withdrawn_date__isnull=True)
                | Q(
                    consent_date__isnull=False, consent_withdrawn_date__gte=models.F("consent_date")
                ),
                name="withdrawal_after_consent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def clean(self) -> None:
        errors = {}
        today = timezone.localdate()
        if self.date_of_birth and self.date_of_birth > today:
            errors["date_of_birth"] = _("The date of birth cannot be in the future.")
        gene = DIAGNOSIS_GENE.get(self.diagnosis)
        if gene and self.genotype and not self.genotype.upper().startswith(gene):
            errors["genotype"] = _(
                "%(diagnosis)s is caused by %(gene)s: start the genotype with it."
            ) % {
                "diagnosis": self.diagnosis,
                "gene": gene,
            }
        if self.consent_date and not self.consent_version:
            errors["consent_version"] = _("Give the version of the consent form signed.")
        if self.consent_date and self.consent_date > today:
            errors["consent_date"] = _("The consent date cannot be in the future.")
        if self.consent_withdrawn_date:
            if not self.consent_date:
                errors["consent_withdrawn_date"] = _("There is no consent to withdraw.")
            elif self.consent_withdrawn_date < self.consent_date:
                errors["consent_withdrawn_date"] = _("Withdrawal cannot precede consent.")
        if errors:
            raise ValidationError(errors)

    @property
    def disease_group(self) -> str:
        return disease_group(self.diagnosis)

    def get_instrument(self) -> instruments.Instrument:
        return instruments.get(self.instrument or instruments.default_for(self.diagnosis))

    def local_now(self) -> datetime:
        """Now on the family's clock: their days, not the server's, are the diary's days."""
        return timezone.now().astimezone(zoneinfo.ZoneInfo(self.timezone))

    def today(self) -> date:
        return self.local_now().date()

    @property
    def has_research_consent(self) -> bool:
        return bool(self.consent_date) and not self.consent_withdrawn_date

    def age_in_years(self, on=None) -> int:
        on = on or timezone.localdate()
        dob = self.date_of_birth
        return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


class Relationship(models.TextChoices):
    MOTHER = "mother", _("Mother")
    FATHER = "father", _("Father")
    PARENT = "parent", _("Parent")
    GRANDPARENT = "grandparent", _("Grandparent")
    GUARDIAN = "guardian", _("Legal guardian")
    HOME_NURSE = "home_nurse", _("Nurse at home")
    OTHER = "other", _("Other carer")


class CareLink(models.Model):
    """A caregiver who records for, and sees, one child."""

    caregiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_links"
    )
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="care_links")
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caregiver", "child"], name="one_link_per_caregiver")
        ]
        verbose_name = _("caregiver link")

    def __str__(self) -> str:
        return f"{self.caregiver} – {self.child} ({self.get_relationship_display()})"


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> "InvitationQuerySet":
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """An emailed, signed, expiring link: for a caregiver of a child, or a member of a site."""

    email = models.EmailField(_("email"))
    child = models.ForeignKey(
        Child, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    relationship = models.CharField(
        _("relationship"), max_length=20, choices=Relationship.choices, blank=True
    )
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(child__isnull=False, site__isnull=True, role="") & ~Q(relationship=""))
                | Q(child__isnull=True, site__isnull=False, relationship="") & ~Q(role=""),
                name="invitation_is_for_a_child_or_a_site",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.child or self.site}"


class ChildScopedQuerySet(models.QuerySet):
    """Rows of a model with a `child`: those of the children USER may see."""

    def visible_to(self, user):
        return self.filter(child__in=Child.objects.visible_to(user))


class ChildDataQuerySet(ChildScopedQuerySet):
    """Rows that belong to one child: scoped, by child, by date."""

    def for_child(self, child):
        return self.filter(child=child)

    def between(self, first, last):
        return self.filter(date__gte=first, date__lte=last)
