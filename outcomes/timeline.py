"""A child's timeline as plain series, one value per calendar day: what the chart draws, what
its CSV holds and what the tests check. Pure: the child's data, phases and results in, lists
out; no drawing and no database.

Truthful by construction: a day without a record is None (a gap, "not recorded"), never
interpolated; a recorded 0 is 0. Doses are mg/kg/day with that day's weight (DOMAIN §4), by the
same per-day rule as the phase tables (summaries.ChildData.per_kg_on).
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from diary import assessments
from diary.growth import GrowthReference
from outcomes import thresholds
from outcomes.phases import NAMES, Phases
from outcomes.summaries import ChildData

MEAN_DAYS, MEAN_MINIMUM = 7, 4  # the 7-day mean needs 4 scored days of the 7
PHONE_DAYS = 90  # the phone's chart: the last 90 days


@dataclass(frozen=True)
class Result:
    """One result on the timeline; LIMIT is its own upper limit where it has one (a CRP's
    upper limit of normal, an interferon score's positivity threshold)."""

    date: date
    value: float
    limit: float | None = None


@dataclass(frozen=True)
class Series:
    """A further series drawn in a panel (the growth panel's weight SDS beside its height SDS)."""

    column: str  # its column in the CSV
    name: str  # its name in the legend and the page's table
    points: list[tuple[date, float]]


@dataclass(frozen=True)
class Panel:
    """One series under the doses (or a few on one scale): points, with limits drawn across
    the panel."""

    key: str
    column: str  # its column in the CSV
    label: str  # the axis label (two short lines)
    points: list[tuple[date, float]]
    lines: list[tuple[float, str, str]] = ()  # (value, severity, text naming its source)
    above: list[bool] = ()  # per point: above its own limit
    ceiling: float = 0.0  # the axis shows at least up to here
    floor: float = 0.0  # ...and down to here (an SDS is as often below 0 as above)
    name: str = ""  # the first series' name, where the panel has others
    others: tuple[Series, ...] = ()
    zones: tuple[tuple[float, float, str], ...] = ()  # named ranges (the AGS Scale's bands)
    note: str = ""  # said in the panel (the growth reference the SDS are against)
    texts: tuple[tuple[str, tuple[tuple[date, str], ...]], ...] = ()  # CSV-only text columns

    @property
    def series(self) -> list[Series]:
        return [Series(self.column, self.name or self.label, self.points), *self.others]

    @property
    def columns(self) -> list[str]:
        return [s.column for s in self.series] + [column for column, _cells in self.texts]

    def since(self, start: date, end: date | None = None) -> "Panel":
        """The panel with only the points from START (to END); a growth panel's note names
        the references of those only."""

        def keep(day: date) -> bool:
            return day >= start and (end is None or day <= end)

        kept = [i for i, (d, _v) in enumerate(self.points) if keep(d)]
        texts = tuple(
            (column, tuple((d, t) for d, t in cells if keep(d))) for column, cells in self.texts
        )
        references = dict(texts).get("growth_reference")
        return replace(
            self,
            points=[self.points[i] for i in kept],
            above=[self.above[i] for i in kept] if self.above else (),
            others=tuple(
                replace(s, points=[(d, v) for d, v in s.points if keep(d)]) for s in self.others
            ),
            note=self.note if references is None else reference_note(list(references)),
            texts=texts,
        )

    def rows(self) -> list[tuple[date, list[float | None]]]:
        """One row per day with a value of any series: (day, [each series' value or None])."""
        found = [dict(s.points) for s in self.series]
        days = sorted({d for s in self.series for d, _v in s.points})
        return [(day, [values.get(day) for values in found]) for day in days]

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


@dataclass(frozen=True)
class PhaseBand:
    number: int
    name: str
    start: date
    end: date


@dataclass
class Timeline:
    """Series over DAYS (every calendar day from START to END); None: nothing to draw."""

    start: date
    end: date
    days: list[date]
    score: list[float | None]
    mean7: list[float | None]
    weight: list[float | None]  # the weight each day's mg/kg uses
    jaki: list[float | None]  # JAK inhibitor given, mg/kg/day
    jaki_prescribed: list[float | None]
    steroid: list[float | None]  # prednisone equivalent given, mg/kg/day
    diary: list[bool]  # a diary entry that day (the days the phase tables count)
    phases: list[PhaseBand]
    panels: list[Panel] = field(default_factory=list)
    doses_recorded: bool = False  # any JAK-inhibitor or steroid record, or prescription
    treated_from: date | None = None  # the first JAK-inhibitor prescription
    # Each day's JAK-inhibitor doses in words (the phone's chart): "given" (as prescribed or
    # more), "missed" (less), "not_recorded", "none_prescribed" (an interruption or a stop);
    # None before the first prescription.
    dose_status: list[str | None] = field(default_factory=list)

    @property
    def missing_weight(self) -> bool:
        """Doses are recorded but no weight: no mg/kg/day can be drawn (said on the chart)."""
        return self.doses_recorded and all(w is None for w in self.weight)

    def gaps(self, series: str) -> list[tuple[date, date]]:
        """The runs of days without a record of SERIES ("jaki" or "steroid"), first and last
        day: within its records' span — the JAK inhibitor from its first prescription, the
        steroid from the first recorded day — to the end of the timeline."""
        if self.missing_weight:
            return []
        values = getattr(self, series)
        begin = self.treated_from if series == "jaki" else self._first_recorded(values)
        if begin is None:
            return []
        runs, run_start = [], None
        for day, value in zip(self.days, values, strict=True):
            if day < begin:
                continue
            if value is None and run_start is None:
                run_start = day
            elif value is not None and run_start is not None:
                runs.append((run_start, day - timedelta(days=1)))
                run_start = None
        if run_start is not None:
            runs.append((run_start, self.end))
        return runs

    def _first_recorded(self, values) -> date | None:
        return next((d for d, v in zip(self.days, values, strict=True) if v is not None), None)

    def phase_means(self, series: str) -> dict[int, float]:
        """{phase: mean of SERIES over the phase's diary days} — the days the phase tables
        average over, so these equal the tables' means."""
        out = {}
        for band in self.phases:
            values = [
                v
                for d, v, recorded in zip(self.days, getattr(self, series), self.diary, strict=True)
                if recorded and band.start <= d <= band.end and v is not None
            ]
            if values:
                out[band.number] = sum(values) / len(values)
        return out

    def last(self, days: int) -> "Timeline":
        """The same timeline cut to its last DAYS days (the phone's chart)."""
        if len(self.days) <= days:
            return self
        cut = len(self.days) - days
        start = self.days[cut]
        return Timeline(
            start,
            self.end,
            self.days[cut:],
            self.score[cut:],
            self.mean7[cut:],
            self.weight[cut:],
            self.jaki[cut:],
            self.jaki_prescribed[cut:],
            self.steroid[cut:],
            self.diary[cut:],
            [
                PhaseBand(b.number, b.name, max(b.start, start), b.end)
                for b in self.phases
                if b.end >= start
            ],
            [_clip(p, start) for p in self.panels],
            self.doses_recorded,
            self.treated_from,
            self.dose_status[cut:],
        )


def _clip(panel: Panel, start: date) -> Panel:
    return panel.since(start)


def rolling_mean(score: list[float | None]) -> list[float | None]:
    """Each day's mean of the scores of its last 7 calendar days, where 4 of them exist."""
    out, window_sum, window_n = [], 0.0, 0
    for i, value in enumerate(score):
        if value is not None:
            window_sum, window_n = window_sum + value, window_n + 1
        if i >= MEAN_DAYS and score[i - MEAN_DAYS] is not None:
            window_sum, window_n = window_sum - score[i - MEAN_DAYS], window_n - 1
        out.append(window_sum / window_n if window_n >= MEAN_MINIMUM else None)
    return out


def build(
    data: ChildData,
    phases: Phases,
    panels: list[Panel] = (),
    start: date | None = None,
    end: date | None = None,
) -> Timeline:
    """The child's series from START (default: the first record) to END (default: the
    phases' cut-off)."""
    end = end or phases.cutoff
    scores = {day: score for day, score, *_rest in data.entries}
    prescribed = sorted(data.doses, key=lambda d: d.start)
    treated_from = prescribed[0].start if prescribed else None
    if start is None:
        firsts = [
            min(scores, default=None),
            min(data.jaki_mg, default=None),
            min(data.steroid_mg, default=None),
            treated_from,
            *(i.start for i in phases.intervals.values() if i is not None),
        ]
        start = min([d for d in firsts if d is not None] + [end])
    start = min(start, end)  # a range asked for after the cut-off: its last day
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    score, weight, jaki, jaki_prescribed, steroid, diary, status = [], [], [], [], [], [], []
    for day in days:
        in_diary = day in scores
        recorded = in_diary or day in data.jaki_mg or day in data.steroid_mg
        steroid_kg, jaki_kg = data.per_kg_on(day, recorded)
        kilos = data.weight_on(day)
        dose = data.prescribed_on(day)
        score.append(scores.get(day))
        diary.append(in_diary)
        weight.append(kilos)
        steroid.append(steroid_kg)
        jaki.append(jaki_kg)
        jaki_prescribed.append(float(dose.total_mg) / kilos if dose and kilos else None)
        status.append(_dose_status(dose, data.jaki_mg.get(day)))
    bands = [
        PhaseBand(number, str(NAMES[number]), max(interval.start, start), min(interval.end, end))
        for number, interval in phases.intervals.items()
        if interval is not None and interval.end >= start and interval.start <= end
    ]
    return Timeline(
        start,
        end,
        days,
        score,
        rolling_mean(score),
        weight,
        jaki,
        jaki_prescribed,
        steroid,
        diary,
        bands,
        [_clip(p, start) for p in panels],
        bool(data.jaki_mg or data.steroid_mg or prescribed),
        treated_from,
        status,
    )


def _dose_status(dose, given) -> str | None:
    if dose is None:
        return None
    if dose.total_mg <= 0:
        return "none_prescribed"
    if given is None:
        return "not_recorded"
    return "given" if given >= dose.total_mg else "missed"


# --- The panels under the doses ---------------------------------------------------------------


def _n(value) -> str:
    return number_format(Decimal(str(value)).normalize(), use_l10n=True)


def panel(
    key: str,
    column: str,
    label: str,
    results: list[Result] | None,
    lines: list[tuple] = (),
    ceiling: float = 0.0,
    *,
    floor: float = 0.0,
    name: str = "",
    others: list[tuple[str, str, list[Result] | None]] = (),
    zones: list[tuple[float, float, str]] = (),
    note: str = "",
    texts: list[tuple[str, list[tuple[date, str]]]] = (),
) -> Panel | None:
    """One panel of RESULTS, or None when the child has none; points above their own limit
    are marked. OTHERS, (column, name, results), are drawn on the same scale. Adding a series
    to the chart (and its CSV) is one call of this in `panels`."""
    series = tuple(
        Series(c, n, [(r.date, float(r.value)) for r in sorted(found, key=lambda r: r.date)])
        for c, n, found in others
        if found
    )
    if not results and not series:
        return None
    ordered = sorted(results or (), key=lambda r: r.date)
    lines = [(float(v), severity, text) for v, severity, text in lines]
    return Panel(
        key,
        column,
        label,
        [(r.date, float(r.value)) for r in ordered],
        lines,
        [r.limit is not None and r.value > r.limit for r in ordered],
        max([ceiling, *(v * 1.25 for v, _s, _t in lines)]),
        min([floor, *(v * 1.25 for v, _s, _t in lines)]),
        name,
        series,
        tuple(zones),
        note,
        tuple((c, tuple(sorted(cells))) for c, cells in texts),
    )


def ags_scale_zones() -> list[tuple[float, float, str]]:
    """The AGS Scale's severity bands as named ranges (AGS_SCALE_BANDS: unconfirmed defaults
    severe 0–3, moderate 4–8, attenuated 9–11)."""
    return [
        (low - 0.5, high + 0.5, f"{assessments.BAND_LABELS.get(band, band)} {low}–{high}")
        for band, (low, high) in settings.AGS_SCALE_BANDS.items()
    ]


def growth_lines() -> list[tuple]:
    return [
        (-2, "reference", _("−2 SDS (2nd centile)")),
        (2, "reference", _("+2 SDS (98th centile)")),
    ]


def reference_note(references: list[tuple[date, str]]) -> str:
    """The growth references the SDS were computed against, in the order they were used."""
    names = []
    for _day, code in sorted(references):
        label = str(GrowthReference(code).label) if code in GrowthReference.values else code
        if label and label not in names:
            names.append(label)
    return _("SDS against %(references)s") % {"references": "; ".join(names)} if names else ""


def _own_limits(results: list[Result] | None, text: str) -> list[tuple]:
    """A line at each distinct limit the results carry (usually one: the laboratory's)."""
    limits = sorted({r.limit for r in results or () if r.limit is not None})
    return [(limit, "limit", text % {"limit": _n(limit)}) for limit in limits]


def egfr_lines() -> list[tuple]:
    return [
        (40, "adjust", _("eGFR 40: consider stopping or adjusting (SPARN §6.7)")),
        (120, "reference", _("eGFR 120: dosing table threshold (SPARN §6.2b)")),
    ]


def panels(
    results: dict[str, list[Result]], drug: str, growth_references: list[tuple[date, str]] = ()
) -> list[Panel]:
    """The panels of the series the child has, in the chart's order: disease activity (CRP,
    interferon score, IP-10), the AGS Scale, growth SDS (height and weight, against the
    GROWTH_REFERENCES of their measurement days), then the blood counts and eGFR against
    DRUG's guideline limits."""
    limits = thresholds.chart_lines(drug)
    found = [
        panel(
            "crp",
            "crp_mg_l",
            _("CRP\nmg/L"),
            results.get("crp"),
            _own_limits(results.get("crp"), _("CRP %(limit)s: the laboratory's upper limit")),
        ),
        panel(
            "ifn_score",
            "ifn_score",
            _("interferon\nscore"),
            results.get("ifn_score"),
            _own_limits(results.get("ifn_score"), _("interferon score %(limit)s: positive above")),
        ),
        panel("ip10", "ip10_pg_ml", _("IP-10\npg/mL"), results.get("ip10")),
        panel(
            "ags_scale",
            "ags_scale",
            _("AGS Scale\n0–11"),
            results.get("ags_scale"),
            ceiling=assessments.AGS_SCALE_MAX,
            zones=ags_scale_zones(),
        ),
        panel(
            "growth_sds",
            "height_sds",
            _("growth\nSDS"),
            results.get("height_sds"),
            growth_lines(),
            name=_("height SDS"),
            others=[("weight_sds", _("weight SDS"), results.get("weight_sds"))],
            note=reference_note(growth_references),
            texts=[("growth_reference", list(growth_references))],
        ),
        panel("hb", "hb_g_dl", _("Hb\ng/dL"), results.get("hb"), limits.get("hb", [])),
        panel(
            "neutrophils",
            "neutrophils_10e9_l",
            _("neutrophils\n×10⁹/L"),
            results.get("neutrophils"),
            limits.get("neutrophils", []),
        ),
        panel(
            "lymphocytes",
            "lymphocytes_10e9_l",
            _("lymphocytes\n×10⁹/L"),
            results.get("lymphocytes"),
            limits.get("lymphocytes", []),
        ),
        panel(
            "egfr",
            "egfr_ml_min_1_73m2",
            _("eGFR"),
            results.get("egfr"),
            egfr_lines(),
            ceiling=160,
        ),
    ]
    return [p for p in found if p is not None]


# --- The chart's data as a table -------------------------------------------------------------


def _cell(value: float | None, places: int = 4):
    return "" if value is None else round(value, places)


def table(timeline: Timeline) -> tuple[list[str], list[list]]:
    """The header and one row per day of TIMELINE (an empty cell: not recorded), results on
    their sample days: the chart's data as a spreadsheet reads it."""
    header = [
        "date",
        "phase",
        "phase_name",
        "daily_score",
        "score_7_day_mean",
        "weight_kg",
        "jaki_given_mg_per_kg",
        "jaki_prescribed_mg_per_kg",
        "steroid_prednisone_mg_per_kg",
        *(column for p in timeline.panels for column in p.columns),
    ]
    phase_of = {}
    for band in timeline.phases:
        for n in range((band.end - band.start).days + 1):
            phase_of[band.start + timedelta(days=n)] = band
    # Each panel's columns in the header's order: its series (numbers), then its texts.
    by_day = []
    for p in timeline.panels:
        by_day += [(dict(s.points), True) for s in p.series]
        by_day += [(dict(cells), False) for _column, cells in p.texts]
    rows = []
    for i, day in enumerate(timeline.days):
        band = phase_of.get(day)
        rows.append(
            [
                day.isoformat(),
                band.number if band else "",
                band.name if band else "",
                _cell(timeline.score[i]),
                _cell(timeline.mean7[i]),
                _cell(timeline.weight[i], 2),
                _cell(timeline.jaki[i]),
                _cell(timeline.jaki_prescribed[i]),
                _cell(timeline.steroid[i]),
                *(
                    _cell(cells.get(day), 3) if number else cells.get(day, "")
                    for cells, number in by_day
                ),
            ]
        )
    return header, rows
