"""The outcome section of the child's page: diary's page shows it without importing our views."""

from django import template

from diary import language
from diary.models import Child
from outcomes import charts, pages, phone_chart, schedule, stats
from outcomes.pages import child_outcome
from outcomes.phases import NAMES
from outcomes.words import plain_summary

register = template.Library()


@register.inclusion_tag("outcomes/_child_outcomes.html", takes_context=True)
def child_outcomes(context, child: Child):
    user = context["request"].user
    outcome = child_outcome(child)
    clinician = Child.objects.managed_by(user).filter(pk=child.pk).exists()
    instrument = child.get_instrument()
    return {
        "child": child,
        "clinician": clinician,
        "summary": outcome.summary,
        "rows": outcome.summary.summaries,
        "phases": outcome.summary.phases,
        "instrument": instrument,
        "plain": plain_summary(child, outcome.summary, instrument),
        "labs": outcome.labs,
        "chart": chart_context(child, len(outcome.labs)),
        "request": context["request"],
    }


def chart_context(child: Child, panels: int) -> dict:
    """The chart's sizes (the figure grows with its result panels), the data version its
    address names, and when the drawing the reader will get was made."""
    version = pages.data_version(child)
    latest = pages.latest_drawing(child)
    width, height = charts.timeline_size_px(panels)
    phone_width, phone_height = phone_chart.size_px()
    return {
        "version": version,
        "width": width,
        "height": height,
        "phone_width": phone_width,
        "phone_height": phone_height,
        "drawn": pages.Drawing(b"", latest[0], latest[1], latest[0] == version) if latest else None,
    }


@register.filter
def phase_name(number) -> str:
    """A phase's name ("optimal dose") in the reader's language."""
    return str(NAMES.get(number, ""))


@register.filter
def measured(value):
    """A stored measurement as entered, without the zeros its column pads it with (7.500 → 7.5,
    100.000 → 100), in the reader's number format."""
    return language.number(value)


@register.filter
def panel_label(panel: str) -> str:
    """A monitoring panel's key (bloods, bk_jc...) as its name in the reader's language."""
    return schedule.panel_label(panel)


@register.filter
def p_value(value) -> str:
    """A p-value as a paper prints it ("< 0.001", never "0.0000"), in the reader's format."""
    return stats.p_value_text(value)
