"""Random customer histories (seeded numpy, or hypothesis strategies) and point-in-time truncation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from smsseg.data.contract import (
    EVENT_TYPES,
    EXPORT_TIME_COLUMNS,
    LOYALTY_EVENT_KINDS,
    SMS_EVENT_TYPES,
    TABLES,
)

START = pd.Timestamp("2024-01-01")
TIERS = ("Bronze", "Silver", "Gold")
CATEGORIES = ("shoes", "bags", "hats", "socks", "coats")
PRODUCTS = tuple(f"p{i}" for i in range(8))


def _stamp(minutes) -> pd.Series:
    return START + pd.to_timedelta(np.asarray(minutes, dtype="int64"), unit="min")


def _returned_minute(order) -> float:
    """When a returned order was returned: hours to weeks later; NaN (unknown) for one in two.

    A function of the order's own draws, so hypothesis shrinks it with the order.
    """
    if order[5] % 8 == 7:
        return np.nan
    return order[1] + 60 * (1 + (7 * order[1] + int(order[2])) % 700)


def _ledger_frame(ledger, cid) -> pd.DataFrame:
    """``loyalty_events`` from (customer, minute, kind, points, tier, expiry minutes) tuples.

    Points get the sign their kind asks for (an adjustment keeps the drawn sign); only earned
    points expire, and only when an expiry is drawn.
    """
    kinds = [LOYALTY_EVENT_KINDS[e[2] % len(LOYALTY_EVENT_KINDS)] for e in ledger]
    sign = {"earn": 1.0, "redeem": -1.0, "expire": -1.0, "adjust": 1.0}
    rows = list(zip(kinds, ledger, strict=True))
    points = [None if k == "tier_change" else sign[k] * float(e[3]) for k, e in rows]
    expires = [e[1] + e[5] if k == "earn" and e[5] is not None else np.nan for k, e in rows]
    tiers = [TIERS[e[4] % 3] if k == "tier_change" else None for k, e in rows]
    return pd.DataFrame(
        {
            "customer_id": [cid[e[0] % len(cid)] for e in ledger],
            "occurred_at": _stamp([e[1] for e in ledger]),
            "kind": kinds,
            "points": points,
            "tier": tiers,
            "expires_at": START + pd.to_timedelta(np.asarray(expires, dtype=float), unit="min"),
        },
        columns=["customer_id", "occurred_at", "kind", "points", "tier", "expires_at"],
    )


def tables_from_rows(
    customers, orders, items, events, sms, loyalty, restocks, promos, ledger=()
) -> dict[str, pd.DataFrame]:
    """Contract tables from plain tuples of (customer index, minute offset, ...).

    ``ledger`` holds (customer, minute, kind, points, tier, expiry offset or None) tuples for
    ``loyalty_events``; without any, the table is left out.
    """
    cid = [f"c{i:03d}" for i in range(len(customers))]
    out = {
        "customers": pd.DataFrame(
            {
                "customer_id": cid,
                "created_at": _stamp(customers),
                "phone": ["+1415555" + f"{i:04d}" for i in range(len(cid))],
                "country": ["US", "GB"] * (len(cid) // 2) + ["US"] * (len(cid) % 2),
                "region": [f"R{i % 3}" for i in range(len(cid))],
                "city": [f"City{i % 4}" for i in range(len(cid))],
                "postal_code": [f"{10000 + i}" for i in range(len(cid))],
                "store_id": [f"s{i % 2}" for i in range(len(cid))],
                "timezone": ["America/New_York", "Europe/London"] * (len(cid) // 2)
                + ["America/New_York"] * (len(cid) % 2),
                "preferred_channel": [("sms", "email")[i % 2] for i in range(len(cid))],
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": [f"o{i}" for i in range(len(orders))],
                "customer_id": [cid[o[0] % len(cid)] for o in orders],
                "ordered_at": _stamp([o[1] for o in orders]),
                "amount": [float(o[2]) for o in orders],
                "discount_amount": [float(o[3]) for o in orders],
                "promo_code": ["CODE" if o[4] else None for o in orders],
                "status": [
                    ("completed", "completed", "cancelled", "returned")[o[5] % 4] for o in orders
                ],
                "returned_at": START
                + pd.to_timedelta(
                    np.array(
                        [_returned_minute(o) if o[5] % 4 == 3 else np.nan for o in orders],
                        dtype=float,
                    ),
                    unit="min",
                ),
            },
            columns=[
                "order_id",
                "customer_id",
                "ordered_at",
                "amount",
                "discount_amount",
                "promo_code",
                "status",
                "returned_at",
            ],
        ),
    }
    out["order_items"] = pd.DataFrame(
        {
            "order_id": [f"o{i[0] % max(len(orders), 1)}" for i in items if orders],
            "product_id": [PRODUCTS[i[1] % len(PRODUCTS)] for i in items if orders],
            "category": [
                CATEGORIES[i[1] % len(CATEGORIES)] if i[2] else None for i in items if orders
            ],
            "quantity": [int(i[3]) for i in items if orders],
            "unit_price": [float(i[4]) for i in items if orders],
        },
        columns=["order_id", "product_id", "category", "quantity", "unit_price"],
    )
    out["events"] = pd.DataFrame(
        {
            "customer_id": [cid[e[0] % len(cid)] for e in events],
            "occurred_at": _stamp([e[1] for e in events]),
            "event_type": [EVENT_TYPES[e[2] % len(EVENT_TYPES)] for e in events],
            "product_id": [PRODUCTS[e[3] % len(PRODUCTS)] for e in events],
            "category": [None] * len(events),
        },
        columns=["customer_id", "occurred_at", "event_type", "product_id", "category"],
    )
    out["sms"] = pd.DataFrame(
        {
            "customer_id": [cid[s[0] % len(cid)] for s in sms],
            "occurred_at": _stamp([s[1] for s in sms]),
            "event_type": [SMS_EVENT_TYPES[s[2] % len(SMS_EVENT_TYPES)] for s in sms],
        },
        columns=["customer_id", "occurred_at", "event_type"],
    )
    members = sorted({m[0] % len(cid): m for m in loyalty}.values())
    out["loyalty"] = pd.DataFrame(
        {
            "customer_id": [cid[m[0] % len(cid)] for m in members],
            "enrolled_at": _stamp([m[1] for m in members]),
            "tier": [("Bronze", "Silver", "Gold")[m[2] % 3] for m in members],
            "points_balance": [float(m[3]) for m in members],
            "points_expiring": [float(m[3]) / 2 for m in members],
            "points_expire_at": _stamp([m[1] + m[4] for m in members]),
        },
        columns=[
            "customer_id",
            "enrolled_at",
            "tier",
            "points_balance",
            "points_expiring",
            "points_expire_at",
        ],
    )
    if ledger:
        out["loyalty_events"] = _ledger_frame(ledger, cid)
    out["products"] = pd.DataFrame(
        {
            "product_id": list(PRODUCTS),
            "category": [CATEGORIES[i % len(CATEGORIES)] for i in range(len(PRODUCTS))],
            "in_stock": [True] * len(PRODUCTS),
            "restocked_at": [
                START + pd.Timedelta(minutes=int(restocks[i])) if i < len(restocks) else pd.NaT
                for i in range(len(PRODUCTS))
            ],
        }
    )
    out["promotions"] = pd.DataFrame(
        {
            "promo_id": [f"P{i}" for i in range(len(promos))],
            "starts_at": _stamp([p[0] for p in promos]),
            "ends_at": _stamp([p[0] + p[1] for p in promos]),
        },
        columns=["promo_id", "starts_at", "ends_at"],
    )
    return out


def random_tables(seed: int, n_customers: int = 60, days: int = 500) -> dict[str, pd.DataFrame]:
    """A seeded random dataset with every table (a few hundred rows)."""
    rng = np.random.default_rng(seed)
    span = days * 24 * 60
    ints = lambda n, hi: rng.integers(0, hi, n)  # noqa: E731
    n_orders, n_events, n_sms = 6 * n_customers, 10 * n_customers, 5 * n_customers
    customers = np.sort(ints(n_customers, span // 2))
    orders = list(
        zip(
            ints(n_orders, n_customers),
            span // 4 + ints(n_orders, 3 * span // 4),
            rng.gamma(2, 30, n_orders).round(2),
            ints(n_orders, 3) * 5.0,
            ints(n_orders, 4) == 0,
            ints(n_orders, 7),
            strict=True,
        )
    )
    items = list(
        zip(
            range(n_orders),
            ints(n_orders, 8),
            ints(n_orders, 5) > 0,
            1 + ints(n_orders, 3),
            rng.gamma(2, 10, n_orders).round(2),
            strict=True,
        )
    )
    events = list(
        zip(
            ints(n_events, n_customers),
            span // 4 + ints(n_events, 3 * span // 4),
            ints(n_events, 7),
            ints(n_events, 8),
            strict=True,
        )
    )
    sms = list(zip(ints(n_sms, n_customers), ints(n_sms, span), ints(n_sms, 6), strict=True))
    loyalty = list(
        zip(
            ints(n_customers // 3, n_customers),
            ints(n_customers // 3, span),
            ints(n_customers // 3, 3),
            ints(n_customers // 3, 1000),
            ints(n_customers // 3, span),
            strict=True,
        )
    )
    restocks = list(ints(6, span))
    promos = list(zip(ints(5, span), 1440 + ints(5, 20_000), strict=True))
    n_ledger = 3 * n_customers
    ledger = list(
        zip(
            ints(n_ledger, n_customers),
            ints(n_ledger, span),
            ints(n_ledger, len(LOYALTY_EVENT_KINDS)),
            1 + ints(n_ledger, 300),
            ints(n_ledger, 3),
            [None if x < 100_000 else int(x) for x in ints(n_ledger, 600_000)],
            strict=True,
        )
    )
    return tables_from_rows(
        customers, orders, items, events, sms, loyalty, restocks, promos, ledger
    )


@st.composite
def histories(draw, days: int = 120):
    """Small random histories for hypothesis, and a cut-off at or after the first sign-up."""
    span = days * 24 * 60
    minute = st.integers(0, span)
    small = st.integers(0, 50)
    customers = draw(st.lists(minute, min_size=1, max_size=5))
    orders = draw(
        st.lists(
            st.tuples(
                small, minute, st.integers(0, 200), st.sampled_from([0, 5]), st.booleans(), small
            ),
            max_size=12,
        )
    )
    items = draw(
        st.lists(
            st.tuples(small, small, st.booleans(), st.integers(1, 3), st.integers(1, 90)),
            max_size=12,
        )
    )
    events = draw(st.lists(st.tuples(small, minute, small, small), max_size=15))
    sms = draw(st.lists(st.tuples(small, minute, small), max_size=10))
    loyalty = draw(
        st.lists(st.tuples(small, minute, small, st.integers(0, 500), minute), max_size=3)
    )
    restocks = draw(st.lists(minute, max_size=4))
    promos = draw(st.lists(st.tuples(minute, st.integers(60, 20_000)), max_size=3))
    ledger = draw(
        st.lists(
            st.tuples(
                small,
                minute,
                small,
                st.integers(0, 300),
                small,
                st.one_of(st.none(), st.integers(0, 2 * span)),
            ),
            max_size=10,
        )
    )
    as_of = START + pd.Timedelta(minutes=min(customers) + draw(st.integers(0, span)))
    tables = tables_from_rows(
        customers, orders, items, events, sms, loyalty, restocks, promos, ledger
    )
    return tables, as_of


def export_time(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The directory's export time, as the contract defines it: its latest non-future timestamp."""
    latest = [
        pd.to_datetime(tables[name][column], format="ISO8601").max()
        for name, column in EXPORT_TIME_COLUMNS
        if name in tables and column in tables[name]
    ]
    return max((t for t in latest if pd.notna(t)), default=pd.NaT)


def truncate(tables: dict[str, pd.DataFrame], as_of) -> dict[str, pd.DataFrame]:
    """The data as it stood at ``as_of``: every row dated after it is dropped.

    Later facts about kept rows are undone: an order returned after ``as_of`` is completed with
    no return date, a product restocked after ``as_of`` stays in the catalogue with its restock
    date unknown. Snapshot columns (loyalty tier and points, ``in_stock``) have no history to
    undo: they keep their values and are dated by ``snapshot_at``, set to the full data's export
    time when missing (the time they describe; the truncated copy's own latest timestamp would
    claim them for ``as_of``). Profiles and order statuses without a return date are kept as
    recorded.
    """
    as_of = pd.Timestamp(as_of)
    when = lambda frame, col: pd.to_datetime(frame[col], format="ISO8601")  # noqa: E731
    exported = export_time(tables)
    out = {}
    for name, frame in tables.items():
        column = TABLES[name].time_column
        out[name] = frame[(when(frame, column) <= as_of).to_numpy()] if column else frame
        if TABLES[name].snapshot_columns and "snapshot_at" not in frame:
            out[name] = out[name].assign(snapshot_at=exported)
    kept = set(out["orders"]["order_id"])
    if "order_items" in tables:
        out["order_items"] = tables["order_items"][tables["order_items"]["order_id"].isin(kept)]
    if "returned_at" in out["orders"]:
        orders = out["orders"].copy()
        later = (when(orders, "returned_at") > as_of).to_numpy()
        orders.loc[later, "status"] = "completed"
        orders["returned_at"] = when(orders, "returned_at").mask(later)
        out["orders"] = orders
    if "products" in tables:
        products = out["products"].copy()
        later = (when(products, "restocked_at") > as_of).to_numpy()
        products["restocked_at"] = when(products, "restocked_at").mask(later)
        out["products"] = products
    return out
