"""The access log: who saw or changed which child's data, and when."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from diary.models.children import Child
from diary.models.people import Site, SiteMembership


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
