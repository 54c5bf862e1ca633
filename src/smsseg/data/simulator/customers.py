"""Customers: profile attributes and the latent traits that drive everything they do."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smsseg.data.simulator.calendar import Calendar
from smsseg.data.simulator.catalog import CATEGORIES, CATEGORY_POPULARITY
from smsseg.data.simulator.geo import POSTAL_CODES_PER_CITY, STORES_PER_CITY, places
from smsseg.data.simulator.params import PARAMS, Params

#: "never" for event times (days); finite so that arithmetic stays NaN-free
NEVER = 1e9


@dataclass
class Cohort:
    """One chunk of customers: arrays indexed by the customer's position in the chunk."""

    first: int  # global index of the first customer
    signup: np.ndarray
    place: np.ndarray
    postal: np.ndarray
    store: np.ndarray  # -1: no home store
    phone_status: np.ndarray  # 0 ok, 1 missing, 2 malformed
    sms_channel: np.ndarray
    rate: np.ndarray  # purchase rate (orders/day) at full price, average season
    sensitivity: np.ndarray  # discount sensitivity
    deal_seeker: np.ndarray
    affinity: np.ndarray  # (n, categories), rows sum to 1
    premium: np.ndarray  # price level preference (standard normal)
    basket: np.ndarray
    engagement: np.ndarray  # click propensity
    return_share: np.ndarray
    frequency: np.ndarray  # promo SMS per week the brand sends this customer
    tolerance: np.ndarray
    relevance: np.ndarray  # mean relevance of the promo SMS this customer receives
    hazard: np.ndarray  # dropout hazard without SMS (per day)
    hazard_sms: np.ndarray  # dropout hazard while subscribed to SMS
    stop_scale: np.ndarray  # per-send STOP probability, relevance-free part
    optout_rate: np.ndarray  # expected STOPs per day while subscribed
    browse_rate: np.ndarray  # browsing sessions per day while alive (average season)
    opt_in: np.ndarray  # planned opt-in time (NEVER: never)
    offset: np.ndarray = field(init=False)  # UTC offset of the home time zone (days)

    def __post_init__(self) -> None:
        self.offset = places().offset_days[self.place]

    @property
    def n(self) -> int:
        return self.signup.size


def campaign_relevance(affinity: np.ndarray, category: np.ndarray) -> np.ndarray:
    """How relevant a campaign of ``category`` (-1: site-wide) is to a customer, in [0, 1]."""
    cat_aff = np.take_along_axis(affinity, np.maximum(category, 0)[:, None], axis=1)[:, 0]
    return np.where(category < 0, 0.5, np.minimum(1.0, 3.0 * cat_aff))


def _mean_relevance(affinity: np.ndarray, calendar: Calendar) -> np.ndarray:
    cats = calendar.campaigns.category
    share_site = float(np.mean(cats < 0)) if cats.size else 0.0
    mix = np.bincount(cats[cats >= 0], minlength=len(CATEGORIES)) / max(1, (cats >= 0).sum())
    return share_site * 0.5 + (1 - share_site) * (np.minimum(1.0, 3.0 * affinity) @ mix)


def stop_probability(stop_scale: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """STOP probability of one promo send; irrelevant messages are three times as risky."""
    return stop_scale * (1.5 - relevance)


def _purchase_traits(rng: np.random.Generator, n: int, p: Params) -> dict[str, np.ndarray]:
    deal = rng.random(n) < p.deal_seeker_share
    rate = rng.gamma(p.purchase_rate_shape, p.purchase_rate_mean / p.purchase_rate_shape, n)
    rate = np.where(deal, rate * p.deal_seeker_rate_factor, rate)
    sens = np.where(
        deal, rng.gamma(*p.deal_seeker_sensitivity, n), rng.gamma(*p.other_sensitivity, n)
    )
    alpha = p.affinity_concentration * len(CATEGORIES) * CATEGORY_POPULARITY
    return {
        "deal_seeker": deal,
        "rate": rate,
        "sensitivity": sens,
        "affinity": rng.dirichlet(alpha, n),
        "premium": rng.standard_normal(n),
        "basket": rng.random(n),
        "return_share": rng.beta(*p.return_share, n),
    }


def _sms_traits(
    rng: np.random.Generator, n: int, signup: np.ndarray, n_days: int, p: Params
) -> dict:
    phone_u = rng.random(n)
    phone = np.where(phone_u < p.phone_missing_share, 1, 0)
    phone = np.where(
        (phone_u >= p.phone_missing_share)
        & (phone_u < p.phone_missing_share + p.phone_malformed_share),
        2,
        phone,
    )
    sms = rng.random(n) < p.sms_channel_share
    u = rng.random(n)
    later = signup + rng.exponential(p.opt_in_delay_days, n)
    opt_in = np.where(
        u < p.opt_in_at_signup,
        signup + 1.0 / 1440,
        np.where(u < p.opt_in_at_signup + p.opt_in_later, later, NEVER),
    )
    opt_in = np.where(sms & (phone != 1) & (opt_in < n_days), opt_in, NEVER)
    weights = np.array(p.frequency_weights) / sum(p.frequency_weights)
    return {
        "phone_status": phone,
        "sms_channel": sms,
        "opt_in": opt_in,
        "frequency": np.array(p.frequency_tiers)[rng.choice(len(weights), n, p=weights)],
        "tolerance": rng.uniform(*p.tolerance_range, n),
        "engagement": rng.beta(*p.engagement, n),
        "stop_noise": np.exp(0.5 * rng.standard_normal(n) - 0.125),
    }


def draw_cohort(
    rng: np.random.Generator, first: int, n: int, calendar: Calendar, p: Params = PARAMS
) -> Cohort:
    """Profiles and latent traits of customers ``first .. first + n - 1``."""
    n_days = calendar.period.n_days
    signup = n_days * rng.random(n) ** (1.0 / p.signup_growth)
    table = places()
    place = rng.choice(table.n, n, p=table.share)
    postal = place * POSTAL_CODES_PER_CITY + rng.integers(0, POSTAL_CODES_PER_CITY, n)
    store = np.where(
        rng.random(n) < 0.85, place * STORES_PER_CITY + rng.integers(0, STORES_PER_CITY, n), -1
    )
    buy = _purchase_traits(rng, n, p)
    sms = _sms_traits(rng, n, signup, n_days, p)
    relevance = _mean_relevance(buy["affinity"], calendar)
    excess = np.maximum(0.0, sms["frequency"] - sms["tolerance"])
    rel_rate = np.maximum(buy["rate"] / p.purchase_rate_mean, 0.05)
    lifetime = p.lifetime_median_days * np.exp(p.lifetime_sigma * rng.standard_normal(n))
    hazard = rel_rate ** (-p.lifetime_rate_elasticity) / lifetime
    hazard_sms = hazard * (
        1
        + p.hazard_excess_frequency * excess
        + p.hazard_irrelevance * sms["frequency"] * (1 - relevance)
    )
    stop_scale = p.stop_base * sms["stop_noise"] * (1 + p.stop_excess_frequency * excess)
    floor = 1.0 / rng.uniform(*p.browse_floor_days, n)
    return Cohort(
        first=first,
        signup=signup,
        place=place,
        postal=postal,
        store=store,
        phone_status=sms["phone_status"],
        sms_channel=sms["sms_channel"],
        rate=buy["rate"],
        sensitivity=buy["sensitivity"],
        deal_seeker=buy["deal_seeker"],
        affinity=buy["affinity"],
        premium=buy["premium"],
        basket=buy["basket"],
        engagement=sms["engagement"],
        return_share=buy["return_share"],
        frequency=sms["frequency"],
        tolerance=sms["tolerance"],
        relevance=relevance,
        hazard=hazard,
        hazard_sms=hazard_sms,
        stop_scale=stop_scale,
        optout_rate=sms["frequency"] / 7.0 * stop_probability(stop_scale, relevance),
        browse_rate=p.browse_per_order * buy["rate"] + floor,
        opt_in=sms["opt_in"],
    )


def completed_share(c: Cohort, p: Params = PARAMS) -> np.ndarray:
    """Share of a customer's orders that end up completed (not cancelled, not returned)."""
    return 1.0 - p.cancel_share - c.return_share
