"""The synthetic cohort: the demo data of `seed_demo`, and (scaled up) the benchmarks' data.

Deterministic for a given seed, so a demo looks the same on every machine.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from diary import instruments


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    country: str
    timezone: str


@dataclass(frozen=True)
class ChildSpec:
    site: str
    reference: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str
    diagnosis: str
    genotype: str
    country: str
    timezone: str
    language: str
    consent_version: str = ""
    consent_date: date | None = None
    # The course, in days from the start of the diary: (day, drug, morning, afternoon, evening,
    # reason). Empty: never treated.
    course: tuple = ()
    weight_kg: float = 15.0  # at the start of the diary
    height_cm: float = 95.0
    infection_day: int | None = None  # a week of infection, treatment interrupted


DEMO_SITES = [
    SiteSpec("north", "North Children's Hospital", "GB", "Europe/London"),
    SiteSpec("south", "Hôpital des Enfants du Sud", "FR", "Europe/Paris"),
]

BARI = "baricitinib"

DEMO_CHILDREN = [
    # Escalation in three steps, then the optimal dose for a year.
    ChildSpec(
        "north",
        "N-001",
        "Amira",
        "Khan",
        date(2019, 3, 14),
        "F",
        "AGS2",
        "RNASEH2B c.529G>A homozygous",
        "GB",
        "Europe/London",
        "en",
        "2.1",
        date(2024, 5, 2),
        course=(
            (150, BARI, 2, 0, 2, "initial"),
            (178, BARI, 2, 2, 2, "escalation"),
            (206, BARI, 2, 4, 2, "escalation"),
        ),
        weight_kg=15.5,
        height_cm=98,
        infection_day=330,
    ),
    # Started recently and still escalating.
    ChildSpec(
        "north",
        "N-002",
        "Noah",
        "Evans",
        date(2021, 8, 2),
        "M",
        "AGS1",
        "TREX1 c.341G>A homozygous",
        "GB",
        "Europe/London",
        "en",
        "2.1",
        date(2024, 9, 20),
        course=((440, BARI, 2, 0, 2, "initial"), (500, BARI, 2, 2, 2, "escalation")),
        weight_kg=10.5,
        height_cm=80,
    ),
    # Interrupted for a serious infection, then restarted.
    ChildSpec(
        "north",
        "N-003",
        "Chloe",
        "Martin",
        date(2016, 11, 30),
        "F",
        "SAVI",
        "STING1 p.V155M heterozygous",
        "IE",
        "Europe/Dublin",
        "en",
        course=(
            (120, BARI, 4, 0, 2, "initial"),
            (200, BARI, 4, 0, 4, "escalation"),
            (330, BARI, 0, 0, 0, "interruption"),
            (341, BARI, 4, 0, 4, "restart"),
        ),
        weight_kg=29,
        height_cm=132,
        infection_day=330,
    ),
    ChildSpec(
        "south",
        "S-001",
        "Léa",
        "Bernard",
        date(2018, 6, 5),
        "F",
        "CANDLE",
        "PSMB8 p.T75M homozygous",
        "FR",
        "Europe/Paris",
        "fr",
        "1.0",
        date(2023, 2, 1),
        course=((90, BARI, 4, 0, 2, "initial"), (160, BARI, 4, 0, 4, "escalation")),
        weight_kg=24,
        height_cm=120,
    ),
    # Never treated.
    ChildSpec(
        "south",
        "S-002",
        "Hugo",
        "Petit",
        date(2020, 1, 22),
        "M",
        "AGS7",
        "IFIH1 p.R779H heterozygous",
        "FR",
        "Europe/Paris",
        "fr",
        weight_kg=14,
        height_cm=96,
    ),
]

DIARY_DAYS = 548  # 18 months

# username, first name, last name, language, links: (site, role) or (child reference, relationship)
DEMO_PEOPLE = [
    ("demo-parent", "Sara", "Khan", "en", [("child", "N-001", "mother")]),
    ("demo-parent2", "Owen", "Evans", "en", [("child", "N-002", "father")]),
    ("demo-clinician", "Dr Ruth", "Adams", "en", [("site", "north", "site_admin")]),
    ("demo-clinician2", "Dr Marc", "Leroy", "fr", [("site", "south", "site_admin")]),
    (
        "demo-researcher",
        "Priya",
        "Nair",
        "en",
        [("site", "north", "researcher"), ("site", "south", "researcher")],
    ),
]


# --- Generated histories ---------------------------------------------------------------------


@dataclass
class History:
    """Plain rows for one child, ready for bulk loading."""

    prescriptions: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    doses: list[dict] = field(default_factory=list)
    steroids: list[dict] = field(default_factory=list)
    growth: list[dict] = field(default_factory=list)


def _severity(
    day: int, spec: ChildSpec, first_dose: int | None, rng: random.Random, scale: float = 1.0
) -> float:
    """How unwell (0–1) the child is on DAY: high at baseline, easing on treatment; SCALE makes
    some children more affected than others."""
    level = 0.45 * scale
    if first_dose is not None and day >= first_dose:
        level = (0.12 + 0.33 * math.exp(-(day - first_dose) / 60)) * scale
    if spec.infection_day is not None and 0 <= day - spec.infection_day < 7:
        level += 0.3
    return min(1.0, max(0.0, rng.gauss(level, 0.07)))


def _scores(instrument, severity: float, rng: random.Random) -> dict[str, int]:
    return {
        item.key: max(0, min(item.max, round(rng.gauss(severity * item.max, 0.5))))
        for item in instrument.items
    }


def history(spec: ChildSpec, end: date, seed: int = 1, days: int = DIARY_DAYS) -> History:
    """Deterministic diary, doses, steroids and growth for SPEC over DAYS ending on END."""
    # Made-up demo data, not secrets: a seeded generator keeps it reproducible.
    rng = random.Random(f"{seed}-{spec.reference}")  # nosec B311
    instrument = instruments.get(instruments.default_for(spec.diagnosis))
    start = end - timedelta(days=days - 1)
    out = History()
    scale = rng.uniform(0.6, 1.4)
    first_dose = spec.course[0][0] if spec.course else None
    regimen = None
    course = list(spec.course)
    for day in range(days):
        when = start + timedelta(days=day)
        while course and course[0][0] <= day:
            _day, drug, morning, afternoon, evening, reason = course.pop(0)
            regimen = {
                "drug": drug,
                "start_date": when,
                "morning_mg": Decimal(morning),
                "afternoon_mg": Decimal(afternoon),
                "evening_mg": Decimal(evening),
                "reason": reason,
            }
            out.prescriptions.append(regimen)
        if day % 30 == 0:
            growth = day / 365
            out.growth.append(
                {
                    "date": when,
                    "weight_kg": Decimal(str(round(spec.weight_kg + 2.2 * growth, 1))),
                    "height_cm": Decimal(str(round(spec.height_cm + 6 * growth, 1))),
                }
            )
        ill = spec.infection_day is not None and 0 <= day - spec.infection_day < 7
        if regimen is not None:
            for slot in ("morning", "afternoon", "evening"):
                mg = regimen[f"{slot}_mg"]
                if mg > 0:
                    missed = rng.random() < 0.04
                    out.doses.append(
                        {
                            "date": when,
                            "slot": slot,
                            "drug": regimen["drug"],
                            "prescribed_mg": mg,
                            "status": "missed" if missed else "given",
                            "given_mg": Decimal(0) if missed else mg,
                        }
                    )
        # Prednisolone from before treatment, tapered once the JAK inhibitor works.
        if first_dose is None or day < first_dose + 240:
            taper = (
                1.0
                if first_dose is None or day < first_dose
                else max(0.25, 1 - (day - first_dose) / 240)
            )
            mg = round(spec.weight_kg * 0.4 * taper)
            if mg > 0:
                out.steroids.append({"date": when, "drug": "prednisolone", "mg": Decimal(mg)})
        if rng.random() < 0.1:  # a missed diary day
            continue
        severity = _severity(day, spec, first_dose, rng, scale)
        scores = _scores(instrument, severity, rng)
        # Fever comes in episodes, not every day a child is unwell.
        scores["fever"] = 2 if ill else (1 if rng.random() < severity * 0.15 else 0)
        result = instrument.score(scores)
        temperature = Decimal("38.9") if ill else None
        out.entries.append(
            {
                "date": when,
                "instrument_key": instrument.key,
                "instrument_version": instrument.version,
                "scores": scores,
                "score": result.value,
                "subscores": result.subscores,
                "answered": result.answered,
                "no_symptoms": not any(scores.values()),
                "fever": scores.get("fever", 0) > 0 or ill,
                "max_temperature": temperature,
                "illness": ill,
                "zoster": False,
                "note": "",
            }
        )
    return out


FIRST_NAMES = [
    "Ava",
    "Leo",
    "Mia",
    "Sami",
    "Iris",
    "Omar",
    "Lina",
    "Theo",
    "Nora",
    "Adam",
    "Zoe",
    "Yusuf",
    "Ella",
    "Jonas",
    "Maya",
    "Eli",
    "Ines",
    "Ravi",
    "Alba",
    "Finn",
]
AGS_GENES = [
    ("AGS1", "TREX1"),
    ("AGS2", "RNASEH2B"),
    ("AGS3", "RNASEH2C"),
    ("AGS4", "RNASEH2A"),
    ("AGS5", "SAMHD1"),
    ("AGS6", "ADAR"),
    ("AGS7", "IFIH1"),
]


def cohort_specs(
    n: int, seed: int = 7, days: int = DIARY_DAYS, sites=("north", "south"), prefix: str = "C"
) -> list[ChildSpec]:
    """N made-up children with AGS and varied courses: most escalate in one to three steps,
    about one in ten is never treated. Deterministic for a seed."""
    # Made-up demo data, not secrets: a seeded generator keeps it reproducible.
    rng = random.Random(seed)  # nosec B311
    specs = []
    for i in range(n):
        diagnosis, gene = rng.choice(AGS_GENES)
        age_days = rng.randint(365, 12 * 365)
        born = date(2026, 1, 1) - timedelta(days=age_days)
        weight = max(6.0, min(45.0, 6 + age_days / 365 * 2.6 + rng.gauss(0, 1.5)))
        course = ()
        if rng.random() > 0.1:
            start = rng.randint(30, max(31, days // 2))
            morning, evening = (2, 2) if weight < 20 else (4, 2)
            steps = [(start, BARI, morning, 0, evening, "initial")]
            for _step in range(rng.randint(0, 2)):
                start += rng.randint(28, 56)
                evening += 2
                steps.append((start, BARI, morning, 0, evening, "escalation"))
            course = tuple(steps)
        site = sites[i % len(sites)]
        consenting = rng.random() < 0.8
        specs.append(
            ChildSpec(
                site,
                f"{prefix}-{i + 1:04d}",
                FIRST_NAMES[i % len(FIRST_NAMES)],
                f"Cohort{i + 1}",
                born,
                rng.choice("FM"),
                diagnosis,
                gene,
                "GB" if site == "north" else "FR",
                "Europe/London" if site == "north" else "Europe/Paris",
                "en" if site == "north" else "fr",
                "2.1" if consenting else "",
                date(2024, 1, 1) if consenting else None,
                course=course,
                weight_kg=round(weight, 1),
                height_cm=round(60 + age_days / 365 * 7, 1),
                infection_day=rng.randint(60, days - 10) if rng.random() < 0.3 else None,
            )
        )
    return specs
