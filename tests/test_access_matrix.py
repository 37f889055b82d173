"""The access matrix: every URL pattern and every API operation, for every role, on the objects
of another family or site, answers 404 or 403 (a sign-in redirect or 401/403 for anonymous
callers) and shows none of that child's data.

Nothing here lists endpoints by hand: the URLconf and the OpenAPI schema are walked, each
parameter is filled from the path segment before it (`children/<pk>` → the other child), and a
pattern with a parameter the test cannot fill fails the test. Only the public endpoints are
listed (PUBLIC), and they are still checked for leaks.
"""

import json
import re
import uuid
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator

from diary import invitations
from diary.models import (
    AccessEvent,
    ApiToken,
    CareLink,
    Child,
    Invitation,
    PushSubscription,
    SiteMembership,
    User,
)
from diary.tokens import issue_token
from outcomes import reminders
from tests.conftest import login
from tests.seeding import Record, seed_record

# Reachable without an account, by design. Still checked: no 5xx, nothing of a child.
PUBLIC = {
    "healthz",
    "favicon",  # a redirect to the app icon
    "manifest",
    "service_worker",
    "schema",
    "api_docs",
    "api_token",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "accept_invitation",  # a signed, expiring token; tested in tests/diary/test_invitations.py
    "unsubscribe",  # a signed token; tested in tests/outcomes/test_labs_and_reminders.py
    "set_language",
    "admin:login",
    "admin:logout",
}
METHODS = ["get", "post", "put", "patch", "delete"]
# Who looks, and whose objects they are given: always another family's or another site's.
ROLES = {
    "alice": "south",  # mother of Amy (north), given Ben's objects
    "bob": "north",
    "carol": "south",  # clinician at north
    "dan": "north",
    "sam": "south",  # site administrator at north
    "rita": "north",  # researcher at both sites: sees no child at all
    "anonymous": "north",
}
PARAM = re.compile(
    r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)|(?P<unnamed>\((?!\?)[^)]*\))"
)


@dataclass
class Pattern:
    name: str
    route: str
    params: list[tuple[str, str]]  # (segment before the parameter, parameter name)


def patterns(entries=None, prefix="", namespace="") -> list[Pattern]:
    found = []
    for entry in entries if entries is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += patterns(entry.url_patterns, route, ns)
        elif isinstance(entry, URLPattern):
            params = []
            for m in PARAM.finditer(route):
                before = route[: m.start()].replace("^", "").rstrip("/").split("/")[-1]
                params.append((before, m.group("name") or m.group("rname")))
            name = namespace + entry.name if entry.name else ""
            found.append(Pattern(name, route, params))
    return found


def fillers(target: Record) -> dict:
    """(segment, parameter) → value: the target's objects, never the caller's own."""
    site = target.child.site
    caregiver = target.child.care_links.first().caregiver
    return {
        # Public pages with a signed token: the target's token with a forged signature (the
        # genuine token is a capability, emailed to its holder).
        ("invite", "token"): invitations.token_for(target.invitation)[:-4] + "AAAA",
        ("unsubscribe", "token"): reminders.unsubscribe_token(caregiver, "tests")[:-4] + "AAAA",
        ("<uidb64>", "token"): "set-password",
        ("reset", "uidb64"): "MQ",
        ("children", "pk"): target.child.pk,
        ("children", "id"): target.child.pk,
        ("flags", "pk"): target.flag.pk,
        ("invitations", "pk"): target.invitation.pk,
        ("sites", "code"): site.code,
        ("members", "membership_pk"): SiteMembership.objects.filter(site=site).first().pk,
        ("entries", "pk"): target.entry.pk,
        ("doses", "pk"): target.dose.pk,
        ("steroids", "pk"): target.steroid.pk,
        ("growth", "pk"): target.growth.pk,
        ("prescriptions", "pk"): target.prescription.pk,
        ("labs", "pk"): target.lab.pk,
        ("medicines", "pk"): target.medicine.pk,
        ("assessments", "pk"): target.assessment.pk,
        ("assessments", "assessment_pk"): target.assessment.pk,
        ("links", "link_pk"): target.study_link.pk,
        ("requests", "request_pk"): target.join_request.pk,
        ("exports", "pk"): target.export.pk,
        ("exports", "id"): target.export.pk,
        # The target's caregiver's phone, with notifications on.
        ("notifications", "pk"): PushSubscription.objects.get_or_create(
            user=caregiver,
            endpoint=f"https://fcm.googleapis.com/fcm/send/target-{caregiver.pk}",
            defaults={"p256dh": "B" + "A" * 86, "auth": "A" * 22},
        )[0].pk,
        # The target's caregiver's API token (its phone), by digest.
        ("devices", "digest"): (
            ApiToken.objects.filter(user=caregiver).first() or issue_token(caregiver, "phone")[0]
        ).digest,
    }


BY_NAME = {"fmt": "svg", "format": "json", "decision": "accept"}


def build_url(pattern: Pattern, fill: dict) -> str:
    def value(m):
        name = m.group("name") or m.group("rname")
        if m.group("conv") == "drf_format_suffix":
            return ".json"
        if name in BY_NAME:
            return BY_NAME[name]
        if pattern.route.startswith("admin/"):
            # No role here is staff: the admin refuses before it looks anything up.
            return "diary" if name == "app_label" else "1"
        before = pattern.route[: m.start()].replace("^", "").rstrip("/").split("/")[-1]
        key = (before, name)
        if key not in fill:
            pytest.fail(f"{pattern.name} ({pattern.route}): nothing to fill {key} with")
        return str(fill[key])

    url = "/" + PARAM.sub(value, pattern.route)
    url = url.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    return url


def body_for(target: Record) -> dict:
    """A plausible body for any write, aimed at the target's child and site."""
    child = target.child
    return {
        "id": str(uuid.uuid4()),
        "child": child.pk,
        "site": child.site.code,
        "date": child.today().isoformat(),
        "sample_date": child.today().isoformat(),
        "start_date": child.today().isoformat(),
        "scores": {"irritability": 1},
        "no_symptoms": True,
        "note": "probe",
        "version": 1,
        "drug": "baricitinib",
        "slot": "morning",
        "status": "given",
        "mg": "5",
        "weight_kg": "15",
        "morning_mg": "2",
        "evening_mg": "2",
        "reason": "initial",
        "override_reason": "probe",
        "analyte": "hb",
        "value": "9",
        "unit": "g/dL",
        "mg_per_day": "5",
        "optimal_dose_date": child.today().isoformat(),
        "email": "probe@example.org",
        "relationship": "mother",
        "role": "site_admin",
        "first_name": "Probe",
        "last_name": "Probe",
        "date_of_birth": "2020-01-01",
        "sex": "F",
        "diagnosis": "AGS2",
        "country": "GB",
        "timezone": "Europe/London",
        "language": "en",
        "test_reminders": "on",
    }


def footprint(record: Record) -> dict:
    """What exists about the target: any change made by a probe shows here."""
    child = Child.objects.filter(pk=record.child.pk).values().get()
    rows = {
        model.__name__: sorted(
            str(v) for v in model.objects.filter(pk=row.pk).values().get().values()
        )
        for model, row in record.by_model().items()
    }
    counts = {
        model.__name__: model.objects.filter(child=record.child).count()
        for model in record.by_model()
        if model not in (Child,) and hasattr(model, "child")
    }
    return {
        "child": child,
        "rows": rows,
        "counts": counts,
        "children_at_site": Child.objects.filter(site=record.child.site).count(),
        "members": sorted(
            SiteMembership.objects.filter(site=record.child.site).values_list("user", "role")
        ),
        "site_invitations": Invitation.objects.filter(site=record.child.site).count(),
        "links": CareLink.objects.filter(child=record.child).count(),
        "api_tokens": sorted(
            ApiToken.objects.filter(user__care_links__child=record.child).values_list(
                "digest", flat=True
            )
        ),
        "push_devices": sorted(
            PushSubscription.objects.filter(user__care_links__child=record.child).values_list(
                "endpoint", "user_id"
            )
        ),
    }


@pytest.fixture
def records(world):
    north = seed_record(world.amy, world.alice, world.carol, "North")
    south = seed_record(world.ben, world.bob, world.dan, "South")
    return {"north": north, "south": south}


def client_for(world, role: str) -> tuple[Client, object]:
    client = Client()
    if role == "anonymous":
        return client, AnonymousUser()
    user = getattr(world, role)
    login(client, user)
    return client, user


def assert_no_leak(response, target: Record, what: str) -> None:
    body = response.content.decode("utf-8", "replace") if not response.streaming else ""
    for secret in target.secrets:
        assert secret not in body, f"{what}: {secret!r} in the body"


def refused(role: str, url: str, response) -> bool:
    status = response.status_code
    if role == "anonymous":
        if url.startswith("/api/"):
            return status in (401, 403)
        location = response.get("Location", "")
        signin = status == 302 and (
            location.startswith("/accounts/login/") or location.startswith("/admin/login/")
        )
        return signin or status in (403, 404, 405)
    if url.startswith("/admin/"):
        return status == 302 and response["Location"].startswith("/admin/login/")
    return status in (403, 404, 405)


def test_every_pattern_is_named_and_walked():
    found = patterns()
    # Django's admin has unnamed redirects; everything of ours has a name.
    unnamed = [p.route for p in found if not p.name and not p.route.startswith("admin/")]
    assert not unnamed, unnamed
    names = {p.name for p in found}
    assert {"child_detail", "api:entry-detail", "site_members", "flag_acknowledge"} <= names
    assert PUBLIC - names == set(), "a public endpoint was removed: update PUBLIC"


@pytest.mark.parametrize("role", ROLES)
def test_url_matrix(world, records, role):
    target = records[ROLES[role]]
    fill = fillers(target)
    client, _user = client_for(world, role)
    before = footprint(target)
    failures = []
    for pattern in patterns():
        url = build_url(pattern, fill)
        admin = pattern.route.startswith("admin/")
        if not admin:
            assert resolve(url).route == re.sub(r"(^|/)\^", r"\1", pattern.route), url
        # The admin refuses non-staff before dispatching on the method: GET and POST suffice.
        for method in METHODS[:2] if admin else METHODS:
            kwargs = {} if method == "get" else {"data": body_for(target)}
            if method in ("put", "patch", "delete"):
                kwargs = {"data": body_for(target), "content_type": "application/json"}
            response = getattr(client, method)(url, **kwargs)
            what = f"{role} {method.upper()} {url} ({pattern.name})"
            assert response.status_code < 500, what
            assert_no_leak(response, target, what)
            if pattern.name in PUBLIC:
                continue
            if any(name not in BY_NAME for _segment, name in pattern.params):
                if not refused(role, url, response):
                    failures.append(f"{what}: {response.status_code}")
            elif role == "anonymous" and not refused(role, url, response):
                failures.append(f"{what}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert footprint(target) == before, "a probe changed the other family's data"


def schema_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation, schema


def _example(schema: dict, components: dict, target: Record, depth=0):
    """A value for a JSON schema, aimed at the target's child where it names one."""
    if "$ref" in schema:
        schema = components[schema["$ref"].split("/")[-1]]
    if "allOf" in schema:
        return _example(schema["allOf"][0], components, target, depth)
    if "oneOf" in schema or "anyOf" in schema:
        return _example((schema.get("oneOf") or schema["anyOf"])[0], components, target, depth)
    if "enum" in schema:
        return next((e for e in schema["enum"] if e not in (None, "")), None)
    kind = schema.get("type", "object")
    if kind == "object" and depth < 3:
        generic = body_for(target)
        return {
            name: generic.get(name, _example(prop, components, target, depth + 1))
            for name, prop in schema.get("properties", {}).items()
            if not prop.get("readOnly")
        }
    return {
        "integer": 1,
        "number": 1.5,
        "boolean": True,
        "array": [],
        "string": {"date": target.child.today().isoformat(), "uuid": str(uuid.uuid4())}.get(
            schema.get("format"), "probe"
        ),
    }.get(kind, {})


def test_the_schema_walk_finds_the_operations():
    operations = {(path, method) for path, method, _op, _s in schema_operations()}
    assert ("/api/entries/{id}/", "patch") in operations
    assert ("/api/labs/", "post") in operations
    assert len(operations) >= 30


@pytest.mark.parametrize("role", ROLES)
def test_api_matrix(world, records, role):
    target = records[ROLES[role]]
    fill = fillers(target)
    client, user = client_for(world, role)
    before = footprint(target)
    failures = []
    for path, method, operation, schema in schema_operations():
        params = re.findall(r"\{(\w+)\}", path)
        url = path
        for name in params:
            before_segment = path[: path.index("{" + name + "}")].rstrip("/").split("/")[-1]
            key = (before_segment, name if (before_segment, name) in fill else "pk")
            if key not in fill:
                pytest.fail(f"{method.upper()} {path}: nothing to fill {name} with")
            url = url.replace("{" + name + "}", str(fill[key]))
        body = None
        if "requestBody" in operation:
            content = operation["requestBody"]["content"]
            media = content.get("application/json") or next(iter(content.values()))
            body = _example(media["schema"], schema["components"]["schemas"], target)
        response = client.generic(
            method.upper(),
            url,
            data=b"" if body is None else json.dumps(body),
            content_type="application/json",
        )
        what = f"{role} {method.upper()} {url}"
        assert response.status_code < 500, what
        assert_no_leak(response, target, what)
        if path in ("/api/auth/token/", "/api/schema/"):
            continue
        if role == "anonymous":
            if response.status_code not in (401, 403):
                failures.append(f"{what}: {response.status_code}")
        elif params and response.status_code not in (403, 404):
            failures.append(f"{what}: {response.status_code}")
        elif not params and method != "get" and response.status_code < 400:
            failures.append(f"{what}: {response.status_code} {response.content[:200]!r}")
    assert not failures, "\n".join(failures)
    assert footprint(target) == before, "a probe changed the other family's data"
    if role != "anonymous" and isinstance(user, User):
        assert not AccessEvent.objects.filter(child=target.child).exists()
