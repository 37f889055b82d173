"""The access log: one row per read of a child's record by the clinical team, per export and
per import; identifiers only; shown to the child's clinicians and the site's administrators."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from diary.access import CHILD_ROUTE, log_access
from diary.models import AccessEvent, Child, Role, SiteMembership
from outcomes.models import Study, StudyLink
from tests.conftest import login, make_user
from tests.seeding import seed_record

SAFE_FIELDS = {
    "id",
    "at",
    "user",
    "username",
    "role",
    "action",
    "what",
    "child",
    "site",
    "object_type",
    "object_id",
    "ip",
    "user_agent",
    "detail",
}
EXTRA_KWARGS = {"fmt": "svg"}


def child_pages(patterns=None, prefix=""):
    """(view name, route) of every page whose URL names a child by `pk`, from the URLconf."""
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += child_pages(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and CHILD_ROUTE.search(route):
            found.append((entry.name, route))
    return found


def api_reads(record):
    """Every API GET that returns the child's data, from the router's detail and list routes."""
    child = record.child
    urls = [
        (f"/api/children/{child.pk}/", "child", str(child.pk)),
        (f"/api/children/{child.pk}/instrument/", "child", str(child.pk)),
        ("/api/children/", "child", ""),
    ]
    for prefix, row in [
        ("entries", record.entry),
        ("doses", record.dose),
        ("steroids", record.steroid),
        ("growth", record.growth),
        ("prescriptions", record.prescription),
        ("labs", record.lab),
        ("medicines", record.medicine),
        ("assessments", record.assessment),
    ]:
        model = row._meta.model_name
        urls.append((f"/api/{prefix}/{row.pk}/", model, str(row.pk)))
        urls.append((f"/api/{prefix}/?child={child.pk}", model, ""))
    return urls


def page_url(name: str, route: str, record, fmt: str = "svg") -> str:
    """The page's URL for RECORD's child, its other parameters filled from the record."""
    kwargs = {"pk": record.child.pk}
    if "<chart:" in route:
        kwargs["fmt"] = fmt
    if "assessment_pk" in route:
        kwargs["assessment_pk"] = record.assessment.pk
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def amy_record(world):
    return seed_record(world.amy, world.alice, world.carol, "North")


def only_row(**expected):
    rows = list(AccessEvent.objects.all())
    assert len(rows) == 1, [str(r) for r in rows]
    row = rows[0]
    for name, value in expected.items():
        assert getattr(row, name) == value, (name, getattr(row, name), value)
    return row


def test_the_walk_finds_the_child_pages():
    names = {name for name, _route in child_pages()}
    assert {"child_detail", "day", "days", "treatment", "labs", "visit_report"} <= names
    assert {"timeline_chart", "api_phases", "api_schedule", "child_access"} <= names


NOT_A_READ = {
    "markers_edit": 302,
    "creatinine_create": 302,
    "medicine_create": 302,
    "screening_create": 302,
    "child_download": 405,
    "child_erase": 403,
    "child_access": 200,
    "api_fhir_labs": 405,  # the FHIR lab import only posts
}
# Reads that are exports, logged once as such (whoever makes them, as the family download):
# the route's name, and what the log row names.
EXPORTS = {
    "api_fhir": "fhir_export",
    "family_summary": "family_summary",
    "timeline_csv": "timeline_csv",
}


@pytest.mark.parametrize("name,route", child_pages(), ids=lambda v: str(v))
def test_each_child_page_read_by_a_clinician_writes_one_row(world, amy_record, client, name, route):
    login(client, world.carol)
    url = reverse(
        name,
        kwargs={
            "pk": world.amy.pk,
            **{k: v for k, v in EXTRA_KWARGS.items() if f"<chart:{k}>" in route},
            **({"assessment_pk": amy_record.assessment.pk} if "assessment_pk" in route else {}),
        },
    )
    response = client.get(url, HTTP_USER_AGENT="Mozilla/5.0 " + "x" * 300)
    if name in NOT_A_READ:
        # Forms that only post (302), a POST-only download (405), a site administrator's page
        # (403 for a clinician) and the access log itself: nothing is logged.
        assert response.status_code == NOT_A_READ[name], name
        assert not AccessEvent.objects.exists(), name
        return
    assert response.status_code == 200, name
    row = only_row(
        user=world.carol,
        username="carol",
        role=Role.CLINICIAN,
        action="export" if name in EXPORTS else "view",
        what=EXPORTS.get(name, name),
        child=world.amy,
        site=world.north,
        ip="127.0.0.1",
    )
    assert row.user_agent.startswith("Mozilla/5.0 x") and len(row.user_agent) == 120


@pytest.mark.parametrize("index", range(19))
def test_each_api_read_by_a_clinician_writes_one_row(world, amy_record, api_for, index):
    url, object_type, object_id = api_reads(amy_record)[index]
    response = api_for(world.carol).get(url)
    assert response.status_code == 200, url
    only_row(
        user=world.carol,
        action="view",
        child=world.amy,
        site=world.north,
        object_type=object_type,
        object_id=object_id,
    )


def test_the_api_reads_cover_every_router_route(amy_record):
    from config.api_router import router

    prefixes = {prefix for prefix, _viewset, _basename in router.registry}
    # Research exports hold no identifiable record: they are logged once, when made (below).
    prefixes -= {"exports"}
    covered = {url.split("/")[2] for url, _t, _i in api_reads(amy_record)}
    assert prefixes == covered


def test_a_list_across_sites_writes_one_row_per_child(world, api_for):
    SiteMembership.objects.create(user=world.carol, site=world.south, role=Role.CLINICIAN)
    assert api_for(world.carol).get("/api/children/").json()["count"] == 2
    rows = AccessEvent.objects.order_by("child__first_name")
    assert [(r.child, r.site) for r in rows] == [(world.amy, world.north), (world.ben, world.south)]


def test_caregivers_own_reads_are_not_logged(world, amy_record, client, api_for):
    login(client, world.alice)
    for name, route in child_pages():
        client.get(page_url(name, route, amy_record))
    api = api_for(world.alice)
    for url, _type, _id in api_reads(amy_record):
        assert api.get(url).status_code == 200, url
    # Only the downloads, logged as exports like the family's data download.
    rows = set(AccessEvent.objects.values_list("what", "action", "role"))
    assert rows == {(what, "export", "caregiver") for what in EXPORTS.values()}


def test_refused_reads_are_not_logged(world, amy_record, client):
    login(client, world.dan)
    assert client.get(reverse("child_detail", args=[world.amy.pk])).status_code == 404
    assert not AccessEvent.objects.exists()


def test_rows_hold_no_health_values(world, amy_record, client, api_for):
    login(client, world.carol)
    for name, route in child_pages():
        client.get(page_url(name, route, amy_record, fmt="png"))
    for url, _type, _id in api_reads(amy_record):
        api_for(world.carol).get(url)
    log_access(None, "export", world.amy, user=world.carol, what="visit_csv", rows=12)
    assert AccessEvent.objects.count() > 20
    assert {f.name for f in AccessEvent._meta.get_fields()} == SAFE_FIELDS
    # Every column but the time, whose seconds ("…:27.1…") could spell a value by chance.
    dump = json.dumps(list(AccessEvent.objects.values(*(SAFE_FIELDS - {"at"}))), default=str)
    entry = amy_record.entry
    for value in amy_record.secrets + [world.amy.genotype, world.amy.diagnosis, "7.1", "14.5"]:
        assert value not in dump, value
    assert f'"score": {entry.score}' not in dump


def test_log_access_for_exports_and_imports(world, rf):
    request = rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="curl/8")
    request.user = world.carol
    row = log_access(request, "export", world.amy, what="visit_csv", rows=12, format="csv")
    assert (row.action, row.what, row.child, row.site, row.role) == (
        "export",
        "visit_csv",
        world.amy,
        world.north,
        Role.CLINICIAN,
    )
    assert (row.ip, row.user_agent, row.detail) == (
        "10.1.2.3",
        "curl/8",
        {"rows": 12, "format": "csv"},
    )
    cohort = log_access(request, "export", site=world.north, what="research_export", children=9)
    assert (cohort.child, cohort.site, cohort.role) == (None, world.north, Role.CLINICIAN)
    request.user = world.alice
    imported = log_access(request, "import", world.amy, what="diary_csv", rows=30)
    assert (imported.action, imported.role) == ("import", "caregiver")
    # Free text or a list of values is refused (and the caller's request goes on).
    assert log_access(request, "export", world.amy, values=[7.1, 8.2]) is None
    assert AccessEvent.objects.count() == 3


def test_behind_a_proxy_the_forwarded_address_is_kept(world, rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    request.user = world.carol
    assert log_access(request, "export", world.amy, what="x").ip == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 0
    assert log_access(request, "export", world.amy, what="x").ip == "10.0.0.1"


def test_a_failed_write_does_not_fail_the_read(world, amy_record, client, caplog):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {AccessEvent._meta.db_table}")
    login(client, world.carol)
    response = client.get(reverse("child_detail", args=[world.amy.pk]))
    assert response.status_code == 200 and b"FirstnameNorth" in response.content
    assert "access log: could not write 1 row(s)" in caplog.text


def test_aggregate_views_write_one_row_without_a_child(world, client, api_for):
    login(client, world.carol)
    assert client.get(reverse("dashboard")).status_code == 200
    only_row(user=world.carol, what="dashboard", child=None, site=None)
    study = Study.objects.create(code="s1", title="S1")
    study.sites.add(world.north)
    StudyLink.objects.create(study=study, site=world.north, researcher=world.rita)
    AccessEvent.objects.all().delete()
    assert api_for(world.rita).get("/api/cohort/summary/").status_code == 200
    only_row(user=world.rita, what="api_cohort_summary", child=None)


def test_the_admin_child_page_is_logged(world, client):
    admin = make_user("root", is_staff=True, is_superuser=True)
    login(client, admin)
    url = reverse("admin:diary_child_change", args=[world.amy.pk])
    assert client.get(url).status_code == 200
    only_row(user=admin, role="superuser", what="admin:diary_child_change", child=world.amy)


# --- Who may read the log ----------------------------------------------------------------


def test_clinicians_see_who_viewed_their_child(world, amy_record, client):
    login(client, world.sam)
    client.get(reverse("treatment", args=[world.amy.pk]))
    login(client, world.carol)
    detail = client.get(reverse("child_detail", args=[world.amy.pk]))
    assert reverse("child_access", args=[world.amy.pk]).encode() in detail.content
    response = client.get(reverse("child_access", args=[world.amy.pk]))
    assert response.status_code == 200
    rows = response.context["page"].object_list
    assert [(r.username, r.what) for r in rows] == [("carol", "child_detail"), ("sam", "treatment")]
    assert b"Sam" in response.content and b"treatment" in response.content


@pytest.mark.parametrize("who,status", [("alice", 403), ("bob", 404), ("dan", 404), ("rita", 404)])
def test_caregivers_and_strangers_cannot_read_a_childs_log(world, client, who, status):
    AccessEvent.objects.create(
        username="carol", user=world.carol, action="view", what="x", child=world.amy
    )
    login(client, getattr(world, who))
    response = client.get(reverse("child_access", args=[world.amy.pk]))
    assert response.status_code == status
    assert b"carol" not in response.content


@pytest.mark.parametrize("who", ["alice", "carol", "dan", "rita"])
def test_only_the_sites_administrators_read_the_sites_log(world, client, who):
    login(client, getattr(world, who))
    assert client.get(reverse("site_access", args=["north"])).status_code == 404


def test_site_log_shows_the_sites_events_filtered_and_paginated(world, client, settings):
    settings.ACCESS_LOG_PAGE_SIZE = 5
    now = timezone.now()
    for n in range(7):
        AccessEvent.objects.create(
            user=world.carol,
            username="carol",
            action="view",
            what="day",
            child=world.amy,
            site=world.north,
            at=now - timedelta(days=n),
        )
    AccessEvent.objects.create(
        user=world.dan, username="dan", action="view", what="day", child=world.ben, site=world.south
    )
    AccessEvent.objects.create(
        user=world.rita, username="rita", action="view", what="api_cohort_summary"
    )
    AccessEvent.objects.create(
        user=world.sam, username="sam", action="export", what="research_export", site=world.north
    )
    login(client, world.sam)
    url = reverse("site_access", args=["north"])
    first = client.get(url)
    assert first.status_code == 200
    page = first.context["page"]
    assert (
        page.paginator.count == 9
    )  # 7 views, rita's site-less view (a north member), sam's export
    assert b"dan" not in first.content and b"Lastname" not in first.content
    second = client.get(url, {"page": 2})
    assert len(second.context["page"].object_list) == 4
    by_user = client.get(url, {"user": "RITA"}).context["page"]
    assert [e.what for e in by_user] == ["api_cohort_summary"]
    since = (now - timedelta(days=2)).date().isoformat()
    recent = client.get(url, {"start": since, "user": "carol"}).context["page"]
    assert recent.paginator.count == 3
    exports = client.get(url, {"action": "export"}).context["page"]
    assert [e.username for e in exports] == ["sam"]
    assert client.get(url, {"start": "not a date"}).context["page"].paginator.count == 0


def test_the_sites_administrator_finds_the_log_from_the_team_page(world, client):
    login(client, world.sam)
    response = client.get(reverse("site_members", args=["north"]))
    assert reverse("site_access", args=["north"]).encode() in response.content
    assert Child.objects.count() == 2


def test_exports_and_imports_are_in_the_access_log(world, client, tmp_path):
    """The family download, the site export, an import and a research export each write a
    row (who, what, from where), visible to the site's administrators."""
    from django.core.management import call_command

    from diary.models import AccessEvent

    world.amy.reference = "N-1"
    world.amy.save()
    login(client, world.alice)
    client.post(reverse("child_download", args=[world.amy.pk]), REMOTE_ADDR="203.0.113.7")
    login(client, world.carol)
    client.post(reverse("site_export", args=["north"]))
    call_command("import_data", "tests/data/import_example", "--site", "north", "--user", "carol")
    study = Study.objects.create(code="s1", title="S1")
    study.sites.add(world.north)
    StudyLink.objects.create(study=study, site=world.north, researcher=world.rita)
    call_command(
        "export_anonymised",
        "--out",
        str(tmp_path / "x.zip"),
        "--study",
        "s1",
        "--as",
        "rita",
    )
    events = {(e.what, e.action, e.username) for e in AccessEvent.objects.all()}
    assert ("family_download", "export", "alice") in events
    assert ("site_export", "export", "carol") in events
    assert ("import", "import", "carol") in events
    assert ("research_export_command", "export", "rita") in events
    family = AccessEvent.objects.get(what="family_download")
    assert family.child == world.amy and family.ip == "203.0.113.7"
    login(client, world.sam)
    page = client.get(reverse("site_access", args=["north"])).content.decode()
    table = page.split('id="access-log"')[1]
    for what in ("family_download", "site_export", "import", "research_export_command"):
        assert f"<td>{what}" in table, what
