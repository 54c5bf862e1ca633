"""On simulated data the features track the planted truth (truth.parquet) the way they should."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from smsseg.data import load
from smsseg.data.simulator import generate
from smsseg.features import build_features

AS_OF = pd.Timestamp("2025-09-30")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim") / "data"
    generate(root, n_customers=1500, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features = build_features(load(root, validate=False), AS_OF)
    truth = pd.read_parquet(root / "truth.parquet").set_index("customer_id").loc[features.index]
    return features, truth


def test_recency_and_p_alive_track_true_dropout(simulated):
    features, truth = simulated
    buyers = features["frequency"] >= 1
    dead = (truth["died_at"] <= AS_OF)[buyers]
    assert 0.1 < dead.mean() < 0.9
    assert roc_auc_score(dead, features.loc[buyers, "recency_days"]) > 0.85
    assert roc_auc_score(dead, -features.loc[buyers, "btyd_p_alive"]) > 0.65
    assert roc_auc_score(dead, features.loc[buyers, "recency_ipt_ratio"].fillna(0)) > 0.6


def test_discount_share_tracks_true_discount_sensitivity(simulated):
    features, truth = simulated
    repeat = features["frequency"] >= 3
    rho, p = spearmanr(
        features.loc[repeat, "discount_order_share"], truth.loc[repeat, "discount_sensitivity"]
    )
    assert rho > 0.15 and p < 1e-3


def test_dominant_category_recovers_the_true_top_category(simulated):
    features, truth = simulated
    repeat = features["frequency"] >= 3
    agreement = (
        features.loc[repeat, "dominant_category"] == truth.loc[repeat, "top_category"]
    ).mean()
    most_common = truth.loc[repeat, "top_category"].value_counts(normalize=True).iloc[0]
    assert agreement > max(0.3, 1.5 * most_common)  # well above always guessing the commonest


def test_consent_as_of_matches_the_true_subscription_state(simulated):
    features, truth = simulated
    subscribed = (truth["opt_in_at"] <= AS_OF) & ~(truth["opt_out_at"] <= AS_OF)
    assert subscribed.mean() > 0.1
    assert (features["sms_opted_in"].fillna(False) == subscribed).mean() > 0.99
