"""Due sends of the lifecycle flows in ``(as_of, as_of + window]``, as a send plan.

:func:`flow_plan` is a pure function of frames: the state machine
(:mod:`smsseg.flows.state`) gives every step's instant, then activation's rules decide which
SMS steps may go out, each reused rather than re-implemented — customer eligibility (phone,
channel preference, time zone: :func:`~smsseg.activation.consent.customer_eligibility`), consent
at the send's own time (:func:`~smsseg.activation.consent.consent_at`), the sunset state
(:func:`~smsseg.activation.targeting.sunset_state`), weekly caps
(:func:`~smsseg.activation.targeting.weekly_caps`), sticky holdouts
(:func:`~smsseg.activation.holdout.hashed_holdout`, salted per flow; the reactivation flow shares
the sunset flow's key, so it is one control group). Caps count the SMS history, the campaign
sends given (``other_sends``) and the flows' own sends, in time order; a step they block is
skipped (reason ``capped`` / ``discount_cooldown``), never moved, so the next run finds the same
instants. Held-out sends are listed (``holdout``) but, never reaching the SMS table, count toward
no cap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smsseg import config
from smsseg.activation.consent import (
    as_timestamp,
    consent_at,
    consent_events,
    customer_eligibility,
)
from smsseg.activation.holdout import SUNSET_HOLDOUT_KEY, hashed_holdout
from smsseg.activation.plan import (
    PLAN_COLUMNS,
    REASONS,
    SUPPRESSED_COLUMNS,
    Plan,
    consent_checked_at,
)
from smsseg.activation.policy import ActivationPolicy, PolicyError
from smsseg.activation.schedule import local_times
from smsseg.activation.targeting import sunset_state
from smsseg.flows.caps import WEEK, apply_caps, cap_history
from smsseg.flows.catalogue import Flow, FlowCatalogue
from smsseg.flows.state import state_table, step_table
from smsseg.flows.triggers import FlowInputs, as_of_inputs, check_inputs, member, triggers
from smsseg.zones import resolve_zones

FLOW_REASONS = (*REASONS, "not_offer_responsive")
DETAILS = {
    "prefers_email": "preferred_channel is email",
    "invalid_phone": "phone missing or not a valid number",
    "unknown_time_zone": "no time zone, or no instant inside quiet hours",
    "no_consent": "not opted in at the send time",
    "sunset": "sunset flow completed (or its final message already sent): suppressed",
    "not_offer_responsive": "second offer only for customers the uplift / discount model says respond",
    "capped": "daily, weekly or flow cap",
    "discount_cooldown": "another discount message within the cool-down window",
    "holdout": "sticky control group of the flow",
}
EMAIL_COLUMNS = ["customer_id", "flow", "step", "message_type", "send_at_utc", "trigger_at"]


@dataclass(frozen=True)
class FlowRun:
    """What one run of the flows as of ``plan.as_of`` gives.

    plan : the due SMS sends in the plan format (``campaign_id`` ``flow-<flow>-<step>``).
    state : one row per customer, flow and instance (:func:`~smsseg.flows.state.state_table`).
    emails : email steps due in the window, for the email platform.
    window : the window length.
    """

    plan: Plan
    state: pd.DataFrame
    emails: pd.DataFrame
    window: pd.Timedelta


def holdout_key(flow: Flow) -> str:
    """Salt of a flow's sticky holdout; the reactivation flow is the sunset flow of ``plan``."""
    return SUNSET_HOLDOUT_KEY if flow.trigger.kind == "dormancy" else f"flow-{flow.key}"


def _sunset(known: FlowInputs, as_of, policy, dormant_days: int, catalogue: FlowCatalogue):
    """The existing sunset logic on the customers dormant at ``as_of`` (one implementation)."""
    dormancy = [f for f in catalogue.flows if f.trigger.kind == "dormancy"]
    ids = known.customers["customer_id"]
    dormant = pd.Series(False, index=ids.to_numpy())
    if dormancy:
        trig = triggers(known, dormancy[0], dormant_days)
        latest = trig.groupby("customer_id")["trigger_at"].max()
        dormant = (latest.reindex(ids.to_numpy()) <= as_of).fillna(False)
    membership = pd.DataFrame({"customer_id": ids.to_numpy(), "is_dormant": dormant.to_numpy()})
    return sunset_state(membership, known.sms, as_of, policy).set_index("customer_id")


def _reactivation_steps(flow: Flow, policy: ActivationPolicy) -> Flow:
    """The reactivation flow with the policy's sunset settings checked and the survey applied."""
    from dataclasses import replace

    types = [s.message_type for s in flow.steps]
    wanted = [policy.sunset_message_type, policy.survey_message_type]
    if types != wanted[: len(types)] or len(types) > 2:
        raise PolicyError(
            f"flow {flow.key!r} (dormancy) must send the sunset flow's messages {wanted} "
            f"(policy sunset.message_type, sunset.survey_message_type); it sends {types}"
        )
    if len(flow.steps) == 2 and flow.steps[1].delay != pd.Timedelta(days=policy.survey_delay_days):
        raise PolicyError(
            f"flow {flow.key!r}: the survey delay {flow.steps[1].delay} must be the policy's "
            f"survey_delay_days={policy.survey_delay_days}"
        )
    return replace(flow, steps=flow.steps[: 2 if policy.sunset_survey else 1])


def _all_steps(known, catalogue, policy, as_of, zones, sunset, dormant_days, since=None):
    parts = []
    for flow in catalogue.flows:
        overrides = None
        if flow.trigger.kind == "dormancy":
            flow = _reactivation_steps(flow, policy)
            due = sunset.loc[sunset["state"] == "survey_due", "not_before"]
            if len(flow.steps) == 2:
                overrides = pd.Series(
                    due.to_numpy(),
                    index=pd.MultiIndex.from_arrays([due.index, [flow.steps[1].key] * len(due)]),
                )
        trig = triggers(known, flow, dormant_days)
        parts.append(step_table(flow, trig, known, zones, as_of, policy, overrides, since))
    return pd.concat(parts, ignore_index=True)


def _responsive(scores: pd.DataFrame, catalogue: FlowCatalogue) -> pd.Series:
    """Offer-responsive by the latest score: uplift above the bar when known, else sensitivity."""
    if scores.empty:
        return pd.Series(dtype=bool)
    last = scores.sort_values("scored_at").groupby("customer_id").tail(1).set_index("customer_id")
    uplift = last["uplift"] if "uplift" in last else pd.Series(np.nan, index=last.index)
    sens = last.get("discount_sensitivity", pd.Series(np.nan, index=last.index))
    by_uplift = uplift > catalogue.min_uplift
    by_sens = sens >= catalogue.min_discount_sensitivity
    return by_uplift.where(uplift.notna(), by_sens).astype("boolean").fillna(False).astype(bool)


def _customer_reasons(cand, elig, customers, sunset, flows_by_key) -> pd.Series:
    """Reasons that block a candidate whatever the caps: the first that applies."""
    channel = customers.set_index("customer_id").get("preferred_channel")
    prefers_email = (
        cand["customer_id"]
        .map(channel)
        .astype(object)
        .map(lambda v: isinstance(v, str) and v.strip().lower() == "email")
    )
    phone = cand["customer_id"].map(elig["phone_e164"])
    state = cand["customer_id"].map(sunset["state"]).fillna("none")
    dormancy = cand["flow"].isin(
        [k for k, f in flows_by_key.items() if f.trigger.kind == "dormancy"]
    )
    final_done = dormancy & (cand["step_no"] == 0) & state.isin(["survey_due", "suppressed"])
    checks = [
        ("prefers_email", prefers_email.to_numpy(dtype=bool)),
        ("invalid_phone", phone.isna().to_numpy()),
        ("unknown_time_zone", cand["scheduled_at"].isna().to_numpy()),
        ("sunset", ((state == "suppressed") | final_done).to_numpy(dtype=bool)),
        ("not_offer_responsive", ~cand["responsive"].to_numpy(dtype=bool)),
    ]
    reason = pd.Series(None, index=cand.index, dtype=object)
    for name, hit in reversed(checks):  # the first rule in the list wins
        reason = reason.mask(hit, name)
    return reason


def _consent_blocks(sms, history, reason, cutoff) -> tuple[pd.Series, pd.Series]:
    """Candidates not opted in at their own send time, and those a STOP after ``as_of`` blocks."""
    if sms.empty:  # consent_at needs at least one key to type its merge
        none = pd.Series(False, index=sms.index)
        return none, none
    consent = consent_at(
        consent_events(history),
        pd.DataFrame({"customer_id": sms["customer_id"], "t": sms["scheduled_at"]}),
    )
    off = reason.isna() & ~consent["opted_in"]
    return off, off & (consent["decided_at"] > cutoff)


def flow_plan(
    inputs: FlowInputs,
    as_of: object,
    window: pd.Timedelta,
    catalogue: FlowCatalogue,
    policy: ActivationPolicy | None = None,
    *,
    holdout: float = 0.1,
    seed: int = config.DEFAULT_SEED,
    dormant_days: int = 120,
    other_sends: pd.DataFrame | None = None,
    known_until: object | None = None,
) -> FlowRun:
    """The flows' SMS sends due in ``(as_of, as_of + window]``, their emails and the state table.

    Parameters
    ----------
    inputs : the data (:class:`~smsseg.flows.triggers.FlowInputs`); rows after ``as_of`` are
        ignored, except consent events, checked at each send's own time.
    as_of : the run's instant; window : how far ahead to emit sends (> 0).
    catalogue : the flows (:func:`~smsseg.flows.catalogue.load_flows`).
    policy : quiet hours, caps, cool-down, sunset settings (default :class:`ActivationPolicy()`).
    holdout : sticky control share of each flow, in ``[0, 1)``.
    seed : recorded in the plan; flow holdouts are hashed and need none (sticky across runs).
    dormant_days : the dormant segment's inactivity threshold (the reactivation trigger).
    other_sends : campaign sends already planned (a plan's ``sends``), counted by the caps.
    known_until : end of the SMS history (bounds ``consent_checked_at``).

    Returns
    -------
    FlowRun

    Raises
    ------
    SmssegError
        Missing input columns, a bad window or holdout share, a reactivation flow that does not
        match the policy's sunset settings.
    """
    policy = policy or ActivationPolicy()
    cutoff = as_timestamp(as_of)
    window = pd.Timedelta(window)
    if not window > pd.Timedelta(0):
        raise PolicyError(f"window={window} must be longer than zero (e.g. 24h)")
    if not 0 <= holdout < 1:
        raise PolicyError(f"holdout={holdout} must be >= 0 and < 1")
    inputs = check_inputs(inputs)
    known = as_of_inputs(inputs, cutoff)
    zones = resolve_zones(known.customers).set_index("customer_id")["zones"]
    sunset = _sunset(known, cutoff, policy, dormant_days, catalogue)
    steps = _all_steps(known, catalogue, policy, cutoff, zones, sunset, dormant_days)
    state = state_table(steps, cutoff)
    at = steps["scheduled_at"].fillna(steps["due_at"])
    live = steps["exit_at"].isna() | (at < steps["exit_at"])
    due = steps[live & (at > cutoff) & (at <= cutoff + window)]
    emails = due[due["channel"] == "email"].rename(columns={"scheduled_at": "send_at_utc"})
    # an SMS step without a quiet-hours instant is reported in the window of its due instant
    since = cutoff - max(WEEK, pd.Timedelta(days=policy.discount_cooldown_days))
    recent = known.sms[(known.sms["occurred_at"] > since).to_numpy()]
    sms, reason, elig = decide(
        due[due["channel"] == "sms"], inputs, known, cutoff, catalogue, policy, holdout, sunset,
        recent, other_sends,
    )  # fmt: skip
    sent = sms[reason.isna().to_numpy()]
    plan = _as_plan(
        sms, sent, reason, elig, cutoff, catalogue, holdout, seed, inputs.sms, known_until
    )
    emails = emails[EMAIL_COLUMNS].reset_index(drop=True)
    return FlowRun(plan=plan, state=state, emails=emails, window=window)


def decide(sms, inputs, known, cutoff, catalogue, policy, holdout, sunset, sent_history, other):
    """Which due SMS steps go out, and why the others do not: activation's rules, in order.

    Parameters
    ----------
    sms : SMS rows of the step table due in the window.
    inputs, known : all the inputs, and those known at ``cutoff``.
    sent_history : SMS rows (``sent``) the caps count besides the flows' own new sends.
    other : campaign sends already planned (counted by the caps) or ``None``.

    Returns
    -------
    (sms, reason, eligibility) : candidates with ``campaign_id``, ``segment``, ``goal``,
    ``discount``, ``holdout``, ``stop_after_as_of``; the reason each is not sent (``None``: sent);
    the eligibility of their customers (phones, zones).
    """
    flows_by_key = {f.key: f for f in catalogue.flows}
    sms = sms.assign(
        campaign_id=[
            flows_by_key[f].campaign_id(s) for f, s in zip(sms["flow"], sms["step"], strict=True)
        ],
        segment=sms["flow"].map({k: f.segment for k, f in flows_by_key.items()}),
        goal=sms["flow"],
        discount=sms["offer"].astype(bool),
    )
    responsive = _responsive(known.scores, catalogue)
    sms = sms.assign(
        responsive=(sms["audience"] == "all")
        | sms["customer_id"].map(responsive).astype("boolean").fillna(False).astype(bool)
    )
    # phones are parsed for the customers with a due step only (libphonenumber is slow)
    due_customers = known.customers[member(known.customers["customer_id"], sms["customer_id"])]
    elig = customer_eligibility(due_customers, inputs.sms, cutoff).set_index("customer_id")
    reason = _customer_reasons(sms, elig, known.customers, sunset, flows_by_key)
    off, late = _consent_blocks(sms, inputs.sms, reason, cutoff)
    reason = reason.mask(off, "no_consent")
    held = pd.Series(False, index=sms.index)
    for key, rows in sms.groupby("flow"):
        held[rows.index] = hashed_holdout(
            rows["customer_id"], holdout, holdout_key(flows_by_key[key])
        )
    sms = sms.assign(holdout=held.to_numpy(dtype=bool), stop_after_as_of=late.to_numpy(dtype=bool))
    ok = sms[reason.isna().to_numpy()]
    discount_types = policy.all_discount_types | {
        s.message_type for f in catalogue.flows for s in f.steps if s.offer
    }
    mine = sent_history[member(sent_history["customer_id"], ok["customer_id"])]
    flow_of = {f.campaign_id(s.key): f.key for f in catalogue.flows for s in f.steps}
    history = cap_history(mine, other, discount_types, flow_of)
    clicks = known.sms[known.sms["event_type"] == "clicked"]
    last_clicks = clicks.groupby("customer_id")["occurred_at"].max().to_dict()
    capped = apply_caps(ok, history, last_clicks, policy, discount_types, flows_by_key)
    reason[capped.index] = capped.replace("", None)
    return sms, reason, elig


def _as_plan(sms, sent, reason, elig, cutoff, catalogue, share, seed, all_sms, known_until) -> Plan:
    latest = all_sms["occurred_at"].max() if len(all_sms) else pd.NaT
    known = pd.Timestamp(latest) if known_until is None else max(as_timestamp(known_until), latest)
    utc = sent["scheduled_at"].dt.tz_localize("UTC")
    zone = sent["customer_id"].map(elig["timezone"]).astype(object)
    local = local_times(utc, zone)
    sends = sent.assign(
        send_at_utc=utc,
        timezone=zone,
        consent_checked_at=consent_checked_at(utc, known),
        send_at_local=local,
        day=(local.dt.normalize() - cutoff.normalize()).dt.days,
    )[PLAN_COLUMNS + ["discount", "day", "flow", "step", "trigger_at"]]
    sends = sends.sort_values(["send_at_utc", "campaign_id", "customer_id"]).reset_index(drop=True)
    blocked = sms[reason.notna().to_numpy()].assign(reason=reason[reason.notna()].to_numpy())
    held = sends[sends["holdout"]].assign(reason="holdout", stop_after_as_of=False)
    suppressed = (
        pd.concat([blocked, held], ignore_index=True)
        .assign(detail=lambda f: f["reason"].map(DETAILS))[SUPPRESSED_COLUMNS]
        .astype({"stop_after_as_of": bool})
    )
    suppressed = suppressed.sort_values(["campaign_id", "reason", "customer_id"]).reset_index(
        drop=True
    )
    return Plan(
        sends=sends,
        suppressed=suppressed,
        suppression_list=pd.DataFrame(columns=["customer_id", "reason", "since"]),
        campaigns=_campaigns(catalogue, sms, sends, suppressed),
        phones=elig["phone_e164"],
        as_of=cutoff,
        goals=tuple(f.key for f in catalogue.flows),
        holdout=share,
        seed=seed,
        consent_known_until=known,
    )


def _campaigns(catalogue, sms, sends, suppressed) -> pd.DataFrame:
    rows = []
    for flow in catalogue.flows:
        for step in (s for s in flow.steps if s.channel == "sms"):
            cid = flow.campaign_id(step.key)
            s = sends[sends["campaign_id"] == cid]
            sup = suppressed.loc[suppressed["campaign_id"] == cid, "reason"].value_counts()
            mine = suppressed[suppressed["campaign_id"] == cid]
            rows.append({
                "campaign_id": cid, "goal": flow.key, "step": step.key,
                "targeted": int((sms["campaign_id"] == cid).sum()), "scheduled": len(s),
                "holdout": int(s["holdout"].sum()), "audience": int((~s["holdout"]).sum()),
                **{f"suppressed_{r}": int(sup.get(r, 0)) for r in FLOW_REASONS if r != "holdout"},
                "suppressed_stop_after_as_of": int(mine["stop_after_as_of"].sum()),
                "first_send_utc": s["send_at_utc"].min() if len(s) else pd.NaT,
                "last_send_utc": s["send_at_utc"].max() if len(s) else pd.NaT,
                "message_types": step.message_type, "note": "",
                # flow caps are taken in time order, not by campaign priority
                "lost_to": "earlier sends (caps in time order)",
            })  # fmt: skip
    return pd.DataFrame(rows)
