"""The REML fit and Satterthwaite df stay right however the scores are scaled, offset or
shaped, and decline with a reason where the model cannot be fitted.

Balanced designs (every child in every phase, one value per child and phase) have closed forms:
with MS_B = p Σ(ȳ_i − ȳ)²/(m − 1) and MS_E the two-way residual mean square on (m − 1)(p − 1)
df, REML gives σ² = MS_E, σc² = (MS_B − MS_E)/p (if positive, else σc² = 0 and σ² pooled on
n − p df), each LS mean is its phase mean with SE² = (MS_B + (p − 1)MS_E)/(pm), and the
Satterthwaite df of that linear combination of independent mean squares is
(m − 1)(MS_B + (p − 1)MS_E)² / (MS_B² + (p − 1)MS_E²), or n − p on the boundary."""

import math
import shutil
import subprocess

import numpy as np
import pytest

from outcomes.stats import NOT_ENOUGH, NOT_IDENTIFIABLE, SINGULAR, mixed_model

PHASES = (1, 2, 3, 4)
EFFECTS = {1: 3.0, 2: 2.0, 3: 1.0, 4: 0.5}


def balanced(ratio, m=10, seed=1, offset=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    child = rng.normal(0, math.sqrt(ratio), m)
    return [
        (f"c{i:02d}", p, offset + scale * (EFFECTS[p] + child[i] + rng.normal()))
        for i in range(m)
        for p in PHASES
    ]


def closed_form(rows):
    """(σc², σ², {phase: (mean, se, df)}) of a balanced design, exactly."""
    children = sorted({r[0] for r in rows})
    phases = sorted({r[1] for r in rows})
    m, p = len(children), len(phases)
    y = np.array(
        [[dict(((r[0], r[1]), r[2]) for r in rows)[c, q] for q in phases] for c in children]
    )
    grand = y.mean()
    child_means, phase_means = y.mean(axis=1), y.mean(axis=0)
    ms_b = p * np.sum((child_means - grand) ** 2) / (m - 1)
    resid = y - child_means[:, None] - phase_means[None, :] + grand
    ms_e = np.sum(resid**2) / ((m - 1) * (p - 1))
    if ms_b >= ms_e:
        child_var, resid_var = (ms_b - ms_e) / p, ms_e
        df = (m - 1) * (ms_b + (p - 1) * ms_e) ** 2 / (ms_b**2 + (p - 1) * ms_e**2)
    else:
        child_var, resid_var = 0.0, ((m - 1) * ms_b + (m - 1) * (p - 1) * ms_e) / (m * p - p)
        df = m * p - p
    se = math.sqrt((child_var + resid_var) / m)
    return child_var, resid_var, {q: (phase_means[j], se, df) for j, q in enumerate(phases)}


@pytest.mark.parametrize("ratio", [1e-8, 1e-6, 1e-4, 1e-2, 1.0, 1e2, 1e5, 1e7])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_balanced_designs_match_the_closed_form(ratio, seed):
    rows = balanced(ratio, seed=seed)
    child_var, resid_var, expected = closed_form(rows)
    model = mixed_model(rows)
    assert model.reason is None
    assert model.residual_variance == pytest.approx(resid_var, rel=1e-8)
    assert model.child_variance == pytest.approx(child_var, rel=1e-6, abs=1e-12 * resid_var)
    for phase, (mean, se, df) in expected.items():
        ls = model.ls_means[phase]
        assert ls.estimate == pytest.approx(mean, rel=1e-10, abs=1e-10)
        assert ls.se == pytest.approx(se, rel=1e-8)
        assert ls.df == pytest.approx(df, rel=1e-7)
        assert ls.ci_low < ls.estimate < ls.ci_high


def test_a_tiny_between_child_variance_keeps_its_degrees_of_freedom():
    # σc²/σ² < 1e-4: the exact df is 36 (4 phases × (10 − 1) children) or just under.
    for seed in (1, 2, 3, 4):
        model = mixed_model(balanced(1e-6, seed=seed))
        assert all(ls.df == pytest.approx(36, rel=0.05) for ls in model.ls_means.values())
        assert all(ls.ci_low is not None for ls in model.ls_means.values())


@pytest.mark.parametrize("ratio", [1e-8, 1e-4, 1.0, 1e5, 1e7])
def test_an_offset_or_a_scale_changes_no_se_or_df(ratio):
    reference = mixed_model(balanced(ratio))
    for offset in (1.0, 1e3, 1e4):
        for scale in (1.0, 1e-3, 1e3):
            model = mixed_model(balanced(ratio, offset=offset, scale=scale))
            assert model.reason is None, (offset, scale)
            for phase, ls in model.ls_means.items():
                base = reference.ls_means[phase]
                assert ls.estimate == pytest.approx(offset + scale * base.estimate, rel=1e-9)
                assert ls.se == pytest.approx(scale * base.se, rel=1e-7), (offset, scale)
                assert ls.df == pytest.approx(base.df, rel=1e-7), (offset, scale)


def test_unbalanced_offsets_change_no_se_or_df():
    from tests.outcomes.test_stats import UNBALANCED

    reference = mixed_model(UNBALANCED)
    for offset in (1e3, 1e4, -1e4):
        model = mixed_model([(c, p, s + offset) for c, p, s in UNBALANCED])
        for phase, ls in model.ls_means.items():
            base = reference.ls_means[phase]
            assert ls.estimate - offset == pytest.approx(base.estimate, abs=1e-8)
            assert ls.se == pytest.approx(base.se, rel=1e-9)
            assert ls.df == pytest.approx(base.df, rel=1e-8)


def test_identical_children_decline_instead_of_crashing():
    model = mixed_model([("A", 1, 2.0), ("A", 4, 0.0), ("B", 1, 2.0), ("B", 4, 0.0)])
    assert model.reason == NOT_ENOUGH + " (no variance)" and model.ls_means == {}


def test_no_variation_within_children_is_a_singular_fit_without_a_ci():
    # Every child is its own level plus the phase effects, exactly: σ² = 0. With the ratio
    # bounded (as before) this printed σ² ≈ 6e-8 and CIs that meant nothing.
    rows = [
        (c, p, EFFECTS[p] + level)
        for c, level in zip("ABCDE", (0.1, 0.5, 0.2, 0.9, 0.33), strict=True)
        for p in PHASES
    ]
    model = mixed_model(rows)
    assert model.reason == SINGULAR and model.ls_means == {}


def test_two_children():
    rows = [("A", 1, 9.0), ("A", 4, 3.0), ("B", 1, 7.0), ("B", 4, 4.0)]
    child_var, resid_var, expected = closed_form(rows)
    model = mixed_model(rows)
    assert model.child_variance == pytest.approx(child_var, abs=1e-12)
    assert model.residual_variance == pytest.approx(resid_var)
    for phase, (mean, se, df) in expected.items():
        ls = model.ls_means[phase]
        assert (ls.estimate, ls.se, ls.df) == pytest.approx((mean, se, df), rel=1e-8)


def test_one_child_per_phase_is_not_enough():
    model = mixed_model([("A", 1, 9.0), ("B", 2, 7.0), ("C", 3, 4.0), ("D", 4, 2.0)])
    assert model.reason == NOT_ENOUGH and model.ls_means == {}


def test_one_phase_per_child_cannot_separate_the_variances():
    rows = [("A", 1, 9.0), ("B", 1, 7.5), ("C", 4, 4.0), ("D", 4, 2.0), ("E", 4, 3.3)]
    model = mixed_model(rows)
    assert model.reason == NOT_IDENTIFIABLE and model.ls_means == {}


def test_the_module_never_raises_on_awkward_inputs():
    awkward = [
        [("A", 1, 0.0), ("A", 4, 0.0), ("B", 1, 0.0), ("B", 4, 1e-300)],
        [("A", 1, 1e300), ("A", 4, -1e300), ("B", 1, 1.0), ("B", 4, 2.0)],
        [("A", 1, 1.0), ("A", 4, 1.0 + 1e-15), ("B", 1, 1.0), ("B", 4, 1.0)],
        [("A", 1, 5.0), ("A", 2, 4.0), ("B", 1, 5.0), ("C", 2, 4.0)],
    ]
    for rows in awkward:
        model = mixed_model(rows)
        for ls in model.ls_means.values():
            if ls.ci_low is not None:
                assert math.isfinite(ls.ci_low) and math.isfinite(ls.se) and ls.df > 0


# --- Live comparison with R (lme4 + lmerTest + emmeans), when installed ----------------------

R_SCRIPT = r"""
suppressMessages({library(lme4); library(lmerTest); library(emmeans)})
d <- read.csv(file("stdin")); d$phase <- factor(d$phase); d$child <- factor(d$child)
fit <- withCallingHandlers(lmer(score ~ phase + (1 | child), data = d, REML = TRUE),
  warning = function(w) { cat("WARNING\n"); invokeRestart("muffleWarning") })
if (isSingular(fit)) cat("WARNING\n")
e <- as.data.frame(emmeans(fit, ~phase, lmer.df = "satterthwaite"))
write.csv(e[, c("phase", "emmean", "SE", "df")], stdout(), row.names = FALSE)
"""


def _has_r() -> bool:
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(
        ["Rscript", "-e", "library(lme4); library(lmerTest); library(emmeans)"],
        capture_output=True,
        check=False,
    )
    return check.returncode == 0


def _r_fit(rows):
    text = "child,phase,score\n" + "".join(f"{c},{p},{s!r}\n" for c, p, s in rows)
    out = subprocess.run(
        ["Rscript", "-e", R_SCRIPT], input=text, capture_output=True, text=True, check=True
    ).stdout
    if "WARNING" in out:
        return None
    lines = [line.split(",") for line in out.strip().splitlines()[1:]]
    return {int(p.strip('"')): (float(m), float(se), float(df)) for p, m, se, df in lines}


def _unbalanced(ratio, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(12):
        level = rng.normal(0, math.sqrt(ratio))
        for p in PHASES:
            if rng.random() < 0.75:
                rows.append((f"c{i:02d}", p, offset + EFFECTS[p] + level + rng.normal()))
    return rows


@pytest.mark.skipif(not _has_r(), reason="R with lme4, lmerTest and emmeans is not installed")
@pytest.mark.parametrize(
    ("ratio", "seed", "offset"),
    [(0.5, 11, 0.0), (2.0, 12, 0.0), (1e-2, 13, 0.0), (1e3, 14, 0.0), (2.0, 15, 1000.0)],
)
def test_agrees_with_r_live(ratio, seed, offset):
    rows = _unbalanced(ratio, seed, offset)
    expected = _r_fit(rows)
    if expected is None:
        pytest.skip("R fitted this cohort with a warning")
    model = mixed_model(rows)
    for phase, (mean, se, df) in expected.items():
        ls = model.ls_means[phase]
        assert ls.estimate == pytest.approx(mean, abs=1e-4)
        assert ls.se == pytest.approx(se, abs=1e-4)
        assert ls.df == pytest.approx(df, rel=1e-3)
