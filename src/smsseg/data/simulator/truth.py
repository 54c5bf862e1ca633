"""Planted ground truth: ``truth.parquet`` and the oracle functions that read it.

``truth.parquet`` holds one row per customer with the latent traits; features and models must
never read it. The functions below rebuild the calendar (seasonality, promotions) from the
``sim_seed`` / ``sim_start`` / ``sim_end`` columns and integrate the generative model exactly
(see :mod:`smsseg.data.simulator.oracle` for the formula).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg.data.simulator.calendar import Calendar, Period, SimulationError, build_calendar
from smsseg.data.simulator.catalog import CATEGORIES
from smsseg.data.simulator.customers import NEVER
from smsseg.data.simulator.messages import DISCOUNT_EXPERIMENT, MESSAGE_EXPERIMENT
from smsseg.data.simulator.oracle import (
    PRE,
    SUBSCRIBED,
    UNSUBSCRIBED,
    LatentState,
    no_order_probability,
)
from smsseg.data.simulator.params import PARAMS

AFFINITY_COLUMNS = tuple(f"affinity_{c}" for c in CATEGORIES)
REQUIRED = ("customer_id", "created_at", "died_at", "opt_in_at", "opt_out_at", "purchase_rate",
            "completed_share", "discount_sensitivity", "dropout_hazard", "dropout_hazard_sms",
            "optout_rate", "sim_seed", "sim_start", "sim_end", *AFFINITY_COLUMNS)  # fmt: skip


def _calendar(truth: pd.DataFrame) -> Calendar:
    missing = [c for c in REQUIRED if c not in truth.columns]
    if missing:
        raise SimulationError(
            f"truth frame lacks column(s) {missing}; pass the frame read from truth.parquet"
        )
    if truth.empty:
        raise SimulationError("truth frame has no rows")
    first = truth.iloc[0]
    period = Period(pd.Timestamp(first["sim_start"]), pd.Timestamp(first["sim_end"]))
    return build_calendar(period, int(first["sim_seed"]))


def _days(period: Period, stamps: pd.Series) -> np.ndarray:
    days = (pd.to_datetime(stamps) - period.start) / pd.Timedelta(days=1)
    return days.fillna(NEVER).to_numpy(dtype=float)


def latent_state(truth: pd.DataFrame, period: Period, at: np.ndarray) -> LatentState:
    """The oracle's view of each customer at time ``at`` (days since the period start)."""
    opt_in, opt_out = _days(period, truth["opt_in_at"]), _days(period, truth["opt_out_at"])
    state = np.where(opt_out <= at, UNSUBSCRIBED, np.where(opt_in <= at, SUBSCRIBED, PRE))
    code = truth.get("exp_discount_variant", pd.Series(index=truth.index, dtype=object)).eq(
        "treatment"
    )
    code &= (
        truth.get("exp_discount_delivered", pd.Series(False, index=truth.index))
        .fillna(False)
        .astype(bool)
    )
    sent = (
        _days(period, truth["exp_discount_sent_at"])
        if "exp_discount_sent_at" in truth
        else np.full(len(truth), NEVER)
    )
    return LatentState(
        rate=(truth["purchase_rate"] * truth["completed_share"]).to_numpy(float),
        sensitivity=truth["discount_sensitivity"].to_numpy(float),
        affinity=truth[list(AFFINITY_COLUMNS)].to_numpy(float),
        hazard=truth["dropout_hazard"].to_numpy(float),
        hazard_sms=truth["dropout_hazard_sms"].to_numpy(float),
        optout=truth["optout_rate"].to_numpy(float),
        state=state,
        opt_in=opt_in,
        code_rate=np.where(code.to_numpy(bool), PARAMS.discount_exp_rate, 0.0),
        code_from=sent,
        code_until=sent + PARAMS.discount_exp_window_days,
    )


def oracle_churn(truth: pd.DataFrame, as_of: object, horizon_days: int = 90) -> pd.Series:
    """True probability of no completed order in ``(as_of, as_of + horizon_days]``.

    Conditions on the latent state at ``as_of`` only — alive or dropped out, SMS subscription
    state, purchase rate, discount sensitivity and affinities, dropout and opt-out hazards — and
    integrates over the future (seasonality and the promotion calendar are known). It is not the
    realized outcome. A customer who dropped out at or before ``as_of`` scores 1; for an alive
    customer, with ``l(t)`` the completed-order intensity (see :mod:`.orders`) and ``h(t)`` the
    dropout hazard of the current SMS state::

        P = E[exp(-integral of l(t) dt from as_of to min(death, as_of + horizon))]

    computed exactly day by day (:func:`smsseg.data.simulator.oracle.no_order_probability`).

    Parameters
    ----------
    truth : the frame read from ``truth.parquet``.
    as_of : date or timestamp (naive = UTC).
    horizon_days : window length in days, >= 1.

    Returns
    -------
    pandas.Series
        Indexed by ``customer_id``, one value per customer created on or before ``as_of``.

    Example
    -------
    >>> p = oracle_churn(pd.read_parquet("data/truth.parquet"), "2025-09-01", 90)  # doctest: +SKIP
    """
    if not isinstance(horizon_days, int | np.integer) or horizon_days < 1:
        raise SimulationError(f"horizon_days={horizon_days!r} must be an integer >= 1")
    calendar = _calendar(truth)
    period = calendar.period
    at = period.day_of(as_of)
    if at + horizon_days > calendar.season.size:
        raise SimulationError(
            f"as_of={as_of} + horizon_days={horizon_days} reaches too far past the simulated period"
        )
    known = truth[_days(period, truth["created_at"]) <= at]
    death = _days(period, known["died_at"])
    alive = death > at
    p = np.ones(len(known))
    if alive.any():
        sub = known[alive]
        p[alive] = no_order_probability(
            calendar, latent_state(sub, period, np.full(len(sub), at)), at, horizon_days
        )
    return pd.Series(p, index=pd.Index(known["customer_id"], name="customer_id"), name="p_no_order")


def true_uplift(truth: pd.DataFrame) -> pd.Series:
    """True per-customer uplift of the discount SMS on P(completed order within its window).

    The effect of *sending* the experiment's discount SMS (``discount_exp_rate`` off for
    ``discount_exp_window_days`` days) at the experiment's send time, as a difference in
    probability: 0 for customers who had dropped out or cannot receive SMS, scaled by the
    delivery rate otherwise. Heterogeneous through purchase rate, discount sensitivity and
    dropout hazard.
    """
    if "true_uplift" not in truth.columns:
        raise SimulationError(
            "truth frame lacks column 'true_uplift'; pass the frame read from truth.parquet"
        )
    return pd.Series(
        truth["true_uplift"].to_numpy(float),
        index=pd.Index(truth["customer_id"], name="customer_id"),
        name="true_uplift",
    )


def _read_truth(source: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    path = path / "truth.parquet" if path.is_dir() else path
    if not path.exists():
        raise SimulationError(
            f"{path} does not exist; pass a generated data directory or its truth.parquet"
        )
    return pd.read_parquet(path)


def experiment_truth(source: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Planted average effects of the randomized campaigns, to check readouts against.

    Parameters
    ----------
    source : a generated data directory, its ``truth.parquet``, or the truth frame.

    Returns
    -------
    pandas.DataFrame
        One row per experiment: ``campaign_id``, ``treatment`` and ``control`` variants,
        ``metric`` ("purchase": at least one completed order; "click": a click on the
        experiment's SMS), ``window_days`` after ``assigned_at``, ``planted_effect`` (mean true
        effect among assigned customers, a difference in probability), ``expected_control``,
        ``expected_treatment`` and ``n_assigned``.
    """
    truth = _read_truth(source)
    rows = []
    specs = (
        (DISCOUNT_EXPERIMENT, "exp_discount_variant", "treatment", "control", "purchase",
         PARAMS.discount_exp_window_days, "true_uplift", "p_purchase_control"),
        (MESSAGE_EXPERIMENT, "exp_message_variant", "B", "A", "click", PARAMS.message_exp_window_days,
         "ab_click_effect", "ab_click_control"),
    )  # fmt: skip
    for campaign, variant, treat, control, metric, window, effect, base in specs:
        assigned = truth[variant].notna()
        planted = float(truth.loc[assigned, effect].mean()) if assigned.any() else float("nan")
        expected = float(truth.loc[assigned, base].mean()) if assigned.any() else float("nan")
        rows.append(
            {
                "campaign_id": campaign,
                "treatment": treat,
                "control": control,
                "metric": metric,
                "window_days": window,
                "planted_effect": planted,
                "expected_control": expected,
                "expected_treatment": expected + planted,
                "n_assigned": int(assigned.sum()),
            }
        )
    return pd.DataFrame(rows)
