"""The value features tiers are clustered on, built from a features frame and a scores frame.

Money and counts are heavy-tailed, so each is taken on a ``log1p`` scale before clustering; this
keeps a handful of very large spenders from owning a cluster of their own. Missing values are
kept (NaN): a customer who never ordered has no recency, and :class:`~smsseg.tiers.ValueTiers`
imputes the *worst* value seen in ``fit`` for it (see ``VALUE_WEIGHTS``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg.errors import SmssegError

#: Value features and the direction of value: +1 means "higher is more valuable", -1 "lower is
#: more valuable". The weights order the clusters (a cluster's value score is its standardized
#: centre dotted with these weights) and tell the imputer which end is "worst".
VALUE_WEIGHTS: dict[str, float] = {
    "log_monetary": 1.0,
    "log_frequency": 1.0,
    "log_recency": -1.0,
    "log_clv": 1.0,
}

#: Features-frame columns the value features are computed from.
REQUIRED_FEATURES = ("monetary_total", "frequency", "recency_days")


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as float64 with pandas' NA turned into NaN."""
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def value_matrix(features: pd.DataFrame, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-customer value features on a log scale, indexed like ``features``.

    Parameters
    ----------
    features : frame indexed by customer_id with ``monetary_total``, ``frequency`` and
        ``recency_days`` (from :func:`smsseg.features.build_features`).
    scores : optional frame indexed by customer_id with ``predicted_clv``; the CLV column is
        used only when at least one customer has a value.

    Returns
    -------
    DataFrame with ``log_monetary``, ``log_frequency``, ``log_recency`` and, when known,
    ``log_clv``. NaN where the input is unknown (e.g. recency of a customer who never ordered).

    Raises
    ------
    SmssegError
        If a required column is missing.

    Example
    -------
    >>> f = pd.DataFrame({"monetary_total": [0.0, 99.0], "frequency": [0, 1],
    ...                   "recency_days": [np.nan, 3.0]}, index=["a", "b"])
    >>> value_matrix(f).round(2).to_dict("list")["log_frequency"]
    [0.0, 0.69]
    """
    missing = [c for c in REQUIRED_FEATURES if c not in features.columns]
    if missing:
        raise SmssegError(
            f"the features frame lacks {missing}, which value tiers are computed from "
            f"(needed: {list(REQUIRED_FEATURES)})"
        )
    out = pd.DataFrame(index=features.index)
    # clip: a negative amount (refund-heavy customer) has no meaningful log and no value
    out["log_monetary"] = np.log1p(_numeric(features, "monetary_total").clip(lower=0))
    out["log_frequency"] = np.log1p(_numeric(features, "frequency").clip(lower=0))
    out["log_recency"] = np.log1p(_numeric(features, "recency_days").clip(lower=0))
    if scores is not None and "predicted_clv" in scores.columns:
        clv = _numeric(scores, "predicted_clv").reindex(features.index)
        if clv.notna().any():
            out["log_clv"] = np.log1p(clv.clip(lower=0))
    return out
