"""The tier profile table: size, revenue share, mean value, CLV and churn risk per tier."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PROFILE_COLUMNS = (
    "tier",
    "rank",
    "customers",
    "share",
    "revenue",
    "revenue_share",
    "mean_monetary",
    "mean_frequency",
    "mean_recency_days",
    "mean_clv",
    "mean_churn_probability",
    "mean_value_score",
)


def _column(frame: pd.DataFrame | None, name: str, index: pd.Index) -> pd.Series:
    if frame is None or name not in frame.columns:
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.to_numeric(frame[name], errors="coerce").astype("float64").reindex(index)


def tier_profile(
    tier: pd.Series,
    features: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    tiers=None,
    names: Sequence[str] | None = None,
    value_score: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per tier, top tier first.

    Parameters
    ----------
    tier : tier name per customer, indexed by customer_id.
    features : features frame indexed by customer_id (``monetary_total``, ``frequency``,
        ``recency_days``).
    scores : optional scores indexed by customer_id (``predicted_clv``, ``churn_probability``);
        the matching means are NaN without them.
    tiers : fitted :class:`~smsseg.tiers.ValueTiers`, whose ``names_`` give the row order.
    names : the row order when ``tiers`` is not given (default: by mean monetary, descending).
    value_score : optional value score per customer (:meth:`ValueTiers.value_score`), whose
        tier mean is ``mean_value_score`` (NaN without it).

    Returns
    -------
    DataFrame with :data:`PROFILE_COLUMNS`. ``revenue`` is the historical net spend of completed
    orders (``monetary_total``); ``share`` and ``revenue_share`` are of all customers given.
    Tiers with no customer keep a row with 0 customers.
    """
    index = tier.index
    frame = pd.DataFrame(
        {
            "tier": tier.astype(str),
            "monetary": _column(features, "monetary_total", index),
            "frequency": _column(features, "frequency", index),
            "recency": _column(features, "recency_days", index),
            "clv": _column(scores, "predicted_clv", index),
            "churn": _column(scores, "churn_probability", index),
            "value": np.nan if value_score is None else value_score.reindex(index),
        },
        index=index,
    )
    grouped = frame.groupby("tier", sort=False)
    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["monetary"].sum(),
            "mean_monetary": grouped["monetary"].mean(),
            "mean_frequency": grouped["frequency"].mean(),
            "mean_recency_days": grouped["recency"].mean(),
            "mean_clv": grouped["clv"].mean(),
            "mean_churn_probability": grouped["churn"].mean(),
            "mean_value_score": grouped["value"].mean(),
        }
    )
    if tiers is not None:
        order = list(tiers.names_)
    elif names is not None:
        order = list(names)
    else:
        order = list(table.sort_values("mean_monetary", ascending=False).index)
    table = table.reindex(order)
    table["customers"] = table["customers"].fillna(0).astype("int64")
    table["revenue"] = table["revenue"].fillna(0.0)
    total_revenue = frame["monetary"].sum()
    table["share"] = table["customers"] / max(len(frame), 1)
    table["revenue_share"] = table["revenue"] / total_revenue if total_revenue > 0 else np.nan
    table["rank"] = np.arange(len(table))
    table = table.rename_axis("tier").reset_index()
    return table[list(PROFILE_COLUMNS)]
