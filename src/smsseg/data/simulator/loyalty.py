"""Loyalty programme: enrolment, tiers, points balance and the next points expiry.

One point per currency unit of completed orders after enrolment. Points expire one year after
the end of the calendar quarter in which they were earned; ``points_expiring`` are the points of
the oldest unexpired quarter and ``points_expire_at`` their expiry (possibly after the period).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smsseg.data.simulator.calendar import Period
from smsseg.data.simulator.customers import NEVER, Cohort
from smsseg.data.simulator.lifecycle import Lifecycle
from smsseg.data.simulator.orders import Orders
from smsseg.data.simulator.params import PARAMS, Params
from smsseg.data.simulator.util import first_per_owner

TIERS = ("Bronze", "Silver", "Gold", "Platinum")
TIER_SPEND = np.array([300.0, 800.0, 2000.0])  # 12-month spend thresholds


@dataclass
class Loyalty:
    member: np.ndarray  # customer positions
    enrolled: np.ndarray  # per customer (NEVER: not a member)
    tier: np.ndarray  # per member
    balance: np.ndarray
    expiring: np.ndarray
    expire_at: np.ndarray  # days (nan: nothing expiring)


def _quarter_expiry(period: Period, t: np.ndarray) -> np.ndarray:
    """Expiry day of points earned at ``t``: the start of the next quarter, one year later."""
    date = period.start.to_datetime64().astype("datetime64[D]") + np.floor(t).astype(
        "timedelta64[D]"
    )
    month = date.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    next_quarter = (month // 3 + 1) * 3 + 12
    expiry = next_quarter.astype("datetime64[M]").astype("datetime64[D]")
    return (
        (expiry - period.start.to_datetime64().astype("datetime64[D]"))
        .astype(np.int64)
        .astype(float)
    )


def enrol(
    rng: np.random.Generator,
    c: Cohort,
    life: Lifecycle,
    orders: Orders,
    period: Period,
    p: Params = PARAMS,
) -> Loyalty:
    n_days = period.n_days
    done = orders.status == 0
    first_order = first_per_owner(orders.owner[done], orders.t[done], c.n, NEVER)
    u = rng.random(c.n)
    enrolled = np.where(u < p.loyalty_at_signup, c.signup + 3 / 1440, NEVER)
    later = (u >= p.loyalty_at_signup) & (u < p.loyalty_at_signup + p.loyalty_at_first_order)
    enrolled = np.where(later, first_order + 1 / 1440, enrolled)
    enrolled = np.where(enrolled < np.minimum(life.death, n_days), enrolled, NEVER)
    member = np.flatnonzero(enrolled < NEVER)

    pos = np.full(c.n, -1)
    pos[member] = np.arange(member.size)
    earn = done & (orders.t >= enrolled[orders.owner])
    o_owner, o_t, points = orders.owner[earn], orders.t[earn], np.floor(orders.amount[earn])
    expiry = _quarter_expiry(period, o_t)
    alive = expiry >= n_days
    m = pos[o_owner[alive]]
    balance = np.bincount(m, points[alive], minlength=member.size)
    soonest = np.full(member.size, np.inf)
    np.minimum.at(soonest, m, expiry[alive])
    first = expiry[alive] == soonest[m]
    expiring = np.bincount(m[first], points[alive][first], minlength=member.size)
    recent = o_t >= n_days - 365
    spend = np.bincount(pos[o_owner[recent]], orders.amount[earn][recent], minlength=member.size)
    kept = 1.0 - rng.uniform(0.0, 0.6, member.size)  # the rest was redeemed
    return Loyalty(
        member=member,
        enrolled=enrolled,
        tier=np.searchsorted(TIER_SPEND, spend, side="right"),
        balance=np.round(balance * kept),
        expiring=np.round(expiring * kept),
        expire_at=np.where(np.isfinite(soonest) & (expiring > 0), soonest, np.nan),
    )
