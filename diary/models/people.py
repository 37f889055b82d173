"""People and sites: accounts, roles, site memberships, consent versions, API tokens and the phones
that receive notifications."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from knox.models import AbstractAuthToken
from simple_history.models import HistoricalRecords

from diary.growth import DEFAULT_REFERENCE, GrowthReference

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

    def save(self, *args, update_fields=None, **kwargs):
        # A corrected address is tried again: the refusal was the old address's.
        if (
            self.pk
            and self.email_bounced_at
            and (update_fields is None or "email" in update_fields)
        ):
            stored = User.objects.filter(pk=self.pk).values_list("email", flat=True).first()
            if stored is not None and stored != self.email:
                self.email_bounced_at = None
                if update_fields is not None:
                    update_fields = {*update_fields, "email_bounced_at"}
        super().save(*args, update_fields=update_fields, **kwargs)

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
