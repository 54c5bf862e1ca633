"""Champion / challenger for churn: the LightGBM model, calibrated BG/NBD or their blend.

A model that does not beat its simple baseline on the honest out-of-time test is not used for
scores. ``train`` scores three candidates on the test rows of :mod:`smsseg.models.validation`:

* ``bgnbd`` - BG/NBD P(no purchase in the horizon), Platt-calibrated on the latest training snapshot;
* ``model`` - the calibrated LightGBM classifier;
* ``blend`` - the mean of the two on the log-odds scale (fixed equal weights: a weight fitted on
  the test rows would be judged on the rows it was fitted on).

The champion has the highest ROC-AUC on the headline population (buyers: customers with at least
one completed order at the cut-off; all customers when buyers hold one class only). Ties go to
the simpler scorer, in the order of :data:`CHURN_SCORERS`, so the model has to *beat* BG/NBD.
Without a test (``validation kind="none"``) BG/NBD is kept. The choice, the table behind it and
the reason are stored in the bundle and logged to MLflow; every score row names its scorer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from smsseg.models.baselines import bgnbd_churn_probability
from smsseg.models.calibration import Calibrator, _logit, fit_calibrator
from smsseg.models.metrics import compare_scores

#: Candidate churn scorers, simplest first (a tie keeps the simpler one).
CHURN_SCORERS = ("bgnbd", "blend", "model")
POPULATIONS = ("buyers", "prospects", "all")
BLEND_WEIGHT = 0.5


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class ChurnScorer:
    """Turns the model's probability and the BG/NBD feature into the deployed churn probability.

    Parameters
    ----------
    kind : one of :data:`CHURN_SCORERS`.
    bgnbd_calibrator : Platt map of BG/NBD's P(no purchase), fitted on training snapshots.
    blend_weight : weight of the model in the log-odds blend.
    """

    kind: str = "model"
    bgnbd_calibrator: Calibrator = field(default_factory=Calibrator)
    blend_weight: float = BLEND_WEIGHT

    def __post_init__(self) -> None:
        if self.kind not in CHURN_SCORERS:
            raise ValueError(f"churn scorer kind={self.kind!r} must be one of {CHURN_SCORERS}")

    def candidates(self, model_p: np.ndarray, features: pd.DataFrame) -> dict[str, np.ndarray]:
        """Every candidate's probability for the rows of ``features``."""
        bgnbd = self.bgnbd_calibrator(bgnbd_churn_probability(features))
        w = self.blend_weight
        blend = _sigmoid(w * _logit(model_p) + (1 - w) * _logit(bgnbd))
        return {"bgnbd": bgnbd, "blend": blend, "model": np.asarray(model_p, dtype=np.float64)}

    def __call__(self, model_p: np.ndarray, features: pd.DataFrame) -> np.ndarray:
        if self.kind == "model":  # the common case needs no BG/NBD column
            return np.asarray(model_p, dtype=np.float64)
        return self.candidates(model_p, features)[self.kind]

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "bgnbd_calibrator": self.bgnbd_calibrator.to_dict(),
            "blend_weight": self.blend_weight,
        }

    @classmethod
    def from_dict(cls, d: Mapping | None) -> ChurnScorer:
        """The scorer stored in a bundle; bundles from before champion/challenger use the model."""
        if not d:
            return cls()
        return cls(d["kind"], Calibrator.from_dict(d["bgnbd_calibrator"]), float(d["blend_weight"]))


def fit_bgnbd_calibrator(features: pd.DataFrame, y: np.ndarray) -> Calibrator:
    """Platt scaling of BG/NBD's P(no purchase) on training rows (identity if one class)."""
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return Calibrator()
    return fit_calibrator("sigmoid", bgnbd_churn_probability(features), y)


def population_masks(frequency) -> dict[str, np.ndarray]:
    """Buyers (>= 1 completed order at the cut-off), prospects (none) and all rows."""
    f = pd.Series(frequency).fillna(0).to_numpy(dtype=np.float64)
    return {"buyers": f > 0, "prospects": f <= 0, "all": np.ones(len(f), dtype=bool)}


def population_tables(
    y, scores: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray]
) -> dict[str, pd.DataFrame | None]:
    """:func:`~smsseg.models.metrics.compare_scores` per population, every score on the same rows.

    A population without rows gets ``None``.
    """
    y = np.asarray(y)
    out: dict[str, pd.DataFrame | None] = {}
    for name in POPULATIONS:
        m = np.asarray(masks[name], dtype=bool)
        out[name] = (
            compare_scores(y[m], {k: np.asarray(v)[m] for k, v in scores.items()})
            if m.any()
            else None
        )
    return out


def headline_population(tables: Mapping[str, pd.DataFrame | None]) -> str:
    """``buyers`` when their AUC is defined, else ``all``."""
    buyers = tables.get("buyers")
    if buyers is not None and np.isfinite(buyers["roc_auc"]).all():
        return "buyers"
    return "all"


def choose_champion(table: pd.DataFrame | None) -> tuple[str, str]:
    """The candidate with the highest ROC-AUC (ties: the simpler); ``bgnbd`` without a table.

    Returns
    -------
    (kind, reason) : the champion and one sentence saying why.
    """
    if table is None:
        return "bgnbd", "no out-of-time test could be made: the BG/NBD baseline is kept"
    auc = {k: float(table.loc[k, "roc_auc"]) for k in CHURN_SCORERS if k in table.index}
    if not auc or not all(np.isfinite(v) for v in auc.values()):
        return "bgnbd", "the test rows hold one class only: the BG/NBD baseline is kept"
    best = max(auc, key=lambda k: (auc[k], -CHURN_SCORERS.index(k)))
    if best == "bgnbd":
        reason = (
            f"the model (AUC {auc.get('model', float('nan')):.4f}) does not beat calibrated "
            f"BG/NBD (AUC {auc['bgnbd']:.4f}) on the out-of-time test: BG/NBD scores"
        )
    else:
        reason = (
            f"{best} has the highest out-of-time AUC ({auc[best]:.4f}; calibrated BG/NBD "
            f"{auc['bgnbd']:.4f})"
        )
    return best, reason
