"""Phase summaries on the child's page, charts and their cache, cohort, dashboard, report."""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from diary.models import (
    CareLink,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
)
from diary.synthetic import ChildSpec, history
from outcomes import charts
from outcomes.management.commands.seed_demo import load_history
from tests.conftest import login, make_child, prescribe


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def with_history(child, days=400, first_dose=150, seed=1, course=None):
    spec = ChildSpec(
        "north",
        child.reference or str(child.pk),
        child.first_name,
        "x",
        child.date_of_birth,
        "F",
        child.diagnosis,
        "",
        "GB",
        "Europe/London",
        "en",
        course=course
        or (
            (first_dose, "baricitinib", 2, 0, 2, "initial"),
            (first_dose + 30, "baricitinib", 2, 2, 2, "escalation"),
        ),
        weight_kg=16,
        height_cm=100,
    )
    load_history(
        child,
        history(spec, end=child.today() - timedelta(days=1), seed=seed, days=days),
        reported_by=None,
        prescribed_by=None,
    )
    return child


def test_clinician_sees_the_phase_table_and_chart(world, client):
    with_history(world.amy)
    login(client, world.carol)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert 'id="phase-summary"' in page and "Fever days" in page and "JAKi mg/kg/day" in page
    assert reverse("timeline_chart", args=[world.amy.pk, "svg"]) in page
    assert "Visit report (PDF)" in page
    assert 'alt="Timeline of Amy' in page


def test_caregiver_reads_plain_words(world, client):
    with_history(world.amy)
    login(client, world.alice)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert "Before treatment, Amy’s daily score averaged" in page
    assert "Since the dose was stable" in page and "Irritability averaged" in page
    assert "Fever days" not in page and "Visit report (PDF)" not in page


def test_timeline_has_blood_count_panels_with_the_drugs_thresholds(world, client):
    from outcomes.labs import record_lab

    with_history(world.amy)
    today = world.amy.today()
    for weeks, hb, neutrophils in ((8, "10.5", "2.1"), (4, "7.6", "0.8")):
        sampled = today - timedelta(weeks=weeks)
        record_lab(world.amy, world.carol, "hb", sampled, Decimal(hb), "g/dL")
        record_lab(world.amy, world.carol, "neutrophils", sampled, Decimal(neutrophils), "×10⁹/L")
    login(client, world.carol)
    svg = client.get(reverse("timeline_chart", args=[world.amy.pk, "svg"])).content.decode()
    assert "Hb 8: consider stopping or adjusting baricitinib (SPARN JAKi guideline §6.7)" in svg
    assert "Neutrophils 1.0: consider stopping" in svg
    assert "Lymphocytes" not in svg  # no lymphocyte results: no empty panel
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    table = page.split("Results drawn on the chart")[1]
    assert "7.6" in table and "10.5" in table and "0.8" in table
    # Hb and neutrophils, and the growth SDS of the history's weights: the picture grows
    # with its panels.
    assert "growth<br>SDS" in table
    assert f'height="{charts.timeline_size_px(3)[1]}"' in page
    assert charts.timeline_size_px(3)[1] > charts.timeline_size_px(0)[1]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_child_page_queries_do_not_grow_with_entries(world, client):
    login(client, world.carol)
    url = reverse("child_detail", args=[world.amy.pk])
    with_history(world.amy, days=60, first_dose=20)
    few = count_queries(client, url)
    for model in (DiaryEntry, DoseAdministration, SteroidDose, GrowthMeasurement, Prescription):
        model.objects.filter(child=world.amy).delete()
    with_history(world.amy, days=500, first_dose=200, seed=2)
    assert count_queries(client, url) == few


def test_dashboard_queries_do_not_grow_with_children(world, client):
    login(client, world.carol)
    with_history(world.amy, days=60)
    few = count_queries(client, reverse("dashboard"))
    for n in range(6):
        with_history(make_child(world.north, f"Kid{n}"), days=60, seed=n)
    assert count_queries(client, reverse("dashboard")) == few


def test_dashboard_flags_a_child_without_entries_for_3_days(world, client):
    quiet = with_history(make_child(world.north, "Quiet", reference="Q"), days=100)
    DiaryEntry.objects.filter(child=quiet, date__gte=quiet.today() - timedelta(days=3)).delete()
    with_history(world.amy, days=100)
    login(client, world.carol)
    page = client.get(reverse("dashboard")).content.decode()
    rows = page.split('id="dashboard"')[1].split("<tbody>")[1].split("</tr>")
    assert "Quiet" in rows[0] and "no recent entry" in rows[0]
    assert "no recent entry" not in next(r for r in rows if "Amy" in r)
    assert "Ben" not in page  # another site's child
    by_name = client.get(reverse("dashboard") + "?sort=name").content.decode()
    assert by_name.index("Amy") < by_name.index("Quiet")
    login(client, world.alice)
    assert client.get(reverse("dashboard")).status_code == 403


def test_cohort_command_json_and_csv(world):
    for n in range(5):
        with_history(make_child(world.north, f"Kid{n}"), seed=n)
    out = io.StringIO()
    call_command("cohort_summary", "--site", "north", stdout=out)
    body = json.loads(out.getvalue())
    assert [p["phase"] for p in body["phases"]] == [1, 2, 3, 4]
    for key in (
        "phase",
        "n_children",
        "median",
        "q1",
        "q3",
        "ls_mean",
        "se",
        "df",
        "ci_low",
        "ci_high",
    ):
        assert key in body["phases"][0]
    # Amy has no diary: five children count.
    assert body["n_children"] == 6 and body["phases"][0]["n_children"] == 5
    assert body["phases"][0]["ls_mean"] > body["phases"][3]["ls_mean"]
    assert body["comparisons"][0]["phases"] == [1, 4] and body["comparisons"][0]["n"] == 5
    first = body["comparisons"][0]
    assert first["wilcoxon_statistic_definition"].startswith("min(W+, W-)")
    assert first["wilcoxon_v_definition"].startswith("V:") and "wilcoxon_v" in first
    out = io.StringIO()
    call_command("cohort_summary", "--format", "csv", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("phase,n_children,median,q1,q3,ls_mean")


def test_cohort_with_too_little_data_says_so(world):
    out = io.StringIO()
    call_command("cohort_summary", "--cutoff", "2000-01-01", stdout=out)
    body = json.loads(out.getvalue())
    assert all(p["ls_mean"] is None and p["note"] for p in body["phases"])
    assert "NaN" not in out.getvalue()


def test_cohort_api_for_clinicians_researchers_and_caregivers(world, api_for):
    from diary.models import Child
    from outcomes.models import Study, StudyLink

    # Six consenting children alike in age, sex, diagnosis and country (one k-anonymity class
    # of six); three started treatment on their first diary day, so phase 1 has only three.
    for n in range(6):
        child = with_history(
            make_child(
                world.north,
                f"Kid{n}",
                consent_version="1",
                consent_date=world.amy.date_of_birth + timedelta(days=9),
            ),
            seed=n,
            first_dose=150 if n < 3 else 0,
        )
        assert child.has_research_consent
    clinician = api_for(world.carol).get("/api/cohort/summary/").json()
    by_phase = {p["phase"]: p for p in clinician["phases"]}
    assert by_phase[1]["n_children"] == 3 and by_phase[4]["n_children"] == 6
    assert clinician["suppressed_cells"] == 0

    # A researcher's cohort is a study's anonymised dataset: none before a link.
    rita = api_for(world.rita)
    refused = rita.get("/api/cohort/summary/")
    assert refused.status_code == 403 and "study" in refused.json()["detail"]
    study = Study.objects.create(code="trial-a", title="Trial A")
    study.sites.add(world.north)
    StudyLink.objects.create(study=study, site=world.north, researcher=world.rita)
    researcher = rita.get("/api/cohort/summary/").json()
    by_phase = {p["phase"]: p for p in researcher["phases"]}
    assert by_phase[4]["n_children"] == 6 and by_phase[4]["ls_mean"] is not None
    # Phase 1's three children are a cell of 1–4: suppressed.
    assert by_phase[1]["n_children"] == 0 and by_phase[1]["note"].startswith("suppressed")
    assert researcher["suppressed_cells"] >= 1
    assert rita.get("/api/cohort/summary/?study=trial-a&site=north").status_code == 200
    # South is not in the study; another study is not hers.
    assert rita.get("/api/cohort/summary/?study=trial-a&site=south").status_code == 404
    Study.objects.create(code="trial-b", title="Trial B").sites.add(world.north)
    assert rita.get("/api/cohort/summary/?study=trial-b").status_code == 404
    StudyLink.objects.create(
        study=Study.objects.get(code="trial-b"), site=world.north, researcher=world.rita
    )
    several = rita.get("/api/cohort/summary/")
    assert several.status_code == 400 and "trial-a, trial-b" in str(several.json())

    # Two withdraw consent: the four left are fewer than k = 5 and the export releases none.
    kids = Child.objects.filter(first_name__startswith="Kid").order_by("pk")
    for child in kids[:2]:
        child.consent_withdrawn_date = child.today()
        child.save()
    researcher = rita.get("/api/cohort/summary/?study=trial-a").json()
    assert researcher["n_children"] == 0
    assert all(p["n_children"] == 0 and p["ls_mean"] is None for p in researcher["phases"])
    assert api_for(world.alice).get("/api/cohort/summary/").status_code == 403
    assert api_for(world.carol).get("/api/cohort/summary/?site=south").status_code == 404


def test_cohort_page_and_chart(world, client):
    for n in range(3):
        with_history(make_child(world.north, f"Kid{n}"), seed=n)
    login(client, world.carol)
    page = client.get(reverse("cohort")).content.decode()
    assert 'id="cohort-table"' in page and "Paired comparisons" in page
    chart = client.get(reverse("cohort_chart", args=["svg"]))
    assert chart["Content-Type"] == "image/svg+xml"


def test_visit_report_shows_the_numbers_of_the_page(world, client):
    # The reference seeds the made-up history: set first, so the data never depends on the pk.
    world.amy.reference = "N-9"
    world.amy.save()
    with_history(world.amy)
    DiaryEntry.objects.filter(child=world.amy).update(note="")
    entry = DiaryEntry.objects.filter(child=world.amy).order_by("-date").first()
    entry.note = "Seemed brighter after the dose change"
    entry.save()
    login(client, world.carol)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    table = page.split('id="phase-summary"')[1].split("</table>")[0]
    # Over the whole record, as the page (the report's default range is the last year).
    first = DiaryEntry.objects.filter(child=world.amy).order_by("date").first().date
    response = client.get(reverse("visit_report", args=[world.amy.pk]) + f"?from={first}")
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    # The third cell of each phase's row (an empty phase has a single cell spanning the row).
    rows = [row.split("<td>")[1:] for row in table.split("<tbody>")[1].split("</tr>")]
    means = [cells[2].split("</td>")[0] for cells in rows if len(cells) >= 3]
    assert len(means) >= 3
    for mean in means:
        if mean != "–":
            assert mean in text, (mean, text[:500])
    assert "Seemed brighter" in text
    width, height = (float(x) for x in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    letter = PdfReader(
        io.BytesIO(
            client.get(reverse("visit_report", args=[world.amy.pk]) + "?paper=letter").content
        )
    )
    assert tuple(round(float(x)) for x in letter.pages[0].mediabox[2:]) == (612, 792)
    # The family's copy has no diary notes.
    login(client, world.alice)
    family = PdfReader(io.BytesIO(client.get(reverse("visit_report", args=[world.amy.pk])).content))
    assert "Seemed brighter" not in "\n".join(p.extract_text() for p in family.pages)
    bad = client.get(reverse("visit_report", args=[world.amy.pk]) + "?from=2026-02-30")
    assert bad.status_code == 400


def test_outcome_pages_need_a_link(world, client):
    login(client, world.dan)
    assert client.get(reverse("timeline_chart", args=[world.amy.pk, "svg"])).status_code == 404
    assert client.get(reverse("visit_report", args=[world.amy.pk])).status_code == 404
    assert CareLink.objects.filter(caregiver=world.dan).count() == 0
    assert GrowthMeasurement.objects.count() == 0


def test_cohort_means_from_the_database_equal_the_per_child_summaries(world):
    from outcomes.summaries import cohort_means, load, per_child_means

    kids = [with_history(make_child(world.north, f"Kid{n}"), seed=n) for n in range(4)]
    steroid_kid = kids[0]
    GrowthMeasurement.objects.filter(child=steroid_kid).order_by("date").first().delete()
    # A height-only measurement does not interrupt the weight in force.
    middle = GrowthMeasurement.objects.filter(child=kids[1]).order_by("date")[3]
    middle.weight_kg = None
    middle.save()
    # Steroid days the means must weigh right: two doses on one day, a dose on a day whose
    # entry has no score (it counts: the mean is over recorded days) and on a day with no entry
    # (it does not), a new weight in the middle of a phase, and a child never weighed (no
    # steroid mean at all).
    kid = kids[2]
    before = cohort_means([kid])[1][kid.pk]
    scored = DiaryEntry.objects.filter(child=kid, score__isnull=False).order_by("date")
    two_doses, unscored = scored[200], scored[210]
    SteroidDose.objects.create(child=kid, date=two_doses.date, drug="dexamethasone", mg=1)
    SteroidDose.objects.create(child=kid, date=two_doses.date, drug="prednisolone", mg=7)
    SteroidDose.objects.create(child=kid, date=unscored.date, drug="prednisolone", mg=50)
    DiaryEntry.objects.filter(pk=unscored.pk).update(score=None)
    no_entry = scored[220].date
    DiaryEntry.objects.filter(child=kid, date=no_entry).delete()
    SteroidDose.objects.create(child=kid, date=no_entry, drug="prednisolone", mg=80)
    GrowthMeasurement.objects.create(child=kid, date=scored[205].date, weight_kg=Decimal("9.5"))
    unweighed = kids[3]
    SteroidDose.objects.create(child=unweighed, date=scored[200].date, drug="prednisone", mg=5)
    GrowthMeasurement.objects.filter(child=unweighed).delete()

    sql_scores, sql_steroids = cohort_means(kids)
    py_scores, py_steroids = per_child_means(load(kids), None)
    assert sql_scores.keys() == py_scores.keys()
    assert py_steroids[unweighed.pk] == sql_steroids[unweighed.pk] == {}
    assert py_scores[unweighed.pk]
    for pk in py_scores:
        assert sql_scores[pk].keys() == py_scores[pk].keys()
        assert sql_steroids[pk].keys() == py_steroids[pk].keys()
        for phase, mean in py_scores[pk].items():
            assert sql_scores[pk][phase] == pytest.approx(mean, rel=1e-9)
        for phase, mean in py_steroids[pk].items():
            assert sql_steroids[pk][phase] == pytest.approx(mean, rel=1e-9)
    # The edits are inside the edited child's phases: its steroid means moved.
    assert any(sql_steroids[kid.pk][p] != pytest.approx(m) for p, m in before.items())


def test_dashboard_shows_abnormal_results_and_overdue_tests(world, client):
    from outcomes.models import LabFlag

    amy, today = world.amy, world.amy.today()
    # Started 9 weeks ago: the week 2 and 4 bloods are overdue; week 8 (bloods and lipids) was
    # due 7 days ago, still within the grace period, and today's Hb counts for its bloods.
    prescribe(amy, start=today - timedelta(weeks=9))
    with_history(make_child(world.north, "Calm", reference="C"), days=60)
    login(client, world.carol)
    client.post(
        reverse("lab_panel_create", args=[amy.pk]),
        {"sample_date": today.isoformat(), "hb": "7.5", "hb_unit": "g/dL"},
    )
    assert LabFlag.objects.open().filter(result__child=amy).count() == 1
    page = client.get(reverse("dashboard") + "?sort=flags").content.decode()
    rows = page.split("<tbody>")[1].split("</tr>")
    first = rows[0]
    assert "Amy" in first and "1 to review" in first
    assert "2 overdue" in first
    calm = next(r for r in rows if "Calm" in r)
    assert "to review" not in calm and "overdue" not in calm
    # Acknowledged flags leave the column.
    flag = LabFlag.objects.get()
    client.post(reverse("flag_acknowledge", args=[flag.pk]))
    assert "to review" not in client.get(reverse("dashboard")).content.decode()


def test_the_report_rounds_as_the_page():
    from django.template.defaultfilters import floatformat
    from django.utils import translation

    from outcomes.report import _fmt

    for value in (2.675, 0.125, 1.005, 3.0, 2.6749):
        assert _fmt(value) == floatformat(value, 2)
    assert _fmt(2.65, 1) == floatformat(2.65, 1) == "2.7"
    with translation.override("fr"):  # the reader's decimal mark, as the page writes it
        assert _fmt(2.675) == floatformat(2.675, 2) == "2,68"
        assert _fmt(Decimal("0.399")) == "0,40" and _fmt(None) == "–"
