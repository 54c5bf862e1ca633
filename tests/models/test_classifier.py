"""CalibratedLGBMClassifier: the scikit-learn contract, calibration, determinism, save/load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from smsseg.errors import SmssegError
from smsseg.models import CalibratedLGBMClassifier, ColumnMismatchError, ModelNotFittedError
from tests.models.synthetic import classification_frame

FAST = {"n_estimators": 60, "learning_rate": 0.1, "n_jobs": 1, "random_state": 7}


@pytest.fixture(scope="module")
def data():
    X, y = classification_frame(3000, seed=1)
    return X[:2000], y[:2000], X[2000:], y[2000:]


@pytest.fixture(scope="module")
def fitted(data):
    X, y, Xv, yv = data
    return CalibratedLGBMClassifier(**FAST).fit(X, y, eval_set=(Xv, yv))


def test_init_only_stores_arguments():
    clf = CalibratedLGBMClassifier(n_estimators=5, calibration="isotonic")
    assert clf.get_params()["n_estimators"] == 5
    assert not any(k.endswith("_") for k in vars(clf))
    assert clone(clf).get_params() == clf.get_params()


@pytest.mark.parametrize("method", ["predict_proba", "predict", "contributions", "prepare"])
def test_not_fitted_error(method, data):
    clf = CalibratedLGBMClassifier()
    with pytest.raises(ModelNotFittedError, match="not fitted yet; call fit"):
        getattr(clf, method)(data[0])
    # also what scikit-learn code and users catch
    with pytest.raises(NotFittedError):
        getattr(clf, method)(data[0])


def test_fit_returns_self_and_learned_attributes(data):
    X, y, Xv, yv = data
    clf = CalibratedLGBMClassifier(**FAST)
    assert clf.fit(X, y, eval_set=(Xv, yv)) is clf
    assert list(clf.feature_names_in_) == list(X.columns)
    assert clf.n_features_in_ == X.shape[1]
    assert clf.categories_ == {"segment": ["cold", "hot", "warm"]}
    assert clf.calibrator_.kind in ("none", "sigmoid", "isotonic")
    assert 1 <= clf.best_iteration_ <= FAST["n_estimators"]
    assert clf.validation_["n_stopping"] + clf.validation_["n_calibration"] == len(yv)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda X: X.drop(columns=["f0"]), r"missing \['f0'\]"),
        (lambda X: X.assign(extra=1.0), r"unexpected \['extra'\]"),
        (lambda X: X.rename(columns={"f1": "g1"}), r"missing \['f1'\] and unexpected \['g1'\]"),
    ],
    ids=["missing", "extra", "renamed"],
)
def test_column_mismatch_error(fitted, data, change, match):
    with pytest.raises(ColumnMismatchError, match=match):
        fitted.predict_proba(change(data[2]))


def test_column_mismatch_is_a_user_error(fitted, data):
    with pytest.raises(SmssegError):
        fitted.predict_proba(data[2].drop(columns=["segment"]))


def test_column_order_does_not_matter(fitted, data):
    Xv = data[2]
    shuffled = Xv[list(reversed(Xv.columns))]
    np.testing.assert_array_equal(fitted.predict_proba(shuffled), fitted.predict_proba(Xv))


def test_numeric_column_with_text_is_rejected(fitted, data):
    bad = data[2].astype({"f0": object})
    bad.loc[bad.index[0], "f0"] = "abc"
    with pytest.raises(ColumnMismatchError, match="'f0'.*must hold numbers"):
        fitted.predict_proba(bad)


def test_unseen_and_missing_levels_are_scored(fitted, data):
    Xv = data[2].head(3).copy()
    Xv["segment"] = pd.Series(["never-seen", None, "hot"], index=Xv.index, dtype="str")
    p = fitted.predict_proba(Xv)[:, 1]
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


def test_learns_signal_and_probabilities_are_valid(fitted, data):
    p = fitted.predict_proba(data[2])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert roc_auc_score(data[3], p[:, 1]) > 0.85
    assert set(np.unique(fitted.predict(data[2]))) <= {0, 1}


def test_same_seed_same_model_different_seed_differs(data):
    X, y, Xv, yv = data
    a = CalibratedLGBMClassifier(**FAST).fit(X, y, eval_set=(Xv, yv)).predict_proba(Xv)
    b = CalibratedLGBMClassifier(**FAST).fit(X, y, eval_set=(Xv, yv)).predict_proba(Xv)
    c = (
        CalibratedLGBMClassifier(**{**FAST, "random_state": 8})
        .fit(X, y, eval_set=(Xv, yv))
        .predict_proba(Xv)
    )
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_auto_calibration_is_kept_only_if_it_lowers_cross_fitted_brier(fitted):
    scores = fitted.validation_["brier_cross_fitted"]
    assert set(scores) == {"none", "sigmoid", "isotonic"}
    assert scores[fitted.calibrator_.kind] == min(scores.values())


def test_reweighting_is_undone_so_probabilities_keep_the_base_rate():
    X, y = classification_frame(4000, seed=3, weights=(0.93,))
    clf = CalibratedLGBMClassifier(**FAST, imbalance="balanced", calibration="none")
    clf.fit(X[:3000], y[:3000], eval_set=(X[3000:], y[3000:]))
    assert clf.scale_pos_weight_ == pytest.approx((y[:3000] == 0).sum() / y[:3000].sum())
    p = clf.predict_proba(X[3000:])[:, 1]
    # without the log(weight) correction the mean would sit near 0.5
    assert abs(p.mean() - y[3000:].mean()) < 0.05


def test_forced_isotonic_calibration_keeps_the_ranking(data):
    X, y, Xv, yv = data
    common = {**FAST, "imbalance": "balanced"}
    raw = CalibratedLGBMClassifier(**common, calibration="none").fit(X, y, eval_set=(Xv, yv))
    iso = CalibratedLGBMClassifier(**common, calibration="isotonic").fit(X, y, eval_set=(Xv, yv))
    assert iso.calibrator_.kind == "isotonic" and raw.calibrator_.kind == "none"
    p_raw, p_iso = raw.predict_proba(Xv)[:, 1], iso.predict_proba(Xv)[:, 1]
    order = np.argsort(p_raw)
    assert np.all(np.diff(p_iso[order]) >= -1e-12)  # monotone map of the same booster's scores


@pytest.mark.parametrize(
    "params, match",
    [
        ({"imbalance": "smote"}, "imbalance='smote' must be one of"),
        ({"calibration": "beta"}, "calibration='beta' must be one of"),
        ({"n_estimators": 0}, "n_estimators=0 must be >= 1"),
    ],
    ids=["imbalance", "calibration", "n_estimators"],
)
def test_bad_parameters_are_rejected_in_fit(data, params, match):
    with pytest.raises(ValueError, match=match):
        CalibratedLGBMClassifier(**params).fit(data[0], data[1])


def test_bad_labels_are_rejected(data):
    X, y = data[0], data[1]
    with pytest.raises(ValueError, match="Only binary classification is supported.*y has 3 labels"):
        CalibratedLGBMClassifier(**FAST).fit(X, y + (np.arange(len(y)) % 3 == 0))
    with pytest.raises(ValueError, match="Unknown label type"):
        CalibratedLGBMClassifier(**FAST).fit(X, y + 0.5)
    with pytest.raises(ValueError, match="one class only"):
        CalibratedLGBMClassifier(**FAST).fit(X, np.zeros(len(X), dtype=int))


def test_any_two_labels_the_larger_is_the_event(data):
    """The sklearn contract: labels are kept as given; 1/2 fits exactly as 0/1 does."""
    X, y = data[0], data[1]
    as_01 = CalibratedLGBMClassifier(**FAST).fit(X, y)
    as_12 = CalibratedLGBMClassifier(**FAST).fit(X, y + 1)
    assert as_12.classes_.tolist() == [1, 2]
    np.testing.assert_array_equal(as_12.predict_proba(X), as_01.predict_proba(X))
    np.testing.assert_array_equal(as_12.predict(X), as_01.predict(X) + 1)


def test_fit_without_eval_set_holds_out_a_share(data):
    X, y = data[0], data[1]
    clf = CalibratedLGBMClassifier(**FAST, validation_fraction=0.25).fit(X, y)
    assert clf.validation_["n_stopping"] + clf.validation_["n_calibration"] == 500


def test_arrays_get_generated_names():
    X, y = classification_frame(1500, seed=2)
    clf = CalibratedLGBMClassifier(**FAST).fit(X.drop(columns="segment").to_numpy(), y)
    assert list(clf.feature_names_in_) == [f"x{i}" for i in range(6)]


def test_save_load_round_trip_is_exact_and_pickle_free(fitted, data, tmp_path):
    model_path, meta_path = fitted.save(tmp_path, "churn", extra={"as_of": "2025-01-01"})
    assert model_path.read_text().startswith("tree")  # LightGBM native text
    meta = json.loads(meta_path.read_text())
    assert meta["features"] == list(fitted.feature_names_in_)
    assert meta["categories"]["segment"] == ["cold", "hot", "warm"]
    assert meta["calibrator"]["kind"] == fitted.calibrator_.kind
    assert meta["as_of"] == "2025-01-01"
    loaded = CalibratedLGBMClassifier.load(tmp_path, "churn")
    np.testing.assert_allclose(
        loaded.predict_proba(data[2]), fitted.predict_proba(data[2]), rtol=0, atol=1e-12
    )
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".txt"]


def test_contributions_sum_to_the_raw_margin(fitted, data):
    rows = data[2].head(5)
    contrib = fitted.contributions(rows)
    margin = fitted.booster_.predict(
        fitted.prepare(rows), raw_score=True, num_iteration=fitted.best_iteration_
    )
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), margin, atol=1e-9)
    assert list(contrib.index) == list(rows.index)


def test_compact_iteration_keeps_the_fewest_rounds_within_tolerance():
    from smsseg.models.classifier import compact_iteration

    curve = [0.70, 0.80, 0.849, 0.851, 0.852, 0.850]
    assert compact_iteration(curve, best=5, tolerance=0.0) == 5
    assert compact_iteration(curve, best=5, tolerance=0.002) == 4
    assert compact_iteration(curve, best=5, tolerance=0.01) == 3
    assert compact_iteration(curve, best=3, tolerance=0.002) == 3  # never past best
    assert compact_iteration([], best=7, tolerance=0.01) == 7  # no AUC recorded: keep best


def test_compact_tolerance_trims_rounds_within_the_stopping_auc(tmp_path):
    rng = np.random.default_rng(5)
    n = 4000
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"x{i}" for i in range(5)])
    logit = X["x0"] - 0.5 * X["x1"] + 0.3 * X["x2"] * X["x3"]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"learning_rate": 0.05, "n_estimators": 400, "n_jobs": 1, "random_state": 0}
    full = CalibratedLGBMClassifier(**params).fit(X, y)
    compact = CalibratedLGBMClassifier(**params, compact_tolerance=0.002).fit(X, y)
    assert full.best_iteration_ == full.validation_["best_round"]
    assert compact.validation_["best_round"] == full.best_iteration_
    assert compact.best_iteration_ < full.best_iteration_
    auc = compact.stopping_auc_
    best = max(auc[: full.best_iteration_])
    assert auc[compact.best_iteration_ - 1] >= best - 0.002
    assert auc[compact.best_iteration_ - 2] < best - 0.002  # one round fewer would not do
    # the saved model holds only the rounds kept, and predicts the same
    compact.save(tmp_path, "churn")
    loaded = CalibratedLGBMClassifier.load(tmp_path, "churn")
    assert loaded.booster_.num_trees() == compact.best_iteration_
    np.testing.assert_allclose(loaded.predict_proba(X)[:, 1], compact.predict_proba(X)[:, 1])
    with pytest.raises(ValueError, match="compact_tolerance=1.5 must be in"):
        CalibratedLGBMClassifier(compact_tolerance=1.5).fit(X, y)
