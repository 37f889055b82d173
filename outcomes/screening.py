"""Screening before the first JAK-inhibitor dose (SPARN §5.1–5.2, §6.1–6.2, §10) as a pure
function: the latest record of each item in, the items still open out. Each message names its
section; the treating team decides.

Readings: "female of child-bearing potential" is a girl from SCREENING_CHILDBEARING_FROM_AGE
(12 by default; "Not applicable" may be recorded before menarche); the baseline bloods are the
latest Hb, neutrophils and lymphocytes on or before the first dose, judged on the drug's
do-not-start limits (§5.1 tofacitinib, §6.1 baricitinib; for another drug, both).
"""

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from outcomes import thresholds
from outcomes.guideline import GUIDELINE, Caution

ITEMS = ("tb", "vzv", "hsv", "mmr", "pregnancy", "contraception")
CHILDBEARING_ITEMS = ("pregnancy", "contraception")
BASELINE = ("hb", "neutrophils", "lymphocytes")


@dataclass(frozen=True)
class Record:
    item: str
    outcome: str
    date: date


def _sections(drug: str) -> tuple[str, str]:
    """(screening section, contraindications section) for DRUG."""
    if drug == "tofacitinib":
        return "§5.2", "§5.1"
    if drug == "baricitinib":
        return "§6.2", "§6.1"
    return "§5.2, §6.2", "§5.1, §6.1"


def open_items(
    drug: str,
    latest: dict[str, Record],
    childbearing: bool,
    baseline: list[thresholds.Result],
    names: dict[str, str],
) -> list[Caution]:
    """What is still open before the first dose of DRUG. LATEST: item → its latest record;
    BASELINE: the latest baseline counts; NAMES: item or analyte → words."""
    screen, contra = _sections(drug)
    out = []

    def add(message: str, section: str) -> None:
        out.append(Caution(message, f"{GUIDELINE} {section}"))

    for item in ITEMS:
        if item in CHILDBEARING_ITEMS and not childbearing:
            continue
        record = latest.get(item)
        section = f"{contra}, §10" if item in CHILDBEARING_ITEMS else screen
        if record is None:
            add(_("Screening not recorded: %(item)s.") % {"item": names[item]}, section)
            continue
        outcome = record.outcome
        if item == "tb" and outcome == "active":
            add(_("Active tuberculosis: JAK inhibitors should not be started."), screen)
        elif item == "tb" and outcome == "latent_untreated":
            add(
                _("Untreated latent tuberculosis: consider anti-TB treatment before starting."),
                screen,
            )
        elif item == "vzv" and outcome == "not_immune":
            add(
                _(
                    "No VZV infection, IgG or vaccination: consider VZV vaccination before "
                    "starting."
                ),
                screen,
            )
        elif item == "mmr" and outcome == "not_immune":
            add(_("No MMR vaccination: consider it before starting."), screen)
        elif item == "pregnancy" and outcome == "positive":
            add(_("Pregnancy: JAK inhibitors are contraindicated."), f"{contra}, §10")
        elif item == "contraception" and outcome == "combined_pill":
            add(
                _(
                    "On the combined contraceptive pill: a JAK inhibitor should not be started "
                    "(thrombotic risk)."
                ),
                f"{contra}, §10",
            )
    have = {r.analyte: r for r in baseline}
    absent = [a for a in BASELINE if a not in have]
    if absent:
        add(
            _("No baseline bloods before the first dose: %(names)s.")
            % {"names": ", ".join(names.get(a, a) for a in absent)},
            contra,
        )
    for result in have.values():
        for flag in thresholds.flags_for(
            drug if drug in ("baricitinib", "tofacitinib") else None, result, [], False
        ):
            if flag.severity == thresholds.DO_NOT_START:
                out.append(Caution(flag.message, flag.source))
    return out
