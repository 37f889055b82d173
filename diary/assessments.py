"""Visit assessments that clinicians record (DOMAIN §3): the AGS Scale and the physician's and
parent's global assessments. Pure functions over plain values; the model and the API call them.

AGS Scale (Adang et al., Mol Genet Metab 2020;130:153): 11 milestone items, one point each,
0–11. Its severity bands are unconfirmed defaults (AGS_SCALE_BANDS). Global assessments (NIH,
Sanchez 2018, Figure 2): a 100 mm visual-analogue scale, 100 = worst.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class ScaleItem:
    key: str
    label: object  # lazy text


AGS_SCALE_SOURCE = "AGS Scale (Adang et al., Mol Genet Metab 2020;130:153)"
AGS_SCALE_ITEMS = (
    ScaleItem("normocephaly", gettext_lazy("Normocephaly (no microcephaly)")),
    ScaleItem("social_smile", gettext_lazy("Social smile")),
    ScaleItem("vocalisations", gettext_lazy("Vocalisations (cooing or babbling)")),
    ScaleItem("single_words", gettext_lazy("Single meaningful words")),
    ScaleItem("phrases", gettext_lazy("Phrases of at least three words")),
    ScaleItem("head_control", gettext_lazy("Head control (more than 60 seconds)")),
    ScaleItem("pincer_grasp", gettext_lazy("Pincer grasp or self-feeding")),
    ScaleItem("sitting", gettext_lazy("Independent sitting (more than 2 minutes)")),
    ScaleItem("rolling_crawling", gettext_lazy("Rolling or crawling to a goal")),
    ScaleItem("assisted_walking", gettext_lazy("Walking with assistance (devices or two hands)")),
    ScaleItem("independent_walking", gettext_lazy("Independent walking")),
)
ITEM_KEYS = tuple(item.key for item in AGS_SCALE_ITEMS)
AGS_SCALE_MAX = len(AGS_SCALE_ITEMS)
VAS_RANGE = (Decimal(0), Decimal(100))
BAND_LABELS = {
    "severe": gettext_lazy("severe"),
    "moderate": gettext_lazy("moderate"),
    "attenuated": gettext_lazy("attenuated"),
}


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def ags_scale_score(items: dict[str, int]) -> int:
    return sum(items[key] for key in ITEM_KEYS)


def severity_band(score: int | None) -> str | None:
    """The band of an AGS Scale score (AGS_SCALE_BANDS; unconfirmed defaults severe 0–3,
    moderate 4–8, attenuated 9–11)."""
    if score is None:
        return None
    for band, (low, high) in settings.AGS_SCALE_BANDS.items():
        if low <= score <= high:
            return band
    return None


def _vas(value, field: str, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors[field] = _("Enter a number.")
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        errors[field] = _("Enter a number.")
        return None
    if not number.is_finite():
        errors[field] = _("Enter a number.")
        return None
    if not VAS_RANGE[0] <= number <= VAS_RANGE[1]:
        errors[field] = _(
            "A visual-analogue scale reads from 0 to 100 mm (100 = worst): enter a value in "
            "that range."
        )
        return None
    if number != number.quantize(Decimal("0.1")):
        errors[field] = _("Give the value to 0.1 mm at most.")
        return None
    return number


def _item(value, key: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    if value in (True, False):
        return int(value)
    text = str(value).strip()
    if text in ("0", "1"):
        return int(text)
    errors[f"ags_items.{key}"] = _("Each AGS Scale item scores 0 (not achieved) or 1 (achieved).")
    return None


def clean(data: dict) -> dict:
    """Validated values of one visit's assessment: ags_items ({item: 0 or 1} for all 11, or
    none at all), ags_scale (their sum), physician_global and parent_global (0–100 mm).
    Raises Invalid with a message per bad field; nothing is stored then."""
    errors: dict[str, str] = {}
    raw = data.get("ags_items")
    items = None
    if raw not in (None, {}, ""):
        if not isinstance(raw, dict):
            raise Invalid({"ags_items": _("Give the AGS Scale items as {item: 0 or 1}.")})
        unknown = sorted(set(map(str, raw)) - set(ITEM_KEYS))
        if unknown:
            errors["ags_items"] = _("Unknown AGS Scale items: %(items)s.") % {
                "items": ", ".join(unknown)
            }
        scored = {key: _item(raw.get(key), key, errors) for key in ITEM_KEYS}
        missing = [key for key, value in scored.items() if value is None]
        if missing and not errors:
            errors["ags_items"] = _(
                "Score every AGS Scale item (0 or 1), or none: %(n)d of %(total)d are missing."
            ) % {"n": len(missing), "total": AGS_SCALE_MAX}
        items = scored
    physician = _vas(data.get("physician_global"), "physician_global", errors)
    parent = _vas(data.get("parent_global"), "parent_global", errors)
    if not errors and items is None and physician is None and parent is None:
        errors["ags_items"] = _(
            "Record the AGS Scale, the physician's global assessment, the parent's, or several."
        )
    if errors:
        raise Invalid(errors)
    return {
        "ags_items": items,
        "ags_scale": ags_scale_score(items) if items is not None else None,
        "physician_global": physician,
        "parent_global": parent,
    }


SERIES = ("ags_scale", "physician_global", "parent_global")


def series(rows) -> dict[str, list[tuple[date, float]]]:
    """A child's assessments as one series per measure, oldest first, for charts: ROWS of
    (date, ags_scale, physician_global, parent_global), None where not recorded."""
    out: dict[str, list[tuple[date, float]]] = {name: [] for name in SERIES}
    for day, *values in sorted(rows, key=lambda r: r[0]):
        for name, value in zip(SERIES, values, strict=True):
            if value is not None:
                out[name].append((day, float(value)))
    return out
