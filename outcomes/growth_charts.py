"""The child's growth chart: height, weight and BMI against the centile lines of the site's
growth reference (rcpchgrowth), with the child's own measurements on them."""

import hashlib
import math

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import translation
from django.utils.translation import gettext
from matplotlib.figure import Figure
from scipy.stats import norm

from diary import growth
from diary.models import Child, GrowthMeasurement
from outcomes.charts import ACCENT, INK, MUTED, LocalNumbers, render

# The centiles each reference's charts print: UK-WHO and WHO use Cole's nine (⅔ SD apart),
# CDC its 3rd–97th.
CENTILES = {
    growth.GrowthReference.UK_WHO: (0.4, 2, 9, 25, 50, 75, 91, 98, 99.6),
    growth.GrowthReference.WHO: (0.4, 2, 9, 25, 50, 75, 91, 98, 99.6),
    growth.GrowthReference.CDC: (3, 5, 10, 25, 50, 75, 90, 95, 97),
}
PANELS = (
    ("height", "height_cm", lambda: gettext("height (cm)")),
    ("weight", "weight_kg", lambda: gettext("weight (kg)")),
    ("bmi", "bmi", lambda: gettext("BMI (kg/m²)")),
)
STEPS = 80  # ages per centile line


def _age(born, day) -> float:
    return (day - born).days / 365.25


def centile_lines(reference: str, sex: str, measure: str, first: float, last: float) -> dict:
    """{centile: [(age, value)]} between the ages FIRST and LAST, where the reference has data;
    a gap (None) where it has none or changes source (UK-WHO at 4 years)."""
    from rcpchgrowth import measurement_from_sds

    lines = {}
    for centile in CENTILES[reference]:
        z = float(norm.ppf(centile / 100))
        points = []
        for step in range(STEPS + 1):
            age = first + (last - first) * step / STEPS
            try:
                value = measurement_from_sds(reference, z, measure, growth.SEXES[sex], age)
            except (LookupError, ValueError, ZeroDivisionError):
                value = None
            points.append((age, value))
        lines[centile] = points
    return lines


def growth_figure(child: Child, rows: list, reference: str, size=(8, 9)) -> Figure:
    """ROWS: (date, weight, height, bmi) of the child's measurements, oldest first."""
    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots(3, 1, sharex=True)
    ages = [_age(child.date_of_birth, r[0]) for r in rows]
    first = max(0.0, min(ages, default=0) - 0.5)
    last = max(ages, default=1) + 0.5
    for ax, (measure, _field, label) in zip(axes, PANELS, strict=True):
        ax.yaxis.set_major_formatter(LocalNumbers())
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylabel(label())
        if child.sex in growth.SEXES:
            lines = centile_lines(reference, child.sex, measure, first, last)
            for centile, points in lines.items():
                xs = [a for a, v in points]
                ys = [math.nan if v is None else v for a, v in points]
                ax.plot(xs, ys, color=MUTED, lw=1.2 if centile == 50 else 0.6, zorder=1)
                shown = [(a, v) for a, v in points if v is not None]
                if shown:
                    ax.text(shown[-1][0], shown[-1][1], f" {centile:g}", fontsize=6, color=MUTED)
        index = {"height": 2, "weight": 1, "bmi": 3}[measure]
        mine = [(a, float(r[index])) for a, r in zip(ages, rows, strict=True) if r[index]]
        if mine:
            ax.plot([a for a, _ in mine], [v for _, v in mine], "o-", color=ACCENT, ms=3, lw=1)
    axes[-1].set_xlim(first, last)
    axes[-1].set_xlabel(gettext("age (years)"))
    title = gettext("%(name)s – growth against %(reference)s centiles") % {
        "name": child.first_name,
        "reference": growth.GrowthReference(reference).label,
    }
    axes[0].set_title(title, loc="left", fontsize=11, color=INK)
    if child.sex not in growth.SEXES:
        axes[0].text(
            0.5,
            0.5,
            gettext("No centiles: the references are by sex, and none is stated."),
            transform=axes[0].transAxes,
            ha="center",
            color=INK,
        )
    return figure


def growth_chart(child: Child, fmt: str) -> bytes:
    """The chart, drawn once per measurements' version, reference, format and language."""
    reference = child.site.growth_reference
    stamp = GrowthMeasurement.objects.filter(child=child).aggregate(n=Count("pk"), t=Max("updated"))
    raw = f"{child.pk}:{child.sex}:{child.date_of_birth}:{reference}:{stamp}"
    version = hashlib.sha256(raw.encode()).hexdigest()[:16]
    key = f"growth:{child.pk}:{version}:{fmt}:{translation.get_language()}"
    body = cache.get(key)
    if body is None:
        rows = list(
            GrowthMeasurement.objects.filter(child=child)
            .order_by("date")
            .values_list("date", "weight_kg", "height_cm", "bmi")
        )
        growth.check_reference(reference)
        body = render(growth_figure(child, rows, reference), fmt)
        cache.set(key, body)
    return body
