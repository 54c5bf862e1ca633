"""Loyalty programme: enrolment, the points ledger, and the programme state at the end.

One point per currency unit of completed orders after enrolment, credited when the order is
placed. Points expire one year after the end of the calendar quarter in which they were earned.
At each completed order a member redeems part of the points of their previous order (the share
they do not keep, drawn per member), provided those points have not expired. Debits (redemptions
and expiries) consume the soonest-expiring points first, the rule the loyalty features read the
ledger with, so the expiry entries are the points of each quarter that nobody spent. The tier
follows the member's spend on completed orders over the last 365 days (Bronze < 300 <= Silver <
800 <= Gold < 2000 <= Platinum), from Bronze at enrolment.

Everything happens on whole seconds (what the tables store), so the ledger read back from the
files gives exactly the state computed here. The ``loyalty`` table's tier, balance and expiring
points are that ledger's state at the end of the period, stamped ``snapshot_at`` (the last
second of the period).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smsseg.data.contract import LOYALTY_EVENT_KINDS
from smsseg.data.simulator.calendar import Period
from smsseg.data.simulator.customers import NEVER, Cohort
from smsseg.data.simulator.lifecycle import Lifecycle
from smsseg.data.simulator.orders import Orders
from smsseg.data.simulator.params import PARAMS, Params
from smsseg.data.simulator.util import first_per_owner

TIERS = ("Bronze", "Silver", "Gold", "Platinum")
TIER_SPEND = np.array([300.0, 800.0, 2000.0])  # 12-month spend thresholds
EARN, REDEEM, EXPIRE, ADJUST, TIER_CHANGE = (
    LOYALTY_EVENT_KINDS.index(k) for k in ("earn", "redeem", "expire", "adjust", "tier_change")
)
DAY_S = 86_400
YEAR_S = 365 * DAY_S
# keys packing (member, value) into one int64, so one argsort / searchsorted does the grouping
_MEMBER_SHIFT, _VALUE_SHIFT = 32, 40


@dataclass
class Ledger:
    """``loyalty_events`` rows, times in whole seconds since the period start."""

    owner: np.ndarray  # customer positions
    s: np.ndarray  # seconds
    kind: np.ndarray  # index into LOYALTY_EVENT_KINDS
    points: np.ndarray  # signed; nan on tier changes
    tier: np.ndarray  # index into TIERS; -1 on point entries
    expires_s: np.ndarray  # seconds; -1 when the entry credits nothing that expires

    @staticmethod
    def concat(parts: list[Ledger]) -> Ledger:
        return Ledger(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Ledger.__dataclass_fields__)
        )


@dataclass
class Loyalty:
    member: np.ndarray  # customer positions
    enrolled: np.ndarray  # per customer (NEVER: not a member)
    tier: np.ndarray  # per member, at the end of the period
    balance: np.ndarray
    expiring: np.ndarray
    expire_at: np.ndarray  # days (nan: nothing expiring)
    ledger: Ledger


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


def seconds(t: np.ndarray) -> np.ndarray:
    """Days since the period start → whole seconds, floored as the tables store them."""
    return np.floor(np.asarray(t) * DAY_S).astype(np.int64)


def _key(member: np.ndarray, value: np.ndarray) -> np.ndarray:
    return (member.astype(np.int64) << _MEMBER_SHIFT) | value.astype(np.int64)


def _sum_upto(keys: np.ndarray, cum: np.ndarray, member: np.ndarray, at: np.ndarray, side: str):
    """Per query: the member's values with key <= (``side='right'``) or < (``'left'``) ``at``.

    ``keys`` are sorted (member, value) keys and ``cum`` the cumulative sum of their values,
    with a leading 0.
    """
    end = np.searchsorted(keys, _key(member, at), side=side)
    start = np.searchsorted(keys, _key(member, np.zeros_like(at)), side="left")
    return cum[end] - cum[start]


def _running_max(member: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Running maximum of ``value`` (integers in [0, 2**40)) within each member (rows sorted)."""
    packed = (member.astype(np.int64) << _VALUE_SHIFT) | value
    return np.maximum.accumulate(packed) & ((1 << _VALUE_SHIFT) - 1)


def _first_of_group(member: np.ndarray) -> np.ndarray:
    return np.r_[True, member[1:] != member[:-1]] if member.size else np.zeros(0, bool)


def _redemptions(m, s, points, expiry_s, kept) -> tuple[np.ndarray, ...]:
    """At each completed order, the member redeems the unkept share of the previous order's
    points, unless they have expired. Returns (member, second, points > 0)."""
    nxt = np.flatnonzero((m[1:] == m[:-1]) & (s[1:] < expiry_s[:-1]))
    redeemed = np.floor((1.0 - kept[m[nxt]]) * points[nxt])
    keep = redeemed > 0
    return m[nxt + 1][keep], s[nxt + 1][keep], redeemed[keep].astype(np.int64)


def _expiries(lot_m, lot_x, lot_p, red_m, red_s, red_p, end_s) -> tuple[np.ndarray, ...]:
    """Points expiring at each quarter boundary before ``end_s`` (soonest-expiring spent first).

    Just before ``T`` the unspent points of lots expiring by ``T`` are ``E(<= T) - D(< T)``
    (credits expiring by ``T`` minus every debit so far, expiries included). So the points
    expired by ``T`` add up to the running maximum of ``E(<= T') - R(< T')`` over the
    boundaries ``T' <= T``, floored at 0. Returns (member, second, points > 0).
    """
    order = np.lexsort((lot_x, lot_m))
    lot_keys = _key(lot_m[order], lot_x[order])
    lot_cum = np.r_[0, np.cumsum(lot_p[order])]
    r_order = np.lexsort((red_s, red_m))
    red_keys = _key(red_m[r_order], red_s[r_order])
    red_cum = np.r_[0, np.cumsum(red_p[r_order])]
    due = np.unique(lot_keys[lot_x[order] < end_s])  # (member, boundary), sorted
    m = due >> _MEMBER_SHIFT
    x = due & ((1 << _MEMBER_SHIFT) - 1)
    earned = _sum_upto(lot_keys, lot_cum, m, x, "right")
    redeemed = _sum_upto(red_keys, red_cum, m, x, "left")
    total = _running_max(m, np.maximum(earned - redeemed, 0))
    before = np.where(_first_of_group(m), 0, np.r_[0, total[:-1]])
    expired = total - before
    keep = expired > 0
    return m[keep], x[keep], expired[keep]


def _tier_changes(m, s, cents, enrolled_m, enrolled_s, end_s) -> tuple[np.ndarray, ...]:
    """The tier after each change of the member's 365-day spend, from Bronze at enrolment.

    Spend moves up at an order and down when the order leaves the window a year later; moves
    at the same second are one step. Returns (member, second, tier) of every change, the
    enrolment included.
    """
    gone = s + YEAR_S < end_s
    mm = np.concatenate([enrolled_m, m, m[gone]])
    ss = np.concatenate([enrolled_s, s, s[gone] + YEAR_S])
    delta = np.concatenate([np.zeros(enrolled_m.size, np.int64), cents, -cents[gone]])
    order = np.lexsort((ss, mm))
    mm, ss, delta = mm[order], ss[order], delta[order]
    cum = np.cumsum(delta)
    starts = np.flatnonzero(_first_of_group(mm))
    spend = cum - np.repeat(cum[starts] - delta[starts], np.diff(np.r_[starts, mm.size]))
    last = np.r_[(mm[1:] != mm[:-1]) | (ss[1:] != ss[:-1]), True]  # one step per second
    mm, ss = mm[last], ss[last]
    tier = np.searchsorted(np.round(TIER_SPEND * 100).astype(np.int64), spend[last], "right")
    changed = _first_of_group(mm) | np.r_[True, tier[1:] != tier[:-1]]
    return mm[changed], ss[changed], tier[changed]


def _state(ledger: Ledger, n_members: int, pos: np.ndarray, end_s: int):
    """Balance, tier and the soonest expiry of unspent points at the end (the snapshot)."""
    m = pos[ledger.owner]
    has_points = ~np.isnan(ledger.points)
    balance = np.bincount(m[has_points], ledger.points[has_points], minlength=n_members)
    tiers = np.flatnonzero(ledger.kind == TIER_CHANGE)
    tiers = tiers[np.lexsort((ledger.s[tiers], m[tiers]))]
    latest = tiers[np.r_[m[tiers][1:] != m[tiers][:-1], True]]  # each member's last change
    tier = np.zeros(n_members, np.int64)
    tier[m[latest]] = ledger.tier[latest]
    debit = ledger.points < 0
    debits = np.bincount(m[debit], -ledger.points[debit], minlength=n_members)
    lots = ledger.expires_s >= 0
    lot_m, lot_x, lot_p = m[lots], ledger.expires_s[lots], ledger.points[lots]
    order = np.lexsort((lot_x, lot_m))
    lot_m, lot_x, lot_p = lot_m[order], lot_x[order], lot_p[order]
    starts = np.flatnonzero(_first_of_group(lot_m))
    cum = np.cumsum(lot_p)
    earned = cum - np.repeat(cum[starts] - lot_p[starts], np.diff(np.r_[starts, lot_m.size]))
    unspent = np.maximum(earned - debits[lot_m], 0)  # of the lots expiring by lot_x
    first = np.flatnonzero((lot_x >= end_s) & (unspent > 0))
    first = first[_first_of_group(lot_m[first])]  # the soonest such expiry per member
    # the lots expiring before it are all spent, so the points expiring then are `unspent`,
    # summed over the lots sharing that expiry (the last of them holds the total)
    same = np.searchsorted(_key(lot_m, lot_x), _key(lot_m[first], lot_x[first]), "right") - 1
    expiring = np.zeros(n_members)
    expiring[lot_m[first]] = unspent[same]
    expire_at = np.full(n_members, np.nan)
    expire_at[lot_m[first]] = lot_x[first] / DAY_S
    return tier, balance, expiring, expire_at


def enrol(
    rng: np.random.Generator,
    c: Cohort,
    life: Lifecycle,
    orders: Orders,
    period: Period,
    p: Params = PARAMS,
) -> Loyalty:
    n_days = period.n_days
    end_s = n_days * DAY_S
    done = orders.status == 0
    first_order = first_per_owner(orders.owner[done], orders.t[done], c.n, NEVER)
    u = rng.random(c.n)
    enrolled = np.where(u < p.loyalty_at_signup, c.signup + 3 / 1440, NEVER)
    later = (u >= p.loyalty_at_signup) & (u < p.loyalty_at_signup + p.loyalty_at_first_order)
    enrolled = np.where(later, first_order + 1 / 1440, enrolled)
    enrolled = np.where(enrolled < np.minimum(life.death, n_days), enrolled, NEVER)
    member = np.flatnonzero(enrolled < NEVER)
    kept = 1.0 - rng.uniform(0.0, 0.6, member.size)  # per member; the rest is redeemed

    pos = np.full(c.n, -1)
    pos[member] = np.arange(member.size)
    # completed orders of members after enrolment, in (customer, time) order as simulated
    earn = done & (orders.t >= enrolled[orders.owner])
    m, s = pos[orders.owner[earn]], seconds(orders.t[earn])
    points = np.floor(orders.amount[earn])
    expiry_s = _quarter_expiry(period, orders.t[earn]).astype(np.int64) * DAY_S
    red_m, red_s, red_p = _redemptions(m, s, points, expiry_s, kept)
    lot = points > 0
    exp_m, exp_s, exp_p = _expiries(
        m[lot], expiry_s[lot], points[lot].astype(np.int64), red_m, red_s, red_p, end_s
    )
    cents = np.round(orders.amount[earn] * 100).astype(np.int64)
    tier_m, tier_s, tier = _tier_changes(
        m, s, cents, np.arange(member.size), seconds(enrolled[member]), end_s
    )
    none = lambda n: np.full(n, -1, np.int64)  # noqa: E731
    nan = lambda n: np.full(n, np.nan)  # noqa: E731
    ledger = Ledger.concat(
        [
            Ledger(m[lot], s[lot], np.full(lot.sum(), EARN), points[lot], none(lot.sum()),
                   expiry_s[lot]),
            Ledger(red_m, red_s, np.full(red_m.size, REDEEM), -red_p.astype(float),
                   none(red_m.size), none(red_m.size)),
            Ledger(exp_m, exp_s, np.full(exp_m.size, EXPIRE), -exp_p.astype(float),
                   none(exp_m.size), none(exp_m.size)),
            Ledger(tier_m, tier_s, np.full(tier_m.size, TIER_CHANGE), nan(tier_m.size), tier,
                   none(tier_m.size)),
        ]
    )  # fmt: skip
    ledger.owner = member[ledger.owner]  # member positions → customer positions
    tier_end, balance, expiring, expire_at = _state(ledger, member.size, pos, end_s)
    return Loyalty(
        member=member,
        enrolled=enrolled,
        tier=tier_end,
        balance=balance,
        expiring=expiring,
        expire_at=expire_at,
        ledger=ledger,
    )
