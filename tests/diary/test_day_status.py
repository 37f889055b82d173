"""How complete each day is: complete, symptoms only, doses only or nothing, on Past days and
the home page, in the family's own days and in their language."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from diary.day import DayState, _prescribed_slots, day_status, day_statuses
from diary.models import CareLink, DiaryEntry, DoseAdministration, Prescription
from tests.conftest import login, make_child, prescribe

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("Europe/London"))
TODAY = date(2026, 3, 10)
BOTH = {("baricitinib", "morning"), ("baricitinib", "evening")}
SCORED = DiaryEntry(score=4)
INCOMPLETE = DiaryEntry(score=None, answered=3)
NO_SYMPTOMS = DiaryEntry(score=0, no_symptoms=True)


@pytest.fixture(autouse=True)
def noon():
    with time_machine.travel(NOON, tick=False):
        yield


def entry(child, day, score=4, **extra):
    return DiaryEntry.objects.create(
        child=child, date=day, instrument_key="ags", instrument_version=1, score=score, **extra
    )


def dose(child, day, slot, status="given", drug="baricitinib"):
    given = {"given": 2, "missed": 0, "different": 1}[status]
    return DoseAdministration.objects.create(
        child=child, date=day, drug=drug, slot=slot, status=status, given_mg=given
    )


def stop(child, start, reason="stop"):
    return Prescription.objects.create(
        child=child, drug="baricitinib", start_date=start, reason=reason
    )


# --- The pure function --------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry_", [SCORED, NO_SYMPTOMS, INCOMPLETE], ids=["scored", "none", "incomplete"]
)
def test_an_entry_with_every_prescribed_dose_is_complete(entry_):
    status = day_status(entry_, BOTH, BOTH)
    assert status.state == DayState.COMPLETE and status.unrecorded == 0
    assert status.label == "Complete" and status.today_label == "Today: complete ✓"
    assert status.entry is entry_  # its score (None: incomplete answers) is shown beside


def test_with_nothing_prescribed_symptoms_alone_are_complete():
    assert day_status(SCORED, set(), set()).state == DayState.COMPLETE
    assert day_status(None, set(), set()).state == DayState.EMPTY


def test_an_entry_without_doses_is_symptoms_only():
    status = day_status(NO_SYMPTOMS, BOTH, set())
    assert status.state == DayState.SYMPTOMS_ONLY
    assert (status.prescribed, status.unrecorded) == (2, 2)
    assert status.label == "Symptoms only: doses not recorded"
    assert status.today_label == "Today: symptoms recorded, doses not yet"


def test_an_entry_with_some_doses_says_how_many_are_missing():
    status = day_status(SCORED, BOTH, {("baricitinib", "morning")})
    assert status.state == DayState.SYMPTOMS_ONLY
    assert status.label == "Symptoms and some doses: 1 of 2 doses not recorded"
    assert status.today_label == "Today: symptoms recorded, 1 of 2 doses not yet"
    three = BOTH | {("baricitinib", "afternoon")}
    two_missing = day_status(SCORED, three, {("baricitinib", "evening")})
    assert two_missing.label == "Symptoms and some doses: 2 of 3 doses not recorded"


def test_doses_without_an_entry_are_doses_only():
    for recorded in (BOTH, {("baricitinib", "evening")}):
        status = day_status(None, BOTH, recorded)
        assert status.state == DayState.DOSES_ONLY
        assert status.label == "Doses only: symptoms not recorded"
        assert status.today_label == "Today: doses recorded, symptoms not yet"


def test_nothing_recorded_is_empty():
    status = day_status(None, BOTH, set())
    assert status.state == DayState.EMPTY and status.label == "Nothing recorded"
    assert status.today_label == "Today: nothing recorded yet"


def test_a_dose_of_a_drug_no_longer_prescribed_covers_no_prescribed_slot():
    now_prescribed = {("ruxolitinib", "morning")}
    old_drug = {("baricitinib", "morning")}
    status = day_status(SCORED, now_prescribed, old_drug)
    assert status.state == DayState.SYMPTOMS_ONLY and status.unrecorded == 1
    # Without an entry it is still something recorded, not an empty day.
    assert day_status(None, now_prescribed, old_drug).state == DayState.DOSES_ONLY
    # With nothing prescribed any more, the entry is the whole day.
    assert day_status(SCORED, set(), old_drug).state == DayState.COMPLETE


def test_an_interruption_or_a_stop_prescribes_no_slot():
    for reason in ("interruption", "stop"):
        assert _prescribed_slots(Prescription(drug="baricitinib", reason=reason)) == set()
    assert _prescribed_slots(None) == set()
    regimen = Prescription(drug="baricitinib", morning_mg=2, afternoon_mg=0, evening_mg=1)
    assert _prescribed_slots(regimen) == BOTH


def test_the_states_are_said_in_french():
    with translation.override("fr"):
        assert day_status(SCORED, BOTH, set()).label == (
            "Symptômes seulement\u00a0: doses non enregistrées"
        )
        assert day_status(SCORED, BOTH, {("baricitinib", "morning")}).label == (
            "Symptômes et une partie des doses\u00a0: 1 dose sur 2 non enregistrée"
        )
        assert (
            day_status(None, BOTH, BOTH).label == "Doses seulement\u00a0: symptômes non enregistrés"
        )
        assert day_status(None, set(), set()).label == "Rien n’est enregistré"
        assert day_status(SCORED, set(), set()).today_label == "Aujourd’hui\u00a0: complet ✓"


# --- From the database --------------------------------------------------------------------


def test_each_day_follows_the_prescription_in_force_that_day(world):
    amy = world.amy
    prescribe(amy, start=TODAY - timedelta(days=20))
    stop(amy, TODAY - timedelta(days=10), reason="interruption")
    Prescription.objects.create(
        child=amy,
        drug="ruxolitinib",
        start_date=TODAY - timedelta(days=5),
        morning_mg=5,
        reason="restart",
    )
    days = {n: TODAY - timedelta(days=n) for n in (30, 15, 10, 7, 5, 0)}
    for day in days.values():
        entry(amy, day)
    dose(amy, days[0], "morning", drug="baricitinib")  # the old drug: covers nothing now
    statuses = day_statuses((amy, day) for day in days.values())
    state = {n: statuses[amy.pk, day].state for n, day in days.items()}
    assert state == {
        30: DayState.COMPLETE,  # before any prescription
        15: DayState.SYMPTOMS_ONLY,  # baricitinib morning and evening
        10: DayState.COMPLETE,  # interrupted from that day
        7: DayState.COMPLETE,
        5: DayState.SYMPTOMS_ONLY,  # ruxolitinib in the morning
        0: DayState.SYMPTOMS_ONLY,
    }
    assert statuses[amy.pk, days[0]].unrecorded == 1


def test_missed_and_different_doses_are_recorded_doses(world):
    prescribe(world.amy)
    entry(world.amy, TODAY)
    dose(world.amy, TODAY, "morning", status="missed")
    dose(world.amy, TODAY, "evening", status="different")
    assert day_statuses([(world.amy, TODAY)])[world.amy.pk, TODAY].state == DayState.COMPLETE


def test_another_childs_rows_do_not_count(world):
    entry(world.ben, TODAY)
    dose(world.ben, TODAY, "morning")
    statuses = day_statuses([(world.amy, TODAY)])
    assert list(statuses) == [(world.amy.pk, TODAY)]
    assert statuses[world.amy.pk, TODAY].state == DayState.EMPTY


# --- Past days ----------------------------------------------------------------------------


def past_days(client, child):
    response = client.get(reverse("days", args=[child.pk]))
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """HTML as read: tags dropped, runs of spaces and newlines made one (not no-break spaces)."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def rows(page) -> dict[date, tuple[str, str]]:
    """Each day's row: its state class and its text, tags stripped."""
    found = re.findall(
        r'<li class="state-(\w+)">\s*<a href="[^"]*\?date=([\d-]+)">(.*?)</li>', page, re.S
    )
    return {date.fromisoformat(day): (state, text(html)) for state, day, html in found}


@pytest.fixture
def a_month(world):
    """Amy's last days: one of each state, the rest empty."""
    amy = world.amy
    prescribe(amy)
    day = {n: TODAY - timedelta(days=n) for n in range(6)}
    entry(amy, day[0])
    dose(amy, day[0], "morning")
    dose(amy, day[0], "evening", status="missed")
    entry(amy, day[1], score=0, no_symptoms=True)
    entry(amy, day[2], score=7.5)
    dose(amy, day[2], "morning")
    dose(amy, day[3], "morning")
    dose(amy, day[3], "evening")
    entry(amy, day[4], score=None, answered=3)
    dose(amy, day[4], "morning")
    dose(amy, day[4], "evening")
    return day


def test_past_days_show_each_days_state_and_score(world, client, a_month):
    page = past_days(login(client, world.alice), world.amy)
    found = rows(page)
    assert len(found) == 30
    day = a_month
    assert found[day[0]] == ("complete", "Today, Tuesday 10 March Complete score 4")
    assert found[day[1]] == (
        "symptoms_only",
        "Monday 9 March Symptoms only: doses not recorded score 0",
    )
    assert found[day[2]] == (
        "symptoms_only",
        "Sunday 8 March Symptoms and some doses: 1 of 2 doses not recorded score 7.5",
    )
    assert found[day[3]] == ("doses_only", "Saturday 7 March Doses only: symptoms not recorded")
    assert found[day[4]] == ("complete", "Friday 6 March Complete incomplete answers")
    assert found[day[5]] == ("empty", "Thursday 5 March Nothing recorded")
    assert [state for state, _text in found.values()].count("empty") == 25
    assert "25 days with nothing recorded." in page
    assert "2 days with symptoms recorded but not every dose." in page
    assert "1 day with doses recorded but not symptoms." in page


def test_past_days_without_doses_only_count_empty_days(world, client):
    entry(world.amy, TODAY)
    page = past_days(login(client, world.alice), world.amy)
    assert rows(page)[TODAY] == ("complete", "Today, Tuesday 10 March Complete score 4")
    assert "29 days with nothing recorded." in page
    assert "0 days with symptoms recorded but not every dose." in page
    assert "with doses recorded but not symptoms" not in page


def test_past_days_in_french(world, client, a_month):
    world.alice.language = "fr"
    world.alice.save()
    page = past_days(login(client, world.alice), world.amy)
    assert "Symptômes seulement\u00a0: doses non enregistrées" in page
    assert "1 dose sur 2 non enregistrée" in page
    assert "réponses incomplètes" in page
    assert "25 jours où rien n’est enregistré." in page
    assert "2 jours où les symptômes sont enregistrés, mais pas toutes les doses." in page
    assert "1 jour où les doses sont enregistrées, mais pas les symptômes." in page


def test_a_stranger_gets_404_on_another_familys_past_days(world, client, a_month):
    login(client, world.bob)
    assert client.get(reverse("days", args=[world.amy.pk])).status_code == 404


def test_a_clinician_of_another_site_gets_404(world, client, a_month):
    login(client, world.dan)
    assert client.get(reverse("days", args=[world.amy.pk])).status_code == 404


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_past_days_queries_do_not_grow_with_the_days(world, client):
    login(client, world.alice)
    url = reverse("days", args=[world.amy.pk])
    born = world.amy.date_of_birth
    world.amy.date_of_birth = TODAY - timedelta(days=1)  # a list of two days
    world.amy.save()
    prescribe(world.amy)
    for n in range(2):
        entry(world.amy, TODAY - timedelta(days=n))
        dose(world.amy, TODAY - timedelta(days=n), "morning")
    few = count_queries(client, url)
    world.amy.date_of_birth = born  # thirty days, of every state, under three prescriptions
    world.amy.save()
    stop(world.amy, TODAY - timedelta(days=12), reason="interruption")
    prescribe(world.amy, start=TODAY - timedelta(days=6), morning=1)
    for n in range(2, 30):
        if n % 4:
            entry(world.amy, TODAY - timedelta(days=n), score=None if n % 3 else 2)
        if n % 5:
            dose(world.amy, TODAY - timedelta(days=n), "morning")
    page = client.get(url).content.decode()
    assert len(rows(page)) == 30 and {state for state, _text in rows(page).values()} == {
        "complete",
        "symptoms_only",
        "doses_only",
        "empty",
    }
    assert count_queries(client, url) == few


# --- The home page ------------------------------------------------------------------------


def home_card(client, child) -> str:
    page = client.get(reverse("home")).content.decode()
    card = page.split(f'href="{reverse("child_detail", args=[child.pk])}"')[1].split("</li>")[0]
    return text(card), card


def test_the_home_card_says_whether_today_is_done(world, client):
    login(client, world.alice)
    prescribe(world.amy)
    text, card = home_card(client, world.amy)
    assert "Today: nothing recorded yet" in text
    assert (
        f'<a href="{reverse("day", args=[world.amy.pk])}">Today: nothing recorded yet</a>' in card
    )
    entry(world.amy, TODAY, score=0, no_symptoms=True)
    assert "Today: symptoms recorded, doses not yet score 0" in home_card(client, world.amy)[0]
    dose(world.amy, TODAY, "morning")
    assert "Today: symptoms recorded, 1 of 2 doses not yet" in home_card(client, world.amy)[0]
    dose(world.amy, TODAY, "evening")
    assert "Today: complete ✓" in home_card(client, world.amy)[0]


def test_the_home_card_uses_the_childs_own_today(world, client):
    world.amy.timezone = "Pacific/Auckland"
    world.amy.save()
    login(client, world.alice)
    # 20:00 in London on 9 March is already 10 March in Auckland.
    with time_machine.travel(datetime(2026, 3, 9, 20, 0, tzinfo=ZoneInfo("Europe/London"))):
        entry(world.amy, date(2026, 3, 9))
        assert "Today: nothing recorded yet" in home_card(client, world.amy)[0]
        dose(world.amy, date(2026, 3, 10), "morning")
        assert "Today: doses recorded, symptoms not yet" in home_card(client, world.amy)[0]


def test_the_home_card_in_french(world, client):
    world.alice.language = "fr"
    world.alice.save()
    login(client, world.alice)
    assert "Aujourd’hui\u00a0: rien n’est encore enregistré" in home_card(client, world.amy)[0]


def test_home_queries_do_not_grow_with_the_children(world, client):
    login(client, world.alice)
    prescribe(world.amy)
    entry(world.amy, TODAY)
    few = count_queries(client, reverse("home"))
    for n in range(4):
        kid = make_child(
            world.north, f"Kid{n}", timezone=["Europe/Paris", "America/Chicago"][n % 2]
        )
        CareLink.objects.create(caregiver=world.alice, child=kid, relationship="mother")
        prescribe(kid)
        entry(kid, kid.today())
        dose(kid, kid.today(), "morning")
    page = client.get(reverse("home")).content.decode()
    assert page.count("Today: symptoms recorded") == 5
    assert count_queries(client, reverse("home")) == few
