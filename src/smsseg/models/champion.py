"""Champion / challenger for churn: the LightGBM model, calibrated BG/NBD or their blend.

A model that does not beat its simple baseline on the honest out-of-time test is not used for
scores. ``train`` scores three candidates on the test rows of :mod:`smsseg.models.validation`:

* ``bgnbd`` - BG/NBD's churn statistic (P(no purchase in the horizon), or exp(-E[purchases]) when
  that ranks the training rows better, :data:`BGNBD_STATISTICS`), Platt-calibrated on the latest
  training snapshot;
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
from sklearn.metrics import roc_auc_score

from smsseg.models.baselines import bgnbd_churn_probability
from smsseg.models.calibration import Calibrator, _logit, fit_calibrator
from smsseg.models.metrics import compare_scores

#: Candidate churn scorers, simplest first (a tie keeps the simpler one).
CHURN_SCORERS = ("bgnbd", "blend", "model")
POPULATIONS = ("buyers", "prospects", "all")
BLEND_WEIGHT = 0.5


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


#: BG/NBD gives two churn-direction statistics that rank customers differently: its
#: P(no purchase in the horizon) and exp(-E[purchases in the horizon]) (the no-purchase
#: probability of a Poisson count with BG/NBD's expected value). Which ranks better depends on
#: the data (on CDNOW the second, by 0.005-0.010 AUC), so the calibrated BG/NBD candidate uses the
#: one with the higher AUC on the training rows it is calibrated on.
BGNBD_STATISTICS = ("prob_no_purchase", "exp_neg_expected_purchases")


def bgnbd_statistic(features: pd.DataFrame, statistic: str) -> np.ndarray:
    """A BG/NBD churn-direction statistic in [0, 1] (see :data:`BGNBD_STATISTICS`)."""
    if statistic == "prob_no_purchase":
        return bgnbd_churn_probability(features)
    if statistic == "exp_neg_expected_purchases":
        expected = features["btyd_expected_purchases"].to_numpy(dtype=np.float64, na_value=np.nan)
        # customers BG/NBD cannot score (no order yet) count as certain non-buyers, as above
        return np.where(np.isnan(expected), 1.0, np.exp(-np.clip(expected, 0.0, None)))
    raise ValueError(f"BG/NBD statistic={statistic!r} must be one of {BGNBD_STATISTICS}")


@dataclass
class ChurnScorer:
    """Turns the model's probability and the BG/NBD features into the deployed churn probability.

    Parameters
    ----------
    kind : one of :data:`CHURN_SCORERS`.
    bgnbd_calibrator : Platt map of the BG/NBD statistic, fitted on training snapshots.
    blend_weight : weight of the model in the log-odds blend.
    bgnbd_statistic : which BG/NBD statistic is calibrated (:data:`BGNBD_STATISTICS`).
    """

    kind: str = "model"
    bgnbd_calibrator: Calibrator = field(default_factory=Calibrator)
    blend_weight: float = BLEND_WEIGHT
    bgnbd_statistic: str = "prob_no_purchase"

    def __post_init__(self) -> None:
        if self.kind not in CHURN_SCORERS:
            raise ValueError(f"churn scorer kind={self.kind!r} must be one of {CHURN_SCORERS}")
        if self.bgnbd_statistic not in BGNBD_STATISTICS:
            raise ValueError(
                f"bgnbd_statistic={self.bgnbd_statistic!r} must be one of {BGNBD_STATISTICS}"
            )

    def candidates(self, model_p: np.ndarray, features: pd.DataFrame) -> dict[str, np.ndarray]:
        """Every candidate's probability for the rows of ``features``."""
        bgnbd = self.bgnbd_calibrator(bgnbd_statistic(features, self.bgnbd_statistic))
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
            "bgnbd_statistic": self.bgnbd_statistic,
        }

    @classmethod
    def from_dict(cls, d: Mapping | None) -> ChurnScorer:
        """The scorer stored in a bundle; bundles from before champion/challenger use the model."""
        if not d:
            return cls()
        return cls(
            d["kind"],
            Calibrator.from_dict(d["bgnbd_calibrator"]),
            float(d["blend_weight"]),
            d.get("bgnbd_statistic", "prob_no_purchase"),
        )


def fit_bgnbd_scorer(features: pd.DataFrame, y: np.ndarray, kind: str = "model") -> ChurnScorer:
    """A :class:`ChurnScorer` whose BG/NBD statistic and Platt map are fitted on training rows.

    The statistic of :data:`BGNBD_STATISTICS` with the higher AUC on these rows is kept (ties:
    P(no purchase)); with one class only, P(no purchase) uncalibrated.
    """
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return ChurnScorer(kind)
    scores = {s: bgnbd_statistic(features, s) for s in BGNBD_STATISTICS}
    auc = {s: roc_auc_score(y, v) for s, v in scores.items()}
    best = max(BGNBD_STATISTICS, key=lambda s: (auc[s], -BGNBD_STATISTICS.index(s)))
    return ChurnScorer(kind, fit_calibrator("sigmoid", scores[best], y), bgnbd_statistic=best)


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
