"""POST /api/days/: a whole day in one request, all or nothing, idempotent without swallowing a
change."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection

from diary.models import DiaryEntry, DoseAdministration, GrowthMeasurement, SteroidDose
from tests.conftest import AGS_ANSWERS, prescribe

DAY_TABLES = (DiaryEntry, DoseAdministration, SteroidDose, GrowthMeasurement)


def tables() -> dict:
    """Every row of every table a day touches, and their change histories, as plain values."""
    out = {}
    for model in DAY_TABLES:
        out[model.__name__] = sorted(map(str, model.objects.values()))
        out[model.__name__ + "-history"] = sorted(map(str, model.history.values()))
    return out


def new_id() -> str:
    return str(uuid.uuid4())


def day_body(child, day=None, **parts):
    body = {
        "child": child.pk,
        "date": (day or child.today()).isoformat(),
        "entry": {"id": new_id(), "scores": AGS_ANSWERS},
        "doses": [
            {"id": new_id(), "drug": "baricitinib", "slot": slot, "status": "given"}
            for slot in ("morning", "evening")
        ],
        "steroids": [{"id": new_id(), "drug": "prednisolone", "mg": "5"}],
        "growth": {"id": new_id(), "weight_kg": "17.5"},
    }
    body.update(parts)
    return body


@pytest.fixture
def treated(world):
    prescribe(world.amy, morning=2, evening=2, start=world.amy.today() - timedelta(days=60))
    return world


def test_a_whole_day_is_saved_in_one_request(treated, api_for):
    response = api_for(treated.alice).post("/api/days/", day_body(treated.amy), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["entry"]["score"] == 5 and body["entry"]["reported_by"] == "alice"
    assert [d["slot"] for d in body["doses"]] == ["morning", "evening"]
    assert body["steroids"][0]["mg"] == "5.00" and body["growth"]["weight_kg"] == "17.50"
    assert DoseAdministration.objects.filter(status="given").count() == 2
    entry = DiaryEntry.objects.get()
    assert entry.history.get().history_user == treated.alice


def test_the_same_day_sent_again_is_200_with_the_stored_day(treated, api_for):
    api = api_for(treated.alice)
    body = day_body(treated.amy)
    first = api.post("/api/days/", body, format="json")
    before = tables()
    again = api.post("/api/days/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert tables() == before


def test_the_same_id_with_other_answers_is_409_and_changes_nothing(treated, api_for):
    """A correction queued offline under the id of the first save must not pass as a replay."""
    api = api_for(treated.alice)
    body = day_body(treated.amy)
    api.post("/api/days/", body, format="json")
    before = tables()
    body["entry"]["scores"] = {key: 1 for key in AGS_ANSWERS}
    response = api.post("/api/days/", body, format="json")
    assert response.status_code == 409, response.json()
    conflict = response.json()
    assert conflict["conflicts"][0]["part"] == "entry"
    assert conflict["conflicts"][0]["current"]["scores"] == AGS_ANSWERS
    assert conflict["day"]["entry"]["id"] == body["entry"]["id"]
    assert tables() == before


def test_the_record_endpoint_also_refuses_a_reused_id_with_other_content(treated, api_for):
    api = api_for(treated.alice)
    body = {"id": new_id(), "child": treated.amy.pk, "date": treated.amy.today().isoformat()}
    api.post("/api/entries/", {**body, "scores": AGS_ANSWERS}, format="json")
    again = api.post("/api/entries/", {**body, "no_symptoms": True}, format="json")
    assert again.status_code == 409
    assert again.json()["current"]["scores"] == AGS_ANSWERS
    assert DiaryEntry.objects.get().score == 5


def test_one_bad_field_stores_nothing_and_names_the_field(treated, api_for):
    before = tables()
    body = day_body(treated.amy, growth={"id": new_id(), "weight_kg": "0"})
    response = api_for(treated.alice).post("/api/days/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "weight_kg" in errors["growth"] and errors["detail"] == "Nothing was saved."
    assert tables() == before


def test_every_bad_field_of_every_part_is_named(treated, api_for):
    body = day_body(
        treated.amy,
        entry={"id": new_id(), "scores": {**AGS_ANSWERS, "crying": 9}, "max_temperature": "50"},
        doses=[
            {"id": new_id(), "drug": "baricitinib", "slot": "morning", "status": "given"},
            {"id": new_id(), "drug": "baricitinib", "slot": "evening", "status": "different"},
        ],
        steroids=[{"id": new_id(), "drug": "prednisolone", "mg": "-1"}],
        growth={"id": new_id(), "height_cm": "5"},
    )
    response = api_for(treated.alice).post("/api/days/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors["entry"]) == {"scores", "max_temperature"}
    assert errors["entry"]["scores"]["crying"]
    assert errors["doses"][0] == {} and "given_mg" in errors["doses"][1]
    assert "mg" in errors["steroids"][0] and "height_cm" in errors["growth"]
    assert DiaryEntry.objects.count() == DoseAdministration.objects.count() == 0


def test_messages_are_in_the_users_language(treated, client_for):
    treated.alice.language = "fr"
    treated.alice.save()
    body = day_body(treated.amy, growth={"id": new_id(), "weight_kg": "0"})
    response = client_for(treated.alice).post("/api/days/", body, content_type="application/json")
    errors = response.json()
    assert errors["detail"] == "Rien n’a été enregistré."
    assert "entre" in errors["growth"]["weight_kg"][0]


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("doses", [{"id": "x", "drug": "baricitinib", "slot": "morning", "status": "given"}]),
        ("doses", {"not": "a list"}),
        ("entry", ["not", "an", "object"]),
        ("entry", {"id": str(uuid.uuid4()), "scores": {"crying": "lots"}}),
        ("growth", {"id": str(uuid.uuid4()), "weight_kg": "17", "version": 0}),
        ("steroids", [{"id": str(uuid.uuid4()), "drug": "arsenic", "mg": "5"}]),
        ("date", "2026-02-30"),
        ("child", "amy"),
    ],
)
def test_odd_payloads_are_400_and_store_nothing(treated, api_for, part, value):
    before = tables()
    body = {**day_body(treated.amy), part: value}
    response = api_for(treated.alice).post("/api/days/", body, format="json")
    assert response.status_code == 400, response.content
    assert part in response.json()
    assert tables() == before


def test_a_day_in_the_future_or_before_birth_is_refused(treated, api_for):
    api = api_for(treated.alice)
    for day in (treated.amy.today() + timedelta(days=1), treated.amy.date_of_birth - timedelta(1)):
        response = api.post("/api/days/", day_body(treated.amy, day), format="json")
        assert response.status_code == 400 and "date" in response.json()
    assert DiaryEntry.objects.count() == 0


def test_a_dose_slot_the_prescription_lacks_is_refused(treated, api_for):
    body = day_body(
        treated.amy,
        doses=[{"id": new_id(), "drug": "baricitinib", "slot": "afternoon", "status": "given"}],
    )
    response = api_for(treated.alice).post("/api/days/", body, format="json")
    assert response.status_code == 400
    assert "slot" in response.json()["doses"][0]
    assert DiaryEntry.objects.count() == 0


def test_the_same_slot_twice_in_one_day_is_refused(treated, api_for):
    dose = {"drug": "baricitinib", "slot": "morning", "status": "given"}
    body = day_body(treated.amy, doses=[{"id": new_id(), **dose}, {"id": new_id(), **dose}])
    response = api_for(treated.alice).post("/api/days/", body, format="json")
    assert response.status_code == 400 and "slot" in response.json()["doses"][1]


def test_a_stale_version_is_409_and_rolls_back_the_rest_of_the_day(treated, api_for):
    api = api_for(treated.alice)
    first = api.post("/api/days/", day_body(treated.amy, doses=[], steroids=[]), format="json")
    growth = first.json()["growth"]
    # Another caregiver corrects the weight.
    api_for(treated.carol).patch(
        f"/api/growth/{growth['id']}/", {"version": 1, "weight_kg": "18"}, format="json"
    )
    before = tables()
    body = day_body(
        treated.amy,
        entry={
            "id": first.json()["entry"]["id"],
            "version": 1,
            "scores": {**AGS_ANSWERS, "sleep": 3},
        },
        growth={"id": growth["id"], "version": 1, "weight_kg": "17.8"},
    )
    response = api.post("/api/days/", body, format="json")
    assert response.status_code == 409
    assert [c["part"] for c in response.json()["conflicts"]] == ["growth"]
    assert response.json()["conflicts"][0]["current"]["weight_kg"] == "18.00"
    # The entry change and the new doses and steroid were rolled back with it.
    assert tables() == before


def test_a_stranger_gets_404_and_nothing_is_stored(treated, api_for):
    before = tables()
    response = api_for(treated.bob).post("/api/days/", day_body(treated.amy), format="json")
    assert response.status_code == 404
    assert tables() == before


def test_a_researcher_or_a_clinician_elsewhere_gets_404(treated, api_for):
    for user in (treated.dan, treated.rita):
        response = api_for(user).post("/api/days/", day_body(treated.amy), format="json")
        assert response.status_code == 404
    assert DiaryEntry.objects.count() == 0


def test_an_id_of_another_familys_row_is_refused(treated, api_for):
    prescribe(treated.ben, start=treated.ben.today() - timedelta(days=10))
    theirs = day_body(
        treated.ben, entry={"id": new_id(), "no_symptoms": True}, doses=[], steroids=[]
    )
    assert api_for(treated.bob).post("/api/days/", theirs, format="json").status_code == 201
    body = day_body(treated.amy, entry={"id": theirs["entry"]["id"], "scores": AGS_ANSWERS})
    response = api_for(treated.alice).post("/api/days/", body, format="json")
    assert response.status_code == 400 and "id" in response.json()["entry"]
    assert DiaryEntry.objects.filter(child=treated.amy).count() == 0


def test_adding_doses_later_leaves_the_symptom_answers_alone(treated, api_for):
    api = api_for(treated.alice)
    entry = {"id": new_id(), "no_symptoms": True}
    api.post("/api/days/", day_body(treated.amy, entry=entry, doses=[]), format="json")
    later = day_body(treated.amy, entry=None, steroids=[], growth=None)
    assert api.post("/api/days/", later, format="json").status_code == 201
    stored = DiaryEntry.objects.get()
    assert stored.no_symptoms is True and stored.version == 1
    assert DoseAdministration.objects.count() == 2


def test_a_changed_day_keeps_who_and_what(treated, api_for):
    api = api_for(treated.alice)
    first = api.post("/api/days/", day_body(treated.amy), format="json").json()
    body = day_body(
        treated.amy,
        entry={"id": first["entry"]["id"], "version": 1, "scores": {**AGS_ANSWERS, "sleep": 3}},
        doses=[],
        steroids=[],
        growth=None,
    )
    response = api_for(treated.carol).post("/api/days/", body, format="json")
    assert response.status_code == 200, response.json()
    entry = DiaryEntry.objects.get()
    assert entry.version == 2 and entry.scores["sleep"] == 3
    history = list(entry.history.order_by("history_date"))
    assert [h.history_user for h in history] == [treated.alice, treated.carol]
    assert history[0].scores["sleep"] == 1


# --- Shingles (herpes zoster): saved, sent back, flagged (SPARN §7.3) --------------------------


def test_shingles_travels_through_the_day_and_the_record_endpoint(treated, api_for):
    from outcomes.models import LabFlag

    api = api_for(treated.alice)
    entry = {"id": new_id(), "scores": AGS_ANSWERS, "zoster": True}
    response = api.post("/api/days/", day_body(treated.amy, entry=entry), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["entry"]["zoster"] is True
    stored = DiaryEntry.objects.get()
    assert stored.zoster is True and stored.history.get().zoster is True
    assert LabFlag.objects.get(child=treated.amy, code="zoster").severity == "stop"
    # The record endpoint sends it back; a PATCH naming other answers keeps it.
    row = api.get(f"/api/entries/{stored.pk}/").json()
    assert row["zoster"] is True
    change = {"version": 1, "scores": {**AGS_ANSWERS, "sleep": 3}}
    patched = api.patch(f"/api/entries/{stored.pk}/", change, format="json")
    assert patched.status_code == 200 and patched.json()["zoster"] is True
    cleared = api.patch(f"/api/entries/{stored.pk}/", {"version": 2, "zoster": False}, "json")
    assert cleared.status_code == 200 and cleared.json()["zoster"] is False
    stored.refresh_from_db()
    assert (stored.zoster, stored.version, stored.scores["sleep"]) == (False, 3, 3)
    # A day sent without it (an older phone's queue) is a day without shingles.
    older = {"id": new_id(), "scores": AGS_ANSWERS}
    day = treated.amy.today() - timedelta(days=1)
    api.post("/api/days/", day_body(treated.amy, day, entry=older, doses=[]), format="json")
    assert DiaryEntry.objects.get(date=day).zoster is False


def test_shingles_by_the_record_endpoint_alone(treated, api_for):
    body = {"id": new_id(), "child": treated.amy.pk, "date": treated.amy.today().isoformat()}
    response = api_for(treated.carol).post("/api/entries/", {**body, "zoster": True}, "json")
    assert response.status_code == 201, response.json()
    assert response.json()["zoster"] is True and response.json()["score"] is None
    again = api_for(treated.carol).post("/api/entries/", {**body, "zoster": True}, "json")
    assert again.status_code == 200  # a replay
    assert DiaryEntry.objects.get().zoster is True


@pytest.mark.parametrize("value", ["maybe", 2, [True], {"yes": 1}])
def test_shingles_must_be_yes_or_no(treated, api_for, value):
    before = tables()
    entry = {"id": new_id(), "scores": AGS_ANSWERS, "zoster": value}
    response = api_for(treated.alice).post(
        "/api/days/", day_body(treated.amy, entry=entry), format="json"
    )
    assert response.status_code == 400 and "zoster" in response.json()["entry"]
    assert tables() == before


def test_a_stranger_cannot_record_shingles(treated, api_for):
    entry = {"id": new_id(), "zoster": True}
    response = api_for(treated.bob).post(
        "/api/days/", day_body(treated.amy, entry=entry, doses=[]), format="json"
    )
    assert response.status_code == 404 and not DiaryEntry.objects.exists()


def test_shingles_is_in_the_schema(api_for, world):
    schema = api_for(world.alice).get("/api/schema/", {"format": "json"}).json()
    parts = schema["components"]["schemas"]
    for name in ("EntryInRequest", "DayEntryInRequest", "PatchedEntryChangeRequest"):
        zoster = parts[name]["properties"]["zoster"]
        assert zoster["type"] == "boolean" and "§7.3" in zoster["description"], name
    assert parts["EntryOut"]["properties"]["zoster"]["type"] == "boolean"


def test_the_day_endpoint_is_in_the_schema(api_for, world):
    schema = api_for(world.alice).get("/api/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/days/"]["post"]
    assert {"200", "201", "400", "404", "409"} <= set(post["responses"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same", [True, False])
def test_concurrent_saves_of_one_day_make_one_row_each_never_a_500(treated, api_for, same):
    """Two phones save the same day at once, with the same or with other answers."""
    barrier = threading.Barrier(2)
    answers = []
    shared = day_body(treated.amy)

    def post(user, n):
        body = shared if same else day_body(treated.amy)
        if not same:
            body["entry"]["scores"] = {**AGS_ANSWERS, "crying": n}
        api = api_for(user)
        barrier.wait()
        try:
            answers.append(api.post("/api/days/", body, format="json").status_code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=post, args=(u, n))
        for n, u in enumerate((treated.alice, treated.carol))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == ([200, 201] if same else [201, 409])
    assert DiaryEntry.objects.count() == 1
    assert GrowthMeasurement.objects.count() == 1
    assert DoseAdministration.objects.count() == 2
    assert SteroidDose.objects.count() == (1 if same else 1)


def test_an_oversized_day_is_refused_before_any_work(treated, api_for):
    dose = {"drug": "baricitinib", "slot": "morning", "status": "given"}
    body = day_body(treated.amy, doses=[{"id": new_id(), **dose} for _ in range(500)])
    response = api_for(treated.alice).post("/api/days/", body, format="json")
    assert response.status_code == 400 and "doses" in response.json()
    assert DiaryEntry.objects.count() == 0
