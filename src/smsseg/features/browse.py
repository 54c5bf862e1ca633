"""Browse and cart features from ``events``: windowed counts, time since, open cart, restocks.

Point in time: events with ``occurred_at <= as_of``; product prices are averaged over order
lines of orders placed ``<= as_of``; a product counts as restocked only when
``products.restocked_at <= as_of`` (a restock after the cut-off is not seen). ``products.in_stock``
is a snapshot column: it describes its ``snapshot_at`` (else the data's export time), has no
history, and no feature reads it.

The passes are shaped by what DuckDB does fast (measured on 66M events, ``benchmarks/``):

- one pass over all events grouped by (customer, event type) yields each type's last time and
  its windowed counts; the per-customer features then read those few rows per customer. Four
  count filters on a handful of groups beat two dozen filters on every event (2.5 s vs 6 s);
- views per (customer, category) for the category view shares;
- the restocked views and the open cart read only the last :data:`RESTOCK_WINDOW_DAYS` /
  :data:`CART_DAYS` days of one or two event types, each with one join; no list aggregates
  (they were 3 s of a 4 s pass).
"""

from __future__ import annotations

from smsseg.features._query import Context, aggregate_sql, exact_sum
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
#: Look-back of the restocked views, and the lifetime of a cart.
RESTOCK_WINDOW_DAYS = 30
CART_DAYS = 30
HOURS = "(epoch({as_of}) - epoch({col})) / 3600.0"
VIEWS = "('product_view', 'category_view')"


# ------------------------------------------------------------------ per (customer, event type)
# Every event up to the cut-off, grouped by customer and type: the type's last time and its
# count in each browse window. The per-customer query below picks these rows apart.
TYPE_ROWS = (
    "SELECT customer_id, event_type, MAX(occurred_at) AS last_at, "
    + ", ".join(
        f"COUNT(*) FILTER (WHERE occurred_at > {{as_of}} - INTERVAL {w} DAY) AS n_{w}d"
        for w in BROWSE_WINDOWS
    )
    + " FROM events WHERE occurred_at <= {as_of} GROUP BY customer_id, event_type"
)


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
            agg=f"CAST(COALESCE(SUM(n_{{w}}d) FILTER (WHERE event_type = '{event_type}'), 0) AS BIGINT)",
            fill=0,
        )
    return tuple(out)


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


EVENTS_QUERY = AggregateQuery(
    name="events",
    rows=TYPE_ROWS,
    features=_counts()
    + (
        _hours_since("hours_since_last_view", "last_view_at", "product or category view"),
        _hours_since("hours_since_last_cart_add", "last_cart_add_at", "add-to-cart"),
        _hours_since("hours_since_last_checkout", "last_checkout_at", "checkout_started"),
        _hours_since("hours_since_last_event", "last_event_at", "browse or cart event"),
    ),
    helpers=(
        Helper("_last_view_at", f"MAX(last_at) FILTER (WHERE event_type IN {VIEWS})"),
        Helper("_last_cart_add_at", "MAX(last_at) FILTER (WHERE event_type = 'add_to_cart')"),
        Helper("_last_checkout_at", "MAX(last_at) FILTER (WHERE event_type = 'checkout_started')"),
        Helper("_last_event_at", "MAX(last_at)"),
    ),
    requires=("events",),
)


def events_sql(ctx: Context) -> str:
    return f"({aggregate_sql(ctx, EVENTS_QUERY)})"


# ------------------------------------------------------------------ views per category
# Views per (customer, category): the event's own category, else the product's. Events that
# carry a category (the usual case) are grouped as they are, without a join; the few without one
# are joined to the products in a pass of their own, and only when there are some do the two
# need merging. Joining every view to the products took a third longer on 32M views.
CATEGORISED_VIEWS = f"""
    SELECT customer_id, category, COUNT(*) AS views
    FROM events
    WHERE occurred_at <= {{as_of}} AND event_type IN {VIEWS} AND category IS NOT NULL
    GROUP BY customer_id, category
"""
UNCATEGORISED_VIEWS = f"""
    SELECT e.customer_id, p.category, COUNT(*) AS views
    FROM events AS e JOIN products AS p ON e.product_id = p.product_id
    WHERE e.occurred_at <= {{as_of}} AND e.event_type IN {VIEWS} AND e.category IS NULL
      AND p.category IS NOT NULL
    GROUP BY e.customer_id, p.category
"""


def category_views_table(ctx: Context) -> str:
    """``(customer_id, category, views)`` up to the cut-off, computed once per build."""
    return ctx.relation("category_views", _category_views_sql)


def _category_views_sql(ctx: Context) -> str:
    if not ctx.present("products.category"):
        return ctx.sql(CATEGORISED_VIEWS)
    fallback = ctx.relation("uncategorised_views", lambda c: c.sql(UNCATEGORISED_VIEWS))
    if not ctx.data.con.execute(f"SELECT EXISTS (SELECT 1 FROM {fallback})").fetchall()[0][0]:
        return ctx.sql(CATEGORISED_VIEWS)
    return (
        "SELECT customer_id, category, SUM(views) AS views FROM ("
        f"{ctx.sql(CATEGORISED_VIEWS)} UNION ALL SELECT * FROM {fallback}) AS both_kinds "
        "GROUP BY customer_id, category"
    )


# ------------------------------------------------------------------ the last days' events
# The restocked views and the open cart both read the last few weeks of a few event types: one
# pass over all events keeps those rows (a few percent of them) for both, instead of two passes.
# Each query still applies its own window and types to them, so the result cannot differ.
RECENT_DAYS = max(RESTOCK_WINDOW_DAYS, CART_DAYS)
RECENT_EVENTS = f"""
    SELECT customer_id, product_id, event_type, occurred_at FROM events
    WHERE occurred_at <= {{as_of}} AND occurred_at > {{as_of}} - INTERVAL {RECENT_DAYS} DAY
      AND event_type IN ('product_view', 'add_to_cart', 'remove_from_cart')
"""


def recent_events_table(ctx: Context) -> str:
    """The events the restock and cart features read (see :data:`RECENT_EVENTS`), made once."""
    return ctx.relation("recent_events", lambda c: c.sql(RECENT_EVENTS))


# ------------------------------------------------------------------ restocked views
RESTOCK_ROWS = f"""
    SELECT e.customer_id, e.product_id
    FROM {{recent_events}} AS e JOIN products AS p ON e.product_id = p.product_id
    WHERE e.event_type = 'product_view'
      AND e.occurred_at <= {{as_of}} AND e.occurred_at > {{as_of}} - INTERVAL {RESTOCK_WINDOW_DAYS} DAY
      AND p.restocked_at > e.occurred_at AND p.restocked_at <= {{as_of}}
      AND p.restocked_at > {{as_of}} - INTERVAL {RESTOCK_WINDOW_DAYS} DAY
"""

RESTOCK_QUERY = AggregateQuery(
    name="restocked",
    rows=RESTOCK_ROWS,
    features=(
        Feature(
            "restocked_viewed_products",
            "int",
            "events + products",
            f"{RESTOCK_WINDOW_DAYS}d",
            f"Products viewed in the last {RESTOCK_WINDOW_DAYS} days that were restocked after the "
            "view (and on or before the cut-off).",
            "browse",
            agg="COUNT(DISTINCT product_id)",
            fill=0,
            requires=("products.restocked_at",),
        ),
    ),
    requires=("events", "products.restocked_at"),
)


# ------------------------------------------------------------------ open cart
# Net cart content per product (adds minus removals since the last order, floored at zero),
# priced at the product's mean unit price in order lines up to the cut-off.
CART_ROWS = f"""
    SELECT cart.customer_id, cart.items, price.unit_price
    FROM (
        SELECT e.customer_id, e.product_id,
               GREATEST(SUM(CASE WHEN e.event_type = 'add_to_cart' THEN 1 ELSE -1 END), 0) AS items
        FROM {{recent_events}} AS e LEFT JOIN {{orders}} AS o ON e.customer_id = o.customer_id
        WHERE e.event_type IN ('add_to_cart', 'remove_from_cart')
          AND e.occurred_at <= {{as_of}} AND e.occurred_at > {{as_of}} - INTERVAL {CART_DAYS} DAY
          AND (o._last_any_order_at IS NULL OR e.occurred_at > o._last_any_order_at)
        GROUP BY e.customer_id, e.product_id) AS cart
    LEFT JOIN {{prices}} AS price ON cart.product_id = price.product_id
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
            agg="CAST(SUM(items) AS BIGINT)",
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
            agg=exact_sum("items * unit_price"),
            expr="CASE WHEN open_cart_items = 0 THEN 0.0 ELSE open_cart_value END",
            fill=0.0,
        ),
    ),
    requires=("events",),
)


def cart_sql(ctx: Context, prices: str) -> str:
    """The open-cart aggregate, given a ``(product_id, unit_price)`` relation."""
    sql = (
        aggregate_sql(ctx, CART_QUERY)
        .replace("{orders}", orders_table(ctx))
        .replace("{prices}", prices)
        .replace("{recent_events}", recent_events_table(ctx))
    )
    return f"({sql})"


def restock_sql(ctx: Context) -> str:
    """The restocked-views aggregate."""
    return aggregate_sql(ctx, RESTOCK_QUERY).replace("{recent_events}", recent_events_table(ctx))


#: Every browse feature, in catalogue order.
BROWSE_FEATURES = EVENTS_QUERY.features + RESTOCK_QUERY.features + CART_QUERY.features
