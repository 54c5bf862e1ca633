"""The rule of each segment: a small pure function of the customer frame and its thresholds.

The *thresholds* live in the catalogue (``catalogue.toml``), never here; a rule only says how
they combine. Every rule reads its inputs through :func:`num` / :func:`flag` / :func:`known`, so a
missing value (NaN / NA, e.g. from an optional table the data does not have) means "not known"
and never puts a customer in a segment -- except where a rule says otherwise in its docstring
(e.g. "no order since" is true for a customer who never ordered).

The customer frame is the features frame joined with the scores, plus two columns added by
:func:`smsseg.segments.assign_segments`: ``value_score`` and ``tier_rank``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

Thresholds = Mapping[str, object]


def num(frame: pd.DataFrame, column: str) -> pd.Series:
    """``column`` as float64, NA -> NaN (comparisons with NaN are False: "not known")."""
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def flag(frame: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column with NA read as False."""
    return frame[column].astype("boolean").fillna(False).astype(bool)


def known(frame: pd.DataFrame, column: str) -> pd.Series:
    """Whether a (string) column holds a non-empty value."""
    values = frame[column]
    return values.notna() & (values.astype(str).str.strip() != "")


def _never_or_before(hours_since_other: pd.Series, hours_since_event: pd.Series) -> pd.Series:
    """True when the other event never happened or happened before the event."""
    return hours_since_other.isna() | (hours_since_other > hours_since_event)


def new_subscriber(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    days = num(df, "days_since_opt_in")
    return (
        flag(df, "sms_opted_in")
        & days.between(0, t["window_days"])
        & (num(df, "frequency") <= t["max_orders"])
    )


def first_time_buyer(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    return num(df, "frequency") == t["orders"]


def repeat_customer(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    return num(df, "frequency") >= t["min_orders"]


def vip(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    """Top tier, the top ``top_share`` of eligible buyers by value (ties all in), or eligible
    buyers whose value is at least ``min_value`` (``top_share`` resolved to its cut-off: how the
    Spark engine applies the rule one partition at a time)."""
    eligible = num(df, "frequency") >= t["min_orders"]
    if t["method"] == "top_tier":
        return eligible & (num(df, "tier_rank") == 0)
    if t["method"] == "min_value":
        return eligible & (num(df, "value_score") >= t["min_value"])
    return _top_share(num(df, "value_score").where(eligible), t["top_share"])


def cart_abandoner(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    """Cart add inside the window and no completed order since (never ordered counts)."""
    cart = num(df, "hours_since_last_cart_add")
    return cart.between(t["min_hours"], t["max_hours"]) & _never_or_before(
        num(df, "hours_since_last_order"), cart
    )


def browse_abandoner(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    """A view inside the window and neither a cart add nor an order since."""
    view = num(df, "hours_since_last_view")
    return (
        view.between(0, float(t["window_days"]) * 24.0)
        & _never_or_before(num(df, "hours_since_last_cart_add"), view)
        & _never_or_before(num(df, "hours_since_last_order"), view)
    )


def category_specific(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    return (
        known(df, "dominant_category")
        & (num(df, "dominant_category_share") >= t["min_share"])
        & (num(df, "frequency") >= t["min_orders"])
    )


def _top_share(value: pd.Series, share: float) -> pd.Series:
    """The top ``share`` of the known values (ties all in; the count is never rounded up)."""
    rank = value.rank(ascending=False, method="min")
    # tolerance: 0.15 * 20 must count as 3, whatever the float rounding
    return (rank <= share * value.notna().sum() + 1e-9).fillna(False).astype(bool)


def discount_sensitive(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    """The top ``top_share`` of scored customers (``method = "top_share"``), a score at least
    ``min_lift`` times the mean score (``"lift"``) or at least ``min_score`` (``"score"``).

    Ranking is the robust default: the probability of a discounted next order depends on the
    shop's base rate and the model's spread, its order much less."""
    score = num(df, "discount_sensitivity")
    if t["method"] == "score":
        return score >= t["min_score"]
    if t["method"] == "lift":
        return score >= t["min_lift"] * score.mean()
    return _top_share(score, t["top_share"])


def at_risk(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    """High churn probability and/or a falling order trend, among buyers. "Not yet dormant" is
    the catalogue's ``excludes = ["dormant"]``, applied by ``assign_segments``."""
    churn = num(df, "churn_probability") >= t["min_churn_probability"]
    falling = num(df, "trend_90d") <= t["max_trend_90d"]
    signal = (churn & falling) if t["combine"] == "and" else (churn | falling)
    return signal & (num(df, "frequency") >= t["min_orders"])


def dormant(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    """Inactive for the threshold of the customer's dominant category (else ``days``).

    Inactivity is ``days_since_last_engagement``; a customer with no engagement at all is
    inactive since their profile was created (``tenure_days``).
    """
    inactive = num(df, "days_since_last_engagement").fillna(num(df, "tenure_days"))
    by_category = {str(k): float(v) for k, v in dict(t["days_by_category"]).items()}
    limit = df["dominant_category"].astype(object).map(by_category).astype("float64")
    return inactive >= limit.fillna(float(t["days"]))


def loyalty_member(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    """Members as of the date; with ``min_points_balance`` > 0 the balance must be known."""
    member = flag(df, "loyalty_member")
    if float(t["min_points_balance"]) <= 0:
        return member
    return member & (num(df, "points_balance") >= t["min_points_balance"])


def location_based(df: pd.DataFrame, t: Thresholds) -> pd.Series:
    out = pd.Series(False, index=df.index)
    for column in t["require_any"]:
        out |= known(df, column)
    if t["require_timezone"]:
        out &= known(df, "timezone")
    return out


@dataclass(frozen=True)
class Rule:
    """A segment's rule: the function, the frame columns it reads, and its threshold checks.

    ``bounds`` maps a numeric threshold to (lowest, highest) allowed, ``None`` = open;
    ``choices`` maps a string threshold to its allowed values.
    """

    apply: Callable[[pd.DataFrame, Thresholds], pd.Series]
    inputs: tuple[str, ...]
    bounds: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    check: Callable[[Thresholds], list[str]] | None = None


def _check_cart(t: Thresholds) -> list[str]:
    if t["max_hours"] < t["min_hours"]:
        return [f"max_hours={t['max_hours']} must be >= min_hours={t['min_hours']}"]
    return []


def _check_dormant(t: Thresholds) -> list[str]:
    return [
        f"days_by_category.{name}={days!r} must be a number >= 1"
        for name, days in dict(t["days_by_category"]).items()
        if isinstance(days, bool) or not isinstance(days, int | float) or days < 1
    ]


def _check_location(t: Thresholds) -> list[str]:
    wrong = [c for c in t["require_any"] if c not in LOCATION_COLUMNS]
    if wrong or not t["require_any"]:
        return [
            f"require_any={list(t['require_any'])} must be a non-empty subset of {list(LOCATION_COLUMNS)}"
        ]
    return []


#: Columns that location_based may be asked to require (``require_any``).
LOCATION_COLUMNS = ("country", "region", "city", "postal_code", "store_id")

RULES: dict[str, Rule] = {
    "new_subscriber": Rule(
        new_subscriber,
        ("sms_opted_in", "days_since_opt_in", "frequency"),
        {"window_days": (1, None), "max_orders": (0, None)},
    ),
    "first_time_buyer": Rule(first_time_buyer, ("frequency",), {"orders": (1, None)}),
    "repeat_customer": Rule(repeat_customer, ("frequency",), {"min_orders": (2, None)}),
    "vip": Rule(
        vip,
        ("frequency", "value_score", "tier_rank"),
        {"top_share": (0.0, 1.0), "min_orders": (0, None)},
        {"method": ("top_share", "top_tier", "min_value")},
    ),
    "cart_abandoner": Rule(
        cart_abandoner,
        ("hours_since_last_cart_add", "hours_since_last_order"),
        {"min_hours": (0, None), "max_hours": (0, None)},
        check=_check_cart,
    ),
    "browse_abandoner": Rule(
        browse_abandoner,
        ("hours_since_last_view", "hours_since_last_cart_add", "hours_since_last_order"),
        {"window_days": (0, None)},
    ),
    "category_specific": Rule(
        category_specific,
        ("dominant_category", "dominant_category_share", "frequency"),
        {"min_share": (0.0, 1.0), "min_orders": (0, None)},
    ),
    "discount_sensitive": Rule(
        discount_sensitive,
        ("discount_sensitivity",),
        {"top_share": (0.0, 1.0), "min_lift": (0.0, None), "min_score": (None, None)},
        {"method": ("top_share", "lift", "score")},
    ),
    "at_risk": Rule(
        at_risk,
        ("churn_probability", "trend_90d", "frequency"),
        {
            "min_churn_probability": (0.0, 1.0),
            "max_trend_90d": (-1.0, 1.0),
            "min_orders": (0, None),
        },
        {"combine": ("or", "and")},
    ),
    "dormant": Rule(
        dormant,
        ("days_since_last_engagement", "tenure_days", "dominant_category"),
        {"days": (1, None)},
        check=_check_dormant,
    ),
    "loyalty_member": Rule(
        loyalty_member, ("loyalty_member", "points_balance"), {"min_points_balance": (0, None)}
    ),
    "location_based": Rule(location_based, (*LOCATION_COLUMNS, "timezone"), check=_check_location),
}

#: The twelve segment keys, in catalogue order.
SEGMENT_KEYS: tuple[str, ...] = tuple(RULES)
