"""The clinical-response rule is on each diary's own scale and uses CRP against each result's
own upper limit of normal (DOMAIN §6)."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse

from diary import instruments
from outcomes.models import LabResult
from outcomes.summaries import crp_normal_in_phase, response_rule
from tests.conftest import login, make_child

pytestmark = pytest.mark.django_db


def test_the_nih_threshold_is_for_0_to_4_mean_scored_diaries(settings):
    settings.RESPONSE_MAX_SCORE, settings.RESPONSE_MAX_SCORE_BY_INSTRUMENT = 0.15, {}
    candle = response_rule(instruments.get("nih-candle"))
    assert candle["max_mean_score"] == 0.15 and candle["score_scale"] == [0, 4]
    assert candle["basis"].startswith("NIH rule for 0–4")
    ags = response_rule(instruments.get("ags"))
    # The same fraction of the AGS diary's 0–24 sum: 0.15 / 4 × 24.
    assert ags["score_scale"] == [0, 24] and ags["max_mean_score"] == pytest.approx(0.9)
    assert "scaled" in ags["basis"] and ags["instrument"] == "ags"


def test_a_site_sets_the_threshold_on_the_diary_scale(settings):
    settings.RESPONSE_MAX_SCORE_BY_INSTRUMENT = {"ags": 2.0}
    ags = response_rule(instruments.get("ags"))
    assert ags["max_mean_score"] == 2.0 and "RESPONSE_MAX_SCORE_BY_INSTRUMENT" in ags["basis"]
    assert response_rule(instruments.get("nih-candle"))["max_mean_score"] == 0.15


def _crp(child, day, value, uln):
    return LabResult.objects.create(
        child=child,
        sample_date=day,
        analyte="crp",
        value=Decimal(value),
        unit="mg/L",
        entered_value=Decimal(value),
        entered_unit="mg/L",
        uln=None if uln is None else Decimal(uln),
    )


def test_crp_is_judged_against_each_results_own_upper_limit(world):
    start = date(2025, 6, 1)
    interval = SimpleNamespace(start=start, end=start + timedelta(days=89))
    kids = [make_child(world.north, f"Crp{n}") for n in range(5)]
    normal, high, no_crp, no_uln, before = kids
    _crp(normal, start, "4", "5")
    _crp(normal, start + timedelta(days=30), "9", "10")  # above the other's ULN, not its own
    _crp(high, start + timedelta(days=10), "3", "5")
    _crp(high, start + timedelta(days=40), "12", "10")
    _crp(no_uln, start + timedelta(days=10), "1", None)
    _crp(before, start - timedelta(days=1), "1", "5")  # phase 3: does not count
    phase_map = {k.pk: SimpleNamespace(intervals={4: interval}) for k in kids}
    result = crp_normal_in_phase(kids, phase_map)
    assert result == {
        normal.pk: True,
        high.pk: False,
        no_crp.pk: None,
        no_uln.pk: None,
        before.pk: None,
    }


def test_cohort_page_says_which_rule_it_applied(world, client):
    login(client, world.carol)
    page = client.get(reverse("cohort") + "?instrument=ags").content.decode()
    assert "CRP not yet recorded" not in page
    assert "0–24 scale" in page and "upper limit of normal" in page
    body = client.get("/api/cohort/summary/?instrument=ags")
    if body.status_code == 200:
        response = body.json()["clinical_response"]
        assert response["criteria"]["score_scale"] == [0, 24]
        assert "children_meeting_score_and_prednisone_without_crp" in response
