"""Who needs attention: the dashboard's rules for a worsening diary and missed doses.

Pure functions over plain data; the dashboard gathers the data and shows the explanation.

Worsening: the mean daily score of the last RECENT_DAYS days of the child's own calendar
(today included) against the child's own baseline, which is
  * the phase-3 mean (on optimal dose, DOMAIN §5) when phase 3 has at least MIN_BASELINE_DAYS
    scored days, otherwise
  * the 75th percentile of the daily scores of the BASELINE_DAYS days before the last week,
    when there are at least MIN_BASELINE_DAYS of them.
The child is flagged when the recent mean is above the baseline by more than the margin, a
fraction of the instrument's score range (settings.WORSENING_MARGIN, default 10 %: 2.4 points on
the AGS diary's 0–24, 0.4 on the NIH diary's 0–4). Fewer than MIN_RECENT_DAYS scored days in the
last week, or no baseline, is said as such: never a silent "not worse".

Missed doses: over the ADHERENCE_DAYS days ending yesterday (today's doses may still be due),
the prescribed slots (a slot with a dose in the prescription in force that day) against those
recorded as given (as prescribed or a different amount above 0). A slot recorded as missed or
not recorded at all is not given; the explanation tells the two apart. Flagged under
settings.ADHERENCE_MIN_PERCENT (default 80 %).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from statistics import mean, quantiles

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from outcomes import course

RECENT_DAYS = 7
MIN_RECENT_DAYS = 4
BASELINE_DAYS = 90
MIN_BASELINE_DAYS = 14
ADHERENCE_DAYS = 14

# Why a rule could not be applied.
TOO_FEW_RECENT = "too_few_recent"
NO_BASELINE = "no_baseline"
NOTHING_PRESCRIBED = "nothing_prescribed"


@dataclass(frozen=True)
class Worsening:
    flagged: bool
    recent_mean: float | None = None
    recent_days: int = 0
    baseline: float | None = None
    baseline_kind: str = ""  # "phase3" or "p75"
    baseline_days: int = 0
    missing: str = ""  # TOO_FEW_RECENT or NO_BASELINE when the rule could not be applied

    @property
    def excess(self) -> float | None:
        """How far the last week is above the baseline (for sorting)."""
        if self.recent_mean is None or self.baseline is None:
            return None
        return self.recent_mean - self.baseline


def worsening(
    scores: dict[date, float],
    today: date,
    phase3: tuple[float, int] | None,
    margin: float,
) -> Worsening:
    """Is the last week clearly worse than the child's own baseline?

    SCORES: {day: daily score} of the scored days (at least the last RECENT_DAYS + BASELINE_DAYS
    days); PHASE3: (mean, scored days) of phase 3, or None; MARGIN: in score points."""
    first_recent = today - timedelta(days=RECENT_DAYS - 1)
    recent = [s for d, s in scores.items() if first_recent <= d <= today]
    earlier = [
        s
        for d, s in scores.items()
        if first_recent - timedelta(days=BASELINE_DAYS) <= d < first_recent
    ]
    if phase3 is not None and phase3[0] is not None and phase3[1] >= MIN_BASELINE_DAYS:
        baseline, kind, n = phase3[0], "phase3", phase3[1]
    elif len(earlier) >= MIN_BASELINE_DAYS:
        baseline, kind, n = quantiles(earlier, n=4, method="inclusive")[2], "p75", len(earlier)
    else:
        baseline, kind, n = None, "", len(earlier)
    recent_mean = mean(recent) if len(recent) >= MIN_RECENT_DAYS else None
    common = {
        "recent_mean": recent_mean,
        "recent_days": len(recent),
        "baseline": baseline,
        "baseline_kind": kind,
        "baseline_days": n,
    }
    if recent_mean is None:
        return Worsening(False, missing=TOO_FEW_RECENT, **common)
    if baseline is None:
        return Worsening(False, missing=NO_BASELINE, **common)
    # Rounded so that a mean exactly at the margin is not flagged by a floating-point residue.
    return Worsening(round(recent_mean - baseline - margin, 9) > 0, **common)


@dataclass(frozen=True)
class Adherence:
    flagged: bool
    prescribed: int
    given: int
    missed: int
    first: date
    last: date
    missing: str = ""

    @property
    def percent(self) -> float | None:
        return 100 * self.given / self.prescribed if self.prescribed else None

    @property
    def not_recorded(self) -> int:
        return self.prescribed - self.given - self.missed


def adherence(
    prescribed: set[tuple],
    given: set[tuple],
    missed: set[tuple],
    today: date,
    min_percent: float,
) -> Adherence:
    """The doses given out of those prescribed over the ADHERENCE_DAYS days ending yesterday.

    PRESCRIBED: the (day, slot, drug) doses prescribed; GIVEN and MISSED: those recorded as given
    (an amount above 0) and as missed (a different amount of 0 counts as missed). Doses outside
    the window or not prescribed are ignored."""
    last = today - timedelta(days=1)
    first = today - timedelta(days=ADHERENCE_DAYS)
    counted = course.count_doses(
        {dose for dose in prescribed if first <= dose[0] <= last}, given, missed
    )
    if not counted.prescribed:
        return Adherence(False, 0, 0, 0, first, last, missing=NOTHING_PRESCRIBED)
    # Compared in whole numbers so that exactly the threshold is not flagged.
    flagged = 100 * counted.given < min_percent * counted.prescribed
    return Adherence(flagged, counted.prescribed, counted.given, counted.missed, first, last)


def _one(value: float) -> str:
    # number_format cuts a float's digits: round first (4.66 is "4.7", as the page shows it).
    return number_format(round(value, 1), 1)


def explain_worsening(w: Worsening, margin: float) -> str:
    """Why the child is, is not, or cannot be flagged, in the reader's language."""
    if w.missing == TOO_FEW_RECENT:
        return _(
            "Not assessed: %(n)d of the last %(days)d days scored (at least %(min)d needed)."
        ) % {"n": w.recent_days, "days": RECENT_DAYS, "min": MIN_RECENT_DAYS}
    if w.missing == NO_BASELINE:
        return _(
            "Not assessed: no baseline (a phase 3 or %(min)d scored days in the %(days)d days "
            "before the last week; %(n)d scored)."
        ) % {"min": MIN_BASELINE_DAYS, "days": BASELINE_DAYS, "n": w.baseline_days}
    values = {
        "recent": _one(w.recent_mean),
        "baseline": _one(w.baseline),
        "n": w.recent_days,
        "days": BASELINE_DAYS,
        "margin": _one(margin),
    }
    if w.baseline_kind == "phase3":
        text = _("last 7 days %(recent)s (%(n)d days scored) vs phase-3 mean %(baseline)s") % values
    else:
        text = (
            _(
                "last 7 days %(recent)s (%(n)d days scored) vs 75th percentile of the previous "
                "%(days)d days %(baseline)s"
            )
            % values
        )
    if w.flagged:
        return _("Worse: %(text)s, more than %(margin)s above.") % (values | {"text": text})
    return _("Not worse: %(text)s, not more than %(margin)s above.") % (values | {"text": text})


def explain_adherence(a: Adherence, min_percent: float) -> str:
    if a.missing == NOTHING_PRESCRIBED:
        return _("No dose prescribed from %(first)s to %(last)s.") % {
            "first": date_format(a.first, "SHORT_DATE_FORMAT"),
            "last": date_format(a.last, "SHORT_DATE_FORMAT"),
        }
    return _(
        "%(given)d of %(prescribed)d prescribed doses recorded as given from %(first)s to "
        "%(last)s (%(missed)d missed, %(unknown)d not recorded); flagged under %(min)s %%."
    ) % {
        "given": a.given,
        "prescribed": a.prescribed,
        "first": date_format(a.first, "SHORT_DATE_FORMAT"),
        "last": date_format(a.last, "SHORT_DATE_FORMAT"),
        "missed": a.missed,
        "unknown": a.not_recorded,
        "min": number_format(min_percent, 0),
    }
