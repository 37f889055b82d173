"""The treatment page: prescriptions, guidance and warnings, markers, phases, eGFR."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from diary.models import Child, Drug, Indication, Prescription, SteroidPrescription
from outcomes import treatment
from outcomes.forms import CreatinineForm, MarkersForm, PrescriptionForm, SteroidPrescriptionForm
from outcomes.labs import record_lab
from outcomes.models import Analyte


def _visible(request, pk: int) -> Child:
    return get_object_or_404(Child.objects.visible_to(request.user), pk=pk)


def _managed(request, pk: int) -> Child:
    """The child, for a change: 404 for strangers, 403 with a reason for linked caregivers."""
    child = _visible(request, pk)
    if not Child.objects.managed_by(request.user).filter(pk=child.pk).exists():
        raise PermissionDenied(_("Only the child's clinicians can change the treatment."))
    return child


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
    }
    return render(request, "outcomes/treatment.html", context)


@login_required
def prescription_create(request, pk: int):
    child = _managed(request, pk)
    latest = Prescription.objects.filter(child=child).in_force_on(child.today())
    initial = {
        "drug": getattr(latest, "drug", Drug.BARICITINIB),
        "indication": getattr(latest, "indication", Indication.INTERFERONOPATHY),
        "start_date": child.today(),
        "reason": "escalation" if latest else "initial",
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
        if cautions and not form.cleaned_data["override_reason"].strip():
            form.add_error(
                "override_reason",
                _("This prescription raises the warnings above: give the reason to save it."),
            )
        else:
            prescription.created_by = request.user
            prescription.save()
            messages.success(request, _("Prescription saved."))
            return redirect("treatment", pk=child.pk)
    drug = form["drug"].value() or Drug.BARICITINIB
    indication = form["indication"].value() or Indication.INTERFERONOPATHY
    try:
        day = date.fromisoformat(str(form["start_date"].value()))
    except ValueError:
        day = child.today()
    inputs = treatment.inputs_for(child, min(day, child.today()))
    guidance, why_not = treatment.guidance_for(drug, indication, inputs)
    return render(
        request,
        "outcomes/prescription_form.html",
        {
            "child": child,
            "form": form,
            "cautions": cautions,
            "guidance": guidance,
            "why_not": why_not,
            "inputs": inputs,
            "current": latest,
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
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect("treatment", pk=pk)


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
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("treatment", pk=pk)
