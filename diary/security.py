"""Session rules (second factor, idle staff sessions) and lockout responses."""

import time
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout, user_logged_in
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import user_has_device

from diary.twofactor import is_staff_role, needs_second_factor

# Pages an unverified session may still open: signing in and out, the second step itself.
UNVERIFIED_ALLOWED = {
    "login",
    "logout",
    "two_factor",
    "two_factor_setup",
    "set_language",
    "healthz",
    "manifest",
    "service_worker",
    "api_token",
}


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


class SecondFactorMiddleware:
    """Staff (and caregivers who set up an app) reach nothing until the second step is done.

    Pages redirect to the code step, or to setting up an app when there is none; the API answers
    403. API tokens are issued only after the second step (diary.api.token)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if request.resolver_match.url_name in UNVERIFIED_ALLOWED:
            return None
        if not needs_second_factor(user):
            return None
        if _is_api(request):
            message = _("Two-factor sign-in is required: enter your code when signing in first.")
            return JsonResponse({"detail": message}, status=403)
        step = "two_factor" if user_has_device(user) else "two_factor_setup"
        return redirect(f"{reverse(step)}?next={quote(request.get_full_path())}")


class IdleSessionMiddleware:
    """Staff sessions end after STAFF_IDLE_MINUTES without a request; caregivers' sessions are
    renewed (at most daily, to spare writes) so a parent who opens the diary stays signed in."""

    KEY = "last_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            now = int(time.time())
            last = request.session.get(self.KEY, now)
            if self.KEY in request.session and now - last < 60:
                # Seen within the minute: nothing to end or renew, so no role query either.
                return self.get_response(request)
            if is_staff_role(user):
                idle = settings.STAFF_IDLE_MINUTES * 60
                if now - last > idle:
                    logout(request)
                    if _is_api(request):
                        return JsonResponse(
                            {"detail": _("Your session ended after a time without activity.")},
                            status=403,
                        )
                    messages.info(
                        request,
                        _("You were signed out after %(minutes)d minutes without activity.")
                        % {"minutes": settings.STAFF_IDLE_MINUTES},
                    )
                    return redirect(f"{reverse('login')}?next={quote(request.get_full_path())}")
                request.session[self.KEY] = now
                # The cookie outlives the limit so that this middleware, which enforces it,
                # can tell the user why they were signed out.
                request.session.set_expiry(2 * idle)
            elif self.KEY not in request.session or now - last >= 24 * 3600:
                request.session[self.KEY] = now
                request.session.set_expiry(settings.SESSION_COOKIE_AGE)
        return self.get_response(request)


@receiver(user_logged_in)
def _seen_at_sign_in(sender, request, user, **kwargs):
    # Only for session sign-ins (the token endpoint sends the signal without one).
    session = getattr(request, "session", None)
    if session is not None and SESSION_KEY in session:
        session[IdleSessionMiddleware.KEY] = int(time.time())


def forwarded_address(request, proxies: int) -> str | None:
    """The caller's address: behind PROXIES proxies that append to X-Forwarded-For, the one the
    outermost of them saw (the right-most entries are theirs); otherwise REMOTE_ADDR."""
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def client_ip(request) -> str | None:
    """The client's address for django-axes, behind TRUSTED_PROXY_COUNT proxies."""
    return forwarded_address(request, settings.TRUSTED_PROXY_COUNT)


def lockout_response(request, original_response=None, credentials=None):
    """After too many failures: a translated page, or JSON for the API (429 either way)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _(
        "Too many failed attempts to sign in with this username from this device. "
        "For the account's safety, signing in from here is paused for %(minutes)d minutes."
    ) % {"minutes": minutes}
    if _is_api(request):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)
