"""Signed, expiring invitation links, and what accepting one does."""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from diary.models.children import CareLink, Invitation
from diary.models.people import SiteMembership

SALT = "diary.invitation"


def token_for(invitation: Invitation) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(invitation.pk))


def url_for(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("accept_invitation", args=[token_for(invitation)])


@dataclass
class Lookup:
    invitation: Invitation | None
    problem: str | None  # "invalid", "expired", "used", "revoked" or None


def lookup(token: str) -> Lookup:
    signer = signing.TimestampSigner(salt=SALT)
    max_age = settings.INVITATION_MAX_AGE_DAYS * 24 * 3600
    try:
        pk = signer.unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        return Lookup(None, "expired")
    except signing.BadSignature:
        return Lookup(None, "invalid")
    invitation = Invitation.objects.filter(pk=pk).select_related("child", "site").first()
    if invitation is None:
        return Lookup(None, "invalid")
    if invitation.revoked_at:
        return Lookup(invitation, "revoked")
    if invitation.accepted_at:
        return Lookup(invitation, "used")
    return Lookup(invitation, None)


def accept(invitation: Invitation, user) -> bool:
    """Link USER as the invitation says. False when somebody used it first (double submit)."""
    with transaction.atomic():
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        if not claimed:
            return False
        if invitation.child_id:
            CareLink.objects.get_or_create(
                caregiver=user,
                child_id=invitation.child_id,
                defaults={"relationship": invitation.relationship},
            )
        else:
            membership, created = SiteMembership.objects.get_or_create(
                user=user, site_id=invitation.site_id, defaults={"role": invitation.role}
            )
            if not created and membership.role != invitation.role:
                membership.role = invitation.role
                membership.save(update_fields=["role"])
    return True
