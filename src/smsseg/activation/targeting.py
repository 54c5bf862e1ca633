"""From segments to campaign candidates: goal targets, the sunset flow, caps per customer.

Pure functions of frames. The membership table is the segments stage's output
(``customer_id``, ``is_<segment>`` booleans, optionally ``category``, ``churn_probability``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from smsseg.activation.consent import as_timestamp, by_id, utc_naive
from smsseg.activation.policy import SEGMENT_KEYS, ActivationPolicy, GoalSpec
from smsseg.errors import SmssegError

#: Columns of a candidates frame (one row per customer and campaign).
CANDIDATE_COLUMNS = ["customer_id", "goal", "segment", "message_type", "discount", "not_before"]
#: Sunset states: not in the flow, final message due, survey due, suppressed.
SUNSET_STATES = ("none", "final_due", "survey_due", "suppressed")
#: Membership columns holding a customer's affinity category, first found wins.
AFFINITY_COLUMNS = ("category", "dominant_category")


def check_membership(membership: pd.DataFrame, segments: Sequence[str]) -> None:
    """Raise a clear error when ``membership`` lacks ``customer_id`` or an ``is_<segment>``."""
    wanted = ["customer_id"] + [f"is_{s}" for s in segments]
    missing = [c for c in wanted if c not in membership.columns]
    if missing:
        raise SmssegError(
            f"membership is missing column(s) {missing}; a segments output "
            f"(membership.parquet) has customer_id and is_<segment> for {', '.join(SEGMENT_KEYS)}"
        )
    if membership["customer_id"].duplicated().any():
        dup = membership.loc[membership["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise SmssegError(f"membership has duplicate customer_id {dup!r}; one row per customer")


def _flag(membership: pd.DataFrame, segment: str) -> np.ndarray:
    return membership[f"is_{segment}"].fillna(False).to_numpy(dtype=bool)


def _sent(sms: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    sent = sms[sms["event_type"] == "sent"]
    sent = sent.assign(occurred_at=utc_naive(sent["occurred_at"]))
    sent = sent[sent["occurred_at"] <= as_of]
    if "message_type" not in sent:
        sent = sent.assign(message_type=None)
    return sent


def sunset_state(
    membership: pd.DataFrame, sms: pd.DataFrame, as_of: object, policy: ActivationPolicy
) -> pd.DataFrame:
    """Where each dormant customer stands in the sunset flow as of ``as_of``.

    A dormant customer without a final reactivation message (``policy.sunset_message_type``) sent
    at or before ``as_of`` is ``final_due``. After it, with ``policy.sunset_survey``, a survey is
    ``survey_due`` no earlier than ``survey_delay_days`` after the final message; once the flow is
    done the customer is ``suppressed`` from all messaging. A customer who is no longer dormant
    (they came back) leaves the flow (``none``).

    Returns
    -------
    DataFrame with ``customer_id``, ``state``, ``final_sent_at``, ``survey_sent_at``,
    ``not_before`` (earliest time of the next flow message, or NaT).
    """
    check_membership(membership, ["dormant"])
    cutoff = as_timestamp(as_of)
    sent = _sent(sms, cutoff)
    ids = membership["customer_id"]

    def last_sent(message_type: str) -> pd.Series:
        rows = sent[sent["message_type"] == message_type]
        return pd.to_datetime(by_id(ids, rows.groupby("customer_id")["occurred_at"].max()))

    final_at = last_sent(policy.sunset_message_type)
    survey_at = last_sent(policy.survey_message_type)
    dormant = _flag(membership, "dormant")
    survey_done = survey_at.notna() & (survey_at >= final_at)
    state = np.select(
        [
            ~dormant,
            final_at.isna(),
            np.full(len(ids), bool(policy.sunset_survey)) & ~survey_done,
        ],
        ["none", "final_due", "survey_due"],
        default="suppressed",
    )
    not_before = final_at.where(state == "survey_due") + pd.Timedelta(days=policy.survey_delay_days)
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "state": state,
            "final_sent_at": final_at.to_numpy(),
            "survey_sent_at": survey_at.to_numpy(),
            "not_before": not_before.to_numpy(),
        }
    )


def _offer_mask(
    membership: pd.DataFrame, goal: GoalSpec, categories: Sequence[str] | None
) -> np.ndarray | None:
    """Customers whose affinity matches the offer; ``None`` = no restriction."""
    if categories is None and not goal.requires_category:
        return None
    column = next((c for c in AFFINITY_COLUMNS if c in membership), None)
    if not categories or column is None:
        return np.zeros(len(membership), dtype=bool)
    wanted = {str(c).lower() for c in categories}
    return (
        membership[column]
        .astype(object)
        .map(lambda v: isinstance(v, str) and v.lower() in wanted)
        .to_numpy(dtype=bool)
    )


def target_goal(
    membership: pd.DataFrame, goal: GoalSpec, categories: Sequence[str] | None = None
) -> pd.DataFrame:
    """Candidates of one goal, before the sunset rule (see :func:`apply_sunset`).

    Each customer gets the message of the first of the goal's targets they match. Targets with
    ``category_offer`` only match customers whose affinity is one of ``categories`` (when given;
    a goal with ``requires_category`` matches nobody without); the affinity is the membership's
    ``category`` (else ``dominant_category``) column. Targets with ``min_churn_probability``
    need a ``churn_probability`` at or above it.

    Returns
    -------
    DataFrame with ``customer_id``, ``goal``, ``segment``, ``message_type``, ``discount``.
    """
    check_membership(membership, [t.segment for t in goal.targets] + ["dormant"])
    offer = _offer_mask(membership, goal, categories)
    churn = membership["churn_probability"] if "churn_probability" in membership else None
    taken = np.zeros(len(membership), dtype=bool)
    rows = []
    for target in goal.targets:
        hit = _flag(membership, target.segment) & ~taken
        if target.category_offer and offer is not None:
            hit &= offer
        if target.min_churn_probability is not None:
            # without a churn score nobody qualifies: the target is about model-flagged customers
            score = churn.fillna(-1.0).to_numpy(dtype=float) if churn is not None else -1.0
            hit &= score >= target.min_churn_probability
        taken |= hit
        rows.append(pd.DataFrame({
            "customer_id": membership["customer_id"].to_numpy()[hit],
            "segment": target.segment,
            "message_type": target.message_type,
            "discount": target.discount,
        }))  # fmt: skip
    return pd.concat(rows, ignore_index=True).assign(goal=goal.key)


def apply_sunset(
    cand: pd.DataFrame, sunset: pd.DataFrame, policy: ActivationPolicy
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep dormant customers out of everything but the sunset flow.

    Dormant customers only ever get the flow's messages: the final reactivation (or the survey
    when it is due, with its ``not_before``); any other message, or any message once the flow is
    done, is excluded with reason ``sunset``.

    Returns
    -------
    (candidates, excluded) : candidates gain ``not_before``; excluded rows carry ``reason`` and
    ``detail``. Extra columns of ``cand`` (e.g. ``campaign_id``) are kept in both.
    """
    s = sunset.set_index("customer_id")
    state = by_id(cand["customer_id"], s["state"]).fillna("none")
    is_final = cand["message_type"] == policy.sunset_message_type
    # the survey replaces the final message for customers whose final message went out already
    cand = cand.assign(
        message_type=cand["message_type"].mask(is_final & (state == "survey_due"), policy.survey_message_type),
        not_before=pd.to_datetime(by_id(cand["customer_id"], s["not_before"])).where(is_final),
    )  # fmt: skip
    dormant_general = (state != "none") & ~is_final
    done = state == "suppressed"
    out = done | dormant_general | (is_final & (state == "none"))
    detail = np.select(
        [done, dormant_general, is_final & (state == "none")],
        [
            "sunset flow completed: suppressed from all messaging",
            "dormant: only the sunset flow may message them",
            "not dormant: the final reactivation is for dormant customers only",
        ],
        default="",
    )
    excluded = cand[out.to_numpy()].assign(reason="sunset", detail=detail[out.to_numpy()])
    return cand[(~out).to_numpy()].reset_index(drop=True), excluded.reset_index(drop=True)


def weekly_caps(
    membership: pd.DataFrame,
    sms: pd.DataFrame,
    as_of: object,
    policy: ActivationPolicy,
    segment_caps: Mapping[str, int],
) -> pd.Series:
    """Weekly cap of every customer: the smallest of their base cap and their segments' caps.

    The base is ``engaged_cap_per_week`` for customers who clicked an SMS within
    ``engaged_click_days`` before ``as_of`` (highly engaged), else ``active_cap_per_week``.

    Returns
    -------
    Series indexed by ``customer_id``.
    """
    cutoff = as_timestamp(as_of)
    clicks = sms[sms["event_type"] == "clicked"]
    at = utc_naive(clicks["occurred_at"])
    recent = at.between(cutoff - pd.Timedelta(days=policy.engaged_click_days), cutoff)
    engaged = membership["customer_id"].isin(clicks.loc[recent.to_numpy(), "customer_id"])
    cap = np.where(engaged, policy.engaged_cap_per_week, policy.active_cap_per_week)
    for segment, seg_cap in segment_caps.items():
        if f"is_{segment}" in membership:
            cap = np.where(_flag(membership, segment), np.minimum(cap, seg_cap), cap)
    return pd.Series(cap.astype(int), index=membership["customer_id"].to_numpy(), name="weekly_cap")


def recent_sends(sms: pd.DataFrame, as_of: object, days: int, discount_types) -> pd.DataFrame:
    """SMS sent in the ``days`` before ``as_of`` (inclusive): what the caps count besides the plan.

    Returns ``customer_id``, ``sent_at`` (naive UTC), ``discount`` (message type is a discount).
    """
    cutoff = as_timestamp(as_of)
    sent = _sent(sms, cutoff)
    sent = sent[sent["occurred_at"] > cutoff - pd.Timedelta(days=days)]
    return pd.DataFrame(
        {
            "customer_id": sent["customer_id"].to_numpy(),
            "sent_at": sent["occurred_at"].to_numpy(),
            "discount": sent["message_type"].isin(list(discount_types)).to_numpy(),
        }
    )
