"""The treatment page: prescriptions, guidance and warnings, markers, phases, eGFR."""

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from diary import csvsafe, growth, instruments
from diary.access import log_access, logs_itself, not_logged
from diary.models import (
    AccessAction,
    Child,
    DiaryEntry,
    DoseAdministration,
    Drug,
    Indication,
    Medicine,
    Prescription,
    Screening,
    SteroidPrescription,
)
from outcomes import (
    attention,
    charts,
    cohort_charts,
    cohort_sql,
    course,
    family_summary,
    growth_charts,
    guideline,
    pages,
    reminders,
    report,
    summaries,
    thresholds,
    treatment,
)
from outcomes.forms import (
    CreatinineForm,
    MarkersForm,
    MedicineForm,
    PrescriptionForm,
    ScreeningForm,
    SteroidPrescriptionForm,
)
from outcomes.labs import record_lab
from outcomes.models import Analyte, LabFlag


def _visible(request, pk: int) -> Child:
    return get_object_or_404(Child.objects.visible_to(request.user), pk=pk)


def _managed(request, pk: int) -> Child:
    """The child, for a change: 404 for strangers, 403 with a reason for linked caregivers."""
    child = _visible(request, pk)
    if not Child.objects.managed_by(request.user).filter(pk=child.pk).exists():
        raise PermissionDenied(_("Only the child's clinicians can change the treatment."))
    return child


def _back_with_errors(request, form, pk: int):
    """Back to the treatment page, each of FORM's errors shown as a message."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect("treatment", pk=pk)


@login_required
def treatment_page(request, pk: int):
    child = _visible(request, pk)
    can_manage = Child.objects.managed_by(request.user).filter(pk=pk).exists()
    result = treatment.child_phases(child)
    today = child.today()
    steroid_week = treatment.steroid_mg_per_kg_by_day(child, today - timedelta(days=6), today)
    context = {
        "steroid_week_mean": (sum(steroid_week.values()) / len(steroid_week)).quantize(
            Decimal("0.01")
        )
        if steroid_week
        else None,
        "child": child,
        "can_manage": can_manage,
        "rows": treatment.timeline(child),
        "steroids": child.steroid_prescriptions.order_by("-start_date"),
        "phases": result,
        "phase_rows": [(n, result.intervals[n]) for n in (1, 2, 3, 4)],
        "inputs": treatment.inputs_for(child, child.today()),
        "markers_form": MarkersForm(instance=child) if can_manage else None,
        "creatinine_form": CreatinineForm(initial={"sample_date": child.today()})
        if can_manage
        else None,
        **screening_context(child, can_manage),
        "medicines": [
            (m, treatment.medicine_cautions(m))
            for m in child.medicines.select_related("child").order_by("-start_date", "name")
        ],
        "medicine_form": MedicineForm(initial={"start_date": child.today()}),
    }
    return render(request, "outcomes/treatment.html", context)


def screening_context(child: Child, can_manage: bool) -> dict:
    rows, still_open, first = treatment.screening_checklist(child)
    return {
        "screening_rows": rows,
        "screening_open": still_open,
        "screening_started": first,
        "screening_form": ScreeningForm(initial={"date": child.today()}) if can_manage else None,
    }


@login_required
def medicine_create(request, pk: int):
    """Clinicians and the child's caregivers record another medicine."""
    child = _visible(request, pk)
    if request.method != "POST":
        return redirect("treatment", pk=pk)
    form = MedicineForm(request.POST, instance=Medicine(child=child, entered_by=request.user))
    if form.is_valid():
        medicine = form.save()
        messages.success(request, _("Medicine saved."))
        for caution in treatment.medicine_cautions(medicine):
            messages.warning(request, f"{caution.message} ({caution.source})")
        return redirect("treatment", pk=pk)
    return _back_with_errors(request, form, pk)


@login_required
def screening_create(request, pk: int):
    child = _managed(request, pk)
    if request.method != "POST":
        return redirect("treatment", pk=pk)
    form = ScreeningForm(request.POST, instance=Screening(child=child, recorded_by=request.user))
    if form.is_valid():
        form.save()
        messages.success(request, _("Screening saved."))
        return redirect("treatment", pk=pk)
    return _back_with_errors(request, form, pk)


@login_required
def prescription_create(request, pk: int):
    child = _managed(request, pk)
    latest = Prescription.objects.filter(child=child).in_force_on(child.today())
    # The dose in force, or the last one given before an interruption: a save without a look
    # must not record an interruption by default.
    dosed = (
        Prescription.objects.filter(child=child, start_date__lte=child.today())
        .exclude(morning_mg=0, afternoon_mg=0, evening_mg=0)
        .order_by("-start_date")
        .first()
    )
    initial = {
        "drug": getattr(dosed or latest, "drug", Drug.BARICITINIB),
        "indication": getattr(dosed or latest, "indication", Indication.INTERFERONOPATHY),
        "start_date": child.today(),
        "reason": "initial" if not latest else "escalation" if latest.total_mg > 0 else "restart",
    }
    if dosed:
        initial |= {
            f"{slot}_mg": dosed.slot_mg(slot) for slot in ("morning", "afternoon", "evening")
        }
    form = PrescriptionForm(
        request.POST or None, instance=Prescription(child=child), initial=initial
    )
    cautions = []
    if request.method == "POST" and form.is_valid():
        prescription = form.instance
        cautions = treatment.cautions_for(
            prescription, treatment.inputs_for(child, prescription.start_date)
        )
        if any(c.blocking for c in cautions) and not form.cleaned_data["override_reason"].strip():
            form.add_error(
                "override_reason",
                _("This prescription raises the warnings above: give the reason to save it."),
            )
        else:
            prescription.created_by = request.user
            prescription.save()
            messages.success(request, _("Prescription saved."))
            for caution in cautions:
                if not caution.blocking:
                    messages.warning(request, f"{caution.message} ({caution.source})")
            return redirect("treatment", pk=child.pk)
    drug = form["drug"].value() or Drug.BARICITINIB
    indication = form["indication"].value() or Indication.INTERFERONOPATHY
    try:
        day = date.fromisoformat(str(form["start_date"].value()))
    except ValueError:
        day = child.today()
    inputs = treatment.inputs_for(child, min(day, child.today()))
    guidance, why_not = treatment.guidance_for(drug, indication, inputs)
    missing = treatment.missing_for(drug, indication, inputs)
    current_note = None
    if latest and latest.total_mg > 0:
        current_guidance, _why = treatment.guidance_for(
            latest.drug, latest.indication, treatment.inputs_for(child, child.today())
        )
        current_note = guideline.above_guideline_dose(latest.total_mg, current_guidance)
    return render(
        request,
        "outcomes/prescription_form.html",
        {
            "child": child,
            "form": form,
            "cautions": [c for c in cautions if c.blocking],
            "missing": missing,
            "guidance": guidance,
            "why_not": why_not,
            "inputs": inputs,
            "current": latest,
            "current_note": current_note,
        },
        status=400 if form.errors else 200,
    )


@login_required
def steroid_prescription_create(request, pk: int):
    child = _managed(request, pk)
    form = SteroidPrescriptionForm(
        request.POST or None,
        instance=SteroidPrescription(child=child),
        initial={"start_date": child.today()},
    )
    if request.method == "POST" and form.is_valid():
        form.instance.created_by = request.user
        form.save()
        messages.success(request, _("Steroid prescription saved."))
        return redirect("treatment", pk=child.pk)
    return render(
        request,
        "outcomes/steroid_form.html",
        {"child": child, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def markers_edit(request, pk: int):
    child = _managed(request, pk)
    if request.method != "POST":
        return redirect("treatment", pk=pk)
    form = MarkersForm(request.POST, instance=child)
    if form.is_valid():
        if form.has_changed():
            form.save()
            messages.success(request, _("Markers saved: the phases are recomputed."))
        return redirect("treatment", pk=pk)
    return _back_with_errors(request, form, pk)


@login_required
def creatinine_create(request, pk: int):
    child = _managed(request, pk)
    if request.method != "POST":
        return redirect("treatment", pk=pk)
    form = CreatinineForm(request.POST)
    if form.is_valid():
        try:
            result = record_lab(
                child,
                request.user,
                Analyte.CREATININE,
                form.cleaned_data["sample_date"],
                form.cleaned_data["value"],
                form.cleaned_data["unit"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            if result.egfr is None:
                messages.warning(
                    request,
                    _(
                        "Creatinine saved; no eGFR: there is no height on "
                        "or before the sample date."
                    ),
                )
            else:
                messages.success(
                    request,
                    _("Creatinine saved: eGFR %(egfr)s mL/min/1.73m².") % {"egfr": result.egfr},
                )
    else:
        return _back_with_errors(request, form, pk)
    return redirect("treatment", pk=pk)


# --- Charts, cohort, dashboard, report ---------------------------------------------------------

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png", "phone": "image/svg+xml"}


@login_required
def timeline_chart_view(request, pk: int, fmt: str):
    child = _visible(request, pk)
    # A download shows the data as it is now; a page may show the latest drawing meanwhile.
    drawing = pages.timeline_chart(child, fmt, stale_ok=fmt != "png")
    response = HttpResponse(drawing.body, content_type=CONTENT_TYPES[fmt])
    if fmt == "png":
        response["Content-Disposition"] = f'attachment; filename="timeline-{child.pk}.png"'
    # The page names the data version in the address (?v=): the drawing of that version never
    # changes; any other (a stale drawing, an address without the version) is asked again.
    kept = drawing.fresh and request.GET.get("v") == drawing.version
    response["Cache-Control"] = "private, max-age=86400" if kept else "private, no-cache"
    response["X-Chart-Drawn"] = drawing.drawn_at.isoformat()
    return response


@not_logged  # logged below as an export, not as a view
@login_required
def timeline_csv_view(request, pk: int):
    """The chart's data, one row per day, for a spreadsheet."""
    child = _visible(request, pk)
    header, rows = pages.timeline_csv(pages.child_outcome(child))
    buffer = io.StringIO()
    buffer.write(csvsafe.BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(csvsafe.row(row) for row in rows)
    log_access(request, AccessAction.EXPORT, child, what="timeline_csv", rows=len(rows))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="timeline-{child.pk}-{child.today().isoformat()}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def growth_chart_view(request, pk: int, fmt: str):
    child = _visible(request, pk)
    try:
        body = growth_charts.growth_chart(child, fmt)
    except growth.UnknownReference as unknown:
        return HttpResponse(str(unknown), status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    if fmt == "png":
        response["Content-Disposition"] = f'attachment; filename="growth-{child.pk}.png"'
    response["Cache-Control"] = "private, max-age=300"
    return response


def _cohort_for(request) -> tuple:
    """The clinician's sites and children, or 403."""
    sites = request.user.clinical_sites()
    if not sites.exists():
        raise PermissionDenied(_("The cohort pages are for clinicians."))
    codes = request.GET.getlist("site")
    children = Child.objects.filter(site__in=sites)
    if codes:
        children = children.filter(site__code__in=codes)
    return sites, children.select_related("site")


def _cohort_summary(request):
    """The clinician's sites, the summary of the chosen instrument's diaries, its key."""
    sites, children = _cohort_for(request)
    instrument = request.GET.get("instrument", "ags")
    if instrument not in instruments.CURRENT:
        instrument = "ags"
    return sites, summaries.cohort_summary(children, instrument=instrument), instrument


@login_required
def cohort_page(request):
    sites, summary, instrument = _cohort_summary(request)
    return render(
        request,
        "outcomes/cohort.html",
        {
            "summary": summary,
            "sites": sites,
            "instrument": instruments.get(instrument),
            "instruments": instruments.CHOICES,
            "query": request.GET.urlencode(),
            "outcome_rows": [
                (cohort_charts.titles()[name], outcome)
                for name, outcome in summary.outcomes.items()
            ],
        },
    )


@login_required
def cohort_chart(request, fmt: str):
    _sites, summary, instrument = _cohort_summary(request)
    figure = charts.cohort_figure(summary, str(instruments.get(instrument).name))
    return HttpResponse(charts.render(figure, fmt), content_type=CONTENT_TYPES[fmt])


@login_required
def cohort_outcomes_chart(request, fmt: str):
    _sites, summary, _instrument = _cohort_summary(request)
    figure = cohort_charts.outcomes_figure(summary)
    return HttpResponse(charts.render(figure, fmt), content_type=CONTENT_TYPES[fmt])


NO_ENTRY_FLAG_DAYS = 3
COMPLETENESS_DAYS = 30


def _dashboard_data(children: list[Child]) -> tuple[dict, dict, dict, dict]:
    """Each child's scored days, prescribed and recorded doses, and open flags, over the
    windows the dashboard's rules need, in a few queries whatever the number of children."""
    ids = [c.pk for c in children]
    todays = {c.pk: c.today() for c in children}
    span = attention.RECENT_DAYS + attention.BASELINE_DAYS
    earliest = min(todays.values(), default=date.today()) - timedelta(
        days=max(span, COMPLETENESS_DAYS)
    )
    scores = defaultdict(dict)
    for child_id, day, score in DiaryEntry.objects.filter(
        child__in=ids, date__gte=earliest, score__isnull=False
    ).values_list("child_id", "date", "score"):
        scores[child_id][day] = score
    dose_start = min(todays.values(), default=date.today()) - timedelta(
        days=attention.ADHERENCE_DAYS
    )
    prescriptions = defaultdict(list)
    for p in Prescription.objects.filter(child__in=ids).order_by("start_date"):
        prescriptions[p.child_id].append(p)
    prescribed = defaultdict(set)
    for child_id, today in todays.items():
        for n in range(1, attention.ADHERENCE_DAYS + 1):
            day = today - timedelta(days=n)
            in_force = [p for p in prescriptions[child_id] if p.start_date <= day]
            if in_force:
                p = in_force[-1]
                prescribed[child_id] |= {(day, slot, p.drug) for slot, _mg in p.slots}
    given, missed = defaultdict(set), defaultdict(set)
    for child_id, day, slot, drug, status, mg in DoseAdministration.objects.filter(
        child__in=ids, date__gte=dose_start
    ).values_list("child_id", "date", "slot", "drug", "status", "given_mg"):
        (given if course.taken(status, mg) else missed)[child_id].add((day, slot, drug))
    flags = defaultdict(list)
    for flag in LabFlag.objects.open().filter(child__in=ids).order_by("-day", "-pk"):
        flags[flag.child_id].append(flag)
    return scores, (prescribed, given, missed), flags, todays


def _flag_title(flags: list) -> str:
    return "\n".join(
        f"{date_format(f.day, 'SHORT_DATE_FORMAT')}: {f.message} ({f.source})" for f in flags
    )


@login_required
def dashboard(request):
    _sites, children = _cohort_for(request)
    visible = children
    entries = DiaryEntry.objects.filter(child=OuterRef("pk")).order_by()
    children = list(
        children.annotate(
            last_entry=Subquery(entries.order_by("-date").values("date")[:1]),
        )
    )
    overdue = reminders.overdue_counts(visible, timezone.localdate())
    phases = summaries.cohort_phases(children)
    phase3 = {
        pk: by_phase[3][:2]
        for pk, by_phase in cohort_sql.phase_means(
            [
                (pk, 3, result.intervals[3].start, result.intervals[3].end)
                for pk, result in phases.items()
                if result.intervals[3] is not None
            ]
        ).items()
        if 3 in by_phase
    }
    scores, (prescribed, given, missed), flags, todays = _dashboard_data(children)
    min_percent = settings.ADHERENCE_MIN_PERCENT
    rows = []
    for child in children:
        # The family's calendar, not the server's: their days are the diary's days.
        today = todays[child.pk]
        last = child.last_entry
        margin = settings.WORSENING_MARGIN * child.get_instrument().max_score
        worse = attention.worsening(scores[child.pk], today, phase3.get(child.pk), margin)
        doses = attention.adherence(
            prescribed[child.pk], given[child.pk], missed[child.pk], today, min_percent
        )
        since = today - timedelta(days=COMPLETENESS_DAYS - 1)
        recent = sum(1 for day in scores[child.pk] if since <= day <= today)
        infections = [f for f in flags[child.pk] if f.code in thresholds.INFECTION_CODES]
        guideline = [f for f in flags[child.pk] if f.code not in thresholds.INFECTION_CODES]
        rows.append(
            {
                "child": child,
                "phase": phases[child.pk].current,
                "days_since": (today - last).days if last else None,
                "completeness": round(100 * recent / COMPLETENESS_DAYS),
                "worse": worse,
                "worse_why": attention.explain_worsening(worse, margin),
                "doses": doses,
                "doses_why": attention.explain_adherence(doses, min_percent),
                "flag": last is None or (today - last).days >= NO_ENTRY_FLAG_DAYS,
                "infections": len(infections),
                "infections_why": _flag_title(infections),
                "open_flags": len(guideline),
                "flags_why": _flag_title(guideline),
                "overdue": overdue.get(child.pk, 0),
            }
        )
    sort = request.GET.get("sort", "flag")
    low = -(10**6)
    keys = {
        "name": lambda r: (r["child"].last_name, r["child"].first_name),
        "phase": lambda r: (r["phase"] or 0,),
        "days": lambda r: (-(r["days_since"] if r["days_since"] is not None else 10**6),),
        "completeness": lambda r: (r["completeness"],),
        "score": lambda r: (
            not r["worse"].flagged,
            -(r["worse"].excess if r["worse"].excess is not None else low),
        ),
        "doses": lambda r: (
            not r["doses"].flagged,
            r["doses"].percent if r["doses"].percent is not None else 10**6,
        ),
        "infections": lambda r: (-r["infections"],),
        "flags": lambda r: (-r["open_flags"],),
        "overdue": lambda r: (-r["overdue"],),
        # Results to review and infections first, then worsening, missed doses, silent
        # diaries, overdue tests.
        "flag": lambda r: (
            -(r["open_flags"] + r["infections"]),
            not r["worse"].flagged,
            not r["doses"].flagged,
            not r["flag"],
            -r["overdue"],
            -(r["days_since"] or 0),
        ),
    }
    rows.sort(key=keys.get(sort, keys["flag"]))
    return render(
        request,
        "outcomes/dashboard.html",
        {
            "rows": rows,
            "sort": sort,
            "flag_days": NO_ENTRY_FLAG_DAYS,
            "margin_percent": round(100 * settings.WORSENING_MARGIN),
            "min_percent": round(min_percent),
            "adherence_days": attention.ADHERENCE_DAYS,
        },
    )


@login_required
def visit_report_view(request, pk: int):
    child = _visible(request, pk)
    clinician = Child.objects.managed_by(request.user).filter(pk=pk).exists()
    today = child.today()
    try:
        last = date.fromisoformat(request.GET.get("to") or today.isoformat())
        first = date.fromisoformat(
            request.GET.get("from") or (last - timedelta(days=365)).isoformat()
        )
    except ValueError:
        return HttpResponse(
            _("Dates must be YYYY-MM-DD."), status=400, content_type="text/plain; charset=utf-8"
        )
    if first > last:
        return HttpResponse(
            _("The start of the range is after its end."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    # Only the child's own days: before birth or after today there is nothing to count.
    first, last = max(first, child.date_of_birth), min(last, today)
    if first > last:
        return HttpResponse(
            _("The range has no day between the child's birth and today."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    paper = request.GET.get("paper", "a4")
    if paper not in report.PAPER:
        paper = "a4"
    copy = request.GET.get("copy", "clinician" if clinician else "family")
    body = report.visit_report(
        child, first, last, paper, clinician_copy=clinician and copy == "clinician"
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="visit-report-{child.pk}-{last.isoformat()}-{paper}.pdf"'
    )
    return response


@login_required
@logs_itself
def family_summary_view(request, pk: int):
    """The last 90 days in plain words, in the reader's language, for anyone who may see the
    child; logged as an export, like the family's download."""
    child = _visible(request, pk)
    paper = request.GET.get("paper", "a4")
    if paper not in report.PAPER:
        paper = "a4"
    body = family_summary.family_summary(child, paper)
    log_access(request, AccessAction.EXPORT, child, what="family_summary", paper=paper)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="summary-{child.pk}-{child.today().isoformat()}.pdf"'
    )
    response["Cache-Control"] = "private, no-store"
    return response
