"""Metrics: hand-computed ECE, lift and capture (with ties), agreement with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from smsseg.models.metrics import (
    binary_metrics,
    compare_scores,
    expected_calibration_error,
    improvement,
    lift_and_capture,
)


def test_ece_by_hand():
    # bins [0.1, 0.2): p=0.15 twice, y=0,1 → gap |0.5 - 0.15| = 0.35 (2 rows)
    # bin [0.9, 1.0]: p=0.95 twice, y=1,1 → gap 0.05 (2 rows); ECE = (2*0.35 + 2*0.05) / 4
    y = np.array([0, 1, 1, 1])
    p = np.array([0.15, 0.15, 0.95, 0.95])
    assert expected_calibration_error(y, p) == pytest.approx(0.2)


def test_ece_of_a_perfect_score_is_zero_and_p_equal_one_is_in_the_last_bin():
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0


def test_lift_and_capture_by_hand():
    # 20 rows, 4 positives; the top 2 rows (10 %) hold 2 positives:
    # lift = (2/2) / (4/20) = 5, capture = 2/4
    y = np.zeros(20)
    y[[0, 1, 5, 9]] = 1
    score = -np.arange(20.0)
    assert lift_and_capture(y, score) == pytest.approx((5.0, 0.5))


def test_ties_at_the_cut_are_shared_fairly():
    # a constant score: the top decile holds the expected share of positives, lift 1
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 5)
    assert lift_and_capture(y, np.ones(50)) == pytest.approx((1.0, 0.1))
    # and row order cannot change it
    assert lift_and_capture(y[::-1], np.ones(50)) == pytest.approx((1.0, 0.1))


def test_binary_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p).astype(int)
    m = binary_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["n"] == 500 and m["base_rate"] == pytest.approx(y.mean())
    assert m["ece"] < 0.1  # calibrated by construction


def test_compare_and_improvement():
    y = np.array([0, 0, 1, 1] * 10)
    table = compare_scores(
        y, {"good": np.array([0.1, 0.2, 0.8, 0.9] * 10), "flat": np.full(40, 0.5)}
    )
    gain = improvement(table, "good", "flat")
    assert gain["roc_auc_gain"] == pytest.approx(0.5)
    assert gain["brier_reduction"] > 0
