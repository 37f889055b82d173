"""Made-up blood results for the demo and the benchmarks. Tests are taken when the monitoring
schedule asks for them (outcomes.schedule), a few days either side of the due date, plus a
baseline panel two weeks before the first dose; values are in the usual childhood ranges."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from outcomes import schedule

# analyte: (low, high, unit, upper limit of normal or None, decimals)
NORMAL = {
    "hb": (10.8, 13.6, "g/dL", None, 1),
    "wcc": (5.0, 11.0, "×10⁹/L", None, 1),
    "neutrophils": (1.8, 6.0, "×10⁹/L", None, 2),
    "lymphocytes": (1.4, 4.5, "×10⁹/L", None, 2),
    "platelets": (180, 420, "×10⁹/L", None, 0),
    "alt": (10, 35, "U/L", 40, 0),
    "ast": (15, 42, "U/L", 50, 0),
    "bilirubin": (3, 12, "µmol/L", 21, 0),
    "crp": (0.5, 6, "mg/L", 5, 1),  # the laboratory's upper limit: the response rule reads it
    "esr": (2, 15, "mm/h", None, 0),
    "cholesterol": (3.2, 4.9, "mmol/L", None, 1),
    "triglycerides": (0.6, 1.5, "mmol/L", None, 1),
    "bk_plasma": (0, 2.2, "log10 copies/mL", None, 1),
    "bk_urine": (0, 2.8, "log10 copies/mL", None, 1),
    "jc_plasma": (0, 1.5, "log10 copies/mL", None, 1),
    "jc_urine": (0, 2.0, "log10 copies/mL", None, 1),
}
BASELINE_DAYS = 14  # the pre-treatment panel (SPARN §6.1: do not start below the limits)


@dataclass(frozen=True)
class Sample:
    sample_date: date
    analyte: str
    value: Decimal
    unit: str
    uln: Decimal | None = None


def _value(analyte: str, rng: random.Random, height_cm: float) -> tuple:
    if analyte == "creatinine":
        # About 0.3 × height (µmol/L) gives an eGFR near 120 with the bedside Schwartz formula.
        return Decimal(str(round(height_cm * rng.uniform(0.26, 0.34), 1))), "µmol/L", None
    low, high, unit, uln, places = NORMAL[analyte]
    value = round(rng.uniform(low, high), places)
    return (
        Decimal(str(value)),
        unit,
        Decimal(uln) if uln is not None else None,
    )


def samples(
    prescriptions: list[dict],
    heights: list[tuple[date, Decimal]],
    today: date,
    seed: str,
    skip: tuple[date, date] | None = None,
    weights: list[tuple[date, Decimal]] | None = None,
) -> list[Sample]:
    """The results of every test due before TODAY for a course of PRESCRIPTIONS (the rows of
    diary.synthetic.History), except tests due within SKIP (to leave some overdue). BK/JC
    tests follow the dose for the child's WEIGHTS and the eGFR the made-up creatinines give."""
    from outcomes import treatment

    rng = random.Random(seed)
    rows = [
        (p["drug"], p["start_date"], p["morning_mg"] + p["afternoon_mg"] + p["evening_mg"], p)
        for p in prescriptions
    ]
    if not rows:
        return []
    plain = [schedule.Course(d, s, t, False, p["reason"] == "stop") for d, s, t, p in rows]
    first = min(c.start for c in plain)
    settings = treatment.schedule_settings()
    wanted = [("bloods", first - timedelta(days=BASELINE_DAYS))]
    wanted += _wanted(plain, today, skip, rng, settings)
    taken: set = set()
    out = _draw(wanted, heights, today, rng, taken)
    egfrs = []
    for sample in out:
        if sample.analyte == "creatinine":
            height = treatment.guideline.weight_on(sample.sample_date, heights)
            if height:
                egfr = treatment.guideline.schwartz_egfr(height, sample.value).value
                egfrs.append((sample.sample_date, egfr))
    courses = [
        treatment.schedule_course(d, s, t, p["reason"], weights or [], egfrs) for d, s, t, p in rows
    ]
    extra = [w for w in _wanted(courses, today, skip, rng, settings) if w[0] == "bk_jc"]
    return out + _draw(extra, heights, today, rng, taken)


def _wanted(courses, today, skip, rng, settings) -> list[tuple[str, date]]:
    wanted = []
    for item in schedule.schedule(courses, [], today, settings):
        if item.due >= today or (skip and skip[0] <= item.due <= skip[1]):
            continue
        wanted.append((item.panel, item.due + timedelta(days=rng.randint(-3, 3))))
    return wanted


def _draw(wanted, heights, today, rng, taken) -> list[Sample]:
    out = []
    for panel, sampled in sorted(wanted, key=lambda w: w[1]):
        sampled = min(sampled, today - timedelta(days=1))
        earlier = [float(h) for d, h in heights if d <= sampled]
        height = earlier[-1] if earlier else float(heights[0][1]) if heights else 95.0
        analytes = sorted(schedule.PANELS[panel])
        # One sample counts for one test: tests due close together get a sample each.
        while any((sampled, a) in taken for a in analytes):
            sampled += timedelta(days=1)
        for analyte in analytes:
            taken.add((sampled, analyte))
            value, unit, uln = _value(analyte, rng, height)
            out.append(Sample(sampled, analyte, value, unit, uln))
    return out
