"""The recording API: idempotent creates, versioned changes, scoping and every bad input."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from diary.models import (
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    SteroidDose,
)
from tests.conftest import AGS_ANSWERS, prescribe

SCORES = AGS_ANSWERS


def entry_body(child, **extra):
    body = {
        "id": str(uuid.uuid4()),
        "child": child.pk,
        "date": child.today().isoformat(),
        "scores": SCORES,
    }
    body.update(extra)
    return body


def test_create_stores_the_scores_and_who_reported(world, api_for):
    response = api_for(world.alice).post("/api/entries/", entry_body(world.amy), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["score"] == 5 and body["subscores"] == {"skin": 1}
    assert body["instrument_key"] == "ags" and body["instrument_version"] == 1
    assert body["version"] == 1 and body["reported_by"] == "alice" and body["fever"] is False
    entry = DiaryEntry.objects.get()
    assert entry.history.get().history_user == world.alice


def test_a_replayed_create_returns_the_stored_entry(world, api_for):
    api = api_for(world.alice)
    body = entry_body(world.amy)
    first = api.post("/api/entries/", body, format="json")
    again = api.post("/api/entries/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert DiaryEntry.objects.count() == 1


def test_an_id_of_another_childs_row_is_refused_and_reveals_nothing(world, api_for):
    body = entry_body(world.amy)
    api_for(world.alice).post("/api/entries/", body, format="json")
    again = api_for(world.bob).post(
        "/api/entries/",
        entry_body(world.ben, id=body["id"], scores={}, no_symptoms=True),
        format="json",
    )
    assert again.status_code == 400
    assert list(again.json()) == ["id"]
    assert DiaryEntry.objects.get().child == world.amy


def test_a_replay_of_a_day_already_saved_returns_the_stored_entry(world, api_for):
    """The same answers saved twice under two ids (two taps on two phones) are one entry."""
    api = api_for(world.alice)
    first = api.post("/api/entries/", entry_body(world.amy), format="json")
    again = api.post("/api/entries/", entry_body(world.amy), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert DiaryEntry.objects.count() == 1


def test_a_second_create_for_the_same_day_gets_409_with_the_stored_entry(world, api_for):
    api_for(world.alice).post("/api/entries/", entry_body(world.amy), format="json")
    other = entry_body(world.amy, scores={**SCORES, "crying": 3})
    response = api_for(world.carol).post("/api/entries/", other, format="json")
    assert response.status_code == 409
    assert response.json()["current"]["scores"]["crying"] == 1
    assert DiaryEntry.objects.get().scores["crying"] == 1


def test_no_symptoms_is_one_field(world, api_for):
    response = api_for(world.alice).post(
        "/api/entries/", entry_body(world.amy, scores={}, no_symptoms=True), format="json"
    )
    assert response.status_code == 201
    assert response.json()["score"] == 0 and response.json()["answered"] == 9


def test_change_with_the_current_version(world, api_for):
    api = api_for(world.alice)
    created = api.post("/api/entries/", entry_body(world.amy), format="json").json()
    changed = api.patch(
        f"/api/entries/{created['id']}/",
        {"version": 1, "scores": {**SCORES, "sleep": 3}},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["version"] == 2 and changed.json()["score"] == 7
    # A PATCH keeps what it does not name.
    noted = api.patch(
        f"/api/entries/{created['id']}/", {"version": 2, "note": "teething"}, format="json"
    )
    assert noted.json()["scores"]["sleep"] == 3 and noted.json()["note"] == "teething"
    record = DiaryEntry.objects.get().history.order_by("-history_date")[1]
    assert record.scores["sleep"] == 3 and record.note == ""


def test_stale_change_gets_409_and_nothing_is_overwritten(world, api_for):
    created = api_for(world.alice).post("/api/entries/", entry_body(world.amy), format="json")
    entry_id = created.json()["id"]
    api_for(world.carol).patch(
        f"/api/entries/{entry_id}/", {"version": 1, "note": "carol"}, format="json"
    )
    stale = api_for(world.alice).patch(
        f"/api/entries/{entry_id}/", {"version": 1, "note": "alice"}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["current"]["note"] == "carol" and stale.json()["current"]["version"] == 2
    assert DiaryEntry.objects.get().note == "carol"


def test_change_without_version_is_refused(world, api_for):
    created = api_for(world.alice).post("/api/entries/", entry_body(world.amy), format="json")
    response = api_for(world.alice).patch(
        f"/api/entries/{created.json()['id']}/", {"note": "x"}, format="json"
    )
    assert response.status_code == 400 and "version" in response.json()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"scores": {**SCORES, "irritability": 4}},
            "scores",
            {"irritability": ["The score must be between 0 and 3."]},
        ),
        ({"scores": {"mood": 1}}, "scores", {"mood": ["Unknown item for this diary."]}),
        ({"scores": {"sleep": "a lot"}}, "scores", {"sleep": ["A valid integer is required."]}),
        ({"date": "2999-01-01"}, "date", ["The date cannot be in the future."]),
        ({"date": "2019-04-30"}, "date", ["The date is before the child's date of birth."]),
        ({"max_temperature": "48.0"}, "max_temperature", ["Enter a value between 34 and 43 °C."]),
        ({"scores": {}}, "scores", ["Answer at least one question, or tap “No symptoms today”."]),
    ],
)
def test_bad_entries_get_400_with_the_field_and_store_nothing(
    world, api_for, change, field, message
):
    response = api_for(world.alice).post(
        "/api/entries/", entry_body(world.amy, **change), format="json"
    )
    assert response.status_code == 400
    assert response.json()[field] == message
    assert not DiaryEntry.objects.exists()


def test_tomorrow_in_the_familys_time_zone_is_the_future(world, api_for):
    tomorrow = (world.amy.today() + timedelta(days=1)).isoformat()
    response = api_for(world.alice).post(
        "/api/entries/", entry_body(world.amy, date=tomorrow), format="json"
    )
    assert response.status_code == 400 and "date" in response.json()


def test_messages_in_the_users_language(world, api_for):
    world.alice.language = "fr"
    world.alice.save()
    api = api_for(world.alice)
    response = api.post(
        "/api/entries/",
        entry_body(world.amy, date="2999-01-01"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert response.json()["date"] == ["La date ne peut pas être dans le futur."]


@pytest.mark.parametrize("stranger", ["bob", "dan", "rita"])
def test_strangers_get_404(world, api_for, stranger):
    api = api_for(getattr(world, stranger))
    assert api.post("/api/entries/", entry_body(world.amy), format="json").status_code == 404
    created = api_for(world.alice).post("/api/entries/", entry_body(world.amy), format="json")
    entry_id = created.json()["id"]
    assert api.get(f"/api/entries/{entry_id}/").status_code == 404
    assert (
        api.patch(
            f"/api/entries/{entry_id}/", {"version": 1, "note": "x"}, format="json"
        ).status_code
        == 404
    )
    assert api.get("/api/entries/", {"child": world.amy.pk}).json()["results"] == []
    # Replaying someone else's id for one's own child is refused too.
    theirs = entry_body(world.ben, id=entry_id)
    if stranger == "bob":
        assert api.post("/api/entries/", theirs, format="json").status_code == 400
    assert DiaryEntry.objects.get().note == ""


def test_nothing_is_deleted(world, api_for):
    created = api_for(world.alice).post("/api/entries/", entry_body(world.amy), format="json")
    response = api_for(world.carol).delete(f"/api/entries/{created.json()['id']}/")
    assert response.status_code == 405
    assert DiaryEntry.objects.count() == 1


def test_list_filters(world, api_for):
    api = api_for(world.alice)
    today = world.amy.today()
    for n in range(5):
        api.post(
            "/api/entries/",
            entry_body(world.amy, date=(today - timedelta(days=n)).isoformat()),
            format="json",
        )
    rows = api.get(
        "/api/entries/",
        {
            "child": world.amy.pk,
            "date_after": (today - timedelta(days=3)).isoformat(),
            "date_before": (today - timedelta(days=1)).isoformat(),
        },
    ).json()["results"]
    assert [r["date"] for r in rows] == [(today - timedelta(days=n)).isoformat() for n in (1, 2, 3)]


# --- doses, steroids, growth ---------------------------------------------------------------


@pytest.fixture
def prescribed(world):
    return prescribe(world.amy, afternoon=2)


def dose_body(child, **extra):
    body = {
        "id": str(uuid.uuid4()),
        "child": child.pk,
        "date": child.today().isoformat(),
        "drug": "baricitinib",
        "slot": "morning",
        "status": "given",
    }
    body.update(extra)
    return body


def test_dose_given_as_prescribed(world, api_for, prescribed):
    response = api_for(world.alice).post("/api/doses/", dose_body(world.amy), format="json")
    assert response.status_code == 201, response.json()
    dose = DoseAdministration.objects.get()
    assert dose.given_mg == 2 and dose.prescribed_mg == 2 and dose.prescription == prescribed


def test_dose_missed_or_different(world, api_for, prescribed):
    api = api_for(world.alice)
    api.post("/api/doses/", dose_body(world.amy, status="missed"), format="json")
    api.post(
        "/api/doses/",
        dose_body(world.amy, slot="evening", status="different", given_mg="1.5"),
        format="json",
    )
    doses = {d.slot: d.given_mg for d in DoseAdministration.objects.all()}
    assert doses == {"morning": 0, "evening": Decimal("1.5")}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"status": "different", "given_mg": "-1"}, "given_mg", "A dose cannot be negative."),
        (
            {"status": "different", "given_mg": "121"},
            "given_mg",
            "121 mg is more than ten times the maximum daily dose of baricitinib: check it.",
        ),
        ({"status": "different"}, "given_mg", "Give the amount that was given."),
        ({"slot": "midnight"}, "slot", '"midnight" is not a valid choice.'),
    ],
)
def test_bad_doses(world, api_for, prescribed, change, field, message):
    response = api_for(world.alice).post(
        "/api/doses/", dose_body(world.amy, **change), format="json"
    )
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert not DoseAdministration.objects.exists()


def test_steroid_doses(world, api_for):
    api = api_for(world.alice)
    body = {
        "id": str(uuid.uuid4()),
        "child": world.amy.pk,
        "date": world.amy.today().isoformat(),
        "drug": "prednisolone",
        "mg": "5",
    }
    assert api.post("/api/steroids/", body, format="json").status_code == 201
    assert api.post("/api/steroids/", body, format="json").status_code == 200
    assert SteroidDose.objects.count() == 1
    for mg, message in [
        ("0", "A dose must be more than 0 mg."),
        ("601", "601 mg is more than ten times the maximum daily dose of prednisolone: check it."),
    ]:
        response = api.post(
            "/api/steroids/", {**body, "id": str(uuid.uuid4()), "mg": mg}, format="json"
        )
        assert response.status_code == 400 and response.json()["mg"] == [message]
    assert SteroidDose.objects.count() == 1


def test_growth(world, api_for):
    api = api_for(world.alice)
    body = {
        "id": str(uuid.uuid4()),
        "child": world.amy.pk,
        "date": world.amy.today().isoformat(),
        "weight_kg": "17.4",
    }
    assert api.post("/api/growth/", body, format="json").status_code == 201
    for change, field in [
        ({"weight_kg": "250"}, "weight_kg"),
        ({"weight_kg": "-3"}, "weight_kg"),
        ({"weight_kg": None}, "weight_kg"),
        ({"height_cm": "400"}, "height_cm"),
    ]:
        other = {**body, "id": str(uuid.uuid4()), "date": "2024-01-01", **change}
        response = api.post("/api/growth/", other, format="json")
        assert response.status_code == 400 and field in response.json(), (change, response.json())
    assert GrowthMeasurement.objects.count() == 1


def test_instrument_endpoint(world, api_for):
    body = api_for(world.alice).get(f"/api/children/{world.amy.pk}/instrument/").json()
    assert body["key"] == "ags" and body["version"] == 1 and body["max_score"] == 24
    first = body["items"][0]
    assert first["key"] == "irritability" and first["min"] == 0 and first["max"] == 3
    assert first["choices"][0] == {"value": 0, "label": "Calm and content, as usual"}
    assert api_for(world.bob).get(f"/api/children/{world.amy.pk}/instrument/").status_code == 404


def test_schema_lists_the_recording_endpoints(world, api_for):
    import yaml

    schema = yaml.safe_load(api_for(world.alice).get("/api/schema/").content)
    for path in (
        "/api/entries/",
        "/api/entries/{id}/",
        "/api/doses/",
        "/api/steroids/",
        "/api/growth/",
        "/api/children/{id}/instrument/",
    ):
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/entries/"]["get"]["parameters"]}
    assert {"child", "date_after", "date_before"} <= params


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_for_one_day_make_one_row(world, api_for):
    """Two phones saving the same day at the same moment: one row, a clear answer to both."""
    barrier = threading.Barrier(2)
    answers = []

    def post(user):
        api = api_for(user)
        barrier.wait()
        try:
            answers.append(
                api.post(
                    "/api/entries/",
                    entry_body(
                        world.amy, scores={**SCORES, "crying": 3 if user == world.alice else 0}
                    ),
                    format="json",
                ).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(u,)) for u in (world.alice, world.carol)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201, 409]
    assert DiaryEntry.objects.count() == 1


def test_moving_a_dose_onto_a_slot_already_recorded_is_a_conflict(world, api_for):
    prescribe(world.amy, morning=2, evening=2, start=world.amy.today() - timedelta(days=30))
    api = api_for(world.alice)
    day = world.amy.today().isoformat()
    rows = [
        api.post(
            "/api/doses/",
            {
                "id": str(uuid.uuid4()),
                "child": world.amy.pk,
                "date": day,
                "drug": "baricitinib",
                "slot": slot,
                "status": "given",
            },
        ).json()
        for slot in ("morning", "evening")
    ]
    response = api.patch(f"/api/doses/{rows[1]['id']}/", {"version": 1, "slot": "morning"})
    assert response.status_code == 409
    assert response.json()["current"]["id"] == rows[0]["id"]
    assert DoseAdministration.objects.get(pk=rows[1]["id"]).slot == "evening"


@pytest.mark.parametrize("value", ["", "0.5", "x", str(2**90), "0"])
def test_a_bad_child_filter_is_400_not_a_guess_or_a_crash(world, api_for, value):
    response = api_for(world.alice).get("/api/entries/", {"child": value})
    assert response.status_code == 400
    assert "child" in response.json()


def test_an_unknown_child_filter_is_an_empty_list_not_an_oracle(world, api_for):
    api = api_for(world.alice)
    for child in (world.ben.pk, world.ben.pk + 1000):
        response = api.get("/api/entries/", {"child": child})
        assert response.status_code == 200 and response.json()["count"] == 0
