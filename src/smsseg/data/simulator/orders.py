"""Orders and order lines: an inhomogeneous Poisson process per customer while alive.

The intensity of customer i at time t (day d) is::

    rate_i * season[d] * (1 + discount_response * sensitivity_i * (sum_c affinity_ic * promo[d, c] + code_i(t)))

where ``promo[d, c]`` is the best public discount on category c that day and ``code_i(t)`` the
rate of a personal SMS discount code being valid (the discount experiment's treatment). The same
formula, integrated, is what :mod:`smsseg.data.simulator.truth` uses for the oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smsseg.data.simulator.calendar import Calendar
from smsseg.data.simulator.catalog import EXTRA_UNITS, PRODUCTS_PER_CATEGORY, Catalog
from smsseg.data.simulator.customers import Cohort
from smsseg.data.simulator.lifecycle import Lifecycle
from smsseg.data.simulator.params import PARAMS, Params
from smsseg.data.simulator.util import reshape_time_of_day, sample_rows, thin_poisson

STATUS = ("completed", "cancelled", "returned")


@dataclass
class Orders:
    owner: np.ndarray
    t: np.ndarray
    category: np.ndarray  # main category
    status: np.ndarray  # index into STATUS
    promo: np.ndarray  # promotion index, -1 none, -2 the SMS experiment code
    amount: np.ndarray
    discount: np.ndarray
    line_order: np.ndarray  # order index of each line
    line_product: np.ndarray
    line_category: np.ndarray
    line_quantity: np.ndarray
    line_price: np.ndarray  # unit price paid
    returned: np.ndarray | None = None  # when a returned order came back (days; nan: not one)


def code_rate(
    c: Cohort, life: Lifecycle, owner: np.ndarray, t: np.ndarray, p: Params
) -> np.ndarray:
    """Rate of the experiment's discount code valid for (owner, t); 0 outside its window."""
    exp = life.discount
    on = exp.treated[owner] & exp.delivered[owner]
    start = exp.sent_at[owner]
    on &= (t >= start) & (t < start + p.discount_exp_window_days)
    return np.where(on, p.discount_exp_rate, 0.0)


def preference_rank(
    rng: np.random.Generator, premium: np.ndarray, spread: float = 0.8
) -> np.ndarray:
    """Rank of the chosen product within its (price-sorted) category: premium buyers pick dearer."""
    x = 0.6 * premium + spread * rng.standard_normal(premium.size)
    share = 1.0 / (1.0 + np.exp(-1.7 * x))
    return np.minimum((share * PRODUCTS_PER_CATEGORY).astype(np.int64), PRODUCTS_PER_CATEGORY - 1)


def in_stock_product(
    catalog: Catalog, category: np.ndarray, rank: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """The chosen product, or a neighbour in price when it is out of stock (else a backorder)."""
    product = catalog.product_index(category, rank)
    for step in (1, -1, 2):
        out = catalog.out_of_stock(product, t)
        if not out.any():
            break
        alt = catalog.product_index(category, np.clip(rank + step, 0, PRODUCTS_PER_CATEGORY - 1))
        product = np.where(out, alt, product)
    return product


def _times(
    rng, c: Cohort, life: Lifecycle, calendar: Calendar, p: Params
) -> tuple[np.ndarray, np.ndarray]:
    n_days = calendar.period.n_days
    season, promo = calendar.season, calendar.promo_rate
    k = p.discount_response
    treated = life.discount.treated & life.discount.delivered
    top = promo.max(initial=0.0) + np.where(treated, p.discount_exp_rate, 0.0)
    bound = c.rate * season[:n_days].max() * (1 + k * c.sensitivity * top)
    promo_day = promo[:n_days].max(axis=1) > 0

    def intensity(owner: np.ndarray, t: np.ndarray) -> np.ndarray:
        day = t.astype(np.int64)
        offer = code_rate(c, life, owner, t, p)
        on = promo_day[day]
        offer[on] += np.einsum("ij,ij->i", c.affinity[owner[on]], promo[day[on]])
        return c.rate[owner] * season[day] * (1 + k * c.sensitivity[owner] * offer)

    stop = np.minimum(life.death, n_days)
    owner, t = thin_poisson(rng, c.signup, stop, bound, intensity)
    exp = life.discount
    day = np.floor(t)
    keep = (day == np.floor(c.signup[owner])) | (day == np.floor(life.death[owner]))
    around = exp.assigned[owner]
    keep |= around & (
        (day == np.floor(exp.sent_at[owner]))
        | (day == np.floor(exp.sent_at[owner] + p.discount_exp_window_days))
    )
    t = reshape_time_of_day(rng, t, c.offset[owner], keep)
    order = np.lexsort((t, owner))
    return owner[order], t[order]


def _lines(rng, c: Cohort, catalog: Catalog, owner: np.ndarray, t: np.ndarray, main: np.ndarray):
    n_lines = 1 + rng.poisson(0.25 + 0.6 * c.basket[owner])
    line_order = np.repeat(np.arange(owner.size), n_lines)
    first = np.r_[True, line_order[1:] != line_order[:-1]]
    lo = owner[line_order]
    other = sample_rows(rng, c.affinity[lo])
    cat = np.where(first | (rng.random(lo.size) < 0.5), main[line_order], other)
    product = in_stock_product(catalog, cat, preference_rank(rng, c.premium[lo]), t[line_order])
    quantity = 1 + rng.poisson(EXTRA_UNITS[cat])
    return line_order, product, cat, quantity


def simulate_orders(
    rng: np.random.Generator,
    c: Cohort,
    life: Lifecycle,
    calendar: Calendar,
    catalog: Catalog,
    p: Params = PARAMS,
) -> Orders:
    owner, t = _times(rng, c, life, calendar, p)
    return orders_at(rng, c, life, calendar, catalog, owner, t, p)


def orders_at(
    rng: np.random.Generator,
    c: Cohort,
    life: Lifecycle,
    calendar: Calendar,
    catalog: Catalog,
    owner: np.ndarray,
    t: np.ndarray,
    p: Params = PARAMS,
    main: np.ndarray | None = None,
) -> Orders:
    """Orders of ``owner`` at ``t``: category (``main``, else drawn), lines, prices, status."""
    day = t.astype(np.int64)
    code = code_rate(c, life, owner, t, p)
    weights = c.affinity[owner] * (
        1
        + p.discount_response
        * c.sensitivity[owner, None]
        * (calendar.promo_rate[day] + code[:, None])
    )
    main = sample_rows(rng, weights) if main is None else main
    promo = np.where(code > 0, -2, calendar.promo_index[day, main])
    u = rng.random(owner.size)
    status = np.where(
        u < p.cancel_share, 1, np.where(u < p.cancel_share + c.return_share[owner], 2, 0)
    )

    line_order, product, cat, quantity = _lines(rng, c, catalog, owner, t, main)
    lp = promo[line_order]
    promo_cat = np.where(lp >= 0, calendar.promos.category[np.maximum(lp, 0)], -1)
    rate = np.where(lp == -2, p.discount_exp_rate, 0.0)
    covered = (lp >= 0) & ((promo_cat < 0) | (promo_cat == cat))
    rate = np.where(covered, calendar.promos.rate[np.maximum(lp, 0)], rate)
    list_price = catalog.price[product]
    paid = np.round(list_price * (1 - rate), 2)
    amount = np.round(np.bincount(line_order, quantity * paid, minlength=owner.size), 2)
    discount = np.round(
        np.bincount(line_order, quantity * (list_price - paid), minlength=owner.size), 2
    )
    promo = np.where(discount > 0, promo, -1)
    return Orders(
        owner, t, main, status, promo, amount, discount, line_order, product, cat, quantity, paid
    )


def concat_orders(a: Orders, b: Orders) -> Orders:
    """Orders of ``a`` and ``b``, sorted by customer and time (lines follow their orders)."""
    n = a.owner.size
    owner, t = np.r_[a.owner, b.owner], np.r_[a.t, b.t]
    order = np.lexsort((t, owner))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    lines = np.r_[a.line_order, b.line_order + n]
    new_line_order = rank[lines]
    line_sort = np.argsort(new_line_order, kind="stable")
    fields = ("category", "status", "promo", "amount", "discount")
    per_order = {f: np.r_[getattr(a, f), getattr(b, f)][order] for f in fields}
    per_line = {
        f: np.r_[getattr(a, f), getattr(b, f)][line_sort]
        for f in ("line_product", "line_category", "line_quantity", "line_price")
    }
    return Orders(owner[order], t[order], line_order=new_line_order[line_sort],
                  **per_order, **per_line)  # fmt: skip


def subset_orders(o: Orders, keep: np.ndarray) -> Orders:
    """The orders where ``keep`` (a boolean mask), with their lines."""
    index = np.cumsum(keep) - 1
    lines = keep[o.line_order]
    return Orders(
        o.owner[keep], o.t[keep], o.category[keep], o.status[keep], o.promo[keep],
        o.amount[keep], o.discount[keep], index[o.line_order[lines]], o.line_product[lines],
        o.line_category[lines], o.line_quantity[lines], o.line_price[lines],
    )  # fmt: skip


def return_times(rng: np.random.Generator, o: Orders, n_days: int) -> np.ndarray:
    """When each returned order came back: a day to a few weeks after it was placed (nan else).

    ``rng`` is a stream of its own, so adding return dates left every other table as it was.
    The export holds the returns that happened, so an order whose return would fall after the
    period comes back at a uniform time between its order and the end instead.
    """
    returned = o.status == 2
    t = o.t[returned]
    delay = 1.0 + rng.exponential(8.0, t.size)
    late = t + delay >= n_days
    delay[late] = (n_days - t[late]) * rng.uniform(0.0, 1.0, late.sum())
    out = np.full(o.t.size, np.nan)
    out[returned] = np.maximum(np.minimum(t + delay, n_days - 1.0 / 86_400), t)
    return out
