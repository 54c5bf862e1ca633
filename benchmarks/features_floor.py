"""The floor under any feature build: one grouped pass per input table, joined, written to Parquet.

Issue 12 measures ``smsseg features`` against this. Each input table the features read is
scanned once (``order_items`` joined to ``orders`` for the customer), grouped by customer with
a few aggregates, cut at the as-of date; the per-customer results are LEFT JOINed onto the
customers, in customer order, and DuckDB writes the result to Parquet itself (no pandas). It is
what a hand-written single query would cost, with none of the work that makes features features
(windows, categories, carts, BTYD, dtypes, provenance), so no feature build can beat it.

Run by hand (``bench_features.py`` runs it in its own process, timed, next to the CLI)::

    python benchmarks/features_floor.py DATA_DIR OUT.parquet [AS_OF] [THREADS]
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

#: The floor's grouped pass over each input table, by alias (``{d}``: data directory, ``{t}``:
#: the cut-off literal). ``profile_features.py`` times them one by one.
PASSES = {
    "c": """
        SELECT customer_id, MIN(created_at) AS created_at, ANY_VALUE(country) AS country
        FROM read_parquet('{d}/customers.parquet') WHERE created_at <= {t} GROUP BY customer_id""",
    "o": """
        SELECT customer_id, COUNT(*) AS orders, SUM(amount) AS spend,
               MAX(ordered_at) AS last_order_at
        FROM read_parquet('{d}/orders.parquet') WHERE ordered_at <= {t} GROUP BY customer_id""",
    "i": """
        SELECT o.customer_id, SUM(i.quantity) AS items, SUM(i.quantity * i.unit_price) AS item_value
        FROM read_parquet('{d}/order_items.parquet') AS i
        JOIN read_parquet('{d}/orders.parquet') AS o ON i.order_id = o.order_id
        WHERE o.ordered_at <= {t} GROUP BY o.customer_id""",
    "e": """
        SELECT customer_id, COUNT(*) AS events, MAX(occurred_at) AS last_event_at,
               COUNT(*) FILTER (WHERE event_type = 'product_view') AS product_views
        FROM read_parquet('{d}/events.parquet') WHERE occurred_at <= {t} GROUP BY customer_id""",
    "s": """
        SELECT customer_id, COUNT(*) AS sms, MAX(occurred_at) AS last_sms_at,
               COUNT(*) FILTER (WHERE event_type = 'clicked') AS clicks
        FROM read_parquet('{d}/sms.parquet') WHERE occurred_at <= {t} GROUP BY customer_id""",
}
#: What each pass reads.
PASS_INPUTS = {
    "c": "customers",
    "o": "orders",
    "i": "order_items + orders",
    "e": "events",
    "s": "sms",
}

FLOOR_SQL = (
    "COPY (\n    WITH\n"
    + ",\n".join(f"    {alias} AS ({sql})" for alias, sql in PASSES.items())
    + """
    SELECT c.customer_id, c.created_at, c.country,
           COALESCE(o.orders, 0) AS orders, o.spend, o.last_order_at, i.items, i.item_value,
           COALESCE(e.events, 0) AS events, e.last_event_at, e.product_views,
           COALESCE(s.sms, 0) AS sms, s.last_sms_at, s.clicks
    FROM c
    LEFT JOIN o ON o.customer_id = c.customer_id
    LEFT JOIN i ON i.customer_id = c.customer_id
    LEFT JOIN e ON e.customer_id = c.customer_id
    LEFT JOIN s ON s.customer_id = c.customer_id
    ORDER BY c.customer_id
) TO '{out}' (FORMAT parquet)
"""
)


def run_floor(data: Path, out: Path, as_of: str = "2026-01-01", threads: int = 0) -> int:
    """Write the floor table of ``data`` as of ``as_of`` to ``out``; its number of rows."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(FLOOR_SQL.format(d=data, t=f"TIMESTAMP '{as_of}'", out=out))
    return con.execute(f"SELECT COUNT(*) FROM read_parquet('{out}')").fetchone()[0]


if __name__ == "__main__":
    rows = run_floor(
        Path(sys.argv[1]),
        Path(sys.argv[2]),
        *(sys.argv[3:4] or ["2026-01-01"]),
        *(int(a) for a in sys.argv[4:5]),
    )
    assert rows > 0, "the floor table is empty"
