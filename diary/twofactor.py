"""Two-factor sign-in: who needs it, the authenticator app (TOTP) and one-time backup codes."""

import re
from base64 import b32encode

import segno
from django import forms
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp import user_has_device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

APP_DEVICE = "authenticator app"
BACKUP_DEVICE = "backup codes"
TOTP_CODE = re.compile(r"^\d{6}$")


def is_staff_role(user) -> bool:
    """Clinicians, researchers, site administrators and Django admin users."""
    return bool(user.is_staff or user.is_superuser or user.memberships.exists())


def needs_second_factor(user) -> bool:
    """Staff always; a caregiver once they have set up an authenticator app."""
    return is_staff_role(user) or user_has_device(user)


def has_app(user) -> bool:
    """Whether USER has a confirmed authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_app_device(user) -> TOTPDevice:
    """The app being set up: the same secret until it is confirmed, so a reload changes nothing."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=APP_DEVICE, confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG (no inline style, so the CSP stays strict)."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", svgclass="qr", omitsize=False
    )


def next_code(device: TOTPDevice) -> str:
    """The app's code now, or the next one if now's was already used (demo and tests only)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    while totp.t() <= device.last_t:
        totp.drift += 1
    return f"{totp.token():0{device.digits}d}"


def new_backup_codes(user) -> list[str]:
    """Replace the user's backup codes; the plain codes are shown once and never again."""
    with transaction.atomic():
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name=BACKUP_DEVICE, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(settings.BACKUP_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify_code(user, code: str):
    """The device that accepts CODE (six digits: the app; otherwise a backup code), or None.

    Each kind is tried only for its own format, so app codes never count as failed backup codes
    in django-otp's throttling (which slows down every further try after a failure)."""
    code = "".join((code or "").split()).lower()
    if not code:
        return None
    model = TOTPDevice if TOTP_CODE.match(code) else StaticDevice
    with transaction.atomic():
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            if device.verify_token(code):
                return device
    return None


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("The 6-digit code in your authenticator app, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def __init__(self, *args, user, app_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.app_only = app_only
        self.device = None
        if app_only:
            self.fields["code"].help_text = _("The 6-digit code your app shows now.")
            self.fields["code"].widget.attrs["inputmode"] = "numeric"

    def clean_code(self):
        code = self.cleaned_data["code"]
        if self.app_only:
            device = pending_app_device(self.user)
            if device.verify_token("".join(code.split())):
                self.device = device
        else:
            self.device = verify_code(self.user, code)
        if self.device is None:
            raise forms.ValidationError(
                _(
                    "That code is not right. Check that the time on your phone is correct, "
                    "wait for a new code and try again."
                )
            )
        return code
