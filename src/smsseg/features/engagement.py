"""SMS engagement and consent as of the cut-off, and loyalty programme state as of the cut-off.

Consent is rebuilt from the opt_in / opt_out history up to ``as_of`` (never from a current
flag): a customer is opted in when their latest consent event is an opt-in; an opt-in and a
STOP at the same instant count as opted out (the safe reading).

Loyalty state (tier, balance, expiring points) comes from the points ledger
(``loyalty_events``) when it holds any entry on or before the cut-off: the ledger is then the
record of every member, read up to the cut-off. Otherwise it comes from the ``loyalty`` table's
snapshot columns, but only when they describe a moment on or before the cut-off (their
``snapshot_at``, else the directory's export time, :func:`smsseg.data.contract.export_time_sql`);
before that they are NA. Why NA and not "today's values": a balance read after the cut-off
holds the points of orders placed after it, the very orders the churn label counts. And since
every back-dated training snapshot then lacks them, the model never learns from them (its
all-NA columns are dropped), so scoring later, when they are present, is no train/serve skew.

Expiring points follow one rule for both sources: debits (redemptions, expiries, negative
adjustments) consume the soonest-expiring credited points first. The points still outstanding
that expire by ``X`` are then ``max(0, E(<= X) - D)``, with ``E(<= X)`` the credited points
expiring by ``X`` and ``D`` all debits up to the cut-off. A snapshot reads as one credit of
``points_expiring`` expiring at ``points_expire_at``, the rest of the balance never expiring.
"""

from __future__ import annotations

from smsseg.data.contract import export_time_sql
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
        agg="CAST(COALESCE(SUM(n_{w}d) FILTER (WHERE event_type = 'sent'), 0) AS BIGINT)",
        fill=0,
    ),
    *windowed(
        "sms_clicks_{w}d",
        SMS_CLICK_WINDOWS,
        dtype="int",
        source="sms",
        family="sms",
        description="SMS link clicks in the last {w} days.",
        agg="CAST(COALESCE(SUM(n_{w}d) FILTER (WHERE event_type = 'clicked'), 0) AS BIGINT)",
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

# Every SMS event up to the cut-off, grouped by customer and type: the type's last time and its
# count in each window. The per-customer query picks these few rows apart: a third less work
# than a dozen filters on every one of tens of millions of events (as for the browse events).
SMS_TYPE_ROWS = (
    "SELECT customer_id, event_type, MAX(occurred_at) AS last_at, "
    + ", ".join(
        f"COUNT(*) FILTER (WHERE occurred_at > {{as_of}} - INTERVAL {w} DAY) AS n_{w}d"
        for w in sorted(set(SMS_SENT_WINDOWS) | set(SMS_CLICK_WINDOWS))
    )
    + " FROM sms WHERE occurred_at <= {as_of} GROUP BY customer_id, event_type"
)

SMS_QUERY = AggregateQuery(
    name="sms",
    rows=SMS_TYPE_ROWS,
    features=SMS_FEATURES,
    helpers=(
        Helper("_last_opt_in_at", "MAX(last_at) FILTER (WHERE event_type = 'opt_in')"),
        Helper("_last_opt_out_at", "MAX(last_at) FILTER (WHERE event_type = 'opt_out')"),
        Helper("_last_click_at", "MAX(last_at) FILTER (WHERE event_type = 'clicked')"),
        Helper("_last_sent_at", "MAX(last_at) FILTER (WHERE event_type = 'sent')"),
    ),
    requires=("sms",),
)


def _loyalty(name: str, dtype: str, window: str, description: str, **kw) -> Feature:
    return Feature(name, dtype, "loyalty_events + loyalty", window, description, "loyalty", **kw)


#: Look-ahead of ``points_expiring_30d``.
EXPIRY_DAYS = 30
_POINTS = "DECIMAL(38, 9)"  # exact sums: the same ledger always gives the same bits

# Every loyalty fact up to the cut-off, as uniform entries: an enrolment, a ledger entry or the
# snapshot (when it is valid and there is no ledger). ``delta`` changes the balance, ``lot`` is
# a credit that expires at ``expires_at``, ``debit`` a withdrawal; ``known`` says the entry
# tells the points (an enrolment does only in ledger mode, where it means "0 so far").
_ENTRIES = f"""
    ledger_mode AS (
        SELECT EXISTS (SELECT 1 FROM loyalty_events WHERE occurred_at <= {{as_of}}) AS on_),
    snapshot AS (
        SELECT l.*, COALESCE(l.snapshot_at, x.exported_at) AS taken_at
        FROM loyalty AS l, (SELECT {export_time_sql()} AS exported_at) AS x, ledger_mode AS m
        WHERE NOT m.on_ AND l.enrolled_at <= {{as_of}}),
    entries AS (
        SELECT customer_id, occurred_at AS joined_at, TRUE AS known,
               CAST(points AS {_POINTS}) AS delta,
               CASE WHEN points > 0 AND expires_at IS NOT NULL
                    THEN CAST(points AS {_POINTS}) END AS lot,
               CASE WHEN points > 0 THEN expires_at END AS expires_at,
               CASE WHEN points < 0 THEN CAST(-points AS {_POINTS}) END AS debit,
               CASE WHEN kind = 'tier_change' THEN tier END AS tier,
               CASE WHEN kind = 'tier_change' THEN occurred_at END AS tier_at
        FROM loyalty_events WHERE occurred_at <= {{as_of}}
        UNION ALL
        SELECT l.customer_id, l.enrolled_at, m.on_, CASE WHEN m.on_ THEN CAST(0 AS {_POINTS}) END,
               NULL, NULL, NULL, NULL, NULL
        FROM loyalty AS l, ledger_mode AS m WHERE l.enrolled_at <= {{as_of}}
        UNION ALL
        SELECT customer_id, NULL, TRUE, CAST(points_balance AS {_POINTS}),
               CASE WHEN points_expire_at IS NOT NULL
                    THEN CAST(points_expiring AS {_POINTS}) END,
               points_expire_at, NULL, tier, taken_at
        FROM snapshot WHERE taken_at <= {{as_of}})
"""
# One row per (member, expiry date), the entries summed. Debits carry no expiry, so they sit in
# the member's first row (NULLS FIRST), and the running total ``unspent_upto`` of credits minus
# debits is, on the row of date X, E(<= X) - D: positive once some points expiring by X are
# unspent, which finds the soonest outstanding expiry in one window.
LOYALTY_ROWS = f"""
    WITH {_ENTRIES},
    lots AS (
        SELECT customer_id, expires_at, MIN(joined_at) AS joined_at, bool_or(known) AS known,
               SUM(delta) AS delta, SUM(lot) AS lot, SUM(debit) AS debit,
               arg_max(tier, (tier_at, tier)) FILTER (WHERE tier_at IS NOT NULL
                                                      AND tier IS NOT NULL) AS tier,
               MAX(tier_at) FILTER (WHERE tier IS NOT NULL) AS tier_at
        FROM entries GROUP BY customer_id, expires_at)
    SELECT *, SUM(COALESCE(lot, 0) - COALESCE(debit, 0))
              OVER (PARTITION BY customer_id ORDER BY expires_at NULLS FIRST) AS unspent_upto
    FROM lots
"""


def _outstanding(until: str) -> str:
    """Points credited that expire by ``until`` and are not yet spent (debits go first to them)."""
    return (
        f"GREATEST(COALESCE(SUM(lot) FILTER (WHERE expires_at <= {until}), 0) "
        "- COALESCE(SUM(debit), 0), 0)"
    )


LOYALTY_FEATURES = (
    _loyalty(
        "loyalty_member",
        "bool",
        "as of",
        "Enrolled in the loyalty programme (or in its ledger) on or before the cut-off.",
        expr="TRUE",
        fill=False,
    ),
    _loyalty(
        "loyalty_tier",
        "str",
        "as of",
        "Tier at the cut-off: the ledger's latest tier_change, else a snapshot taken by then "
        "(NA: not a member, or not known at the cut-off).",
        agg="arg_max(tier, (tier_at, tier)) FILTER (WHERE tier_at IS NOT NULL AND tier IS NOT NULL)",
        requires=("loyalty_events.tier|loyalty.tier",),
    ),
    _loyalty(
        "points_balance",
        "float",
        "as of",
        "Points balance at the cut-off: the ledger's sum, else a snapshot taken by then "
        "(NA: not a member, or not known at the cut-off).",
        agg="CAST(SUM(delta) AS DOUBLE)",
        requires=("loyalty_events.points|loyalty.points_balance",),
    ),
    _loyalty(
        "points_expiring_30d",
        "float",
        f"{EXPIRY_DAYS}d ahead",
        f"Points still outstanding at the cut-off that expire within {EXPIRY_DAYS} days after it "
        "(0: none; NA: not a member, or not known at the cut-off).",
        agg=(
            "CASE WHEN bool_or(known) THEN CAST("
            + _outstanding(f"{{as_of}} + INTERVAL {EXPIRY_DAYS} DAY")
            + " - "
            + _outstanding("{as_of}")
            + " AS DOUBLE) END"
        ),
        requires=("loyalty_events.expires_at|loyalty.points_expire_at",),
    ),
    _loyalty(
        "days_to_points_expiry",
        "float",
        "ahead",
        "Days from the cut-off to the next expiry of outstanding points (NA: none known).",
        agg=(
            "(epoch(MIN(expires_at) FILTER (WHERE expires_at > {as_of} AND unspent_upto > 0)) "
            "- epoch({as_of})) / 86400.0"
        ),
        requires=("loyalty_events.expires_at|loyalty.points_expire_at",),
    ),
    _loyalty(
        "days_since_enrolled",
        "float",
        "as of",
        "Days since joining the programme, or since the first ledger entry if earlier "
        "(NA: not a member).",
        agg="(epoch({as_of}) - epoch(MIN(joined_at))) / 86400.0",
    ),
)

LOYALTY_QUERY = AggregateQuery(
    name="loyalty",
    rows=LOYALTY_ROWS,
    features=LOYALTY_FEATURES,
    requires=("loyalty|loyalty_events",),
)
