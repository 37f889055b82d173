"""The phone page for one day: record, correct, conflicts, the late-night question."""

import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from diary.models import (
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    SteroidDose,
)
from tests.conftest import AGS_ANSWERS, login, prescribe

ANSWERS = {f"item-{key}": str(score) for key, score in AGS_ANSWERS.items()}


def form(day, **extra):
    data = {"date": day.isoformat(), "entry_id": str(uuid.uuid4()), "entry_version": "0"}
    data.update(ANSWERS)
    data.update(extra)
    return data


@pytest.fixture
def parent(world, client):
    login(client, world.alice)
    return client


def url(world, day=None):
    base = reverse("day", args=[world.amy.pk])
    return f"{base}?date={day.isoformat()}" if day else base


def test_the_page_says_which_day_and_shows_every_wording(world, parent):
    page = parent.get(url(world)).content.decode()
    assert "Today" in page and world.amy.today().strftime("%Y") in page
    assert "Calm and content, as usual" in page and "Hardly slept" in page
    assert (
        "checked" not in page.split('id="day-form"')[1].split("Medicine")[0]
    )  # nothing preselected


def test_record_today(world, parent):
    today = world.amy.today()
    response = parent.post(url(world), form(today))
    assert response.status_code == 302 and "saved=1" in response["Location"]
    entry = DiaryEntry.objects.get()
    assert entry.date == today and entry.score == 5 and entry.reported_by == world.alice
    page = parent.get(response["Location"]).content.decode()
    assert "Daily score, last 7 days" in page and "Saved. Thank you." in page


def test_no_symptoms_is_one_tap(world, parent):
    today = world.amy.today()
    data = {
        "date": today.isoformat(),
        "entry_id": str(uuid.uuid4()),
        "entry_version": "0",
        "no_symptoms": "1",
    }
    assert parent.post(url(world), data).status_code == 302
    assert DiaryEntry.objects.get().score == 0


def test_double_submit_makes_one_entry(world, parent):
    data = form(world.amy.today())
    parent.post(url(world), data)
    parent.post(url(world), data)
    assert DiaryEntry.objects.count() == 1


def test_all_doses_given_is_one_tap(world, parent):
    prescribe(world.amy, afternoon=4)
    today = world.amy.today()
    page = parent.get(url(world)).content.decode()
    assert "All doses given as prescribed" in page
    parent.post(url(world), form(today, all_given="on"))
    given = {d.slot: (d.status, d.given_mg) for d in DoseAdministration.objects.all()}
    assert given == {"morning": ("given", 2), "afternoon": ("given", 4), "evening": ("given", 2)}


def test_a_missed_and_a_different_dose(world, parent):
    prescribe(world.amy)
    today = world.amy.today()
    parent.post(
        url(world),
        form(
            today,
            **{
                "dose-baricitinib-morning-status": "missed",
                "dose-baricitinib-evening-status": "different",
                "dose-baricitinib-evening-mg": "1,5",
            },
        ),
    )
    given = {d.slot: (d.status, str(d.given_mg)) for d in DoseAdministration.objects.all()}
    assert given == {"morning": ("missed", "0.00"), "evening": ("different", "1.50")}


def test_steroid_and_weight(world, parent):
    today = world.amy.today()
    parent.post(
        url(world),
        form(
            today,
            **{
                "steroid-drug": "prednisolone",
                "steroid-mg": "5",
                "steroid-id": str(uuid.uuid4()),
                "weight_kg": "17,2",
            },
        ),
    )
    assert SteroidDose.objects.get().mg == 5
    assert str(GrowthMeasurement.objects.get().weight_kg) == "17.20"


def test_bad_input_is_explained_and_nothing_is_stored(world, parent):
    prescribe(world.amy, evening=0)
    today = world.amy.today()
    response = parent.post(
        url(world),
        form(
            today,
            **{
                "max_temperature": "48",
                "dose-baricitinib-morning-status": "different",
                "steroid-mg": "-2",
                "steroid-drug": "prednisolone",
                "weight_kg": "400",
            },
        ),
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved" in page
    assert "Enter a value between 34 and 43 °C." in page
    assert "Give the amount that was given." in page
    assert "A dose must be more than 0 mg." in page
    assert "Enter a value between 0.5 and 200 kg." in page
    # The parent's answers are still there to correct.
    assert 'value="2" checked' in page
    assert not DiaryEntry.objects.exists() and not DoseAdministration.objects.exists()
    assert not SteroidDose.objects.exists() and not GrowthMeasurement.objects.exists()


def test_a_valid_entry_is_not_saved_when_another_part_is_wrong(world, parent):
    parent.post(url(world), form(world.amy.today(), weight_kg="0.1"))
    assert not DiaryEntry.objects.exists()


def test_future_date_is_refused(world, parent):
    tomorrow = world.amy.today() + timedelta(days=1)
    response = parent.get(url(world, tomorrow), follow=True)
    assert "The date cannot be in the future." in response.content.decode()
    response = parent.post(url(world, tomorrow), form(tomorrow))
    assert not DiaryEntry.objects.exists()


def test_a_past_day_can_be_filled_and_corrected(world, parent):
    day = world.amy.today() - timedelta(days=4)
    parent.post(url(world, day), form(day))
    entry = DiaryEntry.objects.get(date=day)
    page = parent.get(url(world, day)).content.decode()
    dayline = page.split('id="dayline"')[1].split("</p>")[0]
    assert f"<strong>{day:%A} {day.day} {day:%B %Y}</strong>" in dayline
    assert "Today," not in dayline
    data = form(day, entry_id=str(entry.pk), entry_version="1", **{"item-sleep": "3"})
    parent.post(url(world, day), data)
    entry.refresh_from_db()
    assert entry.scores["sleep"] == 3 and entry.version == 2
    assert entry.history.count() == 2


def test_stale_edit_shows_both_versions_and_overwrites_nothing(world, parent, client_for):
    day = world.amy.today()
    parent.post(url(world), form(day))
    entry = DiaryEntry.objects.get()
    # Carol saves a change after Alice opened the page at version 1.
    from django.test import Client

    carol = Client()
    login(carol, world.carol)
    carol.post(
        url(world), form(day, entry_id=str(entry.pk), entry_version="1", **{"item-crying": "3"})
    )
    response = parent.post(
        url(world), form(day, entry_id=str(entry.pk), entry_version="1", **{"item-sleep": "2"})
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "Someone else saved this day while you were editing" in page
    assert "Carol saved it at" in page
    entry.refresh_from_db()
    assert entry.scores["crying"] == 3 and entry.scores["sleep"] == 1 and entry.version == 2
    # Saving again from the conflict page is a deliberate overwrite of version 2.
    assert 'name="entry_version" value="2"' in page
    parent.post(
        url(world), form(day, entry_id=str(entry.pk), entry_version="2", **{"item-sleep": "2"})
    )
    entry.refresh_from_db()
    assert entry.scores["sleep"] == 2 and entry.version == 3


def test_after_midnight_the_page_asks_about_yesterday(world, parent):
    london = ZoneInfo("Europe/London")
    with time_machine.travel(datetime(2026, 3, 10, 1, 30, tzinfo=london)):
        page = parent.get(url(world)).content.decode()
        assert "It is after midnight. Is this entry for yesterday?" in page
        assert "?date=2026-03-09" in page
        # Once a day is chosen, it is not asked again.
        page = parent.get(url(world, date(2026, 3, 10))).content.decode()
        assert "after midnight" not in page
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, tzinfo=london)):
        assert "after midnight" not in parent.get(url(world)).content.decode()


def test_days_follow_the_familys_time_zone(world, parent):
    world.amy.timezone = "Pacific/Auckland"
    world.amy.save()
    # 20:00 in London on 9 March is already 10 March in Auckland.
    with time_machine.travel(datetime(2026, 3, 9, 20, 0, tzinfo=ZoneInfo("Europe/London"))):
        parent.post(url(world), form(date(2026, 3, 10)))
    assert DiaryEntry.objects.get().date == date(2026, 3, 10)


def test_past_days_highlight_missing_days(world, parent):
    today = world.amy.today()
    for n in (0, 2, 5):
        day = today - timedelta(days=n)
        parent.post(url(world, day), form(day))
    page = parent.get(reverse("days", args=[world.amy.pk])).content.decode()
    assert page.count('class="state-empty"') == 27
    assert "27 days with nothing recorded." in page


def test_clinicians_see_who_changed_the_diary_and_what_it_was(world, parent, client_for):
    day = world.amy.today()
    parent.post(url(world), form(day))
    entry = DiaryEntry.objects.get()
    parent.post(
        url(world), form(day, entry_id=str(entry.pk), entry_version="1", max_temperature="38.2")
    )
    from django.test import Client

    carol = Client()
    login(carol, world.carol)
    page = carol.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert f"Changed: diary entry {day.day} {day:%b %Y}" in page
    assert "highest temperature (°C): – → 38.2" in page
    assert "Alice" in page.split('id="history"')[1]


def test_no_symptoms_all_doses_given_is_one_tap_without_script(world, parent):
    prescribe(world.amy, afternoon=4)
    today = world.amy.today()
    page = parent.get(url(world)).content.decode()
    assert "No symptoms, all doses given" in page
    response = parent.post(
        url(world), {"date": today.isoformat(), "no_symptoms_all_given": "1", "entry_version": "0"}
    )
    assert response.status_code == 302
    entry = DiaryEntry.objects.get()
    assert entry.no_symptoms and entry.score == 0
    assert DoseAdministration.objects.filter(status="given").count() == 3


def test_without_a_prescription_the_page_offers_no_symptoms_only(world, parent):
    page = parent.get(url(world)).content.decode()
    assert "No symptoms, all doses given" not in page and "No symptoms today" in page


def test_adding_doses_later_keeps_no_symptoms(world, parent):
    prescribe(world.amy)
    today = world.amy.today()
    parent.post(url(world), {"date": today.isoformat(), "no_symptoms": "1"})
    entry = DiaryEntry.objects.get()
    page = parent.get(url(world, today)).content.decode()
    assert 'name="no_symptoms_kept" value="1"' in page
    # The page comes back with every answer at 0 and the kept flag; a dose is added.
    zeros = {f"item-{key}": "0" for key in AGS_ANSWERS}
    response = parent.post(
        url(world, today),
        {
            "date": today.isoformat(),
            "entry_id": str(entry.pk),
            "entry_version": "1",
            "no_symptoms_kept": "1",
            **zeros,
            "dose-baricitinib-morning-status": "given",
        },
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.no_symptoms and entry.version == 1
    assert [h.no_symptoms for h in entry.history.all()] == [True]
    # A symptom answered later does end "no symptoms", as the parent said.
    parent.post(
        url(world, today),
        {
            "date": today.isoformat(),
            "entry_id": str(entry.pk),
            "entry_version": "1",
            "no_symptoms_kept": "1",
            **zeros,
            "item-crying": "2",
        },
    )
    entry.refresh_from_db()
    assert not entry.no_symptoms and entry.score == 2


def test_a_resubmitted_form_with_other_answers_is_a_conflict_not_a_replay(world, parent):
    today = world.amy.today()
    sent = form(today)
    parent.post(url(world), sent)
    response = parent.post(url(world), {**sent, "item-sleep": "3"})
    assert response.status_code == 409
    assert "Someone else saved this day" in response.content.decode()
    assert DiaryEntry.objects.get().scores["sleep"] == 1


def test_the_offline_day_page_has_no_day_in_it(world, parent):
    prescribe(world.amy)
    parent.post(url(world), form(world.amy.today()))
    response = parent.get(reverse("day_offline", args=[world.amy.pk]))
    page = response.content.decode()
    assert response.status_code == 200 and 'data-shell="1"' in page
    assert "no-store" in response["Cache-Control"]
    # No answer, id or version of any day: the phone fills in the day asked for.
    form_part = page.split('id="day-form"')[1]
    assert " checked" not in form_part
    assert str(DiaryEntry.objects.get().pk) not in page
    assert 'name="entry_version" value="0"' in form_part
    assert 'data-drug="baricitinib" data-slot="morning"' in form_part


def test_a_stranger_gets_404_for_the_offline_day_page(world, client_for):
    for user in (world.bob, world.dan, world.rita):
        response = client_for(user).get(reverse("day_offline", args=[world.amy.pk]))
        assert response.status_code == 404


def test_a_dose_slot_the_prescription_lacks_is_refused_on_the_page(world, parent):
    prescribe(world.amy, evening=0)
    today = world.amy.today()
    response = parent.post(
        reverse("day", args=[world.amy.pk]),
        form(today, **{"dose-baricitinib-evening-status": "given"}),
    )
    # The page only offers prescribed slots: an unknown field is ignored, nothing else.
    assert response.status_code == 302
    assert not DoseAdministration.objects.filter(slot="evening").exists()


# --- Shingles (herpes zoster), without the script ---------------------------------------------


def zoster_box(page: str) -> str:
    """The shingles checkbox's tag."""
    return re.search(r'<input[^>]*id="zoster"[^>]*>', page).group()


def test_shingles_is_a_toggle_after_illness_and_saved_by_the_form(world, parent):
    from outcomes.models import LabFlag

    prescribe(world.amy, start=world.amy.today() - timedelta(days=30))
    page = parent.get(url(world)).content.decode()
    assert page.index('id="illness"') < page.index('id="zoster"') < page.index("Medicine given")
    assert "Shingles (herpes zoster) rash" in page and "one side of the body" in page
    assert "checked" not in zoster_box(page)
    today = world.amy.today()
    response = parent.post(url(world), form(today, zoster="on"))
    assert response.status_code == 302
    entry = DiaryEntry.objects.get()
    assert entry.zoster is True and entry.illness is False
    assert LabFlag.objects.filter(child=world.amy, code="zoster", day=today).exists()
    page = parent.get(url(world, today)).content.decode()
    assert "checked" in zoster_box(page)
    # Unticked and saved again: no shingles, one more version, kept in the history.
    data = form(today, entry_id=str(entry.pk), entry_version="1")
    assert parent.post(url(world, today), data).status_code == 302
    entry.refresh_from_db()
    assert entry.zoster is False and entry.version == 2
    assert [h.zoster for h in entry.history.order_by("history_date")] == [True, False]


def test_shingles_stays_ticked_when_another_answer_is_wrong(world, parent):
    response = parent.post(url(world), form(world.amy.today(), zoster="on", max_temperature="48"))
    assert response.status_code == 400
    assert "checked" in zoster_box(response.content.decode())
    assert not DiaryEntry.objects.exists()


def test_shingles_alone_is_saved_from_the_form(world, parent):
    today = world.amy.today()
    response = parent.post(
        url(world), {"date": today.isoformat(), "entry_version": "0", "zoster": "on"}
    )
    assert response.status_code == 302
    entry = DiaryEntry.objects.get()
    assert entry.zoster and entry.score is None


def test_clinicians_see_shingles_in_the_change_history_in_french(world, parent, client_for):
    day = world.amy.today()
    parent.post(url(world), form(day))
    entry = DiaryEntry.objects.get()
    parent.post(url(world), form(day, entry_id=str(entry.pk), entry_version="1", zoster="on"))
    world.carol.language = "fr"
    world.carol.save()
    page = client_for(world.carol).get(reverse("child_detail", args=[world.amy.pk]))
    assert "éruption de zona (herpès zoster)\xa0: non → oui" in page.content.decode()


def test_the_french_day_page_names_shingles(world, client_for):
    world.alice.language = "fr"
    world.alice.save()
    page = client_for(world.alice).get(url(world)).content.decode()
    assert "Éruption de zona (herpès zoster)" in page and "un seul côté du corps" in page
