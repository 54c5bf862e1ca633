"""End to end on data from the simulator's defaults (seed, dates; fewer customers to stay fast):
real features, scores from the real models, tiers and the twelve segments."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from smsseg.segments import SEGMENT_KEYS, load_catalogue
from smsseg.segments.snapshot import run_segments
from smsseg.tiers import value_matrix

AS_OF = "2025-12-31"
N_CUSTOMERS = 1500

# plausible share of all customers per segment: (lowest, highest)
PLAUSIBLE = {
    "new_subscriber": (0.002, 0.15),
    "first_time_buyer": (0.03, 0.5),
    "repeat_customer": (0.2, 0.9),
    "vip": (0.02, 0.2),  # 15 % of buyers
    "cart_abandoner": (0.002, 0.15),
    "browse_abandoner": (0.01, 0.4),
    "category_specific": (0.03, 0.6),
    "discount_sensitive": (0.01, 0.8),
    "at_risk": (0.01, 0.5),
    "dormant": (0.05, 0.8),
    "loyalty_member": (0.05, 0.8),
    "location_based": (0.5, 1.0),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from smsseg.data.load import load
    from smsseg.data.simulator import generate
    from smsseg.features import build_features
    from smsseg.models.scoring import score_customers
    from smsseg.models.train import TrainSettings, train_models

    out = tmp_path_factory.mktemp("default-shop") / "data"
    generate(out, n_customers=N_CUSTOMERS)  # the simulator's default seed and dates
    fast = {"n_estimators": 40, "learning_rate": 0.15}
    settings = TrainSettings(
        n_jobs=1, n_snapshots=2, n_boot=20, churn_params=fast, discount_params=fast,
        uplift_params={"n_estimators": 30, "n_folds": 3}, btyd_fit_sample=N_CUSTOMERS,
    )  # fmt: skip
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            data = load(out)
            bundle = train_models(data, AS_OF, settings).bundle
            scores, _ = score_customers(data, AS_OF, bundle)
            features = build_features(data, AS_OF)
    finally:
        logging.disable(logging.NOTSET)
    return features, scores


@pytest.fixture(scope="module")
def run(shop):
    features, scores = shop
    return run_segments(features, scores, load_catalogue(), seed=42)


def test_all_twelve_segments_are_non_empty_with_plausible_sizes(run):
    summary = run.summary.set_index("key")
    for key in SEGMENT_KEYS:
        low, high = PLAUSIBLE[key]
        share = summary.loc[key, "share"]
        assert low <= share <= high, f"{key}: {share:.3f} outside [{low}, {high}]"
    assert summary.loc[list(SEGMENT_KEYS), "primary_customers"].sum() + summary.loc[
        "general", "primary_customers"
    ] == len(run.membership)
    # VIPs are few and carry a disproportionate share of revenue
    assert summary.loc["vip", "revenue_share"] > 2 * summary.loc["vip", "share"]
    # at-risk customers are riskier than the average customer
    assert summary.loc["at_risk", "mean_churn_probability"] > (
        run.membership["churn_probability"].mean()
    )


def test_tier_profile_is_monotone_in_value(run):
    profile = run.profile
    assert 3 <= len(profile) <= 6
    assert (profile["customers"] > 0).all()
    # tiers are ordered by value: the value score and historical spend fall tier by tier
    assert profile["mean_value_score"].is_monotonic_decreasing
    assert profile["mean_monetary"].is_monotonic_decreasing
    # the top tier holds the most revenue and the highest predicted CLV; (further down, the CLV
    # prior of never-buyers can exceed that of lapsed buyers: CLV looks forward, spend back)
    assert profile["revenue_share"].iloc[0] == profile["revenue_share"].max()
    assert profile["mean_clv"].iloc[0] == profile["mean_clv"].max()


def test_tiers_are_stable_under_bootstrap(run, shop):
    features, scores = shop
    X = value_matrix(features, scores.set_index("customer_id"))
    ari = run.tiers.stability(X, n_boot=5, seed=0)
    assert np.mean(ari) > 0.8, ari
