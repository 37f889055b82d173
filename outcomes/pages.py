"""What the child's page, the charts and the report share: one child's summary, cached charts."""

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone, translation

from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
)
from outcomes import charts, summaries
from outcomes.models import LabResult
from outcomes.thresholds import CHART_ANALYTES

VERSIONED = (DiaryEntry, DoseAdministration, SteroidDose, GrowthMeasurement)


def _latest(model, field: str):
    rows = model.objects.filter(child=OuterRef("pk")).order_by().values("child")
    return Subquery(rows.annotate(v=Max(field)).values("v")[:1])


def _count(model):
    rows = model.objects.filter(child=OuterRef("pk")).order_by().values("child")
    return Coalesce(Subquery(rows.annotate(v=Count("pk")).values("v")[:1]), 0)


def data_version(child: Child) -> str:
    """Changes whenever anything drawn on the child's charts changes (one query)."""
    annotations = {}
    for model in VERSIONED:
        name = model._meta.model_name
        annotations[f"{name}_n"] = _count(model)
        annotations[f"{name}_t"] = _latest(model, "updated")
    annotations["rx_t"] = _latest(Prescription.history.model, "history_date")
    annotations["lab_t"] = _latest(LabResult.history.model, "history_date")
    values = (
        Child.objects.filter(pk=child.pk)
        .annotate(**annotations)
        .values(*annotations, "optimal_dose_date", "final_visit_date", "instrument", "diagnosis")[0]
    )
    raw = repr(sorted(values.items())) + child.today().isoformat()
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass
class ChildOutcome:
    child: Child
    data: summaries.ChildData
    summary: summaries.ChildSummary
    labs: list  # charts.LabPanel


def child_outcome(child: Child) -> ChildOutcome:
    data = summaries.load([child])[child.pk]
    results = defaultdict(list)
    for analyte, sampled, value, egfr in (
        LabResult.objects.filter(child=child, analyte__in=(*CHART_ANALYTES, "creatinine"))
        .order_by("sample_date")
        .values_list("analyte", "sample_date", "value", "egfr")
    ):
        if analyte == "creatinine":
            if egfr is not None:
                results["egfr"].append((sampled, egfr))
        else:
            results[analyte].append((sampled, value))
    drugs = [dose.drug for dose in sorted(data.doses, key=lambda d: d.start) if dose.total_mg]
    labs = charts.lab_panels(results, drugs[-1] if drugs else "baricitinib")
    return ChildOutcome(child, data, summaries.summarise(data), labs)


def timeline_chart(child: Child, fmt: str) -> bytes:
    """The child's timeline chart, rendered once per data version, format and language."""
    key = f"timeline:{child.pk}:{data_version(child)}:{fmt}:{translation.get_language()}"
    body = cache.get(key)
    if body is None:
        outcome = child_outcome(child)
        figure = charts.timeline_figure(
            outcome.data,
            outcome.summary.phases,
            f"{child.first_name} – {child.get_instrument().name}",
            child.get_instrument().max_score,
            outcome.labs,
        )
        body = charts.render(figure, fmt)
        cache.set(key, body)
    return body


def generated_at() -> str:
    return timezone.localtime().strftime("%Y-%m-%d %H:%M")
