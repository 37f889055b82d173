"""Other medicines alongside a JAK inhibitor (SPARN §8, §10, §11) as pure functions: a medicine
and the JAK inhibitor given at the same time in, cautions out. Each names its section; the
treating team decides. The kind a clinician or caregiver chose counts; a medicine left as
"other" is recognised by its name too (a few common names, below)."""

from datetime import date, timedelta

from django.utils.translation import gettext as _

from outcomes.guideline import GUIDELINE, Caution

# Lower-case name fragments → kind, for a medicine entered as "other".
NAMES = {
    "leflunomide": ("leflunomide", "arava"),
    "biologic": (
        "adalimumab",
        "etanercept",
        "infliximab",
        "golimumab",
        "certolizumab",
        "tocilizumab",
        "sarilumab",
        "anakinra",
        "canakinumab",
        "rilonacept",
        "rituximab",
        "abatacept",
        "secukinumab",
        "ustekinumab",
        "emapalumab",
        "belimumab",
        "anifrolumab",
    ),
    "combined_pill": ("combined pill", "combined oral contracept", "ethinylestradiol"),
    "live_vaccine": ("mmr", "varicella", "bcg", "rotavirus", "yellow fever", "zostavax", "laiv"),
}


def kind_of(kind: str, name: str) -> str:
    if kind != "other":
        return kind
    lowered = name.lower()
    for found, fragments in NAMES.items():
        if any(
            fragment in lowered.split() if len(fragment) <= 3 else fragment in lowered
            for fragment in fragments
        ):
            return found
    return "other"


def cautions(kind: str, name: str, drug: str) -> list[Caution]:
    """The cautions of taking NAME (of KIND) while DRUG is given."""
    kind = kind_of(kind, name)
    words = {"name": name, "drug": drug}
    if kind == "leflunomide":
        return [
            Caution(
                _("%(name)s with %(drug)s: caution, leflunomide may increase baricitinib exposure.")
                % words,
                f"{GUIDELINE} §8",
            )
        ]
    if kind == "biologic":
        return [
            Caution(
                _(
                    "%(name)s with %(drug)s: in most cases avoid combining another biologic with "
                    "a JAK inhibitor (more immunosuppression, more infections)."
                )
                % words,
                f"{GUIDELINE} §8",
            )
        ]
    if kind == "combined_pill":
        return [
            Caution(
                _(
                    "%(name)s with %(drug)s: the combined contraceptive pill should not be "
                    "prescribed alongside a JAK inhibitor (thrombotic risk)."
                )
                % words,
                f"{GUIDELINE} §10, §5.1, §6.1",
            )
        ]
    if kind == "live_vaccine":
        return [
            Caution(
                _("%(name)s while on %(drug)s: avoid live vaccines while on a JAK inhibitor.")
                % words,
                f"{GUIDELINE} §11",
            )
        ]
    return []


def taken(kind: str, name: str, start: date, stop: date | None, today: date) -> tuple[date, date]:
    """The days a medicine is taken: a vaccine on its day, else START to STOP (or today)."""
    if kind_of(kind, name) == "live_vaccine":
        return start, stop or start
    return start, stop or max(today, start)


def overlapping_drug(span: tuple[date, date], courses: list[tuple[date, str, bool]]) -> str | None:
    """The JAK inhibitor given during SPAN, from COURSES (start, drug, dosed) in order."""
    first, last = span
    for i, (start, drug, dosed) in enumerate(courses):
        end = courses[i + 1][0] - timedelta(days=1) if i + 1 < len(courses) else date.max
        if dosed and start <= last and end >= first:
            return drug
    return None
