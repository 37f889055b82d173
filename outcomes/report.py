"""The visit report: one child over the date range asked for, on A4 or US Letter.

Laid out with ReportLab's Platypus (outcomes/pdf.py): the child, date of birth and site on
every page's header, "page x of y" in the footer, tables whose cells wrap. Everything printed is
about the range: the phase summary counts only the phase days inside it, the chart starts and
ends with it, and the results, flags, overdue tests, prescriptions, weights and notes are those
of its days. The clinical team's copy adds the diary notes (the family's copy, which caregivers
get, has none).
"""

import dataclasses
from datetime import date, timedelta

import reportlab
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from diary import assessments, language
from diary.growth import GrowthReference
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    SteroidDose,
    SteroidPrescription,
    VisitAssessment,
)
from outcomes import charts, course, guideline, labs, pdf, schedule, treatment
from outcomes.models import Analyte, LabFlag, LabResult
from outcomes.pages import ChildOutcome, child_outcome, data_version
from outcomes.summaries import ChildData

PAPER = pdf.PAPER
NOTES_SHOWN = 200  # more than any visit needs; the rest are counted, never dropped in silence
FLAGS_SHOWN = 40

_fmt = pdf.number  # the page's rounding, in the reader's format


def phase_name(number: int) -> str:
    return {
        1: _("before treatment"),
        2: _("dose escalation"),
        3: _("optimal dose"),
        4: _("last 90 days"),
    }[number]


def plain(value) -> str:
    """A recorded number as written, no padding zeros: 2, 2.5, 17.3 ("0,5" in French)."""
    return language.number(value) or "0"


mg = plain


def slots(p: Prescription) -> str:
    """Morning / afternoon / evening mg."""
    return f"{mg(p.morning_mg)} / {mg(p.afternoon_mg)} / {mg(p.evening_mg)}"


def per_day(value) -> str:
    return _("%(mg)s mg/day") % {"mg": mg(value)}


# --- Growth SDS and visit assessments ----------------------------------------------------------


def growth_sds(child: Child, first: date, last: date) -> dict[date, dict[str, float]]:
    """Growth SDS per measurement day from FIRST to LAST, {day: {"height": sds, "weight": sds,
    "bmi": sds}}, each measure only where it was computed (DOMAIN §6b: rcpchgrowth, against
    the growth reference stored with it). The weight and height table shows an SDS column for
    each measure that has values here, and none otherwise."""
    out: dict[date, dict[str, float]] = {}
    for day, *values in (
        GrowthMeasurement.objects.filter(child=child, date__range=(first, last))
        .order_by("date")
        .values_list("date", "height_sds", "weight_sds", "bmi_sds")
    ):
        found = {
            key: value
            for key, value in zip(("height", "weight", "bmi"), values, strict=True)
            if value is not None
        }
        if found:
            out[day] = found
    return out


def growth_references(child: Child, first: date, last: date) -> list[str]:
    """The growth references the range's SDS were computed against, in the order used."""
    codes = (
        GrowthMeasurement.objects.filter(child=child, date__range=(first, last))
        .filter(
            Q(height_sds__isnull=False) | Q(weight_sds__isnull=False) | Q(bmi_sds__isnull=False)
        )
        .order_by("date")
        .values_list("growth_reference", flat=True)
    )
    names = []
    for code in codes:
        name = str(GrowthReference(code).label) if code in GrowthReference.values else code
        if name and name not in names:
            names.append(name)
    return names


def visit_assessments(child: Child, first: date, last: date) -> list[tuple[date, str, str]]:
    """The clinician-scored assessments of the range's visits as (day, what, value): the AGS
    Scale (0–11, its severity band and the milestones achieved) and the physician's and
    parent's global assessments (0–100 mm, 100 = worst; DOMAIN §3). Empty when none was
    recorded: the report then has no "Visit assessments" section."""
    rows = []
    for visit in VisitAssessment.objects.filter(child=child, date__range=(first, last)).order_by(
        "date", "pk"
    ):
        if visit.ags_scale is not None:
            value = _("%(score)s of %(max)s (%(band)s)") % {
                "score": visit.ags_scale,
                "max": assessments.AGS_SCALE_MAX,
                "band": visit.get_severity_band_display() or "–",
            }
            achieved = [
                str(item.label)
                for item in assessments.AGS_SCALE_ITEMS
                if (visit.ags_items or {}).get(item.key)
            ]
            value += "\n" + (
                _("Achieved: %(items)s.") % {"items": ", ".join(achieved)}
                if achieved
                else _("No milestone achieved.")
            )
            rows.append((visit.date, _("AGS Scale"), value))
        for field, what in (
            ("physician_global", _("Physician's global assessment")),
            ("parent_global", _("Parent's global assessment")),
        ):
            mm = getattr(visit, field)
            if mm is not None:
                rows.append((visit.date, what, _("%(mm)s mm") % {"mm": plain(mm)}))
    return rows


# --- The report ----------------------------------------------------------------------------------


def visit_report(
    child, first: date, last: date, paper: str = "a4", clinician_copy: bool = False
) -> bytes:
    st = pdf.styles()
    outcome = child_outcome(child)
    instrument = child.get_instrument()
    today = child.today()
    data = outcome.data
    scored = {d for d, score, *_rest in data.entries if score is not None}
    completeness = course.completeness(scored, first, last)
    doses = _doses(child, first, min(last, today - timedelta(days=1)), outcome)
    items = labs.child_schedule(child)
    overdue = schedule.overdue(items, min(last, today), settings.REMINDER_DAYS_AFTER)
    in_range = [d for d in overdue if d.due >= first]
    flags = list(
        LabFlag.objects.filter(child=child, day__range=(first, last)).select_related("result")
    )
    prescriptions = _prescriptions_in_range(child, first, last)

    story = _title(child, first, last, instrument, clinician_copy, st)
    story.append(
        pdf.facts(
            _key_facts(
                child, first, last, completeness, doses, flags, in_range, overdue, items, today
            )
            + _current_dose(child, prescriptions, last, data),
            st,
        )
    )
    story.append(pdf.Spacer(1, 6))
    story += _chart(child, outcome, first, last, paper, st)
    story += pdf.section(
        _("Diary by treatment phase"), _phase_table(outcome, first, last, instrument, st), st
    )
    story += pdf.section(_("Doses given"), _dose_section(doses, data, first, last, st), st)
    story += pdf.section(_("Latest blood results"), _latest_results(child, first, last, st), st)
    story += pdf.section(_("Guideline flags in this range"), _flag_table(flags, st), st)
    story += pdf.section(
        _("Blood tests overdue"),
        _overdue_section(in_range, overdue, first, last, items, today, st),
        st,
    )
    story += pdf.section(
        _("Prescriptions"), _prescription_section(child, prescriptions, first, last, data, st), st
    )
    story += pdf.section(_("Weight and height"), _growth_section(child, first, last, st), st)
    story += pdf.section(_("Visit assessments"), _assessments(child, first, last, st), st)
    if clinician_copy:
        story += pdf.section(_("Diary notes"), _notes(child, first, last, st), st)
    running = pdf.Running(
        child=str(child),
        born=_("Date of birth: %(date)s") % {"date": pdf.day(child.date_of_birth)},
        site=child.site.name,
        document=_("Visit report · %(first)s – %(last)s")
        % {"first": pdf.day(first), "last": pdf.day(last)},
        footer=_("Generated %(at)s. Decision support: the treating team decides.")
        % {"at": pdf.moment(child.local_now())},
    )
    return pdf.build(story, running, paper, _("Visit report: %(child)s") % {"child": child})


def _title(child, first, last, instrument, clinician_copy, st) -> list:
    copy = _("Copy for the clinical team") if clinician_copy else _("Copy for the family")
    return [
        pdf.text(_("Visit report"), st.title),
        pdf.text(
            f"{child} · "
            + _("born %(date)s") % {"date": pdf.long_day(child.date_of_birth)}
            + f" · {child.get_diagnosis_display()} · {child.site.name}",
            st.body,
        ),
        pdf.text(
            _("From %(first)s to %(last)s (%(days)s days) · %(diary)s (0–%(max)s) · %(copy)s")
            % {
                "first": pdf.long_day(first),
                "last": pdf.long_day(last),
                "days": (last - first).days + 1,
                "diary": instrument.name,
                "max": instrument.max_score,
                "copy": copy,
            },
            st.small,
        ),
        pdf.text(
            _(
                "Phases as in the NIH baricitinib study (Sanchez et al., JCI 2018). Guideline "
                "doses, thresholds and the monitoring schedule: SPARN JAKi guideline. Decision "
                "support: the treating team decides."
            ),
            st.small,
        ),
        pdf.Spacer(1, 6),
    ]


def _key_facts(
    child, first, last, completeness, doses, flags, in_range, overdue, items, today
) -> list[tuple[str, str]]:
    facts = [
        (
            _("Diary"),
            _("%(scored)s of %(days)s days with a daily score (%(percent)s).")
            % {
                "scored": completeness.scored,
                "days": completeness.days,
                "percent": pdf.percent(completeness.scored, completeness.days),
            },
        ),
        (_("Doses"), _dose_sentence(doses.total, doses.first, doses.last)),
    ]
    open_flags = [f for f in flags if f.acknowledged_at is None and f.severity != "info"]
    tests = []
    if open_flags:
        tests.append(
            ngettext(
                "%(n)s guideline flag to review.",
                "%(n)s guideline flags to review.",
                len(open_flags),
            )
            % {"n": len(open_flags)}
        )
    if not items:
        tests.append(_("No monitoring schedule: no JAK inhibitor given."))
    else:
        tests.append(
            ngettext(
                "%(n)s test due in this range is overdue.",
                "%(n)s tests due in this range are overdue.",
                len(in_range),
            )
            % {"n": len(in_range)}
            if in_range
            else _("No test due from %(first)s to %(last)s is overdue.")
            % {"first": pdf.day(first), "last": pdf.day(last)}
        )
        before = len(overdue) - len(in_range)
        if before:
            tests.append(
                ngettext(
                    "%(n)s more overdue from before the range.",
                    "%(n)s more overdue from before the range.",
                    before,
                )
                % {"n": before}
            )
        upcoming = schedule.next_due(items, today) if last >= today else None
        if upcoming:
            tests.append(
                _("Next due %(day)s: %(test)s.")
                % {"day": pdf.long_day(upcoming.due), "test": upcoming.panel_label}
            )
    facts.append((_("Blood tests"), " ".join(tests)))
    return facts


# --- Chart -------------------------------------------------------------------------------------


def clipped_data(data: ChildData, first: date, last: date) -> ChildData:
    """DATA with only the range's diary days, doses given and steroid; prescriptions up to its
    end and every weight (mg/kg on a day uses the weight measured on or before it)."""
    return ChildData(
        data.child,
        [e for e in data.entries if first <= e[0] <= last],
        [d for d in data.doses if d.start <= last],
        data.weights,
        {d: v for d, v in data.steroid_mg.items() if first <= d <= last},
        {d: v for d, v in data.jaki_mg.items() if first <= d <= last},
    )


def _chart_svg(child: Child, outcome: ChildOutcome, first: date, last: date, width: float):
    panels = [p.since(first, last) for p in outcome.labs]
    panels = [p for p in panels if not p.empty]
    phases = dataclasses.replace(outcome.summary.phases, cutoff=last)
    instrument = child.get_instrument()
    figure = charts.timeline_figure(
        clipped_data(outcome.data, first, last),
        phases,
        f"{child.first_name} – {instrument.name}",
        instrument.max_score,
        panels,
        size=(width, 4.2),
        start=first,
    )
    return charts.render(figure, "svg")


def _chart(child, outcome: ChildOutcome, first, last, paper, st) -> list:
    data = clipped_data(outcome.data, first, last)
    if not data.entries and not any(d.start <= last for d in data.doses):
        return [pdf.text(_("No diary day or dose to draw in this range."), st.body)]
    width = (pdf.PAPER[paper][0] - 2 * pdf.MARGIN) / 72
    key = ":".join(
        (
            "report-chart",
            reportlab.Version,
            str(child.pk),
            data_version(child),
            first.isoformat(),
            last.isoformat(),
            translation.get_language() or "",
            f"{width:.2f}",
        )
    )
    # The drawing is kept, not the SVG: converting it is a third of the chart's cost.
    drawing = cache.get(key)
    if drawing is None:
        import matplotlib

        # Text kept as text: searchable in the PDF, and quicker to convert. rcParams are the
        # process's: an SVG drawn by another thread meanwhile would only get real text too.
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            drawing = pdf.svg_drawing(_chart_svg(child, outcome, first, last, width))
        cache.set(key, drawing)
    return [pdf.Chart(drawing)]


# --- Phases -------------------------------------------------------------------------------------


def _phase_table(outcome: ChildOutcome, first, last, instrument, st) -> list:
    phases = outcome.summary.phases
    days = outcome.data.days(last)
    rows, outside, empty = [], [], []
    for r in course.clipped_summaries(phases, days, first, last):
        if not r.days:
            (outside if phases.intervals.get(r.phase) else empty).append(str(r.phase))
            continue
        rows.append(
            [
                f"{r.phase} · {phase_name(r.phase)}",
                f"{r.days}\n{pdf.day(r.start)} – {pdf.day(r.end)}",
                f"{r.recorded} ({pdf.percent_text(r.completeness)})",
                _fmt(r.mean),
                f"{_fmt(r.median, 1)} ({_fmt(r.q1, 1)}–{_fmt(r.q3, 1)})"
                if r.median is not None
                else "–",
                _fmt(r.skin_mean),
                pdf.percent_text(r.fever_pct),
                _fmt(r.steroid_mg_per_kg),
                _fmt(r.jaki_mg_per_kg),
            ]
        )
    content = []
    if rows:
        content.append(
            pdf.table(
                [
                    _("Phase"),
                    _("Days"),
                    _("Recorded"),
                    _("Mean"),
                    _("Median (IQR)"),
                    _("Skin"),
                    _("Fever days"),
                    _("Steroid mg/kg/day"),
                    _("JAKi mg/kg/day"),
                ],
                rows,
                [1.3, 1.6, 1.05, 0.8, 1.05, 0.6, 0.75, 1.05, 1.0],
                st,
            )
        )
    else:
        content.append(pdf.text(_("No treatment phase falls in this range."), st.body))
    note = _(
        "Daily score 0–%(max)s. Phases derived up to %(cutoff)s; only their days from %(first)s "
        "to %(last)s are counted. Steroid as prednisone equivalent."
    ) % {
        "max": instrument.max_score,
        "cutoff": pdf.day(phases.cutoff),
        "first": pdf.day(first),
        "last": pdf.day(last),
    }
    if outside:
        note += " " + _("Outside this range: phase %(phases)s.") % {"phases": ", ".join(outside)}
    if empty:
        note += " " + _("Not reached: phase %(phases)s.") % {"phases": ", ".join(empty)}
    content.append(pdf.text(note, st.small))
    return content


# --- Doses ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Doses:
    first: date
    last: date
    total: course.DoseCount
    by_phase: list[tuple[int, course.DoseCount]]


def _doses(child: Child, first: date, last: date, outcome: ChildOutcome) -> Doses:
    """JAK-inhibitor doses prescribed and recorded from FIRST to LAST (today's doses may still
    be due: the caller ends the range yesterday at the latest)."""
    prescribed = course.prescribed_slots(
        [
            (p.start_date, p.drug, tuple(slot for slot, _mg in p.slots))
            for p in Prescription.objects.filter(child=child, start_date__lte=last)
        ],
        first,
        last,
    )
    given, missed = set(), set()
    for day, slot, drug, status, given_mg in DoseAdministration.objects.filter(
        child=child, date__range=(first, last)
    ).values_list("date", "slot", "drug", "status", "given_mg"):
        (given if course.taken(status, given_mg) else missed).add((day, slot, drug))
    by_phase = []
    for number in course.PHASES:
        part = course.clip(outcome.summary.phases.intervals.get(number), first, last)
        if part:
            inside = {d for d in prescribed if part.start <= d[0] <= part.end}
            by_phase.append((number, course.count_doses(inside, given, missed)))
    return Doses(first, last, course.count_doses(prescribed, given, missed), by_phase)


def _dose_sentence(count: course.DoseCount, first: date, last: date) -> str:
    if last < first:
        return _("No full day in this range yet.")
    if not count.prescribed:
        return _("No JAK-inhibitor dose prescribed from %(first)s to %(last)s.") % {
            "first": pdf.day(first),
            "last": pdf.day(last),
        }
    return _(
        "%(given)s of %(prescribed)s prescribed doses recorded as given (%(percent)s) from "
        "%(first)s to %(last)s; %(missed)s missed, %(unknown)s not recorded."
    ) % {
        "given": count.given,
        "prescribed": count.prescribed,
        "percent": pdf.percent(count.given, count.prescribed),
        "first": pdf.day(first),
        "last": pdf.day(last),
        "missed": count.missed,
        "unknown": count.not_recorded,
    }


def _dose_section(doses: Doses, data: ChildData, first, last, st) -> list:
    content = []
    rows = [
        [
            f"{n} · {phase_name(n)}",
            str(c.prescribed),
            str(c.given),
            str(c.missed),
            str(c.not_recorded),
            pdf.percent(c.given, c.prescribed),
        ]
        for n, c in doses.by_phase
        if c.prescribed
    ]
    if rows:
        content.append(
            pdf.table(
                [
                    _("Phase"),
                    _("Prescribed"),
                    _("Given"),
                    _("Missed"),
                    _("Not recorded"),
                    _("Given %"),
                ],
                rows,
                [2.2, 1, 1, 1, 1, 1],
                st,
            )
        )
    content.append(pdf.text(_dose_sentence(doses.total, doses.first, doses.last), st.small))
    steroid_days = sorted(d for d in data.steroid_mg if first <= d <= last)
    if steroid_days:
        latest = (
            SteroidDose.objects.filter(child=data.child, date__range=(first, last))
            .order_by("-date")
            .first()
        )
        content.append(
            pdf.text(
                ngettext(
                    "Steroid given on %(n)s day of %(days)s; the latest: %(mg)s mg of "
                    "%(drug)s on %(day)s.",
                    "Steroid given on %(n)s days of %(days)s; the latest: %(mg)s mg of "
                    "%(drug)s on %(day)s.",
                    len(steroid_days),
                )
                % {
                    "n": len(steroid_days),
                    "days": (last - first).days + 1,
                    "mg": mg(latest.mg),
                    "drug": latest.get_drug_display().lower(),
                    "day": pdf.day(latest.date),
                },
                st.body,
            )
        )
    else:
        content.append(pdf.text(_("No steroid dose recorded in this range."), st.body))
    return content


# --- Results, flags, overdue tests -------------------------------------------------------------


def latest_results(child: Child, first: date, last: date) -> list[LabResult]:
    """The latest result of each test sampled from FIRST to LAST, in the tests' order."""
    latest = {}
    for result in (
        LabResult.objects.filter(child=child, sample_date__range=(first, last))
        .order_by("sample_date", "pk")
        .prefetch_related("flags")
    ):
        latest[result.analyte] = result
    order = {a.value: i for i, a in enumerate(Analyte)}
    return sorted(latest.values(), key=lambda r: order.get(r.analyte, len(order)))


def _latest_results(child, first, last, st) -> list:
    rows = []
    for r in latest_results(child, first, last):
        value = f"{plain(r.value)} {r.unit}"
        if r.egfr is not None:
            value += " · " + _("eGFR %(egfr)s") % {"egfr": plain(r.egfr)}
        flags = "; ".join(
            f"{f.get_severity_display()}: {f.message}"
            for f in r.flags.all()
            if f.severity != "info"
        )
        rows.append(
            [
                str(r.get_analyte_display()),
                pdf.day(r.sample_date),
                value,
                plain(r.uln) if r.uln is not None else "",
                flags or _("none"),
            ]
        )
    if not rows:
        return [pdf.text(_("No blood result in this range."), st.body)]
    return [
        pdf.table(
            [_("Test"), _("Sample date"), _("Result"), _("ULN"), _("Guideline flags")],
            rows,
            [1.6, 1.0, 1.4, 0.6, 3.4],
            st,
        )
    ]


def _flag_table(flags: list[LabFlag], st) -> list:
    flags = sorted(flags, key=lambda f: (f.day, f.pk), reverse=True)
    if not flags:
        return []
    rows = [
        [
            pdf.day(f.day),
            str(f.get_severity_display()),
            f"{f.message} ({f.source})",
            "–"
            if f.severity == "info"
            else _("acknowledged %(day)s") % {"day": pdf.day(timezone.localdate(f.acknowledged_at))}
            if f.acknowledged_at
            else _("open"),
        ]
        for f in flags[:FLAGS_SHOWN]
    ]
    content = [
        pdf.table([_("Date"), _("Severity"), _("Flag"), _("Status")], rows, [1, 1.3, 5, 1.3], st)
    ]
    if len(flags) > FLAGS_SHOWN:
        content.append(
            pdf.text(
                _("%(n)s earlier flags of this range are on the blood tests page.")
                % {"n": len(flags) - FLAGS_SHOWN},
                st.small,
            )
        )
    return content


def missing_words(item: schedule.Due) -> str:
    """What a partly done test lacks: "Neutrophils, ALT or AST"."""
    return ", ".join(_(" or ").join(str(Analyte(a).label) for a in group) for group in item.missing)


def _overdue_section(in_range, overdue, first, last, items, today, st) -> list:
    if not items:
        return []
    content = []
    if in_range:
        rows = [
            [
                pdf.day(d.due),
                d.panel_label,
                f"{d.reason} ({d.source})",
                _("partial: missing %(what)s") % {"what": missing_words(d)}
                if d.partial
                else _("not done"),
            ]
            for d in in_range
        ]
        content.append(
            pdf.table([_("Due"), _("Test"), _("Why"), _("Status")], rows, [1, 2.6, 2.4, 2.4], st)
        )
    else:
        content.append(
            pdf.text(
                _("No test due from %(first)s to %(last)s is overdue.")
                % {"first": pdf.day(first), "last": pdf.day(last)},
                st.body,
            )
        )
    before = [d for d in overdue if d.due < first]
    if before:
        content.append(
            pdf.text(
                ngettext(
                    "Also overdue from before the range: %(n)s test, the latest due %(day)s.",
                    "Also overdue from before the range: %(n)s tests, the latest due %(day)s.",
                    len(before),
                )
                % {"n": len(before), "day": pdf.day(max(d.due for d in before))},
                st.small,
            )
        )
    content.append(
        pdf.text(
            _(
                "A test is overdue when no result of each of its tests was recorded within "
                "%(days)s days of its due date (SPARN JAKi guideline §6.7, §6.8, §5.4), as of "
                "%(day)s."
            )
            % {"days": settings.REMINDER_DAYS_AFTER, "day": pdf.day(min(last, today))},
            st.small,
        )
    )
    return content


# --- Prescriptions ----------------------------------------------------------------------------


def _prescriptions_in_range(child: Child, first: date, last: date) -> list[Prescription]:
    """The prescription in force on FIRST and those started up to LAST, oldest first."""
    rows = list(
        Prescription.objects.filter(child=child, start_date__lte=last).order_by("start_date")
    )
    in_force = [p for p in rows if p.start_date <= first]
    return ([in_force[-1]] if in_force else []) + [p for p in rows if p.start_date > first]


def _regimen(r: guideline.Regimen) -> str:
    return f"{mg(r.morning)} / {mg(r.afternoon)} / {mg(r.evening)} = {per_day(r.total)}"


def guideline_words(prescription: Prescription, weight, age: int, egfr) -> str:
    """The guideline's doses for a child of WEIGHT, AGE and EGFR (None: not known) when
    PRESCRIPTION started, and whether it is above them. A missing weight or eGFR is said, with
    the doses of each band it could be in."""
    if prescription.total_mg <= 0:
        return "–"
    drug, indication = prescription.drug, prescription.indication
    try:
        alternatives = guideline.dose_alternatives(drug, indication, weight, age, egfr)
    except guideline.GuidelineInputError as error:
        return error.message
    said = [
        c.message
        for c in guideline.missing_inputs(drug, indication, weight, egfr, treatment.recency())
    ]
    bands = []
    for label, found in alternatives:
        words = _("initial %(initial)s") % {"initial": _regimen(found.initial)}
        if found.escalation:
            words += "; " + _("escalation %(escalation)s") % {
                "escalation": _regimen(found.escalation)
            }
        words = f"{label}: {words}" if label else words
        bands.append(f"{words} ({found.source})")
    if len(alternatives) == 1:
        above = guideline.above_guideline_dose(prescription.total_mg, alternatives[0][1])
        if above:
            bands.append(above)
    return " ".join([*said, *bands])


def _prescription_section(child, prescriptions, first, last, data: ChildData, st) -> list:
    content = []
    if prescriptions:
        egfr_rows = treatment.egfrs([child.pk]).get(child.pk, [])
        rows = []
        for p in prescriptions:
            weight = guideline.weight_on(p.start_date, data.weights)
            per_kg = guideline.mg_per_kg(p.total_mg, weight) if p.total_mg else None
            rows.append(
                [
                    pdf.day(p.start_date),
                    str(p.get_drug_display()),
                    slots(p),
                    mg(p.total_mg),
                    f"{_fmt(per_kg)} ({plain(weight)} kg)"
                    if per_kg is not None
                    else ("–" if not p.total_mg else _("no weight")),
                    str(p.get_reason_display()),
                    guideline_words(
                        p,
                        treatment.recent_weight(p.start_date, data.weights),
                        child.age_in_years(p.start_date),
                        treatment.recent_egfr(p.start_date, egfr_rows),
                    ),
                ]
            )
        content.append(
            pdf.table(
                [
                    _("Start"),
                    _("Drug"),
                    _("Morning / afternoon / evening (mg)"),
                    _("mg/day"),
                    _("mg/kg/day (weight)"),
                    _("Reason"),
                    _("Guideline dose for the child then"),
                ],
                rows,
                [0.95, 1.15, 1.1, 0.7, 1.05, 1.25, 2.8],
                st,
            )
        )
        note = _("mg/kg/day uses the weight measured on, or most recently before, the start date.")
        if prescriptions[0].start_date < first:
            note = (
                _("The first line is the prescription in force on %(first)s.")
                % {"first": pdf.day(first)}
                + " "
                + note
            )
        content.append(pdf.text(note, st.small))
    steroids = list(
        SteroidPrescription.objects.filter(child=child, start_date__lte=last).order_by("start_date")
    )
    before = [s for s in steroids if s.start_date <= first]
    steroids = before[-1:] + [s for s in steroids if s.start_date > first]
    if steroids:
        content.append(pdf.text(_("Steroid prescriptions"), st.h3))
        content.append(
            pdf.table(
                [_("Start"), _("Steroid"), _("mg/day"), _("Note")],
                [
                    [pdf.day(s.start_date), str(s.get_drug_display()), mg(s.mg_per_day), s.note]
                    for s in steroids
                ],
                [1, 1.4, 0.8, 5],
                st,
            )
        )
    return content


def _current_dose(child, prescriptions, last, data: ChildData) -> list[tuple[str, str]]:
    current = prescriptions[-1] if prescriptions else None
    if current is None:
        return [
            (
                _("Prescription"),
                _("No JAK-inhibitor prescription by %(day)s.") % {"day": pdf.day(last)},
            )
        ]
    if current.total_mg <= 0:
        words = _("%(drug)s: %(reason)s since %(day)s.") % {
            "drug": current.get_drug_display(),
            "reason": current.get_reason_display().lower(),
            "day": pdf.day(current.start_date),
        }
    else:
        weight = guideline.weight_on(last, data.weights)
        per_kg = guideline.mg_per_kg(current.total_mg, weight)
        words = _("%(drug)s %(slots)s mg = %(total)s since %(day)s") % {
            "drug": current.get_drug_display(),
            "slots": slots(current),
            "total": per_day(current.total_mg),
            "day": pdf.day(current.start_date),
        }
        if per_kg is not None:
            words += "; " + _("%(per_kg)s mg/kg/day at %(weight)s kg") % {
                "per_kg": _fmt(per_kg),
                "weight": plain(weight),
            }
        words += "."
    return [(_("Prescription on %(day)s") % {"day": pdf.day(last)}, words)]


# --- Weight and height, visit assessments, notes ---------------------------------------------


def _growth_section(child, first, last, st) -> list:
    rows = list(
        GrowthMeasurement.objects.filter(child=child, date__range=(first, last))
        .order_by("date")
        .values_list("date", "weight_kg", "height_cm")
    )
    if not rows:
        return [pdf.text(_("No weight or height recorded in this range."), st.body)]
    sds = growth_sds(child, first, last)
    measures = [
        (key, label)
        for key, label in (
            ("height", _("Height SDS")),
            ("weight", _("Weight SDS")),
            ("bmi", _("BMI SDS")),
        )
        if any(key in values for values in sds.values())
    ]
    header = [_("Date"), _("Weight (kg)"), _("Height (cm)")] + [label for _k, label in measures]
    table_rows = [
        [
            pdf.day(day),
            plain(kg) if kg is not None else "–",
            plain(cm) if cm is not None else "–",
        ]
        + [_fmt(sds.get(day, {}).get(key)) for key, _label in measures]
        for day, kg, cm in rows
    ]
    content = [pdf.table(header, table_rows, [1.2, 1, 1] + [1] * len(measures), st)]
    references = growth_references(child, first, last)
    if references:
        content.append(
            pdf.text(
                _(
                    "SDS (Z-scores) for age and sex against %(references)s, computed with the "
                    "RCPCH's rcpchgrowth when each was recorded."
                )
                % {"references": "; ".join(references)},
                st.small,
            )
        )
    return content


def _assessments(child, first, last, st) -> list:
    rows = visit_assessments(child, first, last)
    if not rows:
        return []
    return [
        pdf.table(
            [_("Date"), _("Assessment"), _("Value")],
            [[pdf.day(day), what, value] for day, what, value in rows],
            [1, 2.2, 4.8],
            st,
        ),
        pdf.text(
            _(
                "AGS Scale: %(max)s milestones, one point each (%(source)s); severity bands are "
                "configurable defaults. Global assessments: 0–100 mm visual-analogue scale, "
                "100 = worst (NIH, Sanchez 2018, Figure 2)."
            )
            % {
                "max": assessments.AGS_SCALE_MAX,
                # "Adang et al., …": the paper, without the scale's name around it.
                "source": assessments.AGS_SCALE_SOURCE.partition(" (")[2].removesuffix(")"),
            },
            st.small,
        ),
    ]


def _notes(child, first, last, st) -> list:
    notes = list(
        DiaryEntry.objects.filter(child=child, date__range=(first, last))
        .exclude(note="")
        .order_by("date")
        .values_list("date", "note")
    )
    if not notes:
        return [pdf.text(_("No diary note in this range."), st.body)]
    content = [
        pdf.table(
            [_("Date"), _("Note")],
            [[pdf.day(day), note] for day, note in notes[:NOTES_SHOWN]],
            [1, 7],
            st,
        )
    ]
    if len(notes) > NOTES_SHOWN:
        content.append(
            pdf.text(
                _("%(n)s later notes of this range are in the diary.")
                % {"n": len(notes) - NOTES_SHOWN},
                st.small,
            )
        )
    return content
