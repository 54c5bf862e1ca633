"""Per-customer reasons: the features that push a customer's score up the most.

Contributions are LightGBM's own TreeSHAP (``Booster.predict(pred_contrib=True)``) on the
log-odds scale. TreeSHAP costs far more than a prediction, so callers pass only the rows that
need reasons (the at-risk audience), never the whole customer base.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from smsseg.models.classifier import CalibratedLGBMClassifier


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


def top_reasons(model: CalibratedLGBMClassifier, X: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The ``k`` features that raise each row's score the most, with their values.

    Parameters
    ----------
    model : a fitted classifier.
    X : the rows to explain (only those: TreeSHAP is slow), with the model's feature columns.
    k : number of reasons per row; only features with a positive contribution count, so a row
        may get fewer.

    Returns
    -------
    DataFrame indexed like ``X``
        ``reason_1 .. reason_k`` (feature names, None when absent), ``contribution_1 ..``
        (log-odds), and ``reasons``, a readable string such as
        ``"recency_days=143 (+0.61); orders_90d=0 (+0.34)"``.

    Example
    -------
    >>> top_reasons(model, features.loc[at_risk_ids], k=3)  # doctest: +SKIP
    """
    if k < 1:
        raise ValueError(f"k={k} must be >= 1")
    contrib = model.contributions(X).drop(columns="bias")
    values = contrib.to_numpy()
    names = np.asarray(contrib.columns, dtype=object)
    k = min(k, values.shape[1])
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(values, order, axis=1)
    out = pd.DataFrame(index=X.index)
    text = pd.Series([""] * len(X), index=X.index, dtype=object)
    for i in range(k):
        positive = top[:, i] > 0
        feature = np.where(positive, names[order[:, i]], None)
        out[f"reason_{i + 1}"] = pd.Series(feature, index=X.index, dtype=object)
        out[f"contribution_{i + 1}"] = np.where(positive, top[:, i], np.nan)
        piece = pd.Series([None] * len(X), index=X.index, dtype=object)
        for j in np.unique(order[positive, i]):
            rows = positive & (order[:, i] == j)
            vals = X[names[j]].to_numpy(dtype=object)[rows]
            piece[rows] = [
                f"{names[j]}={_fmt(v)} ({c:+.2f})" for v, c in zip(vals, top[rows, i], strict=True)
            ]
        sep = np.where((text != "") & piece.notna(), "; ", "")
        text = text + sep + piece.fillna("")
    out["reasons"] = text.where(text != "", None)
    return out
