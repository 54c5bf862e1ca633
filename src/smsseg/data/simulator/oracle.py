"""Exact purchase probabilities from the latent state: the engine behind the oracle functions.

For an alive customer the future is a continuous-time Markov chain with three alive states —
``pre`` (not yet opted in to SMS), ``subscribed`` and ``unsubscribed`` — plus death, and orders
arrive at the intensity of :mod:`smsseg.data.simulator.orders` times the share of orders that end
up completed. Over a step of length ``dt`` in which the order intensity ``l`` is constant (steps
end at UTC midnights, where seasonality and promotions change), a state with death hazard ``h``
and exit rate ``o`` (opt-out) keeps ``exp(-(l + h + o) dt)`` of its "no order yet" mass, sends
``h / (l + h + o) * (1 - exp(-(l + h + o) dt))`` of it to "dead without an order" and the
``o`` share to the unsubscribed state. ``P(no completed order in the window)`` is the mass that
never met an order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smsseg.data.simulator.calendar import Calendar
from smsseg.data.simulator.params import PARAMS, Params

PRE, SUBSCRIBED, UNSUBSCRIBED = 0, 1, 2


@dataclass
class LatentState:
    """What the oracle knows about each customer at the window start."""

    rate: np.ndarray  # completed orders per day at full price, average season
    sensitivity: np.ndarray
    affinity: np.ndarray
    hazard: np.ndarray
    hazard_sms: np.ndarray
    optout: np.ndarray  # opt-out rate while subscribed
    state: np.ndarray  # PRE / SUBSCRIBED / UNSUBSCRIBED at the window start
    opt_in: np.ndarray  # planned opt-in time (for PRE)
    code_rate: np.ndarray  # rate of a personal discount code ...
    code_from: np.ndarray  # ... valid from ...
    code_until: np.ndarray  # ... until


def _step(
    q: np.ndarray, exits: np.ndarray, death: np.ndarray, dt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(mass kept, share of the mass that leaves per unit exit rate) for one state."""
    kept = np.exp(-exits * dt)
    with np.errstate(invalid="ignore", divide="ignore"):
        leave = np.where(exits > 0, (1.0 - kept) / exits, dt)
    return q * kept, q * leave


def no_order_probability(
    calendar: Calendar, s: LatentState, start: np.ndarray | float, days: int, p: Params = PARAMS
) -> np.ndarray:
    """P(no completed order in (start, start + days]) for customers alive at ``start``."""
    n = s.rate.size
    start = np.broadcast_to(np.asarray(start, dtype=float), (n,))
    q = [(s.state == k).astype(float) for k in (PRE, SUBSCRIBED, UNSUBSCRIBED)]
    dead = np.zeros(n)
    base = np.floor(start)
    frac = start - base
    last_day = calendar.season.size - 1
    for k in range(days):
        for piece in (0, 1):
            if piece == 0:
                u0, dt, day = start + k, 1.0 - frac, base + k
            else:
                u0, dt, day = base + k + 1, frac, base + k + 1
            if not dt.any():
                continue
            d = np.minimum(day, last_day).astype(np.int64)
            mid = u0 + dt / 2
            code = np.where((s.code_from <= mid) & (mid < s.code_until), s.code_rate, 0.0)
            offer = code + np.einsum("ij,ij->i", s.affinity, calendar.promo_rate[d])
            rate = s.rate * calendar.season[d] * (1 + p.discount_response * s.sensitivity * offer)
            joins = (s.opt_in <= mid) & (q[0] > 0)
            q[1] = q[1] + np.where(joins, q[0], 0.0)
            q[0] = np.where(joins, 0.0, q[0])
            q[0], out0 = _step(q[0], rate + s.hazard, s.hazard, dt)
            q[1], out1 = _step(q[1], rate + s.hazard_sms + s.optout, s.hazard_sms, dt)
            q[2], out2 = _step(q[2], rate + s.hazard, s.hazard, dt)
            dead += s.hazard * out0 + s.hazard_sms * out1 + s.hazard * out2
            q[2] = q[2] + s.optout * out1
    return q[0] + q[1] + q[2] + dead
