"""Hand-built frames for the activation tests: small, readable, right answers computable by hand."""

from __future__ import annotations

import pandas as pd

from smsseg.activation.policy import SEGMENT_KEYS

AS_OF = pd.Timestamp("2025-06-30")
#: Valid mobile numbers (libphonenumber accepts them) by country.
PHONES = {"US": "+14155550{:03d}", "GB": "+447400123{:03d}", "AU": "+61412345{:03d}"}


def membership(ids, **segments) -> pd.DataFrame:
    """``is_<key>`` False for everybody except the customers listed per segment."""
    frame = pd.DataFrame({"customer_id": list(ids)})
    for key in SEGMENT_KEYS:
        frame[f"is_{key}"] = frame["customer_id"].isin(segments.get(key, ()))
    return frame


def customers(ids, country="US", region="US-CA", timezone=None, channel="sms") -> pd.DataFrame:
    """Customers with valid phones in one place; override columns afterwards as needed."""
    ids = list(ids)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "phone": [PHONES[country].format(i) for i in range(len(ids))],
            "country": country,
            "region": region,
            "timezone": timezone,
            "preferred_channel": channel,
        }
    )


def opted_in(ids, at="2025-01-01") -> pd.DataFrame:
    """An SMS history where every customer opted in at ``at``."""
    return events([(c, at, "opt_in", None) for c in ids])


def events(rows) -> pd.DataFrame:
    """SMS history from ``(customer_id, occurred_at, event_type, message_type)`` tuples."""
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "event_type", "message_type"])
    return frame.assign(
        occurred_at=pd.to_datetime(frame["occurred_at"], format="mixed"),
        campaign_id=None,
        message_type=frame["message_type"].astype(object),
    )


def write_data_dir(path, ids, cart=(), vip=(), dormant=()) -> tuple:
    """A small valid data directory (customers, orders, sms) and a segments folder beside it.

    Returns ``(data_dir, segments_dir)``. Every customer opted in; two orders each.
    """
    from pathlib import Path

    path = Path(path)
    data_dir, seg_dir = path / "data", path / "segments"
    data_dir.mkdir(parents=True)
    seg_dir.mkdir(parents=True)
    cust = customers(ids).assign(created_at=pd.Timestamp("2024-01-01"), city="San Francisco")
    cust.to_parquet(data_dir / "customers.parquet", index=False)
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}-{k}" for i in range(len(ids)) for k in range(2)],
            "customer_id": [c for c in ids for _ in range(2)],
            "ordered_at": [pd.Timestamp("2025-03-01") + pd.Timedelta(days=30 * k + i)
                           for i in range(len(ids)) for k in range(2)],
            "amount": 50.0,
            "status": "completed",
        }
    )  # fmt: skip
    orders.to_parquet(data_dir / "orders.parquet", index=False)
    opted_in(ids).to_parquet(data_dir / "sms.parquet", index=False)
    mem = membership(ids, cart_abandoner=cart, vip=vip, dormant=dormant)
    mem.to_parquet(seg_dir / "membership.parquet", index=False)
    return data_dir, seg_dir
