"""The phone's chart: a child's last 90 days in words a parent reads — the daily score with
its 7-day mean, and each day's doses given, missed or not recorded. Shown instead of the
timeline on screens up to 480 px wide, about 1:1, so every text is 10 pt or more."""

import numpy as np
from django.utils.translation import gettext
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator

from outcomes import timeline as series
from outcomes.charts import (
    ACCENT,
    DPI_PAGE,
    INK,
    MUTED,
    LocalNumbers,
    as_array,
    date_axis,
    day_numbers,
    drawn_note,
)

WIDTH_IN, HEIGHT_IN, FONT_PT = 4.0, 3.9, 11

DOSE_STATUS_COLOURS = {
    "given": "#2e7d32",
    "missed": "#c25e00",
    "not_recorded": "#ffffff",
    "none_prescribed": "#d9d9d9",
}


def size_px() -> tuple[int, int]:
    """The drawing's size in CSS pixels (its <source> width and height)."""
    return round(WIDTH_IN * DPI_PAGE), round(HEIGHT_IN * DPI_PAGE)


def draw(tl: series.Timeline, max_score: int, drawn_at: str = "") -> Figure:
    """The last days of TL for a phone, in words a parent reads: the daily score with its 7-day
    mean, and each day's doses given, missed or not recorded."""
    width, height = WIDTH_IN, HEIGHT_IN
    figure = Figure(figsize=(width, height))
    top, bottom = 0.45, 1.05
    grid = figure.add_gridspec(
        2,
        1,
        height_ratios=[4, 0.55],
        left=0.55 / width,
        right=1 - 0.12 / width,
        top=1 - top / height,
        bottom=bottom / height,
        hspace=0.25,
    )
    score_ax = figure.add_subplot(grid[0])
    dose_ax = figure.add_subplot(grid[1], sharex=score_ax)
    x = day_numbers(tl.start, len(tl.days))
    score = as_array(tl.score)
    score_ax.plot(x + 0.5, score, ls="", marker="o", ms=4, color=ACCENT, alpha=0.6)
    score_ax.plot(x + 0.5, as_array(tl.mean7), color=INK, lw=2.2)
    if np.all(np.isnan(score)):
        score_ax.text(
            0.5,
            0.5,
            gettext("No diary days recorded."),
            transform=score_ax.transAxes,
            ha="center",
            va="center",
            fontsize=FONT_PT,
            color=MUTED,
        )
    score_ax.set_ylim(0, max_score)
    score_ax.spines[["top", "right"]].set_visible(False)
    score_ax.tick_params(labelsize=FONT_PT, length=3)
    score_ax.yaxis.set_major_locator(FixedLocator([0, max_score / 2, max_score]))
    score_ax.yaxis.set_major_formatter(LocalNumbers())
    score_ax.grid(axis="y", color="#dddddd", lw=0.8)
    figure.text(
        0.12 / width,
        1 - 0.08 / height,
        gettext("Daily score, last %(days)s days") % {"days": len(tl.days)},
        fontsize=FONT_PT + 1,
        va="top",
        ha="left",
        color=INK,
    )
    statuses = tl.dose_status
    for status, colour in DOSE_STATUS_COLOURS.items():
        runs = [(x[i], 1) for i, s in enumerate(statuses) if s == status]
        if runs:
            dose_ax.broken_barh(runs, (0, 1), facecolors=colour, edgecolor="#767676", lw=0.3)
    dose_ax.set_ylim(0, 1)
    dose_ax.set_yticks([])
    dose_ax.set_ylabel(gettext("doses"), fontsize=FONT_PT, rotation=0, ha="right", va="center")
    dose_ax.spines[["top", "right", "left"]].set_visible(False)
    score_ax.tick_params(axis="x", labelbottom=False)
    date_axis(dose_ax, tl, FONT_PT, most=4)
    handles = [
        Line2D([], [], ls="", marker="o", ms=6, color=ACCENT, label=gettext("daily score")),
        Line2D([], [], color=INK, lw=2.2, label=gettext("7-day mean")),
        Patch(facecolor=DOSE_STATUS_COLOURS["given"], label=gettext("doses given")),
        Patch(facecolor=DOSE_STATUS_COLOURS["missed"], label=gettext("a dose missed")),
        Patch(
            facecolor=DOSE_STATUS_COLOURS["not_recorded"],
            edgecolor="#767676",
            label=gettext("not recorded"),
        ),
    ]
    if "none_prescribed" in statuses:  # an interruption or a stop
        handles.append(
            Patch(
                facecolor=DOSE_STATUS_COLOURS["none_prescribed"],
                label=gettext("no dose prescribed"),
            )
        )
    figure.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.1 / width, 0.2 / height),
        ncols=2,
        frameon=False,
        fontsize=FONT_PT - 1,
        handlelength=1.4,
        columnspacing=0.8,
        borderaxespad=0,
    )
    drawn_note(figure, drawn_at, FONT_PT - 1)
    return figure
