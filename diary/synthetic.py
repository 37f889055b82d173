"""The synthetic cohort: the demo data of `seed_demo`, and (scaled up) the benchmarks' data.

Deterministic for a given seed, so a demo looks the same on every machine.
"""

from dataclasses import dataclass
from datetime import date


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


DEMO_SITES = [
    SiteSpec("north", "North Children's Hospital", "GB", "Europe/London"),
    SiteSpec("south", "Hôpital des Enfants du Sud", "FR", "Europe/Paris"),
]

DEMO_CHILDREN = [
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
    ),
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
    ),
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
    ),
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
    ),
]

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
