"""A child's course over a date range, as pure functions over plain data: the phases clipped
to the range, the diary's completeness, the doses prescribed and given, the score's trend.

The visit report and the family summary read a range of the record; a phase that began before
the range counts only its days inside it, so every number printed is about the range asked for.
The phase rules stay in phases.py, the statistics in stats.py.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from outcomes import stats
from outcomes.phases import Interval, Phases

PHASES = (1, 2, 3, 4)


def clip(interval: Interval | None, first: date, last: date) -> Interval | None:
    """The part of INTERVAL from FIRST to LAST, or None when they do not meet."""
    if interval is None:
        return None
    start, end = max(interval.start, first), min(interval.end, last)
    return Interval(start, end) if start <= end else None


def clipped_summaries(
    phases: Phases, days: list[stats.Day], first: date, last: date
) -> list[stats.PhaseSummary]:
    """Each phase's summary over its days from FIRST to LAST only (an empty summary for a phase
    outside the range)."""
    out = []
    for number in PHASES:
        part = clip(phases.intervals.get(number), first, last)
        out.append(
            stats.phase_summary(
                number, part.start if part else None, part.end if part else None, days
            )
        )
    return out


@dataclass(frozen=True)
class Completeness:
    first: date
    last: date
    days: int
    scored: int

    @property
    def percent(self) -> float | None:
        return 100 * self.scored / self.days if self.days else None


def completeness(scored_days: set[date], first: date, last: date) -> Completeness:
    """How many of the days from FIRST to LAST have a daily score (a day without one is
    missing, never zero)."""
    length = (last - first).days + 1 if last >= first else 0
    return Completeness(first, last, length, sum(1 for d in scored_days if first <= d <= last))


def prescribed_slots(
    prescriptions: list[tuple[date, str, tuple[str, ...]]], first: date, last: date
) -> set[tuple[date, str, str]]:
    """The (day, slot, drug) doses prescribed from FIRST to LAST. PRESCRIPTIONS: (start, drug,
    the slots with a dose); each is in force from its start until the next one starts (an
    interruption or a stop has no slot)."""
    ordered = sorted(prescriptions)
    out = set()
    for i, (start, drug, slots) in enumerate(ordered):
        until = ordered[i + 1][0] - timedelta(days=1) if i + 1 < len(ordered) else last
        day, end = max(start, first), min(until, last)
        while day <= end:
            out.update((day, slot, drug) for slot in slots)
            day += timedelta(days=1)
    return out


def taken(status: str, given_mg) -> bool:
    """A dose recorded as given: as prescribed, or a different amount above 0."""
    return status != "missed" and given_mg > 0


@dataclass(frozen=True)
class DoseCount:
    prescribed: int
    given: int
    missed: int

    @property
    def not_recorded(self) -> int:
        return self.prescribed - self.given - self.missed

    @property
    def percent(self) -> float | None:
        return 100 * self.given / self.prescribed if self.prescribed else None


def count_doses(prescribed: set[tuple], given: set[tuple], missed: set[tuple]) -> DoseCount:
    """Of the PRESCRIBED doses, those recorded as GIVEN and as MISSED (a dose recorded both
    ways, which two caregivers can do, counts as given). Doses not prescribed are ignored."""
    n_given = len(prescribed & given)
    return DoseCount(len(prescribed), n_given, len(prescribed & (missed - given)))


LOWER, HIGHER, SAME = "lower", "higher", "same"


def trend(recent: float | None, before: float | None, margin: float) -> str | None:
    """Whether the RECENT mean score is lower, higher or about the SAME as BEFORE: a change of
    MARGIN or less (the dashboard's worsening margin) is "about the same"; None when either
    mean is missing."""
    if recent is None or before is None:
        return None
    change = round(recent - before, 9)
    if change > margin:
        return HIGHER
    if change < -margin:
        return LOWER
    return SAME
