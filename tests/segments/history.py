"""A hand-built history in which customers change segments between two dates.

Between BEFORE = 2025-06-01 and AFTER = 2025-06-15:

- N opted in on 2025-05-20 and buys for the first time on 2025-06-10: a new subscriber becomes a
  first-time buyer.
- C (one order in February) adds to cart on 2025-05-31 08:00 -- a cart abandoner 16 hours later
  -- and orders on 2025-06-14: now a repeat customer.
- D last ordered on 2025-02-11: 110 days before BEFORE (at risk: one order 90-180 days ago and
  none since, trend -1) and 124 days before AFTER (dormant, past the default 120 days).
- L is created on 2025-06-05: not yet a customer at BEFORE, in no segment at AFTER.
"""

from __future__ import annotations

import pandas as pd

BEFORE = "2025-06-01"
AFTER = "2025-06-15"


def history_tables() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(
        {
            "customer_id": ["N", "C", "D", "L"],
            "created_at": ["2025-05-01", "2025-01-01", "2024-06-01", "2025-06-05"],
            "country": ["US", "US", "US", None],
            "city": ["Austin", "Boston", None, None],
            "timezone": ["America/Chicago", "America/New_York", None, None],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["n1", "c1", "c2", "d1"],
            "customer_id": ["N", "C", "C", "D"],
            "ordered_at": ["2025-06-10 12:00", "2025-02-01", "2025-06-14 09:00", "2025-02-11"],
            "amount": [40.0, 30.0, 55.0, 60.0],
        }
    )
    sms = pd.DataFrame(
        {"customer_id": ["N"], "occurred_at": ["2025-05-20"], "event_type": ["opt_in"]}
    )
    events = pd.DataFrame(
        {"customer_id": ["C"], "occurred_at": ["2025-05-31 08:00"], "event_type": ["add_to_cart"]}
    )
    return {"customers": customers, "orders": orders, "sms": sms, "events": events}


def scores_for(customer_ids) -> pd.DataFrame:
    """Neutral scores (low churn, no discount signal): the moves come from behaviour alone."""
    ids = list(customer_ids)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "churn_probability": [0.1] * len(ids),
            "discount_sensitivity": [0.1] * len(ids),
            "predicted_clv": [10.0] * len(ids),
        }
    )
