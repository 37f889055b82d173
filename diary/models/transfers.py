"""Imports and exports of a child's identifiable data, kept as a record of who moved what."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from diary.models.children import Child
from diary.models.people import Site


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
