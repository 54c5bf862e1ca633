"""Probability calibration kept only when it improves the Brier score, stored as plain JSON.

Fitting uses scikit-learn (``IsotonicRegression``, ``LogisticRegression`` for Platt scaling); the
fitted maps are stored as numbers (isotonic thresholds, Platt coefficients) so a saved model needs
no pickle. The choice between *none*, *sigmoid* and *isotonic* is made on cross-fitted Brier
scores: each candidate is fitted on k-1 folds of the calibration rows and scored on the held-out
fold, so a flexible map (isotonic) cannot win by memorising the rows it is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

METHODS = ("none", "sigmoid", "isotonic")
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass
class Calibrator:
    """A monotone map from raw to calibrated probabilities.

    Parameters
    ----------
    kind : ``"none"``, ``"sigmoid"`` (Platt: ``sigmoid(coef * logit(p) + intercept)``) or
        ``"isotonic"`` (piecewise-linear through ``x`` → ``y``, clipped at the ends).
    """

    kind: str = "none"
    coef: float = 1.0
    intercept: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if self.kind == "none":
            return p
        if self.kind == "sigmoid":
            return expit(self.coef * _logit(p) + self.intercept)
        if self.kind == "isotonic":
            # Same as IsotonicRegression(out_of_bounds="clip").predict: linear between thresholds.
            return np.interp(p, self.x, self.y)
        raise ValueError(f"calibrator kind={self.kind!r} must be one of {METHODS}")

    def to_dict(self) -> dict:
        if self.kind == "sigmoid":
            return {"kind": "sigmoid", "coef": self.coef, "intercept": self.intercept}
        if self.kind == "isotonic":
            return {"kind": "isotonic", "x": self.x, "y": self.y}
        return {"kind": "none"}

    @classmethod
    def from_dict(cls, d: dict) -> Calibrator:
        if d.get("kind") not in METHODS:
            raise ValueError(f"calibrator kind={d.get('kind')!r} must be one of {METHODS}")
        return cls(**d)


def fit_calibrator(kind: str, p: np.ndarray, y: np.ndarray) -> Calibrator:
    """Fit one calibrator of ``kind`` on raw probabilities ``p`` and 0/1 labels ``y``."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if kind == "none":
        return Calibrator()
    if kind == "sigmoid":
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p)[:, None], y)
        return Calibrator("sigmoid", coef=float(lr.coef_[0, 0]), intercept=float(lr.intercept_[0]))
    if kind == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return Calibrator(
            "isotonic",
            x=[float(v) for v in iso.X_thresholds_],
            y=[float(v) for v in iso.y_thresholds_],
        )
    raise ValueError(f"calibration={kind!r} must be one of {METHODS} or 'auto'")


def cross_fitted_brier(kind: str, p: np.ndarray, y: np.ndarray, n_folds: int, seed: int) -> float:
    """Brier score of ``kind`` when each fold is calibrated by a map fitted on the other folds."""
    if kind == "none":
        return float(brier_score_loss(y, p))
    out = np.empty(len(p), dtype=np.float64)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for fit_idx, held_idx in folds.split(p, y):
        out[held_idx] = fit_calibrator(kind, p[fit_idx], y[fit_idx])(p[held_idx])
    return float(brier_score_loss(y, out))


def select_calibrator(
    p: np.ndarray, y: np.ndarray, method: str = "auto", n_folds: int = 5, seed: int = 0
) -> tuple[Calibrator, dict[str, float]]:
    """Pick and fit the calibrator with the lowest cross-fitted Brier score.

    Parameters
    ----------
    p, y : raw probabilities and 0/1 labels of rows not used to fit the booster.
    method : ``"auto"`` compares none / sigmoid / isotonic; any of those forces that one.
    n_folds : folds for the cross-fitted comparison.
    seed : shuffles the folds.

    Returns
    -------
    (Calibrator, dict)
        The winner refitted on all rows, and the cross-fitted Brier score of each candidate.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000); y = (rng.uniform(size=2000) < p**2).astype(int)
    >>> cal, scores = select_calibrator(p, y, seed=0)
    >>> cal.kind != "none"
    True
    """
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y).astype(int)
    if method != "auto":
        if method not in METHODS:
            raise ValueError(f"calibration={method!r} must be 'auto' or one of {METHODS}")
        return fit_calibrator(method, p, y), {}
    n_folds = int(min(n_folds, np.bincount(y, minlength=2).min()))
    if n_folds < 2:
        return Calibrator(), {}
    scores = {kind: cross_fitted_brier(kind, p, y, n_folds, seed) for kind in METHODS}
    best = min(METHODS, key=lambda k: (scores[k], METHODS.index(k)))
    return fit_calibrator(best, p, y), scores
