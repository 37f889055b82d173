"""Validating and saving what a family records, shared by the pages and the API.

Every row has a client-made UUID: saving the same UUID again (a double tap, an offline replay)
returns the stored row instead of adding one. Changes name the version they were made against;
a change against an older version is a Conflict, never a silent overwrite.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diary import language
from diary.doses import HEIGHT_CM, TEMPERATURE_C, WEIGHT_KG, Drug, Slot, Steroid, dose_problem
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    DoseStatus,
    Prescription,
    SteroidDose,
)

FEVER_FROM_C = Decimal("38.0")
# What a family hears when the database fails during a save (the save is all or nothing).
NOT_SAVED = gettext_lazy(
    "Nothing was saved: the diary could not be stored just now. Please try again in a minute."
)


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class Conflict(Exception):
    """Somebody saved this row after the version the change was made against."""

    def __init__(self, current: models.Model):
        super().__init__(f"{current._meta.model_name} {current.pk} is at version {current.version}")
        self.current = current


@dataclass
class Saved:
    row: models.Model
    created: bool = False
    changed: bool = False
    replay: bool = False


# --- Validation: plain data in, cleaned values or {field: message} out ----------------------


def day_problem(child: Child, day) -> str | None:
    if day > child.today():
        return _("The date cannot be in the future.")
    if day < child.date_of_birth:
        return _("The date is before the child's date of birth.")
    return None


def decimal_or_none(value, field: str, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        errors[field] = _("Enter a number.")
        return None
    if not number.is_finite():
        errors[field] = _("Enter a number.")
        return None
    return number


def in_range(value: Decimal | None, bounds, field: str, unit: str, errors: dict) -> None:
    if value is not None and not bounds[0] <= value <= bounds[1]:
        errors[field] = _("Enter a value between %(low)s and %(high)s %(unit)s.") % {
            "low": language.number(bounds[0]),
            "high": language.number(bounds[1]),
            "unit": unit,
        }


def clean_entry(child: Child, data: dict) -> dict:
    """DATA (scores, no_symptoms, max_temperature, illness, note) as model fields, or Invalid."""
    instrument = child.get_instrument()
    errors: dict[str, str] = {}
    no_symptoms = bool(data.get("no_symptoms"))
    scores = data.get("scores") or {}
    if not isinstance(scores, dict):
        raise Invalid({"scores": _("Give the scores as {item: score}.")})
    if no_symptoms:
        if any(v for v in scores.values()):
            errors["no_symptoms"] = _("“No symptoms today” cannot go with symptom scores.")
        scores = {item.key: 0 for item in instrument.items}
    scores = {k: v for k, v in scores.items() if v is not None}
    for key, message in instrument.validate(scores).items():
        errors[f"scores.{key}"] = message
    temperature = decimal_or_none(data.get("max_temperature"), "max_temperature", errors)
    in_range(temperature, TEMPERATURE_C, "max_temperature", "°C", errors)
    note = data.get("note") or ""
    if len(note) > 5000:
        errors["note"] = _("Keep the note under 5000 characters.")
    if not scores and not errors and not note.strip() and temperature is None:
        errors["scores"] = _("Answer at least one question, or tap “No symptoms today”.")
    if errors:
        raise Invalid(errors)
    result = instrument.score(scores)
    fever_item = scores.get("fever", 0) > 0
    return {
        "instrument_key": instrument.key,
        "instrument_version": instrument.version,
        "scores": scores,
        "score": result.value,
        "subscores": result.subscores,
        "answered": result.answered,
        "no_symptoms": no_symptoms,
        "max_temperature": temperature,
        "fever": fever_item or (temperature is not None and temperature >= FEVER_FROM_C),
        "illness": bool(data.get("illness")),
        "note": note,
    }


def clean_dose(child: Child, day, data: dict) -> dict:
    """A JAK inhibitor dose given in one slot: status and amount, prescription filled in."""
    errors: dict[str, str] = {}
    drug, slot, status = data.get("drug"), data.get("slot"), data.get("status")
    for name, value, allowed in (
        ("drug", drug, Drug),
        ("slot", slot, Slot),
        ("status", status, DoseStatus),
    ):
        if value not in allowed.values:
            errors[name] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed.values)}
    if errors:
        raise Invalid(errors)
    prescription = Prescription.objects.filter(child=child).in_force_on(day)
    if prescription is not None and prescription.drug != drug:
        prescription = None
    prescribed = prescription.slot_mg(slot) if prescription and slot else None
    given = decimal_or_none(data.get("given_mg"), "given_mg", errors)
    if status == DoseStatus.GIVEN:
        if prescribed is None and given is None:
            errors["status"] = _("No prescription on this day: give the amount instead.")
        given = prescribed if given is None else given
    elif status == DoseStatus.MISSED:
        given = Decimal(0)
    elif status == DoseStatus.DIFFERENT and given is None:
        errors["given_mg"] = _("Give the amount that was given.")
    problem = dose_problem(drug, given) if drug and given is not None else None
    if problem:
        errors["given_mg"] = problem
    if errors:
        raise Invalid(errors)
    return {
        "drug": drug,
        "slot": slot,
        "status": status,
        "given_mg": given,
        "prescription": prescription,
        "prescribed_mg": prescribed,
    }


def clean_growth(data: dict) -> dict:
    errors: dict[str, str] = {}
    weight = decimal_or_none(data.get("weight_kg"), "weight_kg", errors)
    height = decimal_or_none(data.get("height_cm"), "height_cm", errors)
    in_range(weight, WEIGHT_KG, "weight_kg", "kg", errors)
    in_range(height, HEIGHT_CM, "height_cm", "cm", errors)
    if weight is None and height is None and not errors:
        errors["weight_kg"] = _("Give a weight, a height or both.")
    if errors:
        raise Invalid(errors)
    return {"weight_kg": weight, "height_cm": height}


def clean_steroid(data: dict) -> dict:
    errors: dict[str, str] = {}
    mg = decimal_or_none(data.get("mg"), "mg", errors)
    drug = data.get("drug")
    if drug not in Steroid.values:
        errors["drug"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(Steroid.values)}
        drug = None
    if mg is None and "mg" not in errors:
        errors["mg"] = _("Give the dose in mg.")
    elif mg is not None and mg <= 0:
        errors["mg"] = _("A dose must be more than 0 mg.")
    elif mg is not None and drug and (problem := dose_problem(drug, mg)):
        errors["mg"] = problem
    if errors:
        raise Invalid(errors)
    return {"drug": drug, "mg": mg}


# --- Saving: idempotent on the UUID, optimistic on the version ------------------------------


def _same(row: models.Model, values: dict) -> bool:
    return all(getattr(row, name) == value for name, value in values.items())


def save(
    model,
    *,
    child: Child,
    user,
    row_id,
    day,
    values: dict,
    natural_key: dict | None,
    base_version: int | None,
) -> Saved:
    """Create or change one row of MODEL.

    base_version None: create with ROW_ID (a replay of ROW_ID returns the stored row).
    base_version N: change ROW_ID, which must still be at version N.
    """
    if base_version is None:
        # Insert first: a new row, by far the common case, costs no lookups. A taken id (a
        # replay) or a taken day (another caregiver, or two creates racing) is found afterwards.
        try:
            with transaction.atomic():
                row = model.objects.create(
                    id=row_id, child=child, date=day, reported_by=user, **values
                )
        except IntegrityError:
            existing = model.objects.filter(pk=row_id).first()
            if existing is not None:
                if existing.child_id != child.pk:
                    raise Invalid({"id": _("This id belongs to another record.")}) from None
                return Saved(existing, replay=True)
            current = None
            if natural_key is not None:
                current = model.objects.filter(child=child, date=day, **natural_key).first()
            if current is None:
                raise
            if _same(current, values):
                return Saved(current, replay=True)
            raise Conflict(current) from None
        return Saved(row, created=True, changed=True)

    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=row_id, child=child).first()
        if row is None:
            raise Invalid({"id": _("There is no such record to change.")})
        if _same(row, values):
            return Saved(row)
        if row.version != base_version:
            raise Conflict(row)
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        for name in changed:
            setattr(row, name, values[name])
        row.version += 1
        row.reported_by = user
        try:
            with transaction.atomic():
                # Only what changed: two caregivers editing different things do not overwrite
                # each other.
                row.save(update_fields=[*changed, "version", "reported_by", "updated"])
        except IntegrityError:
            # Moved onto a slot already recorded that day (found by fuzzing): that row wins.
            taken = model.objects.filter(child=child, date=day, **(natural_key or {}))
            taken = taken.exclude(pk=row.pk).first()
            if taken is None:
                raise
            raise Conflict(taken) from None
        return Saved(row, changed=True)


def _natural_key(model, values: dict) -> dict | None:
    """The fields besides child and date that make a row unique (None: no such key)."""
    if model is DoseAdministration:
        return {"drug": values["drug"], "slot": values["slot"]}
    if model is SteroidDose:
        return None
    return {}


def _clean(model, child: Child, day, data: dict) -> dict:
    if model is DiaryEntry:
        return clean_entry(child, data)
    if model is DoseAdministration:
        return clean_dose(child, day, data)
    if model is SteroidDose:
        return clean_steroid(data)
    return clean_growth(data)


def record(model, child: Child, user, row_id, day, data: dict, base_version=None) -> Saved:
    """Validate DATA for one row of MODEL on DAY and save it (see save for the semantics)."""
    errors = {}
    if day is None:
        errors["date"] = _("Give the date.")
    elif problem := day_problem(child, day):
        errors["date"] = problem
    try:
        values = _clean(model, child, day, data)
    except Invalid as invalid:
        errors.update(invalid.errors)
    if errors:
        raise Invalid(errors)
    return save(
        model,
        child=child,
        user=user,
        row_id=row_id,
        day=day,
        values=values,
        natural_key=_natural_key(model, values),
        base_version=base_version,
    )
