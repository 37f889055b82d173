"""What is followed up about a child's course: lab results in canonical units, the guideline
flags they raise, and the reminder emails (one row each, so each is sent once)."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from diary.models import Child, ChildScopedQuerySet


class Analyte(models.TextChoices):
    HB = "hb", _("Haemoglobin (Hb)")
    WCC = "wcc", _("White cell count")
    NEUTROPHILS = "neutrophils", _("Neutrophils")
    LYMPHOCYTES = "lymphocytes", _("Lymphocytes")
    PLATELETS = "platelets", _("Platelets")
    CREATININE = "creatinine", _("Creatinine")
    ALT = "alt", _("ALT")
    AST = "ast", _("AST")
    BILIRUBIN = "bilirubin", _("Bilirubin")
    CRP = "crp", _("CRP")
    ESR = "esr", _("ESR")
    CHOLESTEROL = "cholesterol", _("Cholesterol")
    TRIGLYCERIDES = "triglycerides", _("Triglycerides")
    BK_PLASMA = "bk_plasma", _("BK virus PCR, plasma")
    BK_URINE = "bk_urine", _("BK virus PCR, urine")
    JC_PLASMA = "jc_plasma", _("JC virus PCR, plasma")
    JC_URINE = "jc_urine", _("JC virus PCR, urine")
    IFN_SCORE = "ifn_score", _("Interferon score")
    IP10 = "ip10", "IP-10 (CXCL10)"


D = Decimal
COUNT = ("×10⁹/L", {"×10⁹/L": D(1), "10^9/L": D(1), "cells/µL": D("0.001"), "cells/uL": D("0.001")})
LOG_LOAD = ("log10 copies/mL", {"log10 copies/mL": D(1), "copies/mL": None})  # None: log10
# Canonical unit per analyte, and the units accepted on entry with their factor to it (DOMAIN §8).
UNITS = {
    Analyte.HB: ("g/dL", {"g/dL": D(1), "g/L": D("0.1")}),
    Analyte.WCC: COUNT,
    Analyte.NEUTROPHILS: COUNT,
    Analyte.LYMPHOCYTES: COUNT,
    Analyte.PLATELETS: COUNT,
    Analyte.CREATININE: ("µmol/L", {"µmol/L": D(1), "umol/L": D(1), "mg/dL": D("88.4")}),
    Analyte.ALT: ("U/L", {"U/L": D(1)}),
    Analyte.AST: ("U/L", {"U/L": D(1)}),
    Analyte.BILIRUBIN: ("µmol/L", {"µmol/L": D(1), "umol/L": D(1), "mg/dL": D("17.1")}),
    Analyte.CRP: ("mg/L", {"mg/L": D(1), "mg/dL": D(10)}),
    Analyte.ESR: ("mm/h", {"mm/h": D(1)}),
    Analyte.CHOLESTEROL: ("mmol/L", {"mmol/L": D(1), "mg/dL": D("0.02586")}),
    Analyte.TRIGLYCERIDES: ("mmol/L", {"mmol/L": D(1), "mg/dL": D("0.01129")}),
    Analyte.BK_PLASMA: LOG_LOAD,
    Analyte.BK_URINE: LOG_LOAD,
    Analyte.JC_PLASMA: LOG_LOAD,
    Analyte.JC_URINE: LOG_LOAD,
    Analyte.IFN_SCORE: ("score", {"score": D(1)}),
    Analyte.IP10: ("pg/mL", {"pg/mL": D(1)}),
}
# Values outside these (canonical unit) are typing errors, not results.
PLAUSIBLE = {
    Analyte.HB: (D(1), D(25)),
    Analyte.WCC: (D(0), D(500)),
    Analyte.NEUTROPHILS: (D(0), D(300)),
    Analyte.LYMPHOCYTES: (D(0), D(300)),
    Analyte.PLATELETS: (D(0), D(3000)),
    Analyte.CREATININE: (D(5), D(3000)),
    Analyte.ALT: (D(0), D(20000)),
    Analyte.AST: (D(0), D(20000)),
    Analyte.BILIRUBIN: (D(0), D(1500)),
    Analyte.CRP: (D(0), D(1000)),
    Analyte.ESR: (D(0), D(200)),
    Analyte.CHOLESTEROL: (D(0), D(50)),
    Analyte.TRIGLYCERIDES: (D(0), D(100)),
    Analyte.BK_PLASMA: (D(0), D(14)),
    Analyte.BK_URINE: (D(0), D(14)),
    Analyte.JC_PLASMA: (D(0), D(14)),
    Analyte.JC_URINE: (D(0), D(14)),
    Analyte.IFN_SCORE: (D(0), D(100000)),
    Analyte.IP10: (D(0), D(1000000)),
}
NEEDS_ULN = {Analyte.ALT, Analyte.AST, Analyte.BILIRUBIN}


class LabResultQuerySet(ChildScopedQuerySet):
    pass


class LabResult(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="lab_results")
    sample_date = models.DateField(_("sample date"))
    analyte = models.CharField(_("test"), max_length=30, choices=Analyte.choices)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=20)  # canonical
    entered_value = models.DecimalField(max_digits=10, decimal_places=3)
    entered_unit = models.CharField(max_length=20)
    uln = models.DecimalField(
        _("upper limit of normal"), max_digits=10, decimal_places=3, null=True, blank=True
    )
    reference_low = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    assay = models.CharField(_("assay"), max_length=60, blank=True)
    positivity_threshold = models.DecimalField(
        _("positivity threshold"), max_digits=10, decimal_places=3, null=True, blank=True
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    caregiver_entered = models.BooleanField(default=False)
    # eGFR from a creatinine: stored with the constant and the height it used (SPARN §6.2b).
    egfr = models.DecimalField("eGFR", max_digits=6, decimal_places=1, null=True, blank=True)
    egfr_constant = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    egfr_height_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    # A result imported from a hospital's FHIR Observation: SHA-256 of its identifier (else of
    # its code, time and value), so that the same Observation sent again is stored once.
    source_key = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = LabResultQuerySet.as_manager()

    class Meta:
        ordering = ["-sample_date", "-pk"]
        verbose_name = _("lab result")
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="lab_value_not_negative"),
            models.UniqueConstraint(
                fields=["child", "source_key"],
                condition=~Q(source_key=""),
                name="one_result_per_imported_observation",
            ),
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


class Severity(models.TextChoices):
    INFO = "info", _("Note")
    WATCH = "watch", _("Repeat / watch")
    ADJUST = "adjust", _("Consider stopping or adjusting")
    STOP = "stop", _("Stop")
    DO_NOT_START = "do_not_start", _("Do not start")


class LabFlagQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(child__in=Child.objects.visible_to(user))

    def open(self):
        return self.filter(acknowledged_at__isnull=True).exclude(severity=Severity.INFO)


class LabFlag(models.Model):
    """A guideline rule a child's record crossed, shown until a clinician acknowledges it: a
    result beyond a threshold (RESULT set), or without a result (a weight or a diary day that
    puts the dose above its maximum, an infection while on a JAK inhibitor)."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="flags")
    day = models.DateField(_("date"))  # the sample date, or the day of the record that raised it
    result = models.ForeignKey(
        LabResult, on_delete=models.CASCADE, related_name="flags", null=True, blank=True
    )
    code = models.CharField(max_length=60)
    severity = models.CharField(max_length=20, choices=Severity.choices)
    message = models.TextField()
    source = models.CharField(max_length=80)
    created = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = HistoricalRecords()

    objects = LabFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["result", "code"], name="one_flag_per_result_and_rule"),
            models.UniqueConstraint(
                fields=["child", "code", "day"],
                condition=Q(result__isnull=True),
                name="one_flag_per_child_rule_and_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.result or self.day})"


class ReminderKind(models.TextChoices):
    TEST_BEFORE = "test_before", _("Blood test due in a week")
    TEST_DUE = "test_due", _("Blood test due today")
    TEST_OVERDUE = "test_overdue", _("Blood test overdue")
    DIARY = "diary", _("Diary not filled in today")
    THRESHOLD = "threshold", _("Result beyond a guideline threshold")
    DIGEST = "digest", _("Weekly digest")
    BOUNCE = "bounce", _("Address refused by the mail server")


# Blood-test reminders: one message per child, due date, kind and recipient, naming every test due
# that day (the row's `test` lists the panels, e.g. "bloods+lipids").
TEST_KINDS = (ReminderKind.TEST_BEFORE, ReminderKind.TEST_DUE, ReminderKind.TEST_OVERDUE)


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Scheduled")
    CLAIMED = "claimed", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not needed any more")


class Reminder(models.Model):
    """One message that must go out exactly once, by email, notification or both: the unique row
    is the claim ticket."""

    child = models.ForeignKey(
        Child, on_delete=models.CASCADE, related_name="reminders", null=True, blank=True
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    # Panels joined by "+" for blood tests, a flag or site key, or "" for the diary.
    test = models.CharField(max_length=120, blank=True)
    due_date = models.DateField()
    status = models.CharField(
        max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Each channel is done once: a retry after a failed notification never emails twice.
    emailed_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "test", "due_date", "kind", "recipient"],
                name="one_reminder_per_child_test_date_kind_recipient",
            ),
            # One blood-test message a child, due date, kind and recipient, whatever its tests.
            models.UniqueConstraint(
                fields=["child", "due_date", "kind", "recipient"],
                condition=Q(kind__in=TEST_KINDS),
                name="one_test_reminder_per_child_date_kind_recipient",
            ),
            # Digests concern no single child.
            models.UniqueConstraint(
                fields=["test", "due_date", "kind", "recipient"],
                condition=Q(child__isnull=True),
                name="one_digest_per_recipient_and_date",
            ),
        ]
        indexes = [
            # The sender looks for rows still to send.
            models.Index(fields=["status", "lease_until"], name="reminder_to_send"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.test} {self.due_date} → {self.recipient_id}"

    @property
    def panels(self) -> list[str]:
        return [p for p in self.test.split("+") if p] if self.kind in TEST_KINDS else []


class ReminderSweep(models.Model):
    """One row: the moment the last completed sweep made its reminders as of. A reminder whose
    moment came after it, on an earlier day, was missed by every sweep and is made late."""

    finished = models.DateTimeField(null=True, blank=True)
    made = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)  # why fewer were queued than pending

    def __str__(self) -> str:
        return f"last sweep {self.finished}: {self.made} made, {self.queued} queued"


# --- Research: studies and the anonymised export ----------------------------------------------


class Study(models.Model):
    """A research study across one or more sites. Its code keys the pseudonyms: a child has the
    same pseudonym in every export of the study and another in any other study."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    sites = models.ManyToManyField(
        "diary.Site", related_name="studies", verbose_name=_("sites"), blank=True
    )
    # The site that started the study: its administrators accept other sites into it.
    owner_site = models.ForeignKey(
        "diary.Site",
        on_delete=models.PROTECT,
        null=True,
        related_name="owned_studies",
        verbose_name=_("owning site"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[sites])

    class Meta:
        ordering = ["code"]
        verbose_name = _("study")
        verbose_name_plural = _("studies")

    def __str__(self) -> str:
        return f"{self.code} – {self.title}"


class StudyJoinRequest(models.Model):
    """A site asks to take part in a study; the owning site's administrators accept or decline.
    Knowing a study's code is not enough to join it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="join_requests")
    site = models.ForeignKey("diary.Site", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    accepted = models.BooleanField(null=True)  # None while waiting
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "site"],
                condition=models.Q(accepted__isnull=True),
                name="one_open_join_request_per_study_site",
            )
        ]
        verbose_name = _("request to join a study")

    def __str__(self) -> str:
        return f"{self.site.code} → {self.study.code}"


class StudyLink(models.Model):
    """A site administrator's grant: this researcher may export this site's consenting children
    under this study. It counts only while the researcher is still a researcher of the site."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="links")
    site = models.ForeignKey("diary.Site", on_delete=models.CASCADE, related_name="study_links")
    researcher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_links"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "site", "researcher"], name="one_link_per_study_site_researcher"
            )
        ]
        verbose_name = _("study link")

    def __str__(self) -> str:
        return f"{self.researcher} – {self.study.code} @ {self.site.code}"


class ExportStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting", _("Waiting for a site administrator's approval")
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Being prepared")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportLog(models.Model):
    """Every anonymised export: who, when, with which options, what it held, its checksum."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exports",
    )
    via = models.CharField(max_length=10, default="web")  # web, api, command
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="exports")
    sites = models.ManyToManyField("diary.Site", related_name="exports")
    options = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    checksum = models.CharField(_("SHA-256 of the zip"), max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)  # under VAR_DIR/exports/
    error = models.TextField(blank=True)
    downloads = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("export")

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"


class ExportApproval(models.Model):
    """A site administrator (not the requester) approves an export with free text for their
    site; the export is built only when every site of it has approved."""

    export = models.ForeignKey(ExportLog, on_delete=models.CASCADE, related_name="approvals")
    site = models.ForeignKey("diary.Site", on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["export", "site"], name="one_approval_per_export_site")
        ]
        verbose_name = _("approval of an export's free text")

    def __str__(self) -> str:
        return f"{self.export_id} approved for {self.site.code} by {self.approved_by}"
