"""Per-customer reasons: the features that push a customer's churn score up the most.

Contributions are LightGBM's own exact TreeSHAP (``Booster.predict(pred_contrib=True)``) on the
log-odds scale: the reasons are exact, not an approximation (an approximation - Saabas
path attributions - agreed with exact TreeSHAP on the top-3 drivers of only 43 % of customers).
What made reasons slow was never TreeSHAP on a compact booster but what surrounded it: the
contributions went through a DataFrame and every reason string was built column by column over
all rows. Here TreeSHAP runs in batches of :data:`BATCH_ROWS` rows straight on the model's
float matrix, only the top ``k`` of each row are kept (``argpartition``), and the strings are
built only for the rows and features that appear in a reason.

**Reasons explain the deployed scorer.** When the champion of training is not the model but
calibrated BG/NBD or the blend (:mod:`smsseg.models.champion`), the reasons decompose *that*
score's log-odds (:func:`scorer_contributions`): BG/NBD reads one feature column, so its push
above its mean on the training rows (``ChurnScorer.bgnbd_baseline``) is that column's
contribution; the blend weighs it with the model's TreeSHAP values, carried to the calibrated
log-odds the blend averages. The contributions add up exactly to the score's log-odds minus the
reference (the blend of both means). The as-of re-anchoring and the season shift that follow
are increasing maps of that score: they change no customer's order of reasons.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from smsseg.models._frame import ColumnMismatchError
from smsseg.models.champion import ChurnScorer
from smsseg.models.classifier import CalibratedLGBMClassifier

#: Rows per TreeSHAP call: a batch's contributions (rows x features float64) stay near 50 MB
#: with ~120 features, so explaining a million customers needs no more memory than a thousand.
BATCH_ROWS = 50_000


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def treeshap(model: CalibratedLGBMClassifier, M: np.ndarray) -> np.ndarray:
    """Exact TreeSHAP of the rows of ``M``: ``(n, n_features + 1)``, the bias (mean margin) last."""
    return model.booster_.predict(M, pred_contrib=True, num_iteration=model.best_iteration_)


def reason_columns(model: CalibratedLGBMClassifier, scorer: ChurnScorer | None = None) -> list[str]:
    """The columns that can be reasons: the model's features, then the BG/NBD column a BG/NBD or
    blended scorer reads when the model does not read it itself."""
    columns = [str(c) for c in model.feature_names_in_]
    if scorer is not None and scorer.kind != "model" and scorer.bgnbd_column not in columns:
        columns.append(scorer.bgnbd_column)
    return columns


def _secant_slope(g, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``(g(upper) - g(lower)) / (upper - lower)``; the derivative where the two meet.

    Scaling a row's TreeSHAP values (which add up to ``upper - lower``: the margin minus the
    bias) by it makes them add up to ``g(upper) - g(lower)`` exactly, in the same order. For a
    Platt or no calibration ``g`` is linear and the slope is its coefficient.
    """
    step = 1e-3
    near = np.abs(upper - lower) < 1e-9
    wide = np.where(near, lower - step, lower)
    high = np.where(near, upper + step, upper)
    return (g(high) - g(wide)) / (high - wide)


def scorer_contributions(
    model: CalibratedLGBMClassifier,
    scorer: ChurnScorer,
    M: np.ndarray,
    bgnbd_log_odds: np.ndarray,
    bgnbd_baseline: float,
) -> np.ndarray:
    """Each :func:`reason_columns` column's contribution to the scorer's log-odds, per row of ``M``.

    * ``model``: TreeSHAP (on the booster's margin, as ever);
    * ``bgnbd``: ``bgnbd_log_odds - bgnbd_baseline`` on the BG/NBD column, nothing elsewhere;
    * ``blend`` (weight ``w`` on the model): ``w`` x the TreeSHAP values carried to the calibrated
      log-odds (:func:`_secant_slope`), plus ``1 - w`` x the BG/NBD part.

    A blend's contributions add up to ``logit(blend) - (w * g(bias) + (1 - w) * bgnbd_baseline)``,
    with ``g`` the model's calibrated log-odds of a margin (``model.log_odds_of_margin``).
    """
    n_features = M.shape[1]
    if scorer.kind == "model":
        return treeshap(model, M)[:, :n_features]
    columns = reason_columns(model, scorer)
    out = np.zeros((len(M), len(columns)))
    w = scorer.blend_weight if scorer.kind == "blend" else 0.0
    if w > 0:
        phi = treeshap(model, M)
        slope = _secant_slope(model.log_odds_of_margin, phi[:, -1], phi.sum(axis=1))
        out[:, :n_features] = (w * slope)[:, None] * phi[:, :n_features]
    out[:, columns.index(scorer.bgnbd_column)] += (1 - w) * (bgnbd_log_odds - bgnbd_baseline)
    return out


def _top_k(contrib: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column index and value of each row's ``k`` largest entries, largest first (ties: column
    order, as a stable sort would)."""
    k = min(k, contrib.shape[1])
    part = (
        np.argpartition(-contrib, k - 1, axis=1)[:, :k]
        if k < contrib.shape[1]
        else np.broadcast_to(np.arange(contrib.shape[1]), contrib.shape)
    )
    values = np.take_along_axis(contrib, part, axis=1)
    rank = np.lexsort((part, -values), axis=1)  # by value descending, then column
    return np.take_along_axis(part, rank, axis=1), np.take_along_axis(values, rank, axis=1)


def top_contributions(
    model: CalibratedLGBMClassifier,
    M: np.ndarray,
    k: int,
    contributions: Callable[[slice], np.ndarray] | None = None,
    n_columns: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Column index and contribution of each row's ``k`` largest contributions.

    ``M`` is a matrix made by ``model.prepare``. ``contributions`` maps a batch of rows (a
    slice) to their ``n_columns`` contributions; by default the model's TreeSHAP values (one per
    feature). Returns two ``(n, min(k, n_columns))`` arrays, largest first (ties broken by column
    order, as a stable sort would).
    """
    if contributions is None:
        n_columns = M.shape[1]

        def contributions(rows: slice) -> np.ndarray:
            return treeshap(model, M[rows])[:, :n_columns]  # the last column is the bias

    n, width = len(M), min(k, n_columns)
    order = np.empty((n, width), dtype=np.int64)
    top = np.empty((n, width), dtype=np.float64)
    for start in range(0, n, BATCH_ROWS):
        rows = slice(start, min(start + BATCH_ROWS, n))
        order[rows], top[rows] = _top_k(contributions(rows), k)
    return order, top


def _pieces(X: pd.DataFrame, names: np.ndarray, order: np.ndarray, top: np.ndarray) -> np.ndarray:
    """``"name=value (+0.61)"`` where ``top > 0``, None elsewhere (one reason rank)."""
    out = np.full(len(order), None, dtype=object)
    positive = np.flatnonzero(top > 0)
    for j in np.unique(order[positive]):
        rows = positive[order[positive] == j]
        values = X[names[j]].iloc[rows].to_numpy(dtype=object)
        out[rows] = [
            f"{names[j]}={_fmt(v)} ({c:+.2f})" for v, c in zip(values, top[rows], strict=True)
        ]
    return out


def top_reasons(
    model: CalibratedLGBMClassifier,
    X: pd.DataFrame,
    k: int = 3,
    scorer: ChurnScorer | None = None,
    bgnbd_baseline: float | None = None,
) -> pd.DataFrame:
    """The ``k`` features that raise each row's score the most, with their values.

    Parameters
    ----------
    model : a fitted classifier.
    X : the rows to explain, with the model's feature columns (and, for a BG/NBD or blended
        ``scorer``, its BG/NBD column: :func:`reason_columns`).
    k : number of reasons per row; only features with a positive contribution count, so a row
        may get fewer.
    scorer : the deployed churn scorer whose score the reasons explain (default: the model's).
    bgnbd_baseline : BG/NBD's reference log-odds (default ``scorer.bgnbd_baseline``).

    Returns
    -------
    DataFrame indexed like ``X``
        ``reason_1 .. reason_k`` (feature names, None when absent), ``contribution_1 ..``
        (log-odds: exact TreeSHAP for the model, :func:`scorer_contributions` for the other
        scorers), and ``reasons``, a readable string such as
        ``"recency_days=143 (+0.61); orders_90d=0 (+0.34)"``.

    Example
    -------
    >>> top_reasons(model, features.loc[at_risk_ids], k=3)  # doctest: +SKIP
    """
    if k < 1:
        raise ValueError(f"k={k} must be >= 1")
    names = np.asarray(reason_columns(model, scorer), dtype=object)
    extra = list(names[len(model.feature_names_in_) :])  # the BG/NBD column, if the model lacks it
    if extra and extra[0] not in X.columns:
        raise ColumnMismatchError(
            f"the {scorer.kind} churn scorer reads the feature column {extra[0]!r}, which X lacks"
        )
    M = model.prepare(X.drop(columns=extra))
    contributions = None
    if scorer is not None and scorer.kind != "model":
        log_odds = scorer.bgnbd_log_odds(X)
        if bgnbd_baseline is None:
            bgnbd_baseline = scorer.bgnbd_baseline
        if bgnbd_baseline is None:
            raise ValueError(
                f"the {scorer.kind} scorer has no bgnbd_baseline (a bundle from before reasons "
                "explained it): pass bgnbd_baseline, or retrain"
            )

        def contributions(rows: slice) -> np.ndarray:
            return scorer_contributions(model, scorer, M[rows], log_odds[rows], bgnbd_baseline)

    order, top = top_contributions(model, M, k, contributions, len(names))
    out = pd.DataFrame(index=X.index)
    text = np.full(len(X), None, dtype=object)
    for i in range(order.shape[1]):
        positive = top[:, i] > 0
        out[f"reason_{i + 1}"] = pd.Series(
            np.where(positive, names[order[:, i]], None), index=X.index, dtype=object
        )
        out[f"contribution_{i + 1}"] = np.where(positive, top[:, i], np.nan)
        piece = _pieces(X, names, order[:, i], top[:, i])
        # contributions are sorted, so a row's positive ones come first: rank i extends rank i-1
        if i == 0:
            text = piece
        else:
            text[positive] = text[positive] + "; " + piece[positive]
    out["reasons"] = pd.Series(text, index=X.index, dtype=object)
    return out
