"""Degenerate but contract-valid histories: zero spend, free items, no completed order, one order.

Issue 15, item 4: a customer whose lines in a category all cost 0 crashed the category entropy
(``0 * log2(0)`` is NaN, which no ``DECIMAL`` can hold) with a message blaming the data. Every
0/0, log 0, one-value spread and empty window must give a number or NA, never NaN or infinity
as a value, and never an error. The hand-built dataset below is worked out by hand; the
property test throws random small histories full of zeros, collisions and cancellations at
:func:`build_features`.

Cut-off 2025-07-01 00:00 UTC; every customer signed up on 2025-01-01.

- F buys shoes (1 x 30), hats (1 x 10) and two free pairs of socks (2 x 0) in one order.
- Z places two free orders (amount 0, socks at unit price 0), 28 days apart.
- Q's one order has a line of quantity 0 and a 5 discount on a net amount of 0.
- X has only a cancelled and a returned order.
- O has one order (hats, 12).
- S places three orders at the same instant (10, 0 and 5; shoes, socks at 0, hats).
- N never orders.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsseg.data import load_frames
from smsseg.errors import SmssegError
from smsseg.features import build_features
from smsseg.features._query import Context, make_context
from tests.features.histories import START, tables_from_rows

AS_OF = "2025-07-01"
NA = None
F_ENTROPY = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))


def _frame(columns: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split())


def degenerate_tables() -> dict[str, pd.DataFrame]:
    customers = _frame(
        "customer_id created_at", [(c, "2025-01-01") for c in ("F", "Z", "Q", "X", "O", "S", "N")]
    )
    orders = _frame(
        "order_id customer_id ordered_at amount discount_amount status",
        [
            ("f1", "F", "2025-06-01", 40.0, 0.0, "completed"),
            ("z1", "Z", "2025-05-01", 0.0, 0.0, "completed"),
            ("z2", "Z", "2025-05-29", 0.0, 0.0, "completed"),
            ("q1", "Q", "2025-06-01", 0.0, 5.0, "completed"),
            ("x1", "X", "2025-05-01", 30.0, 0.0, "cancelled"),
            ("x2", "X", "2025-06-01", 20.0, 0.0, "returned"),
            ("o1", "O", "2025-06-01", 12.0, 0.0, "completed"),
            ("s1", "S", "2025-06-01 10:00", 10.0, 0.0, "completed"),
            ("s2", "S", "2025-06-01 10:00", 0.0, 0.0, "completed"),
            ("s3", "S", "2025-06-01 10:00", 5.0, 0.0, "completed"),
        ],
    )
    order_items = _frame(
        "order_id product_id category quantity unit_price",
        [
            ("f1", "p1", "shoes", 1, 30.0),
            ("f1", "p3", "hats", 1, 10.0),
            ("f1", "p2", "socks", 2, 0.0),  # free: the line that crashed the entropy
            ("z1", "p2", "socks", 1, 0.0),
            ("z2", "p2", "socks", 1, 0.0),
            ("q1", "p3", "hats", 0, 10.0),
            ("x1", "p1", "shoes", 1, 30.0),
            ("x2", "p1", "shoes", 1, 20.0),
            ("o1", "p3", "hats", 1, 12.0),
            ("s1", "p1", "shoes", 1, 10.0),
            ("s2", "p2", "socks", 1, 0.0),
            ("s3", "p3", None, 1, 5.0),  # hats, from the products table
        ],
    )
    products = _frame(
        "product_id category in_stock restocked_at",
        [("p1", "shoes", True, None), ("p2", "socks", True, None), ("p3", "hats", True, None)],
    )
    return {
        "customers": customers,
        "orders": orders,
        "order_items": order_items,
        "products": products,
    }


@contextmanager
def non_finite_sql_values() -> Iterator[list[tuple[str, str, int]]]:
    """Collect (relation, column, rows) of every NaN or infinity in a build's DuckDB tables.

    A NaN in SQL would reach pandas as a missing value and pass for NA; it is looked for where
    it is made, in each family's temporary table, just before the build drops them.
    """
    found: list[tuple[str, str, int]] = []
    close = Context.close

    def scan_then_close(ctx: Context) -> None:
        con = ctx.data.con
        for name, table in ctx.tables.items():
            for column, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall():
                if kind in ("DOUBLE", "FLOAT"):
                    bad = con.execute(
                        f'SELECT COUNT(*) FROM {table} WHERE NOT isfinite("{column}")'
                    ).fetchone()[0]
                    if bad:
                        found.append((name, column, bad))
        close(ctx)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Context, "close", scan_then_close)
        yield found


def assert_no_nan_or_inf(frame: pd.DataFrame, found: list) -> None:
    assert found == [], f"NaN or infinity computed in SQL: {found}"
    floats = frame.select_dtypes("float")
    infinite = [c for c in floats if np.isinf(floats[c].to_numpy(dtype="float64")).any()]
    assert infinite == [], f"infinite values in {infinite}"


@pytest.fixture(scope="module")
def degenerate() -> pd.DataFrame:
    with non_finite_sql_values() as found:
        # the explicit list keeps socks, on which nobody spent anything, as a column
        frame = build_features(
            load_frames(degenerate_tables()),
            AS_OF,
            categories=["shoes", "hats", "socks"],
            btyd=False,
        )
    assert_no_nan_or_inf(frame, found)
    return frame


def test_free_items_in_a_category_do_not_crash_the_category_entropy():
    """The issue's report: validated data, default top-K, and a category of free items."""
    data = load_frames(degenerate_tables())  # validates: raises on data breaking the contract
    frame = build_features(data, AS_OF, btyd=False)
    assert frame.loc["F", "category_entropy"] == pytest.approx(F_ENTROPY)
    assert frame.attrs["categories"] == ["shoes", "hats"]  # nothing was spent on socks


EXPECTED = [
    # a category with zero spend has share 0, adds 0 to the entropy, is never dominant
    ("F", "cat_spend_share__shoes", 0.75),
    ("F", "cat_spend_share__hats", 0.25),
    ("F", "cat_spend_share__socks", 0.0),
    ("F", "cat_spend_share__other", 0.0),
    ("F", "dominant_category", "shoes"),
    ("F", "dominant_category_share", 0.75),
    ("F", "category_entropy", F_ENTROPY),
    # zero total spend: nothing to share out, NA as for no priced purchase
    ("Z", "cat_spend_share__socks", NA),
    ("Z", "cat_spend_share__other", NA),
    ("Z", "dominant_category", NA),
    ("Z", "dominant_category_share", NA),
    ("Z", "category_entropy", NA),
    ("Z", "monetary_total", 0.0),
    ("Z", "aov", 0.0),
    ("Z", "frequency", 2),
    ("Z", "ipt_mean_days", 28.0),
    ("Z", "ipt_std_days", NA),  # one gap
    ("Z", "avg_discount_rate", 0.0),  # free and undiscounted: rate 0 (was NA: 0 / 0)
    ("Z", "discount_order_share", 0.0),
    ("Q", "category_entropy", NA),  # quantity 0: zero spend
    ("Q", "cat_spend_share__hats", NA),
    ("Q", "avg_discount_rate", 1.0),  # 5 off, 0 paid
    ("Q", "aov", 0.0),
    # cancelled and returned only: a customer with orders but no purchase
    ("X", "frequency", 0),
    ("X", "monetary_total", 0.0),
    ("X", "aov", NA),
    ("X", "recency_days", NA),
    ("X", "return_share", 1.0),
    ("X", "discount_order_share", NA),
    ("X", "avg_discount_rate", NA),
    ("X", "trend_90d", NA),
    ("X", "cat_spend_share__shoes", NA),
    ("X", "category_entropy", NA),
    ("X", "rfm_segment", "Prospect"),
    ("X", "days_since_last_engagement", 30.0),
    # one order: one category, no gaps
    ("O", "category_entropy", 0.0),
    ("O", "cat_spend_share__hats", 1.0),
    ("O", "ipt_mean_days", NA),
    ("O", "ipt_std_days", NA),
    ("O", "recency_ipt_ratio", NA),
    ("O", "trend_90d", 1.0),
    # three orders at one instant: gaps of 0, so no "overdue" ratio
    ("S", "ipt_mean_days", 0.0),
    ("S", "ipt_std_days", 0.0),
    ("S", "recency_ipt_ratio", NA),
    ("S", "cat_spend_share__shoes", 10 / 15),
    ("S", "cat_spend_share__socks", 0.0),
    ("S", "category_entropy", -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))),
    ("N", "frequency", 0),
    ("N", "category_entropy", NA),
    ("N", "return_share", NA),
]


@pytest.mark.parametrize(
    "customer,feature,expected", EXPECTED, ids=[f"{c}-{f}" for c, f, _ in EXPECTED]
)
def test_degenerate_customers_by_hand(degenerate, customer, feature, expected):
    value = degenerate.loc[customer, feature]
    if expected is NA:
        assert pd.isna(value)
    elif isinstance(expected, float):
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    else:
        assert value == expected


def test_spend_shares_sum_to_one_or_are_all_na(degenerate):
    shares = degenerate.filter(like="cat_spend_share__")
    missing = shares.isna()
    assert (missing.all(axis=1) | ~missing.any(axis=1)).all()
    total = shares[~missing.any(axis=1)].sum(axis=1)
    assert np.allclose(total, 1.0, atol=1e-12)


def test_btyd_on_degenerate_customers_gives_numbers_or_na():
    """Free repeat orders make the Gamma-Gamma fit impossible; that must warn, not fail."""
    with warnings.catch_warnings(), non_finite_sql_values() as found:
        warnings.simplefilter("ignore")
        frame = build_features(load_frames(degenerate_tables()), AS_OF)
    assert_no_nan_or_inf(frame, found)


# ------------------------------------------------------------------ the error message
_NAN_DECIMAL = "SELECT CAST('nan'::DOUBLE AS DECIMAL(38, 9)) AS x"


def test_a_conversion_error_on_validated_data_is_reported_as_a_bug():
    with make_context(load_frames(degenerate_tables()), AS_OF) as ctx:
        with pytest.raises(SmssegError) as raised:
            ctx.relation("probe", lambda c: _NAN_DECIMAL)
    message = str(raised.value)
    assert "bug in smsseg" in message and "passed validation" in message
    assert "2025-07-01" in message and "probe" in message
    assert "breaks the data contract" not in message


def test_a_conversion_error_on_unvalidated_data_points_to_validate():
    with make_context(load_frames(degenerate_tables(), validate=False), AS_OF) as ctx:
        with pytest.raises(SmssegError) as raised:
            ctx.relation("probe", lambda c: _NAN_DECIMAL)
    message = str(raised.value)
    assert "smsseg validate" in message and "not validated" in message
    assert "bug in smsseg" in message  # when validation passes


# ------------------------------------------------------------------ random degenerate histories
DAYS = 183  # six months of history
SPAN = DAYS * 24 * 60
MONEY = st.sampled_from([0.0, 0.0, 0.01, 5.0, 120.5])


@st.composite
def degenerate_histories(draw):
    """Small histories where zeros, same-instant orders and cancellation-only customers abound."""
    n = draw(st.integers(1, 6))
    customer = st.integers(0, n - 1)
    created = draw(st.lists(st.integers(0, SPAN // 2), min_size=n, max_size=n))
    # a few instants shared by many rows make same-timestamp orders and events common
    instants = draw(st.lists(st.integers(0, SPAN), min_size=1, max_size=3))
    minute = st.one_of(st.sampled_from(instants), st.integers(0, SPAN))
    # statuses: 0 and 1 completed, 2 cancelled, 3 returned; some customers never complete one
    unlucky = draw(st.sets(customer, max_size=2))
    orders = [
        (c, at, amount, discount, promo, draw(st.integers(2, 3)) if c in unlucky else status)
        for c, at, amount, discount, promo, status in draw(
            st.lists(
                st.tuples(
                    customer,
                    minute,
                    MONEY,
                    st.sampled_from([0.0, 0.0, 5.0]),
                    st.booleans(),
                    st.integers(0, 3),
                ),
                min_size=1,  # the contract wants at least one order in the data
                max_size=12,
            )
        )
    ]
    items = draw(
        st.lists(
            st.tuples(
                st.integers(0, 20),
                st.integers(0, 7),
                st.booleans(),
                st.integers(0, 3),  # quantity 0 allowed
                st.sampled_from([0.0, 0.0, 0.5, 19.99, 80.0]),
            ),
            max_size=14,
        )
    )
    events = draw(
        st.lists(st.tuples(customer, minute, st.integers(0, 20), st.integers(0, 7)), max_size=12)
    )
    sms = draw(st.lists(st.tuples(customer, minute, st.integers(0, 20)), max_size=8))
    loyalty = draw(
        st.lists(
            st.tuples(
                customer,
                minute,
                st.integers(0, 2),
                st.sampled_from([0, 0, 40]),
                st.integers(0, SPAN),
            ),
            max_size=2,
        )
    )
    restocks = draw(st.lists(minute, max_size=3))
    promos = draw(st.lists(st.tuples(minute, st.sampled_from([0, 60, 20_000])), max_size=3))
    offset = draw(st.one_of(st.sampled_from(instants), st.integers(0, SPAN)))
    as_of = START + pd.Timedelta(minutes=max(min(created), offset))
    # a customer's rows may predate the sign-up (imported history): validation accepts it
    tables = tables_from_rows(created, orders, items, events, sms, loyalty, restocks, promos)
    return tables, as_of


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(degenerate_histories())
def test_random_degenerate_histories_give_numbers_or_na(history):
    tables, as_of = history
    with non_finite_sql_values() as found:
        frame = build_features(load_frames(tables), as_of, top_k=3, btyd=False)
    assert_no_nan_or_inf(frame, found)
    for prefix in ("cat_spend_share__", "cat_view_share__"):
        shares = frame.filter(like=prefix)
        known = shares.notna().all(axis=1)
        assert (known | shares.isna().all(axis=1)).all(), prefix
        assert np.allclose(shares[known].sum(axis=1), 1.0, atol=1e-9), prefix
    entropy = frame["category_entropy"]
    assert (entropy.isna() == frame["cat_spend_share__other"].isna()).all()
    assert (entropy.dropna() >= 0).all()
    for name in (
        "return_share",
        "discount_order_share",
        "avg_discount_rate",
        "promo_period_order_share",
        "dominant_category_share",
    ):
        values = frame[name].dropna()
        assert ((values >= 0) & (values <= 1 + 1e-12)).all(), name
    trend = frame["trend_90d"].dropna()
    assert ((trend >= -1) & (trend <= 1)).all()
