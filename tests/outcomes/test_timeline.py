"""The timeline chart: its series tell the truth (a gap is a gap, a recorded 0 is 0, each day's
weight), equal the phase tables, draw readably, download as CSV to those who may see the child,
and are drawn ahead after a change so that a view never waits for a redraw."""

import csv
import io
import random
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from diary.models import (
    AccessEvent,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
)
from outcomes import charts, guideline, pages, phone_chart, timeline
from outcomes.phases import Dose, phases
from outcomes.summaries import ChildData, child_summary
from tests.conftest import login, prescribe
from tests.outcomes.test_outcome_pages import with_history

START = date(2025, 1, 1)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def day(n: int) -> date:
    return START + timedelta(days=n)


def child_data(entries=(), doses=(), weights=(), steroid=None, jaki=None) -> ChildData:
    """A child's records as plain values (no database): ENTRIES are day numbers with a diary
    entry (score 5), STEROID and JAKI {day number: mg}."""
    return ChildData(
        None,
        [(day(n), 5.0, 1.0, False, {}) for n in entries],
        list(doses),
        [(day(n), Decimal(str(kg))) for n, kg in weights],
        {day(n): Decimal(str(mg)) for n, mg in (steroid or {}).items()},
        {day(n): Decimal(str(mg)) for n, mg in (jaki or {}).items()},
    )


def build(data: ChildData, cutoff: int) -> timeline.Timeline:
    first = min(e[0] for e in data.entries) if data.entries else None
    return timeline.build(data, phases(data.doses, day(cutoff), first))


def value_on(tl: timeline.Timeline, series: str, n: int):
    return getattr(tl, series)[tl.days.index(day(n))]


# --- The series ---------------------------------------------------------------------------------


def test_steroid_records_that_stop_are_a_gap_not_a_ramp_to_the_next_dose():
    # Amira's case: steroid recorded daily to day 59 with the diary, nothing for four months,
    # then one 5 mg dose: nothing may be drawn in between.
    data = child_data(
        entries=[*range(60), 180],
        weights=[(0, 16.9)],
        steroid={**{n: 2 for n in range(60)}, 180: 5},
    )
    tl = build(data, 200)
    assert value_on(tl, "steroid", 59) == pytest.approx(2 / 16.9)
    assert all(value_on(tl, "steroid", n) is None for n in range(60, 180))
    assert value_on(tl, "steroid", 180) == pytest.approx(5 / 16.9)
    assert tl.gaps("steroid") == [(day(60), day(179)), (day(181), day(200))]
    svg = charts.render(charts.draw_timeline(tl, "Amira", 24), "svg").decode()
    assert svg.count(">not recorded<") >= 3  # both long gaps named, and the legend's entry


def test_a_recorded_zero_is_zero():
    data = child_data(
        entries=range(40),
        doses=[Dose(day(0), Decimal(4)), Dose(day(20), Decimal(0)), Dose(day(30), Decimal(4))],
        weights=[(0, 20)],
        steroid={n: 5 for n in range(10)},
        # Doses recorded as all missed on day 5 (0 mg given); none recorded on day 25 of the
        # interruption, nor from day 30 on.
        jaki={**{n: 4 for n in range(20) if n != 5}, 5: 0},
    )
    tl = build(data, 39)
    assert value_on(tl, "steroid", 9) == pytest.approx(0.25)
    assert value_on(tl, "steroid", 10) == 0.0  # a diary day without a steroid dose
    assert value_on(tl, "jaki", 5) == 0.0  # every dose missed
    assert value_on(tl, "jaki", 25) == 0.0  # an interruption: the prescription records 0
    assert value_on(tl, "jaki", 30) is None  # prescribed, not recorded
    assert tl.gaps("jaki") == [(day(30), day(39))]
    assert tl.gaps("steroid") == []
    assert tl.dose_status[tl.days.index(day(5))] == "missed"
    assert tl.dose_status[tl.days.index(day(25))] == "none_prescribed"
    assert tl.dose_status[tl.days.index(day(30))] == "not_recorded"
    assert tl.dose_status[tl.days.index(day(6))] == "given"
    phone = charts.render(phone_chart.draw(tl, 24), "svg").decode()
    assert "no dose prescribed" in phone and "a dose missed" in phone


def test_mg_per_kg_uses_each_days_weight():
    # Weight rising 16.9 → 18.8 kg under one prescription: the mg/kg/day falls with it.
    weights = [(0, 16.9), (120, 17.6), (240, 18.2), (360, 18.8)]
    data = child_data(
        entries=range(400),
        doses=[Dose(day(0), Decimal(8))],
        weights=weights,
        jaki={n: 8 for n in range(400)},
    )
    tl = build(data, 399)
    recorded = [(day(n), Decimal(str(kg))) for n, kg in weights]
    for n in (0, 119, 120, 300, 399):
        kilos = float(guideline.weight_on(day(n), recorded))
        assert value_on(tl, "jaki", n) == pytest.approx(8 / kilos)
        assert value_on(tl, "jaki_prescribed", n) == pytest.approx(8 / kilos)
    assert value_on(tl, "jaki", 0) > value_on(tl, "jaki", 399)


def test_the_weight_rule_by_bisection_is_domains_rule():
    rng = random.Random(4)
    weights = [(day(n), Decimal(str(10 + n / 100))) for n in sorted(rng.sample(range(400), 12))]
    data = ChildData(None, [], [], list(reversed(weights)), {}, {})
    for n in range(-30, 430):
        expected = guideline.weight_on(day(n), weights)
        assert data.weight_on(day(n)) == pytest.approx(float(expected))
    assert ChildData(None, [], [], [], {}, {}).weight_on(day(0)) is None


def test_no_weight_is_said_not_drawn_as_nothing():
    data = child_data(entries=range(10), doses=[Dose(day(0), Decimal(4))], jaki={1: 4})
    tl = build(data, 9)
    assert tl.missing_weight and tl.gaps("jaki") == []
    svg = charts.render(charts.draw_timeline(tl, "X", 24), "svg").decode()
    assert "No weight recorded: mg/kg/day cannot be computed." in svg


def test_the_seven_day_mean_needs_four_scored_days():
    scores = [1.0, None, 2.0, None, 3.0, None, 6.0, 4.0, None, None]
    means = timeline.rolling_mean(scores)
    assert means[:6] == [None] * 6
    assert means[6] == pytest.approx(3.0)  # days 0–6: 1, 2, 3, 6
    assert means[7] == means[8] == pytest.approx(3.75)  # 2, 3, 6, 4 (an unscored day too)
    assert means[9] is None  # days 3–9: 3, 6, 4 only


def test_the_phone_chart_is_the_last_90_days():
    data = child_data(
        entries=range(300), doses=[Dose(day(0), Decimal(4))], weights=[(0, 15)], jaki={}
    )
    tl = build(data, 299).last(timeline.PHONE_DAYS)
    assert len(tl.days) == 90 and tl.start == day(210) and tl.end == day(299)
    assert len(tl.score) == len(tl.jaki) == len(tl.dose_status) == 90
    assert all(band.start >= day(210) for band in tl.phases)


def test_a_child_without_records_or_with_a_range_after_the_cutoff_still_draws(world, client):
    login(client, world.carol)
    empty = client.get(reverse("timeline_chart", args=[world.amy.pk, "svg"]))
    assert empty.status_code == 200 and b"No diary days recorded." in empty.content
    assert b"No doses recorded." in empty.content
    assert client.get(reverse("timeline_chart_phone", args=[world.amy.pk])).status_code == 200
    rows = read_csv(client.get(reverse("timeline_csv", args=[world.amy.pk])))
    assert len(rows) == 1 and rows[0]["daily_score"] == ""
    data = child_data(entries=range(30), weights=[(0, 15)])
    late = timeline.build(data, phases([], day(29), day(0)), start=day(100))
    assert late.days == [day(29)]
    charts.render(charts.draw_timeline(late, "X", 24), "svg")


# --- Panels -------------------------------------------------------------------------------------


def test_crp_interferon_and_ip10_panels_when_the_child_has_them():
    results = {
        "crp": [timeline.Result(day(1), 12.0, 5.0), timeline.Result(day(40), 2.0, 5.0)],
        "ifn_score": [timeline.Result(day(2), 7.1, 2.466)],
        "ip10": [timeline.Result(day(3), 400.0)],
    }
    found = timeline.panels(results, "baricitinib")
    assert [p.key for p in found] == ["crp", "ifn_score", "ip10"]
    crp = found[0]
    assert crp.above == [True, False] and crp.lines[0][0] == 5.0
    assert found[1].above == [True]
    assert timeline.panels({}, "baricitinib") == []
    data = child_data(entries=range(50), weights=[(0, 15)])
    tl = timeline.build(data, phases([], day(49), day(0)), found)
    svg = charts.render(charts.draw_timeline(tl, "X", 24), "svg").decode()
    assert "CRP 5: the laboratory's upper limit" in svg and "IP-10" in svg


def font_sizes(svg: str) -> list[float]:
    return [float(size) for size in re.findall(r"font-size: ?([\d.]+)px", svg)]


def test_labels_are_readable_in_print_and_on_a_phone():
    data = child_data(
        entries=range(700),
        doses=[Dose(day(10), Decimal(4))],
        weights=[(0, 15)],
        jaki={n: 4 for n in range(10, 700)},
    )
    results = {"hb": [timeline.Result(day(100), 11.0)], "crp": [timeline.Result(day(50), 3.0)]}
    tl = timeline.build(
        data, phases(data.doses, day(699), day(0)), timeline.panels(results, "baricitinib")
    )
    svg = charts.render(charts.draw_timeline(tl, "X", 24, drawn_at="now"), "svg").decode()
    width_pt = float(re.search(r'<svg [^>]*width="([\d.]+)pt"', svg).group(1))
    # At most A4's text width (7.27 in): printed at 100 %, a point in the file is one on paper.
    assert width_pt <= 7.27 * 72
    sizes = font_sizes(svg)  # SVG user units: points
    assert sizes and min(sizes) >= 8
    phone = charts.render(phone_chart.draw(tl.last(90), 24, "now"), "svg").decode()
    assert min(font_sizes(phone)) >= 10  # shown about 1:1 on a 390 px phone: ≥ 13 px


# --- Chart = tables --------------------------------------------------------------------------


def test_chart_data_equal_the_phase_tables(world):
    amy = with_history(world.amy, days=500, first_dose=120)
    today = amy.today()
    # What made the tables and the chart disagree: weights changing inside a phase, steroid
    # records that stop, an interruption, diary days without doses and doses without a diary.
    GrowthMeasurement.objects.create(child=amy, date=today - timedelta(days=45), weight_kg=21)
    SteroidDose.objects.filter(child=amy, date__gte=today - timedelta(days=200)).delete()
    SteroidDose.objects.create(
        child=amy, date=today - timedelta(days=20), drug="methylprednisolone", mg=4
    )
    Prescription.objects.create(
        child=amy,
        drug="baricitinib",
        start_date=today - timedelta(days=300),
        morning_mg=0,
        afternoon_mg=0,
        evening_mg=0,
        reason="interruption",
    )
    Prescription.objects.create(
        child=amy,
        drug="baricitinib",
        start_date=today - timedelta(days=290),
        morning_mg=2,
        afternoon_mg=2,
        evening_mg=2,
        reason="restart",
    )
    DoseAdministration.objects.filter(
        child=amy, date__range=(today - timedelta(days=300), today - timedelta(days=291))
    ).delete()
    DoseAdministration.objects.filter(child=amy, date=today - timedelta(days=10)).delete()
    DiaryEntry.objects.filter(child=amy, date=today - timedelta(days=12)).delete()

    outcome = pages.child_outcome(amy)
    tl = outcome.timeline()
    table = {s.phase: s for s in child_summary(amy).summaries}
    compared = 0
    for band in tl.phases:
        rows = [
            i
            for i, d in enumerate(tl.days)
            if band.start <= d <= band.end and tl.diary[i]  # the days the table counts
        ]
        for series, mean in (
            ("steroid", table[band.number].steroid_mg_per_kg),
            ("jaki", table[band.number].jaki_mg_per_kg),
        ):
            values = [getattr(tl, series)[i] for i in rows if getattr(tl, series)[i] is not None]
            if mean is None:
                assert values == []
            else:
                assert sum(values) / len(values) == pytest.approx(mean, rel=1e-12)
                compared += 1
        assert tl.phase_means("steroid").get(band.number) == pytest.approx(
            table[band.number].steroid_mg_per_kg
        )
    assert compared >= 5
    # The weight changed inside phase 4: the chart's mg/kg moved with it on that day.
    changed = tl.days.index(today - timedelta(days=45))
    assert tl.weight[changed] == 21 and tl.weight[changed - 1] != 21
    assert tl.jaki_prescribed[changed] == pytest.approx(6 / 21)
    interruption = tl.days.index(today - timedelta(days=295))
    assert tl.jaki[interruption] == 0.0


# --- The CSV beside the chart ----------------------------------------------------------------


def read_csv(response) -> list[dict]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_holds_the_charts_data_for_those_who_may_see_the_child(world, client):
    amy = with_history(world.amy, days=200, first_dose=60)
    DiaryEntry.objects.filter(child=amy, date=amy.today() - timedelta(days=5)).delete()
    DoseAdministration.objects.filter(child=amy, date=amy.today() - timedelta(days=5)).delete()
    SteroidDose.objects.filter(child=amy, date=amy.today() - timedelta(days=5)).delete()
    url = reverse("timeline_csv", args=[amy.pk])
    login(client, world.carol)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    tl = pages.child_outcome(amy).timeline()
    assert len(rows) == len(tl.days) and rows[0]["date"] == tl.start.isoformat()
    gap = next(r for r in rows if r["date"] == (amy.today() - timedelta(days=5)).isoformat())
    assert gap["daily_score"] == gap["jaki_given_mg_per_kg"] == gap["steroid_prednisone_mg_per_kg"]
    assert gap["daily_score"] == ""  # not recorded: empty, never 0
    some = next(r for r in rows if r["jaki_given_mg_per_kg"])
    i = tl.days.index(date.fromisoformat(some["date"]))
    assert float(some["jaki_given_mg_per_kg"]) == pytest.approx(tl.jaki[i], abs=1e-4)
    assert {r["phase_name"] for r in rows} >= {"before treatment", "dose escalation"}
    event = AccessEvent.objects.get(what="timeline_csv")
    assert (
        event.action == "export" and event.child_id == amy.pk and event.detail["rows"] == len(rows)
    )
    assert not AccessEvent.objects.filter(action="view", what="timeline_csv").exists()

    login(client, world.alice)  # the family
    assert client.get(url).status_code == 200
    for stranger in (world.dan, world.bob, world.rita):  # another site, family, a researcher
        login(client, stranger)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
    login(client, world.carol)
    assert client.get(reverse("timeline_csv", args=[99999])).status_code == 404


def test_csv_text_cannot_run_as_a_formula(world, client, monkeypatch):
    with_history(world.amy, days=60, first_dose=20)
    from outcomes import phases as phase_rules

    monkeypatch.setitem(phase_rules.NAMES, 1, "=HYPERLINK(1)")
    login(client, world.carol)
    rows = read_csv(client.get(reverse("timeline_csv", args=[world.amy.pk])))
    # The generated history depends on the child's id: its first day may be a steroid dose
    # before the first diary day, where phase 1 starts.
    before = [r for r in rows if r["phase"] == "1"]
    assert before and all(r["phase_name"] == "'=HYPERLINK(1)" for r in before)


# --- Drawn once per data version, and ahead of the next view ----------------------------------


def count_draws(monkeypatch) -> list:
    drawn = []
    for module, name in ((charts, "draw_timeline"), (phone_chart, "draw")):
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _o=original, **k: drawn.append(1) or _o(*a, **k)
        )
    return drawn


def test_the_chart_is_drawn_once_per_data_version(world, client, monkeypatch, settings):
    settings.TIMELINE_REDRAW_WAIT_SECONDS = 0  # no worker here: a view draws at once
    with_history(world.amy)
    drawn = count_draws(monkeypatch)
    login(client, world.carol)
    url = reverse("timeline_chart", args=[world.amy.pk, "svg"])
    first = client.get(url)
    assert first["Content-Type"] == "image/svg+xml" and first.content.startswith(b"<?xml")
    again = client.get(url)
    assert again.content == first.content and len(drawn) == 1
    # Kept by the browser only under the address naming its data version.
    assert again["Cache-Control"] == "private, no-cache"
    versioned = client.get(f"{url}?v={pages.data_version(world.amy)}")
    assert versioned["Cache-Control"] == "private, max-age=86400" and len(drawn) == 1
    assert client.get(f"{url}?v=0123")["Cache-Control"] == "private, no-cache"
    phone = client.get(reverse("timeline_chart_phone", args=[world.amy.pk]))
    assert phone["Content-Type"] == "image/svg+xml" and len(drawn) == 2
    DiaryEntry.objects.filter(child=world.amy).order_by("date").first().delete()
    client.get(url)
    assert len(drawn) == 3  # the data changed: drawn again
    png = client.get(reverse("timeline_chart", args=[world.amy.pk, "png"]))
    assert png.content.startswith(b"\x89PNG") and "attachment" in png["Content-Disposition"]
    assert client.get(f"/children/{world.amy.pk}/chart.gif").status_code == 404
    login(client, world.dan)
    assert client.get(url).status_code == 404
    assert client.get(reverse("timeline_chart_phone", args=[world.amy.pk])).status_code == 404


def test_a_changed_record_shows_the_last_drawing_until_a_worker_draws(
    world, client, monkeypatch, settings
):
    settings.TIMELINE_DRAW_AHEAD = True
    settings.TIMELINE_REDRAW_WAIT_SECONDS = 600
    with_history(world.amy, days=120, first_dose=40)
    login(client, world.carol)
    url = reverse("timeline_chart", args=[world.amy.pk, "svg"])
    first = client.get(url)
    asked = []
    monkeypatch.setattr(pages, "enqueue_drawing", lambda pk, force=False: asked.append(pk))
    drawn = count_draws(monkeypatch)
    DiaryEntry.objects.filter(child=world.amy).order_by("-date").first().delete()
    stale = client.get(url)
    # At once, the drawing there is, marked as not to be kept, and a worker asked once.
    assert stale.content == first.content and drawn == [] and asked == [world.amy.pk]
    assert stale["Cache-Control"] == "private, no-cache"
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert "before the latest entries: an up-to-date chart is being drawn" in page
    client.get(url)
    assert asked == [world.amy.pk]  # asked once per version
    # A download is never stale.
    client.get(reverse("timeline_chart", args=[world.amy.pk, "png"]))
    assert len(drawn) == 1
    # No worker came within the wait: the view draws it itself.
    settings.TIMELINE_REDRAW_WAIT_SECONDS = 0
    fresh = client.get(url)
    assert fresh.content != first.content and len(drawn) == 2
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert ", with every entry." in page


@pytest.fixture
def drawing_ahead(settings):
    settings.TIMELINE_DRAW_AHEAD = True
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the worker's task, run here
    pages._enqueued.clear()
    yield
    pages._enqueued.clear()


def test_a_diary_save_draws_the_chart_ahead_of_the_next_view(
    world, client, api_for, monkeypatch, drawing_ahead, django_capture_on_commit_callbacks
):
    prescribe(world.amy, start=world.amy.today() - timedelta(days=30))
    GrowthMeasurement.objects.create(child=world.amy, date=world.amy.today(), weight_kg=16)
    login(client, world.carol)
    url = reverse("timeline_chart", args=[world.amy.pk, "svg"])
    before = client.get(url).content
    drawn = count_draws(monkeypatch)
    body = {
        "child": world.amy.pk,
        "date": world.amy.today().isoformat(),
        "entry": {"id": "5f1f6a36-4b6f-4b43-9e38-0d8d0e2a7c11", "no_symptoms": True},
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_for(world.alice).post("/api/days/", body, format="json")
    assert response.status_code == 201, response.json()
    assert callbacks  # the save asked for a drawing once it was committed
    # The worker drew the page's chart and the phone's, in the family's and site's language.
    assert len(drawn) == 2
    after = client.get(f"{url}?v={pages.data_version(world.amy)}")
    assert len(drawn) == 2 and after.content != before and "max-age" in after["Cache-Control"]


def test_a_lab_result_draws_the_chart_ahead_of_the_next_view(
    world, client, monkeypatch, drawing_ahead, django_capture_on_commit_callbacks
):
    from outcomes.labs import record_lab

    world.carol.language = "fr"
    world.carol.save()
    with_history(world.amy, days=90, first_dose=30)
    login(client, world.carol)
    url = reverse("timeline_chart", args=[world.amy.pk, "svg"])
    before = client.get(url).content
    assert "CRP" not in before.decode()
    drawn = count_draws(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        record_lab(world.amy, world.carol, "crp", world.amy.today(), Decimal("9"), "mg/L", uln=5)
    assert len(drawn) == 4  # two charts, in English (the family) and French (the clinician)
    after = client.get(url)
    assert len(drawn) == 4 and "CRP" in after.content.decode()


def test_the_page_names_the_data_version_in_the_charts_address(world, client):
    with_history(world.amy, days=60, first_dose=20)
    login(client, world.alice)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    version = pages.data_version(world.amy)
    assert f"chart.svg?v={version}" in page and f"chart-phone.svg?v={version}" in page
    assert 'media="(max-width: 480px)"' in page
    assert reverse("timeline_csv", args=[world.amy.pk]) in page
    assert '1<br><span class="small">before treatment</span>' in page


def test_a_child_erased_while_drawn_ahead_leaves_no_drawing_behind(world, monkeypatch):
    from diary.models import Child

    with_history(world.amy, days=60, first_dose=20)
    assert pages.draw_ahead(world.amy.pk) == 2 and cache.get(pages._key(world.amy.pk, "svg", "en"))
    cache.clear()
    DiaryEntry.objects.filter(child=world.amy).first().delete()
    original = pages.child_outcome

    def then_erased(child):
        outcome = original(child)
        Child.objects.filter(pk=child.pk).delete()
        return outcome

    monkeypatch.setattr(pages, "child_outcome", then_erased)
    assert pages.draw_ahead(world.amy.pk) == 0
    assert cache.get(pages._key(world.amy.pk, "svg", "en")) is None
    assert cache.get(pages._key(world.amy.pk, "phone", "en")) is None
    assert pages.draw_ahead(world.amy.pk) == 0  # nobody to draw


def test_a_broker_that_is_down_never_fails_a_save(
    world, api_for, monkeypatch, drawing_ahead, django_capture_on_commit_callbacks, caplog
):
    from config.celery import app

    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(app.tasks["outcomes.tasks.draw_timeline"], "apply_async", down)
    body = {
        "child": world.amy.pk,
        "date": world.amy.today().isoformat(),
        "entry": {"id": "0b6c1d58-2f7e-4a8e-9a55-3f0d3c1c2b11", "no_symptoms": True},
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(world.alice).post("/api/days/", body, format="json")
    assert response.status_code == 201
    assert DiaryEntry.objects.filter(child=world.amy).count() == 1
    assert "chart will be drawn when seen" in caplog.text


# --- The AGS Scale and growth SDS panels ---------------------------------------------------


def visit_results() -> dict:
    return {
        "ags_scale": [timeline.Result(day(20), 3), timeline.Result(day(110), 9)],
        "height_sds": [timeline.Result(day(20), -2.6)],
        "weight_sds": [timeline.Result(day(20), -1.25), timeline.Result(day(60), -0.5)],
        "ip10": [timeline.Result(day(5), 500.0)],
        "hb": [timeline.Result(day(5), 11.0)],
    }


def test_ags_scale_and_growth_sds_panels_after_ip10():
    references = [(day(20), "uk-who"), (day(60), "who")]
    found = timeline.panels(visit_results(), "baricitinib", references)
    assert [p.key for p in found] == ["ip10", "ags_scale", "growth_sds", "hb"]
    ags, growth = found[1], found[2]
    assert ags.points == [(day(20), 3.0), (day(110), 9.0)] and ags.ceiling == 11
    # The bands as configured (unconfirmed defaults), each named with its range.
    assert [text for _lo, _hi, text in ags.zones] == [
        "severe 0–3",
        "moderate 4–8",
        "attenuated 9–11",
    ]
    assert [(s.column, s.name) for s in growth.series] == [
        ("height_sds", "height SDS"),
        ("weight_sds", "weight SDS"),
    ]
    assert growth.others[0].points == [(day(20), -1.25), (day(60), -0.5)]
    assert [v for v, _s, _t in growth.lines] == [-2, 2] and growth.floor < -2
    # Both references used are named, in the order they were used.
    assert growth.note == "SDS against UK-WHO (UK90 from 4 years); WHO 2006/2007"
    assert growth.columns == ["height_sds", "weight_sds", "growth_reference"]
    # Without visits or SDS, no panel; weights with SDS alone still make the growth panel.
    assert [p.key for p in timeline.panels({"hb": visit_results()["hb"]}, "baricitinib")] == ["hb"]
    weights = {"weight_sds": [timeline.Result(day(3), 0.4)]}
    [alone] = timeline.panels(weights, "baricitinib", [(day(3), "cdc")])
    assert alone.points == [] and alone.others[0].points == [(day(3), 0.4)]
    assert alone.note == "SDS against CDC 2000 (WHO under 2 years)"


def test_the_panels_are_drawn_below_zero_with_their_bands_and_reference():
    found = timeline.panels(visit_results(), "baricitinib", [(day(20), "uk-who")])
    data = child_data(entries=range(120), weights=[(0, 15)])
    tl = timeline.build(data, phases([], day(119), day(0)), found)
    svg = charts.render(charts.draw_timeline(tl, "X", 24), "svg").decode()
    for text in (
        "AGS Scale",
        "severe 0–3",
        "attenuated 9–11",
        "SDS against UK-WHO (UK90 from 4 years)",
        "−2 SDS (2nd centile)",
        "height SDS",  # the legend tells the two series apart
        "weight SDS",
    ):
        assert text in svg, text
    assert ">-2.5<" in svg  # the growth panel's ticks go below 0
    sizes = font_sizes(svg)
    assert min(sizes) >= 8
    # The height SDS of -2.6 is inside the panel: its axis reaches below it.
    growth = next(p for p in tl.panels if p.key == "growth_sds")
    low, high = charts._result_range(growth)
    assert low < -2.6 and high > 2


def test_the_csv_has_the_visit_and_growth_columns():
    references = [(day(20), "uk-who"), (day(60), "uk-who")]
    data = child_data(entries=range(120), weights=[(0, 15)])
    tl = timeline.build(
        data, phases([], day(119), day(0)), timeline.panels(visit_results(), "x", references)
    )
    header, rows = timeline.table(tl)
    assert header[-6:] == [
        "ip10_pg_ml",
        "ags_scale",
        "height_sds",
        "weight_sds",
        "growth_reference",
        "hb_g_dl",
    ]
    by_date = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    visit = by_date[day(20).isoformat()]
    assert (visit["ags_scale"], visit["height_sds"], visit["weight_sds"]) == (3.0, -2.6, -1.25)
    assert visit["growth_reference"] == "uk-who"
    weighed = by_date[day(60).isoformat()]
    assert (weighed["height_sds"], weighed["weight_sds"]) == ("", -0.5)  # not measured: empty
    quiet = by_date[day(61).isoformat()]
    assert quiet["ags_scale"] == quiet["weight_sds"] == quiet["growth_reference"] == ""
    # The phone's last days keep only the points in them, in every series.
    late = tl.last(30)
    growth = next(p for p in late.panels if p.key == "growth_sds")
    assert growth.points == [] and growth.others[0].points == [] and growth.texts[0][1] == ()
    assert next(p for p in late.panels if p.key == "ags_scale").points == [(day(110), 9.0)]


@pytest.fixture
def visits(world):
    """Amy's history with two visit assessments and weights and heights whose SDS the save
    path computes (UK-WHO, the site's default)."""
    import uuid

    from diary import assessments, recording
    from diary.models import VisitAssessment

    amy = with_history(world.amy, days=200, first_dose=60)
    today = amy.today()
    for n, achieved in ((150, 4), (30, 9)):
        VisitAssessment.objects.create(
            child=amy,
            date=today - timedelta(days=n),
            ags_items={k: int(i < achieved) for i, k in enumerate(assessments.ITEM_KEYS)},
            ags_scale=achieved,
            physician_global=40,
            recorded_by=world.carol,
        )
    GrowthMeasurement.objects.filter(child=amy).delete()
    recording.record(
        GrowthMeasurement,
        amy,
        world.carol,
        uuid.uuid4(),
        today - timedelta(days=20),
        {"weight_kg": "15.2", "height_cm": "104.5"},
    )
    return amy


def test_the_childs_visits_and_sds_reach_the_chart_page_and_csv(world, client, visits):
    row = GrowthMeasurement.objects.get(child=visits)
    assert row.height_sds is not None and row.growth_reference == "uk-who"
    outcome = pages.child_outcome(visits)
    keys = [p.key for p in outcome.labs]
    assert "ags_scale" in keys and "growth_sds" in keys
    login(client, world.carol)
    svg = client.get(reverse("timeline_chart", args=[visits.pk, "svg"])).content.decode()
    assert "moderate 4–8" in svg and "SDS against UK-WHO (UK90 from 4 years)" in svg
    rows = read_csv(client.get(reverse("timeline_csv", args=[visits.pk])))
    measured = next(r for r in rows if r["date"] == row.date.isoformat())
    assert float(measured["height_sds"]) == pytest.approx(row.height_sds, abs=1e-3)
    assert float(measured["weight_sds"]) == pytest.approx(row.weight_sds, abs=1e-3)
    assert measured["growth_reference"] == "uk-who"
    visit = next(r for r in rows if r["date"] == (visits.today() - timedelta(days=30)).isoformat())
    assert visit["ags_scale"] == "9.0"
    page = client.get(reverse("child_detail", args=[visits.pk])).content.decode()
    table = page.split("Results drawn on the chart")[1]
    assert "AGS Scale" in table and "height SDS" in table and "weight SDS" in table
    login(client, world.dan)  # another site's clinician
    assert client.get(reverse("timeline_csv", args=[visits.pk])).status_code == 404


def test_french_panels(world, client, visits):
    world.carol.language = "fr"
    world.carol.save()
    login(client, world.carol)
    svg = client.get(reverse("timeline_chart", args=[visits.pk, "svg"])).content.decode()
    assert "Échelle AGS" in svg and "sévère 0–3" in svg
    assert "DS selon UK-WHO" in svg and "DS de taille" in svg and "DS de poids" in svg
    page = client.get(reverse("child_detail", args=[visits.pk])).content.decode()
    assert "Résultats tracés sur le graphique" in page
    assert "échelle AGS, DS de taille et de poids" in page  # the chart's alt text


def test_an_assessment_or_a_growth_row_changes_the_data_version(world, visits):
    import uuid

    from diary import recording
    from diary.models import VisitAssessment

    versions = [pages.data_version(visits)]

    def changed() -> bool:
        versions.append(pages.data_version(visits))
        return versions[-1] != versions[-2]

    assessment = VisitAssessment.objects.filter(child=visits).order_by("date").first()
    assessment.physician_global = 35
    assessment.save()
    assert changed()  # an older visit edited
    assessment.delete()
    assert changed()
    VisitAssessment.objects.create(
        child=visits, date=visits.today(), parent_global=20, recorded_by=world.carol
    )
    assert changed()
    assert not changed()  # nothing happened
    growth = GrowthMeasurement.objects.get(child=visits)
    recording.record(
        GrowthMeasurement,
        visits,
        world.carol,
        uuid.uuid4(),
        visits.today() - timedelta(days=2),
        {"height_cm": "105"},
    )
    assert changed()
    growth.delete()
    assert changed()
    # Another child's visit changes nothing of Amy's.
    VisitAssessment.objects.create(
        child=world.ben, date=world.ben.today(), parent_global=20, recorded_by=world.dan
    )
    assert not changed()


@pytest.mark.parametrize("what", ["assessment saved", "assessment deleted", "growth deleted"])
def test_a_visit_or_growth_change_draws_the_chart_ahead(
    world,
    client,
    visits,
    monkeypatch,
    drawing_ahead,
    django_capture_on_commit_callbacks,
    what,
):
    from diary import assessments
    from diary.models import VisitAssessment

    login(client, world.carol)
    url = reverse("timeline_chart", args=[visits.pk, "svg"])
    before = client.get(url).content
    drawn = count_draws(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        if what == "assessment saved":
            VisitAssessment.objects.create(
                child=visits,
                date=visits.today() - timedelta(days=1),
                ags_items=dict.fromkeys(assessments.ITEM_KEYS, 0),
                ags_scale=0,
                recorded_by=world.carol,
            )
        elif what == "assessment deleted":
            VisitAssessment.objects.filter(child=visits).order_by("date").first().delete()
        else:
            GrowthMeasurement.objects.filter(child=visits).delete()
    assert callbacks
    # The worker drew the page's and the phone's charts for the new version (English only:
    # the family and the clinician read English).
    assert len(drawn) == 2
    after = client.get(f"{url}?v={pages.data_version(visits)}")
    assert len(drawn) == 2 and after.content != before


def test_an_extreme_confirmed_sds_and_an_unknown_reference_are_drawn_and_named():
    results = {"height_sds": [timeline.Result(day(1), -9.1)]}
    [growth] = timeline.panels(results, "baricitinib", [(day(1), "uk90-old")])
    low, _high = charts._result_range(growth)
    assert low < -9.1  # the axis reaches it: never drawn off the panel
    assert growth.note == "SDS against uk90-old"  # a reference the app no longer knows: its code
    data = child_data(entries=range(5), weights=[(0, 15)])
    tl = timeline.build(data, phases([], day(4), day(0)), [growth])
    charts.render(charts.draw_timeline(tl, "X", 24), "svg")
