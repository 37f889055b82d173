"""The de-identification rules of the research export (DOMAIN §9), as pure functions.

Pseudonyms are keyed HMAC-SHA256 of the study code and the child, so they are stable within a
study, differ between studies, and cannot be recomputed without the key (settings.PSEUDONYM_KEY,
never stored in the database nor written to an export). Dates become days from the first
JAK-inhibitor dose, or are shifted back by 0–364 days per child (derived from the pseudonym, with
the key, so the shift cannot be recomputed from the export). The cut-off is rounded down to a data
freeze (a month's last day) and each child's record ends a keyed 0–2×bound days before it, so no
set of exports dates any event more precisely than ±bound (settings.EXPORT_DATE_UNCERTAINTY_DAYS).
The quasi-identifiers (age band, sex, genotype, country) are made k-anonymous by generalising
genotype to disease group, then country to region, and suppressing whoever still shares a
combination with fewer than k children.
"""

import hashlib
import hmac
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from diary.models import disease_group

DEFAULT_K = 5
SMALL_CELL = 5  # aggregate counts of 1–4 children are suppressed
AGE_CAP = 90  # HIPAA Safe Harbor: ages of 90 and over are one category
AGE_BAND_YEARS = 5
SHIFT_DAYS = 365  # shifts are 0–364 days
PSEUDONYM_LENGTH = 16  # hex characters: 64 bits, no collision in any realistic cohort

# Separates these HMAC messages from any other use of the same key.
_PSEUDONYM_DOMAIN = b"ags-research-pseudonym"
_SHIFT_DOMAIN = b"ags-research-date-shift"
_END_DOMAIN = b"ags-research-record-end"


def _key_bytes(key: str | bytes) -> bytes:
    if not key:
        raise ValueError("the pseudonym key is empty")
    return key if isinstance(key, bytes) else key.encode()


def pseudonym(key: str | bytes, study: str, child_id: int | str) -> str:
    """The child's pseudonym in STUDY: the same for every export of the study, unrelated
    across studies, and not computable without KEY."""
    message = b"\x1f".join((_PSEUDONYM_DOMAIN, study.encode(), str(child_id).encode()))
    digest = hmac.new(_key_bytes(key), message, hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_LENGTH]


def _keyed_int(key: str | bytes, domain: bytes, child_pseudonym: str) -> int:
    message = b"\x1f".join((domain, child_pseudonym.encode()))
    digest = hmac.new(_key_bytes(key), message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def end_span(bound: int) -> int:
    """How many days (at most) a child's record ends before the freeze: 2 × BOUND, so the
    last exported day lies anywhere in a window BOUND days either side of its midpoint."""
    return 2 * bound


def end_offset(key: str | bytes, child_pseudonym: str, span: int) -> int:
    """Days (0–SPAN) before the freeze at which this child's exported record ends: the same in
    every export of the study, so repeated exports agree and cannot be averaged."""
    return _keyed_int(key, _END_DOMAIN, child_pseudonym) % (span + 1)


def date_shift(key: str | bytes, child_pseudonym: str, span: int = 0) -> int:
    """Days (0–364) by which all of one child's dates move back. Keyed: a reader of the export
    who knows the pseudonym still cannot undo the shift.

    The last shifted day of a child who records daily is freeze − end offset − shift, so the
    shift is drawn as U − end offset with U uniform in SPAN–364: whatever U a reader works
    out, the shift stays uncertain by the whole 0–SPAN of the end offset."""
    if not 0 <= span < SHIFT_DAYS:
        raise ValueError("the span must be 0–364 days")
    u = span + _keyed_int(key, _SHIFT_DOMAIN, child_pseudonym) % (SHIFT_DAYS - span)
    return u - end_offset(key, child_pseudonym, span)


def freeze(cutoff: date) -> date:
    """The data freeze of a cut-off: the last day of a month on or before it. Every cut-off
    within a month gives the same export, so exports a day apart cannot be differenced."""
    following = cutoff + timedelta(days=1)
    if following.month != cutoff.month:
        return cutoff
    return cutoff.replace(day=1) - timedelta(days=1)


def record_end(key: str | bytes, child_pseudonym: str, cutoff: date, span: int) -> date:
    """The last day of this child's record in an export with CUTOFF."""
    return freeze(cutoff) - timedelta(days=end_offset(key, child_pseudonym, span))


def shifted(day: date, shift: int) -> date:
    return day - timedelta(days=shift)


def relative_day(day: date, day0: date) -> int:
    """Days from DAY0 (the first JAK-inhibitor dose is day 0; the day before is -1)."""
    return (day - day0).days


def age_label(years: int) -> str:
    """The exported age: whole years, with 90 and over as one category."""
    return f"{AGE_CAP}+" if years >= AGE_CAP else str(years)


def age_band(years: int) -> str:
    """Five-year band ("0-4", "5-9", …), 90 and over as one."""
    if years >= AGE_CAP:
        return f"{AGE_CAP}+"
    low = max(0, years) // AGE_BAND_YEARS * AGE_BAND_YEARS
    return f"{low}-{low + AGE_BAND_YEARS - 1}"


# UN M49 continental regions by ISO 3166-1 alpha-2 code.
_REGIONS = {
    "Africa": (
        "DZ AO BJ BW BF BI CV CM CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY "
        "MG MW ML MR MU YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD TZ TG TN UG EH ZM ZW "
        "IO TF"
    ),
    "Americas": (
        "AI AG AR AW BS BB BZ BM BO BQ BV BR CA KY CL CO CR CU CW DM DO EC SV FK GF GL GD GP GT "
        "GY HT HN JM MQ MX MS NI PA PY PE PR BL KN LC MF PM VC SX GS SR TT TC US UM UY VE VG VI"
    ),
    "Asia": (
        "AF AM AZ BH BD BT BN KH CN CY GE HK IN ID IR IQ IL JP JO KZ KW KG LA LB MO MY MV MN MM "
        "NP KP OM PK PS PH QA SA SG KR LK SY TW TJ TH TL TR TM AE UZ VN YE"
    ),
    "Europe": (
        "AX AL AD AT BY BE BA BG HR CZ DK EE FO FI FR DE GI GR GG VA HU IS IE IM IT JE LV LI LT "
        "LU MT MD MC ME NL MK NO PL PT RO RU SM RS SK SI ES SJ SE CH UA GB XK"
    ),
    "Oceania": (
        "AS AU CX CC CK FJ PF GU HM KI MH FM NR NC NZ NU NF MP PW PG PN WS SB TK TO TV VU WF"
    ),
    "Antarctica": "AQ",
}
REGION = {code: region for region, codes in _REGIONS.items() for code in codes.split()}
REGIONS = (*_REGIONS, "Other")


def region(country: str) -> str:
    return REGION.get(country.upper(), "Other")


# --- k-anonymity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QuasiIdentifiers:
    """What could single a child out when combined: the values before any generalisation.
    Everything released per child in children.csv is one of these (exact age, consent version
    and the like are not released)."""

    age_band: str
    sex: str
    genotype: str  # the diagnosis subtype, e.g. AGS2 (never the variant)
    country: str  # ISO 3166-1 alpha-2
    instrument: str = ""  # the diary used: its items show in every diary row, never blanked
    treated: bool = True  # a JAK inhibitor by the end of the record: doses.csv shows it


# How far a child's quasi-identifiers were generalised before they shared a class with k-1
# others, least first: one cell suppressed (genotype, whose disease group stays; then country,
# whose region stays), both, then the age band widened to 10 years, then blanked, then sex.
NOT_GENERALISED = "none"
GENOTYPE = "genotype"
COUNTRY = "country"
GENOTYPE_AND_COUNTRY = "genotype+country"
AGE_DECADE = "genotype+country+age10"
AGE = "genotype+country+age"
SEX = "genotype+country+age+sex"
LEVELS = (NOT_GENERALISED, GENOTYPE, COUNTRY, GENOTYPE_AND_COUNTRY, AGE_DECADE, AGE, SEX)
ONE_CELL = (GENOTYPE, COUNTRY)


@dataclass(frozen=True)
class Released:
    """A child's quasi-identifiers as exported: a suppressed field is empty and its coarser
    column (disease group, region) carries the information."""

    age_band: str
    sex: str
    genotype: str
    disease_group: str
    country: str
    region: str
    instrument: str
    treated: bool
    level: str

    @property
    def equivalence_class(self) -> tuple:
        """Every released value, the level included: k children share each."""
        return (
            self.age_band,
            self.sex,
            self.genotype,
            self.disease_group,
            self.country,
            self.region,
            self.instrument,
            self.treated,
            self.level,
        )


def decade(band: str) -> str:
    """A five-year band widened to ten years ("5-9" → "0-9", "10-14" → "10-19")."""
    if band.endswith("+"):
        return band
    low = int(band.split("-")[0]) // 10 * 10
    return f"{low}-{low + 9}"


def generalise(qi: QuasiIdentifiers, level: str) -> Released:
    index = LEVELS.index(level)
    genotype = "" if level in (GENOTYPE, GENOTYPE_AND_COUNTRY) or index > 3 else qi.genotype
    country = "" if level in (COUNTRY, GENOTYPE_AND_COUNTRY) or index > 3 else qi.country
    band = qi.age_band
    if level == AGE_DECADE:
        band = decade(band)
    elif index > LEVELS.index(AGE_DECADE):
        band = ""
    return Released(
        band,
        "" if level == SEX else qi.sex,
        genotype,
        disease_group(qi.genotype),
        country,
        region(qi.country),
        qi.instrument,
        qi.treated,
        level,
    )


# Why an eligible child is not in an export.
HELD_NO_DATA = "no_data"  # nothing recorded by the end of its record
HELD_SMALL_CLASS = "small_class"  # fewer than k children share its values at every level
HELD_REASONS = (HELD_NO_DATA, HELD_SMALL_CLASS)


@dataclass(frozen=True)
class Anonymised:
    released: dict[Hashable, Released]
    suppressed: frozenset

    @property
    def generalised(self) -> dict[str, int]:
        counts = Counter(r.level for r in self.released.values())
        return {level: counts.get(level, 0) for level in LEVELS[1:]}


def k_anonymise(children: Mapping[Hashable, QuasiIdentifiers], k: int = DEFAULT_K) -> Anonymised:
    """Release each child at the least generalisation at which it shares all its released
    values with at least K-1 other released children; suppress the rest.

    Level by level, a class of at least K children still waiting is released at that level;
    the others go on to the next, coarser level. Then whoever is left is offered, finest level
    first, to whole released classes that look the same at that level: if together they make
    K, they are all released at it (5 girls of 5-9 take in 3 of 0-4 as 0-9, rather than hold
    the 3 back). A released class therefore always has K or more members, and classes of
    different levels never mix (the level is released)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    waiting = dict(children)
    released: dict[Hashable, Released] = {}
    for level in LEVELS:
        classes = defaultdict(list)
        for key, qi in waiting.items():
            classes[generalise(qi, level)].append(key)
        for value, members in classes.items():
            if len(members) >= k:
                for key in members:
                    released[key] = value
                    del waiting[key]
    for level in LEVELS:
        groups = defaultdict(list)
        for key, qi in waiting.items():
            groups[generalise(qi, level)].append(key)
        for value, members in groups.items():
            pool = members + _classes_to_merge(children, released, level, value, k - len(members))
            if len(pool) >= k:
                for key in pool:
                    released[key] = value
                    waiting.pop(key, None)
    return Anonymised(released, frozenset(waiting))


def _classes_to_merge(children, released, level: str, value: Released, wanted: int) -> list:
    """Members of whole released classes, smallest first, that all read VALUE at LEVEL, until
    WANTED children are found (none if they cannot be)."""
    classes = defaultdict(list)
    for key, current in released.items():
        classes[current].append(key)
    chosen: list = []
    for members in sorted(classes.values(), key=len):
        if len(chosen) >= wanted:
            break
        if all(generalise(children[key], level) == value for key in members):
            chosen += members
    return chosen if len(chosen) >= wanted else []


SUPPRESSED = "suppressed"


def suppress_small(count: int, threshold: int = SMALL_CELL) -> int | str:
    """An aggregate count as published: 1 to THRESHOLD-1 are suppressed."""
    return SUPPRESSED if 0 < count < threshold else count


def publish_counts(
    cells: Mapping[str, int], *, total_known: bool, threshold: int = SMALL_CELL
) -> dict[str, int | str]:
    """Aggregate CELLS as published (complementary suppression). A cell of 1 to THRESHOLD-1
    children is suppressed; when the total is known (the reader can count it), one suppressed
    cell would be the total minus the others, so further cells are suppressed, smallest first,
    until at least two are and together they hold at least 2 × THRESHOLD children (no
    suppressed cell can then be worked out). Every suppressed cell reads the same, so the small
    ones cannot be told from the others."""
    hidden = {name for name, n in cells.items() if 0 < n < threshold}
    if hidden and total_known:
        others = sorted((n, name) for name, n in cells.items() if name not in hidden and n > 0)
        while others and (len(hidden) < 2 or sum(cells[name] for name in hidden) < 2 * threshold):
            hidden.add(others.pop(0)[1])
    return {name: SUPPRESSED if name in hidden else n for name, n in cells.items()}
