"""One day of a child's diary as the page shows it: the entry, doses, steroids and growth."""

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

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
