"""SMS engagement and consent as of the cut-off, and loyalty programme state.

Consent is rebuilt from the opt_in / opt_out history up to ``as_of`` (never from a current
flag): a customer is opted in when their latest consent event is an opt-in; an opt-in and a
STOP at the same instant count as opted out (the safe reading).

Loyalty rows are a *current-state* snapshot (tier, balance, expiring points have no history):
they are used only for members with ``enrolled_at <= as_of``, and taken as they are. For past
cut-offs the balance is therefore today's, not the balance at the cut-off — documented in
``docs/features.md``.
"""

from __future__ import annotations

from smsseg.features.catalogue import (
    SMS_CLICK_WINDOWS,
    SMS_SENT_WINDOWS,
    AggregateQuery,
    Feature,
    Helper,
    windowed,
)

DAYS = "(epoch({as_of}) - epoch({col})) / 86400.0"
_OPTED_IN = "_last_opt_in_at IS NOT NULL AND (_last_opt_out_at IS NULL OR _last_opt_in_at > _last_opt_out_at)"


def _sms(name: str, dtype: str, window: str, description: str, **kw) -> Feature:
    return Feature(name, dtype, "sms", window, description, "sms", **kw)


SMS_FEATURES = (
    _sms(
        "sms_opted_in",
        "bool",
        "as of",
        "Latest consent event up to the cut-off is an opt-in.",
        expr=_OPTED_IN,
        fill=False,
    ),
    _sms(
        "sms_stopped",
        "bool",
        "as of",
        "Latest consent event up to the cut-off is an opt-out (STOP).",
        expr=f"_last_opt_out_at IS NOT NULL AND NOT ({_OPTED_IN})",
        fill=False,
    ),
    _sms(
        "days_since_opt_in",
        "float",
        "as of",
        "Days since the opt-in that started the current subscription (NA: not opted in).",
        expr=f"CASE WHEN sms_opted_in THEN {DAYS.replace('{col}', '_last_opt_in_at')} END",
    ),
    *windowed(
        "sms_sent_{w}d",
        SMS_SENT_WINDOWS,
        dtype="int",
        source="sms",
        family="sms",
        description="SMS sent to the customer in the last {w} days.",
        agg="COUNT(*) FILTER (WHERE event_type = 'sent' AND occurred_at > {as_of} - INTERVAL {w} DAY)",
        fill=0,
    ),
    *windowed(
        "sms_clicks_{w}d",
        SMS_CLICK_WINDOWS,
        dtype="int",
        source="sms",
        family="sms",
        description="SMS link clicks in the last {w} days.",
        agg="COUNT(*) FILTER (WHERE event_type = 'clicked' AND occurred_at > {as_of} - INTERVAL {w} DAY)",
        fill=0,
    ),
    _sms(
        "sms_ctr_90d",
        "float",
        "90d",
        "Clicks / sends over the last 90 days (NA: nothing sent).",
        expr="sms_clicks_90d / NULLIF(sms_sent_90d, 0)",
    ),
    _sms(
        "days_since_last_click",
        "float",
        "all history",
        "Days since the last SMS click (NA: never).",
        expr=DAYS.replace("{col}", "_last_click_at"),
    ),
    _sms(
        "days_since_last_sms",
        "float",
        "all history",
        "Days since the last SMS was sent (NA: never).",
        expr=DAYS.replace("{col}", "_last_sent_at"),
    ),
)

SMS_QUERY = AggregateQuery(
    name="sms",
    rows="SELECT customer_id, occurred_at, event_type FROM sms WHERE occurred_at <= {as_of}",
    features=SMS_FEATURES,
    helpers=(
        Helper("_last_opt_in_at", "MAX(occurred_at) FILTER (WHERE event_type = 'opt_in')"),
        Helper("_last_opt_out_at", "MAX(occurred_at) FILTER (WHERE event_type = 'opt_out')"),
        Helper("_last_click_at", "MAX(occurred_at) FILTER (WHERE event_type = 'clicked')"),
        Helper("_last_sent_at", "MAX(occurred_at) FILTER (WHERE event_type = 'sent')"),
    ),
    requires=("sms",),
)


def _loyalty(name: str, dtype: str, window: str, description: str, **kw) -> Feature:
    return Feature(name, dtype, "loyalty", window, description, "loyalty", **kw)


_EXPIRES_IN_30 = "points_expire_at > {as_of} AND points_expire_at <= {as_of} + INTERVAL 30 DAY"

LOYALTY_FEATURES = (
    _loyalty(
        "loyalty_member",
        "bool",
        "as of",
        "Enrolled in the loyalty programme on or before the cut-off.",
        expr="TRUE",
        fill=False,
    ),
    _loyalty(
        "loyalty_tier",
        "str",
        "snapshot",
        "Programme tier (current record; NA: not a member).",
        agg="MAX(tier)",
        requires=("loyalty.tier",),
    ),
    _loyalty(
        "points_balance",
        "float",
        "snapshot",
        "Points balance (current record; NA: not a member).",
        agg="MAX(points_balance)",
        requires=("loyalty.points_balance",),
    ),
    _loyalty(
        "points_expiring_30d",
        "float",
        "30d ahead",
        "Points expiring within 30 days after the cut-off (0: none; NA: not a member).",
        agg=f"MAX(CASE WHEN {_EXPIRES_IN_30} THEN COALESCE(points_expiring, 0.0) ELSE 0.0 END)",
        requires=("loyalty.points_expire_at",),
    ),
    _loyalty(
        "days_to_points_expiry",
        "float",
        "ahead",
        "Days from the cut-off to the points expiry date (NA: no expiry after the cut-off).",
        agg="MAX(CASE WHEN points_expire_at > {as_of} THEN (epoch(points_expire_at) - epoch({as_of})) / 86400.0 END)",
        requires=("loyalty.points_expire_at",),
    ),
    _loyalty(
        "days_since_enrolled",
        "float",
        "as of",
        "Days since joining the programme (NA: not a member).",
        agg="(epoch({as_of}) - epoch(MIN(enrolled_at))) / 86400.0",
    ),
)

LOYALTY_QUERY = AggregateQuery(
    name="loyalty",
    rows="SELECT * FROM loyalty WHERE enrolled_at <= {as_of}",
    features=LOYALTY_FEATURES,
    requires=("loyalty",),
)
