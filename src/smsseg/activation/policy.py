"""The activation policy, declared as data: caps, quiet hours, holidays, sunset flow and goals.

Everything the plan obeys lives in one :class:`ActivationPolicy` a user can read and override
(``load_policy(path)`` reads a TOML file; see ``docs/activation.md``). The defaults follow the SMS
segmentation guide's frequency framework:

====================  ==============================  =====================================
who                   default cap                     where it comes from
====================  ==============================  =====================================
highly engaged        4 SMS / rolling 7 days          clicked an SMS in the last 30 days
active (everyone)     3 SMS / rolling 7 days          base cap
VIP                   2 SMS / rolling 7 days          segment cap ``vip``
at-risk               1 SMS / rolling 7 days          segment cap ``at_risk`` (win-back)
dormant               1 SMS / rolling 7 days          segment cap ``dormant``: final, then sunset
all                   1 SMS / rolling 24 hours        global daily cap
====================  ==============================  =====================================

A customer's weekly cap is the smallest cap among the base and every segment they belong to.
Segment caps are resolved with this precedence: explicit ``segment_caps`` of the policy (a TOML
file or the constructor) > ``frequency_cap_per_week`` of the segment catalogue > the built-in
defaults above (see :func:`resolve_segment_caps`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time

from smsseg.errors import SmssegError
from smsseg.segments.rules import SEGMENT_KEYS  # the catalogue's keys, declared once

#: Built-in weekly caps of segments (the guide's framework); other segments get the base cap.
DEFAULT_SEGMENT_CAPS: dict[str, int] = {"vip": 2, "at_risk": 1, "dormant": 1}


class PolicyError(SmssegError):
    """An activation policy value breaks its rule."""


@dataclass(frozen=True)
class Target:
    """One segment a goal addresses, with the message type it gets.

    Parameters
    ----------
    segment : segment key (``is_<segment>`` in the membership table).
    message_type : message sent to it (the ``message_type`` of the plan and of the SMS history).
    discount : the message carries a discount, so the discount cool-down applies.
    category_offer : the message is about the campaign's offer category; it only goes to customers
        whose affinity ``category`` is one of the offer's categories (when the offer names any).
    min_churn_probability : only customers at or above this churn probability.
    """

    segment: str
    message_type: str
    discount: bool = False
    category_offer: bool = False
    min_churn_probability: float | None = None


@dataclass(frozen=True)
class GoalSpec:
    """A campaign goal of the guide: whom it targets, with what, when.

    Parameters
    ----------
    key : goal key (``recover_abandoned_carts``, ...).
    description : one line, for docs and the report.
    targets : segments in priority order; a customer in several gets the first one's message.
    send_time : preferred local send time (``HH:MM``), moved into the quiet-hours window if needed.
    last_day : last plan day (1 = the day after ``as_of``) the campaign may use; ``None`` = horizon.
    requires_category : the campaign needs an offer category (back in stock): without one it
        targets nobody rather than alerting people about nothing.
    """

    key: str
    description: str
    targets: tuple[Target, ...]
    send_time: str = "11:00"
    last_day: int | None = None
    requires_category: bool = False


def _t(segment: str, message_type: str, **kw) -> Target:
    return Target(segment, message_type, **kw)


#: The guide's ten campaign goals in the policy order (time-sensitive first): the campaign priority
#: under ``campaign_priority="policy"`` and the tie-break of the ``"value"`` priority.
DEFAULT_GOALS: tuple[GoalSpec, ...] = (
    GoalSpec(
        "recover_abandoned_carts",
        "Remind cart abandoners of their cart while intent is fresh (24-48 h).",
        (_t("cart_abandoner", "cart_reminder"),),
        send_time="18:00",
        last_day=2,
    ),
    GoalSpec(
        "back_in_stock",
        "Alert browsers and category fans that their category is back in stock.",
        (
            _t("browse_abandoner", "back_in_stock", category_offer=True),
            _t("category_specific", "back_in_stock", category_offer=True),
        ),
        send_time="12:00",
        last_day=3,
        requires_category=True,
    ),
    GoalSpec(
        "re_engage_inactive",
        "Sunset flow for the dormant (one final reactivation), win-back for the at-risk.",
        (_t("dormant", "final_reactivation"), _t("at_risk", "win_back")),
    ),
    GoalSpec(
        "reduce_churn",
        "Win-back offer to at-risk customers; a check-in to VIPs the model sees churning.",
        (
            _t("at_risk", "win_back_offer", discount=True),
            _t("vip", "vip_check_in", min_churn_probability=0.5),
        ),
    ),
    GoalSpec(
        "protect_high_value",
        "Curated, exclusive (non-discount) messages to VIPs.",
        (_t("vip", "vip_exclusive"),),
        send_time="10:00",
    ),
    GoalSpec(
        "promote_flash_sale",
        "Early access for VIPs, the sale for discount-sensitive and category customers.",
        (
            _t("vip", "early_access", category_offer=True),
            _t("discount_sensitive", "flash_sale", discount=True, category_offer=True),
            _t("category_specific", "flash_sale", discount=True, category_offer=True),
        ),
        send_time="10:00",
        last_day=2,
    ),
    GoalSpec(
        "loyalty_engagement",
        "Points balance, tier progress and reward expiry for loyalty members.",
        (_t("loyalty_member", "loyalty_update"),),
        send_time="12:00",
    ),
    GoalSpec(
        "drive_repeat_purchases",
        "Second-purchase incentive for first-time buyers, replenishment for repeat customers.",
        (
            _t("first_time_buyer", "second_purchase_offer", discount=True),
            _t("repeat_customer", "replenishment_reminder"),
        ),
    ),
    GoalSpec(
        "local_marketing",
        "Store events and local offers to customers with a known location.",
        (_t("location_based", "local_event"),),
        send_time="12:00",
    ),
    GoalSpec(
        "improve_engagement",
        "Non-promotional messages: welcome, product care tips, recommendations.",
        (
            _t("new_subscriber", "welcome"),
            _t("first_time_buyer", "product_care_tips"),
            _t("repeat_customer", "recommendation"),
        ),
        send_time="13:00",
    ),
)

GOAL_KEYS = tuple(g.key for g in DEFAULT_GOALS)

#: Named campaign priority rules (``ActivationPolicy.campaign_priority``; see
#: :mod:`smsseg.activation.priority`), with what they mean.
PRIORITY_RULES = {
    "value": "the campaign with the highest value at stake per send "
    "(mean churn_probability x predicted_clv of its textable customers) first",
    "policy": "the policy's goal order (time-sensitive campaigns first)",
}

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MMDD = re.compile(r"^(\d{2})-(\d{2})$")


def parse_hhmm(text: str, name: str) -> time:
    """``"08:00"`` → ``time(8, 0)``; a clear error otherwise."""
    m = _HHMM.match(str(text))
    if not m:
        raise PolicyError(f"{name}={text!r} must be a 24-hour time HH:MM, e.g. '08:00'")
    return time(int(m.group(1)), int(m.group(2)))


def is_holiday(day: date, holidays: tuple[str, ...]) -> bool:
    """Whether ``day`` is one of ``holidays`` (ISO dates, or ``MM-DD`` for every year)."""
    iso = day.isoformat()
    return any(h == iso or h == iso[5:] for h in holidays)


@dataclass(frozen=True)
class QuietHours:
    """Window of the local day in which sends are allowed: ``[start, end)``.

    The default 08:00-20:00 is the strictest of the US state rules (e.g. Florida, Oklahoma);
    ``holidays`` are local dates without any send, as ``YYYY-MM-DD`` or ``MM-DD`` (every year).
    """

    start: str = "08:00"
    end: str = "20:00"
    holidays: tuple[str, ...] = ("01-01", "12-25")

    def __post_init__(self):
        start, end = (
            parse_hhmm(self.start, "quiet_hours.start"),
            parse_hhmm(self.end, "quiet_hours.end"),
        )
        if start >= end:
            raise PolicyError(
                f"quiet_hours start={self.start!r} must be before end={self.end!r} "
                "(a window across midnight is not allowed)"
            )
        for h in self.holidays:
            ok = _MMDD.match(h) or re.match(r"^\d{4}-\d{2}-\d{2}$", h)
            if ok:
                try:
                    date.fromisoformat(h if len(h) == 10 else f"2024-{h}")
                except ValueError:
                    ok = None
            if not ok:
                raise PolicyError(f"holiday {h!r} must be an ISO date YYYY-MM-DD or MM-DD")


@dataclass(frozen=True)
class ActivationPolicy:
    """Every rule the plan obeys; see the module docstring for the defaults and precedence.

    Parameters
    ----------
    quiet_hours : allowed local window and holidays.
    daily_cap : sends per customer in any rolling 24 hours.
    active_cap_per_week : base weekly cap (rolling 7 days).
    engaged_cap_per_week : base weekly cap of highly engaged customers.
    engaged_click_days : a click within this many days before ``as_of`` makes a customer highly
        engaged.
    segment_caps : explicit weekly caps per segment (override the catalogue and the defaults).
    discount_cooldown_days : at most one discount message per customer in any such window, counting
        the SMS history (message types in ``discount_message_types``) and the plan.
    discount_message_types : message types of the history that count as discounts (the plan's
        discount targets are added automatically).
    sunset_message_type : the dormant customer's final reactivation message.
    sunset_survey : send an optional survey after the final message, before suppression;
        ``None`` (default) follows the catalogue (dormant ``sunset_after_messages >= 2``), else off.
    survey_message_type, survey_delay_days : the survey and how long after the final message.
    horizon_days : number of plan days (slots), starting the day after ``as_of``.
    back_in_stock_days : products restocked within this many days before ``as_of`` make their
        category a back-in-stock offer (see :func:`~smsseg.activation.inputs.offers_from_data`).
    goals : goal specifications; ``goal(key)`` finds one.
    campaign_priority : which campaign wins a send the caps make scarce: ``"value"`` (default,
        the highest value at stake per send first), ``"policy"`` (the order of ``goals``), or a
        tuple of goal keys (the rest follow in the order of ``goals``); see
        :mod:`smsseg.activation.priority`.
    """

    quiet_hours: QuietHours = field(default_factory=QuietHours)
    daily_cap: int = 1
    active_cap_per_week: int = 3
    engaged_cap_per_week: int = 4
    engaged_click_days: int = 30
    segment_caps: Mapping[str, int] = field(default_factory=dict)
    discount_cooldown_days: int = 14
    discount_message_types: tuple[str, ...] = (
        "promo",
        "win_back_offer",
        "flash_sale",
        "second_purchase_offer",
        "discount",
        "offer",
    )
    sunset_message_type: str = "final_reactivation"
    sunset_survey: bool | None = None
    survey_message_type: str = "sunset_survey"
    survey_delay_days: int = 7
    horizon_days: int = 7
    back_in_stock_days: int = 14
    goals: tuple[GoalSpec, ...] = DEFAULT_GOALS
    campaign_priority: str | tuple[str, ...] = "value"

    def __post_init__(self):
        for name in (
            "daily_cap",
            "active_cap_per_week",
            "engaged_cap_per_week",
            "engaged_click_days",
            "discount_cooldown_days",
            "survey_delay_days",
            "horizon_days",
            "back_in_stock_days",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PolicyError(f"{name}={value!r} must be an integer >= 1")
        for seg, cap in self.segment_caps.items():
            if seg not in SEGMENT_KEYS:
                raise PolicyError(
                    f"segment_caps has unknown segment {seg!r}; known: {SEGMENT_KEYS}"
                )
            if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
                raise PolicyError(f"segment_caps[{seg!r}]={cap!r} must be an integer >= 0")
        for goal in self.goals:
            parse_hhmm(goal.send_time, f"goals.{goal.key}.send_time")
            if goal.last_day is not None and goal.last_day < 1:
                raise PolicyError(f"goals.{goal.key}.last_day={goal.last_day} must be >= 1")
            for target in goal.targets:
                if target.segment not in SEGMENT_KEYS:
                    raise PolicyError(
                        f"goal {goal.key!r} targets unknown segment {target.segment!r}; "
                        f"known: {', '.join(SEGMENT_KEYS)}"
                    )
        if self.sunset_survey not in (None, True, False):
            raise PolicyError(f"sunset_survey={self.sunset_survey!r} must be true or false")
        self._check_priority()

    def _check_priority(self) -> None:
        rule = self.campaign_priority
        if isinstance(rule, str):
            if rule not in PRIORITY_RULES:
                raise PolicyError(
                    f"campaign_priority={rule!r} must be one of {', '.join(PRIORITY_RULES)} or a "
                    "list of goal keys"
                )
            return
        keys = [g.key for g in self.goals]
        unknown = [g for g in rule if g not in keys]
        if unknown or not rule or len(set(rule)) != len(rule):
            raise PolicyError(
                f"campaign_priority={list(rule)!r} must name each goal at most once, from: "
                f"{', '.join(keys)} (unknown: {unknown})"
            )

    def goal(self, key: str) -> GoalSpec:
        """The goal named ``key``; a clear error listing the known goals otherwise."""
        for g in self.goals:
            if g.key == key:
                return g
        raise PolicyError(
            f"unknown goal {key!r}; known goals: {', '.join(g.key for g in self.goals)}"
        )

    @property
    def all_discount_types(self) -> frozenset[str]:
        """Message types counted by the discount cool-down (declared + the goals' discounts)."""
        planned = {t.message_type for g in self.goals for t in g.targets if t.discount}
        return frozenset(self.discount_message_types) | planned


def resolve_segment_caps(
    policy: ActivationPolicy, catalogue_caps: Mapping[str, int | None] | None = None
) -> dict[str, int]:
    """Weekly cap per segment: explicit policy > catalogue > built-in defaults.

    Segments absent from all three have no cap of their own (the base cap applies).
    """
    caps = dict(DEFAULT_SEGMENT_CAPS)
    caps.update({k: int(v) for k, v in (catalogue_caps or {}).items() if v is not None})
    caps.update(policy.segment_caps)
    return caps


def with_goal_overrides(
    policy: ActivationPolicy, overrides: Mapping[str, Mapping]
) -> ActivationPolicy:
    """A copy of ``policy`` with ``send_time`` / ``last_day`` of some goals replaced."""
    goals = []
    for g in policy.goals:
        o = dict(overrides.get(g.key, {}))
        unknown = set(o) - {"send_time", "last_day"}
        if unknown:
            raise PolicyError(
                f"goals.{g.key}: unknown setting(s) {sorted(unknown)}; allowed: send_time, last_day"
            )
        goals.append(replace(g, **o))
    extra = set(overrides) - {g.key for g in policy.goals}
    if extra:
        raise PolicyError(f"goals: unknown goal(s) {sorted(extra)}; known: {', '.join(GOAL_KEYS)}")
    return replace(policy, goals=tuple(goals))
