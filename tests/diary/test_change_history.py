"""The change history a clinician reads: each diary item by its label with the wording of the
old and new score, who and when, in the reader's language; never a raw dict."""

import uuid

from django.urls import reverse
from django.utils import translation

from diary import recording
from diary.history import changes_for_child
from diary.models import DiaryEntry
from tests.conftest import AGS_ANSWERS, login


def save(child, user, day, base_version=None, row_id=None, **data):
    return recording.record(
        DiaryEntry, child, user, row_id or uuid.uuid4(), day, data, base_version
    ).row


def edit_irritability(world):
    day = world.amy.today()
    entry = save(world.amy, world.alice, day, scores=AGS_ANSWERS)
    changed = {**AGS_ANSWERS, "irritability": 1, "skin_trunk": 2}
    save(world.amy, world.alice, day, base_version=1, row_id=entry.pk, scores=changed)
    # Saved outside a request here: the user is set as a page's save would.
    entry.history.update(history_user=world.alice)
    return entry


def test_each_item_by_label_with_both_wordings(world, client):
    edit_irritability(world)
    with translation.override("en"):
        change = next(c for c in changes_for_child(world.amy) if c.action == "changed")
    assert change.who == world.alice.display_name
    assert (
        "Irritability",
        "2 – Irritable for much of the day, hard to settle",
        "1 – A little irritable, easy to settle",
    ) in change.fields
    assert any(label == "Skin: chest, tummy and back" for label, *_ in change.fields)
    assert ("Skin sub-score", "1", "2") in change.fields
    assert not any(label in ("version", "answered") for label, *_ in change.fields)
    login(client, world.carol)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    history = page.split('id="history"')[1]
    assert "{&#x27;irritability&#x27;" not in history and "{'irritability'" not in history
    assert "Irritability: 2 – Irritable for much of the day, hard to settle → 1 – " in history
    assert f"· {world.alice.display_name} · Changed: diary entry " in history


def test_the_history_in_french(world, client):
    edit_irritability(world)
    world.carol.language = "fr"
    world.carol.save()
    login(client, world.carol)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    history = page.split('id="history"')[1]
    assert "Irritabilité" in history and "Irritability" not in history
    assert "· Alice · Modification\xa0: " in history
    assert "Changed" not in history and "Created" not in history
    assert "Calm and content" not in history and "irritable" in history.lower()


def test_an_unknown_item_or_instrument_is_shown_as_recorded(world):
    entry = edit_irritability(world)
    DiaryEntry.objects.filter(pk=entry.pk).update(instrument_key="gone")
    entry.history.update(instrument_key="gone")
    with translation.override("en"):
        change = next(c for c in changes_for_child(world.amy) if c.action == "changed")
    assert ("irritability", "2", "1") in change.fields
