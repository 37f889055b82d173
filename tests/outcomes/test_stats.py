"""Statistics of DOMAIN §6, checked against R (lme4 + lmerTest + emmeans, Debian packages).

The reference output below was produced with R 4.2 (Debian 12: r-cran-lme4, r-cran-lmertest,
r-cran-emmeans) from the rows of UNBALANCED written to rows.csv (child,phase,score):

    library(lme4); library(lmerTest); library(emmeans)
    d <- read.csv("rows.csv"); d$phase <- factor(d$phase)
    fit <- lmer(score ~ phase + (1 | child), data = d, REML = TRUE)
    as.data.frame(VarCorr(fit))$vcov
    as.data.frame(emmeans(fit, ~phase, lmer.df = "satterthwaite"))
    w <- reshape(d, idvar = "child", timevar = "phase", direction = "wide")
    both <- w[!is.na(w$score.1) & !is.na(w$score.4), ]
    t.test(both$score.4, both$score.1, paired = TRUE)
    wilcox.test(both$score.4, both$score.1, paired = TRUE, exact = TRUE)
    quantile(d$score[d$phase == 1])
"""

from datetime import date, timedelta

import pytest

from outcomes.stats import (
    NOT_ENOUGH,
    Day,
    mixed_model,
    paired_tests,
    phase_summary,
    spread,
)

# Eight children, none with the same set of phases as all others (D has no phase 1, H only 3–4).
UNBALANCED = [
    ("A", 1, 9.2), ("A", 2, 6.1), ("A", 3, 4.0), ("A", 4, 3.1),
    ("B", 1, 12.5), ("B", 2, 8.4), ("B", 4, 5.0),
    ("C", 1, 7.7), ("C", 3, 3.3), ("C", 4, 2.9),
    ("D", 2, 10.2), ("D", 3, 6.8), ("D", 4, 6.1),
    ("E", 1, 10.9), ("E", 2, 7.5), ("E", 3, 5.2),
    ("F", 1, 8.0), ("F", 4, 4.4),
    ("G", 1, 11.3), ("G", 2, 9.9), ("G", 3, 7.1), ("G", 4, 6.6),
    ("H", 3, 2.2), ("H", 4, 1.8),
]  # fmt: skip

# R: vcov 3.0854484356 (child), 0.4937619430 (residual); emmeans:
#   phase  emmean        SE            df            lower.CL      upper.CL
R_LS_MEANS = {
    1: (9.8742330602, 0.6903110679, 9.2878938454, 8.3199883969, 11.4284777235),
    2: (7.4454723556, 0.7069371974, 10.0834590596, 5.8720835167, 9.0188611946),
    3: (4.8508366037, 0.6903110679, 9.2878938460, 3.2965919404, 6.4050812670),
    4: (4.3360508480, 0.6776698203, 8.6963333355, 2.7948563144, 5.8772453816),
}


def test_ls_means_agree_with_r_lme4_emmeans():
    model = mixed_model(UNBALANCED)
    assert model.child_variance == pytest.approx(3.0854484356, abs=1e-5)
    assert model.residual_variance == pytest.approx(0.4937619430, abs=1e-5)
    for phase, (estimate, se, df, low, high) in R_LS_MEANS.items():
        ls = model.ls_means[phase]
        assert round(ls.estimate, 4) == round(estimate, 4), phase
        assert round(ls.se, 4) == round(se, 4), phase
        assert ls.df == pytest.approx(df, abs=1e-3), phase
        assert ls.ci_low == pytest.approx(low, abs=1e-4) and ls.ci_high == pytest.approx(
            high, abs=1e-4
        )
    assert [model.ls_means[p].n_children for p in (1, 2, 3, 4)] == [6, 5, 6, 7]


def test_paired_tests_agree_with_r():
    means = {}
    for child, phase, score in UNBALANCED:
        means.setdefault(child, {})[phase] = score
    result = paired_tests(means, 1, 4)
    # R: t = -7.9728138159, df = 4, p-value = 0.0013411461 (5 children with phases 1 and 4);
    #    V = 0, p-value = 0.0625
    assert result.n == 5 and result.df == 4
    assert result.t == pytest.approx(-7.9728138159, abs=1e-8)
    assert result.p_t == pytest.approx(0.0013411461, abs=1e-8)
    assert result.w == 0 and result.p_wilcoxon == pytest.approx(0.0625)
    assert result.mean_difference == pytest.approx(-5.34)
    assert result.v == 0  # every child fell: W+ of b − a is 0 (and min(W+, W−) too)


def test_signed_rank_reports_r_v_besides_the_smaller_sum():
    # R: wilcox.test(c(3, 5, 4.5, 9, 1), c(2, 7, 1, 2, 4), paired = TRUE) → V = 11, p = 0.4375
    means = {
        c: {1: a, 4: b} for c, a, b in zip("ABCDE", (2, 7, 1, 2, 4), (3, 5, 4.5, 9, 1), strict=True)
    }
    result = paired_tests(means, 1, 4)
    assert result.v == 10 and result.w == 5 and result.p_wilcoxon == pytest.approx(0.625)
    fell = paired_tests({c: {1: m[4], 4: m[1]} for c, m in means.items()}, 1, 4)
    assert fell.v == 5 and fell.w == 5 and fell.p_wilcoxon == pytest.approx(0.625)


def test_signed_rank_is_defined_when_every_child_changed_alike():
    same = {c: {1: 5.0 + i, 4: 2.0 + i} for i, c in enumerate("ABCDE")}
    result = paired_tests(same, 1, 4)
    assert result.t is None and result.reason.startswith(NOT_ENOUGH)
    # Exact: 2 of the 2^5 equally likely sign patterns are as extreme.
    assert result.p_wilcoxon == pytest.approx(2 / 32) and result.v == 0 and result.w == 0
    rose = paired_tests({c: {1: m[4], 4: m[1]} for c, m in same.items()}, 1, 4)
    assert rose.v == 15 and rose.p_wilcoxon == pytest.approx(2 / 32)
    assert paired_tests({"A": {1: 5, 4: 2}, "B": {1: 7, 4: 4}}, 1, 4).p_wilcoxon == 0.5  # 2 of 4
    unchanged = paired_tests({"A": {1: 5, 4: 5}, "B": {1: 7, 4: 7}}, 1, 4)
    assert unchanged.p_wilcoxon is None and unchanged.v is None


def test_median_and_iqr_as_r_quantile():
    # R: quantile(c(9.2, 12.5, 7.7, 10.9, 8.0, 11.3)) → 25% 8.30, 50% 10.05, 75% 11.20
    result = spread([9.2, 12.5, 7.7, 10.9, 8.0, 11.3])
    assert (result.n, result.q1, result.median, result.q3) == (
        6,
        pytest.approx(8.3),
        pytest.approx(10.05),
        pytest.approx(11.2),
    )


def test_not_enough_data_is_said_not_computed():
    assert spread([]).reason == NOT_ENOUGH and spread([]).median is None
    one_child = mixed_model([("A", 1, 9.0), ("A", 4, 3.0)])
    assert one_child.reason == NOT_ENOUGH and one_child.ls_means == {}
    flat = mixed_model([(c, p, 2.0) for c in "ABC" for p in (1, 4)])
    assert flat.reason.startswith(NOT_ENOUGH)
    assert paired_tests({"A": {1: 5, 4: 2}}, 1, 4).reason == NOT_ENOUGH
    same_change = paired_tests({"A": {1: 5, 4: 2}, "B": {1: 7, 4: 4}}, 1, 4)
    assert same_change.t is None and same_change.reason.startswith(NOT_ENOUGH)
    assert paired_tests({"A": {1: 5}, "B": {4: 2}}, 1, 4).n == 0
    assert mixed_model([]).reason == NOT_ENOUGH


def test_a_phase_nobody_reached_is_left_out():
    rows = [r for r in UNBALANCED if r[1] != 2]
    model = mixed_model(rows)
    assert set(model.ls_means) == {1, 3, 4}


def test_phase_summary_of_one_child():
    start = date(2026, 1, 1)
    days = [
        Day(start, score=4, skin=1, fever=True, steroid_mg_per_kg=0.5, jaki_mg_per_kg=0.3),
        Day(start + timedelta(days=1), score=2, skin=0, fever=False, steroid_mg_per_kg=0.3),
        Day(start + timedelta(days=2)),  # nothing recorded that day
        Day(start + timedelta(days=3), score=6, skin=2, fever=False),
        Day(start + timedelta(days=10), score=24),  # outside the phase
    ]
    summary = phase_summary(3, start, start + timedelta(days=4), days)
    assert (summary.days, summary.recorded, summary.completeness) == (5, 3, 60.0)
    assert summary.mean == 4 and summary.median == 4 and (summary.q1, summary.q3) == (3, 5)
    assert summary.skin_mean == 1 and summary.fever_pct == pytest.approx(100 / 3)
    assert summary.steroid_mg_per_kg == pytest.approx(0.4) and summary.jaki_mg_per_kg == 0.3
    empty = phase_summary(2, None, None, days)
    assert empty.days == 0 and empty.mean is None and empty.completeness is None
    unrecorded = phase_summary(1, date(2025, 1, 1), date(2025, 1, 31), days)
    assert unrecorded.recorded == 0 and unrecorded.mean is None and unrecorded.completeness == 0
