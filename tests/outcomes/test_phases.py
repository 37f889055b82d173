"""The NIH phases (DOMAIN §5), with dates worked out by hand."""

from datetime import date
from decimal import Decimal

from outcomes.phases import Dose, Interval, derived_optimal_date, phases

CUTOFF = date(2026, 6, 30)
DIARY_FROM = date(2025, 1, 1)


def iv(a, b):
    return Interval(date.fromisoformat(a), date.fromisoformat(b))


def test_not_yet_treated_is_phase_1_only():
    result = phases([], CUTOFF, DIARY_FROM)
    assert result.intervals == {1: iv("2025-01-01", "2026-06-30"), 2: None, 3: None, 4: None}
    assert result.current == 1 and result.first_dose is None


def test_still_escalating():
    # First dose 1 May 2026; the latest change (1 June) has run 30 days by the cut-off.
    doses = [Dose(date(2026, 5, 1), Decimal(4)), Dose(date(2026, 6, 1), Decimal(6))]
    result = phases(doses, CUTOFF, DIARY_FROM)
    assert result.optimal_date is None
    assert result.intervals == {
        1: iv("2025-01-01", "2026-04-30"),
        2: iv("2026-05-01", "2026-06-30"),
        3: None,
        4: None,
    }
    assert result.current == 2


def test_derived_optimal_dose_and_all_four_phases():
    # Escalations on 1 Feb, 1 Mar, 1 Apr 2025; unchanged since 1 Apr 2025 (456 days).
    doses = [
        Dose(date(2025, 2, 1), Decimal(4)),
        Dose(date(2025, 3, 1), Decimal(6)),
        Dose(date(2025, 4, 1), Decimal(8)),
    ]
    result = phases(doses, CUTOFF, DIARY_FROM)
    assert result.optimal_date == date(2025, 4, 1) and result.optimal_derived
    # Phase 4: the 90 days ending 30 June 2026 start on 2 April 2026.
    assert result.intervals == {
        1: iv("2025-01-01", "2025-01-31"),
        2: iv("2025-02-01", "2025-03-31"),
        3: iv("2025-04-01", "2026-04-01"),
        4: iv("2026-04-02", "2026-06-30"),
    }
    assert result.intervals[4].days == 90 and result.intervals[1].days == 31


def test_clinician_marker_wins_over_the_derived_date():
    doses = [Dose(date(2025, 2, 1), Decimal(4)), Dose(date(2025, 4, 1), Decimal(8))]
    result = phases(doses, CUTOFF, DIARY_FROM, optimal_date=date(2025, 5, 15))
    assert not result.optimal_derived
    assert result.intervals[2] == iv("2025-02-01", "2025-05-14")
    assert result.intervals[3] == iv("2025-05-15", "2026-04-01")


def test_optimal_dose_reached_less_than_90_days_before_the_cutoff():
    # Marker 30 days before the cut-off: phase 3 is empty, phase 4 starts on the marker.
    doses = [Dose(date(2026, 1, 10), Decimal(4))]
    result = phases(doses, CUTOFF, DIARY_FROM, optimal_date=date(2026, 6, 1))
    assert result.intervals[3] is None
    assert result.intervals[4] == iv("2026-06-01", "2026-06-30")
    assert result.intervals[2] == iv("2026-01-10", "2026-05-31")


def test_a_change_exactly_90_days_before_the_cutoff_counts():
    # 2 April → 30 June is exactly 90 days.
    doses = [Dose(date(2026, 1, 1), Decimal(4)), Dose(date(2026, 4, 2), Decimal(6))]
    assert derived_optimal_date(doses, CUTOFF) == date(2026, 4, 2)
    doses = [Dose(date(2026, 1, 1), Decimal(4)), Dose(date(2026, 4, 3), Decimal(6))]
    # 89 days: not yet; the earlier prescription ran 1 Jan → 2 Apr = 92 days, so it is latest.
    assert derived_optimal_date(doses, CUTOFF) == date(2026, 1, 1)


def test_an_interruption():
    # 8 mg from 1 Mar 2025, interrupted 1–10 Nov 2025 for an infection, restarted 11 Nov 2025.
    doses = [
        Dose(date(2025, 2, 1), Decimal(4)),
        Dose(date(2025, 3, 1), Decimal(8)),
        Dose(date(2025, 11, 1), Decimal(0)),
        Dose(date(2025, 11, 11), Decimal(8)),
    ]
    result = phases(doses, CUTOFF, DIARY_FROM)
    # The restart has run unchanged 11 Nov 2025 → 30 Jun 2026 (232 days): the latest qualifying.
    assert result.optimal_date == date(2025, 11, 11)
    assert result.first_dose == date(2025, 2, 1)
    assert result.intervals[2] == iv("2025-02-01", "2025-11-10")
    # An interruption alone is never an optimal dose, however long it lasts.
    stopped = [Dose(date(2025, 2, 1), Decimal(4)), Dose(date(2025, 3, 1), Decimal(0))]
    assert derived_optimal_date(stopped, CUTOFF) is None


def test_a_switch_of_drug_counts_from_the_first_jaki_dose():
    doses = [
        Dose(date(2025, 2, 1), Decimal(10), "ruxolitinib"),
        Dose(date(2025, 9, 1), Decimal(6), "baricitinib"),
    ]
    result = phases(doses, CUTOFF, DIARY_FROM)
    assert result.first_dose == date(2025, 2, 1)
    assert result.optimal_date == date(2025, 9, 1)
    assert result.intervals[1] == iv("2025-01-01", "2025-01-31")


def test_a_diary_that_starts_after_the_first_dose_has_an_empty_phase_1():
    doses = [Dose(date(2025, 2, 1), Decimal(4))]
    result = phases(doses, CUTOFF, date(2025, 3, 1))
    assert result.intervals[1] is None
    # One unchanged prescription since the first dose: it is the optimal dose, phase 2 is empty.
    assert result.optimal_date == date(2025, 2, 1)
    assert result.intervals[2] is None
    assert result.intervals[3] == iv("2025-02-01", "2026-04-01")


def test_baseline_window():
    doses = [Dose(date(2025, 6, 1), Decimal(4))]
    result = phases(doses, CUTOFF, DIARY_FROM, baseline_days=28)
    assert result.intervals[1] == iv("2025-05-04", "2025-05-31")
    assert result.intervals[1].days == 28


def test_cutoff_before_any_treatment_ignores_later_prescriptions():
    doses = [Dose(date(2026, 7, 1), Decimal(4))]
    result = phases(doses, CUTOFF, DIARY_FROM)
    assert result.first_dose is None and result.current == 1
