"""The blood-test monitoring schedule as a pure function: treatment and results in, due tests out.

Baricitinib (SPARN JAKi guideline §6.7, §6.8): FBC, U&Es, LFTs incl. bilirubin, CRP, ESR at
weeks 2, 4, 8 (with lipids) and 12 after the first dose, then every 12 weeks; BK and JC virus
PCR in plasma and urine every 3 months while on a high dose (at or above the escalation table's
dose for the child's weight and eGFR, worked out by the caller); "with dose escalation, more
frequent monitoring": extra bloods 2 and 4 weeks after each dose increase (a default, set in
settings); after a BK viral load ≥ 3, viral load every 4 weeks.
Tofacitinib (§5.4): FBC, U&Es, LFTs and lipids at weeks 6 and 12, then every 3 months with CRP
and ESR; a lymphocyte or neutrophil count in a "persistent" band schedules its repeat a week
later (see thresholds.py for "persistent").

A drug is monitored only while it is given: a stop or a switch to another drug ends its
schedule, the new drug's starts from its first dose; an interruption keeps the schedule going
unless it lasts RESTART_AFTER_DAYS (default 28) or more, and then the restart starts the early
checks again. A test is done when each of its analytes has a result within ±7 days of its due
date (a repeat: from its due date to 7 days after); with some of them only it is partial, and
names what is missing. "LFTs" is ALT or AST (as §6.7's rule reads) and bilirubin.
"""

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils import formats
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

GUIDELINE = "SPARN JAKi guideline"

# What each test needs: one result for each group (a group is satisfied by any of its analytes).
GROUPS = {
    "bloods": (
        ("hb",),
        ("wcc",),
        ("neutrophils",),
        ("lymphocytes",),
        ("platelets",),
        ("creatinine",),
        ("alt", "ast"),
        ("bilirubin",),
        ("crp",),
        ("esr",),
    ),
    "lipids": (("cholesterol",), ("triglycerides",)),
    "bk_jc": (("bk_plasma",), ("bk_urine",), ("jc_plasma",), ("jc_urine",)),
    "bk_viral_load": (("bk_plasma",),),
    "repeat_neutrophils": (("neutrophils",),),
    "repeat_lymphocytes": (("lymphocytes",),),
}
# Panels and the analytes that show a panel was taken.
PANELS = {panel: {a for group in groups for a in group} for panel, groups in GROUPS.items()}
PANEL_SETS = {panel: frozenset(analytes) for panel, analytes in PANELS.items()}
REPEATS = {"repeat_neutrophils", "repeat_lymphocytes"}
# §5.4: (stop below, reduce below) ×10⁹/L, as in thresholds.TOFA_BANDS.
TOFA_REPEAT_BELOW = {"lymphocytes": Decimal("0.75"), "neutrophils": Decimal("1.0")}
RUN_GAP = timedelta(days=28)  # thresholds.PERSISTENT_WITHIN: a longer gap starts a new run

# What each panel is called on the pages and in the emails.
PANEL_LABELS = {
    "bloods": _("Blood count, kidney and liver tests, CRP and ESR"),
    "lipids": _("Cholesterol and triglycerides"),
    "bk_jc": _("BK and JC virus PCR, plasma and urine"),
    "bk_viral_load": _("BK viral load"),
    "repeat_neutrophils": _("Neutrophils, repeated"),
    "repeat_lymphocytes": _("Lymphocytes, repeated"),
}


def panel_label(panel: str) -> str:
    return str(PANEL_LABELS.get(panel, panel))


def _fill(template, values: dict) -> str:
    return str(template) % values


# A reason is worded when it is shown, in the reader's language, not when it is computed.
_worded = lazy(_fill, str)
_day = lazy(lambda day: formats.date_format(day, "SHORT_DATE_FORMAT"), str)
_number = lazy(lambda value: formats.number_format(value, use_l10n=True), str)
REPEAT_WORDS = {"neutrophils": _("Neutrophils"), "lymphocytes": _("Lymphocytes")}


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
    repeat_after_days: int = 7  # §5.4 "persistent a week later"
    done_within_days: int = 7
    restart_after_days: int = 28  # an interruption this long: the restart starts again
    horizon_days: int = 120  # how far ahead the schedule is listed


@dataclass(frozen=True)
class Course:
    """One prescription: drug, start, mg/day, whether the dose is high (at or above the
    escalation table's dose: BK/JC monitoring), whether it is a stop."""

    drug: str
    start: date
    total_mg: Decimal
    escalation: bool = False
    stopped: bool = False


@dataclass(frozen=True)
class Due:
    panel: str
    due: date
    reason: str  # lazy: worded in the language it is shown in
    source: str
    done_on: date | None = None
    analytes: frozenset = field(default_factory=frozenset)
    missing: tuple[tuple[str, ...], ...] = ()  # the groups without a result in the window

    @property
    def done(self) -> bool:
        return self.done_on is not None

    @property
    def panel_label(self) -> str:
        return panel_label(self.panel)

    @property
    def partial(self) -> bool:
        """Some of the test's analytes have a result in the window, not all."""
        return not self.done and len(self.missing) < len(GROUPS[self.panel])


def _weeks(start: date, weeks: int) -> date:
    return start + timedelta(weeks=weeks)


def _week(week: int):
    return _worded(_("week %(week)s"), {"week": week})


@dataclass(frozen=True)
class Episode:
    """A span during which DRUG is followed: from its first dose to END (exclusive)."""

    drug: str
    start: date
    end: date
    courses: tuple[Course, ...]  # the courses with a dose, in order


def episodes(courses: list[Course], today: date, settings: Settings = Settings()) -> list[Episode]:
    """The episodes of every drug: a stop or a switch ends one; an interruption of
    RESTART_AFTER_DAYS or more (until the next course, or today if it goes on) ends it at its
    start, and the restart begins a new one."""
    ordered = sorted(courses, key=lambda c: c.start)
    out: list[Episode] = []
    current: list[Course] = []
    for i, course in enumerate(ordered):
        following = ordered[i + 1].start if i + 1 < len(ordered) else None
        if course.total_mg > 0 and (not current or course.drug == current[0].drug):
            current.append(course)
            continue
        if current:
            gap = ((following or today) - course.start).days
            if (
                course.total_mg > 0  # a switch
                or course.stopped
                or gap >= settings.restart_after_days
            ):
                out.append(Episode(current[0].drug, current[0].start, course.start, tuple(current)))
                current = []
        if course.total_mg > 0:
            current = [course]
    if current:
        out.append(Episode(current[0].drug, current[0].start, date.max, tuple(current)))
    return out


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


def _baricitinib(
    episode: Episode, results: list, settings: Settings, until: date
) -> list[tuple[str, date, str, str]]:
    source = f"{GUIDELINE} §6.7"
    items = _from_first_dose(
        episode.start,
        settings.baricitinib_weeks,
        {settings.baricitinib_lipid_week},
        settings.baricitinib_every_weeks,
        source,
        until,
    )
    given = episode.courses
    for previous, course in zip(given, given[1:], strict=False):
        if course.total_mg > previous.total_mg:
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
    # BK/JC every 3 months through each run of high-dose courses.
    span_start = None
    for i, course in enumerate(given):
        if course.escalation and span_start is None:
            span_start = course.start
        last = i + 1 == len(given)
        if span_start is not None and (last or not given[i + 1].escalation):
            span_end = episode.end if last else given[i + 1].start
            week = settings.bk_every_weeks
            while _weeks(span_start, week) < span_end and _weeks(span_start, week) <= until:
                items.append(
                    (
                        "bk_jc",
                        _weeks(span_start, week),
                        _("high dose: every 3 months"),
                        f"{GUIDELINE} §6.8",
                    )
                )
                week += settings.bk_every_weeks
            span_start = None
    bk = sorted(
        (d, v) for a, d, v in results if a == "bk_plasma" and episode.start <= d < episode.end
    )
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
    return items


def _tofacitinib(
    episode: Episode, results: list, settings: Settings, until: date
) -> list[tuple[str, date, str, str]]:
    source = f"{GUIDELINE} §5.4"
    items = _from_first_dose(
        episode.start,
        settings.tofacitinib_weeks,
        set(settings.tofacitinib_weeks),
        settings.tofacitinib_every_weeks,
        source,
        until,
    )
    for analyte, below in TOFA_REPEAT_BELOW.items():
        series = sorted((d, v) for a, d, v in results if a == analyte and d < episode.end)
        for i, (sampled, value) in enumerate(series):
            if sampled < episode.start or value >= below:
                continue
            before = series[i - 1] if i else None
            starts_run = before is None or before[1] >= below or sampled - before[0] > RUN_GAP
            if starts_run:
                items.append(
                    (
                        f"repeat_{analyte}",
                        sampled + timedelta(days=settings.repeat_after_days),
                        _worded(
                            _("%(analyte)s below %(below)s on %(day)s: repeat a week later"),
                            {
                                "analyte": REPEAT_WORDS[analyte],
                                "below": _number(below),
                                "day": _day(sampled),
                            },
                        ),
                        source,
                    )
                )
    return items


def schedule(
    courses: list[Course],
    results: list[tuple[str, date, Decimal]],
    today: date,
    settings: Settings = Settings(),
) -> list[Due]:
    """The due tests from the first dose up to today + the horizon, each marked done or not.

    results: (analyte, sample date, value) of the child's lab results (BK loads unrounded).
    """
    until = today + timedelta(days=settings.horizon_days)
    items: list[tuple[str, date, object, str]] = []
    for episode in episodes([c for c in courses if c.start <= until], today, settings):
        if episode.drug == "baricitinib":
            found = _baricitinib(episode, results, settings, until)
        elif episode.drug == "tofacitinib":
            found = _tofacitinib(episode, results, settings, until)
        else:
            continue
        items += [item for item in found if item[1] < episode.end]

    # One test per panel and day: the first reason wins.
    unique: dict[tuple[str, date], tuple[object, str]] = {}
    for panel, due, reason, source in items:
        unique.setdefault((panel, due), (reason, source))
    window = timedelta(days=settings.done_within_days)
    sampled: dict[str, list[date]] = {}
    for a, d, _v in results:
        sampled.setdefault(a, []).append(d)
    sampled = {a: sorted(set(ds)) for a, ds in sampled.items()}
    out = []
    used: set[tuple[str, str, date]] = set()  # a sample counts for one test of a panel only
    for (panel, due), (reason, source) in sorted(unique.items(), key=lambda kv: kv[0][1]):
        low = due if panel in REPEATS else due - window
        chosen: dict[tuple, tuple[str, date]] = {}
        for group in GROUPS[panel]:
            candidates = []
            for analyte in group:
                dates = sampled.get(analyte, [])
                for d in dates[bisect_left(dates, low) :]:
                    if d > due + window:
                        break
                    if (panel, analyte, d) not in used:
                        candidates.append((d, analyte))
                        break
            if candidates:
                d, analyte = min(candidates)
                chosen[group] = (analyte, d)
        missing = tuple(g for g in GROUPS[panel] if g not in chosen)
        done_on = None
        if not missing:
            done_on = max(d for _a, d in chosen.values())
            used.update((panel, a, d) for a, d in chosen.values())
        out.append(Due(panel, due, reason, source, done_on, PANEL_SETS[panel], missing))
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
    low_counts: set[date] = frozenset(),
) -> bool:
    """Whether any test can be due OFFSET days before DAY (for some offset), from the course
    STARTS, the dates of BK viral loads of 3 or more and of LOW_COUNTS (tofacitinib's
    lymphocytes or neutrophils in a "persistent" band: their repeat) alone. Every due date is
    a whole number of weeks after one of those, at a week number the settings allow, so this cheap
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
    if any(
        (day - sampled).days - off == settings.repeat_after_days
        for sampled in low_counts
        for off in offsets
    ):
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
