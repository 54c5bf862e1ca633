"""A hand-built dataset whose campaign metrics are worked out by hand in test_campaign.py."""

from __future__ import annotations

import pandas as pd

from smsseg.data import load_frames


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Campaign A (sent 2024-03-01 10:00 to c1–c4) and B (2024-03-05 10:00 to c1, c5)."""
    customers = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(1, 7)], "created_at": ["2023-01-01"] * 6}
    )
    orders = pd.DataFrame(
        [
            ("o1", "c1", "2024-01-15 12:00", 40.0, 0.0, "completed"),  # before A, within 90 days
            ("o2", "c1", "2024-03-03 12:00", 60.0, 0.0, "completed"),  # A (last touch)
            ("o3", "c1", "2024-03-06 12:00", 30.0, 5.0, "completed"),  # B (latest send before it)
            ("o4", "c2", "2024-03-04 12:00", 100.0, 10.0, "completed"),  # A, discounted
            ("o5", "c2", "2023-06-01 12:00", 20.0, 0.0, "completed"),  # long ago: c2 is lapsed
            ("o6", "c3", "2024-03-20 12:00", 50.0, 0.0, "completed"),  # 19 days after A: not A's
            ("o7", "c4", "2024-03-02 12:00", 80.0, 0.0, "cancelled"),  # never counts
            ("o8", "c6", "2024-03-02 12:00", 10.0, 0.0, "completed"),  # c6 is never sent
            ("o9", "c3", "2024-06-15 12:00", 25.0, 0.0, "completed"),  # beyond the 90-day horizon
            ("o10", "c6", "2024-07-01 12:00", 5.0, 0.0, "completed"),  # sets the data end
        ],
        columns=["order_id", "customer_id", "ordered_at", "amount", "discount_amount", "status"],
    )
    sms = [(f"c{i}", "2024-01-01 08:00", "opt_in", None) for i in range(1, 7)]
    sms += [(f"c{i}", "2024-03-01 10:00", "sent", "A") for i in range(1, 5)]
    sms += [(f"c{i}", "2024-03-01 10:01", "delivered", "A") for i in range(1, 4)]
    sms += [
        ("c1", "2024-03-01 11:00", "clicked", "A"),
        ("c2", "2024-03-01 12:00", "clicked", "A"),
        ("c3", "2024-03-02 09:00", "opt_out", None),  # within A's window
        ("c1", "2024-03-05 10:00", "sent", "B"),
        ("c5", "2024-03-05 10:00", "sent", "B"),
        ("c1", "2024-03-05 10:01", "delivered", "B"),
        ("c5", "2024-03-05 10:01", "delivered", "B"),
        ("c5", "2024-03-05 18:00", "clicked", "B"),
        ("c5", "2024-03-10 09:00", "opt_out", None),  # within B's window
    ]
    sms = pd.DataFrame(sms, columns=["customer_id", "occurred_at", "event_type", "campaign_id"])
    assignments = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "campaign_id": ["A"] * 4,
            "variant": ["treatment", "treatment", "control", "control"],
            "assigned_at": ["2024-03-01 09:00"] * 4,
        }
    )
    return {"customers": customers, "orders": orders, "sms": sms, "assignments": assignments}


def tiny_dataset():
    return load_frames(tiny_tables(), now=pd.Timestamp("2025-01-01").to_pydatetime())
