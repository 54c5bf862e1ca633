"""Replayed lifecycle flows (``generate(..., flows=True)``): randomized holdouts and a response.

Without it the simulator's flow SMS are a behavioural backdrop (``flow-abandoned-cart``, ...)
that changes nobody's purchases. With it the history looks like the one a brand running smsseg's
flows would have, so that ``smsseg flows backtest`` can measure what the flows did:

* each simulated flow's SMS carry the catalogue's campaign id and message type
  (``flow-abandoned_cart-reminder_sms`` / ``cart_reminder``, see :data:`REPLAYED`);
* sends respect consent (opted in at the send instant, the same filter as every other SMS) and
  the default quiet hours (08:00-20:00 local, none on 1 January or 25 December): a send due
  outside them moves to the next 08:00 local;
* the abandoned-cart reminder follows the catalogue's step: 4 hours after the cart (re-entry
  after 7 days), not sent when an order came in between (exit on purchase);
* every customer is randomized once per flow, at the first send the flow would make (the
  ``assignments`` table, campaign ``flow-<flow>``, variant ``holdout`` / ``treatment``, a
  ``flow_holdout`` share in holdout); held-out customers get none of the flow's SMS;
* the planted response: a cart reminder sent to a live customer is followed, with probability
  ``cart_response``, by an order of the abandoned basket's category within
  ``cart_response_days``. The draws are made for both arms (the potential outcomes) and realized
  for the treated only, so the truth table carries, per randomized customer, whether they would
  convert within ``flow_conversion_days`` of the assignment in each arm. The other flows have no
  planted effect: their measured effects should be zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smsseg.data.simulator.calendar import Calendar
from smsseg.data.simulator.catalog import Catalog
from smsseg.data.simulator.customers import Cohort
from smsseg.data.simulator.events import Sessions
from smsseg.data.simulator.lifecycle import Lifecycle
from smsseg.data.simulator.orders import Orders, concat_orders, orders_at, subset_orders
from smsseg.data.simulator.params import PARAMS, Params

#: simulator flow -> (catalogue flow key, catalogue step key, message type) of its one SMS step
REPLAYED = {
    "flow-welcome": ("welcome", "welcome", "welcome"),
    "flow-abandoned-cart": ("abandoned_cart", "reminder_sms", "cart_reminder"),
    "flow-browse-abandonment": ("browse_abandonment", "new_arrivals", "new_arrivals"),
    "flow-post-purchase": ("post_purchase", "shipping_update", "shipping_update"),
    "flow-win-back": ("win_back", "win_back", "win_back"),
    "flow-loyalty": ("loyalty", "points_balance", "loyalty_update"),
    "flow-back-in-stock": ("back_in_stock", "alert", "back_in_stock"),
}
#: the quiet-hours window of the default activation policy, local hours ``[start, end)``
QUIET = (8.0, 20.0)
#: local (month, day) without sends (the default policy's holidays)
HOLIDAYS = ((1, 1), (12, 25))
CART_DELAY_DAYS = 4.0 / 24  # the catalogue's reminder_sms delay
CART_REENTRY_DAYS = 7.0  # the catalogue's re-entry window of abandoned_cart
HOUR = 1.0 / 24


def campaign_id(flow: str) -> str:
    """Catalogue campaign id of a simulator flow's SMS step (``flow-<flow>-<step>``)."""
    key, step, _ = REPLAYED[flow]
    return f"flow-{key}-{step}"


def holdout_key(flow: str) -> str:
    """The assignments' campaign of a simulator flow: ``flow-<catalogue key>``."""
    return f"flow-{REPLAYED[flow][0]}"


def flow_message_types(base: tuple[str, ...]) -> tuple[str, ...]:
    """``base`` followed by the replayed message types it lacks (the sms dictionary)."""
    extra = [m for _, _, m in REPLAYED.values() if m not in base]
    return (*base, *dict.fromkeys(extra))


def out_of_quiet_hours(t: np.ndarray, place: np.ndarray, calendar: Calendar) -> np.ndarray:
    """``t`` (UTC days) moved forward to the next allowed local instant (same instant if allowed).

    Local time is the customer's place's time zone with its daylight saving (pandas / tzdata),
    as ``smsseg``'s quiet hours read it, not the place's fixed standard offset.
    """
    from smsseg.data.simulator.geo import places

    zones = np.asarray(places().timezone.to_pylist(), dtype=object)
    out = t.astype(float).copy()
    start, end = QUIET
    origin = calendar.period.start
    for code in np.unique(place):
        sel = np.flatnonzero(place == code)
        zone = zones[code]
        utc = pd.DatetimeIndex(origin + pd.to_timedelta(t[sel], unit="D")).tz_localize("UTC")
        local = utc.tz_convert(zone).tz_localize(None)
        day = local.normalize()
        hour = np.asarray((local - day) / pd.Timedelta(hours=1))
        moved = pd.DatetimeIndex(np.where(hour < start, day + pd.Timedelta(hours=start),
                                 np.where(hour >= end, day + pd.Timedelta(days=1, hours=start),
                                          local)))  # fmt: skip
        for _ in range(2):  # a holiday moves the send to the next day's 08:00
            holiday = np.zeros(sel.size, dtype=bool)
            for month, dom in HOLIDAYS:
                holiday |= np.asarray((moved.month == month) & (moved.day == dom))
            next_day = moved.normalize() + pd.Timedelta(days=1, hours=start)
            moved = pd.DatetimeIndex(np.where(holiday, next_day, moved))
        changed = np.asarray(moved != local)
        if not changed.any():
            continue
        back = moved[changed].tz_localize(zone, nonexistent="shift_forward", ambiguous="NaT")
        days = (back.tz_convert("UTC").tz_localize(None) - origin) / pd.Timedelta(days=1)
        # a second past the hour: timestamps are truncated to microseconds when written
        out[sel[changed]] = np.asarray(days) + 1.0 / 86_400
    return out


def _ordered_between(o: Orders, owner: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether ``owner`` has an order in ``(lo, hi]`` (orders sorted by owner, then time)."""
    key = 2.0**20
    okey = o.owner * key + o.t
    return np.searchsorted(okey, owner * key + hi, "right") > np.searchsorted(
        okey, owner * key + lo, "right"
    )


def _converted(o: Orders, owner, at, days: float) -> np.ndarray:
    """A non-cancelled order in ``(at, at + days]``."""
    kept = subset_orders(o, o.status != 1)
    return _ordered_between(kept, owner, at, at + days)


@dataclass
class CartReplay:
    """The cart reminders due (both arms), the realized orders and the truth columns."""

    owner: np.ndarray  # reminders due (consent at send, no purchase since the cart)
    t: np.ndarray
    category: np.ndarray
    orders: Orders  # natural orders + the responses of treated customers
    truth: dict[str, np.ndarray]


def cart_reminders(
    s: Sessions, o: Orders, c: Cohort, life: Lifecycle, calendar: Calendar
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The abandoned-cart reminders a live flow would send: (session index, send instant)."""
    carted = np.flatnonzero(s.carted)
    carted = carted[np.lexsort((s.t[carted], s.owner[carted]))]
    owner, t = s.owner[carted], s.t[carted]
    # re-entry: a cart within 7 days of the customer's previous cart starts no new instance
    first = np.r_[True, owner[1:] != owner[:-1]]
    reentry = first | (np.diff(t, prepend=-np.inf) >= CART_REENTRY_DAYS)
    send = out_of_quiet_hours(t + CART_DELAY_DAYS, c.place[owner], calendar)
    ok = reentry & ~_ordered_between(o, owner, t, send)
    ok &= (send >= life.opt_in[owner]) & (send < life.opt_out[owner])
    ok &= send < calendar.period.n_days
    return carted[ok], send[ok]


def replay_cart(
    rng: np.random.Generator,
    u_holdout: np.ndarray,
    c: Cohort,
    life: Lifecycle,
    orders: Orders,
    sessions: Sessions,
    calendar: Calendar,
    catalog: Catalog,
    p: Params = PARAMS,
) -> CartReplay:
    """The cart flow's reminders, the planted response and its potential outcomes.

    ``u_holdout`` is the customer's uniform draw for this flow (holdout when < ``flow_holdout``),
    the one :func:`hold_out` uses, so the arms here are those of the assignments table.
    """
    n_days = calendar.period.n_days
    index, send = cart_reminders(sessions, orders, c, life, calendar)
    owner, category = sessions.owner[index], sessions.category[index]
    respond = rng.random(owner.size) < p.cart_response
    at = send + rng.random(owner.size) * p.cart_response_days
    respond &= at < np.minimum(life.death[owner], n_days)
    extra = orders_at(rng, c, life, calendar, catalog, owner[respond], at[respond], p,
                      main=category[respond])  # fmt: skip
    treated = u_holdout[extra.owner] >= p.flow_holdout
    both = concat_orders(orders, extra)  # potential outcome under treatment for everyone
    realized = concat_orders(orders, subset_orders(extra, treated))
    # the assignment: the first reminder due per customer
    first = np.r_[True, owner[1:] != owner[:-1]] if owner.size else np.zeros(0, bool)
    who, when = owner[first], send[first]
    n = c.n
    assigned = np.zeros(n, bool)
    assigned[who] = True
    assigned_at = np.full(n, np.nan)
    assigned_at[who] = when
    days = p.flow_conversion_days
    y0, y1 = np.zeros(n, bool), np.zeros(n, bool)
    y0[who] = _converted(orders, who, when, days)
    y1[who] = _converted(both, who, when, days)
    truth = {
        "flow_cart_assigned": assigned,
        "flow_cart_holdout": assigned & (u_holdout < p.flow_holdout),
        "flow_cart_assigned_at": assigned_at,
        "flow_cart_converted_if_holdout": y0,
        "flow_cart_converted_if_treated": y1,
    }
    return CartReplay(owner, send, category, realized, truth)


@dataclass
class FlowAssignments:
    """One row per randomized (customer, flow): the simulator flow's index in ``FLOWS``."""

    owner: np.ndarray
    flow: np.ndarray
    holdout: np.ndarray
    at: np.ndarray


def hold_out(sends: list, flows: list[int], u: np.ndarray, keep_mask: list, p: Params = PARAMS):
    """Each flow's sends without its holdout customers, and the assignments.

    ``flows[i]`` is the index (in ``FLOWS``, the column of ``u``) of the flow of ``sends[i]``;
    ``keep_mask[i]`` marks its sends that would go out (consent, sunset): the first of them per
    customer is the assignment instant; held-out customers lose them all.
    """
    parts, rows = [], []
    for j, s, keep in zip(flows, sends, keep_mask, strict=True):
        idx = np.flatnonzero(keep)
        idx = idx[np.lexsort((s.t[idx], s.owner[idx]))]
        first = np.r_[True, s.owner[idx][1:] != s.owner[idx][:-1]] if idx.size else idx.astype(bool)
        who, at = s.owner[idx][first], s.t[idx][first]
        held = u[who, j] < p.flow_holdout
        rows.append(FlowAssignments(who, np.full(who.size, j), held, at))
        parts.append(s.subset(keep & (u[s.owner, j] >= p.flow_holdout)))
    assignments = FlowAssignments(
        *(np.concatenate([getattr(r, f) for r in rows]) for f in ("owner", "flow", "holdout", "at"))
    )
    return parts, assignments
