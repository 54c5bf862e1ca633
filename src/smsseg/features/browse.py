"""Browse and cart features from ``events``: windowed counts, time since, open cart, restocks.

Point in time: events with ``occurred_at <= as_of``; product prices are averaged over order
lines of orders placed ``<= as_of``; a product counts as restocked only when
``products.restocked_at <= as_of``. ``products.in_stock`` is a snapshot of *today* with no
history, so no feature reads it.

Two passes over the events, shaped by cost: the windowed counts, the open cart and the restocks
only need the last :data:`RECENT_DAYS` days (a small slice of a long history, so the many
filtered counts run on few rows); the all-history part is a per-(customer, category)
aggregate with a handful of columns, which also feeds the category view shares.
"""

from __future__ import annotations

from smsseg.features._query import Context, aggregate_sql
from smsseg.features.catalogue import BROWSE_WINDOWS, AggregateQuery, Feature, Helper, windowed
from smsseg.features.orders import orders_table

#: event type counted → output name prefix (windows from :data:`BROWSE_WINDOWS`).
COUNTED_EVENTS = {
    "product_view": "product_views",
    "category_view": "category_views",
    "add_to_cart": "add_to_cart",
    "checkout_started": "checkout_started",
    "wishlist_add": "wishlist_add",
    "search": "search",
}
#: Look-back of the recent pass: the longest browse window, the restock window, the cart lifetime.
RECENT_DAYS = max(BROWSE_WINDOWS)
RESTOCK_WINDOW_DAYS = 30
CART_DAYS = 30
assert RESTOCK_WINDOW_DAYS <= RECENT_DAYS and CART_DAYS <= RECENT_DAYS
HOURS = "(epoch({as_of}) - epoch({col})) / 3600.0"
VIEWS = "('product_view', 'category_view')"


def _counts() -> tuple[Feature, ...]:
    out: list[Feature] = []
    for event_type, prefix in COUNTED_EVENTS.items():
        out += windowed(
            prefix + "_{w}d",
            BROWSE_WINDOWS,
            dtype="int",
            source="events",
            family="browse",
            description=f"'{event_type}' events in the last {{w}} days.",
            agg=f"COUNT(*) FILTER (WHERE event_type = '{event_type}' AND occurred_at > {{as_of}} - INTERVAL {{w}} DAY)",
            fill=0,
        )
    return tuple(out)


# ------------------------------------------------------------------ recent pass (last 30 days)
# The events of the recent window, with the restock date of the product and the customer's last
# order (any status), for the restocked views and the open cart.
RECENT_ROWS = f"""
    SELECT e.customer_id, e.occurred_at, e.event_type, e.product_id, p.restocked_at,
           o._last_any_order_at AS last_order_at
    FROM events AS e
    LEFT JOIN products AS p ON e.product_id = p.product_id
    LEFT JOIN {{orders}} AS o ON e.customer_id = o.customer_id
    WHERE e.occurred_at <= {{as_of}} AND e.occurred_at > {{as_of}} - INTERVAL {RECENT_DAYS} DAY
"""
_RESTOCKED = (
    f"event_type = 'product_view' AND occurred_at > {{as_of}} - INTERVAL {RESTOCK_WINDOW_DAYS} DAY "
    "AND restocked_at > occurred_at AND restocked_at <= {as_of}"
)
_IN_CART = (
    f"event_type IN ('add_to_cart', 'remove_from_cart') AND occurred_at > {{as_of}} - INTERVAL {CART_DAYS} DAY "
    "AND (last_order_at IS NULL OR occurred_at > last_order_at)"
)

RECENT_QUERY = AggregateQuery(
    name="events_recent",
    rows=RECENT_ROWS,
    features=_counts()
    + (
        Feature(
            "restocked_viewed_products",
            "int",
            "events + products",
            f"{RESTOCK_WINDOW_DAYS}d",
            f"Products viewed in the last {RESTOCK_WINDOW_DAYS} days that were restocked after the "
            "view (and on or before the cut-off).",
            "browse",
            expr="COALESCE(len(list_distinct(_restocked)), 0)",
            fill=0,
            requires=("products.restocked_at",),
        ),
    ),
    helpers=(
        Helper("_restocked", f"list(product_id) FILTER (WHERE {_RESTOCKED})"),
        # cart adds (+1) and removals (-1) after the last order, for the open cart
        Helper(
            "_cart",
            "list(struct_pack(product_id := product_id, "
            "d := CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE -1 END)) "
            f"FILTER (WHERE {_IN_CART})",
        ),
    ),
    requires=("events",),
)


def recent_table(ctx: Context) -> str:
    """Per-customer aggregate of the last :data:`RECENT_DAYS` days of events (after the orders)."""
    return ctx.relation(
        "events_recent",
        lambda c: aggregate_sql(c, RECENT_QUERY).replace("{orders}", orders_table(c)),
    )


# ------------------------------------------------------------------ history pass (all events)
# Per customer and category (from the event, else the catalogue): views and the last time of
# each kind of event. A handful of aggregates over every event; the result is small.
CATEGORY_HISTORY = f"""
    SELECT e.customer_id, COALESCE(e.category, p.category) AS category,
           COUNT(*) FILTER (WHERE e.event_type IN {VIEWS}) AS views,
           MAX(e.occurred_at) FILTER (WHERE e.event_type IN {VIEWS}) AS last_view_at,
           MAX(e.occurred_at) FILTER (WHERE e.event_type = 'add_to_cart') AS last_cart_add_at,
           MAX(e.occurred_at) FILTER (WHERE e.event_type = 'checkout_started') AS last_checkout_at,
           MAX(e.occurred_at) AS last_event_at
    FROM events AS e LEFT JOIN products AS p ON e.product_id = p.product_id
    WHERE e.occurred_at <= {{as_of}}
    GROUP BY e.customer_id, COALESCE(e.category, p.category)
"""


def history_table(ctx: Context) -> str:
    """Per (customer, category) view counts and last-event times, computed once per build."""
    return ctx.relation("events_history", lambda c: c.sql(CATEGORY_HISTORY))


def _hours_since(name: str, column: str, what: str) -> Feature:
    return Feature(
        name,
        "float",
        "events",
        "all history",
        f"Hours since the last {what} (NA: none).",
        "browse",
        expr=HOURS.replace("{col}", f"_{column}"),
    )


HISTORY_QUERY = AggregateQuery(
    name="events_history",
    rows="SELECT * FROM {history}",
    features=(
        _hours_since("hours_since_last_view", "last_view_at", "product or category view"),
        _hours_since("hours_since_last_cart_add", "last_cart_add_at", "add-to-cart"),
        _hours_since("hours_since_last_checkout", "last_checkout_at", "checkout_started"),
        _hours_since("hours_since_last_event", "last_event_at", "browse or cart event"),
    ),
    helpers=tuple(
        Helper(f"_{col}", f"MAX({col})")
        for col in ("last_view_at", "last_cart_add_at", "last_checkout_at", "last_event_at")
    ),
    requires=("events",),
)


def history_sql(ctx: Context) -> str:
    return f"({aggregate_sql(ctx, HISTORY_QUERY).replace('{history}', history_table(ctx))})"


# ------------------------------------------------------------------ open cart
# Net cart content per product (adds minus removals since the last order, floored at zero),
# priced at the product's mean unit price in order lines up to the cut-off.
CART_ROWS = """
    SELECT cart.customer_id, GREATEST(SUM(cart.item.d), 0) AS items, ANY_VALUE(price.unit_price) AS unit_price
    FROM (SELECT customer_id, UNNEST(_cart) AS item FROM {events}) AS cart
    LEFT JOIN {prices} AS price ON cart.item.product_id = price.product_id
    GROUP BY cart.customer_id, cart.item.product_id
"""
_CART_WINDOW = f"{CART_DAYS}d, since last order"

CART_QUERY = AggregateQuery(
    name="cart",
    rows=CART_ROWS,
    features=(
        Feature(
            "open_cart_items",
            "int",
            "events + orders",
            _CART_WINDOW,
            f"Items added to the cart (net of removals) after the last order, in the last {CART_DAYS} days.",
            "browse",
            agg="SUM(items)",
            fill=0,
        ),
        Feature(
            "open_cart",
            "bool",
            "events + orders",
            _CART_WINDOW,
            "Cart activity after the last order (last 30 days) left items in the cart.",
            "browse",
            expr="open_cart_items > 0",
            fill=False,
        ),
        Feature(
            "open_cart_value",
            "float",
            "events + orders + order_items",
            _CART_WINDOW,
            "Value of the open cart at mean past unit prices (NA: open cart of unpriced products).",
            "browse",
            agg="SUM(items * unit_price)",
            expr="CASE WHEN open_cart_items = 0 THEN 0.0 ELSE open_cart_value END",
            fill=0.0,
        ),
    ),
    requires=("events",),
)


def cart_sql(ctx: Context, prices: str) -> str:
    """The open-cart aggregate over the recent-events aggregate and a product → unit_price relation."""
    sql = (
        aggregate_sql(ctx, CART_QUERY)
        .replace("{events}", recent_table(ctx))
        .replace("{prices}", prices)
    )
    return f"({sql})"


#: Every browse feature, in catalogue order.
BROWSE_FEATURES = (
    RECENT_QUERY.features[:-1]
    + HISTORY_QUERY.features
    + RECENT_QUERY.features[-1:]
    + CART_QUERY.features
)
