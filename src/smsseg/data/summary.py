"""A short, segment-minded summary of a dataset (used by ``make demo`` and ``smsseg summary``)."""

from __future__ import annotations

import pandas as pd

from smsseg.data.load import Dataset


def summarize(data: Dataset) -> dict[str, object]:
    """Headline numbers of a dataset, as of its last order (a description, not a feature).

    Returns a dict with ``tables`` (name → rows), ``date_range`` (first and last order),
    ``customers``, ``orders_per_customer``, ``buyers``, ``repeat_buyers``, ``sms_opt_in_rate``
    (share of customers whose latest consent event is an opt-in), ``loyalty_members`` and
    ``countries`` and ``segment_counts`` (a few segment-minded counts as of the last order).
    """
    q = data.con.execute
    first, last = q("SELECT MIN(ordered_at), MAX(ordered_at) FROM orders").fetchall()[0]
    n_customers = q("SELECT COUNT(*) FROM customers").fetchall()[0][0]
    per_customer = q(
        """SELECT COUNT(*) FILTER (WHERE n >= 1), COUNT(*) FILTER (WHERE n >= 2), COALESCE(SUM(n), 0)
           FROM (SELECT customer_id, COUNT(*) AS n FROM orders WHERE status = 'completed' GROUP BY 1)"""
    ).fetchall()[0]
    opted_in = q(
        """SELECT COUNT(*) FROM (
             SELECT customer_id, arg_max(event_type, occurred_at) AS last_consent FROM sms
             WHERE event_type IN ('opt_in', 'opt_out') GROUP BY 1) WHERE last_consent = 'opt_in'"""
    ).fetchall()[0][0]
    segment_counts = _segment_counts(data, last) if last is not None else {}
    return {
        "tables": data.row_counts,
        "date_range": (pd.Timestamp(first), pd.Timestamp(last)),
        "customers": n_customers,
        "buyers": per_customer[0],
        "repeat_buyers": per_customer[1],
        "orders_per_customer": per_customer[2] / n_customers if n_customers else 0.0,
        "sms_opt_in_rate": opted_in / n_customers if n_customers and data.has("sms") else None,
        "loyalty_members": q("SELECT COUNT(*) FROM loyalty").fetchall()[0][0]
        if data.has("loyalty")
        else None,
        "countries": q("SELECT COUNT(DISTINCT country) FROM customers").fetchall()[0][0],
        "segment_counts": segment_counts,
    }


def _segment_counts(data: Dataset, as_of) -> dict[str, int]:
    """Rough, rule-of-thumb counts that hint at the segments (the real rules live in segments)."""
    as_of = pd.Timestamp(as_of).strftime("%Y-%m-%d %H:%M:%S")
    q = data.con.execute
    counts = {
        "no order in the last 180 days": q(
            f"""SELECT COUNT(*) FROM (SELECT customer_id FROM orders WHERE status = 'completed'
                GROUP BY 1 HAVING MAX(ordered_at) < TIMESTAMP '{as_of}' - INTERVAL 180 DAY)"""
        ).fetchall()[0][0],
    }
    if data.has("events"):
        counts["cart adds in the last 48 h"] = q(
            f"""SELECT COUNT(DISTINCT customer_id) FROM events WHERE event_type = 'add_to_cart'
                AND occurred_at > TIMESTAMP '{as_of}' - INTERVAL 48 HOUR"""
        ).fetchall()[0][0]
    if data.has("sms"):
        counts["SMS opt-ins in the last 30 days"] = q(
            f"""SELECT COUNT(DISTINCT customer_id) FROM sms WHERE event_type = 'opt_in'
                AND occurred_at > TIMESTAMP '{as_of}' - INTERVAL 30 DAY"""
        ).fetchall()[0][0]
    return counts
