"""The dashboard's rules: a worsening diary against the child's own baseline, missed doses."""

from datetime import date, timedelta

from outcomes.attention import (
    NO_BASELINE,
    NOTHING_PRESCRIBED,
    TOO_FEW_RECENT,
    adherence,
    explain_adherence,
    explain_worsening,
    worsening,
)

TODAY = date(2026, 11, 30)


def days(first_ago: int, last_ago: int, score: float) -> dict:
    return {TODAY - timedelta(days=n): score for n in range(last_ago, first_ago + 1)}


def test_amira_last_week_above_her_phase3_mean_is_worse():
    w = worsening(days(6, 0, 12.0), TODAY, (4.7, 200), margin=2.4)
    assert w.flagged and w.recent_mean == 12.0 and w.baseline == 4.7
    why = explain_worsening(w, 2.4)
    assert "last 7 days 12.0" in why and "phase-3 mean 4.7" in why and why.startswith("Worse")


def test_the_explanation_rounds_as_the_page():
    w = worsening(days(6, 0, 12.0), TODAY, (4.66, 200), margin=2.4)
    assert "phase-3 mean 4.7" in explain_worsening(w, 2.4)


def test_margin_boundary():
    at = worsening(days(6, 0, 7.1), TODAY, (4.7, 200), margin=2.4)
    assert not at.flagged and at.missing == ""
    assert "Not worse" in explain_worsening(at, 2.4)
    assert worsening(days(6, 0, 7.2), TODAY, (4.7, 200), margin=2.4).flagged


def test_the_week_is_the_childs_last_seven_days():
    # Eight days ago is outside the week: a bad day then does not count in it.
    scores = days(6, 1, 5.0) | {TODAY - timedelta(days=7): 24.0}
    w = worsening(scores, TODAY, (4.7, 200), margin=2.4)
    assert w.recent_days == 6 and w.recent_mean == 5.0 and not w.flagged


def test_too_few_recent_days_is_said():
    w = worsening(days(6, 4, 20.0), TODAY, (4.7, 200), margin=2.4)
    assert w.missing == TOO_FEW_RECENT and not w.flagged and w.recent_days == 3
    assert "3 of the last 7 days" in explain_worsening(w, 2.4)
    assert worsening(days(6, 3, 20.0), TODAY, (4.7, 200), margin=2.4).flagged


def test_without_phase3_the_75th_percentile_of_the_90_days_before():
    # 90 earlier days: 60 at 2 and 30 at 6, the 75th percentile is 6 (inclusive method).
    earlier = days(66, 7, 2.0) | days(96, 67, 6.0)
    assert worsening(earlier | days(6, 0, 8.3), TODAY, None, margin=2.4).baseline == 6.0
    assert not worsening(earlier | days(6, 0, 8.4), TODAY, None, margin=2.4).flagged
    w = worsening(earlier | days(6, 0, 8.5), TODAY, None, margin=2.4)
    assert w.flagged and w.baseline_kind == "p75"
    assert "75th percentile of the previous 90 days 6.0" in explain_worsening(w, 2.4)
    # Days before the 90-day window do not count.
    older = days(200, 98, 20.0) | days(6, 0, 8.5)
    assert worsening(older, TODAY, None, 2.4).missing == NO_BASELINE


def test_a_short_phase3_falls_back_and_no_baseline_is_said():
    scores = days(19, 7, 1.0) | days(6, 0, 9.0)  # 13 earlier days: one short
    w = worsening(scores, TODAY, (1.0, 13), margin=2.4)
    assert w.missing == NO_BASELINE and not w.flagged
    assert "Not assessed: no baseline" in explain_worsening(w, 2.4)
    w = worsening(days(20, 7, 1.0) | days(6, 0, 9.0), TODAY, (1.0, 13), margin=2.4)
    assert w.flagged and w.baseline_kind == "p75"
    assert worsening(scores, TODAY, (1.0, 14), margin=2.4).baseline_kind == "phase3"


def slots(first_ago: int, last_ago: int, names=("morning", "evening")) -> set:
    return {
        (TODAY - timedelta(days=n), s, "baricitinib")
        for n in range(last_ago, first_ago + 1)
        for s in names
    }


def test_adherence_boundary_and_window():
    prescribed = slots(20, 0)  # today and days before the 14 are outside the window
    given = slots(14, 1)
    a = adherence(prescribed, given, set(), TODAY, 80)
    assert (a.prescribed, a.given, a.flagged) == (28, 28, False)
    # 23 of 28 is 82 %: not flagged; 22 of 28 is 79 %: flagged.
    missing = sorted(given)[:5]
    a = adherence(prescribed, given - set(missing), set(missing[:2]), TODAY, 80)
    assert (a.given, a.missed, a.not_recorded, a.flagged) == (23, 2, 3, False)
    a = adherence(prescribed, given - set(sorted(given)[:6]), set(), TODAY, 80)
    assert a.given == 22 and a.flagged
    why = explain_adherence(a, 80)
    assert "22 of 28 prescribed doses" in why and "6 not recorded" in why
    # Exactly the threshold is not flagged.
    morning = slots(14, 1, ["morning"])
    assert not adherence(morning, slots(14, 8, ["morning"]), set(), TODAY, 50).flagged
    assert adherence(morning, slots(14, 9, ["morning"]), set(), TODAY, 50).flagged
    assert adherence(prescribed, given, set(), TODAY, 100).flagged is False


def test_doses_of_another_drug_or_unprescribed_slots_do_not_count():
    prescribed = slots(14, 1)
    other = {(d, s, "tofacitinib") for d, s, _drug in prescribed}
    a = adherence(prescribed, other | slots(14, 1, ["afternoon"]), set(), TODAY, 80)
    assert a.given == 0 and a.flagged and a.not_recorded == 28


def test_nothing_prescribed_is_said():
    a = adherence(set(), slots(14, 1), set(), TODAY, 80)
    assert a.missing == NOTHING_PRESCRIBED and not a.flagged and a.percent is None
    assert "No dose prescribed" in explain_adherence(a, 80)
