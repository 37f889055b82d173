"""A French-speaking clinician reads French on every clinician page: no English leftovers, raw
keys, English months, or test names mixed (VS/ASAT/ALAT and DFGe, never ESR/AST/ALT or eGFR)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from outcomes.models import LabFlag
from tests.conftest import login
from tests.diary.test_translations import (  # noqa: F401
    FRENCH_MONTHS,
    amira,
    leftovers,
    visible_text,
)

# English words and names a French page must not show (the parents' list adds raw schedule
# keys and English months). "SPARN JAKi guideline" is the document's name and stays.
ENGLISH = re.compile(
    r"\b(to|the|and|of|from|since|day|days|mean|Now|worse|missed|flags?|Guideline|appendix"
    r"|not enough data|Created|Changed|Deleted|system|eGFR|ESR|AST|ALT)\b|mg/day|1\.73"
)


def clinician_pages(child) -> dict[str, str]:
    return {
        "home": reverse("home"),
        "dashboard": reverse("dashboard"),
        "child": reverse("child_detail", args=[child.pk]),
        "days": reverse("days", args=[child.pk]),
        "treatment": reverse("treatment", args=[child.pk]),
        "labs": reverse("labs", args=[child.pk]),
        "lab form": reverse("lab_panel_create", args=[child.pk]),
        "cohort": reverse("cohort"),
        "prescription form": reverse("prescription_create", args=[child.pk]),
        "steroid form": reverse("steroid_prescription_create", args=[child.pk]),
    }


def english(text: str) -> list[str]:
    return sorted({m.group(0) for m in ENGLISH.finditer(text)} | set(leftovers(text)))


@pytest.fixture
def french(world):
    for user in (world.carol, world.sam):
        user.language = "fr"
        user.save()


def test_every_clinician_page_is_french(world, amira, french, client):  # noqa: F811
    # An infection flag and a guideline flag, so that the dashboard shows their reasons.
    today = amira.today()
    LabFlag.objects.create(
        child=amira,
        day=today - timedelta(days=1),
        code="infection",
        severity="adjust",
        message="x",
        source="SPARN JAKi guideline §7.3",
    )
    login(client, world.carol)
    found = {}
    for name, url in clinician_pages(amira).items():
        response = client.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert 'lang="fr"' in html, name
        # The flag's own message is stored as written; the page around it must be French.
        text = visible_text(html).replace(" x (SPARN", " (SPARN")
        if english(text):
            found[name] = english(text)
    assert found == {}


def test_the_site_pages_are_french(world, amira, french, client):  # noqa: F811
    found = {}
    for user, pages in (
        (world.sam, {"site data": reverse("site_data", args=["north"])}),
        (world.sam, {"site access": reverse("site_access", args=["north"])}),
        (world.sam, {"exports": reverse("exports")}),
    ):
        login(client, user)
        for name, url in pages.items():
            response = client.get(url)
            assert response.status_code == 200, name
            text = visible_text(response.content.decode())
            if english(text):
                found[name] = english(text)
    assert found == {}


def test_french_dates_on_clinician_tables(world, amira, french, client):  # noqa: F811
    login(client, world.carol)
    text = visible_text(client.get(reverse("home")).content.decode())
    assert "1 mai 2019" in text  # SHORT_DATE_FORMAT, not "j M Y"'s "1 Mai 2019"
    text = visible_text(
        client.get(reverse("prescription_create", args=[amira.pk])).content.decode()
    )
    assert "DFGe > 120\xa0mL/min/1,73\xa0m²" in text and "eGFR" not in text


def test_the_cohort_interval_reads_a_in_french(world, french, client):
    from tests.conftest import make_child
    from tests.outcomes.test_outcome_pages import with_history

    for n in range(3):
        with_history(make_child(world.north, f"Kid{n}"), seed=n)
    login(client, world.carol)
    text = visible_text(client.get(reverse("cohort")).content.decode())
    assert re.search(r"\(\d+,\d\d à \d+,\d\d\)", text)
    assert not re.search(r"\d to \d", text)


def test_the_access_log_dates_are_french(world, amira, french, client):  # noqa: F811
    login(client, world.carol)
    client.get(reverse("child_detail", args=[amira.pk]))
    page = client.get(reverse("child_access", args=[amira.pk])).content.decode()
    table = visible_text(page.split('id="access-log"')[1])
    assert re.search(rf"\b\d{{1,2}} ({FRENCH_MONTHS}) 20\d\d \d\d:\d\d:\d\d", table)
    assert leftovers(table) == []
