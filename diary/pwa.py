"""The web-app manifest and the service worker that let the diary open without a signal."""

import hashlib

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import cache_control

ASSETS = ["diary/app.css", "diary/diary.js", "diary/icon.svg"]
NOT_KEPT_TEXT = gettext_noop(
    "This page is not kept on this phone yet. Open the diary once with a signal, then it opens "
    "without one."
)


def manifest(request):
    return JsonResponse(
        {
            "name": _("AGS diary"),
            "short_name": _("AGS diary"),
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0b57a4",
            "icons": [{"src": static("diary/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
        },
        content_type="application/manifest+json",
    )


@cache_control(no_cache=True)  # browsers must notice a new worker at once
def service_worker(request):
    assets = [static(name) for name in ASSETS]
    version = hashlib.sha256("|".join(assets).encode()).hexdigest()[:12]
    # The same worker for every reader (a change of bytes would reinstall it): both languages.
    with translation.override("en"):
        title, text, app_name = _("No signal"), _(NOT_KEPT_TEXT), _("AGS diary")
    with translation.override("fr"):
        title_fr, text_fr = _("No signal"), _(NOT_KEPT_TEXT)
    body = render_to_string(
        "diary/sw.js",
        {
            "assets": assets,
            "version": version,
            "static_prefix": settings.STATIC_URL,
            "not_kept_title": f"{title} · {title_fr}",
            "not_kept_text": text,
            "not_kept_text_fr": text_fr,
            "app_name": app_name,
            "icon": static("diary/icon.svg"),
        },
    )
    response = HttpResponse(body, content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response
