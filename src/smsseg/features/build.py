"""``build_features``: one row per customer as of a cut-off, from the declared feature families.

Each family is one (or a few) DuckDB aggregation(s) over the input files, cut at ``as_of`` and
grouped by customer, kept as temporary tables; one query joins them onto the population
(:mod:`smsseg.features.assemble`). Only that per-customer result reaches pandas, where the
rank-based RFM scores and the BTYD predictions are added and the declared dtypes applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from smsseg import config
from smsseg.data.load import Dataset
from smsseg.features._query import SECONDS_PER_DAY, Context, aggregate_sql, make_context
from smsseg.features.assemble import Part, fetch_parts, population_sql
from smsseg.features.browse import (
    CART_QUERY,
    EVENTS_QUERY,
    RESTOCK_QUERY,
    cart_sql,
    events_sql,
    restock_sql,
)
from smsseg.features.catalogue import AggregateQuery, Feature
from smsseg.features.category import DEFAULT_TOP_K, category_parts, prices, top_categories
from smsseg.features.engagement import LOYALTY_QUERY, SMS_QUERY
from smsseg.features.lifetime import DEFAULT_FIT_SAMPLE, btyd_frame
from smsseg.features.orders import ORDER_FEATURES, ORDERS_QUERY, SEQUENCE_QUERY, orders_table
from smsseg.features.profile import PROFILE_QUERY
from smsseg.features.registry import output_features
from smsseg.features.rfm import add_rfm_scores

#: The declared per-customer aggregations (category and BTYD are computed from their results).
QUERIES: tuple[AggregateQuery, ...] = (
    PROFILE_QUERY,
    ORDERS_QUERY,
    SEQUENCE_QUERY,
    EVENTS_QUERY,
    RESTOCK_QUERY,
    CART_QUERY,
    SMS_QUERY,
    LOYALTY_QUERY,
)

#: The steps of a build, in order (the progress display counts them).
STEPS: tuple[str, ...] = (
    "customers",
    "orders",
    "events",
    "cart",
    "category",
    "sms",
    "loyalty",
    "join",
    "btyd",
    "assemble",
)

Progress = Callable[[str], None]


def build_features(
    data: Dataset,
    as_of: object,
    *,
    horizon_days: int = 90,
    categories: Sequence[str] | None = None,
    top_k: int = DEFAULT_TOP_K,
    btyd: bool = True,
    btyd_fit_sample: int = DEFAULT_FIT_SAMPLE,
    seed: int = config.DEFAULT_SEED,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Point-in-time features of every customer who exists at ``as_of``.

    Parameters
    ----------
    data : Dataset
        Loaded tables (:func:`smsseg.data.load` or :func:`smsseg.data.load_frames`).
    as_of : str or Timestamp
        The cut-off. Required. Only rows with timestamps ``<= as_of`` are read; a bare date
        means 00:00 UTC of that day.
    horizon_days : int
        Horizon of the BTYD predictions (``btyd_expected_purchases`` ...).
    categories : sequence of str, optional
        Fixed category list for the category vectors (use the training list when scoring);
        default: the ``top_k`` categories by spend up to ``as_of``.
    top_k : int
        Number of categories in the vectors when ``categories`` is not given.
    btyd : bool
        Fit the BG/NBD and Gamma-Gamma models (else the ``btyd_*`` columns are NA).
    btyd_fit_sample, seed : int
        Size and seed of the sample of customers the BTYD models are fitted on.
    progress : callable, optional
        Called with each step's name (see :data:`STEPS`) before it runs.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), one column per feature in catalogue order
        (:func:`smsseg.features.feature_catalogue`), with the declared dtypes. Features of
        tables or columns the data does not have are NA. ``attrs`` holds ``as_of``,
        ``horizon_days`` and ``categories``.

    Raises
    ------
    SmssegError
        ``as_of`` missing or not a date, ``horizon_days < 1``, or ``as_of`` before the first
        customer was created.

    Example
    -------
    >>> features = build_features(load("demo/data"), as_of="2025-07-01")  # doctest: +SKIP
    >>> features[["recency_days", "frequency", "rfm_segment"]].head()  # doctest: +SKIP
    """
    step = progress or (lambda name: None)
    with make_context(data, as_of, horizon_days) as ctx:
        frame, chosen = _assemble(ctx, step, categories, top_k)
        step("btyd")
        lifetime = btyd_frame(ctx, btyd_fit_sample, seed) if btyd and len(frame) else None
    step("assemble")
    frame = add_rfm_scores(frame)
    frame["days_since_last_engagement"] = _days_since_engagement(frame, ctx.as_of)
    return _finalize(frame, lifetime, output_features(chosen), ctx, chosen)


def _assemble(
    ctx: Context, step: Progress, categories, top_k: int
) -> tuple[pd.DataFrame, list[str]]:
    """Run every family's aggregation, then join them all onto the population in one query."""
    step("customers")
    population = Part(
        "c",
        ctx.relation("customers", lambda c: population_sql(aggregate_sql(c, PROFILE_QUERY))),
        PROFILE_QUERY.features,
    )
    step("orders")
    parts = [
        Part(
            "o",
            orders_table(ctx),
            ORDER_FEATURES,
            ORDERS_QUERY.requires,
            ("_last_any_order_at",),
        )
    ]
    step("events")
    parts.append(
        Part(
            "e",
            ctx.relation("events", events_sql),
            EVENTS_QUERY.features,
            EVENTS_QUERY.requires,
            ("_last_event_at",),
        )
    )
    parts.append(
        Part(
            "r",
            ctx.relation("restocked", restock_sql),
            RESTOCK_QUERY.features,
            RESTOCK_QUERY.requires,
        )
    )
    step("cart")
    parts.append(
        Part(
            "k",
            ctx.relation("cart", lambda c: cart_sql(c, prices(c))),
            CART_QUERY.features,
            CART_QUERY.requires,
        )
    )
    step("category")
    chosen = list(categories) if categories is not None else top_categories(ctx, top_k)
    parts += category_parts(ctx, chosen)
    step("sms")
    parts.append(
        Part(
            "s",
            ctx.relation("sms", lambda c: aggregate_sql(c, SMS_QUERY)),
            SMS_QUERY.features,
            SMS_QUERY.requires,
            ("_last_click_at",),
        )
    )
    step("loyalty")
    parts.append(
        Part(
            "l",
            ctx.relation("loyalty", lambda c: aggregate_sql(c, LOYALTY_QUERY)),
            LOYALTY_QUERY.features,
            LOYALTY_QUERY.requires,
        )
    )
    step("join")
    frame = fetch_parts(ctx, population, parts)
    return frame, chosen


def _days_since_engagement(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    stamps = [
        frame[c].to_numpy(dtype="datetime64[us]")
        for c in ("_last_any_order_at", "_last_event_at", "_last_click_at")
    ]
    latest = np.fmax.reduce(stamps)  # NaT-aware: the latest known of the three
    return pd.Series(
        (np.datetime64(as_of, "us") - latest) / np.timedelta64(1, "s") / SECONDS_PER_DAY,
        index=frame.index,
    )


def _finalize(
    frame: pd.DataFrame,
    lifetime: pd.DataFrame | None,
    features: list[Feature],
    ctx: Context,
    categories: list[str],
) -> pd.DataFrame:
    """Declared columns only, in catalogue order, with declared dtypes; absent ones all-NA.

    ``lifetime`` holds the BTYD columns, in the same customer order as ``frame``.
    """
    if lifetime is not None and not lifetime.index.equals(frame.index):
        lifetime = lifetime.reindex(frame.index)
    columns = {}
    for feature in features:
        if lifetime is not None and feature.name in lifetime:
            values = lifetime[feature.name]
        elif feature.name in frame:
            values = frame[feature.name]
        else:
            values = pd.Series(pd.NA, index=frame.index, dtype=object)
        columns[feature.name] = _cast(values, feature).array
    out = pd.DataFrame(columns, index=frame.index, copy=False)
    out.index.name = "customer_id"
    out.attrs.update(
        as_of=ctx.as_of.isoformat(), horizon_days=ctx.horizon_days, categories=list(categories)
    )
    if lifetime is not None and "btyd_diagnostics" in lifetime.attrs:
        out.attrs["btyd_diagnostics"] = lifetime.attrs["btyd_diagnostics"]
    return out


def _cast(values: pd.Series, feature: Feature) -> pd.Series:
    """``values`` as the declared dtype; columns already right (the usual case) are not copied."""
    target = feature.pandas_dtype
    if str(values.dtype) == target:
        return values
    if feature.dtype == "category":
        return values.astype("category")
    if feature.dtype in ("float", "int"):
        numeric = (
            values
            if pd.api.types.is_numeric_dtype(values)
            else pd.to_numeric(values.astype(object))
        )
        return numeric.astype(target)
    if pd.api.types.is_bool_dtype(values):
        return values.astype(target)
    return values.astype(object).where(values.notna(), None).astype(target)
