"""Order-based features: RFM inputs, purchase dynamics and discount behaviour, in two DuckDB passes.

One pass aggregates each customer's orders as they come (counts, sums, windows, discounts,
promotion periods); a second, narrow pass sorts only the completed orders' times and amounts per
customer for what needs the sequence (the spread of the gaps between orders, distinct purchase
days, the first day's spend). Sorting the narrow rows instead of every order with all its columns
halves the cost of the orders step on ten million orders (``benchmarks/``).

Point in time: only orders with ``ordered_at <= as_of`` and promotions with
``starts_at <= as_of`` are read. A returned order counts as completed until its ``returned_at``
(:func:`completed_as_of`): returned after the cut-off, it was a completed order at the cut-off.
Without ``returned_at`` the status is all there is, and an order returned after the cut-off
already counts as returned (documented in ``docs/features.md``); so does an order cancelled after
it (the contract has no ``cancelled_at``; cancellations come within hours).
"""

from __future__ import annotations

from smsseg.features._query import Context, aggregate_sql, exact_avg, exact_sum
from smsseg.features.catalogue import (
    ORDER_WINDOWS,
    AggregateQuery,
    Feature,
    Helper,
    windowed,
)

DAY = "86400.0"
SINCE = "(epoch({as_of}) - epoch({col})) / " + DAY


def completed_as_of(alias: str = "", at: str = "{as_of}") -> str:
    """SQL: the order was a completed order at ``at`` (by default the cut-off).

    Completed, or returned after ``at``: until its ``returned_at`` a returned order was a
    completed one. A returned order without ``returned_at`` counts as returned at any time.
    ``alias`` qualifies the columns (``"o"`` for ``o.status``).
    """
    col = f"{alias}." if alias else ""
    return f"({col}status = 'completed' OR ({col}status = 'returned' AND {col}returned_at > {at}))"


# Promotion periods overlapping each other are merged into disjoint intervals, each listed on
# every day it touches: an equi-join on the order's day (cheap, unlike a range or ASOF join over
# millions of orders) then a range check tells whether the order fell inside a promotion.
_PROMO_INTERVALS = """
    promo AS (SELECT starts_at, ends_at FROM promotions WHERE starts_at <= {as_of}),
    promo_prev AS (
        SELECT *, MAX(ends_at) OVER (ORDER BY starts_at, ends_at
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
        FROM promo),
    promo_groups AS (
        SELECT *, SUM(CASE WHEN prev_end IS NULL OR starts_at > prev_end THEN 1 ELSE 0 END)
                  OVER (ORDER BY starts_at, ends_at) AS grp
        FROM promo_prev),
    promo_merged AS (SELECT MIN(starts_at) AS p_start, MAX(ends_at) AS p_end FROM promo_groups GROUP BY grp),
    promo_days AS (
        SELECT UNNEST(generate_series(date_trunc('day', p_start), date_trunc('day', LEAST(p_end, {as_of})),
                                      INTERVAL 1 DAY)) AS day, p_start, p_end
        FROM promo_merged)
"""

# The status as it stood at the cut-off: a return after it had not happened yet.
_STATUS_AS_OF = f"CASE WHEN {completed_as_of()} THEN 'completed' ELSE status END"
ORDER_ROWS = (
    "WITH "
    + _PROMO_INTERVALS
    + f""",
    cut AS (SELECT customer_id, ordered_at, amount, discount_amount, promo_code,
                   {_STATUS_AS_OF} AS status, {completed_as_of()} AS done
            FROM orders WHERE ordered_at <= {{as_of}})
    SELECT cut.*, d.p_start IS NOT NULL AS in_promo
    FROM cut
    LEFT JOIN promo_days AS d
        ON d.day = date_trunc('day', cut.ordered_at) AND cut.ordered_at BETWEEN d.p_start AND d.p_end
"""
)
# Completed orders in time order per customer: the gap to the previous one, whether the order
# starts a new purchase day, and whether it falls on the first purchase day.
SEQUENCE_ROWS = f"""
    SELECT customer_id, amount,
           CAST(epoch_us(ordered_at) - epoch_us(prev_at) AS HUGEINT) AS gap_us,
           prev_at IS NULL OR date_trunc('day', prev_at) <> date_trunc('day', ordered_at) AS new_day,
           date_trunc('day', ordered_at) = date_trunc('day', first_at) AS first_day
    FROM (
        SELECT customer_id, ordered_at, amount,
               LAG(ordered_at) OVER w AS prev_at, FIRST_VALUE(ordered_at) OVER w AS first_at
        FROM orders
        WHERE ordered_at <= {{as_of}} AND {completed_as_of()}
        WINDOW w AS (PARTITION BY customer_id ORDER BY ordered_at)) AS sequenced
"""
_WINDOW = "done AND ordered_at > {as_of} - INTERVAL {w} DAY"
# Sample std of the gaps from exact integer sums (microseconds): n Σg² − (Σg)² is computed
# without rounding, so the result does not depend on the order DuckDB adds the gaps in
# (STDDEV_SAMP merges partial states in parallel, in no fixed order).
_EXACT_STD_US = (
    "CASE WHEN COUNT(gap_us) > 1 THEN sqrt(GREATEST(CAST("
    "COUNT(gap_us) * SUM(gap_us * gap_us) - SUM(gap_us) * SUM(gap_us) AS DOUBLE), 0) "
    "/ (COUNT(gap_us) * (COUNT(gap_us) - 1))) END"
)

# An order without a discount has rate 0, free or not: only a discount needs the division, and
# then its denominator is > 0. (``discount / NULLIF(amount + discount, 0)`` left free undiscounted
# orders out of the mean, so a customer whose orders were all free got NA, not 0.)
_DISCOUNT_RATE = (
    "CASE WHEN discount_amount > 0 THEN discount_amount / (amount + discount_amount) ELSE 0.0 END"
)


def _f(name: str, dtype: str, family: str, window: str, description: str, **kw) -> Feature:
    return Feature(name, dtype, kw.pop("source", "orders"), window, description, family, **kw)


RFM_ORDER_FEATURES = (
    _f(
        "recency_days",
        "float",
        "rfm",
        "all history",
        "Days since the last completed order (NA: never ordered).",
        expr=SINCE.replace("{col}", "_last_order_at"),
    ),
    _f(
        "frequency",
        "int",
        "rfm",
        "all history",
        "Number of completed orders.",
        agg="COUNT(*) FILTER (WHERE done)",
        fill=0,
    ),
    _f(
        "monetary_total",
        "float",
        "rfm",
        "all history",
        "Total net amount of completed orders.",
        agg=f"COALESCE({exact_sum('amount', 'done')}, 0.0)",
        fill=0.0,
    ),
    _f(
        "aov",
        "float",
        "rfm",
        "all history",
        "Average order value of completed orders (NA: none).",
        expr="monetary_total / NULLIF(frequency, 0)",
    ),
)

DYNAMICS_FEATURES = (
    *windowed(
        "orders_{w}d",
        ORDER_WINDOWS,
        dtype="int",
        source="orders",
        family="dynamics",
        description="Completed orders in the last {w} days.",
        agg=f"COUNT(*) FILTER (WHERE {_WINDOW})",
        fill=0,
    ),
    *windowed(
        "spend_{w}d",
        ORDER_WINDOWS,
        dtype="float",
        source="orders",
        family="dynamics",
        description="Net spend on completed orders in the last {w} days.",
        agg=f"COALESCE({exact_sum('amount', _WINDOW)}, 0.0)",
        fill=0.0,
    ),
    _f(
        "trend_90d",
        "float",
        "dynamics",
        "180d",
        "(orders in the last 90 days - orders in the 90 before) / their sum, in [-1, 1]; NA: neither.",
        expr="(orders_90d - _orders_prev_90d) / NULLIF(orders_90d + _orders_prev_90d, 0)",
    ),
    _f(
        "ipt_mean_days",
        "float",
        "dynamics",
        "all history",
        "Mean days between consecutive completed orders (NA: fewer than 2 orders).",
        # the gaps telescope: their mean is (last - first) / (n - 1), no sorting needed
        expr=f"(epoch(_last_order_at) - epoch(_first_order_at)) / NULLIF(frequency - 1, 0) / {DAY}",
    ),
    _f(
        "ipt_std_days",
        "float",
        "dynamics",
        "all history",
        "Sample std of days between consecutive completed orders (NA: fewer than 3 orders).",
        agg=f"{_EXACT_STD_US} / 1e6 / {DAY}",
    ),
    _f(
        "recency_ipt_ratio",
        "float",
        "dynamics",
        "all history",
        "recency_days / ipt_mean_days: how overdue the next order is (> 1: later than usual).",
        expr="recency_days / NULLIF(ipt_mean_days, 0)",
    ),
    _f(
        "hours_since_last_order",
        "float",
        "dynamics",
        "all history",
        "Hours since the last completed order (NA: never ordered).",
        expr="recency_days * 24.0",
    ),
    _f(
        "days_since_first_order",
        "float",
        "dynamics",
        "all history",
        "Days since the first completed order (NA: never ordered).",
        expr=SINCE.replace("{col}", "_first_order_at"),
    ),
    _f(
        "return_share",
        "float",
        "dynamics",
        "all history",
        "Share of all orders that were returned or cancelled (NA: no orders).",
        agg="AVG(CASE WHEN status IN ('returned', 'cancelled') THEN 1.0 ELSE 0.0 END)",
    ),
)

# The calendar window the horizon after the cut-off covers, one year earlier: (A - 365, A - 365 + H].
_LAST_YEAR = "{as_of} - INTERVAL 365 DAY"
_SAME_WINDOW_LAST_YEAR = (
    f"ordered_at > {_LAST_YEAR} AND ordered_at <= {_LAST_YEAR} + INTERVAL {{horizon_days}} DAY"
)
SEASON_FEATURES = (
    _f(
        "orders_same_window_last_year",
        "int",
        "season",
        "365d",
        "Completed orders in the calendar window the horizon covers, one year earlier: "
        "(as_of - 365 d, as_of - 365 d + horizon] (seasonal buyers: a gift shopper's December).",
        agg=f"COUNT(*) FILTER (WHERE done AND {_SAME_WINDOW_LAST_YEAR})",
        fill=0,
    ),
)

DISCOUNT_FEATURES = (
    _f(
        "discount_order_share",
        "float",
        "discount",
        "all history",
        "Share of completed orders with a discount or a promo code.",
        agg="AVG(CASE WHEN discount_amount > 0 OR promo_code IS NOT NULL THEN 1.0 ELSE 0.0 END) FILTER (WHERE done)",
        requires=("orders.discount_amount|orders.promo_code",),
    ),
    _f(
        "avg_discount_rate",
        "float",
        "discount",
        "all history",
        "Mean discount / (net amount + discount) over completed orders.",
        agg=exact_avg(_DISCOUNT_RATE, "done"),
        requires=("orders.discount_amount",),
    ),
    _f(
        "promo_period_order_share",
        "float",
        "discount",
        "all history",
        "Share of completed orders placed while a promotion (any) was running.",
        source="orders + promotions",
        agg="AVG(CASE WHEN in_promo THEN 1.0 ELSE 0.0 END) FILTER (WHERE done)",
        requires=("promotions",),
    ),
)

ORDER_HELPERS = (
    Helper("_last_order_at", "MAX(ordered_at) FILTER (WHERE done)"),
    Helper("_first_order_at", "MIN(ordered_at) FILTER (WHERE done)"),
    Helper("_last_any_order_at", "MAX(ordered_at)"),
    Helper(
        "_orders_prev_90d",
        "COUNT(*) FILTER (WHERE done AND ordered_at <= {as_of} - INTERVAL 90 DAY "
        "AND ordered_at > {as_of} - INTERVAL 180 DAY)",
    ),
)
# for the BTYD summary: distinct purchase days, and the spend of the first purchase day
SEQUENCE_HELPERS = (
    Helper("_purchase_days", "count_if(new_day)"),
    Helper("_first_day_spend", f"COALESCE({exact_sum('amount', 'first_day')}, 0.0)"),
)
#: Every order feature (both passes), in declaration order.
ORDER_FEATURES = RFM_ORDER_FEATURES + DYNAMICS_FEATURES + SEASON_FEATURES + DISCOUNT_FEATURES
_SEQUENCED = ("ipt_std_days",)

ORDERS_QUERY = AggregateQuery(
    name="orders",
    rows=ORDER_ROWS,
    features=tuple(f for f in ORDER_FEATURES if f.name not in _SEQUENCED),
    helpers=ORDER_HELPERS,
    requires=("orders",),
)
SEQUENCE_QUERY = AggregateQuery(
    name="order_sequence",
    rows=SEQUENCE_ROWS,
    features=tuple(f for f in ORDER_FEATURES if f.name in _SEQUENCED),
    helpers=SEQUENCE_HELPERS,
    requires=("orders",),
)


def orders_sql(ctx: Context) -> str:
    """Both passes joined: one row per customer with orders up to the cut-off."""
    sequence_columns = [h.name for h in SEQUENCE_QUERY.helpers] + [
        f.name for f in SEQUENCE_QUERY.features
    ]
    return (
        f"SELECT o.*, {', '.join('s.' + c for c in sequence_columns)} "
        f"FROM ({aggregate_sql(ctx, ORDERS_QUERY)}) AS o "
        f"LEFT JOIN ({aggregate_sql(ctx, SEQUENCE_QUERY)}) AS s ON o.customer_id = s.customer_id"
    )


def orders_table(ctx: Context) -> str:
    """The per-customer orders aggregate (all declared columns and helpers), computed once."""
    return ctx.relation("orders", orders_sql)
