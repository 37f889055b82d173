"""People, sites and children, and who may see which child."""

import uuid
import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from knox.models import AbstractAuthToken
from simple_history.models import HistoricalRecords

from diary import assessments, instruments
from diary.doses import SEIZURE_COUNT, SEIZURE_MINUTES, SLOTS, Drug, Slot, Steroid, dose_problem
from diary.growth import DEFAULT_REFERENCE, GrowthReference

FUTURE_PRESCRIPTION_DAYS = 90  # a planned change may be entered ahead, not further

TIMEZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones() if "/" in tz)


class Role(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician")
    SITE_ADMIN = "site_admin", _("Site administrator")
    RESEARCHER = "researcher", _("Researcher")


# Roles whose members see every child of the site.
CLINICAL_ROLES = (Role.CLINICIAN, Role.SITE_ADMIN)


class Channel(models.TextChoices):
    """How a caregiver is reminded: by email, by a notification on their devices, or both."""

    EMAIL = "email", _("Email")
    NOTIFICATION = "notification", _("Notification on my devices")
    BOTH = "both", _("Both")


class User(AbstractUser):
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    test_reminders = models.BooleanField(_("remind me when a blood test is due"), default=False)
    diary_reminder_time = models.TimeField(
        _("remind me to fill in the diary at"),
        null=True,
        blank=True,
        help_text=_("Only if the day's entry is still missing. Leave empty for no reminder."),
    )
    test_reminder_channel = models.CharField(
        _("blood-test reminders by"), max_length=12, choices=Channel.choices, default=Channel.EMAIL
    )
    diary_reminder_channel = models.CharField(
        _("diary reminder by"), max_length=12, choices=Channel.choices, default=Channel.EMAIL
    )
    # Urgent: changed only here, on the signed-in user's own preferences page; the unsubscribe
    # links of emails never turn it off.
    clinical_emails = models.BooleanField(
        _("email me at once when a result is beyond a guideline threshold"), default=True
    )
    digest_emails = models.BooleanField(
        _("email me a weekly digest of overdue tests and results to review"), default=True
    )
    email_bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def clinical_sites(self) -> models.QuerySet["Site"]:
        return Site.objects.filter(
            memberships__user=self, memberships__role__in=CLINICAL_ROLES
        ).distinct()

    def admin_sites(self) -> models.QuerySet["Site"]:
        return Site.objects.filter(memberships__user=self, memberships__role=Role.SITE_ADMIN)

    @property
    def is_clinician(self) -> bool:
        return self.memberships.filter(role__in=CLINICAL_ROLES).exists()

    @property
    def is_researcher(self) -> bool:
        return self.memberships.filter(role=Role.RESEARCHER).exists()

    @property
    def is_caregiver(self) -> bool:
        return self.care_links.exists()

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Site(models.Model):
    """A clinic or hospital team: its clinicians see all of its children."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = CountryField(_("country"))
    timezone = models.CharField(
        _("time zone"), max_length=64, choices=TIMEZONE_CHOICES, default="Europe/London"
    )
    growth_reference = models.CharField(
        _("growth reference"),
        max_length=10,
        choices=GrowthReference.choices,
        default=DEFAULT_REFERENCE,
        help_text=_("Height, weight and BMI SDS and centiles are computed against it."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return self.name


class ConsentVersion(models.Model):
    """A version of the research consent form, defined by the site's administrators: a child's
    consent version is chosen from these, never typed (free text could name someone)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="consent_versions")
    label = models.CharField(
        _("version"),
        max_length=20,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                _("A version is letters, digits, dots, dashes or underscores, e.g. 2.1."),
            )
        ],
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "label"]
        constraints = [
            models.UniqueConstraint(fields=["site", "label"], name="one_consent_version_label")
        ]
        verbose_name = _("consent version")

    def __str__(self) -> str:
        return self.label


class SiteMembership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="one_role_per_user_and_site")
        ]
        verbose_name = _("site membership")

    def __str__(self) -> str:
        return f"{self.user} – {self.site} ({self.get_role_display()})"


class ApiToken(AbstractAuthToken):
    """An API token for one device: knox keeps only its digest (SHA-512), never the token.
    Expiry by role at issue (diary.tokens); staff tokens also end after STAFF_IDLE_MINUTES
    without a request."""

    device = models.CharField(_("device"), max_length=100, blank=True)
    staff = models.BooleanField(default=False)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")


class PushSubscription(models.Model):
    """One device's Web Push subscription (RFC 8030): where the push service takes messages for
    it and the keys they are encrypted with (RFC 8291). Removed when the service says it has
    gone (404 or 410) or the caregiver turns notifications off."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.CharField(max_length=1024, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=50)
    device = models.CharField(_("device"), max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_sent = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]
        verbose_name = _("notification device")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.device or self.endpoint[:40]}"

    def info(self) -> dict:
        """What the sending library needs, in the shape a browser's subscription has."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


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


# --- What families record ---------------------------------------------------------------


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


class DataTransfer(models.Model):
    """Identifiable data leaving or entering the site: who, when, which rows, which file.

    A row is written when a download starts; `finished` stays empty when it never completed."""

    class Kind(models.TextChoices):
        FAMILY_DOWNLOAD = "family_download", _("Child's data download")
        SITE_EXPORT = "site_export", _("Site export for clinical audit")
        IMPORT = "import", _("Import")
        FHIR_EXPORT = "fhir_export", _("Child's record as FHIR (JSON)")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="data_transfers"
    )
    child = models.ForeignKey(
        Child, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    started = models.DateTimeField(_("started"), default=timezone.now)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)
    row_counts = models.JSONField(_("rows"), default=dict, blank=True)
    size = models.PositiveBigIntegerField(_("bytes"), null=True, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)

    class Meta:
        ordering = ["-started", "-pk"]
        verbose_name = _("data export or import")
        verbose_name_plural = _("data exports and imports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started:%Y-%m-%d %H:%M} {self.user}"

    @classmethod
    def pseudonymise_for_erasure(cls, rows, pseudonym: str) -> None:
        """Erasure keeps the transfer (who, when, counts, checksum); its file was named after
        the child, so the name becomes the pseudonym."""
        rows.update(child=None, file_name=pseudonym)

    @property
    def summary(self) -> str:
        counts = self.row_counts
        if self.kind == self.Kind.IMPORT:
            return _("%(new)d new, %(old)d already stored") % {
                "new": sum(counts.get("created", {}).values()),
                "old": sum(counts.get("unchanged", {}).values()),
            }
        return ", ".join(f"{table} {n}" for table, n in counts.items() if n)


# --- Who looked at what ----------------------------------------------------------------------


class AccessAction(models.TextChoices):
    VIEW = "view", _("Viewed")
    EXPORT = "export", _("Exported")
    IMPORT = "import", _("Imported")


class AccessEventQuerySet(models.QuerySet):
    def for_child(self, child: "Child") -> "AccessEventQuerySet":
        return self.filter(child=child)

    def for_site(self, site: "Site") -> "AccessEventQuerySet":
        """Events about the site's children and data, and those without a site (an aggregate
        view, an export across sites) made by a member of the site's team."""
        team = SiteMembership.objects.filter(site=site).values("user")
        return self.filter(Q(site=site) | Q(site__isnull=True, user__in=team))


class AccessEvent(models.Model):
    """One read, export or import of health data: who, when, what, from where. Identifiers
    only, never a health value: the row is safe to show to the site's administrators."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("who"),
    )
    username = models.CharField(max_length=150)  # kept if the account is deleted
    role = models.CharField(_("role"), max_length=20, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=AccessAction.choices)
    what = models.CharField(_("what"), max_length=100)  # the view's name or the export's kind
    child = models.ForeignKey(
        Child, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("from"), null=True, blank=True)
    user_agent = models.CharField(max_length=120, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("access event")
        indexes = [
            # The child's access page and the site's, newest first.
            models.Index(fields=["child", "-at"], name="access_by_child"),
            models.Index(fields=["site", "-at"], name="access_by_site"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.what}"

    @classmethod
    def pseudonymise_for_erasure(cls, rows, pseudonym: str) -> None:
        """Erasure keeps who looked and when; the child becomes its pseudonym."""
        rows.update(child=None, detail={"erased_child": pseudonym})


# --- Screening before the first JAK-inhibitor dose (SPARN §5.2, §6.2, §10) --------------------


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


# --- Other medicines the child takes (SPARN §8, §10, §11) -------------------------------------


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


# --- Visit assessments, recorded by clinicians (DOMAIN §3) -----------------------------------


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
