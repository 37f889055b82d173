"""Erasing a child after consent withdrawal and the legal retention.

Every row about the child is deleted (the ORM cascades from the child: caregiver links,
invitations, diary entries, doses, growth, prescriptions, lab results and flags, reminders).
The audit trail stays, so that who did what and when can still be shown, but its rows about the
child keep only the ids, the actors and the pseudonym: every other value of the child's
historical rows, and of the historical rows of everything recorded about the child, is
blanked, and so are the Django admin's log entries about those rows.

Tables are found by walking the relations from Child, so a new model that refers to a child is
covered without being listed here; one that refers to a child without cascading must say how to
pseudonymise its rows (``pseudonymise_for_erasure``) or the erasure is refused.
"""

import hashlib
import hmac
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.models import HistoricalChanges

from diary.models import Child

logger = logging.getLogger(__name__)

# What blanked dates become in the audit trail: obviously not a real date of the child.
BLANK_DATE = date(1900, 1, 1)
HISTORY_FIELDS = {
    "history_id",
    "history_date",
    "history_type",
    "history_user",
    "history_change_reason",
}


class NotErasable(Exception):
    """The child may not be erased (yet); the message says why."""


def erasure_problem(withdrawn_on: date | None, today: date, retention_days: int) -> str | None:
    """Why a child whose consent was withdrawn on WITHDRAWN_ON may not be erased TODAY, or None.

    Erasure needs a withdrawal, then RETENTION_DAYS full days: a withdrawal on 1 March with 30
    days of retention allows erasure from 31 March."""
    if withdrawn_on is None:
        return _("Consent has not been withdrawn: a child is erased only after a withdrawal.")
    first_day = withdrawn_on + timedelta(days=retention_days)
    if today < first_day:
        return _(
            "The legal retention runs until %(date)s: the record can be erased from that day."
        ) % {"date": first_day.isoformat()}
    return None


def problem_for(child: Child, today: date | None = None) -> str | None:
    return erasure_problem(
        child.consent_withdrawn_date,
        today or timezone.localdate(),
        settings.ERASURE_RETENTION_DAYS,
    )


def pseudonym(child_pk: int) -> str:
    """The child's pseudonym in the audit trail: HMAC-SHA256 under PSEUDONYM_KEY, with a context
    of its own so it matches no research pseudonym."""
    message = f"erasure:{child_pk}".encode()
    return hmac.new(settings.PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()


def confirmation_word(child: Child) -> str:
    """What a site administrator types to confirm: the site reference, else the full name."""
    return child.reference or f"{child.first_name} {child.last_name}"


@dataclass
class Erased:
    pseudonym: str
    deleted: dict[str, int] = field(default_factory=dict)
    history_blanked: dict[str, int] = field(default_factory=dict)


def _is_historical(model) -> bool:
    return issubclass(model, HistoricalChanges)


def _reverse_relations(model):
    """Relations pointing at MODEL from other tables, hidden ones ("+") included."""
    return [
        rel
        for rel in model._meta.get_fields(include_hidden=True)
        if rel.auto_created
        and not rel.concrete
        and (rel.one_to_many or rel.one_to_one)
        and not _is_historical(rel.related_model)
    ]


def rows_about(child: Child) -> tuple[dict, dict]:
    """({model: pks} deleted with the child, {model: pks} that refer to it without cascading)."""
    owned: dict = defaultdict(set)
    owned[Child].add(child.pk)
    other: dict = defaultdict(set)
    queue = [(Child, {child.pk})]
    while queue:
        model, pks = queue.pop()
        for rel in _reverse_relations(model):
            related = rel.related_model
            found = set(
                related._base_manager.filter(**{f"{rel.field.name}__in": pks}).values_list(
                    "pk", flat=True
                )
            )
            new = found - owned[related]
            if not new:
                continue
            if rel.on_delete is models.CASCADE:
                owned[related] |= new
                queue.append((related, new))
            else:
                other[related] |= new
    strays = {m: pks - owned[m] for m, pks in other.items() if pks - owned[m]}
    return dict(owned), strays


def _blank(field_: models.Field):
    if field_.null:
        return None
    if isinstance(field_, models.JSONField):
        return {}
    if isinstance(field_, models.BooleanField):
        return False
    if isinstance(field_, models.DateTimeField):
        raise ValueError(f"{field_} has no blank value")
    if isinstance(field_, models.DateField):
        return BLANK_DATE
    if isinstance(field_, models.CharField | models.TextField):
        return ""
    if isinstance(field_, models.IntegerField | models.DecimalField | models.FloatField):
        return 0
    raise ValueError(f"{field_} has no blank value")


def _blanked_values(model, alias: str) -> dict:
    """{field: blank} for the historical rows of MODEL: every value but the history's own
    fields, the ids, the links to other rows (actors, parents) and the row's timestamps."""
    historical = model.history.model
    stamps = {
        f.name
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    }
    values = {}
    for f in historical._meta.concrete_fields:
        if f.name in HISTORY_FIELDS or f.name in stamps or f.is_relation:
            continue
        if f.name == model._meta.pk.name:
            continue
        values[f.name] = _blank(f)
    if model is Child:
        values["first_name"] = alias
    return values


def erase(child: Child, by=None, today: date | None = None) -> Erased:
    """Erase CHILD (see the module's docstring); NotErasable when the rules forbid it."""
    with transaction.atomic():
        child = Child.objects.select_for_update().get(pk=child.pk)
        problem = problem_for(child, today)
        if problem:
            raise NotErasable(problem)
        owned, strays = rows_about(child)
        alias = pseudonym(child.pk)
        for model, pks in strays.items():
            hook = getattr(model, "pseudonymise_for_erasure", None)
            if hook is None:
                raise NotErasable(
                    _("%(table)s refers to this child and cannot be erased automatically.")
                    % {"table": model._meta.verbose_name}
                )
            hook(model._base_manager.filter(pk__in=pks), alias)
        result = Erased(alias)
        child._change_reason = "erasure"
        if by is not None:
            child._history_user = by
        _count, per_model = child.delete()
        result.deleted = {label: n for label, n in per_model.items() if n}
        for model, pks in owned.items():
            if not hasattr(model, "history"):
                continue
            blanked = model.history.model._base_manager.filter(
                **{f"{model._meta.pk.name}__in": pks}
            ).update(**_blanked_values(model, alias))
            result.history_blanked[model.history.model._meta.label] = blanked
        # The Django admin's log names objects by their str(), which holds the child's name.
        for model, pks in owned.items():
            LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=[str(pk) for pk in pks],
            ).update(object_repr=alias, change_message="")
        # Cached charts carry the child's name; the cache holds nothing that cannot be redrawn.
        transaction.on_commit(cache.clear)
    logger.info("child %s erased (pseudonym %s)", child.pk, alias[:12])
    return result
