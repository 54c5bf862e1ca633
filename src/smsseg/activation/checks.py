"""Independent checks of a finished plan: consent at send time, caps, quiet hours, one per slot.

:func:`~smsseg.activation.plan.make_plan` runs :func:`plan_violations` on every plan it builds and
refuses to return one that breaks a rule (that would be a bug, not bad input). The checks are
written differently from the scheduler (all windows, brute force) so that they can catch its
mistakes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from smsseg.activation.consent import as_timestamp, by_id, utc_naive
from smsseg.activation.policy import ActivationPolicy, is_holiday, parse_hhmm
from smsseg.zones import is_quiet_time


def _consent_pairs(sends: pd.DataFrame, sms: pd.DataFrame) -> pd.DataFrame:
    """Every (send, consent event of its customer) pair, brute force: ``pos`` is the send's row."""
    ev = sms[sms["event_type"].isin(["opt_in", "opt_out"])]
    ev = pd.DataFrame({
        "customer_id": ev["customer_id"].astype(str).to_numpy(),
        "occurred_at": utc_naive(ev["occurred_at"]).to_numpy(),
        "stop": (ev["event_type"] == "opt_out").to_numpy(),
    })  # fmt: skip
    at = sends["send_at_utc"].dt.tz_convert("UTC").dt.tz_localize(None)
    rows = pd.DataFrame(
        {"pos": np.arange(len(sends)), "customer_id": sends["customer_id"].astype(str).to_numpy(),
         "send_at": at.to_numpy()}
    )  # fmt: skip
    return rows.merge(ev, on="customer_id")


def consent_violations(sends: pd.DataFrame, sms: pd.DataFrame) -> pd.DataFrame:
    """Planned sends whose customer's latest consent event at or before the send is not an opt-in.

    All consent events of ``sms`` count, whenever they happened (a STOP at the send instant, or
    tied with an opt-in, blocks it). Written as a cross join and a sort, not the scheduler's
    ``merge_asof``, so that one can check the other.
    """
    pairs = _consent_pairs(sends, sms)
    pairs = pairs[pairs["occurred_at"] <= pairs["send_at"]]
    last = pairs.sort_values(["pos", "occurred_at", "stop"]).groupby("pos").tail(1)
    ok = np.zeros(len(sends), dtype=bool)
    ok[last.loc[~last["stop"], "pos"].to_numpy()] = True
    return sends[~ok]


def consent_check_violations(sends: pd.DataFrame, sms: pd.DataFrame) -> pd.DataFrame:
    """Sends whose ``consent_checked_at`` is after the send or missing, or with a consent event
    in ``(consent_checked_at, send]``: a state the check claims to know but did not see."""
    checked = sends["consent_checked_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    pairs = _consent_pairs(sends, sms)
    inside = (pairs["occurred_at"] > checked[pairs["pos"].to_numpy()]) & (
        pairs["occurred_at"] <= pairs["send_at"]
    )
    bad = np.zeros(len(sends), dtype=bool)
    bad[pairs.loc[inside, "pos"].to_numpy()] = True
    bad |= ~(sends["consent_checked_at"] <= sends["send_at_utc"]).to_numpy(dtype=bool)
    return sends[bad]


def window_violations(
    times: pd.DataFrame, window: pd.Timedelta, limit: pd.Series | int, planned_only: bool = True
) -> pd.DataFrame:
    """Windows ``(e - window, e]`` holding more than ``limit`` sends of one customer.

    Parameters
    ----------
    times : ``customer_id``, ``sent_at`` (naive UTC), ``planned`` (bool).
    window : window length.
    limit : an int, or a limit per ``customer_id``.
    planned_only : only report windows that contain a planned send (history is not ours to fix).

    Every window with a maximal count ends at one of the customer's sends, so checking the windows
    ending at each send checks them all.
    """
    rows = times.reset_index(drop=True)
    pairs = (
        rows[["customer_id", "sent_at"]]
        .reset_index()
        .merge(
            rows[["customer_id", "sent_at", "planned"]], on="customer_id", suffixes=("", "_prev")
        )
    )
    age = (pairs["sent_at"] - pairs["sent_at_prev"]).to_numpy()
    pairs = pairs[(age >= pd.Timedelta(0)) & (age < window)]
    # one count per send (duplicated instants each count every send at that instant)
    idx = pairs["index"].to_numpy()
    n = np.bincount(idx, minlength=len(rows))
    planned_inside = np.bincount(idx, weights=pairs["planned"].to_numpy(float), minlength=len(rows))
    cap = by_id(rows["customer_id"], limit).to_numpy() if isinstance(limit, pd.Series) else limit
    bad = n > cap
    if planned_only:
        bad &= planned_inside > 0
    return rows[bad].assign(n=n[bad])


def quiet_hour_violations(
    sends: pd.DataFrame, zones: Mapping[str, tuple[str, ...]], policy: ActivationPolicy
) -> pd.DataFrame:
    """Sends outside quiet hours (or on a holiday) in any of the customer's candidate zones."""
    qh = policy.quiet_hours
    start, end = parse_hhmm(qh.start, "start"), parse_hhmm(qh.end, "end")
    bad = []
    for row in sends[["customer_id", "send_at_utc"]].itertuples(index=True):
        for zone in zones.get(row.customer_id, ()) or ("<none>",):
            if zone == "<none>":
                bad.append(row.Index)
                break
            local_day = row.send_at_utc.tz_convert(zone).date()
            if not is_quiet_time(row.send_at_utc, zone, start, end) or is_holiday(
                local_day, qh.holidays
            ):
                bad.append(row.Index)
                break
    return sends.loc[bad]


def slot_violations(sends: pd.DataFrame) -> pd.DataFrame:
    """Customers with more than one message on the same plan day."""
    n = sends.groupby(["customer_id", "day"]).size()
    return n[n > 1].reset_index(name="n")


def plan_violations(
    sends: pd.DataFrame,
    history: pd.DataFrame,
    sms: pd.DataFrame,
    zones: Mapping[str, tuple[str, ...]],
    weekly_cap: pd.Series,
    as_of: object,
    policy: ActivationPolicy,
) -> dict[str, pd.DataFrame]:
    """Every broken rule of a plan, by rule name (all empty for a correct plan).

    ``sends`` are all plan rows (holdouts included: they occupy their slot); ``history`` the
    recent sends with ``customer_id``, ``sent_at``, ``discount``; ``sms`` the history whose
    consent events (all of them, before and after ``as_of``) decide each send at its own time.
    """
    times = pd.concat(
        [
            history[["customer_id", "sent_at", "discount"]].assign(planned=False),
            pd.DataFrame(
                {
                    "customer_id": sends["customer_id"],
                    "sent_at": sends["send_at_utc"].dt.tz_convert("UTC").dt.tz_localize(None),
                    "discount": sends["discount"].astype(bool),
                    "planned": True,
                }
            ),
        ],
        ignore_index=True,
    )
    discounts = times[times["discount"].astype(bool)]
    cooldown = pd.Timedelta(days=policy.discount_cooldown_days)
    return {
        "consent": consent_violations(sends, sms),
        "consent_checked_at": consent_check_violations(sends, sms),
        "weekly_cap": window_violations(times, pd.Timedelta(days=7), weekly_cap),
        "daily_cap": window_violations(times, pd.Timedelta(hours=24), policy.daily_cap),
        "discount_cooldown": window_violations(discounts, cooldown, 1),
        "quiet_hours": quiet_hour_violations(sends, zones, policy),
        "slot": slot_violations(sends),
        "not_after_as_of": sends[sends["send_at_utc"].dt.tz_convert("UTC").dt.tz_localize(None)
                                 <= as_timestamp(as_of)],
    }  # fmt: skip
