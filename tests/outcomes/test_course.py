"""A child's course over a range (outcomes/course.py): phases clipped to the range, doses
prescribed and given, the score's trend in words' terms."""

from datetime import date, timedelta

from outcomes import course, stats
from outcomes.phases import Dose, Interval, phases

D = date(2026, 3, 1)


def days(n: int) -> date:
    return D + timedelta(days=n)


def test_clip_keeps_the_part_inside_the_range():
    interval = Interval(days(0), days(9))
    assert course.clip(interval, days(5), days(20)) == Interval(days(5), days(9))
    assert course.clip(interval, days(-5), days(3)) == Interval(days(0), days(3))
    assert course.clip(interval, days(10), days(20)) is None
    assert course.clip(None, days(0), days(1)) is None
    assert course.clip(interval, days(9), days(9)) == Interval(days(9), days(9))


def test_clipped_summaries_count_only_the_days_in_the_range():
    # First dose on day 100, unchanged: optimal from day 100; cutoff day 299.
    result = phases([Dose(days(100), 4)], days(299), days(0), None, None)
    daily = [stats.Day(days(n), 10.0 if n < 150 else 2.0) for n in range(300)]
    whole = {s.phase: s for s in course.clipped_summaries(result, daily, days(0), days(299))}
    part = {s.phase: s for s in course.clipped_summaries(result, daily, days(150), days(250))}
    assert whole[1].days == 100 and whole[1].mean == 10.0
    assert part[1].days == 0 and part[1].start is None  # before the range: nothing
    assert part[3].start == days(150) and part[3].mean == 2.0
    assert whole[3].mean > 2.0  # unclipped, its first 50 days scored 10
    assert part[4].end == days(250) and part[4].days == 41


def test_completeness_counts_scored_days_of_the_range():
    scored = {days(0), days(1), days(5), days(40)}
    found = course.completeness(scored, days(0), days(9))
    assert (found.days, found.scored, found.percent) == (10, 3, 30.0)
    assert course.completeness(scored, days(9), days(8)).percent is None


def test_prescribed_slots_follow_each_prescription_until_the_next():
    prescriptions = [
        (days(0), "baricitinib", ("morning", "evening")),
        (days(3), "baricitinib", ()),  # interruption: nothing prescribed
        (days(5), "tofacitinib", ("morning", "afternoon", "evening")),
    ]
    slots = course.prescribed_slots(prescriptions, days(-10), days(6))
    assert len(slots) == 3 * 2 + 2 * 3
    assert (days(2), "evening", "baricitinib") in slots
    assert not any(day in (days(3), days(4)) for day, _s, _d in slots)
    assert (days(6), "afternoon", "tofacitinib") in slots
    assert not any(day < days(0) for day, _s, _d in slots)  # nothing before the first
    assert course.prescribed_slots(prescriptions, days(1), days(1)) == {
        (days(1), "morning", "baricitinib"),
        (days(1), "evening", "baricitinib"),
    }


def test_count_doses_and_what_counts_as_given():
    prescribed = {(days(0), s, "baricitinib") for s in ("morning", "evening")} | {
        (days(1), "morning", "baricitinib")
    }
    given = {(days(0), "morning", "baricitinib"), (days(9), "morning", "baricitinib")}
    # Evening of day 0 recorded missed by one caregiver and given by another: given.
    missed = {(days(0), "evening", "baricitinib")}
    given.add((days(0), "evening", "baricitinib"))
    count = course.count_doses(prescribed, given, missed)
    assert (count.prescribed, count.given, count.missed, count.not_recorded) == (3, 2, 0, 1)
    assert course.taken("given", 2) and course.taken("different", 1)
    assert not course.taken("missed", 2) and not course.taken("different", 0)
    assert course.count_doses(set(), given, missed).percent is None


def test_trend_uses_the_margin_both_ways():
    assert course.trend(3.0, 6.0, 2.4) == course.LOWER
    assert course.trend(8.5, 6.0, 2.4) == course.HIGHER
    assert course.trend(8.4, 6.0, 2.4) == course.SAME  # exactly the margin: the same
    assert course.trend(3.6, 6.0, 2.4) == course.SAME
    assert course.trend(None, 6.0, 2.4) is None and course.trend(3.0, None, 2.4) is None
