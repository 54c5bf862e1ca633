"""The simulator's behavioural constants, in one place.

Every number that shapes the simulated world lives in :data:`PARAMS` so that docs, tests and the
oracle read the same values. Rates are per day unless the name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    """Constants of the generative model (see ``docs/simulator.md`` for their meaning)."""

    #: customers simulated together; fixed so that output does not depend on the machine
    chunk_size: int = 50_000
    #: sign-up density grows like t ** (growth - 1) over the period
    signup_growth: float = 1.3

    # --- purchasing -------------------------------------------------------------------------
    purchase_rate_mean: float = 0.04  # orders per day of a typical (non deal-seeking) customer
    purchase_rate_shape: float = 0.8  # gamma shape: heavy-tailed order frequency
    deal_seeker_share: float = 0.25
    deal_seeker_rate_factor: float = 0.5  # deal seekers buy less at full price ...
    deal_seeker_sensitivity: tuple[float, float] = (2.0, 1.1)  # ... and much more on discount
    other_sensitivity: tuple[float, float] = (1.0, 0.12)  # gamma (shape, scale)
    #: purchase intensity multiplier is 1 + discount_response * sensitivity * discount_rate
    discount_response: float = 5.0
    affinity_concentration: float = 0.6  # Dirichlet concentration per category (x n_categories)
    cancel_share: float = 0.025
    return_share: tuple[float, float] = (1.0, 15.0)  # beta(a, b): per-customer return share

    # --- dropout ------------------------------------------------------------------------------
    lifetime_median_days: float = 600.0
    lifetime_sigma: float = 0.5
    lifetime_rate_elasticity: float = 0.25  # frequent buyers live longer
    hazard_excess_frequency: float = 0.6  # per weekly SMS above the customer's tolerance
    hazard_irrelevance: float = 0.5  # per weekly SMS times (1 - relevance)

    # --- browsing -----------------------------------------------------------------------------
    browse_per_order: float = 0.25  # browsing sessions per unit of purchase rate
    browse_floor_days: tuple[float, float] = (
        16.0,
        40.0,
    )  # alive customers visit at least this often
    cart_session_share: float = 0.35
    wishlist_if_out_of_stock: float = 0.4

    # --- SMS ------------------------------------------------------------------------------------
    sms_channel_share: float = 0.85
    phone_missing_share: float = 0.03
    phone_malformed_share: float = 0.01
    opt_in_at_signup: float = 0.6
    opt_in_later: float = 0.2
    opt_in_delay_days: float = 90.0
    frequency_tiers: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 3.0)  # promo SMS per week
    frequency_weights: tuple[float, ...] = (0.3, 0.3, 0.2, 0.12, 0.08)
    tolerance_range: tuple[float, float] = (0.5, 2.0)  # weekly SMS a customer tolerates
    stop_base: float = 0.006  # STOP probability of a promo send at tolerance, mean relevance
    stop_excess_frequency: float = 0.6
    delivery_failure: float = 0.015
    engagement: tuple[float, float] = (2.0, 10.0)  # beta: click propensity
    click_fatigue: float = 0.3
    sunset_days: float = 120.0  # no time-based sends this long after the last activity
    # replayed flows (generate(flows=True), see flowreplay.py)
    flow_holdout: float = 0.2  # share of customers randomized to each flow's holdout
    cart_response: float = 0.25  # P(order of the basket | cart reminder sent, customer alive)
    cart_response_days: float = 2.0  # the responding order comes within this of the reminder
    flow_conversion_days: float = 7.0  # window of the truth's potential outcomes

    # --- experiments --------------------------------------------------------------------------
    discount_exp_days_before_end: int = 45
    discount_exp_window_days: int = 14
    discount_exp_rate: float = 0.3
    discount_exp_sample: float = 0.8
    message_exp_days_before_end: int = 120
    message_exp_window_days: int = 3
    message_exp_sample: float = 0.4

    # --- loyalty ------------------------------------------------------------------------------
    loyalty_at_signup: float = 0.1
    loyalty_at_first_order: float = 0.35


PARAMS = Params()

#: ``smsseg.data.simulator`` refuses periods shorter than this (the experiments need room).
MIN_PERIOD_DAYS = 180
