"""Per-customer frequency / recency / T / monetary value as of a date: the BTYD models' input."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg.errors import SmssegError
from smsseg.features.btyd._checks import _plain, _require_columns
from smsseg.timeutil import parse_as_of

ORDER_COLUMNS = ("customer_id", "ordered_at", "amount")


def rfm_summary(
    orders: pd.DataFrame,
    as_of,
    customers: pd.DataFrame | None = None,
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """Per-customer frequency / recency / T / monetary value as of a date, for BTYD models.

    Parameters
    ----------
    orders : DataFrame
        Completed orders with ``customer_id``, ``ordered_at`` and ``amount`` (the caller filters
        the status). Only orders with ``ordered_at <= as_of`` are used; orders on the same calendar
        day count as one purchase (their amounts are summed), as in the papers.
    as_of : str or Timestamp
        The observation end. Required: nothing defaults to the last date in the data.
    customers : DataFrame, optional
        ``customer_id`` and ``created_at``. Customers created on or before ``as_of`` without an
        order get frequency 0, recency 0 and T counted from ``created_at``.
    time_unit_days : float
        Length of one time unit in days (7 = weeks, as in the papers).

    Returns
    -------
    DataFrame
        Index ``customer_id``; columns ``frequency`` (distinct purchase days - 1), ``recency``
        (first to last purchase day), ``T`` (first purchase day to ``as_of``), both in time units,
        and ``monetary_value`` (mean of the repeat purchases, 0 when frequency is 0).
        ``attrs["time_unit_days"]`` records the unit.

    Raises
    ------
    SmssegError
        Missing columns, unparseable or missing timestamps, negative amounts, no customers.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": [1, 1], "ordered_at": ["2024-01-01", "2024-01-15"],
    ...                        "amount": [10.0, 30.0]})
    >>> rfm_summary(orders, as_of="2024-01-29").loc[1].tolist()
    [1.0, 2.0, 4.0, 30.0]
    """
    if not time_unit_days > 0:
        raise SmssegError(f"time_unit_days={time_unit_days!r} must be > 0")
    _require_columns(orders, ORDER_COLUMNS, "orders")
    end = parse_as_of(as_of)
    at = _naive_utc(orders["ordered_at"], "orders.ordered_at")
    amount = pd.to_numeric(orders["amount"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(amount) | (amount < 0)
    if bad.any():
        raise SmssegError(
            f"orders.amount has {int(bad.sum())} missing, non-numeric or negative values "
            f"(first: {_plain(orders['amount'].to_numpy()[bad][0])!r}); amounts must be numbers >= 0"
        )
    keep = (at <= end).to_numpy()
    days = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].to_numpy()[keep],
            "day": at[keep].dt.floor("D").to_numpy(),
            "amount": amount[keep],
        }
    )
    unit = pd.Timedelta(days=time_unit_days)
    per_day = days.groupby(["customer_id", "day"], sort=True)["amount"].sum().reset_index()
    g = per_day.groupby("customer_id", sort=True)
    first, last = g["day"].min(), g["day"].max()
    frequency = g.size() - 1
    repeat_total = g["amount"].sum() - g["amount"].first()  # first() is the first day: sorted
    summary = pd.DataFrame(
        {
            "frequency": frequency.astype("int64"),
            "recency": (last - first) / unit,
            "T": (end.floor("D") - first) / unit,
            "monetary_value": np.where(frequency > 0, repeat_total / frequency.clip(lower=1), 0.0),
        }
    )
    if customers is not None:
        summary = pd.concat([summary, _never_bought(customers, summary.index, end, unit)])
    if summary.empty:
        raise SmssegError(
            f"no customer has an order on or before as_of={end} (and no customer was created "
            "by then): the RFM summary would be empty"
        )
    summary.index.name = "customer_id"
    summary = summary.sort_index()
    summary.attrs["time_unit_days"] = float(time_unit_days)
    return summary


def _never_bought(customers: pd.DataFrame, buyers: pd.Index, end, unit) -> pd.DataFrame:
    """Rows for customers created by ``end`` without an order: frequency 0, T from sign-up."""
    _require_columns(customers, ("customer_id", "created_at"), "customers")
    created = _naive_utc(customers["created_at"], "customers.created_at")
    mask = (created <= end).to_numpy() & ~customers["customer_id"].isin(buyers).to_numpy()
    created_day = created[mask].dt.floor("D").to_numpy()
    n = int(mask.sum())
    return pd.DataFrame(
        {
            "frequency": np.zeros(n, dtype="int64"),
            "recency": np.zeros(n),
            "T": (end.floor("D") - pd.DatetimeIndex(created_day)) / unit,
            "monetary_value": np.zeros(n),
        },
        index=pd.Index(customers["customer_id"].to_numpy()[mask], name="customer_id"),
    )


def _naive_utc(values: pd.Series, what: str) -> pd.Series:
    """Timestamps as naive UTC (the data contract's convention); NaT is an error."""
    try:
        # the contract's timestamps are ISO 8601; parse text that way rather than guess a format
        is_text = not pd.api.types.is_datetime64_any_dtype(values)
        ts = pd.to_datetime(values, format="ISO8601" if is_text else None)
    except (TypeError, ValueError) as exc:
        raise SmssegError(f"{what} has values that are not timestamps: {exc}") from exc
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    if ts.isna().any():
        raise SmssegError(
            f"{what} has {int(ts.isna().sum())} missing timestamps (first at row "
            f"{int(np.flatnonzero(ts.isna().to_numpy())[0])}); every row needs one"
        )
    return ts
