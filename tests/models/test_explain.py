"""Reasons: the driving feature comes first, only positive contributions count, only given rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from smsseg.models import CalibratedLGBMClassifier, top_reasons
from smsseg.models._frame import ColumnMismatchError
from smsseg.models.calibration import Calibrator, _logit
from smsseg.models.champion import ChurnScorer
from smsseg.models.explain import reason_columns, scorer_contributions, treeshap


@pytest.fixture(scope="module")
def model_and_rows():
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(
        {
            "recency_days": rng.uniform(0, 300, n),
            "noise": rng.normal(size=n),
            "country": pd.Series(rng.choice(["US", "GB"], n), dtype="str"),
        }
    )
    p = 1 / (1 + np.exp(-(X["recency_days"] - 150) / 30))
    y = (rng.uniform(size=n) < p).astype(int)
    X.index = pd.Index([f"c{i}" for i in range(n)], name="customer_id")
    model = CalibratedLGBMClassifier(n_estimators=80, n_jobs=1, random_state=0).fit(X, y)
    return model, X


def test_dominant_driver_comes_first_for_the_at_risk(model_and_rows):
    model, X = model_and_rows
    at_risk = X[X["recency_days"] > 280]
    reasons = top_reasons(model, at_risk, k=3)
    assert list(reasons.index) == list(at_risk.index)
    assert (reasons["reason_1"] == "recency_days").all()
    assert reasons["reasons"].str.startswith("recency_days=").all()


def test_only_positive_contributions_are_reasons(model_and_rows):
    model, X = model_and_rows
    reasons = top_reasons(model, X.head(200), k=3)
    contrib = reasons[[f"contribution_{i}" for i in (1, 2, 3)]].to_numpy()
    assert np.all((contrib > 0) | np.isnan(contrib))
    # a reason name is present exactly when its contribution is
    assert (reasons["reason_2"].isna().to_numpy() == np.isnan(contrib[:, 1])).all()
    # recent buyers have little pushing them to churn: some rows have fewer than 3 reasons
    assert reasons["reason_3"].isna().any()


def test_values_are_rendered_readably(model_and_rows):
    model, X = model_and_rows
    row = X.head(1).copy()
    row["recency_days"] = 290.0
    text = top_reasons(model, row, k=1)["reasons"].iloc[0]
    assert text.startswith("recency_days=290 (+")


def test_bad_k(model_and_rows):
    model, X = model_and_rows
    with pytest.raises(ValueError, match="k=0 must be >= 1"):
        top_reasons(model, X.head(2), k=0)


def _path_dependent_value(node: dict, x: np.ndarray, known: set[int]) -> float:
    """E[tree(x) | x_known] with unknown features averaged by the training cover (TreeSHAP's
    path-dependent value function), by plain recursion over LightGBM's dumped tree."""
    if "leaf_value" in node:
        return node["leaf_value"]
    left, right = node["left_child"], node["right_child"]
    if node["split_feature"] in known:
        go_left = x[node["split_feature"]] <= node["threshold"]
        return _path_dependent_value(left if go_left else right, x, known)

    def cover(child):
        return child.get("internal_count", child.get("leaf_count"))

    total = cover(left) + cover(right)
    return (
        cover(left) * _path_dependent_value(left, x, known)
        + cover(right) * _path_dependent_value(right, x, known)
    ) / total


def _brute_force_shap(trees: list[dict], x: np.ndarray) -> np.ndarray:
    """Exact Shapley values of the path-dependent value function, by enumerating every subset."""
    from itertools import combinations

    n = len(x)
    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in combinations(others, size):
                known = set(subset)
                gain = sum(
                    _path_dependent_value(t["tree_structure"], x, known | {i})
                    - _path_dependent_value(t["tree_structure"], x, known)
                    for t in trees
                )
                phi[i] += weight * gain
    return phi


def test_reasons_are_exact_treeshap_checked_by_brute_force():
    # Four numeric features, so every subset can be enumerated: the reasons' contributions must
    # be the exact Shapley values, and the reasons their top features in order.
    rng = np.random.default_rng(1)
    n = 1500
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    logit = 1.5 * X["a"] - X["b"] + 0.5 * X["a"] * X["c"] + 0.2 * X["d"]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = CalibratedLGBMClassifier(
        n_estimators=15, num_leaves=7, min_child_samples=20, n_jobs=1, random_state=0
    ).fit(X, y)
    trees = model.booster_.dump_model(num_iteration=model.best_iteration_)["tree_info"]
    rows = X.head(25)
    reasons = top_reasons(model, rows, k=3)
    for r, (_, row) in enumerate(rows.iterrows()):
        phi = _brute_force_shap(trees, row.to_numpy())
        expected = [c for c in np.argsort(-phi, kind="stable")[:3] if phi[c] > 0]
        got = [reasons[f"reason_{i}"].iloc[r] for i in (1, 2, 3)]
        assert got[: len(expected)] == [X.columns[c] for c in expected]
        assert all(name is None for name in got[len(expected) :])
        contrib = reasons[[f"contribution_{i}" for i in (1, 2, 3)]].iloc[r].dropna().to_numpy()
        np.testing.assert_allclose(contrib, phi[expected], atol=1e-9)


# ----------------------------------------------------------------- reasons of the deployed scorer
BGNBD = "btyd_prob_no_purchase"


def _with_bgnbd(X: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """``X`` plus a BG/NBD P(no purchase) column that partly follows recency."""
    rng = np.random.default_rng(seed)
    z = (X["recency_days"].to_numpy() - 150) / 60 + rng.normal(size=len(X))
    return X.assign(**{BGNBD: 1 / (1 + np.exp(-z))})


def _scorer(kind: str) -> ChurnScorer:
    return ChurnScorer(kind, Calibrator("sigmoid", coef=0.8, intercept=-0.3), bgnbd_baseline=0.4)


@pytest.mark.parametrize("calibration", ["none", "sigmoid", "isotonic"])
def test_blend_contributions_add_up_to_the_blends_log_odds(model_and_rows, calibration):
    _, X = model_and_rows
    y = (X["recency_days"] > 150).to_numpy().astype(int)
    flip = np.random.default_rng(5).uniform(size=len(y)) < 0.2
    y = np.where(flip, 1 - y, y)
    model = CalibratedLGBMClassifier(
        n_estimators=30, n_jobs=1, random_state=0, calibration=calibration
    ).fit(X, y)
    assert model.calibrator_.kind == calibration
    rows = _with_bgnbd(X).head(400)
    scorer = _scorer("blend")
    M = model.prepare(rows[list(model.feature_names_in_)])
    log_odds = scorer.bgnbd_log_odds(rows)
    contrib = scorer_contributions(model, scorer, M, log_odds, scorer.bgnbd_baseline)
    assert reason_columns(model, scorer) == [*model.feature_names_in_, BGNBD]
    assert contrib.shape == (len(rows), len(model.feature_names_in_) + 1)
    w = scorer.blend_weight
    blend = w * _logit(model.proba_from_matrix(M)) + (1 - w) * log_odds
    bias = treeshap(model, M)[:, -1]
    reference = w * model.log_odds_of_margin(bias) + (1 - w) * scorer.bgnbd_baseline
    np.testing.assert_allclose(contrib.sum(axis=1), blend - reference, atol=1e-8)
    # the BG/NBD column holds BG/NBD's part (the model does not read it)
    np.testing.assert_allclose(contrib[:, -1], (1 - w) * (log_odds - scorer.bgnbd_baseline))


def test_a_blend_keeps_the_models_order_of_its_own_features(model_and_rows):
    model, X = model_and_rows
    rows = _with_bgnbd(X).head(300)
    scorer = _scorer("blend")
    blended = top_reasons(model, rows, k=3, scorer=scorer)
    alone = top_reasons(model, rows[list(model.feature_names_in_)], k=3)
    # where BG/NBD pushes down it is no reason, and the model's features keep TreeSHAP's order
    below = (scorer.bgnbd_log_odds(rows) < scorer.bgnbd_baseline) & (
        blended["contribution_1"].notna().to_numpy()
    )
    assert below.sum() > 20
    for i in (1, 2, 3):
        assert blended.loc[below, f"reason_{i}"].equals(alone.loc[below, f"reason_{i}"])
    # where it pushes hard, BG/NBD's column is among the reasons, with its value
    far_above = scorer.bgnbd_log_odds(rows) > scorer.bgnbd_baseline + 3
    assert far_above.any()
    named = blended.loc[far_above, ["reason_1", "reason_2", "reason_3"]]
    assert (named == BGNBD).any(axis=1).all()
    assert blended.loc[far_above, "reasons"].str.contains(f"{BGNBD}=0.9").any()


def test_a_bgnbd_scorers_only_reason_is_its_column(model_and_rows):
    model, X = model_and_rows
    rows = _with_bgnbd(X).head(300)
    scorer = _scorer("bgnbd")
    reasons = top_reasons(model, rows, k=3, scorer=scorer)
    push = scorer.bgnbd_log_odds(rows) - scorer.bgnbd_baseline
    up = push > 0
    assert up.any() and (~up).any()
    assert (reasons.loc[up, "reason_1"] == BGNBD).all()
    assert reasons.loc[~up, "reason_1"].isna().all()
    assert reasons[["reason_2", "reason_3"]].isna().all().all()
    np.testing.assert_allclose(reasons.loc[up, "contribution_1"], push[up])
    # a bundle from before the baseline has no reference to measure BG/NBD's push from
    with pytest.raises(ValueError, match="has no bgnbd_baseline"):
        top_reasons(model, rows, k=1, scorer=ChurnScorer("bgnbd", scorer.bgnbd_calibrator))
    again = top_reasons(model, rows, k=1, scorer=ChurnScorer("bgnbd"), bgnbd_baseline=0.0)
    assert (again["reason_1"].dropna() == BGNBD).all()
    with pytest.raises(ColumnMismatchError, match=f"reads the feature column '{BGNBD}'"):
        top_reasons(model, X.head(5), k=1, scorer=scorer)


def test_the_models_reasons_do_not_change_when_it_is_the_scorer(model_and_rows):
    model, X = model_and_rows
    rows = X.head(200)
    pd.testing.assert_frame_equal(
        top_reasons(model, rows, k=3, scorer=ChurnScorer("model")), top_reasons(model, rows, k=3)
    )
