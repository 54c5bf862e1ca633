"""Browsing and cart events: order sessions, browse-only sessions, cart abandonment, clicks.

Alive customers browse at ``browse_rate * season`` (never below a floor rate, so that an alive
customer is visibly active); dead customers do nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smsseg.data.contract import EVENT_TYPES
from smsseg.data.simulator.calendar import Calendar
from smsseg.data.simulator.catalog import Catalog
from smsseg.data.simulator.customers import Cohort
from smsseg.data.simulator.lifecycle import Lifecycle
from smsseg.data.simulator.orders import Orders, in_stock_product, preference_rank
from smsseg.data.simulator.params import PARAMS, Params
from smsseg.data.simulator.util import reshape_time_of_day, sample_rows, thin_poisson

MINUTE = 1.0 / 1440
TYPE = {name: i for i, name in enumerate(EVENT_TYPES)}


@dataclass
class Events:
    owner: np.ndarray
    t: np.ndarray
    kind: np.ndarray  # index into EVENT_TYPES
    product: np.ndarray  # -1: none
    category: np.ndarray

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        return Events(
            *(np.concatenate([getattr(e, f) for e in parts]) for f in Events.__dataclass_fields__)
        )


@dataclass
class Sessions:
    """Browse-only sessions, for the triggered SMS flows."""

    owner: np.ndarray
    t: np.ndarray
    category: np.ndarray
    carted: np.ndarray  # left an item in the cart (abandoned cart)
    wish_owner: np.ndarray  # wishlist adds of out-of-stock products (back-in-stock flow)
    wish_t: np.ndarray
    wish_product: np.ndarray


def _event(owner, t, kind, product, category) -> Events:
    n = owner.size
    return Events(
        owner,
        t,
        np.full(n, TYPE[kind]),
        np.broadcast_to(product, n).copy(),
        np.broadcast_to(category, n).copy(),
    )


def order_events(rng: np.random.Generator, orders: Orders) -> Events:
    """A product view, an add-to-cart per line and a checkout before every order."""
    n = orders.owner.size
    first = np.r_[True, orders.line_order[1:] != orders.line_order[:-1]]
    lo = orders.line_order
    lowner, lt = orders.owner[lo], orders.t[lo]
    view = first
    parts = [
        _event(
            lowner[view],
            lt[view] - (8 + rng.exponential(12, view.sum())) * MINUTE,
            "product_view",
            orders.line_product[view],
            orders.line_category[view],
        ),
        _event(
            lowner,
            lt - (1 + rng.random(lo.size) * 6) * MINUTE,
            "add_to_cart",
            orders.line_product,
            orders.line_category,
        ),
        _event(
            orders.owner,
            orders.t - (0.2 + rng.random(n)) * MINUTE,
            "checkout_started",
            -1,
            orders.category,
        ),
    ]
    return Events.concat(parts)


def _session_times(
    rng, c: Cohort, life: Lifecycle, calendar: Calendar
) -> tuple[np.ndarray, np.ndarray]:
    n_days = calendar.period.n_days
    season = calendar.season
    bound = c.browse_rate * season[:n_days].max()

    def intensity(owner: np.ndarray, t: np.ndarray) -> np.ndarray:
        return c.browse_rate[owner] * season[t.astype(np.int64)]

    owner, t = thin_poisson(rng, c.signup, np.minimum(life.death, n_days), bound, intensity)
    day = np.floor(t)
    keep = (day == np.floor(c.signup[owner])) | (day == np.floor(life.death[owner]))
    return owner, reshape_time_of_day(rng, t, c.offset[owner], keep)


def browse_sessions(
    rng: np.random.Generator,
    c: Cohort,
    life: Lifecycle,
    calendar: Calendar,
    catalog: Catalog,
    p: Params = PARAMS,
) -> tuple[Events, Sessions]:
    owner, t = _session_times(rng, c, life, calendar)
    n = owner.size
    cat = sample_rows(rng, c.affinity[owner])
    cart = rng.random(n) < p.cart_session_share
    parts = []
    # browse sessions open with a category page or a search
    b = ~cart
    opener = np.where(rng.random(b.sum()) < 0.6, "category_view", "search")
    for kind in ("category_view", "search"):
        sel = np.flatnonzero(b)[opener == kind]
        parts.append(_event(owner[sel], t[sel], kind, -1, cat[sel]))
    n_views = np.where(cart, 1, 1 + rng.poisson(0.6, n))
    vo = np.repeat(np.arange(n), n_views)
    gaps = rng.exponential(1.5, vo.size)  # minutes between page views
    cums = np.cumsum(gaps)
    start = np.cumsum(n_views) - n_views
    offsets = cums - np.repeat(cums[start] - gaps[start], n_views)
    vt = t[vo] + offsets * MINUTE
    product = in_stock_product(
        catalog, cat[vo], preference_rank(rng, c.premium[owner[vo]], 1.2), vt
    )
    parts.append(_event(owner[vo], vt, "product_view", product, cat[vo]))
    out = catalog.out_of_stock(product, vt)
    wish = rng.random(vo.size) < np.where(out, p.wishlist_if_out_of_stock, 0.03)
    parts.append(
        _event(
            owner[vo][wish], vt[wish] + 0.5 * MINUTE, "wishlist_add", product[wish], cat[vo][wish]
        )
    )
    # cart sessions: the single viewed product goes to the cart (if in stock)
    cv = cart[vo] & ~out
    s_of = vo[cv]
    at = vt[cv] + rng.exponential(2, cv.sum()) * MINUTE
    parts.append(_event(owner[s_of], at, "add_to_cart", product[cv], cat[s_of]))
    removed = rng.random(cv.sum()) < 0.25
    parts.append(
        _event(
            owner[s_of][removed],
            at[removed] + rng.exponential(3, removed.sum()) * MINUTE,
            "remove_from_cart",
            product[cv][removed],
            cat[s_of][removed],
        )
    )
    checkout = ~removed & (rng.random(cv.sum()) < 0.2)
    parts.append(
        _event(
            owner[s_of][checkout],
            at[checkout] + rng.exponential(4, checkout.sum()) * MINUTE,
            "checkout_started",
            -1,
            cat[s_of][checkout],
        )
    )
    carted = np.zeros(n, dtype=bool)
    carted[s_of[~removed]] = True
    ow = wish & out
    sessions = Sessions(owner, t, cat, carted, owner[vo][ow], vt[ow], product[ow])
    return Events.concat(parts), sessions


def click_events(
    rng: np.random.Generator, owner, t, category, c: Cohort, catalog: Catalog
) -> Events:
    """A click on an SMS link lands on a product page of the message's category."""
    cat = np.where(category >= 0, category, sample_rows(rng, c.affinity[owner]))
    vt = t + rng.exponential(1.0, owner.size) * MINUTE
    product = in_stock_product(catalog, cat, preference_rank(rng, c.premium[owner], 1.2), vt)
    return _event(owner, vt, "product_view", product, cat)


def clamp(events: Events, c: Cohort, life: Lifecycle, n_days: int) -> Events:
    """Activity happens between sign-up and dropout (or the end of the period)."""
    last = np.minimum(life.death, n_days)[events.owner] - 1.0 / 86400
    events.t = np.clip(events.t, c.signup[events.owner], last)
    return events
