"""BTYD features (BG/NBD, Gamma-Gamma from :mod:`smsseg.features.btyd`), fitted on the as-of history.

Why the RFM summary is computed here in SQL rather than with
:func:`smsseg.features.btyd.rfm_summary`: that function takes the orders as a pandas frame, and at
ten million orders materialising them costs gigabytes and most of the feature build's time.
:data:`SUMMARY_SQL` computes the same four numbers in DuckDB from the orders aggregate (same-day
orders count as one purchase, T counted from the first purchase day or, for non-buyers, the
sign-up day); a test checks it equals ``rfm_summary`` on a fixture. The models are fitted on a seeded sample of the
population (the likelihood has four parameters; a sample pins them down), and applied to all.
"""

from __future__ import annotations

import warnings

import pandas as pd

from smsseg import config
from smsseg.errors import SmssegError
from smsseg.features import btyd
from smsseg.features._query import Context
from smsseg.features.catalogue import Feature
from smsseg.features.orders import orders_table

TIME_UNIT_DAYS = 7.0
DEFAULT_FIT_SAMPLE = 20_000

# From the orders aggregate (one pass over the orders, shared with the RFM features): distinct
# purchase days, first and last purchase day, total spend and the first day's spend.
SUMMARY_SQL = """
    SELECT c.customer_id,
           GREATEST(COALESCE(o._purchase_days, 0) - 1, 0) AS frequency,
           COALESCE(epoch(date_trunc('day', o._last_order_at)) - epoch(date_trunc('day', o._first_order_at)), 0)
               / {unit_s} AS recency,
           (epoch(date_trunc('day', {as_of}))
            - epoch(COALESCE(date_trunc('day', o._first_order_at), date_trunc('day', c.created_at)))) / {unit_s} AS "T",
           -- rounded to 1e-6: DuckDB sums in parallel, and the fit must not depend on summation order
           CASE WHEN o._purchase_days > 1
                THEN ROUND((o.monetary_total - o._first_day_spend) / (o._purchase_days - 1), 6) ELSE 0.0 END
               AS monetary_value
    FROM customers AS c LEFT JOIN {orders} AS o ON c.customer_id = o.customer_id
    WHERE c.created_at <= {as_of}
    ORDER BY c.customer_id
"""


def _btyd(name: str, description: str) -> Feature:
    return Feature(
        name, "float", "orders", "horizon ahead", description, "btyd", requires=("orders",)
    )


BTYD_FEATURES = (
    _btyd(
        "btyd_expected_purchases", "BG/NBD expected completed orders over the next horizon_days."
    ),
    _btyd("btyd_p_alive", "BG/NBD probability that the customer is still active at the cut-off."),
    _btyd("btyd_prob_no_purchase", "BG/NBD probability of no order over the next horizon_days."),
    _btyd(
        "btyd_expected_order_value", "Gamma-Gamma expected average order value (NA: fit failed)."
    ),
    _btyd("btyd_clv", "Expected spend over the next horizon_days (purchases x order value)."),
)


def btyd_summary(ctx: Context, time_unit_days: float = TIME_UNIT_DAYS) -> pd.DataFrame:
    """The BTYD summary (frequency, recency, T, monetary_value) of every customer at the cut-off."""
    sql = ctx.sql(SUMMARY_SQL).replace("{unit_s}", repr(time_unit_days * 86_400.0))
    sql = sql.replace("{orders}", orders_table(ctx))
    summary = ctx.data.con.execute(sql).df().set_index("customer_id")
    summary["frequency"] = summary["frequency"].astype("int64")
    summary.attrs["time_unit_days"] = float(time_unit_days)
    return summary


def _fit_sample(summary: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    if len(summary) <= n:
        return summary
    return summary.sample(n=n, random_state=seed)


def btyd_frame(
    ctx: Context, fit_sample: int = DEFAULT_FIT_SAMPLE, seed: int = config.DEFAULT_SEED
) -> pd.DataFrame:
    """BG/NBD (and Gamma-Gamma) features over ``ctx.horizon_days``; NA when a model cannot be fitted.

    A fit that cannot be made (too few customers, degenerate history) warns and leaves the
    features NA rather than failing the whole feature build. Either way
    ``attrs["btyd_diagnostics"]`` says what happened, JSON-ready for the training run's log:
    ``{"fit_sample": n, "bgnbd": {...}, "gamma_gamma": {...}}``, each model's entry its
    ``diagnostics_.to_dict()`` plus ``"fitted"`` (whether its features were computed) and, when
    not, ``"error"``.
    """
    summary = btyd_summary(ctx)
    sample = _fit_sample(summary, fit_sample, seed)
    diagnostics = {"fit_sample": len(sample)}
    try:
        bgnbd = btyd.BetaGeoModel().fit(sample)
    except (SmssegError, ValueError, FloatingPointError) as exc:
        warnings.warn(
            f"BG/NBD could not be fitted as of {ctx.as_of}: {exc}; BTYD features are NA",
            stacklevel=2,
        )
        diagnostics["bgnbd"] = {"fitted": False, "error": str(exc)}
        diagnostics["gamma_gamma"] = {"fitted": False, "error": "BG/NBD could not be fitted"}
        out = pd.DataFrame(index=summary.index)
        out.attrs["btyd_diagnostics"] = diagnostics
        return out
    diagnostics["bgnbd"] = {**bgnbd.diagnostics_.to_dict(), "fitted": True}
    gamma = None
    try:
        gamma = btyd.GammaGammaModel().fit(sample)
        diagnostics["gamma_gamma"] = {**gamma.diagnostics_.to_dict(), "fitted": True}
        gamma.conditional_expected_average_profit(sample.head(1))  # q > 1 check
    except (SmssegError, ValueError, FloatingPointError) as exc:
        warnings.warn(
            f"Gamma-Gamma could not be fitted as of {ctx.as_of}: {exc}; "
            "btyd_expected_order_value and btyd_clv are NA",
            stacklevel=2,
        )
        fitted = gamma.diagnostics_.to_dict() if gamma is not None else {}
        diagnostics["gamma_gamma"] = {**fitted, "fitted": False, "error": str(exc)}
        gamma = None
    out = btyd.btyd_features(bgnbd, summary, float(ctx.horizon_days), gamma_gamma=gamma)
    out.attrs["btyd_diagnostics"] = diagnostics
    return out
