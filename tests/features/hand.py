"""A hand-built dataset whose features can be worked out with pen and paper.

The cut-off is AS_OF = 2025-07-01 00:00 UTC. Rows after it (an order of 999, a hat restock, an
opt-in, a loyalty enrolment, ledger entries, a customer created later) are planted so that any
leak shows up. The expected values in test_families.py are derived in comments there.

The loyalty ledger agrees with the loyalty snapshot at the cut-off (the ledger is what the
features read; the snapshot, taken at the export time 2025-08-02, is later than the cut-off):

- C: earn 200 expiring 2025-07-20, +400 bonus that never expires, redeem 100 → balance 500;
  the 100 redeemed came out of the expiring 200, so 100 expire on 2025-07-20 (19 days ahead).
- E: earn 40 expiring 2025-04-01 (expired, -40), earn 10 expiring 2025-09-01, +40 bonus →
  balance 50, nothing expiring within 30 days, the next expiry in 62 days.
"""

from __future__ import annotations

import pandas as pd

AS_OF = "2025-07-01"


def _frame(columns: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split())


def hand_tables() -> dict[str, pd.DataFrame]:
    customers = _frame(
        "customer_id created_at phone country region city timezone store_id preferred_channel",
        [
            (
                "A",
                "2024-01-01",
                "+14155550123",
                "US",
                "US-CA",
                "San Francisco",
                "America/Los_Angeles",
                "s1",
                "sms",
            ),
            (
                "B",
                "2025-06-20",
                "+447700900123",
                "GB",
                "London",
                "London",
                "Europe/London",
                "s2",
                "sms",
            ),
            ("C", "2024-06-01", None, "DE", "Berlin", "Berlin", "Europe/Berlin", None, "email"),
            ("D", "2025-08-01", None, "US", "US-NY", "New York", "America/New_York", "s1", "sms"),
            (
                "E",
                "2024-01-01",
                "+14155550199",
                "US",
                "US-TX",
                "Austin",
                "America/Chicago",
                "s3",
                "sms",
            ),
        ],
    )
    orders = _frame(
        "order_id customer_id ordered_at amount discount_amount promo_code status",
        [
            ("o1", "A", "2025-01-01 10:00", 100.0, 0.0, None, "completed"),
            ("o2", "A", "2025-04-01 10:00", 50.0, 10.0, "SPRING", "completed"),
            ("o3", "A", "2025-06-01 10:00", 150.0, 0.0, None, "completed"),
            ("o4", "A", "2025-06-15 10:00", 20.0, 0.0, None, "cancelled"),
            ("o5", "A", "2025-08-01 10:00", 999.0, 0.0, None, "completed"),  # future
            ("o6", "C", "2024-07-01 12:00", 80.0, 20.0, None, "completed"),
            ("o7", "E", "2024-03-01 00:00", 40.0, 0.0, None, "completed"),
            ("o8", "E", "2025-06-30 00:00", 60.0, 0.0, None, "returned"),  # returned at 20:00
            ("o9", "D", "2025-08-02 00:00", 30.0, 0.0, None, "completed"),  # future
            ("o10", "B", "2025-07-20 00:00", 45.0, 5.0, "JULY", "completed"),  # future
        ],
    )
    orders["returned_at"] = orders["order_id"].map({"o8": "2025-06-30 20:00"})
    order_items = _frame(
        "order_id product_id category quantity unit_price",
        [
            ("o1", "p1", "shoes", 1, 100.0),
            ("o2", "p2", "bags", 2, 30.0),
            ("o3", "p1", "shoes", 1, 100.0),
            ("o3", "p3", None, 1, 50.0),  # category from the products table: hats
            ("o4", "p2", "bags", 1, 20.0),
            ("o5", "p3", "hats", 1, 999.0),
            ("o6", "p2", "bags", 1, 100.0),
            ("o7", "p4", "socks", 1, 40.0),
            ("o8", "p1", "shoes", 1, 60.0),
            ("o9", "p4", "socks", 1, 30.0),
            ("o10", "p3", "hats", 1, 50.0),
        ],
    )
    events = _frame(
        "customer_id occurred_at event_type product_id category",
        [
            ("B", "2025-06-30 12:00", "product_view", "p1", None),
            ("B", "2025-06-30 13:00", "add_to_cart", "p1", None),
            ("B", "2025-06-30 14:00", "checkout_started", None, None),
            ("B", "2025-06-29 00:00", "search", None, None),  # exactly 2 days before
            ("B", "2025-06-25 00:00", "category_view", None, "bags"),
            ("B", "2025-06-01 00:00", "wishlist_add", "p2", None),  # exactly 30 days before
            ("B", "2025-07-02 00:00", "product_view", "p2", None),  # future
            ("A", "2025-06-10 00:00", "product_view", "p3", None),
            ("A", "2025-06-10 00:05", "add_to_cart", "p3", None),
            ("A", "2025-06-20 00:00", "add_to_cart", "p2", None),
            ("A", "2025-06-21 00:00", "remove_from_cart", "p2", None),
            ("E", "2025-06-30 06:00", "add_to_cart", "p1", None),
            ("E", "2025-06-30 07:00", "add_to_cart", "p1", None),
        ],
    )
    sms = _frame(
        "customer_id occurred_at event_type campaign_id message_type",
        [
            ("B", "2025-06-20 00:00", "opt_in", None, None),
            ("B", "2025-06-25 00:00", "sent", "k1", "welcome"),
            ("B", "2025-06-25 01:00", "clicked", "k1", "welcome"),
            ("B", "2025-06-28 00:00", "sent", "k2", "promo"),
            ("C", "2024-06-01 00:00", "opt_in", None, None),
            ("C", "2024-12-01 00:00", "sent", "k0", "promo"),
            ("C", "2025-01-01 00:00", "opt_out", None, None),
            ("A", "2024-01-01 00:00", "opt_in", None, None),
            ("A", "2025-03-01 00:00", "opt_out", None, None),
            ("A", "2025-03-01 00:00", "opt_in", None, None),  # same instant as the STOP
            ("A", "2025-07-10 00:00", "opt_in", None, None),  # future
        ],
    )
    loyalty = _frame(
        "customer_id enrolled_at tier points_balance points_expiring points_expire_at",
        [
            ("C", "2024-06-02", "Gold", 500.0, 100.0, "2025-07-20"),
            ("A", "2025-08-01", "Silver", 10.0, 0.0, None),  # enrolled after the cut-off
            ("E", "2024-02-01", "Silver", 50.0, 10.0, "2025-09-01"),
        ],
    )
    loyalty_events = _frame(
        "customer_id occurred_at kind points tier expires_at",
        [
            ("C", "2024-06-02", "tier_change", None, "Bronze", None),
            ("C", "2024-07-01 12:00", "earn", 200.0, None, "2025-07-20"),
            ("C", "2024-08-01", "adjust", 400.0, None, None),
            ("C", "2024-09-01", "tier_change", None, "Gold", None),
            ("C", "2025-01-10", "redeem", -100.0, None, None),
            ("C", "2025-07-20", "expire", -100.0, None, None),  # future
            ("C", "2025-08-01", "tier_change", None, "Platinum", None),  # future
            ("E", "2024-02-01", "tier_change", None, "Bronze", None),
            ("E", "2024-03-01", "earn", 40.0, None, "2025-04-01"),
            ("E", "2024-06-01", "tier_change", None, "Silver", None),
            ("E", "2024-09-01", "earn", 10.0, None, "2025-09-01"),
            ("E", "2025-04-01", "expire", -40.0, None, None),
            ("E", "2025-05-01", "adjust", 40.0, None, None),
            ("A", "2025-08-01", "tier_change", None, "Silver", None),  # future
            ("A", "2025-08-01 10:00", "earn", 10.0, None, "2026-10-01"),  # future
        ],
    )
    products = _frame(
        "product_id category in_stock restocked_at",
        [
            ("p1", "shoes", True, "2025-06-30 18:00"),
            ("p2", "bags", True, "2025-06-26 00:00"),
            ("p3", "hats", True, "2025-07-05 00:00"),  # restocked after the cut-off
            ("p4", "socks", False, None),
        ],
    )
    promotions = _frame(
        "promo_id starts_at ends_at kind discount_rate category",
        [
            ("P1", "2025-03-25", "2025-04-05", "sale", 0.2, None),
            ("P2", "2025-05-30", "2025-06-02", "flash_sale", 0.3, None),
            ("P3", "2025-06-01", "2025-06-03", "seasonal", 0.1, "shoes"),  # overlaps P2
            ("P4", "2025-07-15", "2025-07-20", "sale", 0.2, None),  # future
        ],
    )
    return {
        "customers": customers,
        "orders": orders,
        "order_items": order_items,
        "events": events,
        "sms": sms,
        "loyalty": loyalty,
        "loyalty_events": loyalty_events,
        "products": products,
        "promotions": promotions,
    }


def orders_only_tables(minimal: bool = False) -> dict[str, pd.DataFrame]:
    """customers + orders only; ``minimal`` keeps just the required columns."""
    tables = hand_tables()
    customers, orders = tables["customers"], tables["orders"]
    if minimal:
        customers = customers[["customer_id", "created_at"]]
        orders = orders[["order_id", "customer_id", "ordered_at", "amount"]]
    return {"customers": customers, "orders": orders}
