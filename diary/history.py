"""Who changed what about a child, and what it was before: read from the history tables."""

from dataclasses import dataclass, field
from datetime import datetime

from diary.models import (
    CareLink,
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
)

RECORDED = (DiaryEntry, DoseAdministration, SteroidDose, GrowthMeasurement, Prescription)

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Change:
    when: datetime
    who: str
    what: str
    action: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (label, before, after)


def _display(record, name: str) -> str:
    value = getattr(record, name, None)
    if value in (None, ""):
        return "–"
    display = getattr(record, f"get_{name}_display", None)
    return str(display()) if callable(display) else str(value)


def _changes(records, describe) -> list[Change]:
    """RECORDS newest first for one model; each compared with the one before it."""
    changes = []
    by_object: dict[int, list] = {}
    for record in records:
        by_object.setdefault(record.id, []).append(record)
    for versions in by_object.values():
        for newer, older in zip(versions, versions[1:] + [None], strict=True):
            change = Change(
                when=newer.history_date,
                who=newer.history_user.display_name if newer.history_user else "system",
                what=describe(newer),
                action=ACTIONS[newer.history_type],
            )
            if older is not None and newer.history_type == "~":
                delta = newer.diff_against(older)
                for item in delta.changes:
                    label = str(newer.instance._meta.get_field(item.field).verbose_name)
                    change.fields.append(
                        (label, _display(older, item.field), _display(newer, item.field))
                    )
                if not change.fields:
                    continue
            changes.append(change)
    return changes


def _describe_record(record) -> str:
    label = str(record.instance._meta.verbose_name)
    date = getattr(record, "date", None) or getattr(record, "start_date", None)
    return f"{label} {date:%Y-%m-%d}" if date else label


def changes_for_child(child: Child, limit: int = 200) -> list[Change]:
    """The newest LIMIT changes to the child and everything recorded about them."""
    changes = _changes(
        list(child.history.select_related("history_user").order_by("-history_date")[:limit]),
        lambda r: str(r.instance._meta.verbose_name),
    )
    links = (
        CareLink.history.filter(child_id=child.pk)
        .select_related("history_user", "caregiver")
        .order_by("-history_date")[:limit]
    )
    changes += _changes(
        list(links),
        lambda r: (
            f"{r.instance._meta.verbose_name}: {r.caregiver.display_name}"
            f" ({r.get_relationship_display()})"
        ),
    )
    for model in RECORDED:
        records = (
            model.history.filter(child_id=child.pk)
            .select_related("history_user")
            .order_by("-history_date")[:limit]
        )
        changes += _changes(list(records), _describe_record)
    changes.sort(key=lambda c: c.when, reverse=True)
    return changes[:limit]
