"""The four treatment phases of the NIH baricitinib study (Sanchez et al., JCI 2018, Fig. 1A),
as DOMAIN §5 defines them. Pure: dates and prescriptions in, date intervals out. Phases are
always derived, never stored.

1  before the first JAK-inhibitor dose (all recorded days, or a window before it)
2  dose escalation: first dose to the day before the optimal-dose date
3  optimal dose, excluding the last 90 days before the final visit
4  the 90 days ending on the final visit (or data cut-off), never before the optimal-dose date
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

LAST_DAYS = 90  # phase 4, and how long a prescription must run unchanged to be "optimal"


# The phases' names, as the treatment page's table and the timeline's legend give them.
NAMES = {
    1: _("before treatment"),
    2: _("dose escalation"),
    3: _("optimal dose"),
    4: _("last 90 days"),
}


@dataclass(frozen=True)
class Dose:
    """One prescription: from START, TOTAL mg/day of DRUG (0 for an interruption or a stop)."""

    start: date
    total_mg: Decimal
    drug: str = "baricitinib"


@dataclass(frozen=True)
class Interval:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Phases:
    cutoff: date
    first_dose: date | None
    optimal_date: date | None
    optimal_derived: bool
    intervals: dict[int, Interval | None]

    def phase_of(self, day: date) -> int | None:
        for number, interval in self.intervals.items():
            if interval is not None and day in interval:
                return number
        return None

    @property
    def current(self) -> int | None:
        return self.phase_of(self.cutoff)


def _interval(start: date, end: date) -> Interval | None:
    return Interval(start, end) if start <= end else None


def derived_optimal_date(doses: list[Dose], cutoff: date) -> date | None:
    """The start of the latest prescription that ran unchanged for at least 90 days by CUTOFF."""
    ordered = sorted((d for d in doses if d.start <= cutoff), key=lambda d: d.start)
    for i in range(len(ordered) - 1, -1, -1):
        dose = ordered[i]
        if dose.total_mg <= 0:
            continue  # an interruption or a stop is not a dose
        ends = ordered[i + 1].start - timedelta(days=1) if i + 1 < len(ordered) else cutoff
        if (ends - dose.start).days + 1 >= LAST_DAYS:
            return dose.start
    return None


def phases(
    doses: list[Dose],
    cutoff: date,
    first_recorded: date | None,
    optimal_date: date | None = None,
    baseline_days: int | None = None,
) -> Phases:
    """The four phases for one child.

    doses: the JAK-inhibitor prescriptions (any drug: a switch does not restart the count).
    cutoff: the final visit, or the analysis date.
    first_recorded: the first day with data (phase 1 starts there when there is no window).
    optimal_date: set by the clinician; None derives it from the prescriptions.
    baseline_days: phase 1 is at most this many days before the first dose (None: all).
    """
    given = [d for d in doses if d.total_mg > 0 and d.start <= cutoff]
    first_dose = min((d.start for d in given), default=None)
    start = first_recorded if first_recorded is not None else cutoff
    if first_dose is None:
        if baseline_days is not None:
            start = max(start, cutoff - timedelta(days=baseline_days - 1))
        return Phases(
            cutoff, None, None, False, {1: _interval(start, cutoff), 2: None, 3: None, 4: None}
        )

    phase1_start = start
    if baseline_days is not None:
        phase1_start = max(start, first_dose - timedelta(days=baseline_days))
    phase1 = _interval(phase1_start, first_dose - timedelta(days=1))

    derived = optimal_date is None
    optimal = derived_optimal_date(doses, cutoff) if derived else optimal_date
    if optimal is not None and (optimal > cutoff or optimal < first_dose):
        # A marker outside the treated period cannot start phase 3.
        optimal = max(first_dose, optimal) if optimal <= cutoff else None
    if optimal is None:
        return Phases(
            cutoff,
            first_dose,
            None,
            derived,
            {1: phase1, 2: _interval(first_dose, cutoff), 3: None, 4: None},
        )

    phase4_start = max(cutoff - timedelta(days=LAST_DAYS - 1), optimal)
    return Phases(
        cutoff,
        first_dose,
        optimal,
        derived,
        {
            1: phase1,
            2: _interval(first_dose, optimal - timedelta(days=1)),
            3: _interval(optimal, phase4_start - timedelta(days=1)),
            4: _interval(phase4_start, cutoff),
        },
    )
