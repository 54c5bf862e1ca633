"""The slot scheduler: at most one message per customer per plan day, inside caps and quiet hours.

Plan days (slots) are the ``horizon_days`` local dates after the date of ``as_of``, without the
holidays. Days are filled in order; within a day, campaigns in the campaign priority order (see
:mod:`smsseg.activation.priority`). A candidate is
scheduled on the first day of its campaign's window on which

* it has no other message that day (one per slot);
* the instant inside quiet hours in all its candidate zones exists (see
  :func:`~smsseg.zones.send_instant`);
* counting the SMS history and the plan so far, the sends in the 24 hours and in the 7 days before
  the new one (half-open windows ``(t - w, t]``) stay within the daily and weekly caps, and a
  discount message has no other discount in the cool-down window;
* it is not earlier than its ``not_before`` (the sunset survey's delay);
* the customer's latest consent event at or before that instant is an opt-in
  (:func:`~smsseg.activation.consent.consent_at`): consent is checked at the send time, on every
  consent event of the history, so a STOP received after ``as_of`` blocks the later messages
  and a STOP after a message's instant does not block it.

Because days are filled in time order, every new send is later than all the customer's earlier
ones, so checking the windows that *end* at the new send checks every window that contains it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from smsseg.activation.consent import as_timestamp, by_id, consent_at
from smsseg.activation.policy import ActivationPolicy, is_holiday, parse_hhmm
from smsseg.zones import send_instant

DAY, WEEK = pd.Timedelta(hours=24), pd.Timedelta(days=7)
#: Why a candidate was not scheduled, by what blocked its last attempt.
BLOCK_REASONS = {
    "slot": ("capped", "one message per slot: a higher-priority campaign took every free day"),
    "daily": ("capped", "global daily cap"),
    "weekly": ("capped", "weekly cap of the customer's segments"),
    "discount": ("discount_cooldown", "another discount message within the cool-down window"),
    "window": ("unknown_time_zone", "no instant inside quiet hours in every candidate zone"),
    "not_before": ("sunset", "sunset survey not due within the horizon"),
    "closed": ("capped", "campaign window closed before a free slot"),
    "consent": ("no_consent", "not opted in at the send time (no opt-in yet, or a STOP before it)"),
    "stopped": ("no_consent", "STOP received after as_of, before the send time"),
}


def plan_days(as_of: object, policy: ActivationPolicy) -> list[tuple[int, date]]:
    """``(day number, local date)`` of the plan's slots; day 1 is the day after ``as_of``."""
    first = as_timestamp(as_of).date() + timedelta(days=1)
    days = [(k + 1, first + timedelta(days=k)) for k in range(policy.horizon_days)]
    return [(k, d) for k, d in days if not is_holiday(d, policy.quiet_hours.holidays)]


def _instants(cand: pd.DataFrame, day: date, policy: ActivationPolicy) -> pd.Series:
    """Send instant (tz-aware UTC, NaT when none) of each candidate on local ``day``."""
    qh = policy.quiet_hours
    start, end = parse_hhmm(qh.start, "start"), parse_hhmm(qh.end, "end")
    keys = list(zip(cand["zones"], cand["send_time"], strict=True))
    lookup = {
        key: send_instant(key[0], day, parse_hhmm(key[1], "send_time"), start, end)
        for key in set(keys)
    }
    return pd.to_datetime(
        pd.Series([lookup[k] for k in keys], index=cand.index, dtype=object), utc=True
    )


def _counts(cand: pd.DataFrame, sends: pd.DataFrame, cooldown: pd.Timedelta) -> pd.DataFrame:
    """Sends in the day / week / discount cool-down before each candidate's time ``t``."""
    pos = pd.Series(np.arange(len(cand)), index=cand.index, name="pos")
    m = cand[["customer_id", "t"]].assign(pos=pos).merge(sends, on="customer_id")
    age = (m["t"] - m["sent_at"]).to_numpy()
    if (age <= pd.Timedelta(0)).any():  # the time-order invariant the module docstring relies on
        raise AssertionError("a planned send is not later than the customer's earlier sends")
    idx = m["pos"].to_numpy()

    def count(inside: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=inside.astype(float), minlength=len(cand)).astype(int)

    return pd.DataFrame(
        {
            "day": count(age < DAY),
            "week": count(age < WEEK),
            "discount": count(m["discount"].to_numpy(dtype=bool) & (age < cooldown)),
        },
        index=cand.index,
    )


def _consent_blocks(cand: pd.DataFrame, consent: pd.DataFrame | None, cutoff) -> list:
    """``consent`` / ``stopped`` rules: not opted in at ``t`` (``stopped`` when a STOP received
    after ``as_of`` decided it, the case a consent read as of ``as_of`` would miss)."""
    if consent is None:
        return []
    c = consent_at(consent, cand[["customer_id", "t"]])
    off = ~c["opted_in"].to_numpy() & cand["t"].notna().to_numpy()
    late = off & (c["decided_at"] > cutoff).to_numpy()
    return [("consent", off & ~late), ("stopped", late)]


def _blocks(
    cand: pd.DataFrame, sends: pd.DataFrame, cutoff, policy: ActivationPolicy, consent=None
) -> pd.Series:
    """For each candidate with its time ``t``: ``""`` if it may be sent, else what blocks it."""
    n = _counts(cand, sends, pd.Timedelta(days=policy.discount_cooldown_days))
    blocked = pd.Series("", index=cand.index, dtype=object)
    no_time = (cand["t"].isna() | (cand["t"] <= cutoff)).to_numpy()
    rules = [
        ("discount", cand["discount"].to_numpy(dtype=bool) & (n["discount"] > 0).to_numpy()),
        ("weekly", (n["week"] + 1 > cand["weekly_cap"]).to_numpy()),
        ("daily", (n["day"] + 1 > policy.daily_cap).to_numpy()),
        ("not_before", (cand["not_before"].notna() & (cand["t"] < cand["not_before"])).to_numpy()),
        *_consent_blocks(cand, consent, cutoff),
        ("window", no_time),
    ]
    # the last matching rule is reported: window, consent, not_before, daily, ...
    for name, hit in rules:
        blocked = blocked.mask(hit, name)
    return blocked


def _later_same_day(
    daily: pd.DataFrame, sends: pd.DataFrame, day: date, policy: ActivationPolicy
) -> pd.DataFrame:
    """Candidates blocked by the daily cap, moved to 24 hours after the customer's latest send
    when that instant is still inside quiet hours (in every candidate zone) on the same day.

    Returns the movable rows with their new ``t`` (naive UTC) and ``utc`` (tz-aware).
    """
    if daily.empty:
        return daily.assign(utc=pd.Series(dtype="datetime64[ns, UTC]"))
    qh = policy.quiet_hours
    start, end = parse_hhmm(qh.start, "start"), parse_hhmm(qh.end, "end")
    earliest = by_id(daily["customer_id"], sends.groupby("customer_id")["sent_at"].max()) + DAY
    moved = {}
    for idx, zones, at in zip(daily.index, daily["zones"], earliest, strict=True):
        local = pd.Timestamp(at).tz_localize("UTC").tz_convert(zones[0]).ceil("min")
        if local.date() != day:
            continue
        instant = send_instant(zones, day, local.time(), start, end)
        # the window may clamp the instant earlier than asked: then the day is full
        if instant is not None and instant.tz_localize(None) >= at:
            moved[idx] = instant
    utc = pd.Series(moved, dtype="datetime64[ns, UTC]")
    return daily.loc[utc.index].assign(utc=utc, t=utc.dt.tz_localize(None))


def _prepare(candidates, zones, weekly_cap, policy, priority) -> pd.DataFrame:
    order = list(priority) + [g.key for g in policy.goals if g.key not in priority]
    specs = {
        g.key: (order.index(g.key), g.send_time, g.last_day or policy.horizon_days)
        for g in policy.goals
    }
    spec = candidates["goal"].map(specs)
    return candidates.assign(
        zones=by_id(candidates["customer_id"], zones),
        weekly_cap=by_id(candidates["customer_id"], weekly_cap).astype(int),
        rank=spec.map(lambda s: s[0]),
        send_time=spec.map(lambda s: s[1]),
        last_day=spec.map(lambda s: s[2]),
        blocked="closed",
    ).reset_index(drop=True)


def schedule(
    candidates: pd.DataFrame,
    zones: pd.Series,
    weekly_cap: pd.Series,
    history: pd.DataFrame,
    as_of: object,
    policy: ActivationPolicy,
    consent: pd.DataFrame | None = None,
    priority: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assign send times to candidates (sendable customers only).

    Parameters
    ----------
    candidates : ``customer_id``, ``campaign_id``, ``goal``, ``segment``, ``message_type``,
        ``discount``, ``not_before`` (naive UTC or NaT).
    zones : candidate zones (tuples) by ``customer_id``.
    weekly_cap : weekly cap by ``customer_id``.
    history : recent sends: ``customer_id``, ``sent_at`` (naive UTC), ``discount``.
    as_of, policy : cut-off and rules.
    consent : consent events (:func:`~smsseg.activation.consent.consent_events`), checked at
        each candidate's send time; ``None`` skips the check (callers that filtered already).
    priority : goal keys, the campaign that wins a customer's send first
        (:func:`~smsseg.activation.priority.campaign_order`); goals it leaves out follow in the
        policy's order (empty: the policy's order).

    Returns
    -------
    (scheduled, unscheduled) : scheduled candidates with ``send_at_utc`` (tz-aware UTC) and
    ``day``; unscheduled ones with ``reason``, ``detail`` and ``stop_after_as_of`` (the last
    attempt was blocked by a STOP received after ``as_of``).

    Notes
    -----
    Within a day the caps of a candidate only depend on earlier days (a customer gets one
    message a day), so each day is one vectorised pass: every open candidate is checked, then
    each customer keeps their highest-priority allowed campaign.
    """
    cutoff = as_timestamp(as_of)
    pending = _prepare(candidates, zones, weekly_cap, policy, priority)
    sends = history[["customer_id", "sent_at", "discount"]]
    done: list[pd.DataFrame] = []
    for k, day in plan_days(cutoff, policy):
        cand = pending[pending["last_day"] >= k]
        if cand.empty:
            continue
        utc = _instants(cand, day, policy)
        cand = cand.assign(t=utc.dt.tz_localize(None))
        blocked = _blocks(cand, sends, cutoff, policy, consent)
        later = _later_same_day(cand[(blocked == "daily").to_numpy()], sends, day, policy)
        if len(later):  # a later hour of the same day may satisfy the rolling daily cap
            cand.loc[later.index, "t"] = later["t"]
            utc[later.index] = later["utc"]
            blocked[later.index] = _blocks(cand.loc[later.index], sends, cutoff, policy, consent)
        allowed = cand[(blocked == "").to_numpy()].sort_values(["customer_id", "rank"])
        chosen = allowed.drop_duplicates("customer_id")
        blocked[allowed.index.difference(chosen.index)] = "slot"
        pending.loc[blocked.index, "blocked"] = blocked
        done.append(chosen.assign(day=k, send_at_utc=utc[chosen.index]))
        new = chosen[["customer_id", "t", "discount"]].rename(columns={"t": "sent_at"})
        sends = pd.concat([sends, new], ignore_index=True)
        pending = pending.drop(index=chosen.index)
    empty = pending.iloc[:0].assign(
        t=pd.NaT, day=0, send_at_utc=pd.Series(dtype="datetime64[ns, UTC]")
    )
    scheduled = pd.concat(done, ignore_index=True) if done else empty
    why = pending["blocked"].map(BLOCK_REASONS)
    unscheduled = pending.assign(
        reason=why.map(lambda r: r[0]),
        detail=why.map(lambda r: r[1]),
        stop_after_as_of=pending["blocked"] == "stopped",
    )
    extra = ["t", "zones", "weekly_cap", "rank", "send_time", "last_day"]
    return (
        scheduled.drop(columns=extra + ["blocked"], errors="ignore"),
        unscheduled.drop(columns=extra + ["blocked"], errors="ignore"),
    )


def local_times(send_at_utc: pd.Series, timezone: pd.Series) -> pd.Series:
    """Naive local wall-clock times of UTC instants, each in its own zone."""
    out = pd.Series(pd.NaT, index=send_at_utc.index, dtype="datetime64[ns]")
    for zone in timezone.dropna().unique():
        idx = timezone == zone
        out[idx] = send_at_utc[idx].dt.tz_convert(zone).dt.tz_localize(None).to_numpy()
    return out
