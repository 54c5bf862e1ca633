"""Calibrators: JSON round trip, agreement with scikit-learn, selection by cross-fitted Brier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss

from smsseg.models.calibration import Calibrator, fit_calibrator, select_calibrator


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose true probability is score**3: far too high in the middle."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return p, (rng.uniform(size=n) < p**3).astype(int)


def test_isotonic_matches_scikit_learn():
    p, y = _miscalibrated(3000, 0)
    cal = fit_calibrator("isotonic", p, y)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    grid = np.linspace(-0.1, 1.1, 301)
    np.testing.assert_allclose(cal(grid), iso.predict(grid), atol=1e-12)


def test_sigmoid_is_platt_on_the_logit():
    p, y = _miscalibrated(3000, 1)
    cal = fit_calibrator("sigmoid", p, y)
    assert cal.coef > 1  # needs to sharpen: true probability p**3 is steeper than p
    out = cal(np.array([0.1, 0.5, 0.9]))
    assert np.all(np.diff(out) > 0)


@pytest.mark.parametrize("kind", ["none", "sigmoid", "isotonic"])
def test_json_round_trip(kind):
    p, y = _miscalibrated(500, 2)
    cal = fit_calibrator(kind, p, y)
    again = Calibrator.from_dict(cal.to_dict())
    np.testing.assert_array_equal(again(p), cal(p))


def test_selection_calibrates_a_miscalibrated_score_and_improves_brier_out_of_sample():
    p, y = _miscalibrated(4000, 3)
    cal, scores = select_calibrator(p, y, seed=0)
    assert cal.kind in ("sigmoid", "isotonic")
    assert scores[cal.kind] < scores["none"]
    p_new, y_new = _miscalibrated(4000, 4)
    assert brier_score_loss(y_new, cal(p_new)) < brier_score_loss(y_new, p_new) - 0.02


def test_selection_keeps_an_already_calibrated_score():
    rng = np.random.default_rng(5)
    p = rng.uniform(size=4000)
    y = (rng.uniform(size=4000) < p).astype(int)
    cal, scores = select_calibrator(p, y, seed=0)
    # isotonic / Platt cannot beat the truth out of sample by more than noise
    assert scores["none"] <= min(scores["sigmoid"], scores["isotonic"]) + 5e-4
    assert cal.kind == min(scores, key=scores.get)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="calibration='beta' must be 'auto' or one of"):
        select_calibrator(np.array([0.2, 0.8]), np.array([0, 1]), method="beta")
    with pytest.raises(ValueError, match="calibrator kind='beta'"):
        Calibrator.from_dict({"kind": "beta"})


def test_a_steep_platt_map_saturates_without_overflow_warnings():
    import warnings

    cal = Calibrator("sigmoid", coef=50.0, intercept=-900.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # np.exp overflowed here before expit
        out = cal(np.array([1e-9, 0.5, 1 - 1e-9]))
    assert np.all((out >= 0) & (out <= 1)) and out[0] == 0.0
