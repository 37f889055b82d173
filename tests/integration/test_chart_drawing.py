"""After a save, a real Celery worker draws the child's timeline, so that the next view takes
the drawing from the cache instead of drawing it."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from diary.models import GrowthMeasurement
from outcomes import charts, pages
from tests.conftest import prescribe
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_draws_the_chart_after_a_save_so_the_next_view_need_not(
    world, smtp, workers, client_for, api_for, settings, monkeypatch
):
    settings.TIMELINE_DRAW_AHEAD = True
    pages._enqueued.clear()
    amy = world.amy
    prescribe(amy, start=amy.today() - timedelta(days=40))
    GrowthMeasurement.objects.create(child=amy, date=amy.today() - timedelta(days=40), weight_kg=16)
    _handler, port = smtp()
    workers(1, port)
    client = client_for(world.carol)
    url = reverse("timeline_chart", args=[amy.pk, "svg"])
    before = client.get(url)
    assert before.status_code == 200
    drawn = []
    original = charts.draw_timeline
    monkeypatch.setattr(
        charts, "draw_timeline", lambda *a, **k: drawn.append(1) or original(*a, **k)
    )

    body = {
        "child": amy.pk,
        "date": amy.today().isoformat(),
        "entry": {"id": str(uuid.uuid4()), "no_symptoms": True},
        "doses": [
            {"id": str(uuid.uuid4()), "drug": "baricitinib", "slot": slot, "status": "given"}
            for slot in ("morning", "evening")
        ],
    }
    assert api_for(world.alice).post("/api/days/", body, format="json").status_code == 201
    version = pages.data_version(amy)
    assert wait_for(lambda: (pages.latest_drawing(amy) or ("",))[0] == version, 60), (
        "the worker drew nothing"
    )
    assert wait_for(lambda: (pages.latest_drawing(amy, "phone") or ("",))[0] == version, 30)
    after = client.get(f"{url}?v={version}")
    assert after.status_code == 200 and after.content != before.content
    assert drawn == []  # taken from the worker's drawing
    assert "max-age" in after["Cache-Control"]
