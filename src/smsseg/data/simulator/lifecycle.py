"""SMS consent, promotional sends, STOPs, dropout (death) and the two randomized experiments.

These are resolved together because they depend on each other: STOP replies follow promo sends,
the dropout hazard is higher while a customer is subscribed, and the experiments sample the
customers subscribed on their assignment day. The order of resolution avoids any cycle:

1. a customer who drops out before the planned opt-in never opts in;
2. promo sends from the opt-in on, each with a STOP draw; the first STOP ends the subscription;
3. death by inverting the piecewise-constant cumulative hazard (``hazard`` before opt-in and after
   opt-out, ``hazard_sms`` while subscribed) with one exponential draw per customer;
4. experiment samples among customers subscribed on the assignment day; the discount experiment
   holds its customers out of other promos during its window, so STOP and death are redrawn with
   the same exponential for them (identical before the assignment day).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smsseg.data.simulator.calendar import Calendar
from smsseg.data.simulator.customers import NEVER, Cohort, campaign_relevance, stop_probability
from smsseg.data.simulator.params import PARAMS, Params
from smsseg.data.simulator.util import first_per_owner, ragged_arange, send_time

STOP_REPLY_DAYS = 20.0 / 1440  # mean delay of a STOP reply after the send


@dataclass
class PromoSends:
    owner: np.ndarray
    t: np.ndarray
    campaign: np.ndarray  # index into calendar.campaigns
    relevance: np.ndarray
    stop: np.ndarray  # the customer replies STOP to this send (if alive and still subscribed)
    reply: np.ndarray  # delay of that reply (days)

    def subset(self, keep: np.ndarray) -> PromoSends:
        return PromoSends(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


@dataclass
class Experiment:
    assigned: np.ndarray  # bool per customer
    treated: np.ndarray  # bool: treatment / variant B
    assigned_at: np.ndarray  # days
    sent_at: np.ndarray  # days; the send time (both variants of the A/B test are sent)
    delivered: np.ndarray  # bool


@dataclass
class Lifecycle:
    opt_in: np.ndarray
    opt_out: np.ndarray
    death: np.ndarray  # may lie after the period
    stop_send: np.ndarray  # index into ``promo`` of the send answered by STOP (-1: none)
    promo: PromoSends
    discount: Experiment
    message: Experiment


def bernoulli_subset(
    rng: np.random.Generator, size: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Keep each of ``range(size[i])`` with probability ``q[i]``: (owner, kept position).

    Draws geometric gaps between kept positions instead of one uniform per position (4x fewer
    draws at typical send shares). The number of gaps drawn covers the range but with
    probability ~1e-5 per customer, a truncation no test can see.
    """
    expected = q * size
    n_draw = np.where(
        (size > 0) & (q > 0), np.ceil(expected + 4.0 * np.sqrt(expected) + 4.0), 0
    ).astype(np.int64)
    owner, _ = ragged_arange(n_draw)
    total = np.cumsum(rng.geometric(q[owner]))
    before = np.cumsum(n_draw) - n_draw
    offset = np.where(before > 0, total[np.maximum(before - 1, 0)], 0)
    position = total - np.repeat(offset, n_draw) - 1
    keep = position < size[owner]
    return owner[keep], position[keep]


def promo_sends(
    rng: np.random.Generator, c: Cohort, calendar: Calendar, opt_in: np.ndarray
) -> PromoSends:
    """Every promo send from the opt-in to the end of the period (death and STOP cut them later)."""
    camp = calendar.campaigns
    first = np.searchsorted(camp.day, opt_in, side="right")
    owner, k = bernoulli_subset(
        rng, camp.day.size - first, np.minimum(1.0, c.frequency / camp.per_week)
    )
    k += first[owner]
    t = send_time(rng, camp.day[k], c.offset[owner])
    relevance = campaign_relevance(c.affinity[owner], camp.category[k])
    stop = rng.random(owner.size) < stop_probability(c.stop_scale[owner], relevance)
    reply = 1.0 / 1440 + rng.exponential(STOP_REPLY_DAYS, owner.size)  # after the delivery receipt
    return PromoSends(owner, t, k, relevance, stop, reply)


def death_times(
    c: Cohort, exp_draw: np.ndarray, opt_in: np.ndarray, opt_out: np.ndarray
) -> np.ndarray:
    """Invert the cumulative hazard: ``hazard`` outside [opt_in, opt_out), ``hazard_sms`` inside."""
    a1 = np.maximum(opt_in, c.signup)
    a2 = np.maximum(opt_out, a1)
    h1 = c.hazard * (a1 - c.signup)
    h2 = h1 + c.hazard_sms * (a2 - a1)
    return np.where(
        exp_draw < h1,
        c.signup + exp_draw / c.hazard,
        np.where(
            exp_draw < h2, a1 + (exp_draw - h1) / c.hazard_sms, a2 + (exp_draw - h2) / c.hazard
        ),
    )


def _first_stop(sends: PromoSends, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Opt-out time and the index of the send answered, per customer (NEVER / -1: none)."""
    idx = np.flatnonzero(sends.stop)
    when = sends.t[idx] + sends.reply[idx]
    opt_out = first_per_owner(sends.owner[idx], when, n, NEVER)
    which = np.full(n, -1, dtype=np.int64)
    hit = when == opt_out[sends.owner[idx]]
    which[sends.owner[idx][hit]] = idx[hit]
    return opt_out, which


def _experiment(
    rng: np.random.Generator,
    c: Cohort,
    opt_in: np.ndarray,
    opt_out: np.ndarray,
    day: float,
    share: float,
    p: Params,
) -> Experiment:
    """Randomize customers subscribed for the whole assignment day, with a well-formed phone."""
    eligible = (c.signup <= day) & (c.phone_status == 0) & (opt_in <= day) & (opt_out > day + 1.5)
    assigned = eligible & (rng.random(c.n) < share)
    treated = assigned & (rng.random(c.n) < 0.5)
    sent = send_time(rng, np.full(c.n, day), c.offset)
    delivered = rng.random(c.n) >= p.delivery_failure
    return Experiment(assigned, treated, np.full(c.n, day), sent, delivered)


def resolve(
    rng: np.random.Generator, c: Cohort, calendar: Calendar, p: Params = PARAMS
) -> Lifecycle:
    n_days = calendar.period.n_days
    exp_draw = rng.exponential(size=c.n)
    died_first = c.signup + exp_draw / c.hazard
    opt_in = np.where(died_first < c.opt_in, NEVER, c.opt_in)
    sends = promo_sends(rng, c, calendar, opt_in)
    opt_out, _ = _first_stop(sends, c.n)
    death = death_times(c, exp_draw, opt_in, opt_out)
    opt_out = np.where(opt_out < death, opt_out, NEVER)

    message = _experiment(
        rng, c, opt_in, opt_out, n_days - p.message_exp_days_before_end, p.message_exp_sample, p
    )
    discount = _experiment(
        rng, c, opt_in, opt_out, n_days - p.discount_exp_days_before_end, p.discount_exp_sample, p
    )
    discount.assigned_at = np.where(discount.assigned, discount.sent_at, discount.assigned_at)
    window_end = discount.sent_at + p.discount_exp_window_days
    day_a = n_days - p.discount_exp_days_before_end
    held = (
        discount.assigned[sends.owner] & (sends.t >= day_a) & (sends.t <= window_end[sends.owner])
    )
    sends = sends.subset(~held)
    opt_out, stop_send = _first_stop(sends, c.n)
    death = death_times(c, exp_draw, opt_in, opt_out)
    stopped = (opt_out < death) & (opt_out < n_days)
    opt_out = np.where(stopped, opt_out, NEVER)
    stop_send = np.where(stopped, stop_send, -1)
    keep = (sends.t < opt_out[sends.owner]) & (sends.t < n_days)
    remap = np.cumsum(keep) - 1
    stop_send = np.where(stop_send >= 0, remap[np.maximum(stop_send, 0)], -1)
    return Lifecycle(opt_in, opt_out, death, stop_send, sends.subset(keep), discount, message)
