"""Hand-built feature and score frames for the segment rules.

``BASE`` is a customer who matches no segment: no orders, no opt-in, no browsing, unknown
location, recent engagement. Each test overrides only what its rule reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg._compat import TEXT_DTYPE

NAN = np.nan

BASE: dict[str, object] = {
    "frequency": 0,
    "monetary_total": 0.0,
    "recency_days": NAN,
    "tenure_days": 10.0,
    "trend_90d": NAN,
    "hours_since_last_order": NAN,
    "hours_since_last_view": NAN,
    "hours_since_last_cart_add": NAN,
    "open_cart_value": NAN,
    "days_since_last_engagement": 5.0,
    "dominant_category": None,
    "dominant_category_share": NAN,
    "sms_opted_in": False,
    "days_since_opt_in": NAN,
    "loyalty_member": False,
    "loyalty_tier": None,
    "points_balance": NAN,
    "points_expiring_30d": NAN,
    "days_to_points_expiry": NAN,
    "country": None,
    "region": None,
    "city": None,
    "postal_code": None,
    "store_id": None,
    "timezone": None,
}

SCORE_BASE: dict[str, object] = {"churn_probability": NAN, "discount_sensitivity": NAN}


def features_frame(*rows: dict) -> pd.DataFrame:
    """Features with the dtypes build_features gives (nullable ints / booleans, str)."""
    frame = pd.DataFrame([{**BASE, **row} for row in rows])
    frame.index = pd.Index(
        [str(r.get("customer_id", f"c{i}")) for i, r in enumerate(rows)], name="customer_id"
    )
    frame = frame.drop(columns=["customer_id"], errors="ignore")
    frame["frequency"] = frame["frequency"].astype("Int64")
    for column in ("sms_opted_in", "loyalty_member"):
        frame[column] = frame[column].astype("boolean")
    for column in (
        "dominant_category",
        "loyalty_tier",
        "country",
        "region",
        "city",
        "postal_code",
        "store_id",
        "timezone",
    ):
        # missing stays missing on pandas 2.2 too (there astype("str") writes "None")
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), None).astype(TEXT_DTYPE)
    return frame


def scores_frame(features: pd.DataFrame, **columns) -> pd.DataFrame:
    """Scores for every customer of ``features`` (column -> list or scalar)."""
    data = {**SCORE_BASE, **columns}
    return pd.DataFrame({"customer_id": features.index, **data})
