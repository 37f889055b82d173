"""Drugs, dose slots and the plausibility limits that refuse absurd doses on entry.

A dose above ten times the maximum daily dose below is refused as a typing error; these are
limits for data entry, not dosing advice (dose guidance lives with the outcomes).
"""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from diary import language


class Drug(models.TextChoices):
    BARICITINIB = "baricitinib", _("Baricitinib")
    RUXOLITINIB = "ruxolitinib", _("Ruxolitinib")
    TOFACITINIB = "tofacitinib", _("Tofacitinib")


class Steroid(models.TextChoices):
    PREDNISOLONE = "prednisolone", _("Prednisolone")
    PREDNISONE = "prednisone", _("Prednisone")
    METHYLPREDNISOLONE = "methylprednisolone", _("Methylprednisolone")
    HYDROCORTISONE = "hydrocortisone", _("Hydrocortisone")
    DEXAMETHASONE = "dexamethasone", _("Dexamethasone")


class Slot(models.TextChoices):
    MORNING = "morning", _("Morning")
    AFTERNOON = "afternoon", _("Afternoon")
    EVENING = "evening", _("Evening")


SLOTS = [Slot.MORNING, Slot.AFTERNOON, Slot.EVENING]

# Maximum daily doses, mg/day: baricitinib 6 + 6 after tertiary discussion (SPARN JAKi guideline
# §6.4, appendix 2); tofacitinib 5 mg twice daily (SPARN §5.3); ruxolitinib 25 mg twice daily
# (adult label maximum; the guideline gives no paediatric dose).
MAX_DAILY_MG = {
    Drug.BARICITINIB: Decimal("12"),
    Drug.TOFACITINIB: Decimal("10"),
    Drug.RUXOLITINIB: Decimal("50"),
    # Steroids: usual maximum daily doses (methylprednisolone as an intravenous pulse).
    Steroid.PREDNISOLONE: Decimal("60"),
    Steroid.PREDNISONE: Decimal("60"),
    Steroid.METHYLPREDNISOLONE: Decimal("1000"),
    Steroid.HYDROCORTISONE: Decimal("300"),
    Steroid.DEXAMETHASONE: Decimal("40"),
}
ABSURD_FACTOR = 10


def drug_label(drug: str) -> str:
    """The name of a JAK inhibitor or steroid in running text, in the reader’s language."""
    for choices in (Drug, Steroid):
        if drug in choices.values:
            return str(choices(drug).label).lower()
    return drug


def dose_problem(drug: str, mg) -> str | None:
    """Why MG of DRUG cannot be stored, or None when it is plausible."""
    if mg is None:
        return None
    mg = Decimal(str(mg))
    if mg < 0:
        return str(_("A dose cannot be negative."))
    limit = MAX_DAILY_MG[drug] * ABSURD_FACTOR
    if mg > limit:
        return str(
            _("%(mg)s mg is more than ten times the maximum daily dose of %(drug)s: check it.")
            % {"mg": language.number(mg), "drug": drug_label(drug)}
        )
    return None


# Plausible measurements of a child: outside them the value is a typing error.
WEIGHT_KG = (Decimal("0.5"), Decimal("200"))
HEIGHT_CM = (Decimal("30"), Decimal("220"))
TEMPERATURE_C = (Decimal("34"), Decimal("43"))
# A day's seizure details (the diary's seizures item above 0): how many, and the longest.
SEIZURE_COUNT = (1, 500)
SEIZURE_MINUTES = (Decimal("0"), Decimal("1440"))
