"""Campaign plans: goals → targets → eligible → scheduled → holdout, and the files a platform imports.

:func:`make_plan` is a pure function of frames; :func:`write_plan` writes ``PLANDIR`` atomically.
Consent is checked at each send's own time on every consent event of the history (see
:mod:`smsseg.activation.consent`); each send carries ``consent_checked_at``, the instant up to
which its consent is known: the earlier of its send time and the end of the SMS history. Between
that instant and the send, only :func:`~smsseg.activation.recheck.drop_stopped` on a fresher
history can see a STOP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg import config
from smsseg._io import atomic_path
from smsseg.activation.checks import plan_violations
from smsseg.activation.consent import (
    as_timestamp,
    consent_events,
    customer_eligibility,
    utc_naive,
)
from smsseg.activation.holdout import draw_holdouts
from smsseg.activation.policy import ActivationPolicy, PolicyError, resolve_segment_caps
from smsseg.activation.priority import (
    campaign_order,
    cap_losses,
    lost_to_text,
    value_at_stake,
    value_per_send,
)
from smsseg.activation.schedule import local_times, schedule
from smsseg.activation.targeting import (
    apply_sunset,
    check_membership,
    recent_sends,
    sunset_state,
    target_goal,
    weekly_caps,
)

PLAN_COLUMNS = ["customer_id", "campaign_id", "goal", "segment", "message_type", "send_at_utc",
                "send_at_local", "timezone", "holdout", "consent_checked_at"]  # fmt: skip
SUPPRESSED_COLUMNS = ["customer_id", "campaign_id", "goal", "segment", "message_type", "reason",
                      "detail", "stop_after_as_of"]  # fmt: skip
AUDIENCE_COLUMNS = ["customer_id", "phone", "message_type", "send_at_utc", "consent_checked_at"]
#: Every suppression reason, in the order the rules are applied.
REASONS = ("no_consent", "prefers_email", "invalid_phone", "unknown_time_zone", "sunset",
           "discount_cooldown", "capped", "holdout")  # fmt: skip
CUSTOMER_DETAILS = {
    "no_consent": "not opted in as of the plan date (no opt-in, or a STOP) and no later opt-in",
    "prefers_email": "preferred_channel is email",
    "invalid_phone": "phone missing or not a valid number (or customer not in customers)",
    "unknown_time_zone": "no time zone from timezone, region or country",
}

#: Note of every campaign of a plan whose SMS history holds no consent event.
NO_CONSENT_NOTE = (
    "the SMS history holds no opt_in / opt_out event: no consent is known, nothing is sendable"
)
HOLDOUT_DETAIL = "random control group of the campaign (sunset flow: the same customers every plan)"


def campaign_id_for(goal: str, as_of: object) -> str:
    """Campaign id of a goal's campaign in a plan made as of ``as_of``: ``<goal>-YYYYMMDD``."""
    return f"{goal}-{as_timestamp(as_of):%Y%m%d}"


@dataclass(frozen=True)
class Plan:
    """A send plan and everything needed to activate and audit it.

    Attributes
    ----------
    sends : :data:`PLAN_COLUMNS` (+ ``discount``, ``day``), holdouts included.
    suppressed : :data:`SUPPRESSED_COLUMNS`, one row per targeted customer and campaign not sent.
    suppression_list : customers suppressed from all messaging by the sunset flow.
    campaigns : one row per campaign: counts by stage and by reason.
    phones : E.164 phone by ``customer_id`` (only for audience export; never logged).
    consent_known_until : end of the SMS history the plan's consent was read from (NaT when
        it holds no event); ``consent_checked_at`` of a send is the earlier of it and the send.
    priority : the goals in campaign priority order (who wins a scarce send first; see
        :mod:`smsseg.activation.priority`).
    cap_losses : ``campaign_id``, ``lost_to``, ``customers``: who took the sends each campaign
        lost to the caps (:func:`~smsseg.activation.priority.cap_losses`).
    """

    sends: pd.DataFrame
    suppressed: pd.DataFrame
    suppression_list: pd.DataFrame
    campaigns: pd.DataFrame
    phones: pd.Series = field(repr=False)
    as_of: pd.Timestamp
    goals: tuple[str, ...]
    holdout: float
    seed: int
    consent_known_until: pd.Timestamp = pd.NaT
    priority: tuple[str, ...] = ()
    cap_losses: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["campaign_id", "lost_to", "customers"])
    )

    def audience(self, campaign_id: str) -> pd.DataFrame:
        """The importable audience of one campaign: holdouts excluded, phones in E.164."""
        rows = self.sends[(self.sends["campaign_id"] == campaign_id) & ~self.sends["holdout"]]
        out = rows.assign(
            phone=rows["customer_id"].map(self.phones),
            send_at_utc=rows["send_at_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            consent_checked_at=rows["consent_checked_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        return (
            out[AUDIENCE_COLUMNS].sort_values(["send_at_utc", "customer_id"]).reset_index(drop=True)
        )

    def assignments(self) -> pd.DataFrame:
        """Holdout assignments in the data contract's ``assignments`` shape, for the readout."""
        s = self.sends
        return pd.DataFrame({
            "customer_id": s["customer_id"], "campaign_id": s["campaign_id"],
            "variant": np.where(s["holdout"], "control", "treatment"), "assigned_at": self.as_of,
        }).reset_index(drop=True)  # fmt: skip


def _check_args(goals: Sequence[str], policy: ActivationPolicy, holdout: float) -> tuple[str, ...]:
    if isinstance(goals, str):
        goals = [goals]
    if not goals:
        raise PolicyError("no goal given: name at least one (e.g. --goal recover_abandoned_carts)")
    for g in goals:
        policy.goal(g)
    if len(set(goals)) != len(goals):
        raise PolicyError(f"goals {list(goals)} name a goal twice")
    if not 0 <= holdout < 1:
        raise PolicyError(f"holdout={holdout} must be >= 0 and < 1 (a share of each campaign)")
    # campaigns run in the policy's priority order, whatever order the user named them in
    return tuple(g.key for g in policy.goals if g.key in goals)


def _targets(membership, goals, sunset, policy, offers, as_of):
    check_membership(membership, ["dormant"])
    cands, notes = [], {}
    for key in goals:
        spec = policy.goal(key)
        cats = (offers or {}).get(key)
        if spec.requires_category and not cats:
            notes[key] = "no offer category given (e.g. nothing restocked): targets nobody"
        cands.append(
            target_goal(membership, spec, cats).assign(campaign_id=campaign_id_for(key, as_of))
        )
    cands, excluded = apply_sunset(pd.concat(cands, ignore_index=True), sunset, policy)
    return cands, excluded, notes


def make_plan(
    membership: pd.DataFrame,
    customers: pd.DataFrame,
    sms: pd.DataFrame,
    as_of: object,
    goals: Sequence[str],
    policy: ActivationPolicy | None = None,
    holdout: float = 0.1,
    seed: int = config.DEFAULT_SEED,
    offers: Mapping[str, Sequence[str] | None] | None = None,
    catalogue_caps: Mapping[str, int | None] | None = None,
    known_until: object | None = None,
) -> Plan:
    """Build a send plan for ``goals`` as of ``as_of``.

    Parameters
    ----------
    membership : segments output (``customer_id``, ``is_<segment>``, optionally ``category``,
        ``churn_probability``).
    customers : customers table (``customer_id``, ``phone``, ``country``, ``region``,
        ``timezone``, ``preferred_channel``).
    sms : SMS history (``customer_id``, ``occurred_at``, ``event_type``, ``message_type``).
        Sends and clicks count only at or before ``as_of``; consent events count whenever they
        happened, each send being checked against the latest one at or before its own time.
    as_of : plan date; the plan's first slot is the next day.
    goals : goal keys (see :data:`~smsseg.activation.policy.GOAL_KEYS`).
    policy : rules (default :class:`ActivationPolicy()`).
    holdout : control share of each campaign, in ``[0, 1)``.
    seed : seed of the campaign holdout draws (not of the sunset flow's sticky holdout, see
        :mod:`smsseg.activation.holdout`).
    offers : offer categories per goal (``{"back_in_stock": ["shoes"]}``).
    catalogue_caps : weekly caps per segment from the segment catalogue.
    known_until : end of the SMS history (its export time) when ``sms`` is only a slice of it;
        default (and at least) its latest event. Bounds ``consent_checked_at``.

    Returns
    -------
    Plan

    Raises
    ------
    PolicyError
        Unknown goal, bad holdout share.
    SmssegError
        Missing columns or duplicate ids in the inputs.
    AssertionError
        Never for input: the finished plan is re-checked against every rule
        (:func:`~smsseg.activation.checks.plan_violations`) and a violation would be a bug.

    Example
    -------
    >>> plan = make_plan(membership, customers, sms, "2025-06-30",
    ...                  ["recover_abandoned_carts"])  # doctest: +SKIP
    """
    policy = policy or ActivationPolicy()
    goals = _check_args(goals, policy, holdout)
    cutoff = as_timestamp(as_of)
    # ids are strings in the data contract, even numeric ones: compare them as strings everywhere
    membership, customers, sms = (_str_ids(f) for f in (membership, customers, sms))
    consent = consent_events(sms)
    known = _known_until(sms, known_until)
    elig = customer_eligibility(customers, sms, cutoff).set_index("customer_id")
    sunset = sunset_state(membership, sms, cutoff, policy)
    caps = weekly_caps(
        membership, sms, cutoff, policy, resolve_segment_caps(policy, catalogue_caps)
    )
    cands, excluded, notes = _targets(membership, goals, sunset, policy, offers, cutoff)
    if consent.empty:  # say it once per campaign rather than leave an unexplained empty plan
        notes = {g: "; ".join(filter(None, [notes.get(g), NO_CONSENT_NOTE])) for g in goals}

    blocked, ok = _split_unsendable(cands, elig)
    history = recent_sends(
        sms, cutoff, max(7, policy.discount_cooldown_days) + 1, policy.all_discount_types
    )
    values = value_per_send(ok, value_at_stake(membership)).reindex(list(goals))
    order = campaign_order(goals, policy, values)
    sched, unsched = schedule(ok, elig["zones"], caps, history, cutoff, policy, consent, order)
    sends = _finish_sends(sched, elig, holdout, seed, policy, known)
    broken = {
        k: v
        for k, v in plan_violations(
            sends, history, sms, elig["zones"].to_dict(), caps, cutoff, policy
        ).items()
        if len(v)
    }
    if broken:  # a bug in the scheduler, never a user error
        raise AssertionError(f"plan breaks rule(s) {sorted(broken)}: {broken}")
    held = sends[sends["holdout"]].assign(reason="holdout", detail=HOLDOUT_DETAIL)
    suppressed = _suppressed_rows([blocked, excluded, unsched, held])
    losses = cap_losses(unsched, sends)
    summary = _campaign_summary(order, cutoff, cands, excluded, sends, suppressed, notes)
    return Plan(
        sends=sends,
        suppressed=suppressed,
        suppression_list=_suppression_list(sunset),
        campaigns=_with_priority(summary, order, values, losses),
        phones=elig["phone_e164"],
        as_of=cutoff,
        goals=goals,
        holdout=holdout,
        seed=seed,
        consent_known_until=known,
        priority=order,
        cap_losses=losses,
    )


def _with_priority(summary, order, values, losses) -> pd.DataFrame:
    """The campaign summary with its priority rank, value at stake per send and ``lost_to``."""
    summary = summary.assign(
        priority=range(1, len(order) + 1),
        value_per_send=values.reindex(list(order)).to_numpy(dtype=float),
        lost_to=summary["campaign_id"].map(lambda cid: lost_to_text(losses, cid)),
    )
    first = ["campaign_id", "goal", "priority", "value_per_send"]
    return summary[first + [c for c in summary if c not in first]]


def _known_until(sms: pd.DataFrame, given: object | None) -> pd.Timestamp:
    """The end of the SMS history: ``given`` but never before its latest event."""
    latest = utc_naive(sms["occurred_at"]).max() if len(sms) else pd.NaT
    if given is None:
        return pd.Timestamp(latest)
    given = as_timestamp(given, "known_until")
    return given if pd.isna(latest) else max(given, pd.Timestamp(latest))


def _suppressed_rows(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """:data:`SUPPRESSED_COLUMNS` of every stage's rejects; only the scheduler can tell a STOP
    after ``as_of`` (``stop_after_as_of``), the others are False."""
    rows = pd.concat(
        [p.assign(stop_after_as_of=p.get("stop_after_as_of", False)) for p in parts],
        ignore_index=True,
    )
    rows = rows[SUPPRESSED_COLUMNS].astype({"stop_after_as_of": bool})
    return rows.sort_values(["campaign_id", "reason", "customer_id"]).reset_index(drop=True)


def _str_ids(frame: pd.DataFrame) -> pd.DataFrame:
    if "customer_id" not in frame or frame["customer_id"].dtype == "str":
        return frame
    return frame.assign(customer_id=frame["customer_id"].astype("str"))


def _split_unsendable(cands: pd.DataFrame, elig: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates whose customer may not be texted at all (with reason), and the others."""
    known = cands["customer_id"].isin(elig.index)
    reason = cands["customer_id"].map(elig["reason"]).where(known, "invalid_phone")
    bad = reason.notna().to_numpy()
    blocked = cands[bad].assign(reason=reason[bad])
    return blocked.assign(detail=blocked["reason"].map(CUSTOMER_DETAILS)), cands[~bad]


def consent_checked_at(send_at_utc: pd.Series, known: pd.Timestamp) -> pd.Series:
    """The instant up to which each send's consent is known: the earlier of the send (tz-aware
    UTC) and the end of the known SMS history (naive UTC; NaT: the send itself)."""
    if pd.isna(known):
        return send_at_utc
    return send_at_utc.clip(upper=pd.Timestamp(known).tz_localize("UTC"))


def _finish_sends(sched, elig, share, seed, policy, known) -> pd.DataFrame:
    """Scheduled candidates → plan rows: holdout draw, reference zone and local wall time."""
    flow = (policy.sunset_message_type, policy.survey_message_type)
    sched = sched.assign(
        holdout=draw_holdouts(sched, share, seed, flow),
        timezone=sched["customer_id"].map(elig["timezone"]).astype(object),
        consent_checked_at=consent_checked_at(sched["send_at_utc"], known),
    )
    sched = sched.assign(send_at_local=local_times(sched["send_at_utc"], sched["timezone"]))
    sends = sched[PLAN_COLUMNS + ["discount", "day"]]
    return sends.sort_values(["send_at_utc", "campaign_id", "customer_id"]).reset_index(drop=True)


def _suppression_list(sunset: pd.DataFrame) -> pd.DataFrame:
    done = sunset[sunset["state"] == "suppressed"]
    since = done[["final_sent_at", "survey_sent_at"]].max(axis=1)
    return pd.DataFrame(
        {"customer_id": done["customer_id"], "reason": "sunset", "since": since}
    ).reset_index(drop=True)


def _campaign_summary(goals, as_of, cands, excluded, sends, suppressed, notes) -> pd.DataFrame:
    rows = []
    for key in goals:
        cid = campaign_id_for(key, as_of)
        s = sends[sends["campaign_id"] == cid]
        mine = suppressed[suppressed["campaign_id"] == cid]
        sup = mine["reason"].value_counts()
        rows.append({
            "campaign_id": cid, "goal": key,
            "targeted": int((cands["campaign_id"] == cid).sum() + (excluded["campaign_id"] == cid).sum()),
            "scheduled": len(s), "holdout": int(s["holdout"].sum()), "audience": int((~s["holdout"]).sum()),
            **{f"suppressed_{r}": int(sup.get(r, 0)) for r in REASONS if r != "holdout"},
            # a subset of suppressed_no_consent: the sends a consent read as of as_of would miss
            "suppressed_stop_after_as_of": int(mine["stop_after_as_of"].sum()),
            "first_send_utc": s["send_at_utc"].min() if len(s) else pd.NaT,
            "last_send_utc": s["send_at_utc"].max() if len(s) else pd.NaT,
            "message_types": ";".join(sorted(s["message_type"].unique())),
            "note": notes.get(key, ""),
        })  # fmt: skip
    return pd.DataFrame(rows)


def write_plan(plan: Plan, out: str | Path) -> dict[str, Path]:
    """Write a plan to ``out`` (replaced atomically as a whole) and return the written paths.

    Files: ``plan.parquet``, ``audiences/<campaign_id>.csv`` (holdouts excluded),
    ``suppressed.csv``, ``suppression_list.csv``, ``campaigns.csv``, ``assignments.csv`` and
    ``plan.json`` (settings and counts; no phone numbers).
    """
    out, known = Path(out), plan.consent_known_until
    with atomic_path(out) as tmp:
        (tmp / "audiences").mkdir(parents=True)
        plan.sends[PLAN_COLUMNS].to_parquet(tmp / "plan.parquet", index=False)
        for cid in plan.campaigns["campaign_id"]:
            plan.audience(cid).to_csv(tmp / "audiences" / f"{cid}.csv", index=False)
        plan.suppressed.to_csv(tmp / "suppressed.csv", index=False)
        plan.suppression_list.to_csv(tmp / "suppression_list.csv", index=False)
        plan.campaigns.to_csv(tmp / "campaigns.csv", index=False)
        plan.assignments().to_csv(tmp / "assignments.csv", index=False)
        plan.cap_losses.to_csv(tmp / "cap_losses.csv", index=False)
        meta = {
            "as_of": plan.as_of.isoformat(), "goals": list(plan.goals), "holdout": plan.holdout,
            "seed": plan.seed, "sends": len(plan.sends), "audience": int((~plan.sends["holdout"]).sum()),
            "suppressed_by_reason": plan.suppressed["reason"].value_counts().to_dict(),
            "sunset_suppressed": len(plan.suppression_list),
            "suppressed_stop_after_as_of": int(plan.suppressed["stop_after_as_of"].sum()),
            "consent_known_until": None if pd.isna(known) else known.isoformat(),
            "campaign_priority": list(plan.priority),
        }  # fmt: skip
        (tmp / "plan.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    files = [
        "plan.parquet",
        "suppressed.csv",
        "suppression_list.csv",
        "campaigns.csv",
        "assignments.csv",
        "cap_losses.csv",
        "plan.json",
    ]
    paths = {name: out / name for name in files}
    paths.update(
        {f"audience {c}": out / "audiences" / f"{c}.csv" for c in plan.campaigns["campaign_id"]}
    )
    return paths
