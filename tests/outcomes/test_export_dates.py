"""Attack 1: a researcher runs exports with any cut-offs, in both date modes, and differences
them to place a child's day 0 on the calendar. The record of each child ends a keyed 0–2×bound
days before the month's freeze, so every child stays uncertain by at least ±bound days."""

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from outcomes import deidentify, export
from outcomes.models import Study, StudyLink
from tests.outcomes import export_checks
from tests.outcomes.test_export import consenting, name_of, with_data

TODAY = date(2026, 7, 1)  # the diaries run daily up to 30 June, a freeze
SHIFT_SPAN = deidentify.SHIFT_DAYS - 1


@pytest.fixture(autouse=True)
def first_of_july():
    with time_machine.travel(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def study(world):
    trial = Study.objects.create(code="trial-a", title="Trial A")
    trial.sites.add(world.north, world.south)
    StudyLink.objects.create(study=trial, site=world.north, researcher=world.rita)
    return trial


def run(cutoff: date, shift_dates: bool) -> export_checks.Export:
    out = io.BytesIO()
    export.write_export(out, export.Options("trial-a", ("north",), cutoff, shift_dates=shift_dates))
    return export_checks.check(out.getvalue())


def cutoffs() -> list[date]:
    """The attack's cut-offs: C and C−1 on both sides of a month's end, and one every 6 days."""
    series = [TODAY - timedelta(days=n) for n in range(1, 120, 6)]
    return sorted({*series, date(2026, 6, 30), date(2026, 6, 29), date(2026, 6, 15)})


def shifted_dates(result: export_checks.Export) -> bool:
    return result.members["diary.csv"].removeprefix(export_checks.BOM).startswith(b"child,date,")


def intruder(exports: list[tuple[date, export_checks.Export]], span: int) -> dict:
    """What a researcher who knows the design (records end 0–SPAN days before the freeze, the
    freeze is public, families record every day) can say of each child's real first dose: an
    interval of ordinals, intersected over every export, day-mode and shifted alike. An export
    that anchors day 0 on the first diary day (not yet treated) is moved onto the first dose by
    the gap between them, read from a later export."""
    gap: dict[str, int] = {}  # first dose − first diary day
    for _cutoff, result in exports:
        if not shifted_dates(result):
            first: dict[str, int] = {}
            for row in result.tables["diary.csv"]:
                first[row["child"]] = min(int(row["day"]), first.get(row["child"], 0))
            for row in result.tables["children.csv"]:
                if row["day0_event"] == "first_jaki_dose":
                    gap[row["child"]] = -first[row["child"]]
    # Each export gives a sure upper bound (no recorded day is after the freeze) and, with a
    # shift, sure bounds from the shift's 0–364 days. The last recorded day is at most SPAN
    # days before the freeze when the family recorded that day: the lowest upper bound is the
    # export where they did, so the lower bound is it minus SPAN.
    upper: dict[str, int] = {}
    lower: dict[str, int] = {}
    for _cutoff, result in exports:
        freeze = date.fromisoformat(result.manifest["freeze"]).toordinal()
        shifted = shifted_dates(result)
        last: dict[str, int] = {}
        for row in result.tables["diary.csv"]:
            when = date.fromisoformat(row["date"]).toordinal() if shifted else int(row["day"])
            last[row["child"]] = max(when, last.get(row["child"], when))
        for row in result.tables["children.csv"]:
            child, end = row["child"], last[row["child"]]
            move = 0 if row["day0_event"] == "first_jaki_dose" else gap[child]
            if shifted:
                # real = shifted + s, s in 0–364, and the last real day is on or before F.
                day0 = date.fromisoformat(row["day0_date"]).toordinal() + move
                high = min(day0 + SHIFT_SPAN, day0 + freeze - end)
                lower[child] = max(lower.get(child, day0), day0)
            else:
                high = freeze - end + move
            upper[child] = min(upper.get(child, high), high)
    return {
        child: (max(lower.get(child, high - span), high - span), high)
        for child, high in upper.items()
    }


def attack(world, bound: int) -> tuple[dict, dict]:
    settings.EXPORT_DATE_UNCERTAINTY_DAYS = bound
    children = [
        with_data(consenting(world.north, f"Kid{i}"), days=200, first_dose=90 + 7 * i, seed=i)
        for i in range(5)
    ]
    truth = {
        name_of(c): c.prescriptions.order_by("start_date").first().start_date.toordinal()
        for c in children
    }
    exports = [(c, run(c, shift)) for c in cutoffs() for shift in (False, True)]
    return truth, intruder(exports, deidentify.end_span(bound))


def test_no_set_of_exports_dates_a_first_dose_closer_than_the_bound(world, study, settings):
    bound = 30
    truth, known = attack(world, bound)
    assert set(known) == set(truth)
    for child, (low, high) in known.items():
        assert low <= truth[child] <= high, "the intruder's reasoning is sound"
        assert high - low + 1 >= 2 * bound + 1, (child, high - low + 1)


def test_without_the_bound_the_same_attack_finds_every_first_dose(world, study, settings):
    """The attack works: with no uncertainty every child's first dose is found exactly."""
    truth, known = attack(world, 0)
    assert known == {child: (day, day) for child, day in truth.items()}


def test_cutoffs_within_a_month_give_the_same_data(world, study, settings):
    settings.EXPORT_DATE_UNCERTAINTY_DAYS = 30
    for i in range(5):
        with_data(consenting(world.north, f"Kid{i}"), days=120, first_dose=30, seed=i)
    for shift in (False, True):
        c, c_minus_1 = run(date(2026, 6, 15), shift), run(date(2026, 6, 14), shift)
        for name in export_checks.FILES - {"manifest.json"}:
            assert c.members[name] == c_minus_1.members[name], name


def test_each_record_ends_within_the_span_before_the_freeze(settings):
    key = "k" * 32
    ends = [deidentify.end_offset(key, f"{n:016x}", 60) for n in range(2000)]
    assert min(ends) == 0 and max(ends) == 60
    shifts = [deidentify.date_shift(key, f"{n:016x}", 60) for n in range(2000)]
    assert min(shifts) >= 0 and max(shifts) <= 364
    assert deidentify.freeze(date(2026, 6, 30)) == date(2026, 6, 30)
    assert deidentify.freeze(date(2026, 6, 29)) == date(2026, 5, 31)
    assert deidentify.freeze(date(2026, 3, 1)) == date(2026, 2, 28)
