"""The phone pages: record a day, and the last 30 days."""

import logging
import uuid
import zoneinfo
from collections import Counter
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from diary import recording
from diary.day import (
    LATE_NIGHT_UNTIL_HOUR,
    Day,
    DayState,
    DoseSlot,
    day_statuses,
    load_day,
    prescriptions_in_force,
)
from diary.doses import Steroid
from diary.models import (
    Child,
    DoseStatus,
)

HISTORY_DAYS = 30
OFFLINE_DAYS = 30  # how far back the phone may record a day without a signal

logger = logging.getLogger(__name__)


def _child(request, pk: int) -> Child:
    child = get_object_or_404(Child.objects.visible_to(request.user), pk=pk)
    # Times on these pages are the family's: "saved at 22:40" means their evening.
    timezone.activate(zoneinfo.ZoneInfo(child.timezone))
    return child


def _day_from(request, child: Child) -> tuple[date, str | None]:
    raw = request.POST.get("date") or request.GET.get("date")
    if not raw:
        return child.today(), None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return child.today(), _("That date could not be read: showing today.")
    return day, recording.day_problem(child, day)


def _uuid(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.uuid4()


def _version(value) -> int | None:
    """The version a change was made against; None for a new row."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number or None


@login_required
def day_page(request, pk: int):
    child = _child(request, pk)
    day, problem = _day_from(request, child)
    if problem:
        messages.error(request, problem)
        return redirect("day", pk=child.pk)
    instrument = child.get_instrument()
    context = {"child": child, "instrument": instrument, "errors": {}, "posted": None}
    status = 200
    if request.method == "POST":
        try:
            outcome = _save_day(request, child, day)
        except DatabaseError:
            # All or nothing: the page comes back with the answers for another Save.
            logger.exception("saving a diary day failed")
            messages.error(request, recording.NOT_SAVED)
            outcome, status = {"errors": {}}, 503
        if outcome is None:
            return redirect(f"{reverse('day', args=[child.pk])}?date={day.isoformat()}&saved=1")
        context.update(outcome)
        context["posted"] = request.POST
    loaded = load_day(child, day)
    _dose_form_state(loaded.doses, context["posted"], context["errors"])
    now = child.local_now()
    context.update(
        day=loaded,
        prescribed=bool(prescriptions_in_force(child, day)),
        # A clean copy of the stored day, which the phone keeps to open this day offline.
        snapshot=request.method == "GET",
        is_today=day == now.date(),
        yesterday=now.date() - timedelta(days=1),
        ask_yesterday=(
            day == now.date() and now.hour < LATE_NIGHT_UNTIL_HOUR and "date" not in request.GET
        ),
        just_saved="saved" in request.GET,
        items=_items(instrument, loaded.entry, context["posted"], context["errors"]),
        steroid_choices=Steroid.choices,
        dose_statuses=DoseStatus.choices,
        doses_open=any(
            s.errors or s.chosen_status not in ("", DoseStatus.GIVEN) for s in loaded.doses
        ),
        steroid_posted={
            "drug": (context["posted"] or {}).get("steroid-drug"),
            "mg": (context["posted"] or {}).get("steroid-mg", ""),
        },
        steroid_errors=[v for k, v in context["errors"].items() if k.startswith("steroid-")],
        new_ids={"entry": uuid.uuid4(), "steroid": uuid.uuid4(), "growth": uuid.uuid4()},
    )
    if context.get("conflict"):
        status = 409
    elif context["errors"]:
        status = 400
    return render(request, "diary/day.html", context, status=status)


@login_required
def offline_day_page(request, pk: int):
    """The day page with no day in it, kept by the phone to record any recent day offline.

    The phone's script fills in the date from the address and the answers it keeps for that
    day (sent or waiting), so that an offline page never shows another day's answers."""
    child = _child(request, pk)
    today = child.today()
    slots = [
        DoseSlot(p.drug, p.get_drug_display(), slot, slot.label, mg, None)
        for p in prescriptions_in_force(child, today)
        for slot, mg in p.slots
    ]
    _dose_form_state(slots, None, {})
    empty = Day(child, today, None, slots, [], None, [])
    response = render(
        request,
        "diary/day.html",
        {
            "child": child,
            "instrument": child.get_instrument(),
            "errors": {},
            "posted": None,
            "day": empty,
            "shell": True,
            "prescribed": bool(slots),
            "items": _items(child.get_instrument(), None, None, {}),
            "steroid_choices": Steroid.choices,
            "dose_statuses": DoseStatus.choices,
            "steroid_posted": {"drug": None, "mg": ""},
            "new_ids": {"entry": "", "steroid": "", "growth": ""},
            "offline_days": OFFLINE_DAYS,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _dose_form_state(slots, posted, errors) -> None:
    """What each dose row shows: the posted values after an error, else what is stored."""
    for s in slots:
        s.errors = [v for k, v in errors.items() if k.startswith(s.prefix + "-")]
        if posted is not None:
            s.chosen_status = posted.get(f"{s.prefix}-status", "")
            s.chosen_mg = posted.get(f"{s.prefix}-mg", "")
        elif s.given is not None:
            s.chosen_status = s.given.status
            s.chosen_mg = s.given.given_mg if s.given.status == DoseStatus.DIFFERENT else ""
        else:
            s.chosen_status, s.chosen_mg = "", ""


def _items(instrument, entry, posted, errors):
    rows = []
    for item in instrument.items:
        if posted is not None:
            raw = posted.get(f"item-{item.key}")
            chosen = int(raw) if raw not in (None, "") and raw.lstrip("-").isdigit() else None
        else:
            chosen = entry.scores.get(item.key) if entry else None
        rows.append(
            {
                "item": item,
                "chosen": chosen,
                "choices": list(enumerate(item.choices)),
                "error": errors.get(f"scores.{item.key}"),
            }
        )
    return rows


def day_from_post(post, child: Child, slots) -> dict:
    """The day page's form as the body of POST /api/days/ (entry, doses, steroids, growth).

    Both the page and the phone's script save through `recording.record_day`."""
    scores = {
        item.key: int(post[f"item-{item.key}"])
        for item in child.get_instrument().items
        if post.get(f"item-{item.key}", "").lstrip("-").isdigit()
    }
    both = "no_symptoms_all_given" in post
    # "No symptoms" is kept when the page comes back with every answer still 0: saving doses
    # later must not turn the parent's "no symptoms" into a plain set of zeros.
    kept = post.get("no_symptoms_kept") == "1" and not any(scores.values())
    no_symptoms = "no_symptoms" in post or both or kept
    entry = {
        "id": _uuid(post.get("entry_id")),
        "version": _version(post.get("entry_version")),
        "scores": scores,
        "no_symptoms": no_symptoms,
        "max_temperature": post.get("max_temperature", "").strip(),
        "illness": post.get("illness") == "on",
        "zoster": post.get("zoster") == "on",
        "note": post.get("note", ""),
        "seizure_count": post.get("seizure_count", "").strip(),
        "seizure_longest_min": post.get("seizure_longest_min", "").strip(),
        "seizure_rescue": post.get("seizure_rescue", ""),  # "yes", "no" or "" (not said)
    }
    has_entry = entry["version"] or any(v for k, v in entry.items() if k not in ("id", "version"))
    all_given = both or post.get("all_given") == "on"
    doses = []
    for slot in slots:
        status = DoseStatus.GIVEN if all_given else post.get(f"{slot.prefix}-status", "")
        if status:
            doses.append(
                {
                    "id": _uuid(post.get(f"{slot.prefix}-id")),
                    "version": _version(post.get(f"{slot.prefix}-version")),
                    "drug": slot.drug,
                    "slot": slot.slot,
                    "status": status,
                    "given_mg": post.get(f"{slot.prefix}-mg") if status == "different" else None,
                }
            )
    steroids = []
    if post.get("steroid-mg", "").strip():
        steroids.append(
            {
                "id": _uuid(post.get("steroid-id")),
                "drug": post.get("steroid-drug"),
                "mg": post.get("steroid-mg"),
            }
        )
    growth = {
        "id": _uuid(post.get("growth-id")),
        "version": _version(post.get("growth-version")),
        "weight_kg": post.get("weight_kg", "").strip(),
        "height_cm": post.get("height_cm", "").strip(),
        "confirm_sds": post.get("confirm_sds") == "1",
    }
    has_growth = growth["version"] or growth["weight_kg"] or growth["height_cm"]
    return {
        "entry": entry if has_entry else None,
        "doses": doses,
        "steroids": steroids,
        "growth": growth if has_growth else None,
    }


def _form_errors(errors: dict[str, str], slots, body: dict) -> dict[str, str]:
    """record_day's error keys ("doses.1.given_mg") as the page's field names."""
    prefixes = {
        str(i): next(s.prefix for s in slots if s.drug == d["drug"] and s.slot == d["slot"])
        for i, d in enumerate(body["doses"])
    }
    out = {}
    for key, message in errors.items():
        part, _dot, rest = key.partition(".")
        if part in ("entry", "growth"):
            out[rest] = message
        elif part == "doses":
            index, _dot, field = rest.partition(".")
            out[f"{prefixes[index]}-{field}"] = message
        elif part == "steroids":
            out[f"steroid-{rest.partition('.')[2]}"] = message
        else:
            out[key] = message
    return out


def _save_day(request, child: Child, day: date) -> dict | None:
    """Save everything the form sent, or nothing: None on success, else what went wrong."""
    slots = load_day(child, day).doses
    body = day_from_post(request.POST, child, slots)
    parts = recording.day_parts(**body)
    if not parts:
        return {"errors": {"scores": _("Nothing to save yet: answer a question or record a dose.")}}
    try:
        recording.record_day(child, request.user, day, parts)
    except recording.Invalid as invalid:
        return {"errors": _form_errors(invalid.errors, slots, body)}
    except recording.DayConflict as conflict:
        return {"errors": {}, "conflict": conflict.conflicts[0][1]}
    return None


@login_required
def days_page(request, pk: int):
    child = _child(request, pk)
    today = child.today()
    first = max(today - timedelta(days=HISTORY_DAYS - 1), child.date_of_birth)
    days = [(today - timedelta(days=n)) for n in range((today - first).days + 1)]
    statuses = day_statuses((child, d) for d in days)
    rows = [{"date": d, "status": statuses[child.pk, d]} for d in days]
    states = Counter(row["status"].state for row in rows)
    return render(
        request,
        "diary/days.html",
        {
            "child": child,
            "rows": rows,
            "today": today,
            "nothing_recorded": states[DayState.EMPTY],
            "doses_not_recorded": states[DayState.SYMPTOMS_ONLY],
            "symptoms_not_recorded": states[DayState.DOSES_ONLY],
        },
    )
