"""The statistics of DOMAIN §6, as pure functions over plain numbers.

Per child and phase: days, completeness, mean / median / IQR of the daily score, skin sub-score,
% days with fever, steroid and JAK-inhibitor mg/kg/day. Cohort: median (IQR) across children of
their phase means, paired t-test and Wilcoxon signed-rank between two phases, and least-squares
means with 95% CIs from the linear mixed model `score ~ phase + (1 | child)` fitted by REML, with
Satterthwaite degrees of freedom (as R's lme4 + emmeans with lmer.df = "satterthwaite").

A statistic that cannot be computed (no data, one child, no variance) is None with a reason,
never NaN or an exception.
"""

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.utils.formats import number_format
from scipy import optimize, stats

NOT_ENOUGH = "not enough data"


# --- One child, one phase ---------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """What a summary needs of one day (None: not recorded)."""

    date: date
    score: float | None = None
    skin: float | None = None
    fever: bool | None = None
    steroid_mg_per_kg: float | None = None
    jaki_mg_per_kg: float | None = None


@dataclass(frozen=True)
class PhaseSummary:
    phase: int
    start: date | None
    end: date | None
    days: int
    recorded: int
    completeness: float | None  # % of the phase's days with a daily score
    mean: float | None
    median: float | None
    q1: float | None
    q3: float | None
    skin_mean: float | None
    fever_pct: float | None
    steroid_mg_per_kg: float | None
    jaki_mg_per_kg: float | None


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def phase_summary(
    phase: int, start: date | None, end: date | None, days: list[Day]
) -> PhaseSummary:
    """Summary of DAYS that fall between START and END (an empty phase has no dates)."""
    if start is None or end is None:
        return PhaseSummary(
            phase, None, None, 0, 0, None, None, None, None, None, None, None, None, None
        )
    inside = [d for d in days if start <= d.date <= end]
    length = (end - start).days + 1
    scores = [d.score for d in inside if d.score is not None]
    fevers = [d.fever for d in inside if d.score is not None and d.fever is not None]
    quartiles = np.percentile(scores, [25, 50, 75]) if scores else (None, None, None)
    return PhaseSummary(
        phase=phase,
        start=start,
        end=end,
        days=length,
        recorded=len(scores),
        completeness=100 * len(scores) / length,
        mean=_mean(scores),
        median=float(quartiles[1]) if scores else None,
        q1=float(quartiles[0]) if scores else None,
        q3=float(quartiles[2]) if scores else None,
        skin_mean=_mean([d.skin for d in inside if d.skin is not None]),
        fever_pct=100 * sum(fevers) / len(fevers) if fevers else None,
        steroid_mg_per_kg=_mean(
            [d.steroid_mg_per_kg for d in inside if d.steroid_mg_per_kg is not None]
        ),
        jaki_mg_per_kg=_mean([d.jaki_mg_per_kg for d in inside if d.jaki_mg_per_kg is not None]),
    )


# --- Across children ------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    n: int
    median: float | None
    q1: float | None
    q3: float | None
    reason: str | None = None


def spread(values: list[float]) -> Spread:
    """Median and IQR across children (quartiles as R's default type 7)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return Spread(0, None, None, None, NOT_ENOUGH)
    q1, median, q3 = (float(x) for x in np.percentile(values, [25, 50, 75]))
    return Spread(len(values), median, q1, q3)


SIGNED_RANK_STATISTIC = "min(W+, W-) of the differences b - a (zero differences dropped)"
SIGNED_RANK_V = "V: sum of the ranks of the positive differences b - a, as R's wilcox.test"


@dataclass(frozen=True)
class Paired:
    phase_a: int
    phase_b: int
    n: int
    mean_difference: float | None = None  # b − a
    t: float | None = None
    df: int | None = None
    p_t: float | None = None
    w: float | None = None  # min(W+, W−), SIGNED_RANK_STATISTIC
    p_wilcoxon: float | None = None
    reason: str | None = None
    v: float | None = None  # W+ of b − a, SIGNED_RANK_V


def _signed_rank_v(difference: np.ndarray) -> float:
    nonzero = difference[difference != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    return float(ranks[nonzero > 0].sum())


def paired_tests(means: dict, phase_a: int, phase_b: int) -> Paired:
    """Paired two-sided t-test and Wilcoxon signed-rank test between two phases, on the
    children with a mean in both. MEANS: {child: {phase: mean}}."""
    pairs = [
        (m[phase_a], m[phase_b])
        for m in means.values()
        if m.get(phase_a) is not None and m.get(phase_b) is not None
    ]
    n = len(pairs)
    if n < 2:
        return Paired(phase_a, phase_b, n, reason=NOT_ENOUGH)
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    difference = b - a
    if np.ptp(difference) == 0:
        # Every child changed by the same amount: no variance for the t-test. The signed-rank
        # test is still defined when that change is not 0: all n ranks tie, and under the null
        # hypothesis each of the 2^n sign patterns is equally likely, so the exact two-sided
        # p-value is P(all signs alike) = 2 / 2^n.
        change = float(difference[0])
        signed_rank = {}
        if change != 0:
            signed_rank = {
                "w": 0.0,
                "v": n * (n + 1) / 2 if change > 0 else 0.0,
                "p_wilcoxon": min(1.0, 2.0 ** (1 - n)),
            }
        return Paired(
            phase_a,
            phase_b,
            n,
            change,
            reason=NOT_ENOUGH + " (no variance) for the t-test",
            **signed_rank,
        )
    t = stats.ttest_rel(b, a)
    w = stats.wilcoxon(b, a) if np.any(difference != 0) else None
    return Paired(
        phase_a,
        phase_b,
        n,
        float(difference.mean()),
        float(t.statistic),
        n - 1,
        float(t.pvalue),
        float(w.statistic) if w else None,
        float(w.pvalue) if w else None,
        v=_signed_rank_v(difference) if w else None,
    )


@dataclass(frozen=True)
class Change:
    """A paired change from before to after, with its one-sided paired t-test."""

    n: int
    mean_before: float | None = None
    mean_after: float | None = None
    mean_difference: float | None = None  # after − before
    sd_difference: float | None = None
    t: float | None = None
    df: int | None = None
    p_one_sided: float | None = None
    alternative: str = "greater"  # after > before
    reason: str | None = None


def paired_change(pairs: list[tuple[float, float]], alternative: str = "greater") -> Change:
    """One-sided paired t-test of PAIRS (before, after): H1 after > before for "greater" (as NIH
    Figure 4A for height Z-scores), after < before for "less"."""
    pairs = [(a, b) for a, b in pairs if math.isfinite(a) and math.isfinite(b)]
    n = len(pairs)
    if n < 2:
        return Change(n, alternative=alternative, reason=NOT_ENOUGH)
    before = np.array([a for a, _b in pairs])
    after = np.array([b for _a, b in pairs])
    difference = after - before
    common = {
        "mean_before": float(before.mean()),
        "mean_after": float(after.mean()),
        "mean_difference": float(difference.mean()),
        "alternative": alternative,
    }
    if np.ptp(difference) == 0:
        return Change(n, **common, sd_difference=0.0, reason=NOT_ENOUGH + " (no variance)")
    t = stats.ttest_rel(after, before, alternative=alternative)
    return Change(
        n,
        **common,
        sd_difference=float(difference.std(ddof=1)),
        t=float(t.statistic),
        df=n - 1,
        p_one_sided=float(t.pvalue),
    )


# --- Linear mixed model: score ~ phase + (1 | child), REML ---------------------------------


@dataclass(frozen=True)
class LsMean:
    phase: int
    n_children: int
    estimate: float | None
    se: float | None
    df: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None


@dataclass
class MixedModel:
    phases: list[int]
    child_variance: float
    residual_variance: float
    ls_means: dict[int, LsMean] = field(default_factory=dict)
    reason: str | None = None


SINGULAR_RATIO = 1e10  # σc²/σ² above this: the residual variance is numerical noise
NO_VARIANCE = NOT_ENOUGH + " (no variance)"
SINGULAR = (
    "singular fit: no variation within children beyond the phase effects, so no standard error"
)
NOT_IDENTIFIABLE = (
    "not identifiable: no child has enough phases to separate within-child from between-child"
    " variation"
)


class _Design:
    """The model on standardised data, kept as within-child and between-child pieces.

    Scores are centred on the phase means and scaled by the residual standard deviation of that
    ordinary least-squares fit; since the phases are fixed effects, this moves the estimates by
    a constant and scales them, and leaves the variance ratio and the degrees of freedom as they
    are, whatever the offset and scale of the scores. The fixed effects are coded as the first
    phase plus one contrast per later phase, so that centring within a child removes the
    intercept exactly.

    V = σ²I + σc²ZZ' is, within a child of n_i rows, σ² on the deviations from the child's mean
    and τ_i = σ² + n_iσc² on the mean. Every matrix built from V, ZZ' and I therefore acts as
    q·(within) + b_i·(child mean), written (q, b), and products multiply the coefficients; the
    REML deviance, its analytic derivatives and those of the LS means' variances are sums of
    such pieces, each evaluation O(n) whatever the number of children."""

    def __init__(self, rows: list[tuple], phases: list[int]):
        children = sorted({r[0] for r in rows}, key=str)
        index = {c: i for i, c in enumerate(children)}
        column = {p: j for j, p in enumerate(phases)}
        self.n, self.p, self.m = len(rows), len(phases), len(children)
        y = np.array([float(r[2]) for r in rows])
        # In units of a power of two near the largest score: exact, and no square overflows.
        largest = float(np.max(np.abs(y)))
        unit = 2.0 ** math.frexp(largest)[1] if largest > 0 else 1.0
        y = y / unit
        cell = np.array([column[r[1]] for r in rows])
        group = np.array([index[r[0]] for r in rows])
        counts = np.bincount(cell, minlength=self.p).astype(float)
        means = np.bincount(cell, weights=y, minlength=self.p) / counts
        residual = y - means[cell]
        rss = float(residual @ residual)
        self.no_variance = largest == 0 or rss <= self.n * 1e-20
        scale = math.sqrt(rss / (self.n - self.p)) if not self.no_variance else 1.0
        ys = residual / scale
        self.shift, self.scale = means * unit, scale * unit  # back to the scores' scale
        x = np.zeros((self.n, self.p))
        x[:, 0] = 1.0
        later = cell > 0
        x[np.flatnonzero(later), cell[later]] = 1.0
        self.L = np.eye(self.p)  # phase means = L β
        self.L[:, 0] = 1.0
        self.sizes = np.bincount(group, minlength=self.m).astype(float)
        sums = np.zeros((self.m, self.p))
        np.add.at(sums, group, x)
        self.xbar = sums / self.sizes[:, None]
        self.ybar = np.bincount(group, weights=ys, minlength=self.m) / self.sizes
        self.xc = x - self.xbar[group]
        self.xc[:, 0] = 0.0
        self.yc = ys - self.ybar[group]
        self.wxx = self.xc.T @ self.xc
        self.wxy = self.xc.T @ self.yc
        self.within_df = self.n - self.m - int(np.linalg.matrix_rank(self.wxx))

    # Operators (q, b) and what they give between X and the residuals r.
    def xsx(self, q, b) -> np.ndarray:
        return q * self.wxx + (self.xbar.T * (b * self.sizes)) @ self.xbar

    def solve(self, q, b):
        """M = X'SX, its inverse, β = M⁻¹X'Sy and the residuals (within, child means)."""
        m = self.xsx(q, b)
        c = np.linalg.inv(m)
        beta = c @ (q * self.wxy + self.xbar.T @ (b * self.sizes * self.ybar))
        return m, c, beta, self.yc - self.xc @ beta, self.ybar - self.xbar @ beta

    def xsr(self, q, b, rc, rbar) -> np.ndarray:
        return q * (self.xc.T @ rc) + self.xbar.T @ (b * self.sizes * rbar)

    def rsr(self, q, b, rc, rbar) -> float:
        return float(q * (rc @ rc) + np.sum(b * self.sizes * rbar**2))

    def profiled(self, ratio: float) -> float:
        """−2 × REML log-likelihood, σ² profiled out, at σc²/σ² = RATIO (constants dropped)."""
        b = 1.0 / (1.0 + self.sizes * ratio)
        m, _c, _beta, rc, rbar = self.solve(1.0, b)
        sign, logdet_m = np.linalg.slogdet(m)
        rss = self.rsr(1.0, b, rc, rbar)
        dof = self.n - self.p
        if sign <= 0 or rss <= 0:
            return -math.inf if rss <= 0 else math.inf
        return dof * math.log(rss / dof) + float(np.sum(np.log1p(self.sizes * ratio))) + logdet_m

    def residual_variance(self, ratio: float) -> float:
        b = 1.0 / (1.0 + self.sizes * ratio)
        _m, _c, _beta, rc, rbar = self.solve(1.0, b)
        return self.rsr(1.0, b, rc, rbar) / (self.n - self.p)

    def child_score(self, ratio: float) -> float:
        """The sign of d(profiled deviance)/d(ratio): ∂D/∂σc² = tr(PZZ') − r'V⁻¹ZZ'V⁻¹r at σ²
        profiled, times σ² (analytic, so that it stays exact where the deviance is flat)."""
        b = 1.0 / (1.0 + self.sizes * ratio)
        _m, c, _beta, rc, rbar = self.solve(1.0, b)
        trace = float(np.sum(b * self.sizes)) - np.trace(c @ self.xsx(0.0, b * self.sizes * b))
        resid = self.rsr(1.0, b, rc, rbar) / (self.n - self.p)
        return trace - self.rsr(0.0, b * self.sizes * b, rc, rbar) / resid

    def satterthwaite(self, child_var: float, resid_var: float, free: list[int]):
        """LS means, their variances and Satterthwaite df (None where undefined), analytic.

        df_j = 2 (L C L')²_jj / (g' A g): A = 2 H⁻¹, H the Hessian of the REML deviance in the
        FREE variance parameters (0: σc², 1: σ²), g the gradient of (L C L')_jj."""
        inverse = (1.0 / resid_var, 1.0 / (resid_var + self.sizes * child_var))
        derivative = [(0.0, self.sizes), (1.0, np.ones(self.m))]  # ∂V/∂σc², ∂V/∂σ²

        def times(*operators):
            q, b = 1.0, np.ones(self.m)
            for oq, ob in operators:
                q, b = q * oq, b * ob
            return q, b

        _m, c, beta, rc, rbar = self.solve(*inverse)
        means = self.L @ beta
        cov = self.L @ c @ self.L.T
        # G_k = X'V⁻¹V_kV⁻¹X, s_k = X'V⁻¹V_kV⁻¹r
        g_x = [self.xsx(*times(inverse, d, inverse)) for d in derivative]
        s_r = [self.xsr(*times(inverse, d, inverse), rc, rbar) for d in derivative]
        k = len(free)
        hessian = np.zeros((k, k))
        for a, i in enumerate(free):
            for e, j in enumerate(free):
                vi, vj = derivative[i], derivative[j]
                q, b = times(inverse, vi, inverse, vj)
                trace = q * (self.n - self.m) + float(np.sum(b))
                trace -= 2 * np.trace(c @ self.xsx(*times(inverse, vi, inverse, vj, inverse)))
                trace += np.trace(c @ g_x[i] @ c @ g_x[j])
                quad = self.rsr(*times(inverse, vi, inverse, vj, inverse), rc, rbar)
                quad -= s_r[i] @ c @ s_r[j]
                hessian[a, e] = -trace + 2 * quad
        # In log parameters, where σc² and σ² of very different sizes are equally well scaled.
        size = np.array([child_var, resid_var])[free]
        scaled = hessian * np.outer(size, size)
        eigen = np.linalg.eigvalsh(scaled)
        if not np.all(np.isfinite(eigen)) or eigen.min() <= 1e-10 * abs(eigen).max():
            return means, cov, [None] * self.p
        a_matrix = 2 * np.linalg.inv(scaled)
        dfs = []
        for j in range(self.p):
            grad = size * [(self.L @ c @ g_x[i] @ c @ self.L.T)[j, j] for i in free]
            denominator = grad @ a_matrix @ grad
            df = 2 * cov[j, j] ** 2 / denominator if denominator > 0 else None
            dfs.append(float(df) if df is not None and math.isfinite(df) else None)
        return means, cov, dfs


def _fit(design: _Design) -> tuple[float, float] | None:
    """REML estimates (σc², σ²) on the standardised scale, None when singular.

    σ² is profiled out. The ratio σc²/σ² is searched on a log grid wide enough for any ratio a
    double can tell from 0 or ∞; each local minimum is a root of the analytic score (found
    where it turns from negative to positive, exactly even where the deviance is too flat to
    compare), and the boundary σc² = 0 is one when the score is not negative there. The lowest
    deviance wins; a deviance still falling at the top of the grid means σ² is 0 (singular)."""
    grid = np.exp(np.arange(-40.0, 40.5, 0.5))
    scores = [design.child_score(r) for r in grid]
    if not all(math.isfinite(s) for s in scores) or scores[-1] < 0:
        return None
    candidates = [0.0] if design.child_score(0.0) >= 0 else []
    for k in range(len(grid) - 1):
        if scores[k] < 0 <= scores[k + 1]:
            root = optimize.brentq(
                lambda t: design.child_score(math.exp(t)),
                math.log(grid[k]),
                math.log(grid[k + 1]),
                xtol=1e-13,
                rtol=1e-14,
            )
            candidates.append(math.exp(root))
    if not candidates:
        return None
    ratio = min(candidates, key=design.profiled)
    if ratio > SINGULAR_RATIO:
        return None
    resid = design.residual_variance(ratio)
    return ratio * resid, resid


def mixed_model(rows: list[tuple]) -> MixedModel:
    """Fit score ~ phase + (1 | child) to ROWS of (child, phase, per-child phase mean)."""
    rows = [r for r in rows if r[2] is not None and math.isfinite(r[2])]
    phases = sorted({r[1] for r in rows})
    children = {r[0] for r in rows}
    counts = {p: len({r[0] for r in rows if r[1] == p}) for p in phases}
    if len(children) < 2 or len(rows) <= len(phases) or not phases:
        return MixedModel(phases, math.nan, math.nan, reason=NOT_ENOUGH)
    try:
        return _mixed_model(rows, phases, counts)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        # Not expected (every case known is declined above); a reason, never an exception.
        return MixedModel(phases, math.nan, math.nan, reason=NOT_ENOUGH + " (numerical failure)")


def _mixed_model(rows: list[tuple], phases: list[int], counts: dict) -> MixedModel:
    design = _Design(rows, phases)
    if design.no_variance:
        return MixedModel(phases, 0.0, 0.0, reason=NO_VARIANCE)
    if design.within_df <= 0:
        return MixedModel(phases, math.nan, math.nan, reason=NOT_IDENTIFIABLE)
    fitted = _fit(design)
    if fitted is None:
        return MixedModel(phases, math.nan, 0.0, reason=SINGULAR)
    child_var, resid_var = fitted
    # At the boundary σc² = 0 only σ² varies (as lmerTest: the deviance is even in θ = σc/σ).
    free = [1] if child_var == 0 else [0, 1]
    means, cov, dfs = design.satterthwaite(child_var, resid_var, free)
    scale = design.scale
    model = MixedModel(phases, child_var * scale**2, resid_var * scale**2)
    if not math.isfinite(scale * scale):
        model.reason = NOT_ENOUGH + " (scores out of range)"
        return model
    for j, phase in enumerate(phases):
        estimate = float(design.shift[j] + scale * means[j])
        se = float(scale * math.sqrt(cov[j, j]))
        df = dfs[j]
        if df is None:
            low = high = None
            reason = NOT_ENOUGH + " for the degrees of freedom"
        else:
            half = stats.t.ppf(0.975, df) * se
            low, high, reason = estimate - half, estimate + half, None
        model.ls_means[phase] = LsMean(phase, counts[phase], estimate, se, df, low, high, reason)
    return model


def p_value_text(p: float | None) -> str:
    """A p-value as a paper prints it, in the reader's number format: "< 0.001" below 0.001
    (never "0.0000"), three decimals below 0.1, two above, "> 0.99" near 1; "–" when none."""
    if p is None or p != p:  # None or NaN
        return "–"
    if p < 0.001:
        return "< " + number_format(0.001, 3)
    if p > 0.99:
        return "> " + number_format(0.99, 2)
    places = 3 if p < 0.1 else 2
    # number_format cuts a float's digits: round first (0.0499 is "0.050", not "0.049").
    return number_format(round(p, places), places)
