"""ValueTiers: choice of k, value order, names, the scikit-learn contract, stability and JSON."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from smsseg.errors import SmssegError
from smsseg.tiers import (
    TiersNotFittedError,
    ValueTiers,
    load_tiers,
    save_tiers,
    tier_profile,
    value_matrix,
)

# three well-separated groups of customers: (monetary, frequency, recency days, size)
GROUPS = {
    "high": (2000.0, 12, 10.0, 60),
    "mid": (300.0, 4, 60.0, 120),
    "low": (40.0, 1, 300.0, 220),
}


def _features(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for name, (money, orders, recency, n) in GROUPS.items():
        parts.append(
            pd.DataFrame(
                {
                    "monetary_total": money * rng.lognormal(0, 0.1, n),
                    "frequency": np.maximum(1, rng.poisson(orders, n)),
                    "recency_days": recency * rng.lognormal(0, 0.1, n),
                    "group": name,
                },
                index=[f"{name}{i}" for i in range(n)],
            )
        )
    frame = pd.concat(parts)
    frame.index.name = "customer_id"
    return frame


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return _features()


@pytest.fixture(scope="module")
def fitted(features) -> ValueTiers:
    return ValueTiers(k_range=(2, 5), random_state=0).fit(value_matrix(features))


def test_chooses_k_by_silhouette_and_orders_tiers_by_value(fitted, features):
    assert fitted.k_ == 3
    assert set(fitted.criterion_values_) == {2, 3, 4, 5}
    assert max(fitted.criterion_values_, key=fitted.criterion_values_.get) == 3
    assert fitted.names_ == ("Gold", "Silver", "Bronze")
    tiers = pd.Series(fitted.predict(value_matrix(features)), index=features.index)
    assert (tiers[features["group"] == "high"] == "Gold").all()
    assert (tiers[features["group"] == "mid"] == "Silver").all()
    assert (tiers[features["group"] == "low"] == "Bronze").all()


def test_profile_is_monotone_in_value(fitted, features):
    scores = pd.DataFrame(
        {"predicted_clv": features["monetary_total"] / 2, "churn_probability": 0.2},
        index=features.index,
    )
    tiers = pd.Series(fitted.predict(value_matrix(features)), index=features.index)
    profile = tier_profile(tiers, features, scores, fitted)
    assert list(profile["tier"]) == ["Gold", "Silver", "Bronze"]
    assert profile["mean_monetary"].is_monotonic_decreasing
    assert profile["mean_clv"].is_monotonic_decreasing
    assert profile["mean_recency_days"].is_monotonic_increasing
    assert profile["customers"].tolist() == [60, 120, 220]
    assert profile["share"].sum() == pytest.approx(1.0)
    assert profile["revenue_share"].sum() == pytest.approx(1.0)
    assert profile["mean_churn_probability"].tolist() == pytest.approx([0.2] * 3)


def test_value_score_orders_customers_like_the_tiers(fitted, features):
    X = value_matrix(features)
    score = fitted.value_score(X)
    rank = fitted.predict_rank(X)
    means = score.groupby(rank).mean()
    assert means.is_monotonic_decreasing  # rank 0 (top tier) has the highest value score


def test_stability_is_high_on_separated_groups_and_reproducible(fitted, features):
    X = value_matrix(features)
    ari = fitted.stability(X, n_boot=5, seed=1)
    assert len(ari) == 5
    assert min(ari) > 0.95
    assert fitted.stability(X, n_boot=5, seed=1) == ari


def test_stability_is_low_on_structureless_data():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"log_monetary": rng.normal(size=400), "log_frequency": rng.normal(size=400)})
    tiers = ValueTiers(k_range=(5, 5), random_state=0).fit(X)
    # a 5-way cut of one round blob moves with every resample
    assert np.mean(tiers.stability(X, n_boot=5, seed=0)) < 0.9


def test_missing_recency_is_imputed_as_worst(fitted, features):
    never = pd.DataFrame(
        {"monetary_total": [0.0], "frequency": [0], "recency_days": [np.nan]}, index=["new"]
    )
    assert fitted.predict(value_matrix(never)).tolist() == ["Bronze"]
    col = list(fitted.feature_names_in_).index("log_recency")
    assert fitted.fill_values_[col] == pytest.approx(value_matrix(features)["log_recency"].max())


def test_log_clv_used_when_scores_have_it(features):
    scores = pd.DataFrame({"predicted_clv": np.nan}, index=features.index)
    assert "log_clv" not in value_matrix(features, scores).columns
    scores["predicted_clv"] = 10.0
    assert "log_clv" in value_matrix(features, scores).columns


def test_sklearn_contract(features):
    tiers = ValueTiers(k_range=(2, 4))
    assert not any(name.endswith("_") for name in vars(tiers))  # __init__ only stores args
    assert clone(tiers).get_params() == tiers.get_params()
    with pytest.raises(TiersNotFittedError, match="not fitted"):
        tiers.predict(value_matrix(features))
    X = value_matrix(features)
    assert tiers.fit(X) is tiers
    assert list(tiers.feature_names_in_) == list(X.columns)
    with pytest.raises(SmssegError, match=r"missing \['log_recency'\]"):
        tiers.predict(X.drop(columns=["log_recency"]))
    # the same columns in another order are realigned, not refused
    assert (tiers.predict(X[X.columns[::-1]]) == tiers.predict(X)).all()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"k_range": (0, 3)}, r"k_range=\(0, 3\) must satisfy 1 <= min <= max"),
        ({"k_range": (4, 3)}, r"k_range=\(4, 3\)"),
        ({"k_range": 3}, r"k_range=3 must be a pair"),
        ({"criterion": "elbow"}, r"criterion='elbow' must be one of"),
        ({"k_range": (3, 8)}, r"no default names beyond k=6"),
        ({"names": ["A", "B"], "k_range": (2, 3)}, r"names=\['A', 'B'\] has 2 entries .* up to 3"),
        (
            {"value_weights": {"log_monetary": 1.0}},
            r"\['log_frequency', 'log_recency'\] have no value weight",
        ),
    ],
    ids=["k-zero", "k-reversed", "k-scalar", "criterion", "names-needed", "names-short", "weights"],
)
def test_bad_parameters(features, params, match):
    with pytest.raises(SmssegError, match=match):
        ValueTiers(**params).fit(value_matrix(features))


def test_bad_inputs(features):
    with pytest.raises(SmssegError, match="needs a DataFrame"):
        ValueTiers().fit(value_matrix(features).to_numpy())
    with pytest.raises(SmssegError, match="0 customers"):
        ValueTiers().fit(value_matrix(features).iloc[:0])
    X = value_matrix(features).assign(log_recency=np.nan)
    with pytest.raises(SmssegError, match=r"\['log_recency'\] are missing for every customer"):
        ValueTiers().fit(X)
    with pytest.raises(SmssegError, match=r"lacks \['recency_days'\]"):
        value_matrix(features.drop(columns=["recency_days"]))


def test_degenerate_data_warns_with_fewer_tiers():
    X = pd.DataFrame({"log_monetary": [1.0] * 10, "log_frequency": [0.5] * 10})
    with pytest.warns(UserWarning, match="only 1 distinct value profile"):
        tiers = ValueTiers(k_range=(3, 5)).fit(X)
    assert tiers.k_ == 1 and tiers.names_ == ("Standard",)
    assert tiers.stability(X, n_boot=2) == [1.0, 1.0]


def test_custom_names(features):
    tiers = ValueTiers(k_range=(3, 3), names=["Top", "Middle", "Base", "Unused"]).fit(
        value_matrix(features)
    )
    assert tiers.names_ == ("Top", "Middle", "Base")


def test_json_round_trip(fitted, features, tmp_path):
    X = value_matrix(features)
    data = json.loads(fitted.to_json())
    assert data["format"] == "smsseg.value_tiers" and data["k"] == 3
    assert {"scaler", "centres", "names", "criterion_values", "fill_values"} <= set(data)
    path = save_tiers(fitted, tmp_path / "models" / "value_tiers.json")
    restored = load_tiers(path)
    assert (restored.predict(X) == fitted.predict(X)).all()
    np.testing.assert_allclose(restored.value_score(X), fitted.value_score(X))
    assert restored.criterion_values_ == pytest.approx(fitted.criterion_values_)
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.pickle"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"format": "other"}', r"not a value-tiers file: format='other'"),
        ('{"format": "smsseg.value_tiers", "version": 1}', r"incomplete: missing or bad 'params'"),
        ("not json", r"is not valid JSON"),
    ],
    ids=["format", "incomplete", "not-json"],
)
def test_bad_tiers_files(tmp_path, text, match):
    path = tmp_path / "tiers.json"
    path.write_text(text)
    with pytest.raises(SmssegError, match=match):
        load_tiers(path)


def test_missing_tiers_file(tmp_path):
    with pytest.raises(SmssegError, match=r"nope.json does not exist"):
        load_tiers(tmp_path / "nope.json")


def test_inconsistent_tiers_file(fitted, tmp_path):
    data = fitted.to_dict()
    data["names"] = data["names"][:2]
    with pytest.raises(SmssegError, match="inconsistent"):
        ValueTiers.from_json(data)


def test_no_warnings_on_a_normal_fit(features):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ValueTiers(k_range=(2, 4)).fit(value_matrix(features))


def test_degenerate_bootstrap_resamples_warn_once():
    X = pd.DataFrame({"log_monetary": [0.0, 1.0, 5.0, 9.0], "log_frequency": [0.0, 1.0, 5.0, 9.0]})
    tiers = ValueTiers(k_range=(3, 3)).fit(X)
    with pytest.warns(UserWarning, match=r"of 20 bootstrap resamples had fewer distinct"):
        ari = tiers.stability(X, n_boot=20, seed=0)
    assert len(ari) == 20
