"""The phone pages: record a day, and the last 30 days."""

import logging
import uuid
import zoneinfo
from collections import Counter
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from diary import recording
from diary.day import LATE_NIGHT_UNTIL_HOUR, DayState, day_statuses, load_day
from diary.doses import Steroid
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    DoseStatus,
    GrowthMeasurement,
    SteroidDose,
)

HISTORY_DAYS = 30

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


class _Rollback(Exception):
    pass


def _save_day(request, child: Child, day: date) -> dict | None:
    """Save everything the form sent, or nothing: None on success, else what went wrong."""
    post = request.POST
    parts = []  # (model, row id, data, base version, error prefix)
    scores = {
        item.key: int(post[f"item-{item.key}"])
        for item in child.get_instrument().items
        if post.get(f"item-{item.key}", "").lstrip("-").isdigit()
    }
    entry = {
        "scores": scores,
        "no_symptoms": "no_symptoms" in post,
        "max_temperature": post.get("max_temperature", "").strip(),
        "illness": post.get("illness") == "on",
        "note": post.get("note", ""),
    }
    entry_version = _version(post.get("entry_version"))
    if entry_version or any(entry.values()):
        parts.append((DiaryEntry, post.get("entry_id"), entry, entry_version, ""))

    all_given = post.get("all_given") == "on"
    for slot in load_day(child, day).doses:
        status = DoseStatus.GIVEN if all_given else post.get(f"{slot.prefix}-status", "")
        if status:
            data = {
                "drug": slot.drug,
                "slot": slot.slot,
                "status": status,
                "given_mg": post.get(f"{slot.prefix}-mg") if status == "different" else None,
            }
            parts.append(
                (
                    DoseAdministration,
                    post.get(f"{slot.prefix}-id"),
                    data,
                    _version(post.get(f"{slot.prefix}-version")),
                    f"{slot.prefix}-",
                )
            )
    if post.get("steroid-mg", "").strip():
        data = {"drug": post.get("steroid-drug"), "mg": post.get("steroid-mg")}
        parts.append((SteroidDose, post.get("steroid-id"), data, None, "steroid-"))
    growth_version = _version(post.get("growth-version"))
    growth = {
        "weight_kg": post.get("weight_kg", "").strip(),
        "height_cm": post.get("height_cm", "").strip(),
    }
    if growth_version or any(growth.values()):
        parts.append((GrowthMeasurement, post.get("growth-id"), growth, growth_version, ""))

    if not parts:
        return {"errors": {"scores": _("Nothing to save yet: answer a question or record a dose.")}}
    errors: dict[str, str] = {}
    try:
        with transaction.atomic():
            for model, row_id, data, base_version, prefix in parts:
                try:
                    recording.record(
                        model, child, request.user, _uuid(row_id), day, data, base_version
                    )
                except recording.Invalid as invalid:
                    errors.update({prefix + k: v for k, v in invalid.errors.items()})
            if errors:
                raise _Rollback
    except _Rollback:
        return {"errors": errors}
    except recording.Conflict as conflict:
        return {"errors": {}, "conflict": conflict.current}
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
