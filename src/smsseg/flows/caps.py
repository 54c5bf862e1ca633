"""Caps of the flows' sends: the policy's daily and weekly caps, each flow's own weekly cap and
the discount cool-down, over the SMS history, planned campaign sends and the flows' own sends.

Greedy in time order, by bisection on sorted nanosecond lists per customer. A step the caps block
is skipped, never moved (see :mod:`smsseg.flows.state`). The window rule is activation's: half-open
``(t - w, t]``, every window holding a new send checked (:mod:`smsseg.activation.checks` verifies
the same rule independently in the tests).
"""

from __future__ import annotations

import bisect

import numpy as np
import pandas as pd

from smsseg.activation.policy import ActivationPolicy

DAY, WEEK = pd.Timedelta(hours=24), pd.Timedelta(days=7)


def fits(times: list[int], at: int, window: int, cap: int) -> bool:
    """Whether one more send at ``at`` keeps every window of length ``window`` holding it within
    ``cap``. ``times`` is sorted (nanoseconds) and may hold later sends too (a campaign already
    planned): the windows to check end at ``at`` or at one of those later sends."""
    lo, hi = bisect.bisect_right(times, at), bisect.bisect_left(times, at + window)
    for end in [at, *times[lo:hi]]:
        inside = bisect.bisect_right(times, end) - bisect.bisect_right(times, end - window)
        if inside + 1 > cap:
            return False
    return True


def _by_key(keys, times) -> dict:
    out: dict = {}
    for k, t in zip(keys, times, strict=True):
        out.setdefault(k, []).append(int(t))
    for v in out.values():
        v.sort()
    return out


def weekly_cap(policy: ActivationPolicy, last_click: int | None, at: int) -> int:
    """The base weekly cap of a send at ``at`` (ns): the engaged cap when the customer clicked
    an SMS within ``engaged_click_days`` before it, else the active cap.

    Activation's :func:`~smsseg.activation.targeting.weekly_caps` reads engagement at the plan's
    as-of; a flow send reads it at its own instant instead, so that when the scheduler runs
    does not change a customer's cap (the idempotence of :func:`flow_plan`).
    """
    days = pd.Timedelta(days=policy.engaged_click_days).value
    recent = last_click is not None and at - last_click <= days
    return policy.engaged_cap_per_week if recent else policy.active_cap_per_week


def apply_caps(cand, history, last_clicks, policy, discount_types, flows_by_key) -> pd.Series:
    """Greedy in time order (ties: flow priority): ``""`` when sent, else the blocking reason.

    Hand-written because each decision depends on the earlier ones of the same customer; the
    loop is per customer over a handful of rows, windows counted by bisection on sorted
    nanosecond lists. Windows are half-open ``(t - w, t]``.
    """
    day, week = DAY.value, WEEK.value
    cooldown = pd.Timedelta(days=policy.discount_cooldown_days).value
    ns = history["sent_at"].to_numpy("datetime64[ns]").astype(np.int64)
    cid = history["customer_id"].to_numpy()
    is_disc = history["discount"].to_numpy(bool)
    times = _by_key(cid, ns)
    disc = _by_key(cid[is_disc], ns[is_disc])
    per_flow = _by_key(list(zip(cid, history["flow"].to_numpy(), strict=True)), ns)
    clicks = {k: pd.Timestamp(v).value for k, v in last_clicks.items()}
    order = cand.assign(rank=cand["flow"].map({k: f.priority for k, f in flows_by_key.items()}))
    order = order.sort_values(["customer_id", "scheduled_at", "rank"], kind="stable")
    at_ns = order["scheduled_at"].to_numpy("datetime64[ns]").astype(np.int64)
    out: dict = {}
    suppressed_from: dict = {}
    never = np.iinfo(np.int64).max
    for idx, c, at, key, offer, held, no in zip(
        order.index, order["customer_id"], at_ns, order["flow"], order["offer"],
        order["holdout"], order["step_no"], strict=True,
    ):  # fmt: skip
        at, flow = int(at), flows_by_key[key]
        mine = per_flow.setdefault((c, key), [])
        t, d = times.setdefault(c, []), disc.setdefault(c, [])
        if at > suppressed_from.get(c, never):
            out[idx] = "sunset"
        elif not fits(mine, at, week, flow.max_sms_per_week):
            out[idx] = "capped"
        elif offer and not fits(d, at, cooldown, 1):
            out[idx] = "discount_cooldown"
        elif not (
            fits(t, at, day, policy.daily_cap)
            and fits(t, at, week, weekly_cap(policy, clicks.get(c), at))
        ):
            out[idx] = "capped"
        else:
            out[idx] = ""
        if out[idx] or held:
            continue  # a held-out send never reaches the SMS table: it counts toward nothing
        for lst in (t, mine, *([d] if offer else [])):
            bisect.insort(lst, at)
        if flow.trigger.kind == "dormancy" and no == len(flow.steps) - 1:
            suppressed_from[c] = at  # the sunset flow is done: nothing else after it
    return pd.Series(out, dtype=object).reindex(cand.index)


def cap_history(
    sms: pd.DataFrame, other: pd.DataFrame | None, discount_types, flow_of: dict[str, str]
) -> pd.DataFrame:
    """The sends the caps count: ``customer_id``, ``sent_at``, ``discount`` and ``flow`` (the
    flow a recorded send belongs to, by its exact ``campaign_id`` in ``flow_of``, else None:
    another tool's ``flow-...`` campaign is not one of ours)."""
    sent = sms[sms["event_type"] == "sent"]
    camp = sent["campaign_id"] if "campaign_id" in sent else pd.Series(None, index=sent.index)
    mt = sent["message_type"] if "message_type" in sent else pd.Series(None, index=sent.index)
    flow = camp.astype(object).map(flow_of)
    hist = pd.DataFrame({
        "customer_id": sent["customer_id"].to_numpy(), "sent_at": sent["occurred_at"].to_numpy(),
        "discount": mt.isin(list(discount_types)).to_numpy(), "flow": flow.to_numpy(),
    })  # fmt: skip
    if other is not None and len(other):
        other = other[~other["holdout"].astype(bool)]
        at = pd.to_datetime(other["send_at_utc"], utc=True).dt.tz_localize(None)
        hist = pd.concat([hist, pd.DataFrame({
            "customer_id": other["customer_id"].astype("str").to_numpy(), "sent_at": at.to_numpy(),
            "discount": other["message_type"].isin(list(discount_types)).to_numpy(), "flow": None,
        })], ignore_index=True)  # fmt: skip
    return hist
