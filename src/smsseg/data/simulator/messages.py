"""The SMS log: opt-ins, sends (promos, flows, experiments), deliveries, clicks and STOPs.

Flows are triggered by behaviour (welcome, abandoned cart, browse abandonment, post-purchase,
back in stock) or by time (win-back, loyalty reminders, promos). Time-based sends go on after a
customer has silently dropped out, until the brand's sunset rule stops them ``sunset_days`` after
the last order or browsing session. Only alive customers click.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smsseg.data.contract import SMS_EVENT_TYPES
from smsseg.data.simulator.calendar import Calendar
from smsseg.data.simulator.customers import Cohort
from smsseg.data.simulator.events import Sessions
from smsseg.data.simulator.lifecycle import Lifecycle
from smsseg.data.simulator.orders import Orders
from smsseg.data.simulator.params import PARAMS, Params
from smsseg.data.simulator.util import ragged_arange, send_time

MESSAGE_TYPES = (
    "promo", "welcome", "abandoned_cart", "browse_abandonment", "post_purchase",
    "win_back", "loyalty", "back_in_stock", "recommendation",
)  # fmt: skip
FLOWS = ("flow-welcome", "flow-abandoned-cart", "flow-browse-abandonment", "flow-post-purchase",
         "flow-win-back", "flow-loyalty", "flow-back-in-stock")  # fmt: skip
DISCOUNT_EXPERIMENT = "exp_discount_sms"
MESSAGE_EXPERIMENT = "exp_message_ab"
SMS_CODE = "SMSDEAL"  # promo code of the discount experiment's SMS
HOUR = 1.0 / 24
KIND = {name: i for i, name in enumerate(SMS_EVENT_TYPES)}
MT = {name: i for i, name in enumerate(MESSAGE_TYPES)}


def campaign_names(calendar: Calendar, replayed: bool = False) -> list[str]:
    """Campaign dictionary: calendar promos, then flows, then the two experiments.

    ``replayed``: the flows under the catalogue's campaign ids (``generate(flows=True)``).
    """
    from smsseg.data.simulator.flowreplay import campaign_id

    flows = [campaign_id(f) for f in FLOWS] if replayed else list(FLOWS)
    return list(calendar.campaigns.campaign_id) + flows + [DISCOUNT_EXPERIMENT, MESSAGE_EXPERIMENT]


@dataclass
class Sends:
    owner: np.ndarray
    t: np.ndarray
    campaign: np.ndarray
    mtype: np.ndarray
    relevance: np.ndarray
    category: np.ndarray
    timed: np.ndarray  # time-based (continues after dropout until the sunset rule)

    @staticmethod
    def make(owner, t, campaign, mtype, relevance, category, timed) -> Sends:
        n = owner.size
        full = [
            np.broadcast_to(np.asarray(v), n).copy()
            for v in (campaign, mtype, relevance, category, timed)
        ]
        return Sends(owner, t, *full)

    def subset(self, keep: np.ndarray) -> Sends:
        return Sends(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[Sends]) -> Sends:
        return Sends(
            *(np.concatenate([getattr(s, f) for s in parts]) for f in Sends.__dataclass_fields__)
        )


@dataclass
class SmsLog:
    owner: np.ndarray
    t: np.ndarray
    kind: np.ndarray
    campaign: np.ndarray  # -1: none
    mtype: np.ndarray
    click_owner: np.ndarray  # clicks, for the landing page views
    click_t: np.ndarray
    click_category: np.ndarray


def click_probability(
    c: Cohort, owner: np.ndarray, relevance: np.ndarray, p: Params = PARAMS
) -> np.ndarray:
    """Click probability of a delivered SMS: engagement x relevance, damped by frequency."""
    fatigue = 1.0 + p.click_fatigue * np.maximum(0.0, c.frequency[owner] - 1.0)
    return c.engagement[owner] * (0.2 + 0.8 * relevance) / fatigue


def recommendation_relevance(c: Cohort) -> np.ndarray:
    return np.minimum(1.0, 3.0 * c.affinity.max(axis=1))


def _calendar_days(calendar: Calendar, months: tuple[int, ...], day: int) -> np.ndarray:
    dates = pd.date_range(calendar.period.start, periods=calendar.period.n_days, freq="D")
    return np.flatnonzero(dates.month.isin(months) & (dates.day == day)).astype(float)


def _periodic(
    c: Cohort, days: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) pairs with lo <= day < hi."""
    first = np.searchsorted(days, lo, side="left")
    last = np.searchsorted(days, hi, side="left")
    owner, pos = ragged_arange(np.maximum(last - first, 0))
    return owner, days[first[owner] + pos]


def _win_back(rng, c: Cohort, life: Lifecycle, orders: Orders, calendar: Calendar) -> Sends:
    """On the 1st of each month: subscribers without an order for 60 days (tenure >= 60 days)."""
    days = _calendar_days(calendar, tuple(range(1, 13)), 1)
    owner, day = _periodic(c, days, np.maximum(life.opt_in, c.signup + 60), life.opt_out)
    key = 2.0**20
    okey = orders.owner * key + orders.t
    idx = np.searchsorted(okey, owner * key + day) - 1
    has = (idx >= 0) & (orders.owner[np.maximum(idx, 0)] == owner)
    last = np.where(has, orders.t[np.maximum(idx, 0)], c.signup[owner])
    due = day - last >= 60
    owner, day = owner[due], day[due]
    return Sends.make(
        owner, send_time(rng, day, c.offset[owner]), -1, MT["win_back"], 0.5, -1, True
    )


def _loyalty(rng, c: Cohort, life: Lifecycle, enrolled: np.ndarray, calendar: Calendar) -> Sends:
    """Quarterly points reminder to subscribed loyalty members."""
    days = _calendar_days(calendar, (1, 4, 7, 10), 15)
    owner, day = _periodic(c, days, np.maximum(life.opt_in, enrolled), life.opt_out)
    return Sends.make(owner, send_time(rng, day, c.offset[owner]), -1, MT["loyalty"], 0.6, -1, True)


#: the flows of :func:`flow_sends`'s list, in its order
FLOW_SENDS_ORDER = ("flow-welcome", "flow-abandoned-cart", "flow-browse-abandonment",
                    "flow-post-purchase", "flow-back-in-stock", "flow-win-back", "flow-loyalty")  # fmt: skip


def flow_sends(
    rng: np.random.Generator,
    c: Cohort,
    life: Lifecycle,
    orders: Orders,
    sessions: Sessions,
    enrolled: np.ndarray,
    calendar: Calendar,
    restock: np.ndarray,
    replayed_cart: Sends | None = None,
) -> list[Sends]:
    """Triggered and periodic flow messages (before the subscription / sunset filters).

    ``replayed_cart``: the abandoned-cart sends to use instead of the simulator's own (a replayed flow).
    """
    n_campaigns = calendar.campaigns.day.size
    flow = {name: n_campaigns + i for i, name in enumerate(FLOWS)}
    welcome = np.flatnonzero(life.opt_in < calendar.period.n_days)
    s, o = sessions, orders
    cart = np.flatnonzero(s.carted & (rng.random(s.owner.size) < 0.7))
    browse = np.flatnonzero(~s.carted & (rng.random(s.owner.size) < 0.2))
    post = np.flatnonzero((o.status != 1) & (rng.random(o.owner.size) < 0.4))
    parts = [
        Sends.make(
            welcome,
            life.opt_in[welcome] + 2 / 1440,
            flow["flow-welcome"],
            MT["welcome"],
            0.8,
            -1,
            False,
        ),
        Sends.make(
            s.owner[cart],
            s.t[cart] + (1 + 3 * rng.random(cart.size)) * HOUR,
            flow["flow-abandoned-cart"],
            MT["abandoned_cart"],
            0.9,
            s.category[cart],
            False,
        ),
        Sends.make(
            s.owner[browse],
            s.t[browse] + 1 + rng.normal(0, 2, browse.size) * HOUR,
            flow["flow-browse-abandonment"],
            MT["browse_abandonment"],
            0.7,
            s.category[browse],
            False,
        ),
        Sends.make(
            o.owner[post],
            o.t[post] + 2 + rng.random(post.size) * HOUR,
            flow["flow-post-purchase"],
            MT["post_purchase"],
            0.6,
            o.category[post],
            False,
        ),
    ]
    key = s.wish_owner.astype(np.int64) * (1 << 20) + s.wish_product
    back = np.isfinite(restock) & np.isin(np.arange(key.size), np.unique(key, return_index=True)[1])
    parts.append(
        Sends.make(
            s.wish_owner[back],
            restock[back] + rng.random(back.sum()) * 2 * HOUR,
            flow["flow-back-in-stock"],
            MT["back_in_stock"],
            0.95,
            -1,
            False,
        )
    )
    win = _win_back(rng, c, life, orders, calendar)
    win.campaign[:] = flow["flow-win-back"]
    loyal = _loyalty(rng, c, life, enrolled, calendar)
    loyal.campaign[:] = flow["flow-loyalty"]
    if replayed_cart is not None:
        parts[1] = replayed_cart
    return [*parts, win, loyal]


def experiment_sends(c: Cohort, life: Lifecycle, calendar: Calendar) -> list[Sends]:
    base = calendar.campaigns.day.size + len(FLOWS)
    d = np.flatnonzero(life.discount.treated)
    m = np.flatnonzero(life.message.assigned)
    b = life.message.treated[m]
    rel = np.where(b, recommendation_relevance(c)[m], 0.5)
    cat = np.where(b, c.affinity[m].argmax(axis=1), -1)
    mtype = np.where(b, MT["recommendation"], MT["promo"])
    return [
        Sends.make(d, life.discount.sent_at[d], base, MT["promo"], 0.5, -1, False),
        Sends.make(m, life.message.sent_at[m], base + 1, mtype, rel, cat, False),
    ]


def deliverable(
    sends: Sends, life: Lifecycle, last_activity: np.ndarray, n_days: int, p: Params = PARAMS
) -> np.ndarray:
    """Sends that go out: subscribed at the send instant, in the period, not sunset."""
    subscribed = (
        (sends.t >= life.opt_in[sends.owner])
        & (sends.t < life.opt_out[sends.owner])
        & (sends.t < n_days)
    )
    sunset = (
        sends.timed
        & (sends.t > life.death[sends.owner])
        & (sends.t > last_activity[sends.owner] + p.sunset_days)
    )
    return subscribed & ~sunset


def sms_log(
    rng: np.random.Generator,
    c: Cohort,
    life: Lifecycle,
    flows: list[Sends],
    last_activity: np.ndarray,
    calendar: Calendar,
    p: Params = PARAMS,
) -> SmsLog:
    n_days = calendar.period.n_days
    promo = life.promo
    camp = calendar.campaigns
    promo_sends = Sends.make(
        promo.owner,
        promo.t,
        promo.campaign,
        MT["promo"],
        promo.relevance,
        camp.category[promo.campaign],
        True,
    )
    exp = experiment_sends(c, life, calendar)
    n_exp = sum(e.owner.size for e in exp)
    sends = Sends.concat([*exp, promo_sends, *flows])
    keep = deliverable(sends, life, last_activity, n_days, p)
    keep[:n_exp] = True  # eligibility guaranteed it
    sends = sends.subset(keep)
    keep_exp = np.arange(sends.owner.size) < n_exp

    failed = (c.phone_status[sends.owner] == 2) | (
        rng.random(sends.owner.size) < p.delivery_failure
    )
    exp_delivered = np.concatenate(
        [life.discount.delivered[exp[0].owner], life.message.delivered[exp[1].owner]]
    )
    failed[keep_exp] = ~exp_delivered
    alive = sends.t < life.death[sends.owner]
    click_t = sends.t + rng.exponential(15.0 / 1440, sends.owner.size)
    clicked = (
        ~failed
        & alive
        & (rng.random(sends.owner.size) < click_probability(c, sends.owner, sends.relevance, p))
    )
    clicked &= click_t < np.minimum(life.death, n_days)[sends.owner]

    opted = np.flatnonzero(life.opt_in < n_days)
    stopped = np.flatnonzero(life.opt_out < n_days)
    stop_campaign = promo.campaign[life.stop_send[stopped]]
    delay = (3 + 7 * rng.random(sends.owner.size)) / 86400
    blocks = [
        (opted, life.opt_in[opted], KIND["opt_in"], -1, -1),
        (sends.owner, sends.t, KIND["sent"], sends.campaign, sends.mtype),
        (
            sends.owner,
            np.minimum(sends.t + delay, n_days - 1e-6),
            np.where(failed, KIND["failed"], KIND["delivered"]),
            sends.campaign,
            sends.mtype,
        ),
        (
            sends.owner[clicked],
            click_t[clicked],
            KIND["clicked"],
            sends.campaign[clicked],
            sends.mtype[clicked],
        ),
        (stopped, life.opt_out[stopped], KIND["opt_out"], stop_campaign, MT["promo"]),
    ]
    cols = [np.concatenate([np.broadcast_to(b[j], b[0].shape) for b in blocks]) for j in range(5)]
    return SmsLog(*cols, sends.owner[clicked], click_t[clicked], sends.category[clicked])
