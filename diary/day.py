"""One day of a child's diary as the page shows it: the entry, doses, steroids and growth."""

import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from diary.doses import SLOTS
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
)

LATE_NIGHT_UNTIL_HOUR = 3  # before 3 am a parent is probably still recording yesterday


@dataclass
class DoseSlot:
    drug: str
    drug_label: str
    slot: str
    slot_label: str
    prescribed_mg: object
    given: DoseAdministration | None
    new_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def prefix(self) -> str:
        return f"dose-{self.drug}-{self.slot}"


@dataclass
class Day:
    child: Child
    date: date
    entry: DiaryEntry | None
    doses: list[DoseSlot]
    steroids: list[SteroidDose]
    growth: GrowthMeasurement | None
    last_week: list[tuple[date, float | None]]


def prescriptions_in_force(child: Child, day: date) -> list[Prescription]:
    """The prescription in force on DAY, unless it is an interruption or a stop."""
    prescription = Prescription.objects.filter(child=child).in_force_on(day)
    return [prescription] if prescription is not None and prescription.total_mg > 0 else []


def load_day(child: Child, day: date) -> Day:
    given = {(d.drug, d.slot): d for d in DoseAdministration.objects.filter(child=child, date=day)}
    slots = []
    for prescription in prescriptions_in_force(child, day):
        for slot, mg in prescription.slots:
            slots.append(
                DoseSlot(
                    prescription.drug,
                    prescription.get_drug_display(),
                    slot,
                    slot.label,
                    mg,
                    given.pop((prescription.drug, slot), None),
                )
            )
    # Doses recorded for a slot no longer prescribed stay visible.
    for (drug, slot), dose in sorted(given.items(), key=lambda kv: SLOTS.index(kv[0][1])):
        slots.append(
            DoseSlot(
                drug,
                dose.get_drug_display(),
                slot,
                dose.get_slot_display(),
                dose.prescribed_mg,
                dose,
            )
        )
    week = dict(
        DiaryEntry.objects.for_child(child)
        .between(day - timedelta(days=6), day)
        .values_list("date", "score")
    )
    return Day(
        child=child,
        date=day,
        entry=DiaryEntry.objects.filter(child=child, date=day).first(),
        doses=slots,
        steroids=list(SteroidDose.objects.filter(child=child, date=day).order_by("created")),
        growth=GrowthMeasurement.objects.filter(child=child, date=day).first(),
        last_week=[
            (day - timedelta(days=n), week.get(day - timedelta(days=n))) for n in range(6, -1, -1)
        ],
    )


# --- How complete a day is: Past days and the home page -----------------------------------


class DayState(models.TextChoices):
    COMPLETE = "complete", gettext_lazy("Complete")
    SYMPTOMS_ONLY = "symptoms_only", gettext_lazy("Symptoms only: doses not recorded")
    DOSES_ONLY = "doses_only", gettext_lazy("Doses only: symptoms not recorded")
    EMPTY = "empty", gettext_lazy("Nothing recorded")


@dataclass(frozen=True)
class DayStatus:
    state: DayState
    entry: DiaryEntry | None  # its score is shown beside the state (None: incomplete answers)
    prescribed: int  # dose slots prescribed that day
    unrecorded: int  # of those, how many have no given, missed or different dose recorded

    @property
    def partly_dosed(self) -> bool:
        return 0 < self.unrecorded < self.prescribed

    @property
    def label(self) -> str:
        if self.state == DayState.SYMPTOMS_ONLY and self.partly_dosed:
            return ngettext(
                "Symptoms and some doses: %(n)s of %(m)s doses not recorded",
                "Symptoms and some doses: %(n)s of %(m)s doses not recorded",
                self.unrecorded,
            ) % {"n": self.unrecorded, "m": self.prescribed}
        return str(self.state.label)

    @property
    def today_label(self) -> str:
        """The same state said of today, on the home page."""
        if self.state == DayState.COMPLETE:
            return _("Today: complete ✓")
        if self.state == DayState.SYMPTOMS_ONLY and self.partly_dosed:
            return ngettext(
                "Today: symptoms recorded, %(n)s of %(m)s doses not yet",
                "Today: symptoms recorded, %(n)s of %(m)s doses not yet",
                self.unrecorded,
            ) % {"n": self.unrecorded, "m": self.prescribed}
        if self.state == DayState.SYMPTOMS_ONLY:
            return _("Today: symptoms recorded, doses not yet")
        if self.state == DayState.DOSES_ONLY:
            return _("Today: doses recorded, symptoms not yet")
        return _("Today: nothing recorded yet")


def day_status(
    entry: DiaryEntry | None,
    prescribed: Collection[tuple[str, str]],
    recorded: Collection[tuple[str, str]],
) -> DayStatus:
    """How complete a day is, from its entry (None: no entry), the (drug, slot) pairs prescribed
    that day and those with a dose recorded, whatever its status (given, missed, different).

    Any entry counts as symptoms recorded, also one with incomplete answers (its score, None,
    is shown beside). A dose recorded for a slot not prescribed that day (a drug since changed)
    counts as something recorded but covers no prescribed slot."""
    unrecorded = len(set(prescribed) - set(recorded))
    if entry is None:
        state = DayState.DOSES_ONLY if recorded else DayState.EMPTY
    else:
        state = DayState.SYMPTOMS_ONLY if unrecorded else DayState.COMPLETE
    return DayStatus(state, entry, len(set(prescribed)), unrecorded)


def _prescribed_slots(prescription: Prescription | None) -> set[tuple[str, str]]:
    """The (drug, slot) pairs a prescription asks for; none for an interruption or a stop."""
    if prescription is None or prescription.total_mg <= 0:
        return set()
    return {(prescription.drug, slot) for slot, _mg in prescription.slots}


def day_statuses(days: Iterable[tuple[Child, date]]) -> dict[tuple[int, date], DayStatus]:
    """The status of each (child, day), keyed by (child id, day).

    Three queries whatever the number of days and children: the entries, the doses and the
    prescriptions of those children between the first and last day. The caller has already
    scoped the children to what its user may see."""
    wanted = {(child.pk, day) for child, day in days}
    if not wanted:
        return {}
    ids = {pk for pk, _day in wanted}
    first, last = min(d for _pk, d in wanted), max(d for _pk, d in wanted)
    entries = {
        (e.child_id, e.date): e
        for e in DiaryEntry.objects.filter(child_id__in=ids).between(first, last)
    }
    recorded = defaultdict(set)
    doses = DoseAdministration.objects.filter(child_id__in=ids).between(first, last)
    for child_id, day, drug, slot in doses.values_list("child_id", "date", "drug", "slot"):
        recorded[child_id, day].add((drug, slot))
    timelines = defaultdict(list)  # per child, by start date: one prescription in force at a time
    prescriptions = Prescription.objects.filter(child_id__in=ids, start_date__lte=last)
    for prescription in prescriptions.order_by("child_id", "start_date"):
        timelines[prescription.child_id].append(prescription)
    starts = {pk: [p.start_date for p in timeline] for pk, timeline in timelines.items()}
    statuses = {}
    for child_id, day in wanted:
        latest = bisect_right(starts.get(child_id, []), day)
        in_force = timelines[child_id][latest - 1] if latest else None
        statuses[child_id, day] = day_status(
            entries.get((child_id, day)), _prescribed_slots(in_force), recorded[child_id, day]
        )
    return statuses
