"""The cohort's outcomes as the NIH's Figure 1B draws its two: per phase the least-squares mean
with its 95% CI, over each child's phase means, one panel per outcome."""

import math

from django.utils.translation import gettext
from matplotlib.figure import Figure

from outcomes.charts import INK, MUTED, LocalNumbers

COLUMNS = 2


def titles() -> dict:
    return {
        "score": gettext("Daily diary score"),
        "steroid_mg_per_kg": gettext("Steroid, prednisone-equivalent mg/kg/day"),
        "crp": gettext("CRP (mg/L)"),
        "ip10": gettext("Serum IP-10 (pg/mL)"),
        "ifn_score": gettext("Interferon score"),
        "height_z": gettext("Height SDS"),
        "weight_z": gettext("Weight SDS"),
        "ags_scale": gettext("AGS Scale (0–11)"),
        "physician_global": gettext("Physician's global (mm, 100 = worst)"),
        "parent_global": gettext("Parent's global (mm, 100 = worst)"),
    }


def _panel(ax, outcome, title: str) -> None:
    ax.yaxis.set_major_formatter(LocalNumbers())
    ax.spines[["top", "right"]].set_visible(False)
    for means in outcome.child_means.values():
        xs = sorted(means)
        ax.plot(xs, [means[x] for x in xs], color="#c9d1db", lw=0.6, marker="o", ms=1.8, zorder=1)
    rows = [r for r in outcome.phases if r.ls_mean is not None]
    if rows:
        low = [r.ls_mean - (r.ci_low if r.ci_low is not None else r.ls_mean) for r in rows]
        high = [(r.ci_high if r.ci_high is not None else r.ls_mean) - r.ls_mean for r in rows]
        ax.errorbar(
            [r.phase for r in rows],
            [r.ls_mean for r in rows],
            yerr=[low, high],
            fmt="s",
            color=INK,
            ms=5,
            capsize=4,
            lw=1.4,
            zorder=3,
        )
    else:
        ax.text(
            0.5,
            0.5,
            gettext("not enough data"),
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=MUTED,
        )
    if outcome.assay:
        title = f"{title}\n{outcome.assay}"
    ax.set_title(title, loc="left", fontsize=9)
    ax.set_xticks([1, 2, 3, 4])
    ax.set_xlim(0.6, 4.4)


def outcomes_figure(summary, width: float = 8.0) -> Figure:
    """One panel per outcome of SUMMARY.outcomes (cohort_outcomes), in their order."""
    outcomes = list(summary.outcomes.values())
    rows = max(1, math.ceil(len(outcomes) / COLUMNS))
    figure = Figure(figsize=(width, 2.3 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, COLUMNS, squeeze=False).ravel()
    names = titles()
    for ax, outcome in zip(axes, outcomes, strict=False):
        _panel(ax, outcome, names.get(outcome.name, outcome.name))
    for ax in axes[len(outcomes) :]:
        ax.set_visible(False)
    figure.supxlabel(
        gettext("Phase: 1 before treatment, 2 dose escalation, 3 optimal dose, 4 last 90 days"),
        fontsize=9,
    )
    figure.suptitle(
        gettext("Least-squares means with 95% CIs per phase (squares); each child's means (grey)"),
        fontsize=10,
    )
    return figure
