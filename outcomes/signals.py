"""What a new record of the diary changes in the follow-up: a height fills the eGFR of the
creatinines it now applies to, a weight or an eGFR may put the current dose above its table."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction

from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    Drug,
    GrowthMeasurement,
    Medicine,
    Prescription,
    PrescriptionReason,
    SteroidDose,
    VisitAssessment,
)
from outcomes import labs, thresholds, treatment
from outcomes.models import Analyte, LabResult


def growth_saved(sender, instance: GrowthMeasurement, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    child = instance.child
    if instance.height_cm is not None:
        # The creatinines sampled from this day until the height recency runs out, whose
        # height this now is (none later on or before their sample): their eGFR again.
        last = instance.date + timedelta(days=settings.GUIDELINE_HEIGHT_MAX_AGE_DAYS)
        for result in LabResult.objects.filter(
            child=child,
            analyte=Analyte.CREATININE,
            sample_date__gte=instance.date,
            sample_date__lte=last,
        ).select_related("child"):
            before = (result.egfr, result.egfr_height_cm)
            treatment.set_egfr(result)
            if (result.egfr, result.egfr_height_cm) != before:
                with transaction.atomic():
                    result.save(update_fields=["egfr", "egfr_constant", "egfr_height_cm"])
                    labs.flag_result(result)
    if instance.weight_kg is not None:
        labs.flag_child(child, instance.date, labs.dose_flags(child))


def diary_saved(sender, instance: DiaryEntry, raw: bool = False, **kwargs) -> None:
    """§7.3: an illness or a fever on a day the child is given a JAK inhibitor; herpes zoster
    on such a day or during an interruption."""
    reported = instance.illness or instance.fever or instance.max_temperature is not None
    if raw or not (reported or instance.zoster):
        return
    prescription = Prescription.objects.filter(child=instance.child).in_force_on(instance.date)
    drug, interrupted = None, False
    if prescription and prescription.total_mg > 0:
        drug = prescription.get_drug_display()
    elif prescription and prescription.reason == PrescriptionReason.INTERRUPTION:
        # The drug last given before the interruption (none: nothing was ever given).
        last = labs.drug_on(instance.child, instance.date)
        drug, interrupted = last and Drug(last).label, True
    flags = thresholds.infection_flags(
        drug and str(drug).lower(),
        instance.illness,
        instance.fever,
        instance.max_temperature,
        settings.INFECTION_FEVER_FROM_C,
        zoster=instance.zoster,
        interrupted=interrupted,
    )
    if flags:
        labs.flag_child(instance.child, instance.date, flags)


def medicine_saved(sender, instance: Medicine, raw: bool = False, **kwargs) -> None:
    """§8, §10, §11: a medicine taken with a JAK inhibitor that the guideline cautions about."""
    if raw:
        return
    flags = [
        thresholds.Flag(
            "medicine", f"medicine-{instance.pk}", thresholds.ADJUST, c.message, c.source
        )
        for c in treatment.medicine_cautions(instance)
    ]
    labs.flag_child(instance.child, instance.start_date, flags)


def chart_data_changed(sender, instance, raw: bool = False, created: bool = False, **kwargs):
    """A worker draws the child's timeline again once the change is committed, so that the
    next view need not wait for it (outcomes.pages)."""
    if raw or (sender is Child and created):
        return
    from outcomes import pages

    child_id = instance.pk if sender is Child else instance.child_id
    transaction.on_commit(lambda: pages.enqueue_drawing(child_id))


# What the timeline draws (and pages.data_version follows).
CHART_MODELS = (
    Child,
    DiaryEntry,
    DoseAdministration,
    SteroidDose,
    GrowthMeasurement,
    Prescription,
    LabResult,
    VisitAssessment,
)


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    for model in CHART_MODELS:
        name = model._meta.label_lower
        post_save.connect(chart_data_changed, sender=model, dispatch_uid=f"chart-save-{name}")
        post_delete.connect(chart_data_changed, sender=model, dispatch_uid=f"chart-del-{name}")

    post_save.connect(growth_saved, sender=GrowthMeasurement, dispatch_uid="outcomes-growth")
    post_save.connect(diary_saved, sender=DiaryEntry, dispatch_uid="outcomes-diary")
    post_save.connect(medicine_saved, sender=Medicine, dispatch_uid="outcomes-medicine")
