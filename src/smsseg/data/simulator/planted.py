"""Per-customer planted effects of the two experiments, computed while generating."""

from __future__ import annotations

import numpy as np

from smsseg.data.simulator.calendar import Calendar
from smsseg.data.simulator.customers import Cohort, completed_share
from smsseg.data.simulator.lifecycle import Lifecycle
from smsseg.data.simulator.messages import click_probability, recommendation_relevance
from smsseg.data.simulator.oracle import (
    PRE,
    SUBSCRIBED,
    UNSUBSCRIBED,
    LatentState,
    no_order_probability,
)
from smsseg.data.simulator.params import PARAMS, Params


def _window_state(
    c: Cohort, life: Lifecycle, at: np.ndarray, sel: np.ndarray, code: float, p: Params
) -> LatentState:
    """Latent state at ``at`` with the experiment's holdout (no promo sends, hence no STOP)."""
    a = at[sel]
    state = np.where(
        life.opt_out[sel] <= a, UNSUBSCRIBED, np.where(life.opt_in[sel] <= a, SUBSCRIBED, PRE)
    )
    return LatentState(
        rate=(c.rate * completed_share(c, p))[sel],
        sensitivity=c.sensitivity[sel],
        affinity=c.affinity[sel],
        hazard=c.hazard[sel],
        hazard_sms=c.hazard_sms[sel],
        optout=np.zeros(sel.size),
        state=state,
        opt_in=life.opt_in[sel],
        code_rate=np.full(sel.size, code),
        code_from=a,
        code_until=a + p.discount_exp_window_days,
    )


def planted_effects(
    c: Cohort, life: Lifecycle, calendar: Calendar, p: Params = PARAMS
) -> dict[str, np.ndarray]:
    """``true_uplift`` (intent-to-treat effect of the discount SMS on P(completed order in the
    window)), ``p_purchase_control``, ``ab_click_effect`` (B minus A click probability) and
    ``ab_click_control``, for every customer at the experiments' send times."""
    reach = np.where(c.phone_status == 0, 1.0 - p.delivery_failure, 0.0)
    at = life.discount.sent_at
    sel = np.flatnonzero((c.signup <= at) & (life.death > at))
    window = p.discount_exp_window_days
    no_buy_c = no_order_probability(
        calendar, _window_state(c, life, at, sel, 0.0, p), at[sel], window, p
    )
    no_buy_t = no_order_probability(
        calendar, _window_state(c, life, at, sel, p.discount_exp_rate, p), at[sel], window, p
    )
    uplift = np.zeros(c.n)
    uplift[sel] = reach[sel] * (no_buy_c - no_buy_t)
    control = np.zeros(c.n)
    control[sel] = 1.0 - no_buy_c

    sent_b = life.message.sent_at
    alive_b = (c.signup <= sent_b) & (life.death > sent_b)
    everyone = np.arange(c.n)
    click_a = click_probability(c, everyone, np.full(c.n, 0.5), p)
    click_b = click_probability(c, everyone, recommendation_relevance(c), p)
    ab_reach = np.where(alive_b, reach, 0.0)
    return {
        "true_uplift": uplift,
        "p_purchase_control": control,
        "ab_click_effect": ab_reach * (click_b - click_a),
        "ab_click_control": ab_reach * click_a,
    }
