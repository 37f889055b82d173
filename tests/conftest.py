"""Named people shared by the tests: two families at two sites, their clinicians, a researcher."""

import os
from dataclasses import dataclass
from datetime import date

import pytest
from django.conf import settings

from diary.models import CareLink, Child, Role, Site, SiteMembership, User

PASSWORD = "correct horse battery staple"


def pytest_configure(config):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No worker reads the broker during the tests: the charts are not drawn ahead, except in
    # the tests of drawing ahead (tests/outcomes/test_timeline.py), which switch it on.
    settings.TIMELINE_DRAW_AHEAD = False


def pytest_collection_modifyitems(config, items):
    # CI sets REQUIRE_ALL_TESTS=1: a missing browser or service must fail, not skip.
    if os.environ.get("REQUIRE_ALL_TESTS") == "1":
        config.pluginmanager.register(_NoSkips(), "no-skips")


class _NoSkips:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.skipped and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"skipped, but REQUIRE_ALL_TESTS=1: {report.longrepr}"


@dataclass
class World:
    north: Site
    south: Site
    alice: User  # mother of Amy (north)
    bob: User  # father of Ben (south)
    carol: User  # clinician at north
    dan: User  # clinician at south
    sam: User  # site administrator at north
    rita: User  # researcher at both sites
    amy: Child
    ben: Child


# One day of the AGS diary, answered: daily score 5, skin sub-score 1.
AGS_ANSWERS = {
    "irritability": 2,
    "crying": 1,
    "sleep": 1,
    "seizures": 0,
    "fever": 0,
    "neuro": 0,
    "skin_trunk": 1,
    "skin_arms": 0,
    "skin_legs": 0,
}


def prescribe(child: Child, morning=2, afternoon=0, evening=2, start=date(2024, 1, 1)):
    from diary.models import Prescription

    return Prescription.objects.create(
        child=child,
        drug="baricitinib",
        start_date=start,
        morning_mg=morning,
        afternoon_mg=afternoon,
        evening_mg=evening,
        reason="initial",
    )


def make_user(username: str, **extra) -> User:
    return User.objects.create_user(
        username=username, email=f"{username}@example.org", password=PASSWORD, **extra
    )


def make_child(site: Site, first_name: str, **extra) -> Child:
    fields = {
        "last_name": "Test",
        "date_of_birth": date(2019, 5, 1),
        "sex": "F",
        "diagnosis": "AGS2",
        "genotype": "RNASEH2B c.529G>A",
        "country": "GB",
        "timezone": "Europe/London",
    }
    fields.update(extra)
    return Child.objects.create(site=site, first_name=first_name, **fields)


@pytest.fixture
def world(db) -> World:
    north = Site.objects.create(code="north", name="North Hospital", country="GB")
    south = Site.objects.create(code="south", name="South Hospital", country="FR")
    people = {
        name: make_user(name, first_name=name.title())
        for name in ("alice", "bob", "carol", "dan", "sam", "rita")
    }
    SiteMembership.objects.create(user=people["carol"], site=north, role=Role.CLINICIAN)
    SiteMembership.objects.create(user=people["dan"], site=south, role=Role.CLINICIAN)
    SiteMembership.objects.create(user=people["sam"], site=north, role=Role.SITE_ADMIN)
    SiteMembership.objects.create(user=people["rita"], site=north, role=Role.RESEARCHER)
    SiteMembership.objects.create(user=people["rita"], site=south, role=Role.RESEARCHER)
    amy = make_child(north, "Amy")
    ben = make_child(south, "Ben", diagnosis="CANDLE", genotype="PSMB8", country="FR")
    CareLink.objects.create(caregiver=people["alice"], child=amy, relationship="mother")
    CareLink.objects.create(caregiver=people["bob"], child=ben, relationship="father")
    return World(north=north, south=south, amy=amy, ben=ben, **people)


def totp_device(user):
    """The user's confirmed authenticator app, made if there is none (codes: next_code)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)


def login(client, user):
    """Sign CLIENT in as USER; staff (who need a second factor) as if they had entered a code.

    Marks the session the way django_otp.login does: the id of a real confirmed device."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from diary.twofactor import needs_second_factor

    client.force_login(user)
    if needs_second_factor(user):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
        session.save()
    return client


def complete_enrolment(client, user):
    """Set up an app through the pages as the signed-in USER would; returns the backup codes."""
    from django.urls import reverse
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from diary.twofactor import next_code

    assert client.get(reverse("two_factor_setup")).status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page = client.post(reverse("two_factor_setup"), {"code": next_code(device)})
    assert page.status_code == 200 and page.context["codes"], page.content.decode()[:2000]
    return page.context["codes"]


@pytest.fixture
def client_for(client):
    """A test client signed in as the given user (second factor done for staff)."""

    def sign_in(user):
        return login(client, user)

    return sign_in


@pytest.fixture
def api_for():
    from rest_framework.test import APIClient

    def sign_in(user):
        api = APIClient()
        api.force_authenticate(user)
        return api

    return sign_in


def record_fbc(child: Child, user, day, **values):
    """A normal full blood count (§6.3's baseline bloods) on DAY; VALUES override."""
    from outcomes.labs import record_lab

    counts = {"hb": "12", "wcc": "7", "neutrophils": "3", "lymphocytes": "2", "platelets": "250"}
    units = {"hb": "g/dL"}
    for analyte, value in {**counts, **values}.items():
        if value is not None:
            record_lab(child, user, analyte, day, value, units.get(analyte, "×10⁹/L"))


def record_screening(child: Child, user, day, **outcomes):
    """Every screening item before the first dose (§5.2, §6.2) recorded as clear on DAY, and a
    normal full blood count; OUTCOMES override (None leaves an item out)."""
    from diary.models import Screening

    clear = {
        "tb": "negative",
        "vzv": "immune",
        "hsv": "no_previous_infection",
        "mmr": "vaccinated",
        "pregnancy": "negative",
        "contraception": "not_applicable",
    }
    for item, outcome in {**clear, **outcomes}.items():
        if outcome is not None:
            Screening.objects.create(
                child=child, item=item, outcome=outcome, date=day, recorded_by=user
            )
    record_fbc(child, user, day)
