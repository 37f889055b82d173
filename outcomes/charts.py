"""Server-side charts (matplotlib's object API: no pyplot, so no global state or lock shared
between requests). SVG for pages, PNG for downloads, PDF pages for the visit report."""

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import matplotlib

matplotlib.use("Agg")

from django.utils.formats import date_format, get_format  # noqa: E402
from django.utils.translation import gettext  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from outcomes import guideline, thresholds  # noqa: E402
from outcomes.phases import Phases  # noqa: E402

PHASE_COLOURS = {1: "#f3e0c6", 2: "#fbf3d1", 3: "#dcefe0", 4: "#d6e6f5"}
INK, ACCENT, MUTED = "#111111", "#0b57a4", "#767676"


SEVERITY_COLOURS = {"stop": "#b00020", "adjust": "#b00020", "watch": "#8a4b00"}


@dataclass(frozen=True)
class LabPanel:
    """One panel of results under the timeline, with the guideline's limits drawn across it."""

    label: str
    points: list  # (sample date, value)
    lines: list  # (value, colour, text naming its source)
    floor: float = 0.0
    ceiling: float = 0.0  # the axis shows at least up to here


def egfr_lines() -> list[tuple]:
    return [
        (40, "#b00020", gettext("eGFR 40: consider stopping or adjusting (SPARN §6.7)")),
        (120, MUTED, gettext("eGFR 120: dosing table threshold (SPARN §6.2b)")),
    ]


def lab_panels(results: dict[str, list], drug: str) -> list[LabPanel]:
    """Panels for the blood counts and eGFR that have results, with DRUG's thresholds."""
    labels = {
        "hb": gettext("Hb\ng/dL"),
        "neutrophils": gettext("neutrophils\n×10⁹/L"),
        "lymphocytes": gettext("lymphocytes\n×10⁹/L"),
    }
    panels = []
    for analyte, lines in thresholds.chart_lines(drug).items():
        if results.get(analyte):
            drawn = [(float(v), SEVERITY_COLOURS.get(sev, MUTED), text) for v, sev, text in lines]
            top = max(v for v, _c, _t in drawn) * 2
            panels.append(LabPanel(labels[analyte], results[analyte], drawn, ceiling=top))
    if results.get("egfr"):
        panels.append(LabPanel(gettext("eGFR"), results["egfr"], egfr_lines(), ceiling=160))
    return panels


class LocalDates(ConciseDateFormatter):
    """Matplotlib's concise dates with the months as the pages write them, in the reader's
    language ("juil." in French): strftime's %b is always English here."""

    MONTH = "@%m@"  # strftime writes the month number between the marks; we name it

    def __init__(self, locator):
        month = "%b"
        formats = ["%Y", month, "%d", "%H:%M", "%H:%M", "%S.%f"]
        zero_formats = ["", "%Y", month, f"%d {month}", "%H:%M", "%H:%M"]
        offset_formats = [
            "",
            "%Y",
            f"{month} %Y",
            f"%d {month} %Y",
            f"%d {month} %Y",
            f"%d {month} %Y %H:%M",
        ]
        mark = [[f.replace(month, self.MONTH) for f in fs] for fs in (formats, zero_formats)]
        offsets = [f.replace(month, self.MONTH) for f in offset_formats]
        super().__init__(locator, formats=mark[0], zero_formats=mark[1], offset_formats=offsets)
        # The month as the short dates of the active language write it (M: "Jul", N: "juil.").
        short = get_format("SHORT_DATE_FORMAT")
        self.month_format = next((c for c in short if c in "bMN"), "N")

    def _named(self, label: str) -> str:
        return re.sub(
            r"@(\d\d)@",
            lambda m: date_format(date(2000, int(m.group(1)), 1), self.month_format),
            label,
        )

    def format_ticks(self, values):
        return [self._named(label) for label in super().format_ticks(values)]

    def get_offset(self):
        return self._named(super().get_offset())


class LocalNumbers(ScalarFormatter):
    """Axis numbers with the reader's decimal mark ("0,5" in French)."""

    def __call__(self, x, pos=None):
        return super().__call__(x, pos).replace(".", get_format("DECIMAL_SEPARATOR"))


def rolling_mean(points: list[tuple[date, float]], days: int = 7, minimum: int = 4):
    """The mean of the scores of the last DAYS calendar days, where at least MINIMUM exist."""
    out = []
    values = dict(points)
    for day, _ in points:
        window = [values[d] for d in (day - timedelta(days=n) for n in range(days)) if d in values]
        if len(window) >= minimum:
            out.append((day, sum(window) / len(window)))
    return out


def render(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(
        buffer,
        format=fmt,
        dpi=150 if fmt == "png" else None,
        metadata={"Date": None} if fmt == "svg" else None,
    )
    return buffer.getvalue()


def _shade(ax, phases: Phases, label: bool, start: date | None = None):
    for number, interval in phases.intervals.items():
        if interval is None or (start is not None and interval.end < start):
            continue
        ax.axvspan(
            interval.start,
            interval.end + timedelta(days=1),
            color=PHASE_COLOURS[number],
            zorder=0,
            lw=0,
        )
        if label:
            shown = max(interval.start, start) if start else interval.start
            middle = shown + (interval.end - shown) / 2
            ax.text(
                middle,
                1.01,
                str(number),
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=9,
                color=INK,
            )


def timeline_figure(
    data,
    phases: Phases,
    title: str,
    max_score: int,
    labs: list[LabPanel] = (),
    size=(10, 7.5),
    start: date | None = None,
) -> Figure:
    """A child's course on one time axis: daily score with its 7-day mean, phases, JAK inhibitor
    and steroid mg/kg/day, then one panel per blood result with results (Hb, neutrophils,
    lymphocytes, eGFR) against the guideline's thresholds for the child's drug."""
    panels = 3 + len(labs)
    figure = Figure(figsize=(size[0], size[1] + 1.4 * len(labs)), layout="constrained")
    axes = figure.subplots(
        panels, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 1.2] + [1.2] * len(labs)}
    )
    score_ax, jaki_ax, steroid_ax = axes[0], axes[1], axes[2]
    cutoff = phases.cutoff
    points = [(d, s) for d, s, *_ in data.entries if s is not None and d <= cutoff]
    for ax in axes:
        ax.yaxis.set_major_formatter(LocalNumbers())
        _shade(ax, phases, label=ax is score_ax, start=start)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    if points:
        # Thousands of dots: drawn as one image inside the SVG, which keeps pages light.
        score_ax.scatter(
            [d for d, _ in points],
            [s for _, s in points],
            s=6,
            color=ACCENT,
            alpha=0.45,
            lw=0,
            label=gettext("daily score"),
            rasterized=True,
        )
        smooth = rolling_mean(points)
        score_ax.plot(
            [d for d, _ in smooth],
            [m for _, m in smooth],
            color=INK,
            lw=1.6,
            label=gettext("7-day mean"),
        )
        score_ax.legend(loc="upper right", frameon=False, fontsize=8)
    score_ax.set_ylim(0, max_score)
    score_ax.set_ylabel(gettext("daily score"))
    score_ax.set_title(title, loc="left", fontsize=11, pad=16)

    steps = []
    for dose in sorted(data.doses, key=lambda d: d.start):
        weight = guideline.weight_on(dose.start, data.weights)
        per_kg = guideline.mg_per_kg(dose.total_mg, weight) if weight else None
        steps.append((dose.start, float(per_kg) if per_kg is not None else 0.0))
    if steps:
        steps.append((cutoff, steps[-1][1]))
        jaki_ax.step([d for d, _ in steps], [v for _, v in steps], where="post", color=ACCENT)
    jaki_ax.set_ylabel(gettext("JAKi\nmg/kg/day"))
    jaki_ax.set_ylim(bottom=0)

    steroid = sorted(
        (d, float(guideline.mg_per_kg(mg, guideline.weight_on(d, data.weights)) or 0))
        for d, mg in data.steroid_mg.items()
        if d <= cutoff
    )
    if steroid:
        steroid_ax.plot([d for d, _ in steroid], [v for _, v in steroid], color="#8a4b00", lw=1)
    steroid_ax.set_ylabel(gettext("steroid\nmg/kg/day"))
    steroid_ax.set_ylim(bottom=0)

    for ax, panel in zip(axes[3:], labs, strict=True):
        dates = [d for d, _ in panel.points]
        values = [float(v) for _, v in panel.points]
        ax.plot(dates, values, "o-", color=INK, ms=3, lw=1)
        for value, colour, text in panel.lines:
            ax.axhline(value, color=colour, lw=1, ls="--")
            ax.text(
                0.005,
                value,
                text,
                transform=ax.get_yaxis_transform(),
                fontsize=7,
                color=colour,
                va="bottom",
            )
        ax.set_ylabel(panel.label)
        ax.set_ylim(panel.floor, max([panel.ceiling, *values]) * 1.1)
    first = start or min([d for d, _ in points] + [d.start for d in data.doses] + [cutoff])
    axes[-1].set_xlim(first, cutoff + timedelta(days=1))
    locator = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(LocalDates(locator))
    return figure


def cohort_figure(summary, title: str, size=(7, 5)) -> Figure:
    """Like NIH Figure 1B: LS means with 95% CIs per phase, and each child's phase means."""
    figure = Figure(figsize=size, layout="constrained")
    ax = figure.subplots()
    ax.yaxis.set_major_formatter(LocalNumbers())
    for means in summary.child_means.values():
        xs = sorted(means)
        ax.plot(xs, [means[x] for x in xs], color="#b9c3cf", lw=0.8, marker="o", ms=2.5, zorder=1)
    rows = [r for r in summary.phases if r.ls_mean is not None]
    if rows:
        ax.errorbar(
            [r.phase for r in rows],
            [r.ls_mean for r in rows],
            yerr=[
                [r.ls_mean - (r.ci_low if r.ci_low is not None else r.ls_mean) for r in rows],
                [(r.ci_high if r.ci_high is not None else r.ls_mean) - r.ls_mean for r in rows],
            ],
            fmt="s",
            color=INK,
            ms=7,
            capsize=5,
            lw=1.6,
            zorder=3,
            label=gettext("LS mean (95% CI)"),
        )
        ax.legend(frameon=False, fontsize=8)
    ax.set_xticks(
        [1, 2, 3, 4],
        [
            gettext("1 before\ntreatment"),
            gettext("2 dose\nescalation"),
            gettext("3 optimal\ndose"),
            gettext("4 last\n90 days"),
        ],
    )
    ax.set_xlim(0.6, 4.4)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(gettext("mean daily score"))
    ax.set_title(title, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return figure
