"""What the child's page, the charts and the report share: one child's summary, cached charts."""

import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import product

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.formats import date_format

from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
    VisitAssessment,
)
from outcomes import charts, phone_chart, queueing, summaries, timeline
from outcomes.models import LabResult
from outcomes.thresholds import CHART_ANALYTES

logger = logging.getLogger(__name__)

VERSIONED = (DiaryEntry, DoseAdministration, SteroidDose, GrowthMeasurement, VisitAssessment)


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
        .values(
            *annotations,
            "optimal_dose_date",
            "final_visit_date",
            "instrument",
            "diagnosis",
            "first_name",
        )[0]
    )
    raw = repr(sorted(values.items())) + child.today().isoformat()
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass
class ChildOutcome:
    child: Child
    data: summaries.ChildData
    summary: summaries.ChildSummary
    labs: list  # timeline.Panel: the result panels the child has

    def timeline(self, start=None, end=None) -> timeline.Timeline:
        return timeline.build(self.data, self.summary.phases, self.labs, start=start, end=end)


# Results drawn under the doses (with creatinine, for its eGFR).
TIMELINE_ANALYTES = (*CHART_ANALYTES, "crp", "ifn_score", "ip10")


def child_outcome(child: Child) -> ChildOutcome:
    data = summaries.load([child])[child.pk]
    results = defaultdict(list)
    for analyte, sampled, value, egfr, uln, threshold in (
        LabResult.objects.filter(child=child, analyte__in=(*TIMELINE_ANALYTES, "creatinine"))
        .order_by("sample_date")
        .values_list("analyte", "sample_date", "value", "egfr", "uln", "positivity_threshold")
    ):
        if analyte == "creatinine":
            if egfr is not None:
                results["egfr"].append(timeline.Result(sampled, float(egfr)))
        else:
            limit = threshold if analyte == "ifn_score" else uln
            results[analyte].append(
                timeline.Result(sampled, float(value), None if limit is None else float(limit))
            )
    for name, points in VisitAssessment.series_for(child).items():
        results[name] = [timeline.Result(day, value) for day, value in points]
    references = []
    for day, height, weight, reference in (
        GrowthMeasurement.objects.filter(child=child)
        .filter(Q(height_sds__isnull=False) | Q(weight_sds__isnull=False))
        .order_by("date")
        .values_list("date", "height_sds", "weight_sds", "growth_reference")
    ):
        for name, sds in (("height_sds", height), ("weight_sds", weight)):
            if sds is not None:
                results[name].append(timeline.Result(day, sds))
        references.append((day, reference))
    drugs = [dose.drug for dose in sorted(data.doses, key=lambda d: d.start) if dose.total_mg]
    labs = timeline.panels(results, drugs[-1] if drugs else "baricitinib", references)
    return ChildOutcome(child, data, summaries.summarise(data), labs)


# --- The timeline chart, drawn once per data version ----------------------------------------
#
# One cache entry per child, format and language holds the latest drawing with the data
# version it shows. A view whose data changed since is answered with that drawing at once,
# saying when it was drawn, while a worker draws the new one (asked for by every save: see
# signals.py); only when no worker has done so within TIMELINE_REDRAW_WAIT_SECONDS, or there
# is no drawing yet, does the request draw it itself.

DRAWN_AHEAD = ("svg", "phone")  # what the pages show; a PNG download is drawn when asked


@dataclass(frozen=True)
class Drawing:
    body: bytes
    version: str
    drawn_at: datetime
    fresh: bool  # of the data as it is now

    @property
    def drawn_text(self) -> str:
        return date_format(timezone.localtime(self.drawn_at), "SHORT_DATETIME_FORMAT")


def _key(pk: int, fmt: str, language: str) -> str:
    return f"timeline:{pk}:{fmt}:{language}"


def _asked_key(pk: int, version: str) -> str:
    return f"timeline:{pk}:asked:{version}"


def draw(child: Child, fmt: str, version: str, outcome: ChildOutcome | None = None) -> Drawing:
    """Draw CHILD's chart in FMT now, in the active language, and keep it as the latest."""
    outcome = outcome or child_outcome(child)
    instrument = child.get_instrument()
    drawn_at = timezone.now()
    when = date_format(timezone.localtime(drawn_at), "SHORT_DATETIME_FORMAT")
    series = outcome.timeline()
    if fmt == "phone":
        figure = phone_chart.draw(series.last(timeline.PHONE_DAYS), instrument.max_score, when)
    else:
        title = f"{child.first_name} – {instrument.name}"
        figure = charts.draw_timeline(series, title, instrument.max_score, drawn_at=when)
    body = charts.render(figure, "png" if fmt == "png" else "svg")
    cache.set(_key(child.pk, fmt, translation.get_language()), (version, drawn_at, body))
    return Drawing(body, version, drawn_at, True)


def latest_drawing(child: Child, fmt: str = "svg") -> tuple[str, datetime] | None:
    """(data version, when) of the latest drawing in the active language, if any."""
    kept = cache.get(_key(child.pk, fmt, translation.get_language()))
    return (kept[0], kept[1]) if kept else None


def timeline_chart(child: Child, fmt: str, stale_ok: bool = True) -> Drawing:
    """The child's chart in FMT for the data as it is now; with STALE_OK, the latest drawing
    while a worker draws the new one (see above)."""
    version = data_version(child)
    kept = cache.get(_key(child.pk, fmt, translation.get_language()))
    if kept and kept[0] == version:
        return Drawing(kept[2], version, kept[1], True)
    if kept and stale_ok and _waiting_for_worker(child, version):
        return Drawing(kept[2], kept[0], kept[1], False)
    return draw(child, fmt, version)


def _waiting_for_worker(child: Child, version: str) -> bool:
    """Ask a worker for VERSION's drawings once; True while it may still be drawing them."""
    wait = settings.TIMELINE_REDRAW_WAIT_SECONDS
    if not settings.TIMELINE_DRAW_AHEAD or wait <= 0:
        return False  # no worker draws: the view does
    now = time.time()
    if cache.add(_asked_key(child.pk, version), now, timeout=24 * 3600):
        enqueue_drawing(child.pk, force=True)
        return True
    asked = cache.get(_asked_key(child.pk, version)) or 0
    return now - asked < wait


def chart_languages(child: Child) -> set[str]:
    """The languages of the people who see CHILD's chart (its caregivers and its site's
    clinicians), and the site's default."""
    from diary.models import CLINICAL_ROLES, User

    codes = set(
        User.objects.filter(
            Q(care_links__child=child)
            | Q(memberships__site=child.site_id, memberships__role__in=CLINICAL_ROLES),
            is_active=True,
        ).values_list("language", flat=True)
    )
    known = {code for code, _name in settings.LANGUAGES}
    return (codes | {settings.LANGUAGE_CODE}) & known


def draw_ahead(child_id: int) -> int:
    """Draw the charts the pages show for the child's data as it is now, in every language
    its readers use, unless drawn already; how many were drawn."""
    child = Child.objects.filter(pk=child_id).select_related("site").first()
    if child is None:
        return 0
    version = data_version(child)
    outcome, drawn = None, 0
    for language in sorted(chart_languages(child)):
        with translation.override(language):
            for fmt in DRAWN_AHEAD:
                kept = cache.get(_key(child.pk, fmt, language))
                if kept and kept[0] == version:
                    continue
                outcome = outcome or child_outcome(child)
                draw(child, fmt, version, outcome)
                drawn += 1
    if drawn and not Child.objects.filter(pk=child_id).exists():
        # Erased while being drawn: its erasure emptied the cache, and so must this.
        for (language, _name), fmt in product(settings.LANGUAGES, DRAWN_AHEAD):
            cache.delete(_key(child_id, fmt, language))
        return 0
    return drawn


_enqueued: dict[int, float] = {}
ENQUEUE_AGAIN_AFTER = 2.0  # seconds: the saves of one day's record ask once


def enqueue_drawing(child_id: int, force: bool = False) -> None:
    """Ask a worker to draw the child's charts; never fails the caller (a broker that is down
    leaves the page to draw it when next seen)."""
    if not settings.TIMELINE_DRAW_AHEAD:
        return
    now = time.monotonic()
    if not force and now - _enqueued.get(child_id, -ENQUEUE_AGAIN_AFTER) < ENQUEUE_AGAIN_AFTER:
        return
    _enqueued[child_id] = now
    try:
        queueing.enqueue(queueing.DRAW_TIMELINE, child_id)
    except Exception:  # noqa: BLE001 - any broker error: the page draws it instead
        logger.warning("broker unavailable: child %s's chart will be drawn when seen", child_id)


def timeline_csv(outcome: ChildOutcome) -> tuple[list[str], list[list]]:
    return timeline.table(outcome.timeline())


def generated_at() -> str:
    return timezone.localtime().strftime("%Y-%m-%d %H:%M")
