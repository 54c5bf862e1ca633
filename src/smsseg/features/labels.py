"""Labels (churn, discount response) and stacked training snapshots for out-of-time validation.

Labels look *forward* from a cut-off ``c`` over ``(c, c + horizon_days]``; the features of a
snapshot look backward from the same ``c``. A snapshot may be used for training as of a date
``as_of`` only if its label window has ended by then: ``c + horizon_days <= as_of``
(:func:`check_label_window`), otherwise its labels would use data not yet observed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from smsseg.data.load import Dataset
from smsseg.errors import SmssegError
from smsseg.features._query import Context, check_horizon, make_context, parse_as_of
from smsseg.features.build import build_features
from smsseg.features.category import DEFAULT_TOP_K, top_categories
from smsseg.features.orders import completed_as_of

# Orders completed as they stood at the end of the window: one returned after it was a purchase
# then (and the label stays a function of the data up to the window's end).
_NEXT_ORDERS = f"""
    SELECT customer_id, ordered_at, order_id,
           (discount_amount > 0 OR promo_code IS NOT NULL) AS discounted
    FROM orders WHERE {completed_as_of(at="{as_of} + INTERVAL {h} DAY")}
      AND ordered_at > {{as_of}} AND ordered_at <= {{as_of}} + INTERVAL {{h}} DAY
"""
_POPULATION = "SELECT customer_id FROM customers WHERE created_at <= {as_of}"


def label_window_end(cutoff: object, horizon_days: int) -> pd.Timestamp:
    """End of the label window of a snapshot taken at ``cutoff``: ``cutoff + horizon_days``."""
    return parse_as_of(cutoff) + pd.Timedelta(days=check_horizon(horizon_days))


def check_label_window(cutoff: object, horizon_days: int, as_of: object) -> pd.Timestamp:
    """Raise :class:`SmssegError` unless the label window of ``cutoff`` ends on or before ``as_of``."""
    end = label_window_end(cutoff, horizon_days)
    limit = parse_as_of(as_of)
    if end > limit:
        raise SmssegError(
            f"snapshot cutoff='{parse_as_of(cutoff)}' with horizon_days={horizon_days} has a label window "
            f"ending {end}, after as_of='{limit}'; label windows must end on or before as_of"
        )
    return end


class CensoredLabelWarning(UserWarning):
    """A label window ends after the last order in the data: churn may only mean "data stops"."""


def _warn_if_censored(ctx: Context) -> None:
    last = ctx.data.con.execute("SELECT MAX(ordered_at) FROM orders").fetchone()[0]
    end = ctx.as_of + pd.Timedelta(days=ctx.horizon_days)
    if last is not None and end > pd.Timestamp(last):
        warnings.warn(
            f"the label window ({ctx.as_of}, {end}] ends after the last order in the data "
            f"({pd.Timestamp(last)}): customers may look churned only because the data stops",
            CensoredLabelWarning,
            stacklevel=3,
        )


def _label_sql(ctx: Context, select: str, grouped: str) -> pd.Series:
    sql = (
        f"WITH pop AS ({_POPULATION}), nxt AS ({_NEXT_ORDERS}), per AS ({grouped}) "
        f"SELECT pop.customer_id, {select} AS label FROM pop LEFT JOIN per USING (customer_id) "
        "ORDER BY pop.customer_id"
    )
    sql = ctx.sql(sql).replace("{h}", str(ctx.horizon_days))
    frame = ctx.data.con.execute(sql).df().set_index("customer_id")
    return frame["label"]


def churn_label(data: Dataset, as_of: object, horizon_days: int = 90) -> pd.Series:
    """1 when the customer places no completed order in ``(as_of, as_of + horizon_days]``, else 0.

    One value per customer existing at ``as_of`` (``created_at <= as_of``), indexed by
    ``customer_id``, named ``churn``. Warns when the window runs past the last order in the data.

    Example
    -------
    >>> churn_label(data, "2025-06-01", horizon_days=90).mean()  # churn rate  # doctest: +SKIP
    """
    ctx = make_context(data, as_of, horizon_days)
    _warn_if_censored(ctx)
    grouped = "SELECT DISTINCT customer_id, TRUE AS bought FROM nxt"
    label = _label_sql(ctx, "CASE WHEN per.bought THEN 0 ELSE 1 END", grouped)
    return label.astype("int8").rename("churn")


def discount_label(data: Dataset, as_of: object, horizon_days: int = 90) -> pd.Series:
    """Whether the customer's next completed order in the window used a discount or promo code.

    1: the first completed order in ``(as_of, as_of + horizon_days]`` had a discount (or promo
    code); 0: it had none; NA: no order in the window (the response is unobserved). Named
    ``discount_response``; indexed like :func:`churn_label`.

    Raises
    ------
    SmssegError
        When the orders have neither ``discount_amount`` nor ``promo_code``.
    """
    ctx = make_context(data, as_of, horizon_days)
    if not ctx.present("orders.discount_amount|orders.promo_code"):
        raise SmssegError(
            "discount_label needs orders.discount_amount or orders.promo_code; the orders table has neither"
        )
    _warn_if_censored(ctx)
    # ties on ordered_at are broken by order_id, so the label does not depend on row order
    grouped = "SELECT customer_id, arg_min(discounted, (ordered_at, order_id)) AS used FROM nxt GROUP BY customer_id"
    label = _label_sql(ctx, "CASE WHEN per.used THEN 1 WHEN NOT per.used THEN 0 END", grouped)
    return label.astype("Int8").rename("discount_response")


def snapshot_cutoffs(
    as_of: object, horizon_days: int, n_snapshots: int, spacing_days: int
) -> list[pd.Timestamp]:
    """Cut-offs ``as_of - horizon - i * spacing`` for ``i = n-1 ... 0`` (oldest first)."""
    end = parse_as_of(as_of)
    horizon = check_horizon(horizon_days)
    n = check_horizon(n_snapshots, "n_snapshots")
    spacing = check_horizon(spacing_days, "spacing_days")
    latest = end - pd.Timedelta(days=horizon)
    return [latest - pd.Timedelta(days=i * spacing) for i in reversed(range(n))]


def training_snapshots(
    data: Dataset,
    as_of: object,
    horizon_days: int = 90,
    n_snapshots: int = 4,
    spacing_days: int = 30,
    *,
    cutoffs: Sequence[object] | None = None,
    categories: Sequence[str] | None = None,
    top_k: int = DEFAULT_TOP_K,
    **feature_kwargs,
) -> pd.DataFrame:
    """Feature rows at several cut-offs, stacked, with their churn and discount-response labels.

    Parameters
    ----------
    data : Dataset
    as_of : str or Timestamp
        The date training happens: every label window must end on or before it.
    horizon_days : int
        Label (and BTYD) horizon.
    n_snapshots, spacing_days : int
        Number of cut-offs and days between them; the latest is ``as_of - horizon_days``.
    cutoffs : sequence, optional
        Explicit cut-offs instead; each is checked with :func:`check_label_window`.
    categories, top_k :
        The category vector columns; by default the top-K categories as of the *earliest*
        cut-off, shared by every snapshot so the columns line up without looking ahead.
    **feature_kwargs :
        Passed to :func:`build_features` (``btyd``, ``seed`` ...).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (one row per customer and snapshot), the feature columns,
        then ``snapshot`` (the cut-off), ``churn`` and ``discount_response`` (NA when the data
        has no discount columns or no order followed). Sorted by snapshot, then customer.

    Raises
    ------
    SmssegError
        A label window ending after ``as_of``; bad ``horizon_days`` / ``n_snapshots`` /
        ``spacing_days``; a cut-off before the first customer exists.
    """
    limit = parse_as_of(as_of)
    horizon = check_horizon(horizon_days)
    if cutoffs is None:
        stamps = snapshot_cutoffs(limit, horizon, n_snapshots, spacing_days)
    else:
        stamps = sorted(parse_as_of(c) for c in cutoffs)
        if not stamps:
            raise SmssegError("cutoffs=[] must hold at least one cut-off date")
    for cutoff in stamps:
        check_label_window(cutoff, horizon, limit)
    if categories is None:
        with make_context(data, stamps[0], horizon) as ctx:
            categories = top_categories(ctx, top_k)
    frames = [_snapshot(data, c, horizon, list(categories), feature_kwargs) for c in stamps]
    out = pd.concat(frames)
    out.attrs.update(
        as_of=limit.isoformat(),
        horizon_days=horizon,
        categories=list(categories),
        cutoffs=[c.isoformat() for c in stamps],
    )
    # the BG/NBD and Gamma-Gamma fit diagnostics of every cut-off (pd.concat drops attrs)
    out.attrs["btyd_diagnostics"] = {
        c.isoformat(): f.attrs["btyd_diagnostics"]
        for c, f in zip(stamps, frames, strict=True)
        if "btyd_diagnostics" in f.attrs
    }
    return out


def _snapshot(
    data: Dataset, cutoff: pd.Timestamp, horizon: int, categories: list[str], kwargs: dict
) -> pd.DataFrame:
    features = build_features(data, cutoff, horizon_days=horizon, categories=categories, **kwargs)
    features["snapshot"] = cutoff
    features["churn"] = churn_label(data, cutoff, horizon)
    try:
        features["discount_response"] = discount_label(data, cutoff, horizon)
    except SmssegError:  # no discount columns: the label is unobservable, not an error here
        features["discount_response"] = pd.Series(pd.NA, index=features.index, dtype="Int8")
    return features
