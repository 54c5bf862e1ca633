"""The flow state machine: instances, their steps' instants and their exits, as of an instant.

Design (why runs at any cadence agree): every instant here is a pure function of the data, never
of when the scheduler runs. A flow instance starts at a trigger unless another trigger of the same
flow for the same customer came less than ``reentry_days`` before it (the latest previous trigger
decides, so the rule only looks back ``reentry_days``). A step is due ``delay`` after the trigger
or after the previous step's *scheduled* instant; an SMS step is scheduled at the first instant
at or after it is due inside quiet hours in every candidate zone of the customer (holidays
skipped); an email step at its due instant. An instance ends at its first exit event after its
trigger was known, or at the next instance's trigger (re-entry); a step scheduled at or after the
exit is cancelled. Caps, consent and holdouts are applied afterwards (:mod:`smsseg.flows.due`),
and a capped step is skipped, never moved, so later steps keep their instants.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from smsseg.activation.policy import ActivationPolicy, QuietHours, is_holiday, parse_hhmm
from smsseg.flows.catalogue import Flow
from smsseg.flows.triggers import exit_events
from smsseg.zones import send_instant

#: Extra look-back beyond a flow's own span: quiet hours and holidays move a step by days at most.
SLACK = pd.Timedelta(days=10)
STEP_COLUMNS = ["customer_id", "flow", "trigger_at", "known_at", "step_no", "step", "channel",
                "message_type", "offer", "audience", "due_at", "scheduled_at", "exit_at",
                "exit_reason"]  # fmt: skip


def span(flow: Flow) -> pd.Timedelta:
    """An upper bound of the time from a flow's trigger to its last step's due instant."""
    return sum((s.delay for s in flow.steps), pd.Timedelta(0)) + SLACK


def instances(trig: pd.DataFrame, flow: Flow) -> pd.DataFrame:
    """Triggers that start an instance, with ``ends_at``: the next instance's trigger (or NaT).

    A trigger less than ``reentry_days`` after the customer's previous trigger (instance or not)
    does not start one: a customer adding to cart every day stays in one cart flow.
    """
    trig = trig.sort_values(["customer_id", "trigger_at"], kind="stable", ignore_index=True)
    prev = trig.groupby("customer_id")["trigger_at"].shift(1)
    gap = trig["trigger_at"] - prev
    starts = prev.isna() | (gap >= pd.Timedelta(days=flow.reentry_days))
    inst = trig[starts.to_numpy()].reset_index(drop=True)
    return inst.assign(ends_at=inst.groupby("customer_id")["trigger_at"].shift(-1))


def first_exit(inst: pd.DataFrame, exits: pd.DataFrame) -> pd.DataFrame:
    """Each instance's first exit event strictly after its ``known_at``: ``exit_at``,
    ``exit_reason`` (``reentered`` when the next instance comes first)."""
    exit_at = pd.Series(pd.NaT, index=inst.index, dtype="datetime64[ns]")
    reason = pd.Series(None, index=inst.index, dtype=object)
    if len(exits) and len(inst):
        left = inst[["customer_id", "known_at"]].assign(pos=np.arange(len(inst)))
        left = left.sort_values("known_at", kind="stable")
        right = exits.sort_values("at", kind="stable").rename(columns={"at": "exit_at"})
        hit = pd.merge_asof(left, right, left_on="known_at", right_on="exit_at", by="customer_id",
                            direction="forward", allow_exact_matches=False)  # fmt: skip
        hit = hit.sort_values("pos")
        exit_at[:] = hit["exit_at"].to_numpy(dtype="datetime64[ns]")
        reason[:] = hit["reason"].to_numpy(dtype=object)
    nxt = inst["ends_at"]
    first = nxt.notna() & (exit_at.isna() | (nxt < exit_at))
    return pd.DataFrame(
        {"exit_at": exit_at.mask(first, nxt), "exit_reason": reason.mask(first, "reentered")},
        index=inst.index,
    )


@functools.lru_cache(maxsize=65536)
def quiet_window(zones: tuple[str, ...], day: date, quiet: QuietHours):
    """``(first, last)`` allowed instants (naive UTC) of local ``day`` in every zone, or ``None``
    on a holiday or when the windows do not intersect. Every zone reads the same calendar
    ``day`` (activation's :func:`~smsseg.zones.send_instant`), so a holiday is one
    date for all of them."""
    if not zones or is_holiday(day, quiet.holidays):
        return None
    start, end = parse_hhmm(quiet.start, "start"), parse_hhmm(quiet.end, "end")
    first = send_instant(zones, day, start, start, end)
    if first is None:
        return None
    latest = (datetime.combine(day, end) - timedelta(minutes=1)).time()
    last = send_instant(zones, day, latest, start, end)
    return first.tz_localize(None), last.tz_localize(None)


#: Calendars of quiet windows are built in blocks of this many days (and cached per block).
_BLOCK = 64


@functools.lru_cache(maxsize=4096)
def _calendar(zones: tuple[str, ...], first_block: int, last_block: int, quiet: QuietHours):
    """Days ``[first_block, last_block] * _BLOCK`` (ordinal) with their windows' first and last
    instants and, per day, the index of the next day that has a window."""
    ordinals = np.arange(first_block * _BLOCK, (last_block + 1) * _BLOCK)
    windows = [quiet_window(zones, date.fromordinal(int(o)), quiet) for o in ordinals]
    first = pd.DatetimeIndex([w[0] if w else pd.NaT for w in windows]).to_numpy("datetime64[ns]")
    last = pd.DatetimeIndex([w[1] if w else pd.NaT for w in windows]).to_numpy("datetime64[ns]")
    valid = ~np.isnat(first)
    nxt = np.full(len(ordinals) + 1, len(ordinals))
    for i in range(len(ordinals) - 1, -1, -1):
        nxt[i] = i + 1 if i + 1 < len(ordinals) and valid[i + 1] else nxt[i + 1]
    nat = np.array(["NaT"], dtype="datetime64[ns]")
    return ordinals[0], valid, np.concatenate([first, nat]), np.concatenate([last, nat]), nxt


def next_quiet_instants(zones: tuple[str, ...], due: np.ndarray, quiet: QuietHours) -> np.ndarray:
    """For each ``due`` instant (naive UTC ``datetime64[ns]``) of one customer zone set, the
    first instant at or after it inside quiet hours in every zone, skipping holidays (NaT when
    none within two weeks). Vectorised: one window per local day, then an index search."""
    out = np.full(len(due), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnat(due)
    if not zones or not ok.any():
        return out
    local = pd.DatetimeIndex(due[ok]).tz_localize("UTC").tz_convert(zones[0])
    epoch_days = local.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    day = epoch_days + date(1970, 1, 1).toordinal()  # proleptic ordinals, as date.fromordinal
    lo, hi = int(day.min()) // _BLOCK, (int(day.max()) + 15) // _BLOCK
    start, valid, first, last, nxt = _calendar(zones, lo, hi, quiet)
    i = day - start
    t = due[ok]
    same_day = valid[i] & (t <= last[i])
    out[ok] = np.where(same_day, np.maximum(t, first[i]), first[nxt[i]])
    return out


def _zone_groups(zones: pd.Series) -> dict[tuple[str, ...], np.ndarray]:
    """Row positions of each distinct candidate-zone tuple (empty tuple: unknown zone)."""
    keys = [z if isinstance(z, tuple) else () for z in zones]
    groups: dict[tuple[str, ...], list[int]] = {}
    for pos, key in enumerate(keys):
        groups.setdefault(key, []).append(pos)
    return {k: np.asarray(v) for k, v in groups.items()}


def _schedule_sms(groups, due: np.ndarray, quiet: QuietHours) -> np.ndarray:
    out = np.full(len(due), np.datetime64("NaT"), dtype="datetime64[ns]")
    for zones, pos in groups.items():
        out[pos] = next_quiet_instants(zones, due[pos], quiet)
    return out


def step_table(
    flow: Flow,
    trig: pd.DataFrame,
    inputs,
    zones: pd.Series,
    as_of: pd.Timestamp,
    policy: ActivationPolicy,
    overrides: pd.Series | None = None,
    since: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Every step of every instance of ``flow`` that may matter at ``as_of`` (or from ``since``
    on, for a replay: instances whose steps may come after ``since``, exits known at ``as_of``).

    Parameters
    ----------
    trig : the flow's triggers (:func:`~smsseg.flows.triggers.triggers`).
    inputs : the :class:`~smsseg.flows.triggers.FlowInputs` known at ``as_of`` (exit events).
    zones : candidate zones by ``customer_id``.
    overrides : due instant of a step by ``(customer_id, step)`` replacing the computed one
        (the sunset survey: the existing sunset logic's ``not_before``).

    Returns
    -------
    :data:`STEP_COLUMNS`, one row per instance and step; ``scheduled_at`` NaT for an SMS step
    without a quiet-hours instant (unknown zone).
    """
    since = as_of if since is None else since
    lookback = since - span(flow) - pd.Timedelta(days=flow.reentry_days)
    trig = trig[trig["trigger_at"] > lookback]
    inst = instances(trig, flow)
    inst = inst[inst["trigger_at"] > since - span(flow)].reset_index(drop=True)
    inst = pd.concat([inst, first_exit(inst, exit_events(inputs, flow, as_of))], axis=1)
    groups = _zone_groups(inst["customer_id"].map(zones))
    trigger_at = inst["trigger_at"].to_numpy("datetime64[ns]")
    over = None
    if overrides is not None and len(overrides):
        over = {k: inst["customer_id"].map(overrides.xs(k, level=1)).to_numpy("datetime64[ns]")
                for k in set(overrides.index.get_level_values(1))}  # fmt: skip
    cols: dict[str, list] = {c: [] for c in STEP_COLUMNS}
    previous = trigger_at
    for no, step in enumerate(flow.steps):
        anchor = trigger_at if step.after == "trigger" else previous
        due = anchor + step.delay.to_timedelta64()
        if over is not None and step.key in over:
            due = np.where(np.isnat(over[step.key]), due, over[step.key])
        sched = _schedule_sms(groups, due, policy.quiet_hours) if step.channel == "sms" else due
        for c in ("customer_id", "trigger_at", "known_at", "exit_at", "exit_reason"):
            cols[c].append(inst[c].to_numpy())
        for c, v in (("flow", flow.key), ("step_no", no), ("step", step.key),
                     ("channel", step.channel), ("message_type", step.message_type),
                     ("offer", step.offer), ("audience", step.audience)):  # fmt: skip
            cols[c].append(np.full(len(inst), v, dtype=object if isinstance(v, str) else None))
        cols["due_at"].append(due)
        cols["scheduled_at"].append(sched)
        previous = np.where(np.isnat(sched), due, sched)
    out = pd.DataFrame({c: np.concatenate(v) if v else [] for c, v in cols.items()})
    out = out.astype({"customer_id": "str", "flow": "str", "step": "str", "channel": "str",
                      "message_type": "str", "audience": "str", "offer": bool, "step_no": int})  # fmt: skip
    for c in ("trigger_at", "known_at", "exit_at", "due_at", "scheduled_at"):
        out[c] = out[c].astype("datetime64[ns]")
    return out[STEP_COLUMNS]


def state_table(steps: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Where each instance stands at ``as_of``: one row per customer, flow and trigger.

    ``status``: ``exited`` (an exit event at or before ``as_of``), ``pending`` (trigger after
    ``as_of``, e.g. a predicted date), ``completed`` (every step's instant passed), else ``active``.
    ``steps_passed`` counts the steps whose instant passed before any exit; ``next_step`` and
    ``next_step_at`` name the first step still to come (none once exited).
    """
    if steps.empty:
        return pd.DataFrame(columns=["customer_id", "flow", "trigger_at", "known_at", "status",
                                     "steps_passed", "next_step", "next_step_at", "exit_at",
                                     "exit_reason"])  # fmt: skip
    at = steps["scheduled_at"].fillna(steps["due_at"])
    live = steps["exit_at"].isna() | (at < steps["exit_at"])
    passed = (at <= as_of) & live
    coming = steps[(at > as_of) & live].assign(at=at)
    key = ["customer_id", "flow", "trigger_at"]
    nxt = coming.sort_values("at").groupby(key, sort=False).head(1).set_index(key)
    g = steps.assign(passed=passed).groupby(key, sort=True)
    out = g.agg(known_at=("known_at", "first"), steps_passed=("passed", "sum"),
                exit_at=("exit_at", "first"), exit_reason=("exit_reason", "first"))  # fmt: skip
    out = out.join(nxt[["step", "at"]].rename(columns={"step": "next_step", "at": "next_step_at"}))
    trig = out.index.get_level_values("trigger_at")
    exited = out["exit_at"].notna() & (out["exit_at"] <= as_of)
    status = np.select(
        [exited, trig > as_of, out["next_step"].isna()],
        ["exited", "pending", "completed"],
        default="active",
    )
    out = out.assign(status=status, steps_passed=out["steps_passed"].astype(int)).reset_index()
    out.loc[out["status"] == "exited", ["next_step", "next_step_at"]] = [None, pd.NaT]
    cols = ["customer_id", "flow", "trigger_at", "known_at", "status", "steps_passed",
            "next_step", "next_step_at", "exit_at", "exit_reason"]  # fmt: skip
    return out[cols]
