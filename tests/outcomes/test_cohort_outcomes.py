"""Every outcome by phase in the cohort summary (DOMAIN §6: NIH Figures 1B, 2, 4A, 5A, 5C/D)."""

import math
import uuid
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from scipy import stats as scipy_stats

from diary import recording
from diary.models import Child, DiaryEntry, GrowthMeasurement, Prescription, VisitAssessment
from outcomes import cohort_outcomes, stats
from outcomes.models import LabResult
from outcomes.summaries import as_dict, cohort_summary
from tests.conftest import login, make_child

CUTOFF = date(2025, 12, 31)
FIRST_DOSE = date(2025, 3, 1)
OPTIMAL = date(2025, 5, 1)
# Phase 1 until 28 Feb, 2 to 30 Apr, 3 to 2 Oct, 4 from 3 Oct to the cut-off.
IN_PHASE = {1: date(2025, 2, 1), 2: date(2025, 4, 1), 3: date(2025, 7, 1), 4: date(2025, 11, 1)}


def lab(child, day, analyte, value, assay="", unit="mg/L"):
    return LabResult.objects.create(
        child=child,
        sample_date=day,
        analyte=analyte,
        value=Decimal(str(value)),
        unit=unit,
        entered_value=Decimal(str(value)),
        entered_unit=unit,
        assay=assay,
    )


def treated_child(site, name, n, **extra):
    child = make_child(
        site,
        name,
        optimal_dose_date=OPTIMAL,
        final_visit_date=CUTOFF,
        date_of_birth=date(2019, 1, 1),
    )
    Prescription.objects.create(
        child=child, drug="baricitinib", start_date=FIRST_DOSE, morning_mg=2, evening_mg=2
    )
    # Diary days: a few per phase, the score falling on treatment.
    DiaryEntry.objects.bulk_create(
        DiaryEntry(
            child=child,
            date=day + timedelta(days=k),
            instrument_key="ags",
            instrument_version=1,
            score=12 - 2 * phase + (n % 3) + k,
        )
        for phase, day in IN_PHASE.items()
        for k in range(3)
    )
    return child


@pytest.fixture
def cohort(world):
    return [treated_child(world.north, f"Kid{n}", n) for n in range(6)]


def summary_of(children, **kwargs):
    children = Child.objects.filter(pk__in=[c.pk for c in children]).select_related("site")
    return cohort_summary(children, instrument="ags", cutoff=CUTOFF, **kwargs)


def test_a_lab_outcome_is_the_mean_of_the_childs_results_in_the_phase(cohort):
    first = cohort[0]
    lab(first, IN_PHASE[1], "crp", 2)
    lab(first, IN_PHASE[1] + timedelta(days=5), "crp", 4)
    lab(first, IN_PHASE[4], "crp", 1)
    lab(first, CUTOFF + timedelta(days=1), "crp", 50)  # after the cut-off: no phase
    crp = summary_of(cohort).outcomes["crp"]
    assert crp.child_means[first.pk] == {1: 3.0, 4: 1.0}
    assert [r.n_children for r in crp.phases] == [1, 0, 0, 1]


def test_a_baseline_result_before_the_diary_is_phase_1_within_the_window(cohort, settings):
    first = cohort[0]
    early = date(2024, 11, 1)  # before the first diary day (1 February)
    lab(first, early, "ip10", 900, unit="pg/mL")
    assert summary_of(cohort).outcomes["ip10"].child_means[first.pk] == {1: 900.0}
    settings.PHASE1_BASELINE_DAYS = 30  # phase 1: the 30 days before the first dose only
    assert first.pk not in summary_of(cohort).outcomes["ip10"].child_means


def test_interferon_scores_of_different_assays_are_never_pooled(cohort):
    for n, child in enumerate(cohort):
        assay, scale = ("28-gene NanoString", 10.0) if n < 4 else ("6-gene qPCR", 1.0)
        for phase, day in IN_PHASE.items():
            value = scale * (5 - phase) + n / 10 + (n * phase % 3) / 10
            lab(child, day, "ifn_score", value, assay=assay, unit="score")
    ifn = summary_of(cohort).outcomes["ifn_score"]
    assert ifn.assay == "28-gene NanoString"  # the assay with the most children
    assert set(ifn.child_means) == {c.pk for c in cohort[:4]}
    assert [o.assay for o in ifn.by_assay] == ["28-gene NanoString", "6-gene qPCR"]
    qpcr = ifn.by_assay[1]
    assert set(qpcr.child_means) == {c.pk for c in cohort[4:]}
    assert all(v < 5 for m in qpcr.child_means.values() for v in m.values())
    # Each assay's LS means are its own children's: NanoString's phase 1 is near 40, qPCR's 4.
    assert ifn.phases[0].ls_mean == pytest.approx(40, abs=0.5)
    assert qpcr.phases[0].ls_mean == pytest.approx(4, abs=0.8)


def physician(n: int, phase: int) -> int:
    return 80 - 10 * phase + n + (n * phase) % 4


def test_every_outcome_is_in_the_json_with_phases_comparisons_and_reasons(cohort, world, api_for):
    for n, child in enumerate(cohort):
        for phase, day in IN_PHASE.items():
            VisitAssessment.objects.create(
                child=child,
                date=day,
                ags_scale=3 + phase // 2,
                physician_global=physician(n, phase),
                parent_global=None,
            )
    response = api_for(world.carol).get(f"/api/cohort/summary/?cutoff={CUTOFF}")
    assert response.status_code == 200
    body = response.json()
    assert list(body["outcomes"]) == list(cohort_outcomes.NAMES)
    assert body["phases"][0]["phase"] == 1  # the score's top-level phases are kept
    for name, outcome in body["outcomes"].items():
        assert [p["phase"] for p in outcome["phases"]] == [1, 2, 3, 4], name
        assert [c["phases"] for c in outcome["comparisons"]] == [[1, 4], [1, 3], [2, 4]], name
        for phase in outcome["phases"]:
            assert phase["ls_mean"] is not None or phase["note"], (name, phase)
    vas = body["outcomes"]["physician_global"]
    assert vas["unit"] == "mm" and all(p["n_children"] == 6 for p in vas["phases"])
    assert vas["phases"][0]["ci_low"] < vas["phases"][0]["ls_mean"]
    change = np.mean([physician(n, 4) - physician(n, 1) for n in range(6)])
    assert vas["comparisons"][0]["mean_difference"] == pytest.approx(change)
    assert body["outcomes"]["parent_global"]["note"].startswith("not enough data")
    assert body["outcomes"]["ip10"]["phases"][0]["note"] == "not enough data"


def test_the_outcomes_ls_means_are_the_mixed_model_of_the_phase_means(cohort):
    for n, child in enumerate(cohort):
        for phase, day in IN_PHASE.items():
            if (n + phase) % 5:  # unbalanced: some children miss a phase
                lab(child, day, "crp", 10 - phase + n % 4 + (phase * n) % 3, "")
    crp = summary_of(cohort).outcomes["crp"]
    model = stats.mixed_model(
        [(pk, p, v) for pk, means in crp.child_means.items() for p, v in means.items()]
    )
    for row in crp.phases:
        ls = model.ls_means[row.phase]
        assert (row.ls_mean, row.se, row.df) == (ls.estimate, ls.se, ls.df)
        assert row.ci_low == pytest.approx(ls.estimate - scipy_stats.t.ppf(0.975, ls.df) * ls.se)


def _measure(child, day, height):
    recording.record(GrowthMeasurement, child, None, uuid.uuid4(), day, {"height_cm": str(height)})


def test_height_sds_change_uses_the_one_sided_paired_t_test(cohort):
    changes = [0.8, 0.1, 0.5, -0.2, 1.1, 0.3]
    for child, gain in zip(cohort, changes, strict=True):
        _measure(child, date(2024, 12, 1), 100)  # before the diary, before the first dose
        _measure(child, date(2025, 2, 20), 101)  # the last before treatment
        _measure(child, date(2025, 8, 1), 104)
        _measure(child, date(2025, 12, 20), 104 + 6 * gain)  # the last visit
    stored = {(g.child_id, g.date): g.height_sds for g in GrowthMeasurement.objects.all()}
    before = np.array([stored[c.pk, date(2025, 2, 20)] for c in cohort])
    after = np.array([stored[c.pk, date(2025, 12, 20)] for c in cohort])
    d = after - before
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    change = summary_of(cohort).outcomes["height_z"].change
    assert change.n == 6 and change.df == 5 and change.alternative == "greater"
    assert change.mean_difference == pytest.approx(d.mean())
    assert change.t == pytest.approx(t)
    assert change.p_one_sided == pytest.approx(1 - scipy_stats.t.cdf(t, 5))
    height = summary_of(cohort).outcomes["height_z"]
    assert height.child_means[cohort[0].pk][1] == pytest.approx(
        (stored[cohort[0].pk, date(2024, 12, 1)] + before[0]) / 2
    )


def test_a_child_without_a_measurement_before_treatment_is_not_paired(cohort):
    _measure(cohort[0], date(2025, 8, 1), 104)
    change = summary_of(cohort).outcomes["height_z"].change
    assert change.n == 0 and change.reason == stats.NOT_ENOUGH


def test_queries_do_not_grow_with_the_cohort(world):
    def queries(n):
        kids = [treated_child(world.north, f"Q{n}-{i}", i) for i in range(n)]
        for kid in kids:
            lab(kid, IN_PHASE[1], "crp", 3)
            VisitAssessment.objects.create(child=kid, date=IN_PHASE[2], parent_global=20)
        with CaptureQueriesContext(connection) as captured:
            summary_of(kids)
        return len(captured)

    assert queries(3) == queries(9)


def test_a_researchers_summary_numbers_the_assays_and_suppresses_small_cells(cohort):
    for n, child in enumerate(cohort):
        assay = "Lab of Dr Smith NanoString" if n < 5 else "qPCR"
        for phase, day in IN_PHASE.items():
            lab(child, day, "ifn_score", 10 - phase, assay=assay, unit="score")
    summary = summary_of(cohort, min_cell=5)
    body = as_dict(summary)
    ifn = body["outcomes"]["ifn_score"]
    assert "Smith" not in str(body)
    assert ifn["assay"] == "assay 1" and [b["assay"] for b in ifn["by_assay"]] == [
        "assay 1",
        "assay 2",
    ]
    qpcr = ifn["by_assay"][1]
    assert all(p["note"].startswith("suppressed") for p in qpcr["phases"])
    assert summary.suppressed >= 4


def test_the_cohort_page_shows_every_outcome_and_its_figure(cohort, world, client):
    lab(cohort[0], IN_PHASE[1], "crp", 3)
    login(client, world.carol)
    page = client.get(reverse("cohort")).content.decode()
    assert "Every outcome by phase" in page
    for name in cohort_outcomes.NAMES:
        assert f'data-outcome="{name}"' in page
    chart = client.get(reverse("cohort_outcomes_chart", args=["svg"]))
    assert chart.status_code == 200 and chart["Content-Type"].startswith("image/svg")
    login(client, world.alice)
    assert client.get(reverse("cohort_outcomes_chart", args=["svg"])).status_code == 403
