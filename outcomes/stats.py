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


@dataclass(frozen=True)
class Paired:
    phase_a: int
    phase_b: int
    n: int
    mean_difference: float | None = None  # b − a
    t: float | None = None
    df: int | None = None
    p_t: float | None = None
    w: float | None = None
    p_wilcoxon: float | None = None
    reason: str | None = None


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
        # Every child changed by the same amount: no variance to test against.
        return Paired(
            phase_a,
            phase_b,
            n,
            float(difference.mean()),
            None,
            None,
            None,
            None,
            None,
            NOT_ENOUGH + " (no variance)",
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


class _Design:
    """Cell-means design (one column per phase) grouped by child, kept as sums so that each
    evaluation costs O(n) whatever the number of children."""

    def __init__(self, rows: list[tuple], phases: list[int]):
        children = sorted({r[0] for r in rows}, key=str)
        index = {c: i for i, c in enumerate(children)}
        column = {p: j for j, p in enumerate(phases)}
        self.n, self.p, self.m = len(rows), len(phases), len(children)
        self.X = np.zeros((self.n, self.p))
        self.y = np.array([float(r[2]) for r in rows])
        self.group = np.array([index[r[0]] for r in rows])
        for i, row in enumerate(rows):
            self.X[i, column[row[1]]] = 1.0
        self.sizes = np.bincount(self.group, minlength=self.m).astype(float)
        self.sx = np.zeros((self.m, self.p))  # per-child column sums X_i'1
        np.add.at(self.sx, self.group, self.X)
        self.sy = np.bincount(self.group, weights=self.y, minlength=self.m)  # per-child Σy
        self.xtx, self.xty, self.yty = self.X.T @ self.X, self.X.T @ self.y, self.y @ self.y

    def pieces(self, child_var: float, resid_var: float):
        """X'V⁻¹X, X'V⁻¹y, y'V⁻¹y and log|V| for V = σ²I + σc² ZZ'."""
        w = child_var / (resid_var + self.sizes * child_var)
        xvx = (self.xtx - (self.sx.T * w) @ self.sx) / resid_var
        xvy = (self.xty - (self.sx.T * w) @ self.sy) / resid_var
        yvy = (self.yty - np.sum(w * self.sy**2)) / resid_var
        logdet = self.n * math.log(resid_var) + np.sum(np.log1p(self.sizes * child_var / resid_var))
        return xvx, xvy, yvy, logdet

    def deviance(self, theta) -> float:
        """−2 × REML log-likelihood (without the constant) at θ = (σc², σ²)."""
        child_var, resid_var = theta
        if child_var < 0 or resid_var <= 0:
            return math.inf
        xvx, xvy, yvy, logdet = self.pieces(child_var, resid_var)
        sign, logdet_xvx = np.linalg.slogdet(xvx)
        if sign <= 0:
            return math.inf
        beta = np.linalg.solve(xvx, xvy)
        residual = yvy - xvy @ beta
        return float(logdet + logdet_xvx + residual)

    def covariance(self, theta) -> np.ndarray:
        xvx, _xvy, _yvy, _logdet = self.pieces(*theta)
        return np.linalg.inv(xvx)

    def beta(self, theta) -> np.ndarray:
        xvx, xvy, _yvy, _logdet = self.pieces(*theta)
        return np.linalg.solve(xvx, xvy)


def _fit(design: _Design) -> tuple[float, float]:
    """REML estimates (σc², σ²): σ² is profiled out, the ratio σc²/σ² found by Brent's method."""

    def profiled(log_ratio: float) -> float:
        ratio = math.exp(log_ratio)
        xvx, xvy, yvy, logdet = design.pieces(ratio, 1.0)
        beta = np.linalg.solve(xvx, xvy)
        rss = yvy - xvy @ beta
        dof = design.n - design.p
        return dof * math.log(rss / dof) + logdet + np.linalg.slogdet(xvx)[1]

    def resid_for(ratio: float) -> float:
        xvx, xvy, yvy, _ = design.pieces(ratio, 1.0)
        return float((yvy - xvy @ np.linalg.solve(xvx, xvy)) / (design.n - design.p))

    best = optimize.minimize_scalar(
        profiled, bounds=(-30, 15), method="bounded", options={"xatol": 1e-12, "maxiter": 1000}
    )
    ratio = math.exp(best.x)
    # The boundary (no between-child variance) is a fit of its own.
    boundary = design.n - design.p
    xvx0, xvy0, yvy0, _ = design.pieces(0.0, 1.0)
    rss0 = yvy0 - xvy0 @ np.linalg.solve(xvx0, xvy0)
    at_zero = boundary * math.log(rss0 / boundary) + np.linalg.slogdet(xvx0)[1]
    if at_zero <= best.fun:
        return 0.0, float(rss0 / boundary)
    resid = resid_for(ratio)
    return ratio * resid, resid


def _numeric_gradient(f, theta, steps) -> np.ndarray:
    grad = np.zeros(len(theta))
    for i in range(len(theta)):
        up, down = np.array(theta, float), np.array(theta, float)
        up[i] += steps[i]
        down[i] -= steps[i]
        grad[i] = (f(up) - f(down)) / (2 * steps[i])
    return grad


def _numeric_hessian(f, theta, steps) -> np.ndarray:
    k = len(theta)
    hessian = np.zeros((k, k))

    def shifted(i, j, di, dj):
        point = np.array(theta, float)
        point[i] += di * steps[i]
        point[j] += dj * steps[j]
        return f(point)

    for i in range(k):
        for j in range(k):
            hessian[i, j] = (
                shifted(i, j, 1, 1)
                - shifted(i, j, 1, -1)
                - shifted(i, j, -1, 1)
                + shifted(i, j, -1, -1)
            ) / (4 * steps[i] * steps[j])
    return hessian


def mixed_model(rows: list[tuple]) -> MixedModel:
    """Fit score ~ phase + (1 | child) to ROWS of (child, phase, per-child phase mean)."""
    rows = [r for r in rows if r[2] is not None and math.isfinite(r[2])]
    phases = sorted({r[1] for r in rows})
    children = {r[0] for r in rows}
    counts = {p: len({r[0] for r in rows if r[1] == p}) for p in phases}
    if len(children) < 2 or len(rows) <= len(phases) or not phases:
        return MixedModel(phases, math.nan, math.nan, reason=NOT_ENOUGH)
    design = _Design(rows, phases)
    if np.ptp(design.y) == 0:
        return MixedModel(phases, 0.0, 0.0, reason=NOT_ENOUGH + " (no variance)")
    child_var, resid_var = _fit(design)
    if resid_var <= 1e-12:
        return MixedModel(phases, child_var, resid_var, reason=NOT_ENOUGH + " (no variance)")
    theta = np.array([child_var, resid_var])
    beta = design.beta(theta)
    cov = design.covariance(theta)
    # Satterthwaite: df = 2 (L C L')² / (g' A g), with A the covariance of the variance
    # estimates (2 × the inverse Hessian of the REML deviance) and g the gradient of L C L'.
    on_boundary = child_var <= 1e-10 * max(resid_var, 1e-12)
    free = [1] if on_boundary else [0, 1]
    steps = np.array([max(abs(child_var), resid_var) * 1e-4, resid_var * 1e-4])

    def restricted(values, index=free):
        full = theta.copy()
        full[index] = values
        return full

    hessian = _numeric_hessian(lambda v: design.deviance(restricted(v)), theta[free], steps[free])
    try:
        a_matrix = 2 * np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        a_matrix = None
    model = MixedModel(phases, child_var, resid_var)
    for j, phase in enumerate(phases):
        se = math.sqrt(cov[j, j])
        df = None
        if a_matrix is not None:
            grad = _numeric_gradient(
                lambda v, j=j: design.covariance(restricted(v))[j, j], theta[free], steps[free]
            )
            denominator = grad @ a_matrix @ grad
            if denominator > 0:
                df = float(2 * cov[j, j] ** 2 / denominator)
        estimate = float(beta[j])
        if df is None or not math.isfinite(df):
            df = low = high = None
            reason = NOT_ENOUGH + " for the degrees of freedom"
        else:
            half = stats.t.ppf(0.975, df) * se
            low, high, reason = float(beta[j] - half), float(beta[j] + half), None
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
