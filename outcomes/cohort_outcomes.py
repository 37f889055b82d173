"""Every outcome the NIH study analysed by phase (DOMAIN §6; Sanchez 2018, Figures 1B, 2, 4A,
5A and 5C/D), for a cohort: per phase the children's n, median (IQR), the least-squares mean
with its SE, Satterthwaite df and 95% CI from `value ~ phase + (1 | child)` (REML), and the
paired comparisons between phases.

Each child counts once per phase with the mean of its values in the phase: its daily diary
scores, its prednisone-equivalent mg/kg/day, its CRP, IP-10 or interferon-score results, its
height or weight SDS, its visit assessments. Interferon scores of different assays are never
pooled (DOMAIN §10): each assay is analysed apart. Three queries whatever the cohort's size
(results, measurements, assessments); the diary and steroid means come from cohort_sql.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings

from diary.models import GrowthMeasurement, VisitAssessment
from outcomes import stats
from outcomes.models import Analyte, LabResult

PHASES = (1, 2, 3, 4)
NAMES = (
    "score",
    "steroid_mg_per_kg",
    "crp",
    "ip10",
    "ifn_score",
    "height_z",
    "weight_z",
    "ags_scale",
    "physician_global",
    "parent_global",
)
MODEL = "value ~ phase + (1 | child), REML; 95% CI with Satterthwaite degrees of freedom"
LABS = {"crp": Analyte.CRP, "ip10": Analyte.IP10, "ifn_score": Analyte.IFN_SCORE}
GROWTH = {"height_z": "height_sds", "weight_z": "weight_sds"}
ASSESSMENTS = ("ags_scale", "physician_global", "parent_global")
# What each outcome is, its unit and the figure of the NIH paper that reported it.
ABOUT = {
    "score": ("mean daily diary score", "points", "Fig. 1B"),
    "steroid_mg_per_kg": ("prednisone-equivalent dose", "mg/kg/day", "Fig. 1B"),
    "crp": ("CRP, mean of the phase's results", "mg/L", "Fig. 5A"),
    "ip10": ("serum IP-10, mean of the phase's results", "pg/mL", "Fig. 5C"),
    "ifn_score": ("interferon score, mean of the phase's results, one assay", "score", "Fig. 5D"),
    "height_z": ("height SDS, mean of the phase's measurements", "SDS", "Fig. 4A"),
    "weight_z": ("weight SDS, mean of the phase's measurements", "SDS", "Fig. 4A"),
    "ags_scale": ("AGS Scale (0–11), mean of the phase's visits", "points", "DOMAIN §3"),
    "physician_global": ("physician's global assessment (100 = worst)", "mm", "Fig. 2"),
    "parent_global": ("parent's global assessment (100 = worst)", "mm", "Fig. 2"),
}
NO_ASSAY = "assay not stated"


@dataclass
class OutcomePhase:
    phase: int
    n_children: int = 0
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    ls_mean: float | None = None
    se: float | None = None
    df: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None


@dataclass
class Outcome:
    name: str
    phases: list[OutcomePhase]
    comparisons: list[stats.Paired]
    child_means: dict  # child → {phase: value}
    assay: str | None = None
    by_assay: list["Outcome"] = field(default_factory=list)
    change: stats.Change | None = None
    note: str | None = None
    suppressed: int = 0

    @property
    def label(self) -> str:
        return ABOUT[self.name][0]

    @property
    def unit(self) -> str:
        return ABOUT[self.name][1]


def phase_of(result, day: date) -> int | None:
    """The phase of a result or measurement sampled on DAY. Phase 1 covers every day before the
    first dose (within PHASE1_BASELINE_DAYS when set), not only the diary's days: a baseline
    blood test is often taken before the family starts the diary."""
    if day > result.cutoff:
        return None
    window = settings.PHASE1_BASELINE_DAYS
    if result.first_dose is None or day < result.first_dose:
        anchor = result.first_dose or result.cutoff + timedelta(days=1)
        if window is not None and day < anchor - timedelta(days=window):
            return None
        return 1
    for number in (2, 3, 4):
        interval = result.intervals.get(number)
        if interval is not None and interval.start <= day <= interval.end:
            return number
    return None


def _means(samples: dict) -> dict:
    """{child: {phase: [values]}} → {child: {phase: mean}}."""
    return {
        pk: {phase: sum(values) / len(values) for phase, values in by_phase.items()}
        for pk, by_phase in samples.items()
    }


def _suppressed(min_cell: int) -> str:
    return f"suppressed: fewer than {min_cell} children"


def analyse(name: str, means: dict, comparisons, min_cell: int = 0, **extra) -> Outcome:
    """The per-phase spread and LS means of MEANS ({child: {phase: value}}), and the paired
    comparisons; cells of 1 to MIN_CELL − 1 children suppressed."""
    model = stats.mixed_model(
        [(pk, phase, value) for pk, by_phase in means.items() for phase, value in by_phase.items()]
    )
    rows, suppressed = [], 0
    for phase in PHASES:
        spread = stats.spread([m[phase] for m in means.values() if phase in m])
        ls = model.ls_means.get(phase)
        reason = ls.reason if ls else (model.reason or stats.NOT_ENOUGH)
        if min_cell and 0 < spread.n < min_cell:
            rows.append(OutcomePhase(phase, reason=_suppressed(min_cell)))
            suppressed += 1
            continue
        row = OutcomePhase(phase, spread.n, spread.median, spread.q1, spread.q3, reason=reason)
        if ls is not None:
            row.ls_mean, row.se, row.df = ls.estimate, ls.se, ls.df
            row.ci_low, row.ci_high = ls.ci_low, ls.ci_high
        rows.append(row)
    paired = [stats.paired_tests(means, a, b) for a, b in comparisons]
    if min_cell:
        hidden = [p for p in paired if 0 < p.n < min_cell]
        suppressed += len(hidden)
        paired = [
            stats.Paired(p.phase_a, p.phase_b, 0, reason=_suppressed(min_cell))
            if p in hidden
            else p
            for p in paired
        ]
    return Outcome(name, rows, paired, means, suppressed=suppressed, **extra)


def _lab_samples(ids, phase_map) -> tuple[dict, dict]:
    """{outcome: {child: {phase: [values]}}} for CRP and IP-10, and {assay: {...}} for the
    interferon score (one query)."""
    labs: dict = {name: defaultdict(lambda: defaultdict(list)) for name in ("crp", "ip10")}
    ifn: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    by_analyte = {analyte: name for name, analyte in LABS.items()}
    for child_id, analyte, day, value, assay in (
        LabResult.objects.filter(child_id__in=ids, analyte__in=list(by_analyte))
        .order_by()
        .values_list("child_id", "analyte", "sample_date", "value", "assay")
    ):
        phase = phase_of(phase_map[child_id], day)
        if phase is None:
            continue
        name = by_analyte[analyte]
        if name == "ifn_score":
            ifn[assay.strip() or NO_ASSAY][child_id][phase].append(float(value))
        else:
            labs[name][child_id][phase].append(float(value))
    return labs, ifn


def _growth(ids, phase_map) -> tuple[dict, dict]:
    """{outcome: {child: {phase: [SDS]}}}, and {child: [(date, height SDS)]} (one query)."""
    samples: dict = {name: defaultdict(lambda: defaultdict(list)) for name in GROWTH}
    heights: dict = defaultdict(list)
    for child_id, day, height, weight in (
        GrowthMeasurement.objects.filter(child_id__in=ids)
        .exclude(height_sds__isnull=True, weight_sds__isnull=True)
        .order_by("date")
        .values_list("child_id", "date", "height_sds", "weight_sds")
    ):
        result = phase_map[child_id]
        if height is not None and day <= result.cutoff:
            heights[child_id].append((day, height))
        phase = phase_of(result, day)
        if phase is None:
            continue
        for name, value in (("height_z", height), ("weight_z", weight)):
            if value is not None:
                samples[name][child_id][phase].append(value)
    return samples, heights


def height_change(heights: dict, phase_map: dict) -> stats.Change:
    """Height SDS before treatment (the last before the first dose) against the last visit's
    (the last measured on treatment up to the cut-off), one-sided paired t-test as NIH
    Figure 4A (alternative: the SDS rose)."""
    pairs = []
    for pk, series in heights.items():
        first_dose = phase_map[pk].first_dose
        if first_dose is None:
            continue
        before = [(d, v) for d, v in series if d < first_dose and phase_of(phase_map[pk], d) == 1]
        after = [(d, v) for d, v in series if d >= first_dose]
        if before and after:
            pairs.append((before[-1][1], after[-1][1]))
    return stats.paired_change(pairs, alternative="greater")


def _assessments(ids, phase_map) -> dict:
    samples: dict = {name: defaultdict(lambda: defaultdict(list)) for name in ASSESSMENTS}
    for child_id, day, *values in (
        VisitAssessment.objects.filter(child_id__in=ids)
        .order_by()
        .values_list("child_id", "date", *ASSESSMENTS)
    ):
        phase = phase_of(phase_map[child_id], day)
        if phase is None:
            continue
        for name, value in zip(ASSESSMENTS, values, strict=True):
            if value is not None:
                samples[name][child_id][phase].append(float(value))
    return samples


def _interferon(ifn: dict, comparisons, min_cell: int) -> Outcome:
    """The interferon score of the assay with the most children, and every assay apart in
    `by_assay`. A researcher's summary names assays by number (an assay's name is free text)."""
    ordered = sorted(ifn, key=lambda a: (-len(ifn[a]), a))
    labels = {assay: assay for assay in ordered}
    if min_cell:
        labels = {assay: f"assay {i}" for i, assay in enumerate(sorted(ifn), 1)}
    each = [
        analyse("ifn_score", _means(ifn[assay]), comparisons, min_cell, assay=labels[assay])
        for assay in ordered
    ]
    note = "interferon scores of different assays are never pooled (DOMAIN §10)"
    if not each:
        empty = analyse("ifn_score", {}, comparisons, min_cell, note=note)
        empty.note = f"{stats.NOT_ENOUGH}: no interferon score recorded; {note}"
        return empty
    main = each[0]
    if len(each) > 1:
        note += (
            f"; this is the assay with the most children ({main.assay}), every assay is in by_assay"
        )
    return Outcome(
        "ifn_score",
        main.phases,
        main.comparisons,
        main.child_means,
        assay=main.assay,
        by_assay=each,
        note=note,
        suppressed=sum(o.suppressed for o in each),
    )


def cohort_outcomes(
    children, phase_map: dict, scores: dict, steroids: dict, comparisons, min_cell: int = 0
) -> dict[str, Outcome]:
    """Every outcome of NAMES for CHILDREN, in that order. SCORES and STEROIDS: the per-child
    phase means already computed (cohort_sql)."""
    ids = [c.pk for c in children]
    labs, ifn = _lab_samples(ids, phase_map)
    growth, heights = _growth(ids, phase_map)
    visits = _assessments(ids, phase_map)
    means = {
        "score": scores,
        "steroid_mg_per_kg": steroids,
        **{name: _means(samples) for name, samples in labs.items()},
        **{name: _means(samples) for name, samples in growth.items()},
        **{name: _means(samples) for name, samples in visits.items()},
    }
    out = {}
    for name in NAMES:
        if name == "ifn_score":
            out[name] = _interferon(ifn, comparisons, min_cell)
            continue
        outcome = analyse(name, means[name], comparisons, min_cell)
        if not any(means[name].values()):
            outcome.note = f"{stats.NOT_ENOUGH}: nothing recorded for this outcome"
        out[name] = outcome
    change = height_change(heights, phase_map)
    if min_cell and 0 < change.n < min_cell:
        change = stats.Change(0, reason=_suppressed(min_cell))
        out["height_z"].suppressed += 1
    out["height_z"].change = change
    return out
