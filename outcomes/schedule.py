"""The blood-test monitoring schedule as a pure function: treatment and results in, due tests out.

Baricitinib (SPARN JAKi guideline §6.7, §6.8): FBC, U&Es, LFTs incl. bilirubin, CRP, ESR at
weeks 2, 4, 8 (with lipids) and 12 after the first dose, then every 12 weeks; BK and JC virus
PCR in plasma and urine every 3 months while on an escalation (high) dose; "with dose escalation,
more frequent monitoring": extra bloods 2 and 4 weeks after each dose increase (a default, set
in settings); after a BK viral load ≥ 3, viral load and urinalysis every 4 weeks.
Tofacitinib (§5.4): FBC, U&Es, LFTs and lipids at weeks 6 and 12, then every 3 months with CRP
and ESR. A test is done when a matching result lies within ±7 days of its due date.
"""

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

GUIDELINE = "SPARN JAKi guideline"

# Panels and the analytes that show a panel was taken.
PANELS = {
    "bloods": {
        "hb",
        "wcc",
        "neutrophils",
        "lymphocytes",
        "platelets",
        "creatinine",
        "alt",
        "ast",
        "bilirubin",
        "crp",
        "esr",
    },
    "lipids": {"cholesterol", "triglycerides"},
    "bk_jc": {"bk_plasma", "bk_urine", "jc_plasma", "jc_urine"},
    "bk_viral_load": {"bk_plasma"},
}


PANEL_SETS = {panel: frozenset(analytes) for panel, analytes in PANELS.items()}

# What each panel is called on the pages and in the emails.
PANEL_LABELS = {
    "bloods": _("Blood count, kidney and liver tests, CRP and ESR"),
    "lipids": _("Cholesterol and triglycerides"),
    "bk_jc": _("BK and JC virus PCR, plasma and urine"),
    "bk_viral_load": _("BK viral load"),
}


def panel_label(panel: str) -> str:
    return str(PANEL_LABELS.get(panel, panel))


def _fill(template, values: dict) -> str:
    return str(template) % values


# A reason is worded when it is shown, in the reader's language, not when it is computed.
_worded = lazy(_fill, str)


@dataclass(frozen=True)
class Settings:
    baricitinib_weeks: tuple[int, ...] = (2, 4, 8, 12)
    baricitinib_lipid_week: int = 8
    baricitinib_every_weeks: int = 12
    tofacitinib_weeks: tuple[int, ...] = (6, 12)
    tofacitinib_every_weeks: int = 12
    after_increase_weeks: tuple[int, ...] = (2, 4)
    bk_every_weeks: int = 12
    bk_followup_weeks: int = 4
    done_within_days: int = 7
    horizon_days: int = 120  # how far ahead the schedule is listed


@dataclass(frozen=True)
class Course:
    """One prescription: drug, start, mg/day, whether it is an escalation (high) dose."""

    drug: str
    start: date
    total_mg: Decimal
    escalation: bool = False


@dataclass(frozen=True)
class Due:
    panel: str
    due: date
    reason: str  # lazy: worded in the language it is shown in
    source: str
    done_on: date | None = None
    analytes: frozenset = field(default_factory=frozenset)

    @property
    def done(self) -> bool:
        return self.done_on is not None

    @property
    def panel_label(self) -> str:
        return panel_label(self.panel)


def _weeks(start: date, weeks: int) -> date:
    return start + timedelta(weeks=weeks)


def _periods(courses: list[Course], drug: str, until: date) -> list[tuple[date, date]]:
    """The spans (start, end) during which DRUG was given (dose > 0)."""
    spans = []
    ordered = sorted(courses, key=lambda c: c.start)
    for i, course in enumerate(ordered):
        end = ordered[i + 1].start - timedelta(days=1) if i + 1 < len(ordered) else until
        if course.drug == drug and course.total_mg > 0 and course.start <= until:
            spans.append((course.start, min(end, until)))
    return spans


def _week(week: int):
    return _worded(_("week %(week)s"), {"week": week})


def _from_first_dose(
    first: date, weeks: tuple[int, ...], lipid_weeks: set[int], every: int, source: str, until: date
) -> list[tuple[str, date, str, str]]:
    """Bloods at WEEKS after the FIRST dose (lipids too at LIPID_WEEKS), then EVERY weeks."""
    items = []
    for week in weeks:
        items.append(("bloods", _weeks(first, week), _week(week), source))
        if week in lipid_weeks:
            items.append(("lipids", _weeks(first, week), _week(week), source))
    week = max(weeks) + every
    while _weeks(first, week) <= until:
        items.append(("bloods", _weeks(first, week), _week(week), source))
        week += every
    return items


def schedule(
    courses: list[Course],
    results: list[tuple[str, date, Decimal]],
    today: date,
    settings: Settings = Settings(),
) -> list[Due]:
    """The due tests from the first dose up to today + the horizon, each marked done or not.

    results: (analyte, sample date, value) of the child's lab results.
    """
    until = today + timedelta(days=settings.horizon_days)
    items: list[tuple[str, date, object, str]] = []
    bari = _periods(courses, "baricitinib", until)
    if bari:
        source = f"{GUIDELINE} §6.7"
        items += _from_first_dose(
            bari[0][0],
            settings.baricitinib_weeks,
            {settings.baricitinib_lipid_week},
            settings.baricitinib_every_weeks,
            source,
            until,
        )
        ordered = sorted((c for c in courses if c.start <= until), key=lambda c: c.start)
        for previous, course in zip(ordered, ordered[1:], strict=False):
            if course.drug == "baricitinib" and course.total_mg > previous.total_mg > 0:
                for week in settings.after_increase_weeks:
                    items.append(
                        (
                            "bloods",
                            _weeks(course.start, week),
                            _worded(
                                ngettext_lazy(
                                    "%(weeks)s week after the dose increase",
                                    "%(weeks)s weeks after the dose increase",
                                    week,
                                ),
                                {"weeks": week},
                            ),
                            source,
                        )
                    )
        for i, course in enumerate(ordered):
            if course.drug != "baricitinib" or not course.escalation or course.total_mg <= 0:
                continue
            end = ordered[i + 1].start if i + 1 < len(ordered) else until
            week = settings.bk_every_weeks
            while _weeks(course.start, week) < end and _weeks(course.start, week) <= until:
                items.append(
                    (
                        "bk_jc",
                        _weeks(course.start, week),
                        _("high dose: every 3 months"),
                        f"{GUIDELINE} §6.8",
                    )
                )
                week += settings.bk_every_weeks
        bk = sorted((d, v) for a, d, v in results if a == "bk_plasma")
        for i, (sampled, value) in enumerate(bk):
            if value < 3:
                continue
            next_low = next((d for d, v in bk[i + 1 :] if v < 3), None)
            follow = sampled + timedelta(weeks=settings.bk_followup_weeks)
            while follow <= until and (next_low is None or follow <= next_low):
                items.append(
                    (
                        "bk_viral_load",
                        follow,
                        _("BK viral load ≥ 3: every 4 weeks"),
                        f"{GUIDELINE} §6.8",
                    )
                )
                follow += timedelta(weeks=settings.bk_followup_weeks)
    tofa = _periods(courses, "tofacitinib", until)
    if tofa:
        items += _from_first_dose(
            tofa[0][0],
            settings.tofacitinib_weeks,
            set(settings.tofacitinib_weeks),
            settings.tofacitinib_every_weeks,
            f"{GUIDELINE} §5.4",
            until,
        )

    # One test per panel and day: the first reason wins.
    unique: dict[tuple[str, date], tuple[object, str]] = {}
    for panel, due, reason, source in items:
        unique.setdefault((panel, due), (reason, source))
    window = timedelta(days=settings.done_within_days)
    sampled = {panel: sorted({d for a, d, _v in results if a in PANELS[panel]}) for panel in PANELS}
    out = []
    used: set[tuple[str, date]] = set()  # a sample counts for one test of a panel only
    for (panel, due), (reason, source) in sorted(unique.items(), key=lambda kv: kv[0][1]):
        dates = sampled[panel]
        done_on = None
        for d in dates[bisect_left(dates, due - window) :]:
            if d > due + window:
                break
            if (panel, d) not in used:
                done_on = d
                used.add((panel, d))
                break
        out.append(Due(panel, due, reason, source, done_on, PANEL_SETS[panel]))
    return out


def next_due(items: list[Due], today: date) -> Due | None:
    """The earliest test not done whose window has not closed."""
    pending = [d for d in items if not d.done and d.due + timedelta(days=7) >= today]
    return min(pending, key=lambda d: d.due) if pending else None


def overdue(items: list[Due], today: date, grace_days: int = 7) -> list[Due]:
    return [d for d in items if not d.done and d.due + timedelta(days=grace_days) < today]


def may_fall_due(
    starts: set[date],
    high_bk: set[date],
    day: date,
    offsets: tuple[int, ...],
    settings: Settings = Settings(),
) -> bool:
    """Whether any test can be due OFFSET days before DAY (for some offset), from the course
    STARTS and the dates of BK viral loads of 3 or more alone. Every due date is a whole
    number of weeks after one of those, at a week number the settings allow, so this cheap
    check spares computing the schedule of almost every child on a given day."""
    fixed = {*settings.baricitinib_weeks, *settings.tofacitinib_weeks}
    fixed |= set(settings.after_increase_weeks)
    periodic = [
        (
            max(settings.baricitinib_weeks) + settings.baricitinib_every_weeks,
            settings.baricitinib_every_weeks,
        ),
        (
            max(settings.tofacitinib_weeks) + settings.tofacitinib_every_weeks,
            settings.tofacitinib_every_weeks,
        ),
        (settings.bk_every_weeks, settings.bk_every_weeks),
    ]

    def weeks(anchor: date):
        for off in offsets:
            days = (day - anchor).days - off
            if days >= 0 and days % 7 == 0:
                yield days // 7

    for start in starts:
        for week in weeks(start):
            if week in fixed or any(week >= b and (week - b) % p == 0 for b, p in periodic):
                return True
    return any(
        week > 0 and week % settings.bk_followup_weeks == 0
        for sampled in high_bk
        for week in weeks(sampled)
    )


def weekdays(days: set[date], offsets: tuple[int, ...]) -> set[int]:
    """The weekdays (Monday 0) a due date can have to be reminded on one of DAYS: all the
    schedule's intervals are whole weeks, so its anchors fall on these weekdays too."""
    return {(d - timedelta(days=off)).weekday() for d in days for off in offsets}
