"""From the database to the statistics: per child and phase, and for a cohort.

Queries are set-based (a handful per call, whatever the number of children or days); the
arithmetic is in stats.py and the phase rules in phases.py.
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import formats
from django.utils.translation import gettext as _

from diary import instruments
from diary.instruments import Instrument
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
)
from outcomes import cohort_outcomes, cohort_sql, guideline, stats
from outcomes.models import Analyte, LabResult
from outcomes.phases import Dose, Phases, phases

PHASES = (1, 2, 3, 4)


@dataclass
class ChildData:
    """Everything recorded about one child that the summaries need, as plain values."""

    child: Child
    entries: list[tuple]  # (date, score, skin, fever, scores)
    doses: list[Dose]
    weights: list[tuple[date, Decimal]]
    steroid_mg: dict[date, Decimal]  # prednisone-equivalent mg per day
    jaki_mg: dict[date, Decimal]  # JAK inhibitor mg given per day

    def phases(self, cutoff: date | None = None) -> Phases:
        cutoff = cutoff or self.child.final_visit_date or self.child.today()
        first = self.entries[0][0] if self.entries else None
        return phases(
            self.doses, cutoff, first, self.child.optimal_dose_date, settings.PHASE1_BASELINE_DAYS
        )

    @cached_property
    def _weight_index(self) -> tuple[list[date], list[float]]:
        known = sorted((d, float(w)) for d, w in self.weights if w is not None)
        return [d for d, _w in known], [w for _d, w in known]

    def weight_on(self, day: date) -> float | None:
        """guideline.weight_on (DOMAIN §4: on or most recently before DAY, else the nearest
        after) by bisection, for the thousands of days of a timeline."""
        days, kilos = self._weight_index
        if not days:
            return None
        i = bisect_right(days, day)
        return kilos[i - 1] if i else kilos[0]

    @cached_property
    def _prescribed_index(self) -> tuple[list[date], list[Dose]]:
        ordered = sorted(self.doses, key=lambda d: d.start)
        return [d.start for d in ordered], ordered

    def prescribed_on(self, day: date) -> Dose | None:
        """The prescription in force on DAY (the latest started on or before it)."""
        starts, ordered = self._prescribed_index
        i = bisect_right(starts, day)
        return ordered[i - 1] if i else None

    def per_kg_on(self, day: date, recorded: bool) -> tuple[float | None, float | None]:
        """(steroid, JAK inhibitor) mg/kg/day on DAY with that day's weight, unrounded; None
        where it is not known. RECORDED: the family recorded the day (a diary entry, doses).

        JAK inhibitor: the doses recorded as given (0 when all were missed); on a day of an
        interruption or after a stop (a prescription of 0 mg/day) 0, which the prescription
        records; otherwise not recorded. Steroid (prednisone equivalent): the doses recorded;
        on a recorded day without one 0; otherwise not recorded. The phase tables and the
        timeline both read their days from here."""
        weight = self.weight_on(day)
        if not weight:
            return None, None
        steroid = self.steroid_mg.get(day)
        if steroid is not None:
            steroid_per_kg = float(steroid) / weight
        else:
            steroid_per_kg = 0.0 if recorded else None
        given = self.jaki_mg.get(day)
        if given is not None:
            jaki_per_kg = float(given) / weight
        else:
            prescribed = self.prescribed_on(day)
            stopped = prescribed is not None and prescribed.total_mg <= 0
            jaki_per_kg = 0.0 if stopped else None
        return steroid_per_kg, jaki_per_kg

    def days(self, last: date | None = None) -> list[stats.Day]:
        """One Day per recorded diary day (steroid and JAK-inhibitor doses as mg/kg)."""
        out = []
        for day, score, skin, fever, _scores in self.entries:
            if last is not None and day > last:
                continue
            # Unrounded: the phase means are taken over these.
            steroid, jaki = self.per_kg_on(day, recorded=True)
            out.append(stats.Day(day, score, skin, fever, steroid, jaki))
        return out


def _doses(ids: list[int]) -> dict[int, list[Dose]]:
    """{child: prescribed doses} of the children IDS (one query)."""
    doses = defaultdict(list)
    for child_id, start, m, a, e, drug in Prescription.objects.filter(child_id__in=ids).values_list(
        "child_id", "start_date", "morning_mg", "afternoon_mg", "evening_mg", "drug"
    ):
        doses[child_id].append(Dose(start, m + a + e, drug))
    return doses


def load(children) -> dict[int, ChildData]:
    """ChildData for CHILDREN in six queries, whatever their number."""
    children = list(children)
    ids = [c.pk for c in children]
    entries = defaultdict(list)
    for child_id, day, score, subscores, fever, scores in (
        DiaryEntry.objects.filter(child_id__in=ids)
        .order_by("child_id", "date")
        .values_list("child_id", "date", "score", "subscores", "fever", "scores")
    ):
        entries[child_id].append((day, score, (subscores or {}).get("skin"), fever, scores))
    doses = _doses(ids)
    weights = defaultdict(list)
    for child_id, day, kg in (
        GrowthMeasurement.objects.filter(child_id__in=ids, weight_kg__isnull=False)
        .order_by("date")
        .values_list("child_id", "date", "weight_kg")
    ):
        weights[child_id].append((day, kg))
    steroid = defaultdict(lambda: defaultdict(Decimal))
    for child_id, day, drug, mg in SteroidDose.objects.filter(child_id__in=ids).values_list(
        "child_id", "date", "drug", "mg"
    ):
        steroid[child_id][day] += guideline.prednisone_equivalent(drug, mg)
    jaki = defaultdict(lambda: defaultdict(Decimal))
    for child_id, day, mg in DoseAdministration.objects.filter(child_id__in=ids).values_list(
        "child_id", "date", "given_mg"
    ):
        jaki[child_id][day] += mg
    return {
        c.pk: ChildData(
            c, entries[c.pk], doses[c.pk], weights[c.pk], dict(steroid[c.pk]), dict(jaki[c.pk])
        )
        for c in children
    }


@dataclass
class ChildSummary:
    phases: Phases
    summaries: list[stats.PhaseSummary]
    item_means: dict[int, dict[str, float]]  # phase → item → mean score

    def by_phase(self) -> dict[int, stats.PhaseSummary]:
        return {s.phase: s for s in self.summaries}


def summarise(data: ChildData, cutoff: date | None = None) -> ChildSummary:
    result = data.phases(cutoff)
    days = data.days(result.cutoff)
    summaries = []
    item_means: dict[int, dict[str, float]] = {}
    for number in PHASES:
        interval = result.intervals[number]
        summaries.append(
            stats.phase_summary(
                number,
                interval.start if interval else None,
                interval.end if interval else None,
                days,
            )
        )
        if interval:
            sums, counts = defaultdict(float), defaultdict(int)
            for day, _score, _skin, _fever, scores in data.entries:
                if interval.start <= day <= interval.end:
                    for key, value in (scores or {}).items():
                        sums[key] += value
                        counts[key] += 1
            item_means[number] = {k: sums[k] / counts[k] for k in sums}
    return ChildSummary(result, summaries, item_means)


def child_summary(child: Child, cutoff: date | None = None) -> ChildSummary:
    return summarise(load([child])[child.pk], cutoff)


# --- Cohort ----------------------------------------------------------------------------------


@dataclass
class PhaseRow(cohort_outcomes.OutcomePhase):
    """The daily score's phase, with the steroid dose's spread beside it."""

    steroid_n: int = 0
    steroid_median: float | None = None
    steroid_q1: float | None = None
    steroid_q3: float | None = None


@dataclass
class CohortSummary:
    instrument: str
    cutoff: date | None
    n_children: int
    phases: list[PhaseRow]
    comparisons: list[stats.Paired]
    responders: int | None
    response_criteria: dict
    child_means: dict = field(default_factory=dict)  # child pk → {phase: mean}
    suppressed: int = 0
    outcomes: dict = field(default_factory=dict)  # name → cohort_outcomes.Outcome


def per_child_means(data: dict[int, ChildData], cutoff: date | None):
    """{child: {phase: mean daily score}} and the same for steroid mg/kg/day."""
    scores, steroids = {}, {}
    for pk, child_data in data.items():
        summary = summarise(child_data, cutoff)
        scores[pk] = {s.phase: s.mean for s in summary.summaries if s.mean is not None}
        steroids[pk] = {
            s.phase: s.steroid_mg_per_kg
            for s in summary.summaries
            if s.steroid_mg_per_kg is not None
        }
    return scores, steroids


def cohort_phases(children, cutoff: date | None = None) -> dict[int, Phases]:
    """Each child's phases, in two queries whatever the number of children."""
    ids = [c.pk for c in children]
    doses = _doses(ids)
    # One index probe per child, rather than grouping every entry of the cohort.
    first_entry = DiaryEntry.objects.filter(child=OuterRef("pk")).order_by("date").values("date")
    firsts = dict(
        Child.objects.filter(pk__in=ids)
        .annotate(first=Subquery(first_entry[:1]))
        .values_list("pk", "first")
    )
    return {
        c.pk: phases(
            doses[c.pk],
            cutoff or c.final_visit_date or c.today(),
            firsts.get(c.pk),
            c.optimal_dose_date,
            settings.PHASE1_BASELINE_DAYS,
        )
        for c in children
    }


def cohort_means(children, cutoff: date | None = None, phase_map: dict | None = None):
    """{child: {phase: mean daily score}} and {child: {phase: steroid mg/kg/day}}, computed by
    the database (cohort_sql): the same numbers summarise() gives child by child. PHASE_MAP:
    cohort_phases() when already computed."""
    if phase_map is None:
        phase_map = cohort_phases(children, cutoff)
    intervals = [
        (pk, number, interval.start, interval.end)
        for pk, result in phase_map.items()
        for number, interval in result.intervals.items()
        if interval is not None
    ]
    scores = {c.pk: {} for c in children}
    steroids = {c.pk: {} for c in children}
    for pk, by_phase in cohort_sql.phase_means(intervals).items():
        for phase, (mean, _count, steroid) in by_phase.items():
            if mean is not None:
                scores[pk][phase] = mean
            if steroid is not None:
                steroids[pk][phase] = steroid
    return scores, steroids


NIH_SCALE_MAX = 4  # the NIH diaries: items 0–4, daily score their mean


def response_rule(instrument: Instrument) -> dict:
    """The clinical-response rule for INSTRUMENT's diary, on its own scale (DOMAIN §6; the NIH
    remission rule, unconfirmed). The NIH's threshold is for 0–4 mean-scored diaries; another
    scale takes the threshold set for it (RESPONSE_MAX_SCORE_BY_INSTRUMENT), else the same
    fraction of its maximum."""
    scale = instrument.max_score
    configured = settings.RESPONSE_MAX_SCORE_BY_INSTRUMENT.get(instrument.key)
    if configured is not None:
        threshold = configured
        basis = _("set for this diary (RESPONSE_MAX_SCORE_BY_INSTRUMENT)")
    elif instrument.rule == "mean" and scale == NIH_SCALE_MAX:
        threshold, basis = settings.RESPONSE_MAX_SCORE, _("NIH rule for 0–4 mean-scored diaries")
    else:
        threshold = settings.RESPONSE_MAX_SCORE * scale / NIH_SCALE_MAX
        basis = _(
            "NIH rule (%(nih)s on a 0–%(nih_max)s mean score) scaled to this diary’s 0–%(max)s "
            "score"
        ) % {
            "nih": formats.number_format(settings.RESPONSE_MAX_SCORE, use_l10n=True),
            "nih_max": NIH_SCALE_MAX,
            "max": scale,
        }
    return {
        "instrument": instrument.key,
        "instrument_version": instrument.version,
        "score_scale": [0, scale],
        "max_mean_score": threshold,
        "basis": basis,
    }


def crp_normal_in_phase(children, phase_map: dict, phase: int = 4) -> dict[int, bool | None]:
    """{child: every CRP sampled in PHASE is at or below its own upper limit of normal}; None
    when the child has no CRP in the phase, or one without an upper limit (one query)."""
    intervals = {pk: result.intervals.get(phase) for pk, result in phase_map.items()}
    found: dict[int, list] = defaultdict(list)
    for child_id, day, value, uln in LabResult.objects.filter(
        child_id__in=[pk for pk, i in intervals.items() if i], analyte=Analyte.CRP
    ).values_list("child_id", "sample_date", "value", "uln"):
        interval = intervals[child_id]
        if interval.start <= day <= interval.end:
            found[child_id].append(None if uln is None else value <= uln)
    return {
        pk: (None if not found[pk] or None in found[pk] else all(found[pk])) for pk in intervals
    }


def cohort_summary(
    children,
    instrument: str = "ags",
    cutoff: date | None = None,
    comparisons=((1, 4), (1, 3), (2, 4)),
    min_cell: int = 0,
) -> CohortSummary:
    """The NIH-style cohort summary of the CHILDREN who keep the INSTRUMENT's diary (scores of
    different instruments are not on one scale). Cells counting fewer than MIN_CELL children
    (1–4 for researchers, DOMAIN §9) are suppressed."""
    children = [c for c in children if c.get_instrument().key == instrument]
    phase_map = cohort_phases(children, cutoff)
    scores, steroids = cohort_means(children, cutoff, phase_map)
    model = stats.mixed_model(
        [(pk, phase, mean) for pk, means in scores.items() for phase, mean in means.items()]
    )
    rows, suppressed = [], 0
    for phase in PHASES:
        values = [m[phase] for m in scores.values() if phase in m]
        spread = stats.spread(values)
        steroid = stats.spread([m[phase] for m in steroids.values() if phase in m])
        ls = model.ls_means.get(phase)
        reason = ls.reason if ls else (model.reason or stats.NOT_ENOUGH)
        row = PhaseRow(
            phase,
            spread.n,
            spread.median,
            spread.q1,
            spread.q3,
            ls.estimate if ls else None,
            ls.se if ls else None,
            ls.df if ls else None,
            ls.ci_low if ls else None,
            ls.ci_high if ls else None,
            reason=reason,
            steroid_n=steroid.n,
            steroid_median=steroid.median,
            steroid_q1=steroid.q1,
            steroid_q3=steroid.q3,
        )
        if min_cell and 0 < spread.n < min_cell:
            suppressed += 1
            row = PhaseRow(phase, reason=f"suppressed: fewer than {min_cell} children")
        rows.append(row)
    paired = [stats.paired_tests(scores, a, b) for a, b in comparisons]
    if min_cell:
        suppressed_reason = f"suppressed: fewer than {min_cell} children"
        paired = [
            p
            if not 0 < p.n < min_cell
            else stats.Paired(p.phase_a, p.phase_b, 0, reason=suppressed_reason)
            for p in paired
        ]
    rule = response_rule(instruments.get(instrument))
    criteria = {
        "phase": 4,
        **rule,
        "max_prednisone_mg_per_kg": settings.RESPONSE_MAX_PREDNISONE,
        "crp_normal": "every CRP sampled in phase 4 at or below its own upper limit of normal",
    }
    crp = crp_normal_in_phase(children, phase_map)
    score_and_prednisone = [
        pk
        for pk, means in scores.items()
        if 4 in means
        and means[4] < rule["max_mean_score"]
        and steroids.get(pk, {}).get(4, 0) < settings.RESPONSE_MAX_PREDNISONE
    ]
    responders = sum(1 for pk in score_and_prednisone if crp.get(pk) is True)
    without_crp = sum(1 for pk in score_and_prednisone if crp.get(pk) is None)
    partial = len(score_and_prednisone)
    if min_cell and 0 < responders < min_cell:
        responders, suppressed = None, suppressed + 1
    if min_cell and 0 < without_crp < min_cell:
        without_crp, suppressed = None, suppressed + 1
    if min_cell and 0 < partial < min_cell:
        partial, suppressed = None, suppressed + 1
    criteria["children_meeting_score_and_prednisone"] = partial
    criteria["children_without_crp"] = without_crp
    outcomes = cohort_outcomes.cohort_outcomes(
        children, phase_map, scores, steroids, comparisons, min_cell
    )
    suppressed += sum(o.suppressed for name, o in outcomes.items() if name != "score")
    return CohortSummary(
        instrument,
        cutoff,
        len(children),
        rows,
        paired,
        responders,
        criteria,
        child_means=scores,
        suppressed=suppressed,
        outcomes=outcomes,
    )


def _phase_statistics(r, number) -> dict:
    """A phase's n, median (IQR) and least-squares mean with its SE, df and 95% CI, as JSON
    (NUMBER rounds)."""
    return {
        "phase": r.phase,
        "n_children": r.n_children,
        "median": number(r.median),
        "q1": number(r.q1),
        "q3": number(r.q3),
        "ls_mean": number(r.ls_mean),
        "se": number(r.se),
        "df": number(r.df),
        "ci_low": number(r.ci_low),
        "ci_high": number(r.ci_high),
    }


def as_dict(summary: CohortSummary) -> dict:
    """The summary as plain JSON-ready data (floats rounded to 6 places; None stays null)."""

    def number(value):
        return None if value is None else round(float(value), 6)

    def p_value(value):
        return None if value is None else float(f"{value:.6g}")

    return {
        "instrument": summary.instrument,
        "cutoff": summary.cutoff.isoformat() if summary.cutoff else None,
        "n_children": summary.n_children,
        "phases": [
            {
                **_phase_statistics(r, number),
                "steroid_mg_per_kg": {
                    "n_children": r.steroid_n,
                    "median": number(r.steroid_median),
                    "q1": number(r.steroid_q1),
                    "q3": number(r.steroid_q3),
                },
                "note": r.reason,
            }
            for r in summary.phases
        ],
        "comparisons": [
            {
                "phases": [p.phase_a, p.phase_b],
                "n": p.n,
                "mean_difference": number(p.mean_difference),
                "t": number(p.t),
                "df": p.df,
                "p_t_test": p_value(p.p_t),
                "wilcoxon_statistic": number(p.w),
                "wilcoxon_statistic_definition": stats.SIGNED_RANK_STATISTIC,
                "wilcoxon_v": number(p.v),
                "wilcoxon_v_definition": stats.SIGNED_RANK_V,
                "p_wilcoxon": p_value(p.p_wilcoxon),
                "note": p.reason,
            }
            for p in summary.comparisons
        ],
        "clinical_response": {
            "criteria": {
                k: v
                for k, v in summary.response_criteria.items()
                if k not in ("children_meeting_score_and_prednisone", "children_without_crp")
            },
            "children_meeting": summary.responders,
            "children_meeting_score_and_prednisone": summary.response_criteria[
                "children_meeting_score_and_prednisone"
            ],
            "children_meeting_score_and_prednisone_without_crp": summary.response_criteria[
                "children_without_crp"
            ],
        },
        "outcomes": {
            name: _outcome_dict(outcome, number, p_value)
            for name, outcome in summary.outcomes.items()
        },
        "suppressed_cells": summary.suppressed,
    }


def _comparison_dict(p: stats.Paired, number, p_value) -> dict:
    return {
        "phases": [p.phase_a, p.phase_b],
        "n": p.n,
        "mean_difference": number(p.mean_difference),
        "t": number(p.t),
        "df": p.df,
        "p_t_test": p_value(p.p_t),
        "wilcoxon_v": number(p.v),
        "p_wilcoxon": p_value(p.p_wilcoxon),
        "note": p.reason,
    }


def _outcome_dict(outcome, number, p_value) -> dict:
    """One outcome of cohort_outcomes as JSON: its phases, comparisons and notes."""
    out = {
        "label": outcome.label,
        "unit": outcome.unit,
        "model": cohort_outcomes.MODEL,
        "phases": [
            {
                **_phase_statistics(r, number),
                "note": r.reason,
            }
            for r in outcome.phases
        ],
        "comparisons": [_comparison_dict(p, number, p_value) for p in outcome.comparisons],
        "note": outcome.note,
    }
    if outcome.name == "ifn_score":
        out["assay"] = outcome.assay
        out["by_assay"] = [
            {
                "assay": o.assay,
                **{
                    k: v
                    for k, v in _outcome_dict(o, number, p_value).items()
                    if k in ("phases", "comparisons")
                },
            }
            for o in outcome.by_assay
        ]
    if outcome.change is not None:
        c = outcome.change
        out["change_before_treatment_to_last_visit"] = {
            "test": "one-sided paired t-test, H1: the SDS rose (NIH Figure 4A)",
            "n": c.n,
            "mean_before": number(c.mean_before),
            "mean_last_visit": number(c.mean_after),
            "mean_difference": number(c.mean_difference),
            "sd_difference": number(c.sd_difference),
            "t": number(c.t),
            "df": c.df,
            "p_one_sided": p_value(c.p_one_sided),
            "note": c.reason,
        }
    return out


CSV_COLUMNS = [
    "phase",
    "n_children",
    "median",
    "q1",
    "q3",
    "ls_mean",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "note",
]
