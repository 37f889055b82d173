"""The access log: who read, exported or imported a child's data, when and from where.

Reads are logged by `AccessLogMiddleware` after a successful GET: pages whose URL names a child
(`children/<pk>/…`, the admin's child pages), API reads that mark the rows they return
(`LogsAccess` on the viewsets), and a few aggregate views. Exports and imports call
`log_access` themselves. Rows hold identifiers only, never a health value. A caregiver's views
of their own child are not logged: the log answers "who outside the family looked", and a
family opening its diary every night would bury that answer.
"""

import ipaddress
import logging
import re
from collections.abc import Iterable
from functools import wraps

from django.db import models, transaction

from diary import security
from diary.models.access_log import AccessAction, AccessEvent
from diary.models.children import CareLink, Child
from diary.models.people import Site, SiteMembership

logger = logging.getLogger(__name__)

# URL routes whose `pk` is a child's.
CHILD_ROUTE = re.compile(r"(^|/)children/<int:pk>/")
# The admin's pages of one child: its `object_id` is the child's pk.
ADMIN_CHILD_VIEWS = {"admin:diary_child_change", "admin:diary_child_history"}
# Views of many children at once: one row per request, without a child.
AGGREGATE_VIEWS = {"dashboard", "cohort", "api_cohort_summary"}

USER_AGENT_LENGTH = 120
DETAIL_STRING_LENGTH = 100


def client_ip(request) -> str | None:
    """The caller's address (behind TRUSTED_PROXY_COUNT proxies), if it is a valid one."""
    try:
        return str(ipaddress.ip_address(security.client_ip(request)))
    except ValueError:
        return None


def _safe_detail(detail: dict) -> dict:
    """Counts, flags and short identifiers only: a note or a list of values has no place here."""
    safe = {}
    for key, value in detail.items():
        if isinstance(value, bool | int | float) or value is None:
            safe[key] = value
        elif isinstance(value, str):
            safe[key] = value[:DETAIL_STRING_LENGTH]
        else:
            raise TypeError(f"access log detail {key!r} must be a number, flag or short string")
    return safe


def _roles(user) -> dict[int, str]:
    return dict(SiteMembership.objects.filter(user=user).values_list("site_id", "role"))


def _write(rows: list[AccessEvent]) -> list[AccessEvent]:
    """Save ROWS; a failure is logged and swallowed, never the user's problem."""
    if not rows:
        return rows
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives a failure
            return AccessEvent.objects.bulk_create(rows)
    except Exception:
        logger.exception("access log: could not write %d row(s)", len(rows))
        return []


def _base(request, user, action: str, what: str) -> dict:
    return {
        "user": user,
        "username": user.get_username(),
        "action": action,
        "what": what[:100],
        "ip": client_ip(request) if request is not None else None,
        "user_agent": (
            request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH] if request else ""
        ),
    }


def log_access(
    request,
    action: str,
    child: Child | None = None,
    *,
    what: str = "",
    site: Site | None = None,
    obj: models.Model | None = None,
    user=None,
    **detail,
) -> AccessEvent | None:
    """Write one access-log row; never raises.

    ACTION is "view", "export" or "import" (`AccessAction`). CHILD is the child concerned, or
    None for an export or import of many (then give SITE, or leave both empty for all of the
    user's sites). WHAT names the thing, e.g. "research_export"; it defaults to the URL's name.
    OBJ, if given, is recorded by type and id. USER defaults to request.user (pass it when
    there is no request, e.g. a management command). DETAIL takes counts, flags and short
    strings (e.g. rows=120, format="csv"); never pass health values or free text.
    """
    try:
        user = user or request.user
        if not user.is_authenticated:
            return None
        if site is None and child is not None:
            site = child.site
        if not what and request is not None and request.resolver_match:
            what = request.resolver_match.view_name
        role = _roles(user).get(site.pk, "") if site is not None else ""
        if (
            not role
            and child is not None
            and CareLink.objects.filter(caregiver=user, child=child).exists()
        ):
            role = "caregiver"
        row = AccessEvent(
            **_base(request, user, AccessAction(action), what),
            role=role or ("superuser" if user.is_superuser else ""),
            child=child,
            site=site,
            object_type=obj._meta.model_name if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            detail=_safe_detail(detail),
        )
    except Exception:
        logger.exception("access log: could not prepare a row")
        return None
    saved = _write([row])
    return saved[0] if saved else None


def log_views(
    request, what: str, child_ids: Iterable[int], object_type: str = "", object_id: str = ""
) -> list[AccessEvent]:
    """One "view" row per child in CHILD_IDS that USER sees through a site role (not as a
    caregiver); never raises."""
    try:
        user = request.user
        ids = set(child_ids)
        if not ids or not user.is_authenticated:
            return []
        own = set(
            CareLink.objects.filter(caregiver=user, child__in=ids).values_list(
                "child_id", flat=True
            )
        )
        sites = dict(Child.objects.filter(pk__in=ids - own).values_list("pk", "site_id"))
        if not sites:
            return []
        roles = _roles(user)
        base = _base(request, user, AccessAction.VIEW, what)
        rows = [
            AccessEvent(
                **base,
                role=roles.get(site_id) or ("superuser" if user.is_superuser else ""),
                child_id=child_id,
                site_id=site_id,
                object_type=object_type,
                object_id=object_id,
            )
            for child_id, site_id in sorted(sites.items())
        ]
    except Exception:
        logger.exception("access log: could not prepare view rows")
        return []
    return _write(rows)


def not_logged(view):
    """Mark a view of a child's URL that the middleware must not log as a view: it shows no
    health data (e.g. the access log itself), or logs itself (a download, as an export)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    wrapper.access_log_exempt = True
    return wrapper


def logs_itself(view):
    """Mark a download of a child's data that writes its own access-log row (an export, as the
    family download does): the middleware adds no "view" row for it."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    wrapper.access_log_exempt = True
    return wrapper


def mark_read(request, objects: Iterable, object_type: str = "", object_id: str = "") -> None:
    """Note the children whose rows this API request returns; the middleware logs them."""
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    ids = [obj.pk if isinstance(obj, Child) else obj.child_id for obj in objects]
    request.access_log_reads = (ids, object_type, object_id)


class LogsAccess:
    """For DRF viewsets: a retrieve or a list page marks the children it returns."""

    def get_object(self):
        obj = super().get_object()
        if self.request.method in ("GET", "HEAD"):
            mark_read(self.request, [obj], obj._meta.model_name, str(obj.pk))
        return obj

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None and self.request.method in ("GET", "HEAD"):
            mark_read(self.request, page, queryset.model._meta.model_name)
        return page


class AccessLogMiddleware:
    """After a successful read, write the access-log rows it calls for."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method in ("GET", "HEAD") and 200 <= response.status_code < 300:
            self.log(request)
        return response

    @staticmethod
    def log(request) -> None:
        match = request.resolver_match
        user = getattr(request, "user", None)
        if match is None or user is None or not user.is_authenticated:
            return
        if getattr(match.func, "access_log_exempt", False):
            return
        marked = getattr(request, "access_log_reads", None)
        if marked is not None:
            ids, object_type, object_id = marked
            log_views(request, match.view_name, ids, object_type, object_id)
        elif CHILD_ROUTE.search(match.route) and "pk" in match.kwargs:
            log_views(request, match.view_name, [match.kwargs["pk"]], "child", "")
        elif match.view_name in ADMIN_CHILD_VIEWS and str(match.kwargs.get("object_id")).isdigit():
            log_views(request, match.view_name, [int(match.kwargs["object_id"])], "child", "")
        elif match.view_name in AGGREGATE_VIEWS and (user.memberships.exists()):
            log_access(request, AccessAction.VIEW, what=match.view_name)
