"""A database error in the middle of a save: nothing half-written, and the family is told to try
again. The error is real: a trigger makes the database refuse a later statement of the save."""

import uuid
from contextlib import contextmanager

import pytest
from django.db import connection
from django.urls import reverse

from diary.models import DiaryEntry, DoseAdministration
from tests.conftest import AGS_ANSWERS, login, prescribe

NOT_SAVED = "Nothing was saved"


@contextmanager
def refusing_inserts(table: str):
    """The database raises on every INSERT into TABLE while this lasts."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS refuse_insert ON {table}")
                cursor.execute("DROP FUNCTION IF EXISTS refuse_insert()")
            else:
                cursor.execute("DROP TRIGGER IF EXISTS refuse_insert")


def nothing_stored() -> bool:
    return not any(
        (
            DiaryEntry.objects.exists(),
            DiaryEntry.history.exists(),
            DoseAdministration.objects.exists(),
            DoseAdministration.history.exists(),
        )
    )


@pytest.mark.django_db(transaction=True)  # the save's own transaction is the outermost one
def test_a_failing_dose_leaves_no_entry_and_asks_to_retry(world, client):
    prescribe(world.amy)  # two doses a day
    login(client, world.alice)
    url = reverse("day", args=[world.amy.pk])
    day = world.amy.today()
    data = {
        "date": day.isoformat(),
        "entry_id": str(uuid.uuid4()),
        "entry_version": "0",
        "note": "slept badly after the vaccine",
        "all_given": "on",
        **{f"item-{key}": str(score) for key, score in AGS_ANSWERS.items()},
    }
    # The entry, its history row and the first dose are written before the dose's history
    # insert fails.
    with refusing_inserts("diary_historicaldoseadministration"):
        response = client.post(url, data)
    assert response.status_code == 503
    page = response.content.decode()
    assert NOT_SAVED in page and "try again" in page
    assert "slept badly after the vaccine" in page  # the answers are still in the form
    assert nothing_stored()

    again = client.post(url, data)  # the same form, once the database is well
    assert again.status_code == 302
    entry = DiaryEntry.objects.get()
    assert str(entry.pk) == data["entry_id"] and entry.note == data["note"]
    assert DoseAdministration.objects.count() == 2


def test_the_api_answers_503_and_stores_nothing(world, api_for):
    api = api_for(world.alice)
    body = {
        "id": str(uuid.uuid4()),
        "child": world.amy.pk,
        "date": world.amy.today().isoformat(),
        "scores": AGS_ANSWERS,
        "note": "a note",
    }
    with refusing_inserts("diary_historicaldiaryentry"):
        response = api.post("/api/entries/", body, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert NOT_SAVED in response.json()["detail"]
    assert nothing_stored()
    assert api.post("/api/entries/", body, format="json").status_code == 201
    assert DiaryEntry.objects.get().note == "a note"


def test_a_failing_change_keeps_the_previous_version(world, api_for):
    api = api_for(world.alice)
    body = {
        "id": str(uuid.uuid4()),
        "child": world.amy.pk,
        "date": world.amy.today().isoformat(),
        "scores": AGS_ANSWERS,
        "note": "before",
    }
    assert api.post("/api/entries/", body, format="json").status_code == 201
    with refusing_inserts("diary_historicaldiaryentry"):
        response = api.patch(
            f"/api/entries/{body['id']}/", {"version": 1, "note": "after"}, format="json"
        )
    assert response.status_code == 503
    entry = DiaryEntry.objects.get()
    assert (entry.note, entry.version) == ("before", 1)
    assert DiaryEntry.history.count() == 1
