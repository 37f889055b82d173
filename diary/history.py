"""Who changed what about a child, and what it was before: read from the history tables."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diary import assessments, instruments, language
from diary.models import (
    CareLink,
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
    VisitAssessment,
)

RECORDED = (
    DiaryEntry,
    DoseAdministration,
    SteroidDose,
    GrowthMeasurement,
    Prescription,
    VisitAssessment,
)

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
ACTION_LABELS = {
    "created": gettext_lazy("Created"),
    "changed": gettext_lazy("Changed"),
    "deleted": gettext_lazy("Deleted"),
}
# Bookkeeping that changes with every save: not a change a reader needs to see.
HIDDEN_FIELDS = {"version", "updated", "created", "answered"}


@dataclass
class Change:
    when: datetime
    who: str
    what: str
    action: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (label, before, after)

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS[self.action])


def _display(record, name: str) -> str:
    value = getattr(record, name, None)
    if value in (None, ""):
        return "–"
    display = getattr(record, f"get_{name}_display", None)
    if callable(display):
        return str(display())
    return _value(value)


def _value(value) -> str:
    """VALUE as the reader writes it: dates, numbers and yes/no in their language."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return date_format(value, "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, (Decimal, float)):
        return language.number(value)
    return str(value)


def _instrument(record) -> instruments.Instrument | None:
    try:
        return instruments.get(record.instrument_key, record.instrument_version)
    except KeyError:
        return None


def _score_changes(older, newer) -> list[tuple[str, str, str]]:
    """Each diary item whose score changed: its label and the wording of both scores (the
    instrument version of each record, so an old answer keeps the words it was given with)."""
    before, after = older.scores or {}, newer.scores or {}
    rows = []
    for key in list(after) + [k for k in before if k not in after]:
        if before.get(key) == after.get(key):
            continue
        label = key
        wordings = []
        for record, value in ((older, before.get(key)), (newer, after.get(key))):
            instrument = _instrument(record)
            try:
                item = instrument.item(key)
            except (AttributeError, KeyError):
                wordings.append(_value(value))
                continue
            label = str(item.label)
            if isinstance(value, int) and 0 <= value < len(item.choices):
                wordings.append(f"{value} – {item.choices[value]}")
            else:
                wordings.append(_value(value))
        rows.append((label, *wordings))
    return rows


def _subscore_changes(older, newer) -> list[tuple[str, str, str]]:
    before, after = older.subscores or {}, newer.subscores or {}
    labels = getattr(_instrument(newer), "subscore_labels", {})
    return [
        (
            _("%(name)s sub-score") % {"name": labels.get(key, key)},
            _value(before.get(key)),
            _value(after.get(key)),
        )
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


def _ags_item_changes(older, newer) -> list[tuple[str, str, str]]:
    """Each AGS Scale item whose score changed, by its label."""
    before, after = older.ags_items or {}, newer.ags_items or {}
    return [
        (str(item.label), _value(before.get(item.key)), _value(after.get(item.key)))
        for item in assessments.AGS_SCALE_ITEMS
        if before.get(item.key) != after.get(item.key)
    ]


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
                who=newer.history_user.display_name if newer.history_user else _("system"),
                what=describe(newer),
                action=ACTIONS[newer.history_type],
            )
            if older is not None and newer.history_type == "~":
                delta = newer.diff_against(older)
                for item in delta.changes:
                    if item.field in HIDDEN_FIELDS:
                        continue
                    if item.field == "scores" and hasattr(newer, "instrument_key"):
                        change.fields += _score_changes(older, newer)
                        continue
                    if item.field == "subscores" and hasattr(newer, "instrument_key"):
                        change.fields += _subscore_changes(older, newer)
                        continue
                    if item.field == "ags_items":
                        change.fields += _ags_item_changes(older, newer)
                        continue
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
    return f"{label} {date_format(date, 'SHORT_DATE_FORMAT')}" if date else label


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
            _("%(what)s: %(who)s (%(relationship)s)")
            % {
                "what": r.instance._meta.verbose_name,
                "who": r.caregiver.display_name,
                "relationship": r.get_relationship_display(),
            }
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
