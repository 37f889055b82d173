import logging

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from kombu import Connection
from rest_framework.decorators import api_view
from rest_framework.response import Response

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database unreachable")
        return False


def _broker_ok() -> bool:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=2,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            conn.default_channel  # noqa: B018 - opening a channel proves the broker answers
        return True
    except Exception:
        logger.exception("health check: broker unreachable")
        return False


@never_cache
def healthz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": "ok" if checks["database"] else "unavailable",
            "broker": "ok" if checks["broker"] else "unavailable",
            "version": settings.APP_VERSION,
        },
        status=200 if healthy else 503,
    )


@extend_schema(exclude=True)  # not part of the API
@api_view(["GET"])
def bench_ping(request):
    """204 for a signed-in caller, nothing else: the benchmarks' baseline, so that a save's
    latency is read against the same server, authentication and DRF stack doing no work.
    Not found unless BENCH_BASELINE_VIEW is on."""
    if not settings.BENCH_BASELINE_VIEW:
        raise Http404
    return Response(status=204)


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says: the app icon."""
    return HttpResponsePermanentRedirect(static("diary/icon.svg"))
