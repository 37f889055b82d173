"""The second sign-in step, setting up an authenticator app, and backup codes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary import tokens, twofactor


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _verified(request, device) -> None:
    otp_login(request, device)
    # A new session id for the stronger session, as at every sign-in.
    request.session.cycle_key()


@never_cache
@sensitive_post_parameters("code")
@login_required
def two_factor(request):
    """Second step of signing in: a code from the app, or a backup code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    if not user_has_device(request.user):
        return redirect("two_factor_setup")
    form = twofactor.CodeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        _verified(request, form.device)
        if isinstance(form.device, StaticDevice):
            left = twofactor.backup_codes_left(request.user)
            messages.warning(
                request,
                _(
                    "You used a backup code; %(left)d are left. "
                    "Make new ones from your account page if you are running out."
                )
                % {"left": left},
            )
        return redirect(_next_url(request))
    return render(
        request, "registration/two_factor.html", {"form": form, "next": _next_url(request)}
    )


@never_cache
@sensitive_post_parameters("code")
@login_required
def two_factor_setup(request):
    """Set up an authenticator app: scan the code, confirm with a code, get backup codes."""
    user = request.user
    if twofactor.has_app(user):
        # Replacing an app needs the old one first (a verified session) and turning it off.
        return redirect("account_security")
    device = twofactor.pending_app_device(user)
    form = twofactor.CodeForm(request.POST or None, user=user, app_only=True)
    if request.method == "POST" and form.is_valid():
        device = form.device
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        _verified(request, device)
        return render(
            request,
            "registration/backup_codes.html",
            {"codes": twofactor.new_backup_codes(user), "next": _next_url(request), "new": True},
        )
    context = {
        "form": form,
        "qr": twofactor.qr_svg(device),
        "secret": twofactor.secret_text(device),
        "uri": device.config_url,
        "required": twofactor.is_staff_role(user),
        "next": _next_url(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


@never_cache
@login_required
def account_security(request):
    user = request.user
    context = {
        "has_app": twofactor.has_app(user),
        "codes_left": twofactor.backup_codes_left(user),
        "required": twofactor.is_staff_role(user),
        "devices": tokens.devices(user),
    }
    return render(request, "registration/account_security.html", context)


@require_POST
@login_required
def device_revoke(request, digest: str):
    """Sign one of the user's devices out of the API; another user's device is not found."""
    token = get_object_or_404(tokens.devices(request.user), digest=digest)
    token.delete()
    messages.success(
        request,
        _("%(device)s is signed out.") % {"device": token.device or _("Unnamed device")},
    )
    return redirect("account_security")


@require_POST
@login_required
def devices_revoke_all(request):
    tokens.revoke_all(request.user)
    messages.success(request, _("Every device is signed out of the API."))
    return redirect("account_security")


@never_cache
@require_POST
@login_required
def backup_codes_renew(request):
    if not twofactor.has_app(request.user):
        return redirect("account_security")
    codes = twofactor.new_backup_codes(request.user)
    return render(request, "registration/backup_codes.html", {"codes": codes, "next": "/"})


@require_POST
@login_required
def two_factor_disable(request):
    """Caregivers may turn the second step off again; staff may not."""
    if twofactor.is_staff_role(request.user):
        messages.error(request, _("Two-factor sign-in is required for your role."))
        return redirect("account_security")
    TOTPDevice.objects.filter(user=request.user).delete()
    StaticDevice.objects.filter(user=request.user).delete()
    messages.success(request, _("Two-factor sign-in is off."))
    return redirect("account_security")
