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

**Calibration at the as-of date.** Every calibrator is fitted on labelled snapshots, the latest
of which is one horizon before the as-of date, so its probabilities describe customers as they
were then. When customers age (a young cohort, a short history) or the base rate drifts, that map
is stale: on CDNOW the 182-day scores were under-dispersed at the as-of date (ECE 0.04-0.05)
while their ranking was right. BG/NBD, refitted on all data up to the as-of date, extrapolates
its probabilities to that date. :func:`fit_bgnbd_anchor` fits, *without labels*, a Platt map
from the champion's log-odds to BG/NBD's P(no purchase in the horizon) on the buyers of the
as-of date: the ranking stays the champion's, the level and spread become BG/NBD's.
:func:`choose_calibration` decides which calibration scores: with a strict out-of-time test,
the one with the lower Brier score there (an anchor refitted at the test snapshot against the
trained map, both judged on labels neither saw); with a customer-disjoint test the trained map
was fitted in the test's own period, so the test cannot show its staleness and the anchor is
used; the anchor is never used when BG/NBD did not converge at the as-of date.

**The anchor's level without a strict test.** The anchor takes BG/NBD's *level* (the buyers' mean
churn probability) as well as its spread. Two label-free forecasts of that level exist at the
as-of date and each has a blind spot: BG/NBD's extrapolation assumes stationary purchase rates
(blind to a seasonal peak or a trend in the coming window), the trained map carries the churn rate
of the last labelled window (stale by one horizon as customers age). With a strict out-of-time
test the Brier rule judges; without one neither error can be measured, so
:func:`level_averaged_anchor` moves the anchor's intercept until the buyers' mean is the
equal-weight average of the two levels (forecast combination: when neither forecast can be
judged, the average has a level error no larger than the worse one's and smaller whenever their
errors differ in sign; equal weights, like the blend, because a fitted weight would need the
labels we lack). The spread stays BG/NBD's. On CDNOW it moved 1997-09-30/182 days (October to
March, a first Christmas no earlier data shows) from ECE 0.034 to 0.029 (0.029-0.034 over five
other training seeds, against 0.034-0.036) and cost 0.003 / 0.006 elsewhere
(benchmarks/results/churn_anchor_level.md, which also lists the rules that did not work).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from smsseg.models.baselines import BGNBD_COLUMN, bgnbd_churn_probability
from smsseg.models.calibration import Calibrator, _logit, fit_calibrator
from smsseg.models.metrics import compare_scores
from smsseg.models.season import shifted

#: Candidate churn scorers, simplest first (a tie keeps the simpler one).
CHURN_SCORERS = ("bgnbd", "blend", "model")
POPULATIONS = ("buyers", "prospects", "all")
BLEND_WEIGHT = 0.5
#: How the deployed churn probability is calibrated: the map fitted on labelled snapshots, or
#: that map re-anchored to BG/NBD at the as-of date (see the module docstring).
CALIBRATIONS = ("trained", "bgnbd_anchor")
#: Rows the label-free anchor is fitted on at most (a random sample beyond: two coefficients).
ANCHOR_MAX_ROWS = 200_000
#: Weight of BG/NBD's level in :func:`level_averaged_anchor` (the trained map's: 1 - this).
ANCHOR_LEVEL_WEIGHT = 0.5


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return expit(z)


#: BG/NBD gives two churn-direction statistics that rank customers differently: its
#: P(no purchase in the horizon) and exp(-E[purchases in the horizon]) (the no-purchase
#: probability of a Poisson count with BG/NBD's expected value). Which ranks better depends on
#: the data (on CDNOW the second, by 0.005-0.010 AUC), so the calibrated BG/NBD candidate uses the
#: one with the higher AUC on the training rows it is calibrated on.
BGNBD_STATISTICS = ("prob_no_purchase", "exp_neg_expected_purchases")
#: The feature ``exp_neg_expected_purchases`` is computed from.
EXPECTED_PURCHASES_COLUMN = "btyd_expected_purchases"


def bgnbd_statistic(features: pd.DataFrame, statistic: str) -> np.ndarray:
    """A BG/NBD churn-direction statistic in [0, 1] (see :data:`BGNBD_STATISTICS`)."""
    if statistic == "prob_no_purchase":
        return bgnbd_churn_probability(features)
    if statistic == "exp_neg_expected_purchases":
        expected = features[EXPECTED_PURCHASES_COLUMN].to_numpy(dtype=np.float64, na_value=np.nan)
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
    calibration : :data:`CALIBRATIONS`; ``"bgnbd_anchor"`` applies ``anchor`` to the buyers'
        probabilities (prospects, whom BG/NBD cannot score, keep the trained calibration).
    anchor : Platt map fitted by :func:`fit_bgnbd_anchor` at the training as-of date.
    season_shift : log-odds added to the buyers' calibrated probability for the season of the
        scored window (:mod:`smsseg.models.season`; 0: none).
    anchor_level : how the anchor's level was set (:func:`level_averaged_anchor`; empty: BG/NBD's
        own level). A record only: ``anchor`` already holds the shifted intercept.
    bgnbd_baseline : mean of :meth:`bgnbd_log_odds` on the rows ``bgnbd_calibrator`` was fitted on:
        the reference the reasons measure BG/NBD's push from, as TreeSHAP measures the model's
        from its mean training margin (``None`` in bundles from before it, whose reasons stay the
        model's TreeSHAP, with a note).
    """

    kind: str = "model"
    bgnbd_calibrator: Calibrator = field(default_factory=Calibrator)
    blend_weight: float = BLEND_WEIGHT
    bgnbd_statistic: str = "prob_no_purchase"
    calibration: str = "trained"
    anchor: Calibrator = field(default_factory=Calibrator)
    season_shift: float = 0.0
    anchor_level: dict = field(default_factory=dict)
    bgnbd_baseline: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in CHURN_SCORERS:
            raise ValueError(f"churn scorer kind={self.kind!r} must be one of {CHURN_SCORERS}")
        if self.bgnbd_statistic not in BGNBD_STATISTICS:
            raise ValueError(
                f"bgnbd_statistic={self.bgnbd_statistic!r} must be one of {BGNBD_STATISTICS}"
            )
        if self.calibration not in CALIBRATIONS:
            raise ValueError(
                f"churn calibration={self.calibration!r} must be one of {CALIBRATIONS}"
            )

    @property
    def bgnbd_column(self) -> str:
        """The feature column :data:`bgnbd_statistic` reads for this scorer's statistic."""
        if self.bgnbd_statistic == "prob_no_purchase":
            return BGNBD_COLUMN
        return EXPECTED_PURCHASES_COLUMN

    def bgnbd_log_odds(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated BG/NBD on the log-odds scale: what the blend averages with the model."""
        return _logit(self.bgnbd_calibrator(bgnbd_statistic(features, self.bgnbd_statistic)))

    def candidates(self, model_p: np.ndarray, features: pd.DataFrame) -> dict[str, np.ndarray]:
        """Every candidate's probability for the rows of ``features``."""
        bgnbd = self.bgnbd_calibrator(bgnbd_statistic(features, self.bgnbd_statistic))
        w = self.blend_weight
        blend = _sigmoid(w * _logit(model_p) + (1 - w) * _logit(bgnbd))
        return {"bgnbd": bgnbd, "blend": blend, "model": np.asarray(model_p, dtype=np.float64)}

    def trained(self, model_p: np.ndarray, features: pd.DataFrame) -> np.ndarray:
        """The champion's probability with the calibration fitted on labelled snapshots."""
        if self.kind == "model":  # the common case needs no BG/NBD column
            return np.asarray(model_p, dtype=np.float64)
        return self.candidates(model_p, features)[self.kind]

    def __call__(self, model_p: np.ndarray, features: pd.DataFrame) -> np.ndarray:
        p = self.trained(model_p, features)
        if self.calibration == "bgnbd_anchor" or self.season_shift:
            buyers = population_masks(features["frequency"])["buyers"]
            if self.calibration == "bgnbd_anchor":
                p = np.where(buyers, self.anchor(p), p)
            p = shifted(p, self.season_shift, buyers)
        return p

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "bgnbd_calibrator": self.bgnbd_calibrator.to_dict(),
            "blend_weight": self.blend_weight,
            "bgnbd_statistic": self.bgnbd_statistic,
            "calibration": self.calibration,
            "anchor": self.anchor.to_dict(),
            "season_shift": self.season_shift,
            "anchor_level": dict(self.anchor_level),
            "bgnbd_baseline": self.bgnbd_baseline,
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
            d.get("calibration", "trained"),
            Calibrator.from_dict(d.get("anchor", {"kind": "none"})),
            float(d.get("season_shift", 0.0)),
            dict(d.get("anchor_level") or {}),
            None if d.get("bgnbd_baseline") is None else float(d["bgnbd_baseline"]),
        )


def fit_bgnbd_scorer(features: pd.DataFrame, y: np.ndarray, kind: str = "model") -> ChurnScorer:
    """A :class:`ChurnScorer` whose BG/NBD statistic and Platt map are fitted on training rows.

    The statistic of :data:`BGNBD_STATISTICS` with the higher AUC on these rows is kept (ties:
    P(no purchase)); with one class only, P(no purchase) uncalibrated. ``bgnbd_baseline`` is the
    mean calibrated BG/NBD log-odds of these rows: the reference of the reasons.
    """
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        if not len(y) or BGNBD_COLUMN not in features.columns:
            return ChurnScorer(kind)
        stat = bgnbd_statistic(features, "prob_no_purchase")
        return ChurnScorer(kind, bgnbd_baseline=float(np.mean(_logit(stat))))
    scores = {s: bgnbd_statistic(features, s) for s in BGNBD_STATISTICS}
    auc = {s: roc_auc_score(y, v) for s, v in scores.items()}
    best = max(BGNBD_STATISTICS, key=lambda s: (auc[s], -BGNBD_STATISTICS.index(s)))
    calibrator = fit_calibrator("sigmoid", scores[best], y)
    baseline = float(np.mean(_logit(calibrator(scores[best]))))
    return ChurnScorer(kind, calibrator, bgnbd_statistic=best, bgnbd_baseline=baseline)


def fit_bgnbd_anchor(p, bgnbd_p, buyers, seed: int = 0) -> Calibrator | None:
    """Platt map from ``p``'s log-odds to BG/NBD's probabilities on the buyers, without labels.

    Logistic regression with BG/NBD's P(no purchase) ``q`` as a soft label: each buyer enters
    once as a churner with weight ``q`` and once as a buyer with weight ``1 - q``, so the fit
    minimises the cross-entropy between the map and BG/NBD. Monotone, so ``p``'s ranking is kept.

    Returns ``None`` when fewer than two buyers have a BG/NBD probability or it is constant.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(bgnbd_p, dtype=np.float64)
    rows = np.flatnonzero(np.asarray(buyers, dtype=bool) & np.isfinite(q) & np.isfinite(p))
    if len(rows) < 2 or np.ptp(q[rows]) <= 0 or np.ptp(p[rows]) <= 0:
        return None
    if len(rows) > ANCHOR_MAX_ROWS:
        rows = np.random.default_rng(seed).choice(rows, ANCHOR_MAX_ROWS, replace=False)
    z = _logit(p[rows])
    q = np.clip(q[rows], 0.0, 1.0)
    X = np.concatenate([z, z])[:, None]
    y = np.repeat([1, 0], len(rows))
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(
        X, y, sample_weight=np.concatenate([q, 1 - q])
    )
    return Calibrator("sigmoid", coef=float(lr.coef_[0, 0]), intercept=float(lr.intercept_[0]))


def _anchor_rows(p, bgnbd_p, buyers) -> np.ndarray:
    """The buyers with a finite probability and BG/NBD value (the rows an anchor is fitted on)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(bgnbd_p, dtype=np.float64)
    return np.asarray(buyers, dtype=bool) & np.isfinite(p) & np.isfinite(q)


def with_mean(anchor: Calibrator, p, target: float) -> Calibrator:
    """``anchor`` with its intercept moved so that the mean of ``anchor(p)`` is ``target``.

    The slope (the spread) is kept; the mean is monotone in the intercept, so the root is unique.
    ``target`` is clipped to the range a finite intercept can reach.
    """
    z = anchor.coef * _logit(np.asarray(p, dtype=np.float64))
    target = float(np.clip(target, 1e-4, 1 - 1e-4))
    gap = lambda b: float(np.mean(expit(z + b))) - target  # noqa: E731
    lo, hi = -30.0, 30.0
    if gap(lo) > 0 or gap(hi) < 0:  # unreachable (all p at a clip bound): keep the anchor
        return anchor
    return Calibrator("sigmoid", coef=anchor.coef, intercept=float(brentq(gap, lo, hi)))


def level_averaged_anchor(
    anchor: Calibrator | None, p, bgnbd_p, buyers, weight: float = ANCHOR_LEVEL_WEIGHT
) -> tuple[Calibrator | None, dict]:
    """The anchor with the buyers' mean set to a blend of BG/NBD's level and the trained map's.

    ``p``: the champion's trained probabilities; ``bgnbd_p``: BG/NBD's P(no purchase in the
    horizon). Target: ``weight * mean(bgnbd_p) + (1 - weight) * mean(p)`` over the anchor's rows
    (module docstring: used when no strict out-of-time test can say which level is right).
    Returns the anchor (``None`` stays ``None``) and a record of the three levels for the bundle.
    """
    rows = _anchor_rows(p, bgnbd_p, buyers)
    if anchor is None or not rows.any():
        return anchor, {}
    p_rows = np.asarray(p, dtype=np.float64)[rows]
    trained = float(np.mean(p_rows))
    bgnbd = float(np.mean(np.clip(np.asarray(bgnbd_p, dtype=np.float64)[rows], 0.0, 1.0)))
    target = weight * bgnbd + (1 - weight) * trained
    shifted_anchor = with_mean(anchor, p_rows, target)
    record = {
        "rule": "average of BG/NBD's and the trained calibration's buyers' churn rate",
        "bgnbd_weight": weight,
        "bgnbd": bgnbd,
        "trained": trained,
        "target": target,
        "achieved": float(np.mean(shifted_anchor(p_rows))),
    }
    return shifted_anchor, record


def anchored(p, anchor: Calibrator | None, buyers) -> np.ndarray:
    """``p`` with ``anchor`` applied to the buyers (unchanged without an anchor)."""
    p = np.asarray(p, dtype=np.float64)
    return p if anchor is None else np.where(np.asarray(buyers, dtype=bool), anchor(p), p)


def choose_calibration(
    validation_kind: str,
    test: pd.DataFrame | None,
    bgnbd_converged: bool = True,
    test_anchor: Calibrator | None = None,
) -> tuple[str, str]:
    """``"trained"`` or ``"bgnbd_anchor"`` for the deployed churn probability, and why.

    ``test``: the test rows of :func:`smsseg.models.train.score_churn_candidates` (``churn``,
    ``population``, the champion's ``smsseg`` probability and ``bgnbd_raw``); ``test_anchor``:
    the anchor fitted on them (fitted here when not given). See the module docstring for the
    rule.
    """
    if not bgnbd_converged:
        return "trained", "BG/NBD did not converge at the as-of date: the trained calibration"
    if validation_kind != "out_of_time" or test is None or not len(test):
        return "bgnbd_anchor", (
            "no strict out-of-time test can show whether the calibration fitted one horizon "
            "ago still holds: re-anchored to BG/NBD at the as-of date"
        )
    buyers = (test["population"] == "buyers").to_numpy()
    y = test["churn"].to_numpy(dtype=np.float64)[buyers]
    p = test["smsseg"].to_numpy(dtype=np.float64)
    anchor = test_anchor or fit_bgnbd_anchor(
        p, test["bgnbd_raw"].to_numpy(dtype=np.float64), buyers
    )
    if anchor is None or len(np.unique(y)) < 2:
        return "trained", "no BG/NBD anchor could be fitted at the test snapshot"
    trained = float(np.mean((p[buyers] - y) ** 2))
    anchor_brier = float(np.mean((anchor(p[buyers]) - y) ** 2))
    if anchor_brier < trained:
        return "bgnbd_anchor", (
            f"re-anchored to BG/NBD at the as-of date: out-of-time Brier {anchor_brier:.4f} "
            f"against {trained:.4f} for the trained calibration"
        )
    return "trained", (
        f"trained calibration: out-of-time Brier {trained:.4f} against {anchor_brier:.4f} "
        "re-anchored to BG/NBD"
    )


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
