"""Calibration at the as-of date: the label-free BG/NBD anchor, the rule choosing it, expected AUC."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from smsseg.models.calibration import Calibrator, _logit
from smsseg.models.champion import (
    ChurnScorer,
    choose_calibration,
    fit_bgnbd_anchor,
    level_averaged_anchor,
    with_mean,
)
from smsseg.models.metrics import expected_roc_auc


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_expected_auc_equals_the_pair_sum_by_brute_force():
    rng = np.random.default_rng(1)
    p = np.round(rng.uniform(size=40), 1)  # rounded: many ties
    num = den = 0.0
    for i, j in itertools.permutations(range(len(p)), 2):
        w = p[i] * (1 - p[j])
        den += w
        num += w * (1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0)
    assert expected_roc_auc(p) == pytest.approx(num / den)


def test_expected_auc_predicts_the_auc_of_labels_drawn_from_the_probabilities():
    rng = np.random.default_rng(2)
    p = rng.beta(2, 3, size=4000)
    drawn = [roc_auc_score(rng.uniform(size=p.size) < p, p) for _ in range(100)]
    assert expected_roc_auc(p) == pytest.approx(np.mean(drawn), abs=0.002)
    # a separate score is ranked by itself, judged against the labels p describes
    assert expected_roc_auc(p, -p) == pytest.approx(1 - expected_roc_auc(p))


def test_anchor_recovers_a_known_platt_map_and_keeps_the_ranking():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, size=5000)
    bgnbd = _sigmoid(1.4 * _logit(p) + 0.3)
    buyers = np.ones(p.size, dtype=bool)
    anchor = fit_bgnbd_anchor(p, bgnbd, buyers)
    assert anchor.coef == pytest.approx(1.4, rel=0.01)
    assert anchor.intercept == pytest.approx(0.3, abs=0.01)
    assert (np.argsort(anchor(p)) == np.argsort(p)).all()


def test_anchor_ignores_prospects_and_refuses_degenerate_input():
    p = np.array([0.2, 0.4, 0.6, 0.8])
    buyers = np.array([True, True, True, False])
    # the prospect's BG/NBD value (1.0: cannot score) must not pull the map
    a = fit_bgnbd_anchor(p, np.array([0.2, 0.4, 0.6, 1.0]), buyers)
    b = fit_bgnbd_anchor(p, np.array([0.2, 0.4, 0.6, 0.0]), buyers)
    assert a.coef == pytest.approx(b.coef) and a.intercept == pytest.approx(b.intercept)
    assert fit_bgnbd_anchor(p, np.full(4, 0.5), buyers) is None  # constant BG/NBD
    assert fit_bgnbd_anchor(p, p, np.zeros(4, dtype=bool)) is None  # no buyers


def test_scorer_applies_the_anchor_to_buyers_only_and_round_trips():
    anchor = Calibrator("sigmoid", coef=2.0, intercept=-0.5)
    scorer = ChurnScorer("model", calibration="bgnbd_anchor", anchor=anchor)
    features = pd.DataFrame({"frequency": [0, 1, 3]})
    p = np.array([0.3, 0.3, 0.6])
    out = scorer(p, features)
    assert out[0] == pytest.approx(0.3)  # a prospect keeps the trained probability
    np.testing.assert_allclose(out[1:], anchor(p[1:]))
    again = ChurnScorer.from_dict(scorer.to_dict())
    np.testing.assert_allclose(again(p, features), out)
    # bundles written before the anchor existed score with the trained calibration
    old = {k: v for k, v in scorer.to_dict().items() if k not in ("calibration", "anchor")}
    np.testing.assert_allclose(ChurnScorer.from_dict(old)(p, features), p)
    with pytest.raises(ValueError, match="calibration"):
        ChurnScorer("model", calibration="magic")


def _test_rows(p, bgnbd, y):
    return pd.DataFrame({"churn": y, "population": "buyers", "smsseg": p, "bgnbd_raw": bgnbd})


def test_the_calibration_rule():
    rng = np.random.default_rng(4)
    truth = rng.uniform(0.1, 0.9, size=6000)
    y = (rng.uniform(size=truth.size) < truth).astype(int)
    stale = _sigmoid(0.5 * _logit(truth) - 0.4)  # right ranking, wrong level and spread
    # out of time: the anchor wins only when the test says it is better
    kind, why = choose_calibration("out_of_time", _test_rows(stale, truth, y))
    assert kind == "bgnbd_anchor" and "Brier" in why
    wrong_bgnbd = _sigmoid(0.3 * _logit(truth) + 1.0)
    assert choose_calibration("out_of_time", _test_rows(truth, wrong_bgnbd, y))[0] == "trained"
    # a customer-disjoint test cannot show staleness: anchored; an unconverged BG/NBD: never
    assert choose_calibration("customer_disjoint", _test_rows(truth, wrong_bgnbd, y))[0] == (
        "bgnbd_anchor"
    )
    assert choose_calibration("out_of_time", _test_rows(stale, truth, y), False)[0] == "trained"


def test_with_mean_moves_the_level_and_keeps_the_spread_and_the_ranking():
    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.95, size=3000)
    anchor = Calibrator("sigmoid", coef=1.3, intercept=0.2)
    for target in (0.3, 0.55, 0.9):
        moved = with_mean(anchor, p, target)
        assert np.mean(moved(p)) == pytest.approx(target, abs=1e-6)
        assert moved.coef == anchor.coef
        assert (np.argsort(moved(p), kind="stable") == np.argsort(p, kind="stable")).all()


def test_level_averaged_anchor_meets_halfway_on_the_buyers_only():
    rng = np.random.default_rng(6)
    truth = rng.uniform(0.2, 0.95, size=4000)
    trained = _sigmoid(_logit(truth) - 0.8)  # the trained map: right ranking, level too low
    bgnbd = _sigmoid(1.2 * _logit(truth) + 0.6)  # BG/NBD: another spread, level too high
    buyers = np.ones(truth.size, dtype=bool)
    buyers[:500] = False  # prospects: BG/NBD cannot score them (1.0), they must not count
    bgnbd[:500] = 1.0
    trained[:500] = 0.01
    anchor = fit_bgnbd_anchor(trained, bgnbd, buyers)
    # the plain anchor takes BG/NBD's level (its cross-entropy fit matches the weighted mean)
    assert np.mean(anchor(trained[buyers])) == pytest.approx(np.mean(bgnbd[buyers]), abs=1e-3)
    averaged, record = level_averaged_anchor(anchor, trained, bgnbd, buyers)
    halfway = (np.mean(bgnbd[buyers]) + np.mean(trained[buyers])) / 2
    assert record["target"] == pytest.approx(halfway)
    assert record["bgnbd"] == pytest.approx(np.mean(bgnbd[buyers]))
    assert record["trained"] == pytest.approx(np.mean(trained[buyers]))
    assert np.mean(averaged(trained[buyers])) == pytest.approx(halfway, abs=1e-6)
    assert averaged.coef == anchor.coef  # the spread stays BG/NBD's
    # weight 1 is the plain anchor's level; no anchor stays no anchor
    full, _ = level_averaged_anchor(anchor, trained, bgnbd, buyers, weight=1.0)
    assert full.intercept == pytest.approx(anchor.intercept, abs=1e-3)
    assert level_averaged_anchor(None, trained, bgnbd, buyers) == (None, {})


def test_the_anchor_level_round_trips_in_the_scorer():
    record = {"bgnbd": 0.8, "trained": 0.6, "target": 0.7}
    scorer = ChurnScorer("model", calibration="bgnbd_anchor", anchor_level=record)
    assert ChurnScorer.from_dict(scorer.to_dict()).anchor_level == record
    old = {k: v for k, v in scorer.to_dict().items() if k != "anchor_level"}
    assert ChurnScorer.from_dict(old).anchor_level == {}
