"""The family summary: the last 90 days in plain words, for a parent to bring to any doctor.

In the reader's language: how often the diary was filled in and how the score went, the doses
given and missed, steroids, the latest weight and height with their centiles when measured in
the 90 days, the prescription in force, the next blood test and any overdue, and
the guideline's reminders to talk to the treating team (each naming its section). No diary
note and no number a parent would need a clinician to read.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from diary import language
from diary.growth import GrowthReference
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Medicine,
    Prescription,
    SteroidDose,
    SteroidPrescription,
)
from outcomes import course, labs, pdf, schedule

DAYS = 90
RECENT = 30  # the trend compares the last RECENT days with the DAYS - RECENT before them
TREND_MIN_DAYS = 7  # scored days needed on each side to speak of a trend
GUIDELINE = "SPARN JAKi guideline"


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period(today: date) -> Period:
    return Period(today - timedelta(days=DAYS - 1), today)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _score(value: float) -> str:
    return pdf.number(value, 1)


def diary_words(child: Child, scores: dict[date, float], span: Period) -> list[str]:
    """Completeness and the score's trend in words, from the scored days of SPAN."""
    instrument = child.get_instrument()
    scored = course.completeness(set(scores), span.first, span.last)
    lines = [
        _("The diary has a score for %(n)s of the last %(days)s days (%(percent)s).")
        % {
            "n": scored.scored,
            "days": scored.days,
            "percent": pdf.percent(scored.scored, scored.days),
        }
    ]
    if not scores:
        return lines
    split = span.last - timedelta(days=RECENT - 1)
    recent = [v for d, v in scores.items() if d >= split]
    before = [v for d, v in scores.items() if d < split]
    lines.append(
        _(
            "The daily score (0 to %(max)s: higher means more symptoms) averaged %(mean)s over "
            "these days."
        )
        % {"max": instrument.max_score, "mean": _score(_mean(list(scores.values())))}
    )
    if len(recent) < TREND_MIN_DAYS or len(before) < TREND_MIN_DAYS:
        lines.append(
            _(
                "Too few days were scored to say how the score changed (%(min)s needed on each "
                "side)."
            )
            % {"min": TREND_MIN_DAYS}
        )
        return lines
    values = {
        "days": RECENT,
        "before_days": DAYS - RECENT,
        "recent": _score(_mean(recent)),
        "before": _score(_mean(before)),
    }
    margin = settings.WORSENING_MARGIN * instrument.max_score
    direction = course.trend(_mean(recent), _mean(before), margin)
    if direction == course.LOWER:
        text = _(
            "In the last %(days)s days it averaged %(recent)s: lower (fewer symptoms) than in "
            "the %(before_days)s days before (%(before)s)."
        )
    elif direction == course.HIGHER:
        text = _(
            "In the last %(days)s days it averaged %(recent)s: higher (more symptoms) than in "
            "the %(before_days)s days before (%(before)s)."
        )
    else:
        text = _(
            "In the last %(days)s days it averaged %(recent)s: about the same as in the "
            "%(before_days)s days before (%(before)s)."
        )
    lines.append(text % values)
    return lines


def _slots_words(p: Prescription) -> str:
    parts = []
    for amount, when in (
        (p.morning_mg, _("in the morning")),
        (p.afternoon_mg, _("in the afternoon")),
        (p.evening_mg, _("in the evening")),
    ):
        if amount:
            parts.append(_("%(mg)s mg %(when)s") % {"mg": language.number(amount), "when": when})
    return ", ".join(parts)


def prescription_words(child: Child, today: date) -> list[str]:
    current = Prescription.objects.filter(child=child).in_force_on(today)
    if current is None:
        return [_("No JAK-inhibitor treatment is prescribed.")]
    drug = current.get_drug_display()
    since = pdf.long_day(current.start_date)
    if current.total_mg <= 0:
        if current.reason == "stop":
            return [_("%(drug)s was stopped on %(day)s.") % {"drug": drug, "day": since}]
        return [_("%(drug)s has been paused since %(day)s.") % {"drug": drug, "day": since}]
    return [
        _("Prescribed: %(drug)s, %(slots)s: %(total)s mg a day, since %(day)s.")
        % {
            "drug": drug,
            "slots": _slots_words(current),
            "total": language.number(current.total_mg),
            "day": since,
        }
    ]


def dose_words(child: Child, span: Period) -> list[str]:
    """The doses of the span's full days (today's may still be due)."""
    last = span.last - timedelta(days=1)
    prescribed = course.prescribed_slots(
        [
            (p.start_date, p.drug, tuple(slot for slot, _mg in p.slots))
            for p in Prescription.objects.filter(child=child, start_date__lte=last)
        ],
        span.first,
        last,
    )
    if not prescribed:
        return []
    given, missed = set(), set()
    for day, slot, drug, status, mg in DoseAdministration.objects.filter(
        child=child, date__range=(span.first, last)
    ).values_list("date", "slot", "drug", "status", "given_mg"):
        (given if course.taken(status, mg) else missed).add((day, slot, drug))
    count = course.count_doses(prescribed, given, missed)
    lines = [
        _(
            "Of the %(prescribed)s doses prescribed from %(first)s to %(last)s, %(given)s were "
            "recorded as given, %(missed)s as missed, and %(unknown)s were not recorded."
        )
        % {
            "prescribed": count.prescribed,
            "first": pdf.long_day(span.first),
            "last": pdf.long_day(last),
            "given": count.given,
            "missed": count.missed,
            "unknown": count.not_recorded,
        }
    ]
    changes = Prescription.objects.filter(
        child=child, start_date__gt=span.first, start_date__lte=span.last
    ).order_by("start_date")
    for p in changes:
        lines.append(
            _("On %(day)s: %(reason)s, %(total)s mg a day.")
            % {
                "day": pdf.long_day(p.start_date),
                "reason": p.get_reason_display().lower(),
                "total": language.number(p.total_mg),
            }
        )
    return lines


def steroid_words(child: Child, span: Period) -> list[str]:
    doses = list(
        SteroidDose.objects.filter(child=child, date__range=(span.first, span.last)).order_by(
            "date"
        )
    )
    lines = []
    current = (
        SteroidPrescription.objects.filter(child=child, start_date__lte=span.last)
        .order_by("-start_date")
        .first()
    )
    if current and current.mg_per_day > 0:
        lines.append(
            _("Steroid prescribed: %(drug)s, %(mg)s mg a day, since %(day)s.")
            % {
                "drug": current.get_drug_display().lower(),
                "mg": language.number(current.mg_per_day),
                "day": pdf.long_day(current.start_date),
            }
        )
    if not doses:
        lines.append(_("No steroid dose was recorded in the last %(days)s days.") % {"days": DAYS})
        return lines
    latest = doses[-1]
    lines.append(
        ngettext(
            "A steroid was given on %(n)s day of the last %(days)s; the latest: %(mg)s mg of "
            "%(drug)s on %(day)s.",
            "A steroid was given on %(n)s days of the last %(days)s; the latest: %(mg)s mg of "
            "%(drug)s on %(day)s.",
            len({d.date for d in doses}),
        )
        % {
            "n": len({d.date for d in doses}),
            "days": DAYS,
            "mg": language.number(latest.mg),
            "drug": latest.get_drug_display().lower(),
            "day": pdf.long_day(latest.date),
        }
    )
    return lines


def blood_test_words(child: Child, today: date) -> list[str]:
    items = labs.child_schedule(child)
    if not items:
        return [_("No blood test is scheduled.")]
    lines = []
    upcoming = schedule.next_due(items, today)
    if upcoming:
        lines.append(
            _("Next blood test due on %(day)s: %(test)s.")
            % {"day": pdf.long_day(upcoming.due), "test": upcoming.panel_label}
        )
    late = schedule.overdue(items, today, settings.REMINDER_DAYS_AFTER)
    for item in late:
        lines.append(
            _("Overdue: %(test)s, due on %(day)s.")
            % {"test": item.panel_label, "day": pdf.long_day(item.due)}
        )
    if not late:
        lines.append(_("No blood test is overdue."))
    return lines


def centile_words(centile: float, compare: str) -> str:
    """A centile as a parent reads it: how many in every 100 children of the same age and sex
    COMPARE ("weigh less")."""
    if centile < 0.5:
        text = _(
            "Fewer than 1 in every 100 children of the same age and sex %(compare)s (centile "
            "below 1)."
        )
    elif centile >= 99.5:
        text = _(
            "More than 99 in every 100 children of the same age and sex %(compare)s (centile "
            "above 99)."
        )
    else:
        text = _(
            "About %(n)s in every 100 children of the same age and sex %(compare)s (centile %(n)s)."
        )
    # Half up, as a reader rounds (0.5 is 1, never Python's banker's 0).
    n = int(Decimal(str(centile)).quantize(Decimal(1), ROUND_HALF_UP))
    return text % {"n": n, "compare": compare}


def growth_words(child: Child, span: Period) -> list[str]:
    """The latest weight and height of SPAN that have a centile (DOMAIN §6b), in plain words;
    nothing when none was measured with one."""
    rows = GrowthMeasurement.objects.filter(child=child, date__range=(span.first, span.last))
    lines, references = [], []
    for field, centile_field, text, compare in (
        ("weight_kg", "weight_centile", _("Weight on %(day)s: %(value)s kg."), _("weigh less")),
        ("height_cm", "height_centile", _("Height on %(day)s: %(value)s cm."), _("are shorter")),
    ):
        row = (
            rows.filter(**{f"{centile_field}__isnull": False, f"{field}__isnull": False})
            .order_by("-date")
            .first()
        )
        if row is None:
            continue
        words = text % {
            "day": pdf.long_day(row.date),
            "value": language.number(getattr(row, field)),
        }
        lines.append(f"{words} {centile_words(getattr(row, centile_field), compare)}")
        name = dict(GrowthReference.choices).get(row.growth_reference, row.growth_reference)
        if name not in references:
            references.append(name)
    if lines:
        lines.append(
            _(
                "Centiles against the %(reference)s growth reference; the treating team reads "
                "them with the child's earlier measurements."
            )
            % {"reference": " / ".join(str(r) for r in references)}
        )
    return lines


def medicine_words(child: Child, today: date) -> list[str]:
    taken = (
        Medicine.objects.filter(child=child, start_date__lte=today)
        .exclude(stop_date__lt=today)
        .order_by("name")
    )
    return [f"{m.name}{f', {m.dose}' if m.dose else ''}" for m in taken]


def reminders(child: Child, treated: bool) -> list[str]:
    """The guideline's points a family should raise with the treating team, each naming its
    section; the treating team decides."""
    if not treated:
        return [_("Ask the treating team about any question on the treatment.")]
    values = {"name": child.first_name, "guideline": GUIDELINE}
    return [
        _(
            "Tell the treating team at once if %(name)s has a serious infection with a fever, "
            "needs antibiotics or has shingles: the guideline says the JAK inhibitor should "
            "then be paused (%(guideline)s §7.3)."
        )
        % values,
        _(
            "No live vaccine while on a JAK inhibitor (%(guideline)s §11): show this summary "
            "before any vaccination."
        )
        % values,
        _(
            "Do not stop the treatment or change the dose without the treating team: stopping "
            "can bring a severe return of symptoms (%(guideline)s §12)."
        )
        % values,
        _("Before an operation, ask the treating team about the treatment (%(guideline)s §9).")
        % values,
    ]


def family_summary(child: Child, paper: str = "a4") -> bytes:
    st = pdf.styles()
    today = child.today()
    span = period(today)
    scores = dict(
        DiaryEntry.objects.filter(
            child=child, date__range=(span.first, span.last), score__isnull=False
        ).values_list("date", "score")
    )
    entries = DiaryEntry.objects.filter(child=child, date__range=(span.first, span.last))
    fever = entries.filter(fever=True).count()
    illness = entries.filter(illness=True).count()
    treated = Prescription.objects.filter(child=child).exclude(
        morning_mg=0, afternoon_mg=0, evening_mg=0
    )
    story = [
        pdf.text(
            _("Summary of the last %(days)s days: %(name)s") % {"days": DAYS, "name": child},
            st.title,
        ),
        pdf.text(
            _(
                "From %(first)s to %(last)s, from the diary kept by %(whose)s family and the "
                "records of the treating team at %(site)s. To show any doctor."
            )
            % {
                "first": pdf.long_day(span.first),
                "last": pdf.long_day(span.last),
                "whose": language.whose(child.first_name),
                "site": child.site.name,
            },
            st.body,
        ),
        pdf.facts(
            [
                (_("Date of birth"), pdf.long_day(child.date_of_birth)),
                (_("Diagnosis"), str(child.get_diagnosis_display())),
                (_("Treating team"), child.site.name),
            ],
            st,
        ),
    ]

    def part(title: str, lines: list[str]) -> None:
        story.extend(pdf.section(title, [pdf.text(line, st.body) for line in lines], st))

    diary = diary_words(child, scores, span)
    diary.append(
        ngettext("Fever was recorded on %(n)s day.", "Fever was recorded on %(n)s days.", fever)
        % {"n": fever}
        if fever
        else _("No fever was recorded.")
    )
    if illness:
        diary.append(
            ngettext(
                "An illness or infection was recorded on %(n)s day.",
                "An illness or infection was recorded on %(n)s days.",
                illness,
            )
            % {"n": illness}
        )
    part(_("The diary"), diary)
    part(_("Treatment"), prescription_words(child, today) + dose_words(child, span))
    part(_("Steroid"), steroid_words(child, span))
    part(_("Growth"), growth_words(child, span))
    part(_("Blood tests"), blood_test_words(child, today))
    part(_("Other medicines taken now"), medicine_words(child, today))
    part(_("Talk to the treating team"), reminders(child, treated.exists()))
    story.append(pdf.Spacer(1, 6))
    story.append(
        pdf.text(
            _(
                "This summary helps, and does not replace, the treating team's advice: the "
                "treating team decides."
            ),
            st.small,
        )
    )
    running = pdf.Running(
        child=str(child),
        born=_("Date of birth: %(date)s") % {"date": pdf.day(child.date_of_birth)},
        site=child.site.name,
        document=_("Family summary · %(first)s – %(last)s")
        % {"first": pdf.day(span.first), "last": pdf.day(span.last)},
        footer=_("Generated %(at)s. Decision support: the treating team decides.")
        % {"at": pdf.moment(child.local_now())},
    )
    return pdf.build(story, running, paper, _("Family summary: %(child)s") % {"child": child})
