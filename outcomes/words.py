"""A child's course in plain words for caregivers."""

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from diary.instruments import Instrument
from diary.language import whose
from outcomes.summaries import ChildSummary


def _n(value: float) -> str:
    return number_format(round(value, 1), decimal_pos=1)


def plain_summary(child, summary: ChildSummary, instrument: Instrument) -> list[str]:
    """Two to four sentences: before treatment, since the dose was stable, the items."""
    by_phase = summary.by_phase()
    lines = []
    before = by_phase[1]
    if before.mean is not None:
        lines.append(
            _(
                "Before treatment, %(whose)s daily score averaged %(score)s out of "
                "%(max)s (%(days)s days recorded)."
            )
            % {
                "whose": whose(child.first_name),
                "score": _n(before.mean),
                "max": instrument.max_score,
                "days": before.recorded,
            }
        )
    stable = summary.phases.optimal_date
    recent = [s for s in (by_phase[3], by_phase[4]) if s.mean is not None]
    if stable and recent:
        days = sum(s.recorded for s in recent)
        mean = sum(s.mean * s.recorded for s in recent) / days
        lines.append(
            _("Since the dose was stable (%(date)s), it averaged %(score)s.")
            % {"date": date_format(stable, "j F Y"), "score": _n(mean)}
        )
        items = summary.item_means.get(3) or summary.item_means.get(4) or {}
        baseline = summary.item_means.get(1, {})
        for item in instrument.items[:3]:
            if item.key in items:
                text = _("%(item)s averaged %(now)s out of %(max)s") % {
                    "item": item.label,
                    "now": _n(items[item.key]),
                    "max": item.max,
                }
                if item.key in baseline:
                    text += " " + _("(before treatment: %(before)s)") % {
                        "before": _n(baseline[item.key])
                    }
                lines.append(text + ".")
    elif summary.phases.first_dose and by_phase[2].mean is not None:
        lines.append(
            _(
                "Since treatment started (%(date)s), the daily score averaged %(score)s; "
                "the dose is still being adjusted."
            )
            % {
                "date": date_format(summary.phases.first_dose, "j F Y"),
                "score": _n(by_phase[2].mean),
            }
        )
    if not lines:
        lines.append(_("There are not enough diary days yet to summarise."))
    return lines
