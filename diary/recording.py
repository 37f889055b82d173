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

from diary import doses, growth, language
from diary.doses import HEIGHT_CM, TEMPERATURE_C, WEIGHT_KG, Drug, Slot, Steroid, dose_problem
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    DoseStatus,
    GrowthMeasurement,
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


SEIZURE_DETAILS = ("seizure_count", "seizure_longest_min", "seizure_rescue")
SEIZURE_ITEM = "seizures"
YES_NO = {True: True, "yes": True, False: False, "no": False}


def whole_or_none(value, field: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors[field] = _("Enter a whole number.")
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    digits = text.removeprefix("-").removeprefix("+")
    if not digits.isdecimal() or len(digits) > 9:  # longer is out of any range we keep
        errors[field] = _("Enter a whole number.")
        return None
    return int(text)


def clean_seizure_details(instrument, scores: dict, no_symptoms: bool, data: dict, errors) -> dict:
    """The seizure details of DATA as {field: value or None}; any detail needs the seizures
    item above 0 (a detail that cannot be stored is an error, never dropped)."""
    count = whole_or_none(data.get("seizure_count"), "seizure_count", errors)
    in_range(count, doses.SEIZURE_COUNT, "seizure_count", _("seizures"), errors)
    longest = decimal_or_none(data.get("seizure_longest_min"), "seizure_longest_min", errors)
    in_range(longest, doses.SEIZURE_MINUTES, "seizure_longest_min", _("minutes"), errors)
    if longest is not None and "seizure_longest_min" not in errors:
        if longest != longest.quantize(Decimal("0.1")):
            errors["seizure_longest_min"] = _(
                "Give the minutes with at most one decimal (e.g. 0.5 for 30 seconds)."
            )
        longest = abs(longest).quantize(Decimal("0.1"))  # abs: -0 is 0
    rescue = data.get("seizure_rescue")
    if rescue in (None, ""):
        rescue = None
    elif isinstance(rescue, bool | str) and rescue in YES_NO:
        rescue = YES_NO[rescue]
    else:
        errors["seizure_rescue"] = _("Answer yes or no, or leave it empty.")
        rescue = None
    details = {"seizure_count": count, "seizure_longest_min": longest, "seizure_rescue": rescue}
    keys = {item.key for item in instrument.items}
    seizures = scores.get(SEIZURE_ITEM)
    if SEIZURE_ITEM not in keys:
        problem = _("This diary has no seizures question: seizure details cannot be recorded.")
    elif no_symptoms:
        problem = _("“No symptoms today” cannot go with seizure details.")
    elif f"scores.{SEIZURE_ITEM}" in errors:
        problem = None  # the score's own error says what to fix
    elif seizures is None:
        problem = _("Seizure details go with the seizures question: answer it first.")
    elif seizures == 0:
        problem = _(
            "The seizures question says none today: change that answer or clear the details."
        )
    else:
        problem = None
    for name in SEIZURE_DETAILS:
        given = details[name] is not None or data.get(name) not in (None, "")
        if problem and given and name not in errors:
            errors[name] = problem
    return details


def clean_entry(child: Child, data: dict) -> dict:
    """DATA (scores, no_symptoms, max_temperature, illness, zoster, note, seizure_count,
    seizure_longest_min, seizure_rescue) as model fields, or Invalid."""
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
    seizure_details = clean_seizure_details(instrument, scores, no_symptoms, data, errors)
    note = data.get("note") or ""
    if len(note) > 5000:
        errors["note"] = _("Keep the note under 5000 characters.")
    zoster = bool(data.get("zoster"))
    # Shingles alone is an answer, as a temperature is: the day must not be refused when it is
    # the one thing a parent reports (SPARN §7.3 asks the team to act on it).
    if not scores and not errors and not note.strip() and temperature is None and not zoster:
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
        "zoster": zoster,
        **seizure_details,
        "note": note,
    }


_UNKNOWN = object()


def clean_dose(child: Child, day, data: dict, in_force=_UNKNOWN) -> dict:
    """A JAK inhibitor dose given in one slot: status and amount, prescription filled in.

    IN_FORCE: the prescription in force on DAY when the caller has it already."""
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
    if in_force is _UNKNOWN:
        in_force = Prescription.objects.filter(child=child).in_force_on(day)
    prescription = in_force
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


def clean_growth(child: Child, day, data: dict) -> dict:
    """Weight and height, with their SDS and centiles against the site's growth reference
    (diary.growth). An SDS beyond its limit is refused as a likely typing error unless
    `confirm_sds` is set; an unknown reference refuses the measurement."""
    errors: dict[str, str] = {}
    weight = decimal_or_none(data.get("weight_kg"), "weight_kg", errors)
    height = decimal_or_none(data.get("height_cm"), "height_cm", errors)
    in_range(weight, WEIGHT_KG, "weight_kg", "kg", errors)
    in_range(height, HEIGHT_CM, "height_cm", "cm", errors)
    if weight is None and height is None and not errors:
        errors["weight_kg"] = _("Give a weight, a height or both.")
    confirm = data.get("confirm_sds") or False
    confirmed = YES_NO.get(confirm) if isinstance(confirm, bool | str) else None
    if confirmed is None:
        errors["confirm_sds"] = _("Answer yes or no.")
    if errors:
        raise Invalid(errors)
    reference = child.site.growth_reference
    try:
        found = growth.scores(reference, child.sex, child.date_of_birth, day, weight, height)
    except growth.UnknownReference as unknown:
        raise Invalid({"growth_reference": str(unknown)}) from None
    if not confirmed and (implausible := growth.implausible_message(found)):
        raise Invalid({**implausible, "confirm_sds": _("Confirm to store an extreme value.")})
    values = growth.growth_values(reference, found, confirmed)
    return {"weight_kg": weight, "height_cm": height, **values}


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


def _differs(row: models.Model, name: str, value) -> bool:
    field = row._meta.get_field(name)
    if field.is_relation:  # compared by key: no query for the related row
        return getattr(row, field.attname) != (value.pk if value is not None else None)
    return getattr(row, name) != value


# Derived from the others on save: a row sent again is the same row even if the site has
# since changed its growth reference.
COMPUTED = frozenset(
    growth.growth_values("", [growth.Score(m, None, None, None) for m in growth.MEASURES], False)
)


def _same(row: models.Model, values: dict) -> bool:
    return not any(
        _differs(row, name, value) for name, value in values.items() if name not in COMPUTED
    )


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
                # A replay is the same row sent again; the same id with other content is a
                # change made without its version, which must not pass as a replay.
                if existing.date == day and _same(existing, values):
                    return Saved(existing, replay=True)
                raise Conflict(existing) from None
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
        if row.date != day:
            raise Invalid({"id": _("This record belongs to another day.")})
        if _same(row, values):
            return Saved(row)
        if row.version != base_version:
            raise Conflict(row)
        changed = [name for name, value in values.items() if _differs(row, name, value)]
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


def _clean(model, child: Child, day, data: dict, in_force=_UNKNOWN) -> dict:
    if model is DiaryEntry:
        return clean_entry(child, data)
    if model is DoseAdministration:
        return clean_dose(child, day, data, in_force)
    if model is SteroidDose:
        return clean_steroid(data)
    return clean_growth(child, day, data)


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


# --- A whole day: every part saved, or none ------------------------------------------------


@dataclass
class Part:
    """One row of a day as sent: where it sits in the day, its id, version and fields."""

    model: type
    where: str  # "entry", "doses.0", "steroids.1", "growth": the prefix of its errors
    row_id: object
    version: int | None
    data: dict


@dataclass
class DaySaved:
    created: bool
    changed: bool
    rows: dict  # model → the day's rows as stored now, oldest first


class DayConflict(Exception):
    """Rows of the day were saved by someone else after the versions the change names."""

    def __init__(self, conflicts: list[tuple[str, models.Model]]):
        super().__init__(", ".join(where for where, _row in conflicts))
        self.conflicts = conflicts


def day_parts(entry: dict | None, doses, steroids, growth: dict | None) -> list[Part]:
    """The parts of a day's body (each a dict with its `id` and, for a change, `version`)."""
    parts = []
    if entry is not None:
        parts.append(Part(DiaryEntry, "entry", entry.get("id"), entry.get("version"), entry))
    for i, dose in enumerate(doses or []):
        parts.append(
            Part(DoseAdministration, f"doses.{i}", dose.get("id"), dose.get("version"), dose)
        )
    for i, steroid in enumerate(steroids or []):
        parts.append(
            Part(SteroidDose, f"steroids.{i}", steroid.get("id"), steroid.get("version"), steroid)
        )
    if growth is not None:
        parts.append(
            Part(GrowthMeasurement, "growth", growth.get("id"), growth.get("version"), growth)
        )
    return parts


def _fields(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("id", "version", "child", "date")}


def record_day(child: Child, user, day, parts: list[Part]) -> DaySaved:
    """Validate every part of DAY, then save them all in one transaction, or nothing.

    Invalid names every bad field of every part ("doses.1.given_mg"); DayConflict lists the
    rows somebody saved after the version a part names (or a reused id with other content).
    """
    errors: dict[str, str] = {}
    if day is None:
        raise Invalid({"date": _("Give the date.")})
    if problem := day_problem(child, day):
        raise Invalid({"date": problem})
    in_force = Prescription.objects.filter(child=child).in_force_on(day)
    # An interruption or a stop prescribes no slot.
    prescribed = {(in_force.drug, str(slot)) for slot, _mg in in_force.slots} if in_force else set()
    seen_ids: set = set()
    seen_slots: set = set()
    cleaned = []
    for part in parts:
        try:
            values = _clean(part.model, child, day, _fields(part.data), in_force)
        except Invalid as invalid:
            errors.update({f"{part.where}.{k}": v for k, v in invalid.errors.items()})
            continue
        if part.row_id in seen_ids:
            errors[f"{part.where}.id"] = _("This id is used twice in the day.")
        seen_ids.add(part.row_id)
        if part.model is DoseAdministration:
            slot = (values["drug"], values["slot"])
            if slot in seen_slots:
                errors[f"{part.where}.slot"] = _("This dose is recorded twice in the day.")
            seen_slots.add(slot)
            if part.version is None and slot not in prescribed:
                errors[f"{part.where}.slot"] = _(
                    "No %(drug)s dose is prescribed in this slot on this day."
                ) % {"drug": values["drug"]}
        cleaned.append((part, values))
    if errors:
        raise Invalid(errors)

    # Another phone may insert a row of this day between the read and the insert: the unique
    # constraints refuse it, the whole day is rolled back, and a second pass sees that row.
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _save_day(child, user, day, cleaned)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


DAY_MODELS = (DiaryEntry, DoseAdministration, SteroidDose, GrowthMeasurement)


def _save_day(child: Child, user, day, cleaned: list[tuple[Part, dict]]) -> DaySaved:
    """Save the validated parts of DAY against its stored rows, read once and locked."""
    ids = {model: [p.row_id for p, _v in cleaned if p.model is model] for model in DAY_MODELS}
    stored: dict = {}
    for model in DAY_MODELS:
        rows = model.objects.filter(models.Q(child=child, date=day) | models.Q(pk__in=ids[model]))
        # "self": the nullable reporter joined beside cannot be locked (PostgreSQL).
        stored[model] = list(
            rows.select_related("reported_by").select_for_update(of=("self",)).order_by("created")
        )
    errors: dict[str, str] = {}
    conflicts: list[tuple[str, models.Model]] = []
    created = changed = False
    for part, values in cleaned:
        rows = stored[part.model]
        by_id = next((r for r in rows if r.pk == part.row_id), None)
        key = _natural_key(part.model, values)
        same_key = [
            r
            for r in rows
            if key is not None
            and r.date == day
            and r.child_id == child.pk
            and r.pk != part.row_id
            and all(getattr(r, k) == v for k, v in key.items())
        ]
        if by_id is not None and by_id.child_id != child.pk:
            errors[f"{part.where}.id"] = _("This id belongs to another record.")
        elif part.version is None:
            current = by_id or (same_key[0] if same_key else None)
            if current is None:
                row = part.model(id=part.row_id, child=child, date=day, reported_by=user, **values)
                row.save(force_insert=True)
                rows.append(row)
                created = changed = True
            elif current.date != day or not _same(current, values):
                # A replay is the same row sent again; other content needs its version.
                conflicts.append((part.where, current))
        elif by_id is None:
            errors[f"{part.where}.id"] = _("There is no such record to change.")
        elif by_id.date != day:
            errors[f"{part.where}.id"] = _("This record belongs to another day.")
        elif not _same(by_id, values):
            if by_id.version != part.version:
                conflicts.append((part.where, by_id))
            elif same_key:
                conflicts.append((part.where, same_key[0]))  # moved onto a slot already recorded
            else:
                fields = [name for name, value in values.items() if _differs(by_id, name, value)]
                for name in fields:
                    setattr(by_id, name, values[name])
                by_id.version += 1
                by_id.reported_by = user
                # Only what changed: two caregivers editing different things do not overwrite
                # each other.
                by_id.save(update_fields=[*fields, "version", "reported_by", "updated"])
                changed = True
    if errors or conflicts:
        # Rolls back every part already saved: the day stays exactly as it was.
        transaction.set_rollback(True)
    if errors:
        raise Invalid(errors)
    if conflicts:
        raise DayConflict(conflicts)
    return DaySaved(
        created=created,
        changed=changed,
        rows={model: [r for r in stored[model] if r.date == day] for model in DAY_MODELS},
    )
