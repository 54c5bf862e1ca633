"""T- and X-learners on a planted effect; Qini, AUUC, uplift@k by hand; bootstrap; save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smsseg.models import ModelNotFittedError, TLearner, XLearner, make_learner
from smsseg.models.uplift import UpliftLearner
from smsseg.models.uplift_metrics import (
    auuc,
    bootstrap,
    qini_coefficient,
    qini_curve,
    spearman,
    uplift_at_k,
    uplift_metrics,
    versus_oracle,
)
from tests.models.synthetic import uplift_frame

FAST = {"n_estimators": 60, "n_folds": 3, "n_jobs": 1, "random_state": 3, "min_child_samples": 50}


@pytest.fixture(scope="module")
def experiment():
    X, t, y, tau = uplift_frame(6000, seed=0)
    return X[:4000], t[:4000], y[:4000], X[4000:], t[4000:], y[4000:], tau[4000:]


@pytest.fixture(scope="module", params=["t", "x"])
def learner(request, experiment):
    X, t, y = experiment[:3]
    return make_learner(request.param, **FAST).fit(X, t, y)


def test_learners_recover_the_planted_ranking(learner, experiment):
    Xt, tt, yt, tau = experiment[3:]
    u = learner.predict(Xt)
    assert spearman(u, tau) > 0.4
    # uplift among the top 10 % is far above the average effect (0.09)
    assert uplift_at_k(yt, tt, u, 0.2) > 0.12
    assert versus_oracle(yt, tt, u, tau)["qini_vs_oracle"] > 0.4


def test_out_of_fold_uplift_is_honest(learner, experiment):
    X, t, y = experiment[:3]
    assert learner.oof_uplift_.shape == (len(X),)
    # out-of-fold predictions rank the training rows without having seen them
    tau_train = uplift_frame(6000, seed=0)[3][:4000]
    assert spearman(learner.oof_uplift_, tau_train) > 0.3


@pytest.mark.parametrize("kind", ["t", "x"])
def test_out_of_fold_uplift_never_sees_the_labels_of_its_fold(kind):
    # Shuffle the outcomes inside fold 0 (within arm x above/below-median cells, so that the
    # stratified folds stay the same): fold 0's out-of-fold uplift must not move, the other folds'
    # must (their models trained on fold 0). The X-learner needs nested cross-fitting for this: a
    # plain one imputes the other folds' effects with outcome models that saw fold 0.
    X, t, y, _ = uplift_frame(2000, seed=4)
    rng = np.random.default_rng(0)
    y = y + rng.normal(0, 0.3, len(y))  # continuous: a reshuffle cannot leave the labels equal
    params = {**FAST, "n_estimators": 30}
    before = make_learner(kind, **params).fit(X, t, y)
    held = before.oof_fold_ == 0
    cell = t * 2 + (y > np.median(y))
    shuffled = y.copy()
    for c in np.unique(cell):
        rows = np.flatnonzero(held & (cell == c))
        shuffled[rows] = y[rng.permutation(rows)]
    assert not np.allclose(shuffled[held], y[held])
    after = make_learner(kind, **params).fit(X, t, shuffled)
    np.testing.assert_array_equal(after.oof_fold_, before.oof_fold_)
    np.testing.assert_array_equal(after.oof_uplift_[held], before.oof_uplift_[held])
    assert not np.allclose(after.oof_uplift_[~held], before.oof_uplift_[~held])
    assert not np.allclose(after.predict(X), before.predict(X))  # the final models saw it all


def test_seeded_learners_are_deterministic(experiment):
    X, t, y, Xt = experiment[0], experiment[1], experiment[2], experiment[3]
    a = XLearner(**FAST).fit(X, t, y).predict(Xt)
    b = XLearner(**FAST).fit(X, t, y).predict(Xt)
    np.testing.assert_array_equal(a, b)


def test_save_load_round_trip(learner, experiment, tmp_path):
    Xt = experiment[3]
    learner.save(tmp_path, "uplift", extra={"campaign": "c1"})
    loaded = UpliftLearner.load(tmp_path, "uplift")
    assert type(loaded) is type(learner)
    np.testing.assert_allclose(loaded.predict(Xt), learner.predict(Xt), atol=1e-12)
    assert loaded.metadata_["campaign"] == "c1"
    assert {p.suffix for p in tmp_path.iterdir()} == {".json", ".txt"}


def test_errors():
    X, t, y, _ = uplift_frame(200, seed=1)
    with pytest.raises(ModelNotFittedError, match="not fitted yet"):
        TLearner().predict(X)
    with pytest.raises(ValueError, match="treatment must be 0/1"):
        TLearner(**FAST).fit(X, t + 1, y)
    with pytest.raises(
        ValueError, match=r"need >= 10 treated and >= 10 control rows, got \[200, 0\]"
    ):
        TLearner(**FAST).fit(X, np.zeros(200, dtype=int), y)
    with pytest.raises(ValueError, match="learner='s' must be one of"):
        make_learner("s")


# ------------------------------------------------------------------------- metrics by hand
# Four rows, scores 4 > 3 > 2 > 1: treated responder, control non-responder, treated
# non-responder, control responder.
Y = np.array([1, 0, 0, 1])
T = np.array([1, 0, 1, 0])
S = np.array([4.0, 3.0, 2.0, 1.0])


def test_qini_curve_by_hand():
    curve = qini_curve(Y, T, S)
    # n=1: y_t=1, no control yet → 1/4; n=2: 1 - 0*1/1 → 1/4; n=3: 1 - 0*2/1 → 1/4;
    # n=4: 1 - 1*2/2 = 0
    np.testing.assert_allclose(curve["fraction"], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(curve["qini"], [0, 0.25, 0.25, 0.25, 0.0])


def test_qini_coefficient_and_auuc_by_hand():
    # area under Q: trapezoids 0.25*(0+.25)/2 + .25*.25 + .25*.25 + .25*(.25+0)/2 = 0.1875; random: 0
    assert qini_coefficient(Y, T, S) == pytest.approx(0.1875)
    # uplift curve U = (r_t - r_c) * fraction: n=1 no control → 0; n=2 (1-0)*.5=.5; n=3 (.5-0)*.75=.375;
    # n=4 (.5-.5)*1 = 0 → area = .25*(0+.5)/2 + .25*(.5+.375)/2 + .25*(.375+0)/2 = 0.21875
    assert auuc(Y, T, S) == pytest.approx(0.21875)


def test_uplift_at_k_by_hand():
    assert uplift_at_k(Y, T, S, 0.5) == pytest.approx(1.0)  # top 2: treated 1/1, control 0/1
    assert np.isnan(uplift_at_k(Y, T, S, 0.25))  # top 1 row has no control
    with pytest.raises(ValueError, match="k=0 must be in"):
        uplift_at_k(Y, T, S, 0)


def test_ties_do_not_depend_on_row_order():
    y, t = np.array([1, 0, 0, 1, 1, 0]), np.array([1, 1, 0, 0, 1, 0])
    s = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    perm = np.array([2, 0, 1, 5, 3, 4])
    assert qini_coefficient(y, t, s) == pytest.approx(qini_coefficient(y[perm], t[perm], s[perm]))


def test_random_scores_have_qini_near_zero_and_oracle_is_best():
    X, t, y, tau = uplift_frame(20000, seed=5)
    rng = np.random.default_rng(0)
    assert abs(qini_coefficient(y, t, rng.uniform(size=len(y)))) < 0.004
    assert qini_coefficient(y, t, tau) > 0.01


def test_bootstrap_interval_contains_the_estimate_and_keeps_arm_sizes():
    X, t, y, tau = uplift_frame(3000, seed=6)
    seen = []

    def metric(yb, tb, sb):
        seen.append(int(tb.sum()))
        return uplift_metrics(yb, tb, sb)

    out = bootstrap(metric, y, t, tau, n_boot=50, seed=1)
    assert set(out) == {"uplift_at_10", "qini", "auuc"}
    for iv in out.values():
        assert iv.low <= iv.estimate <= iv.high
    assert set(seen) == {int(t.sum())}
    again = bootstrap(uplift_metrics, y, t, tau, n_boot=50, seed=1)
    assert again["qini"] == out["qini"]


def test_uplift_frame_helper_keeps_the_index(learner, experiment):
    from smsseg.models.uplift import uplift_frame as as_series

    Xt = experiment[3].set_index(pd.Index([f"c{i}" for i in range(len(experiment[3]))]))
    s = as_series(learner, Xt)
    assert list(s.index[:2]) == ["c0", "c1"] and s.name == "uplift"
