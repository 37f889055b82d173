"""Made-up visit data for the demo: the interferon biomarkers (serum IP-10, interferon score)
and the visit assessments (AGS Scale for AGS, physician's and parent's global assessments),
taken at a baseline visit before the first dose and every 12 weeks on treatment, improving on
treatment as the NIH study reported. Deterministic for a seed."""

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from diary import assessments

VISIT_WEEKS = 12
BASELINE_DAYS = 14
# Two assays, never pooled: most children have the 28-gene NanoString score, a few the 6-gene
# qPCR score (DOMAIN §10), each with its positivity threshold.
ASSAYS = {"28-gene NanoString": Decimal("12.5"), "6-gene qPCR": Decimal("2.466")}


@dataclass(frozen=True)
class Visit:
    day: date
    treated_days: int | None  # days since the first dose; None before it
    ip10: Decimal
    ifn_score: Decimal
    assay: str
    threshold: Decimal
    ags_items: dict | None
    physician_global: Decimal
    parent_global: Decimal


def visits(
    first_dose: date | None, start: date, today: date, diagnosis: str, seed: str
) -> list[Visit]:
    """The visits of a child whose records run from START, treated from FIRST_DOSE."""
    rng = random.Random(f"visits-{seed}")  # nosec B311
    qpcr = rng.random() < 0.25
    assay = "6-gene qPCR" if qpcr else "28-gene NanoString"
    days = []
    if first_dose is None:
        days = [start + timedelta(days=d) for d in range(30, (today - start).days, 180)]
    else:
        baseline = max(start, first_dose - timedelta(days=BASELINE_DAYS))
        days = [baseline]
        day = first_dose + timedelta(weeks=VISIT_WEEKS)
        while day < today:
            days.append(day)
            day += timedelta(weeks=VISIT_WEEKS)
    milestones = rng.randint(1, 7)  # AGS: achieved at baseline
    out = []
    for day in days:
        treated = None if first_dose is None or day < first_dose else (day - first_dose).days
        # 1 before treatment, falling towards 0.3 over about 4 months on it.
        level = 1.0 if treated is None else 0.3 + 0.7 * math.exp(-treated / 120)
        ifn_base = 6.0 if qpcr else 30.0
        items = None
        if diagnosis.startswith("AGS"):
            gained = 0 if treated is None else min(2, treated // 240)
            achieved = min(assessments.AGS_SCALE_MAX, milestones + gained)
            items = {key: int(i < achieved) for i, key in enumerate(assessments.ITEM_KEYS)}
        out.append(
            Visit(
                day,
                treated,
                Decimal(str(round(rng.uniform(900, 2200) * level, 0))),
                Decimal(str(round(rng.uniform(0.8, 1.2) * ifn_base * level, 2))),
                assay,
                ASSAYS[assay],
                items,
                Decimal(str(round(min(100, max(0, rng.gauss(70 * level, 8))), 0))),
                Decimal(str(round(min(100, max(0, rng.gauss(65 * level, 10))), 0))),
            )
        )
    return out
