"""API tokens: one per device, kept as a digest (django-rest-knox), expiring by role.

Staff tokens last API_TOKEN_TTL_STAFF_HOURS and end after STAFF_IDLE_MINUTES without a request
(the sessions' idle rule); caregivers' last API_TOKEN_TTL_CAREGIVER_DAYS. Signing out of a
device revokes its token; a password change or reset, and joining or leaving a site (a change
of role), revoke them all."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from diary.middleware import use_language_of
from diary.models.people import ApiToken, SiteMembership
from diary.twofactor import is_staff_role

# Last use is written at most this often, to spare a write per request.
LAST_USED_EVERY = timedelta(minutes=1)


def token_ttl(staff: bool) -> timedelta:
    if staff:
        return timedelta(hours=settings.API_TOKEN_TTL_STAFF_HOURS)
    return timedelta(days=settings.API_TOKEN_TTL_CAREGIVER_DAYS)


def issue_token(user, device: str = "") -> tuple[ApiToken, str]:
    """A new token for USER's DEVICE: the stored row and the token, shown once."""
    staff = is_staff_role(user)
    return ApiToken.objects.create(
        user, expiry=token_ttl(staff), device=device.strip(), staff=staff
    )


def revoke_all(user) -> int:
    """Sign USER out of every device; the number of tokens revoked."""
    deleted, _by_model = ApiToken.objects.filter(user=user).delete()
    return deleted


def idle_limit() -> timedelta:
    return timedelta(minutes=settings.STAFF_IDLE_MINUTES)


def devices(user):
    """USER's tokens still in force, newest first: neither expired nor, for staff, idle."""
    now = timezone.now()
    active = Q(staff=False) | Q(last_used__gte=now - idle_limit())
    active |= Q(last_used__isnull=True, created__gte=now - idle_limit())
    return ApiToken.objects.filter(active, user=user, expiry__gt=now).order_by("-created")


class DeviceTokenAuthentication(TokenAuthentication):
    """knox's `Authorization: Token …`, plus the idle rule for staff and the device's last use."""

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        last = token.last_used or token.created
        if token.staff and now - last > idle_limit():
            token.delete()
            raise exceptions.AuthenticationFailed(
                _("Your session ended after a time without activity.")
            )
        if token.last_used is None or now - token.last_used >= LAST_USED_EVERY:
            token.last_used = now
            token.save(update_fields=["last_used"])
        return user, token

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None:
            # The language middleware ran before DRF knew who calls: messages and errors in the
            # caller's language, as on the pages.
            use_language_of(request._request, found[0])
        return found


@receiver(post_save, sender=get_user_model())
def _password_changed(sender, instance, created, **kwargs):
    # set_password() keeps the new password in _password until save() has stored it: a change,
    # a reset, the admin's or `changepassword`.
    if not created and getattr(instance, "_password", None) is not None:
        revoke_all(instance)


@receiver(post_save, sender=SiteMembership)
@receiver(post_delete, sender=SiteMembership)
def _role_changed(sender, instance, **kwargs):
    # Removed from a site, or given a staff role (a caregiver's phone token has no second
    # factor and a long life): every token of theirs ends.
    revoke_all(instance.user_id)


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """The API schema's word for a device token: `Authorization: Token <key>`."""

    target_class = "diary.tokens.DeviceTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'A device token from /api/auth/token/, sent as "Token <key>".',
        }
