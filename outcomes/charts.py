"""Server-side charts (matplotlib's object API: no pyplot, so no global state or lock shared
between requests). SVG for pages, PNG for downloads, PDF pages for the visit report.

The timeline is drawn from outcomes.timeline's series (the data is built and tested there);
this module only draws. It is laid out at print width with fixed margins, every text at 8 pt
or more on paper, and without matplotlib's automatic layout and date locators, which took most
of a drawing's time.
"""

import io
from datetime import date, timedelta

import matplotlib

matplotlib.use("Agg")
# Text as text: lighter and quicker than glyph outlines, and searchable in the page.
matplotlib.rcParams["svg.fonttype"] = "none"

import numpy as np  # noqa: E402
from django.utils.formats import date_format, get_format  # noqa: E402
from django.utils.translation import gettext  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator, ScalarFormatter  # noqa: E402

from outcomes import timeline as series  # noqa: E402
from outcomes.phases import Phases  # noqa: E402

PHASE_COLOURS = {1: "#f3e0c6", 2: "#fbf3d1", 3: "#dcefe0", 4: "#d6e6f5"}
INK, ACCENT, MUTED, STEROID = "#111111", "#0b57a4", "#595959", "#8a4b00"
GAP_COLOUR, HIGH = "#e4e4e4", "#b00020"
# The series of a panel that has several (growth: height SDS, weight SDS), told apart by
# colour and marker both (a printout may be grey).
SERIES_STYLES = ({"color": "#1b7837", "marker": "o"}, {"color": STEROID, "marker": "s"})
SEVERITY_COLOURS = {
    "stop": "#b00020",
    "adjust": "#b00020",
    "watch": "#8a4b00",
    "limit": "#8a4b00",
    "reference": MUTED,
}

# Print size: the figure is as wide as A4's or Letter's text, so a point is a point on paper.
WIDTH_IN = 7.2
LEFT_IN, RIGHT_IN, TOP_IN, BOTTOM_IN, GAP_IN = 0.95, 0.15, 1.15, 0.55, 0.14  # legend: 3 rows
SCORE_IN, DOSE_IN, PANEL_IN = 2.0, 0.95, 0.85
TEXT_PT, TITLE_PT = 8, 11  # the smallest text, on paper
GAP_LABEL_MIN = 0.06  # a gap at least this share of the axis is labelled in words
DPI_PAGE = 96  # CSS pixels per inch


def day_numbers(start: date, count: int) -> np.ndarray:
    """Matplotlib's date numbers (days since its epoch, 1970-01-01) of COUNT days from START:
    computed once, so that no artist converts dates itself."""
    return np.arange(count, dtype=float) + (start - date(1970, 1, 1)).days


def _x(day: date) -> float:
    return float((day - date(1970, 1, 1)).days)


def as_array(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _month_name(month: int) -> str:
    """The month as the active language's short dates write it ("Jul", "juil.")."""
    short = get_format("SHORT_DATE_FORMAT")
    code = next((c for c in short if c in "bMN"), "N")
    return date_format(date(2000, month, 1), code)


def date_ticks(start: date, end: date, most: int = 8) -> list[tuple[date, str]]:
    """Ticks for START to END: the 1st and 15th of the months on a short span, else the first of
    every 1, 2, 3, 6 or 12 months (at most MOST), the year named at January and the first."""
    span = (end - start).days
    if span <= 120:
        days = [start + timedelta(days=n) for n in range(span + 2)]
        picked = [d for d in days if d.day in (1, 15)]
        if len(picked) > most:
            picked = [d for d in picked if d.day == 1]
        return [(d, f"{d.day} {_month_name(d.month)}") for d in picked]
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in (1, 2, 3, 6, 12) if months / s <= most), 24)
    ticks, year, month, first = [], start.year, start.month, True
    while (year, month) <= (end.year, end.month):
        day = date(year, month, 1)
        if day >= start and (month - 1) % min(step, 12) == 0 and (step <= 12 or year % 2 == 0):
            label = _month_name(month)
            if month == 1 or first:
                label = f"{label}\n{year}"
            ticks.append((day, label))
            first = False
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return ticks


class LocalNumbers(ScalarFormatter):
    """Axis numbers with the reader's decimal mark ("0,5" in French)."""

    def __call__(self, x, pos=None):
        return super().__call__(x, pos).replace(".", get_format("DECIMAL_SEPARATOR"))


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


# --- The timeline ------------------------------------------------------------------------------
#
# The panels are bands stacked in one axes, each with its own value scale (Band.y): one axes
# draws many times faster than ten (each matplotlib axes builds and lays out its own ticks,
# spines and labels), and the panels line up on one date axis by construction.


def timeline_height(panels: int) -> float:
    """The figure's height in inches with PANELS result panels under the doses."""
    inner = SCORE_IN + 2 * DOSE_IN + panels * PANEL_IN
    return TOP_IN + BOTTOM_IN + inner + (2 + panels) * GAP_IN


def timeline_size_px(panels: int) -> tuple[int, int]:
    """The drawing's size in CSS pixels (its <img> width and height)."""
    return round(WIDTH_IN * DPI_PAGE), round(timeline_height(panels) * DPI_PAGE)


def _number(value: float) -> str:
    text = f"{value:.10g}" if abs(value) >= 1e-9 else "0"
    return text.replace(".", get_format("DECIMAL_SEPARATOR"))


class Band:
    """One panel: BOTTOM and HEIGHT in inches up the axes, showing LOW to HIGH."""

    def __init__(
        self,
        ax,
        bottom: float,
        height: float,
        low: float,
        high: float,
        label: str,
        signed: bool = False,
    ):
        self.ax, self.bottom, self.height = ax, bottom, height
        self.low, self.high = low, high if high > low else low + 1
        self.label = label
        self.signed = signed  # values below 0 are real (an SDS), not room under a 0 line

    @property
    def top(self) -> float:
        return self.bottom + self.height

    def y(self, values):
        return (
            self.bottom
            + (np.asarray(values, dtype=float) - self.low) / (self.high - self.low) * self.height
        )

    def frame(self, x0: float, x1: float, ticks: int = 4) -> tuple[list, list]:
        """Write the value ticks and the label; the grid lines' and the frame's segments."""
        values = MaxNLocator(nbins=ticks, steps=[1, 2, 2.5, 5, 10]).tick_values(self.low, self.high)
        lowest = self.low if self.signed else max(self.low, 0)
        values = [v for v in values if lowest - 1e-9 <= v <= self.high + 1e-9]
        ys = self.y(values)
        left = self.ax.get_yaxis_transform()  # x in axes fraction, y in inches
        for value, y in zip(values, ys, strict=True):
            self.ax.text(
                -0.008,
                y,
                _number(value),
                transform=left,
                ha="right",
                va="center",
                fontsize=TEXT_PT,
                color=INK,
            )
        self.ax.text(
            -LABEL_OFFSET,
            self.bottom + self.height / 2,
            self.label,
            transform=left,
            ha="center",
            va="center",
            rotation=90,
            fontsize=TEXT_PT,
            color=INK,
            linespacing=1.1,
        )
        grid = [[(x0, y), (x1, y)] for y in ys]
        frame = [[(x0, self.top), (x0, self.bottom), (x1, self.bottom)]]
        return grid, frame

    def rectangle(self, x: float, width: float) -> list[tuple[float, float]]:
        return [
            (x, self.bottom),
            (x + width, self.bottom),
            (x + width, self.top),
            (x, self.top),
        ]

    def note(self, text: str, x: float):
        self.ax.text(
            x,
            self.bottom + self.height / 2,
            text,
            ha="center",
            va="center",
            fontsize=TEXT_PT + 1,
            color=MUTED,
            zorder=7,
        )


LABEL_OFFSET = 0.1  # the panels' labels, left of their value ticks (axes fraction)


def _steps(band: Band, x_edges: np.ndarray, values: np.ndarray, **style) -> None:
    """VALUES as steps, each day's value across its whole day; a missing day breaks the line.
    A recorded day between two missing ones is also a dot, or it would be a sliver."""
    if np.all(np.isnan(values)):
        return
    y = band.y(np.append(values, values[-1]))
    band.ax.plot(x_edges, y, drawstyle="steps-post", **style)
    known = ~np.isnan(values)
    before = np.concatenate(([False], known[:-1]))
    after = np.concatenate((known[1:], [False]))
    alone = known & ~before & ~after
    if alone.any():
        band.ax.plot(
            x_edges[:-1][alone] + 0.5,
            band.y(values[alone]),
            ls="",
            marker="o",
            ms=2.5,
            color=style.get("color", INK),
            zorder=style.get("zorder", 3),
        )


def _dots(ax, x: np.ndarray, y: np.ndarray, size: float, **style) -> None:
    """A dot per value as one path of dot-long strokes with round ends: a thousand days are
    one element in the SVG, not a thousand markers."""
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    if not len(x):
        return
    xs = np.column_stack([x - 0.05, x + 0.05, np.full(len(x), np.nan)]).ravel()
    ys = np.column_stack([y, y, np.full(len(y), np.nan)]).ravel()
    ax.plot(xs, ys, lw=size, solid_capstyle="round", **style)


def _gaps(band: Band, gaps: list[tuple[date, date]], span: float) -> bool:
    """Days without a record as grey bands, named "not recorded" where there is room."""
    if not gaps:
        return False
    band.ax.add_collection(
        PolyCollection(
            [band.rectangle(_x(a), (b - a).days + 1) for a, b in gaps],
            facecolors=GAP_COLOUR,
            lw=0,
            zorder=1,
        ),
        autolim=False,
    )
    for a, b in gaps:
        length = (b - a).days + 1
        if length / span >= GAP_LABEL_MIN:
            band.note(gettext("not recorded"), _x(a) + length / 2)
    return True


def _dose_band(band: Band, tl, x_edges, name: str, colour: str, span: float) -> bool:
    """One dose panel; whether it drew a gap."""
    values = as_array(getattr(tl, name))
    drawn = _gaps(band, tl.gaps(name), span)
    middle = (x_edges[0] + x_edges[-1]) / 2
    if tl.missing_weight:
        band.note(gettext("No weight recorded: mg/kg/day cannot be computed."), middle)
    elif np.all(np.isnan(values)):
        band.note(gettext("No doses recorded."), middle)
    _steps(band, x_edges, values, color=colour, lw=1.3, zorder=4)
    if name == "jaki":
        _steps(
            band,
            x_edges,
            as_array(tl.jaki_prescribed),
            color=MUTED,
            lw=0.9,
            ls=(0, (3, 2)),
            zorder=3,
        )
    return drawn


def _dose_high(tl, name: str) -> float:
    values = [v for v in getattr(tl, name) if v is not None]
    if name == "jaki":
        values += [v for v in tl.jaki_prescribed if v is not None]
    return (max(values, default=0) or 0.1) * 1.2


def _result_band(band: Band, panel: series.Panel, x0: float, x1: float):
    ax = band.ax
    several = len(panel.series) > 1
    for number, found in enumerate(panel.series):
        if not found.points:
            continue
        days = np.array([_x(d) + 0.5 for d, _v in found.points])
        values = np.array([v for _d, v in found.points])
        inside = (days >= x0) & (days <= x1)
        style = SERIES_STYLES[number % len(SERIES_STYLES)] if several else {"color": INK}
        ax.plot(
            days[inside],
            band.y(values[inside]),
            ls="-",
            ms=3,
            lw=1,
            zorder=4,
            **{"marker": "o", **style},
        )
        if number == 0 and panel.above and any(panel.above):
            high = np.array(panel.above) & inside
            ax.plot(days[high], band.y(values[high]), "o", color=HIGH, ms=4.5, zorder=5)
    for low, high, text in panel.zones:
        top = float(band.y(min(high, band.high)))
        if low > band.low:
            y = float(band.y(low))
            ax.plot([x0, x1], [y, y], color=MUTED, lw=0.6, ls=":", zorder=2)
        ax.text(
            x1 - (x1 - x0) * 0.005,
            (float(band.y(max(low, band.low))) + top) / 2,
            text,
            fontsize=TEXT_PT,
            color=MUTED,
            ha="right",
            va="center",
            zorder=7,
            bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.5},
        )
    for value, severity, text in panel.lines:
        colour = SEVERITY_COLOURS.get(severity, MUTED)
        y = float(band.y(value))
        ax.plot([x0, x1], [y, y], color=colour, lw=1, ls="--", zorder=3)
        ax.text(
            x0 + (x1 - x0) * 0.005,
            y,
            text,
            fontsize=TEXT_PT,
            color=colour,
            va="bottom",
            zorder=7,
            bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.5},
        )
    if panel.note:
        ax.text(
            x1 - (x1 - x0) * 0.005,
            band.top - 0.02,
            panel.note,
            fontsize=TEXT_PT,
            color=MUTED,
            ha="right",
            va="top",
            zorder=7,
            bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.5},
        )


def _result_range(panel: series.Panel) -> tuple[float, float]:
    """The values a panel's axis shows: from 0 (or its floor, or its lowest value when below
    0) to its ceiling or highest value, with a margin; room at the top for a note."""
    values = [v for found in panel.series for _d, v in found.points]
    low = min([panel.floor, *values, 0])
    high = max([panel.ceiling, *values])
    margin = (high - low) * 0.15 or 1
    high += margin * (2 if panel.note else 1)
    return (low - margin if low < 0 else low), high


def series_handles(panels: list[series.Panel]) -> list:
    """Legend entries of the panels that draw several series."""
    return [
        Line2D(
            [],
            [],
            lw=1,
            ms=3,
            label=found.name,
            **SERIES_STYLES[number % len(SERIES_STYLES)],
        )
        for panel in panels
        if len(panel.series) > 1
        for number, found in enumerate(panel.series)
        if found.points
    ]


def date_axis(ax, tl, fontsize: int, most: int = 8):
    ticks = date_ticks(tl.start, tl.end, most)
    ax.set_xticks([_x(d) for d, _label in ticks], [label for _d, label in ticks])
    ax.tick_params(axis="x", labelsize=fontsize, length=3)
    ax.set_xlim(_x(tl.start), _x(tl.end) + 1)


def drawn_note(figure: Figure, drawn_at: str, fontsize: int):
    if drawn_at:
        figure.text(
            0.995,
            0.004,
            gettext("Drawn %(when)s") % {"when": drawn_at},
            ha="right",
            va="bottom",
            fontsize=fontsize,
            color=MUTED,
        )


def draw_timeline(
    tl: series.Timeline, title: str, max_score: int, width: float = WIDTH_IN, drawn_at: str = ""
) -> Figure:
    """A child's course on one time axis: daily score with its 7-day mean, the named phases,
    JAK inhibitor (given, and prescribed) and steroid mg/kg/day as steps with their unrecorded
    days shown, then one panel per series of results against its limits."""
    height = timeline_height(len(tl.panels))
    figure = Figure(figsize=(width, height))
    inner = height - TOP_IN - BOTTOM_IN
    ax = figure.add_axes(
        (LEFT_IN / width, BOTTOM_IN / height, 1 - (LEFT_IN + RIGHT_IN) / width, inner / height)
    )
    x = day_numbers(tl.start, len(tl.days))
    ax.set_xlim(x[0], x[-1] + 1)
    ax.set_ylim(0, inner)
    ax.set_autoscale_on(False)  # the limits are known: no artist needs to move them
    ax.yaxis.set_visible(False)
    ax.spines[:].set_visible(False)
    x_edges = np.append(x, x[-1] + 1)
    x0, x1, span = x_edges[0], x_edges[-1], len(tl.days)

    # Top to bottom: score, JAK inhibitor, steroid, then the results.
    specs = [
        (SCORE_IN, 0, max_score, gettext("daily score")),
        # A little below 0, so that a recorded 0 is a line of its own above the frame.
        (DOSE_IN, -_dose_high(tl, "jaki") / 15, _dose_high(tl, "jaki"), gettext("JAKi\nmg/kg/day")),
        (
            DOSE_IN,
            -_dose_high(tl, "steroid") / 15,
            _dose_high(tl, "steroid"),
            gettext("steroid\nmg/kg/day"),
        ),
        *((PANEL_IN, *_result_range(p), p.label) for p in tl.panels),
    ]
    bands, top = [], inner
    for n, (size, low, high, label) in enumerate(specs):
        bands.append(Band(ax, top - size, size, low, high, label, signed=n >= 3))
        top -= size + GAP_IN
    grid, frames = [], []
    for band in bands:
        lines, frame = band.frame(x0, x1, ticks=5 if band is bands[0] else 3)
        grid += lines
        frames += frame
    ax.add_collection(LineCollection(grid, colors="#dddddd", lw=0.6, zorder=1), autolim=False)
    ax.add_collection(LineCollection(frames, colors=INK, lw=0.8, zorder=6), autolim=False)
    # Every band's phases as one collection: one artist to draw instead of dozens.
    shading = [
        (band.rectangle(_x(p.start), (p.end - p.start).days + 1), PHASE_COLOURS[p.number])
        for band in bands
        for p in tl.phases
    ]
    if shading:
        ax.add_collection(
            PolyCollection(
                [r for r, _c in shading], facecolors=[c for _r, c in shading], lw=0, zorder=0
            ),
            autolim=False,
        )
    score_band, jaki_band, steroid_band = bands[:3]
    for phase in tl.phases:
        ax.text(
            (_x(phase.start) + _x(phase.end) + 1) / 2,
            score_band.top + 0.03,
            str(phase.number),
            ha="center",
            va="bottom",
            fontsize=TEXT_PT + 1,
            color=INK,
        )

    score = as_array(tl.score)
    _dots(ax, x + 0.5, score_band.y(score), size=2.6, color=ACCENT, alpha=0.55, zorder=3)
    ax.plot(x + 0.5, score_band.y(as_array(tl.mean7)), color=INK, lw=1.6, zorder=4)
    if np.all(np.isnan(score)):
        score_band.note(gettext("No diary days recorded."), (x0 + x1) / 2)
    gap = _dose_band(jaki_band, tl, x_edges, "jaki", ACCENT, span)
    gap |= _dose_band(steroid_band, tl, x_edges, "steroid", STEROID, span)
    for band, panel in zip(bands[3:], tl.panels, strict=True):
        _result_band(band, panel, x0, x1)
    date_axis(ax, tl, TEXT_PT)

    figure.text(
        LEFT_IN / width,
        1 - 0.12 / height,
        title,
        fontsize=TITLE_PT,
        va="top",
        ha="left",
        color=INK,
    )
    handles = [
        Patch(color=PHASE_COLOURS[b.number], label=f"{b.number} {b.name}") for b in tl.phases
    ]
    handles += [
        Line2D([], [], ls="", marker="o", ms=4, color=ACCENT, label=gettext("daily score")),
        Line2D([], [], color=INK, lw=1.6, label=gettext("7-day mean")),
        Line2D([], [], color=ACCENT, lw=1.3, label=gettext("doses given")),
        Line2D([], [], color=MUTED, lw=0.9, ls=(0, (3, 2)), label=gettext("dose prescribed")),
    ]
    if gap:
        handles.append(Patch(color=GAP_COLOUR, label=gettext("not recorded")))
    handles += series_handles(tl.panels)
    figure.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(LEFT_IN / width - 0.01, 1 - 0.38 / height),
        ncols=4,
        frameon=False,
        fontsize=TEXT_PT,
        handlelength=1.6,
        columnspacing=1.0,
        borderaxespad=0,
    )
    drawn_note(figure, drawn_at, TEXT_PT)
    return figure


def timeline_figure(
    data,
    phases: Phases,
    title: str,
    max_score: int,
    labs: list = (),
    size=(WIDTH_IN, None),
    start: date | None = None,
    end: date | None = None,
) -> Figure:
    """The timeline of DATA (summaries.ChildData) from START to END, SIZE[0] inches wide (its
    height follows its panels): the visit report's call."""
    tl = series.build(data, phases, list(labs), start=start, end=end)
    return draw_timeline(tl, title, max_score, width=size[0])


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
