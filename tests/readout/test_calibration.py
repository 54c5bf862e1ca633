"""Error rates by simulation: A/A false positives, peeking, CUPED's variance and bias, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smsseg.readout import SampleStats, bootstrap_ci, msprt, readout, running_min
from smsseg.readout.calibration import (
    aa_false_positive_rate,
    cuped_simulation,
    peeking_false_positive_rates,
)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "proportion", "n_runs": 10_000, "n_per_arm": 2000, "baseline": 0.05},
        {"kind": "proportion", "n_runs": 10_000, "n_per_arm": 5000, "baseline": 0.3},
        {"kind": "mean", "n_runs": 4000, "n_per_arm": 1000},
    ],
    ids=["conversion 5%", "click 30%", "lognormal revenue"],
)
def test_aa_false_positive_rate_is_alpha(kwargs):
    result = aa_false_positive_rate(alpha=0.05, seed=2024, **kwargs)
    assert result.n_runs >= 2000
    assert 0.04 <= result.rate <= 0.06, result.to_frame()


def test_peeking_inflates_naive_false_positives_but_not_the_sequential_test():
    rates = peeking_false_positive_rates(
        n_runs=4000, n_looks=20, per_look=500, baseline=0.05, seed=7
    )
    assert rates["naive"].rate > 0.10  # about 4-5× alpha with 20 looks
    assert rates["sequential"].rate <= 0.05
    assert 0.04 <= rates["final"].rate <= 0.06  # one look at the end is fine


def test_sequential_test_still_detects_a_real_effect():
    rng = np.random.default_rng(1)
    looks = np.arange(1, 21) * 1000
    c = SampleStats.from_counts(looks, np.cumsum(rng.binomial(1000, 0.10, 20)))
    t = SampleStats.from_counts(looks, np.cumsum(rng.binomial(1000, 0.12, 20)))
    p_c, p_t = c.mean, t.mean
    var = p_c * (1 - p_c) / looks + p_t * (1 - p_t) / looks
    seq = msprt(p_t - p_c, var, tau=0.1 * 0.31)
    always_valid = running_min(seq.p_value)
    assert always_valid[-1] < 0.01
    assert (np.diff(always_valid) <= 0).all()
    assert (seq.ci_low < p_t - p_c).all() and (p_t - p_c < seq.ci_high).all()


def test_confidence_sequence_is_wider_than_the_fixed_interval():
    seq = msprt(0.01, 0.004**2, tau=0.03)
    assert seq.half_width_z > 1.96
    assert seq.ci_high - seq.ci_low == pytest.approx(2 * seq.half_width_z * 0.004)


def test_cuped_reduces_variance_by_rho_squared_and_stays_unbiased():
    sim = cuped_simulation(n_runs=3000, n_per_arm=400, rho=0.7, effect=0.1, seed=3)
    frame = sim.to_frame().set_index("estimator")
    raw_sd, adj_sd = (
        frame.loc["difference in means", "sd_estimate"],
        frame.loc["CUPED", "sd_estimate"],
    )
    assert 1 - adj_sd**2 / raw_sd**2 == pytest.approx(0.49, abs=0.05)
    assert float(np.mean(sim.variance_reduction)) == pytest.approx(0.49, abs=0.02)
    se_of_mean = adj_sd / np.sqrt(len(sim.adjusted))
    assert abs(frame.loc["CUPED", "bias"]) < 3 * se_of_mean


def test_cuped_readout_on_simulated_rows_reports_the_variance_reduction():
    rng = np.random.default_rng(9)
    n = 4000
    pre = rng.gamma(2.0, 25.0, n)
    arm = rng.choice(["control", "treatment"], n)
    spend = 0.6 * pre + rng.normal(0, 15, n) + np.where(arm == "treatment", 3.0, 0.0)
    df = pd.DataFrame({"arm": arm, "spend": spend, "pre": pre})
    raw = readout(df, "arm", "control", ["spend"]).iloc[0]
    adj = readout(df, "arm", "control", ["spend"], covariates={"spend": "pre"}).iloc[0]
    rho2 = np.corrcoef(pre, spend)[0, 1] ** 2
    assert adj["variance_reduction"] == pytest.approx(rho2, abs=0.03)
    width = lambda r: r["abs_ci_high"] - r["abs_ci_low"]  # noqa: E731
    assert width(adj) / width(raw) == pytest.approx(
        np.sqrt(1 - adj["variance_reduction"]), rel=0.02
    )
    assert adj["abs_ci_low"] < 3.0 < adj["abs_ci_high"]
    assert adj["method"] == "welch t + cuped"


def test_bootstrap_interval_agrees_with_welch_on_a_large_sample_and_is_seeded():
    rng = np.random.default_rng(4)
    c, t = rng.lognormal(2, 1, 3000), rng.lognormal(2.05, 1, 3000)
    first, again = (
        bootstrap_ci(c, t, n_resamples=2000, seed=1),
        bootstrap_ci(c, t, n_resamples=2000, seed=1),
    )
    assert first == again
    df = pd.DataFrame({"arm": ["c"] * 3000 + ["t"] * 3000, "y": np.r_[c, t]})
    welch = readout(df, "arm", "c", ["y"]).iloc[0]
    boot = readout(df, "arm", "c", ["y"], bootstrap=True, n_resamples=2000, seed=1).iloc[0]
    assert (
        boot["abs_ci_low"],
        boot["abs_ci_high"],
        boot["rel_ci_low"],
        boot["rel_ci_high"],
    ) == first
    assert boot["abs_ci_low"] == pytest.approx(welch["abs_ci_low"], abs=0.1 * width_of(welch))
    assert boot["abs_ci_high"] == pytest.approx(welch["abs_ci_high"], abs=0.1 * width_of(welch))
    assert "bootstrap" in boot["method"]


def width_of(row) -> float:
    return row["abs_ci_high"] - row["abs_ci_low"]


def test_sequential_readout_gives_wider_intervals_and_larger_p_values():
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"arm": rng.choice(["c", "t"], 20_000), "y": rng.binomial(1, 0.1, 20_000)})
    df.loc[df.arm == "t", "y"] = rng.binomial(1, 0.115, (df.arm == "t").sum())
    fixed = readout(df, "arm", "c", ["y"]).iloc[0]
    seq = readout(df, "arm", "c", ["y"], sequential=True).iloc[0]
    assert seq["p_value"] > fixed["p_value"]
    assert width_of(seq) > width_of(fixed)
    assert "msprt" in seq["method"]
