"""Golden values: our tests on summary statistics against statsmodels and scipy on raw data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from smsseg.datasets import load_hillstrom
from smsseg.readout import (
    SampleStats,
    benjamini_hochberg,
    beta_binomial,
    holm,
    normal_posterior,
    proportion_exact,
    proportion_ztest,
    relative_lift,
    srm_check,
    welch_ttest,
)

TOL = {"rtol": 1e-8, "atol": 1e-12}


@pytest.fixture(scope="module")
def hillstrom():
    return load_hillstrom()


def _hillstrom_counts(df, metric, variant):
    arm = df.loc[df["segment"] == variant, metric]
    return int(arm.sum()), int(arm.size)


PROPORTION_CASES = {
    "hillstrom visit mens": ("visit", "Mens E-Mail"),
    "hillstrom conversion womens": ("conversion", "Womens E-Mail"),
    "moderate": (30, 200, 45, 210),
    "rare, unequal arms": (5, 1000, 12, 900),
    "near one half": (480, 1000, 530, 1000),
    "treatment lower": (90, 700, 61, 720),
}


def _proportion_case(case, hillstrom):
    spec = PROPORTION_CASES[case]
    if len(spec) == 2:
        return (
            *_hillstrom_counts(hillstrom, spec[0], "No E-Mail"),
            *_hillstrom_counts(hillstrom, *spec),
        )
    return spec


@pytest.mark.parametrize("case", list(PROPORTION_CASES), ids=list(PROPORTION_CASES))
@pytest.mark.parametrize("alpha", [0.05, 0.1], ids=["alpha=.05", "alpha=.10"])
def test_two_proportion_z_test_and_wald_ci_match_statsmodels(case, alpha, hillstrom):
    x_c, n_c, x_t, n_t = _proportion_case(case, hillstrom)
    ours = proportion_ztest(
        SampleStats.from_counts(n_c, x_c), SampleStats.from_counts(n_t, x_t), alpha
    )
    z, p = proportions_ztest([x_t, x_c], [n_t, n_c])
    low, high = confint_proportions_2indep(
        x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=alpha
    )
    np.testing.assert_allclose([ours.statistic, ours.p_value], [z, p], **TOL)
    np.testing.assert_allclose([ours.ci_low, ours.ci_high], [low, high], **TOL)
    assert ours.diff == pytest.approx(x_t / n_t - x_c / n_c, rel=1e-12)


@pytest.mark.parametrize(
    "case", ["moderate", "rare, unequal arms", "treatment lower", "zeros", "tiny"]
)
def test_exact_method_matches_fisher_and_newcombe(case, hillstrom):
    x_c, n_c, x_t, n_t = {"zeros": (0, 40, 0, 35), "tiny": (1, 3, 2, 4)}.get(
        case
    ) or PROPORTION_CASES[case]
    ours = proportion_exact(
        SampleStats.from_counts(n_c, x_c), SampleStats.from_counts(n_t, x_t), 0.05
    )
    _, p = stats.fisher_exact([[x_t, n_t - x_t], [x_c, n_c - x_c]])
    low, high = confint_proportions_2indep(
        x_t, n_t, x_c, n_c, method="newcomb", compare="diff", alpha=0.05
    )
    np.testing.assert_allclose(ours.p_value, p, **TOL)
    np.testing.assert_allclose([ours.ci_low, ours.ci_high], [low, high], **TOL)


def _mean_samples(case, hillstrom):
    rng = np.random.default_rng(7)
    if case == "hillstrom spend mens":
        spend = hillstrom.groupby("segment")["spend"]
        return spend.get_group("No E-Mail").to_numpy(), spend.get_group("Mens E-Mail").to_numpy()
    if case == "hillstrom spend womens":
        spend = hillstrom.groupby("segment")["spend"]
        return spend.get_group("No E-Mail").to_numpy(), spend.get_group("Womens E-Mail").to_numpy()
    if case == "lognormal, unequal n":
        return rng.lognormal(3, 1, 50), rng.lognormal(3.2, 1.2, 80)
    if case == "normal, unequal variances":
        return rng.normal(10, 1, 30), rng.normal(10.5, 5, 300)
    return rng.exponential(20, 2000), rng.exponential(21, 1900)


MEAN_CASES = [
    "hillstrom spend mens",
    "hillstrom spend womens",
    "lognormal, unequal n",
    "normal, unequal variances",
    "exponential",
]


@pytest.mark.parametrize("case", MEAN_CASES, ids=MEAN_CASES)
def test_welch_matches_scipy_and_statsmodels(case, hillstrom):
    c, t = _mean_samples(case, hillstrom)
    ours = welch_ttest(SampleStats.from_values(c), SampleStats.from_values(t), 0.05)
    ref = stats.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(0.95)
    sm_low, sm_high = CompareMeans(DescrStatsW(t), DescrStatsW(c)).tconfint_diff(
        alpha=0.05, usevar="unequal"
    )
    np.testing.assert_allclose(
        [ours.statistic, ours.p_value, ours.df], [ref.statistic, ref.pvalue, ref.df], **TOL
    )
    np.testing.assert_allclose([ours.ci_low, ours.ci_high], [ci.low, ci.high], **TOL)
    np.testing.assert_allclose([ours.ci_low, ours.ci_high], [sm_low, sm_high], **TOL)


def test_relative_lift_delta_ci_covers_the_true_lift_95_percent_of_the_time():
    """The delta-method interval is approximate: check its coverage on 4,000 simulated tests."""
    rng = np.random.default_rng(11)
    n, mu_c, mu_t = 400, 20.0, 23.0  # exponential arms: true relative lift 15 %
    c, t = rng.exponential(mu_c, (4000, n)), rng.exponential(mu_t, (4000, n))
    lift, low, high, _ = relative_lift(
        c.mean(1), c.var(1, ddof=1) / n, t.mean(1), t.var(1, ddof=1) / n, 0.05
    )
    coverage = np.mean((low <= mu_t / mu_c - 1) & (mu_t / mu_c - 1 <= high))
    assert 0.935 <= coverage <= 0.965
    np.testing.assert_allclose(lift, t.mean(1) / c.mean(1) - 1, rtol=1e-12)


def _evan_miller_prob(a_c, b_c, a_t, b_t):
    """Exact P(p_t > p_c) for integer Beta parameters (Evan Miller's closed form)."""
    i = np.arange(a_t)
    terms = (
        special.betaln(a_c + i, b_c + b_t)
        - np.log(b_t + i)
        - special.betaln(1 + i, b_t)
        - special.betaln(a_c, b_c)
    )
    return float(np.exp(terms).sum())


@pytest.mark.parametrize(
    "counts",
    [(12, 100, 20, 110), (3, 40, 1, 45), (0, 10, 0, 10), (150, 1000, 170, 1000)],
    ids=["moderate", "few", "zeros", "large"],
)
def test_beta_binomial_matches_the_closed_form_and_monte_carlo(counts):
    x_c, n_c, x_t, n_t = counts
    ours = beta_binomial(SampleStats.from_counts(n_c, x_c), SampleStats.from_counts(n_t, x_t))
    exact = _evan_miller_prob(x_c + 1, n_c - x_c + 1, x_t + 1, n_t - x_t + 1)
    assert ours.prob_beat_control == pytest.approx(exact, abs=1e-8)
    rng = np.random.default_rng(3)
    pc, pt = (
        rng.beta(x_c + 1, n_c - x_c + 1, 2_000_000),
        rng.beta(x_t + 1, n_t - x_t + 1, 2_000_000),
    )
    loss = np.maximum(pc - pt, 0)
    assert ours.expected_loss == pytest.approx(
        loss.mean(), abs=4 * loss.std() / np.sqrt(loss.size) + 1e-7
    )


@pytest.mark.parametrize(("diff", "se"), [(0.3, 1.0), (-0.02, 0.01), (0.0, 2.0)])
def test_normal_posterior_matches_numerical_integration(diff, se):
    ours = normal_posterior(diff, se)
    dist = stats.norm(diff, se)
    loss = integrate.quad(lambda x: -x * dist.pdf(x), -np.inf, 0)[0]
    assert ours.prob_beat_control == pytest.approx(dist.sf(0), abs=1e-12)
    assert ours.expected_loss == pytest.approx(loss, rel=1e-8)


P_VALUES = [0.001, 0.04, 0.03, np.nan, 0.2, 0.012, 0.7, 0.049]


@pytest.mark.parametrize(
    ("ours", "method"), [(holm, "holm"), (benjamini_hochberg, "fdr_bh")], ids=["holm", "bh"]
)
def test_corrections_match_statsmodels_and_skip_nan(ours, method):
    p = np.array(P_VALUES)
    adjusted = ours(p)
    ok = ~np.isnan(p)
    np.testing.assert_allclose(adjusted[ok], multipletests(p[ok], method=method)[1], **TOL)
    assert np.isnan(adjusted[~ok]).all()


def test_srm_matches_scipy_chisquare_against_the_intended_split():
    counts = {"control": 1000, "a": 1100, "b": 2050}
    result = srm_check(counts, split={"control": 1, "a": 1, "b": 2})
    ref = stats.chisquare([1000, 1100, 2050], [4150 / 4, 4150 / 4, 4150 / 2])
    assert result.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert result.statistic == pytest.approx(ref.statistic, rel=1e-10)
