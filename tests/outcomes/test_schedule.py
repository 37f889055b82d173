"""The monitoring schedule (SPARN §5.4, §6.7, §6.8) with dates worked out by hand."""

from datetime import date, timedelta
from decimal import Decimal

from outcomes.schedule import Course, next_due, overdue, schedule

START = date(2026, 1, 5)  # a Monday


def dues(items, panel="bloods"):
    return [(d.due, d.reason) for d in items if d.panel == panel]


def test_baricitinib_weeks_2_4_8_12_then_every_12():
    items = schedule([Course("baricitinib", START, Decimal(4))], [], today=date(2026, 6, 1))
    assert dues(items) == [
        (date(2026, 1, 19), "week 2"),
        (date(2026, 2, 2), "week 4"),
        (date(2026, 3, 2), "week 8"),
        (date(2026, 3, 30), "week 12"),
        (date(2026, 6, 22), "week 24"),
        (date(2026, 9, 14), "week 36"),
    ]
    assert dues(items, "lipids") == [(date(2026, 3, 2), "week 8")]
    assert dues(items, "bk_jc") == []  # not on an escalation dose


def test_a_dose_increase_adds_checks_at_2_and_4_weeks_and_bk_every_3_months():
    courses = [
        Course("baricitinib", START, Decimal(4)),
        Course("baricitinib", date(2026, 4, 6), Decimal(6), escalation=True),
    ]
    items = schedule(courses, [], today=date(2026, 6, 1))
    assert (date(2026, 4, 20), "2 weeks after the dose increase") in dues(items)
    assert (date(2026, 5, 4), "4 weeks after the dose increase") in dues(items)
    assert dues(items, "bk_jc") == [
        (date(2026, 6, 29), "high dose: every 3 months"),
        (date(2026, 9, 21), "high dose: every 3 months"),
    ]


BLOODS = ("hb", "wcc", "neutrophils", "lymphocytes", "platelets", "creatinine", "alt")
BLOODS += ("bilirubin", "crp", "esr")


def test_done_within_7_days():
    results = [(a, date(2026, 1, 26), Decimal(1)) for a in BLOODS]  # 7 days after week 2
    results += [(a, date(2026, 2, 10), Decimal(1)) for a in BLOODS]  # 8 days after week 4
    items = schedule([Course("baricitinib", START, Decimal(4))], results, today=date(2026, 3, 1))
    by_date = {d.due: d for d in items if d.panel == "bloods"}
    assert by_date[date(2026, 1, 19)].done_on == date(2026, 1, 26)
    assert not by_date[date(2026, 2, 2)].done
    assert [d.due for d in overdue(items, date(2026, 3, 1))] == [date(2026, 2, 2)]
    assert next_due(items, date(2026, 3, 1)).due == date(2026, 3, 2)


def test_bk_viral_load_every_4_weeks_after_a_result_of_3_or_more():
    courses = [Course("baricitinib", START, Decimal(8), escalation=True)]
    results = [
        ("bk_plasma", date(2026, 4, 1), Decimal("3.2")),
        ("bk_plasma", date(2026, 5, 27), Decimal("2.5")),
    ]
    items = schedule(courses, results, today=date(2026, 6, 1))
    # Every 4 weeks from 1 April until the load falls below 3 (27 May).
    assert [d for d, _ in dues(items, "bk_viral_load")] == [date(2026, 4, 29), date(2026, 5, 27)]


def test_tofacitinib_weeks_6_and_12_then_every_3_months():
    items = schedule([Course("tofacitinib", START, Decimal(6))], [], today=date(2026, 6, 1))
    assert [d for d, _ in dues(items)] == [
        date(2026, 2, 16),
        date(2026, 3, 30),
        date(2026, 6, 22),
        date(2026, 9, 14),
    ]
    assert [d for d, _ in dues(items, "lipids")] == [date(2026, 2, 16), date(2026, 3, 30)]


def test_not_treated_or_interrupted():
    assert schedule([], [], today=date(2026, 6, 1)) == []
    stopped = [Course("baricitinib", START, Decimal(0))]
    assert schedule(stopped, [], today=date(2026, 6, 1)) == []
    assert (
        schedule(
            [Course("baricitinib", START + timedelta(days=400), Decimal(4))],
            [],
            today=date(2026, 6, 1),
        )
        == []
    )


def test_the_weekday_filter_never_hides_a_due_test():
    """may_fall_due() lets the sweep skip children; it must keep every child with a test due
    OFFSET days before the day, whatever the courses and BK results (seeded random cases)."""
    import random

    from outcomes.schedule import may_fall_due, weekdays

    rng = random.Random(3)
    hits = misses = 0
    offsets = (-7, 0, 7, -3, 5)
    for _case in range(1500):
        start = date(2025, 1, 1) + timedelta(days=rng.randint(0, 300))
        courses, day = [], start
        for n in range(rng.randint(1, 4)):
            drug = rng.choice(["baricitinib", "baricitinib", "tofacitinib"])
            courses.append(Course(drug, day, Decimal(rng.choice([0, 2, 4, 6])), n > 0))
            day += timedelta(days=rng.randint(5, 120))
        results = [
            (
                "bk_plasma",
                start + timedelta(days=rng.randint(0, 400)),
                Decimal(rng.choice([1, 3, 5])),
            )
            for _ in range(rng.randint(0, 3))
        ]
        today = start + timedelta(days=rng.randint(0, 500))
        starts = {c.start for c in courses}
        high = {d for _a, d, v in results if v >= 3}
        items = schedule(courses, results, today)
        for off in offsets:
            due = today - timedelta(days=off)
            if any(item.due == due for item in items):
                hits += 1
                assert may_fall_due(starts, high, today, (off,)), (courses, results, today, off)
                assert due.weekday() in weekdays({today}, (off,))
            else:
                misses += may_fall_due(starts, high, today, (off,))
    assert hits > 150
    # And it filters: most days without a test due are ruled out without a schedule.
    assert misses < 0.25 * (1500 * len(offsets) - hits)
    assert not may_fall_due({date(2026, 1, 1)}, set(), date(2026, 1, 3), (0, 7, -7))
