"""A child's treatment as the guideline functions need it: weights, age, eGFR, prescriptions,
phases. Reads the diary's models; the clinical rules stay in guideline.py and phases.py."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings

from diary.models import Child, DiaryEntry, Drug, GrowthMeasurement, Prescription, SteroidDose
from outcomes import guideline, medicines, schedule, screening
from outcomes.models import Analyte, LabResult
from outcomes.phases import Dose, Phases, phases


def weights(child: Child) -> list[tuple[date, Decimal]]:
    return list(
        GrowthMeasurement.objects.filter(child=child, weight_kg__isnull=False)
        .order_by("date")
        .values_list("date", "weight_kg")
    )


def recency() -> dict[str, int]:
    """How recent (days) a weight, a height and an eGFR must be for the guideline's checks
    (settings GUIDELINE_*_MAX_AGE_DAYS; docs/treatment-and-phases.md, "Missing or old
    inputs")."""
    return {
        "weight_kg": settings.GUIDELINE_WEIGHT_MAX_AGE_DAYS,
        "height_cm": settings.GUIDELINE_HEIGHT_MAX_AGE_DAYS,
        "egfr": settings.GUIDELINE_EGFR_MAX_AGE_DAYS,
    }


def height_on_or_before(child: Child, day: date) -> Decimal | None:
    """The height on DAY or most recently before it, if no older than the height recency."""
    oldest = day - timedelta(days=settings.GUIDELINE_HEIGHT_MAX_AGE_DAYS)
    return (
        GrowthMeasurement.objects.filter(
            child=child, date__lte=day, date__gte=oldest, height_cm__isnull=False
        )
        .order_by("-date")
        .values_list("height_cm", flat=True)
        .first()
    )


def latest_egfr(child: Child, day: date) -> LabResult | None:
    """The latest eGFR sampled on or before DAY, if no older than the eGFR recency."""
    oldest = day - timedelta(days=settings.GUIDELINE_EGFR_MAX_AGE_DAYS)
    return (
        LabResult.objects.filter(
            child=child,
            analyte=Analyte.CREATININE,
            sample_date__lte=day,
            sample_date__gte=oldest,
            egfr__isnull=False,
        )
        .order_by("-sample_date", "-pk")
        .first()
    )


def recent_weight(day: date, known: list[tuple[date, Decimal]]) -> Decimal | None:
    """The weight on DAY or most recently before it, else the nearest after it, within the
    weight recency either side (an older weight does not check a dose)."""
    limit = timedelta(days=settings.GUIDELINE_WEIGHT_MAX_AGE_DAYS)
    return guideline.weight_on(day, [(d, w) for d, w in known if abs(d - day) <= limit])


def set_egfr(result: LabResult) -> None:
    """Fill RESULT's eGFR from its creatinine and the height on or nearest before the sample
    (no older than the height recency)."""
    height = height_on_or_before(result.child, result.sample_date)
    if result.analyte != Analyte.CREATININE or height is None:
        result.egfr = result.egfr_constant = result.egfr_height_cm = None
        return
    computed = guideline.schwartz_egfr(height, result.value, constant=settings.EGFR_CONSTANT)
    result.egfr, result.egfr_constant, result.egfr_height_cm = (
        computed.value,
        computed.constant,
        computed.height_cm,
    )


def recent_egfr(day: date, known: list[tuple[date, Decimal]]) -> Decimal | None:
    """The latest eGFR of KNOWN (date, value) sampled on or before DAY within the recency."""
    oldest = day - timedelta(days=settings.GUIDELINE_EGFR_MAX_AGE_DAYS)
    before = [(d, v) for d, v in known if oldest <= d <= day]
    return max(before)[1] if before else None


def schedule_course(
    drug: str,
    start: date,
    total_mg: Decimal,
    reason: str,
    known_weights: list[tuple[date, Decimal]],
    known_egfrs: list[tuple[date, Decimal]],
) -> schedule.Course:
    """A prescription as the schedule needs it: BK/JC monitoring follows the dose (at or above
    the escalation table's dose for the weight and eGFR at its start), not its label."""
    high = drug == "baricitinib" and total_mg > 0
    if high:
        weight = recent_weight(start, known_weights)
        high = total_mg >= guideline.high_dose_from(weight, recent_egfr(start, known_egfrs))
    return schedule.Course(drug, start, total_mg, high, reason == "stop")


def egfrs(child_ids) -> dict[int, list[tuple[date, Decimal]]]:
    out: dict[int, list] = {}
    for child_id, day, value in LabResult.objects.filter(
        child_id__in=child_ids, analyte=Analyte.CREATININE, egfr__isnull=False
    ).values_list("child_id", "sample_date", "egfr"):
        out.setdefault(child_id, []).append((day, value))
    return out


def weights_of(child_ids) -> dict[int, list[tuple[date, Decimal]]]:
    out: dict[int, list] = {}
    for child_id, day, value in GrowthMeasurement.objects.filter(
        child_id__in=child_ids, weight_kg__isnull=False
    ).values_list("child_id", "date", "weight_kg"):
        out.setdefault(child_id, []).append((day, value))
    return out


def schedule_settings() -> schedule.Settings:
    return schedule.Settings(restart_after_days=settings.GUIDELINE_RESTART_AFTER_DAYS)


@dataclass
class ChildInputs:
    """What the dose guidance needs to know about a child on a day."""

    day: date
    weight_kg: Decimal | None
    age_years: int
    egfr: LabResult | None

    @property
    def egfr_value(self) -> Decimal | None:
        return self.egfr.egfr if self.egfr else None


def inputs_for(child: Child, day: date) -> ChildInputs:
    return ChildInputs(
        day=day,
        weight_kg=recent_weight(day, weights(child)),
        age_years=child.age_in_years(day),
        egfr=latest_egfr(child, day),
    )


def guidance_for(drug: str, indication: str, inputs: ChildInputs):
    """(DoseGuidance, None) or (None, the reason the guideline cannot be applied)."""
    try:
        return guideline.dose_guidance(
            drug, indication, inputs.weight_kg, inputs.age_years, inputs.egfr_value
        ), None
    except guideline.GuidelineInputError as error:
        return None, error.message


def is_escalation(prescription: Prescription) -> bool:
    """A baricitinib dose labelled an escalation, or above the dose given before it."""
    if prescription.drug != "baricitinib" or prescription.total_mg <= 0:
        return False
    if prescription.reason == "escalation":
        return True
    earlier = (
        Prescription.objects.filter(
            child_id=prescription.child_id, start_date__lt=prescription.start_date
        )
        .exclude(morning_mg=0, afternoon_mg=0, evening_mg=0)
        .order_by("-start_date")
        .first()
    )
    return bool(
        earlier and earlier.drug == "baricitinib" and prescription.total_mg > earlier.total_mg
    )


def baseline_bloods(child: Child, before: date) -> list:
    """The latest result of each baseline test on or before the first JAK-inhibitor dose (or
    BEFORE, if no dose was given earlier), as thresholds.Result."""
    from outcomes import thresholds

    first = (
        Prescription.objects.filter(child=child, start_date__lte=before)
        .exclude(morning_mg=0, afternoon_mg=0, evening_mg=0)
        .order_by("start_date")
        .values_list("start_date", flat=True)
        .first()
    ) or before
    latest = {}
    for analyte, value, day, uln, egfr in (
        LabResult.objects.filter(
            child=child,
            sample_date__lte=first,
            analyte__in=[*guideline.BASELINE_BLOODS, "alt", "ast", "bilirubin", "creatinine"],
        )
        .order_by("sample_date", "pk")
        .values_list("analyte", "value", "sample_date", "uln", "egfr")
    ):
        latest[analyte] = thresholds.Result(analyte, value, day, uln)
        if analyte == "creatinine":
            latest.pop("egfr", None)
            if egfr is not None:
                latest["egfr"] = thresholds.Result("egfr", egfr, day)
    latest.pop("creatinine", None)
    return list(latest.values())


def screening_open(child: Child, drug: str, day: date) -> list[guideline.Caution]:
    """The screening items still open before the first dose of DRUG on DAY (§5.2, §6.2)."""
    from diary.models import Screening, ScreeningItem

    latest = {}
    for item, outcome, done in (
        Screening.objects.filter(child=child, date__lte=day)
        .order_by("date", "pk")
        .values_list("item", "outcome", "date")
    ):
        latest[item] = screening.Record(item, outcome, done)
    names = {i.value: str(i.label) for i in ScreeningItem}
    names.update({a.value: str(a.label) for a in Analyte})
    childbearing = child.sex == "F" and (
        child.age_in_years(day) >= settings.SCREENING_CHILDBEARING_FROM_AGE
    )
    baseline = [r for r in baseline_bloods(child, day) if r.analyte in screening.BASELINE]
    return screening.open_items(drug, latest, childbearing, baseline, names)


def _courses_of(child: Child) -> list[tuple[date, str, bool]]:
    return [
        (p.start_date, p.get_drug_display().lower(), p.total_mg > 0)
        for p in child.prescriptions.order_by("start_date")
    ]


def medicine_cautions(medicine) -> list[guideline.Caution]:
    """The cautions of MEDICINE for the JAK inhibitor given while it is taken (§8, §10, §11)."""
    span = medicines.taken(
        medicine.kind,
        medicine.name,
        medicine.start_date,
        medicine.stop_date,
        medicine.child.today(),
    )
    drug = medicines.overlapping_drug(span, _courses_of(medicine.child))
    return medicines.cautions(medicine.kind, medicine.name, drug) if drug else []


def medicines_on(child: Child, day: date, drug: str) -> list[guideline.Caution]:
    """The cautions of the medicines taken on DAY with DRUG (a prescription starting then)."""
    out = []
    for medicine in child.medicines.filter(start_date__lte=day):
        first, last = medicines.taken(
            medicine.kind, medicine.name, medicine.start_date, medicine.stop_date, day
        )
        if first <= day <= last:
            out += medicines.cautions(medicine.kind, medicine.name, drug)
    return out


def screening_checklist(child: Child):
    """(each item with its latest record, what is still open for the drug in force — or
    baricitinib before any — at the first dose, the first dosed prescription or None)."""
    from diary.models import ScreeningItem

    latest = {}
    for record in child.screenings.order_by("date", "pk"):
        latest[record.item] = record
    current = Prescription.objects.filter(child=child).in_force_on(child.today())
    drug = current.drug if current else Drug.BARICITINIB
    first = (
        Prescription.objects.filter(child=child)
        .exclude(morning_mg=0, afternoon_mg=0, evening_mg=0)
        .order_by("start_date")
        .first()
    )
    day = first.start_date if first else child.today()
    rows = [(item, latest.get(item.value)) for item in ScreeningItem]
    return rows, screening_open(child, drug, day), first


def is_first_dose(prescription: Prescription) -> bool:
    return (
        prescription.total_mg > 0
        and not Prescription.objects.filter(
            child_id=prescription.child_id, start_date__lt=prescription.start_date
        )
        .exclude(morning_mg=0, afternoon_mg=0, evening_mg=0)
        .exists()
    )


def cautions_for(prescription: Prescription, inputs: ChildInputs) -> list[guideline.Caution]:
    if prescription.total_mg <= 0:
        return []
    extra = []
    if prescription.child_id:
        extra += medicines_on(
            prescription.child,
            prescription.start_date,
            Drug(prescription.drug).label.lower() if prescription.drug else "",
        )
    if prescription.child_id and is_first_dose(prescription):
        extra += screening_open(prescription.child, prescription.drug, prescription.start_date)
    if prescription.child_id and is_escalation(prescription):
        names = {a.value: str(a.label) for a in Analyte}
        extra += guideline.escalation_cautions(
            baseline_bloods(prescription.child, prescription.start_date), names
        )
    return extra + guideline.prescription_warnings(
        prescription.drug,
        prescription.indication,
        prescription.total_mg,
        inputs.weight_kg,
        inputs.age_years,
        inputs.egfr_value,
        recency(),
        tertiary_recorded=bool(
            prescription.tertiary_discussed_with.strip() and prescription.tertiary_discussed_on
        ),
    )


def table_maximum(prescription: Prescription, inputs: ChildInputs):
    """(the table's maximum mg/day, its source) for PRESCRIPTION's drug and INPUTS, or
    (None, "") when the table cannot be read (a missing input, no table for the drug)."""
    try:
        found = guideline.dose_guidance(
            prescription.drug,
            prescription.indication,
            inputs.weight_kg,
            inputs.age_years,
            inputs.egfr_value,
        )
    except guideline.GuidelineInputError:
        return None, ""
    return found.maximum_total, found.source


def missing_for(drug: str, indication: str, inputs: ChildInputs) -> list[guideline.Caution]:
    """The checks of a DRUG prescription on INPUTS' day that a missing or old input leaves
    undone (shown beside the form before anything is saved)."""
    return guideline.missing_inputs(
        drug, indication, inputs.weight_kg, inputs.egfr_value, recency()
    )


@dataclass
class TimelineRow:
    prescription: Prescription
    weight_kg: Decimal | None
    mg_per_kg: Decimal | None


def timeline(child: Child) -> list[TimelineRow]:
    """Every prescription, newest first, with its mg/kg/day at the start date."""
    known = weights(child)
    rows = []
    for prescription in child.prescriptions.select_related("created_by").order_by("-start_date"):
        weight = guideline.weight_on(prescription.start_date, known)
        rows.append(
            TimelineRow(prescription, weight, guideline.mg_per_kg(prescription.total_mg, weight))
        )
    return rows


def child_phases(child: Child, cutoff: date | None = None) -> Phases:
    cutoff = cutoff or child.final_visit_date or child.today()
    doses = [
        Dose(start, total, drug)
        for start, total, drug in (
            (p.start_date, p.total_mg, p.drug) for p in child.prescriptions.all()
        )
    ]
    first_recorded = (
        DiaryEntry.objects.filter(child=child)
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )
    return phases(
        doses, cutoff, first_recorded, child.optimal_dose_date, settings.PHASE1_BASELINE_DAYS
    )


def steroid_mg_per_kg_by_day(child: Child, first: date, last: date) -> dict[date, Decimal]:
    """Prednisone-equivalent mg/kg/day for each day with a steroid dose given (DOMAIN §4),
    using the weight on, or most recently before, the day (nearest after if none)."""
    known = weights(child)
    totals: dict[date, Decimal] = {}
    for day, drug, mg in SteroidDose.objects.filter(
        child=child, date__gte=first, date__lte=last
    ).values_list("date", "drug", "mg"):
        totals[day] = totals.get(day, Decimal(0)) + guideline.prednisone_equivalent(drug, mg)
    result = {}
    for day, mg in sorted(totals.items()):
        per_kg = guideline.mg_per_kg(mg, guideline.weight_on(day, known))
        if per_kg is not None:
            result[day] = per_kg
    return result
