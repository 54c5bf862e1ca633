"""Category features: spend and view shares over the top-K categories, dominant category, entropy.

The top-K categories are a function of the as-of data only (spend on completed orders up to the
cut-off; views when there are no priced order lines; ties broken by name), or a fixed list the
caller passes — pass the training list when scoring, so the columns match. Shares outside the
top-K go to ``__other``, so each customer's vector sums to 1.

Zero spend (free items, ``unit_price`` or ``quantity`` 0): a category a customer spent nothing
on has share 0 and adds 0 to the entropy (the limit of ``p log p``), and is never dominant. A
customer whose priced lines add up to 0 has no spend to share out: their spend shares, dominant
category, its share and the entropy are NA, as for a customer without priced lines (0 shares
would break the sum-to-1 rule, and 0 entropy would claim one category). The same holds for the
views, where only categories with views have rows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from smsseg.features._query import Context, exact_avg, exact_sum
from smsseg.features.assemble import Part
from smsseg.features.browse import category_views_table
from smsseg.features.catalogue import Feature, expand_template
from smsseg.features.orders import completed_as_of

DEFAULT_TOP_K = 10
OTHER = "other"

# One pass over the order lines up to the cut-off, two groupings: spend per customer and
# category (completed orders; category from the line, else the catalogue) and the mean unit price
# per product (any status; the open cart is priced with it).
LINES_SQL = f"""
    SELECT customer_id, category, product_id, GROUPING(product_id) = 1 AS is_spend,
           {exact_sum("weight", "done")} AS spend, {exact_avg("unit_price")} AS unit_price
    FROM (
        SELECT o.customer_id, COALESCE(i.category, p.category) AS category, i.product_id,
               {completed_as_of("o")} AS done, COALESCE(i.quantity, 1) * i.unit_price AS weight,
               i.unit_price
        FROM order_items AS i
        JOIN orders AS o ON i.order_id = o.order_id
        LEFT JOIN products AS p ON i.product_id = p.product_id
        WHERE o.ordered_at <= {{as_of}} AND i.unit_price IS NOT NULL) AS lines
    GROUP BY GROUPING SETS ((customer_id, category), (product_id))
"""


def lines_table(ctx: Context) -> str:
    """Spend per (customer, category) and price per product, computed once per build."""
    return ctx.relation("lines", lambda c: c.sql(LINES_SQL))


def prices(ctx: Context) -> str:
    """``(product_id, unit_price)`` as of the cut-off, for the open cart."""
    return f"(SELECT product_id, unit_price FROM {lines_table(ctx)} WHERE NOT is_spend)"


def _spend_rows(ctx: Context) -> str:
    return (
        f"SELECT category, spend AS weight FROM {lines_table(ctx)} "
        "WHERE is_spend AND spend IS NOT NULL"
    )


def _view_rows(ctx: Context) -> str:
    return (
        f"SELECT category, views::DOUBLE AS weight FROM {category_views_table(ctx)} WHERE views > 0"
    )


def _cat(name: str, dtype: str, source: str, description: str, template: bool = False) -> Feature:
    return Feature(name, dtype, source, "all history", description, "category", template=template)


SPEND_SHARE = _cat(
    "cat_spend_share__<category>",
    "float",
    "orders + order_items",
    "Share of spend in <category> (top-K categories; NA: no priced purchase).",
    template=True,
)
VIEW_SHARE = _cat(
    "cat_view_share__<category>",
    "float",
    "events",
    "Share of product/category views in <category> (top-K; NA: no views).",
    template=True,
)
CATEGORY_FEATURES = (
    SPEND_SHARE,
    VIEW_SHARE,
    _cat(
        "dominant_category",
        "str",
        "orders + order_items",
        "Category with the largest spend share (ties: by name).",
    ),
    _cat(
        "dominant_category_share",
        "float",
        "orders + order_items",
        "Spend share of the dominant category.",
    ),
    _cat(
        "category_entropy",
        "float",
        "orders + order_items",
        "Shannon entropy (bits) of the spend shares over all categories; 0 = one category.",
    ),
    _cat(
        "dominant_view_category",
        "str",
        "events",
        "Most viewed category (ties: by name; NA: no views).",
    ),
)
SPEND_REQUIRES = ("order_items",)
VIEW_REQUIRES = ("events",)


def slug(category: str) -> str:
    """``"Küche & Bad"`` → ``"kuche_bad"``: ASCII letters, digits and underscores only."""
    ascii_text = unicodedata.normalize("NFKD", str(category)).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-z]+", "_", ascii_text.lower()).strip("_") or "blank"


def category_columns(categories: Sequence[str]) -> dict[str, str]:
    """Category → column suffix: lower-case ``[0-9a-z_]``, made unique, never ``other``."""
    taken = {OTHER}
    out: dict[str, str] = {}
    for category in categories:
        base = slug(category)
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        out[category] = name
    return out


def top_categories(ctx: Context, k: int = DEFAULT_TOP_K) -> list[str]:
    """The ``k`` categories with most spend up to the cut-off (by views if nothing is priced)."""
    for rows, requires in ((_spend_rows, SPEND_REQUIRES), (_view_rows, VIEW_REQUIRES)):
        if not ctx.satisfied(requires):
            continue
        found = ctx.data.con.execute(
            f"SELECT category FROM ({rows(ctx)}) WHERE category IS NOT NULL GROUP BY category "
            f"HAVING {exact_sum('weight')} > 0 "
            f"ORDER BY {exact_sum('weight')} DESC, category LIMIT {int(k)}"
        ).fetchall()
        if found:
            return [row[0] for row in found]
    return []


def concrete_features(categories: Sequence[str]) -> list[Feature]:
    """The declared features with the two templates expanded for ``categories`` (+ ``other``)."""
    columns = list(category_columns(categories).items()) + [(None, OTHER)]
    out: list[Feature] = []
    for feature in CATEGORY_FEATURES:
        if not feature.template:
            out.append(feature)
            continue
        prefix = feature.name.split("<")[0]
        texts = [
            feature.description.replace(
                "<category>", f"'{c}'" if c is not None else "categories outside the top-K"
            )
            for c, _ in columns
        ]
        out += expand_template(feature, [prefix + suffix for _, suffix in columns], texts)
    return out


def _sql_str(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


# Sums of weights are exact (:func:`exact_sum`): shares and entropy come out the same on every run.
_TOTAL = exact_sum("w")


def count_sum(expr: str, where: str | None = None) -> str:
    """SQL for the sum of whole counts (view counts) as a ``DOUBLE``: integer sums are exact.

    The same bits as :func:`exact_sum` of the counts as doubles (a whole number below 2**53
    survives both), without its ``DECIMAL(38, 9)`` arithmetic, a third of the view-share pass.
    """
    filtered = f" FILTER (WHERE {where})" if where else ""
    return f"CAST(SUM({expr}){filtered} AS DOUBLE)"


def share_sql(
    rows: str, prefix: str, categories: Sequence[str], extra: str, total=exact_sum
) -> str:
    """Per customer: one share column per category, ``other``, and the ``extra`` columns.

    ``rows`` has one row per (customer, category) with a weight ``w`` (spend or views);
    ``total`` makes the SQL of a sum of ``w`` (:func:`exact_sum`, :func:`count_sum`).
    """
    columns = category_columns(categories)
    whole = total("w")
    shares = [
        f"COALESCE({total('w', f'category = {_sql_str(c)}')}, 0) / NULLIF({whole}, 0) "
        f"AS {prefix}{name}"
        for c, name in columns.items()
    ]
    outside = f"category NOT IN ({', '.join(_sql_str(c) for c in columns)})" if columns else "TRUE"
    shares.append(f"COALESCE({total('w', outside)}, 0) / NULLIF({whole}, 0) AS {prefix}{OTHER}")
    return (
        f"SELECT customer_id, {', '.join(shares + [extra])} "
        f"FROM ({rows}) AS per_category WHERE category IS NOT NULL GROUP BY customer_id"
    )


# Largest weight wins; ties go to the first name (arg_min over (-weight, name)).
_DOMINANT = "arg_min(category, struct_pack(neg := -w, name := category)) FILTER (WHERE w > 0)"
# Entropy in bits without a second pass: H = log2(T) - sum(w log2 w) / T, T = sum(w).
# A category with zero spend (free items) contributes 0 (the limit of w log w). The guard must
# sit inside the term, not in a FILTER: DuckDB evaluates an aggregate's argument on every row
# before filtering, and 0 * log2(0) = 0 * -inf is NaN, which no DECIMAL can hold (issue 15).
_ENTROPY_TERM = "CASE WHEN w > 0 THEN w * log2(w) END"
_ENTROPY = (
    f"CASE WHEN {_TOTAL} > 0 THEN GREATEST(log2({_TOTAL}) - "
    f"COALESCE({exact_sum(_ENTROPY_TERM, scale=12)}, 0) / {_TOTAL}, 0.0) END"
)


def category_parts(ctx: Context, categories: Sequence[str]) -> list[Part]:
    """Spend and view shares, dominant categories and entropy, as assembly parts."""
    concrete = {f.name: f for f in concrete_features(categories)}
    spend = ctx.relation(
        "spend_shares",
        lambda c: share_sql(
            f"SELECT customer_id, category, spend AS w FROM {lines_table(c)} WHERE is_spend AND spend IS NOT NULL",
            "cat_spend_share__",
            categories,
            f"{_DOMINANT} AS dominant_category, MAX(w) / NULLIF({_TOTAL}, 0) AS dominant_category_share, "
            f"{_ENTROPY} AS category_entropy",
        ),
    )
    views = ctx.relation(
        "view_shares",
        lambda c: share_sql(
            f"SELECT customer_id, category, views AS w FROM {category_views_table(c)} WHERE views > 0",
            "cat_view_share__",
            categories,
            f"{_DOMINANT} AS dominant_view_category",
            total=count_sum,
        ),
    )
    spend_features = [f for n, f in concrete.items() if n.startswith("cat_spend_share__")]
    spend_features += [
        concrete[n] for n in ("dominant_category", "dominant_category_share", "category_entropy")
    ]
    view_features = [f for n, f in concrete.items() if n.startswith("cat_view_share__")]
    view_features.append(concrete["dominant_view_category"])
    return [
        Part("spend", spend, tuple(spend_features), SPEND_REQUIRES),
        Part("views", views, tuple(view_features), VIEW_REQUIRES),
    ]
