"""A plan re-checked on a fresher SMS history, just before its audiences go to the platform.

A plan knows consent up to the end of the history it was made from (``consent_checked_at``);
STOPs that arrive later are only seen here.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from smsseg.activation.consent import as_timestamp, consent_at, consent_events
from smsseg.activation.plan import SUPPRESSED_COLUMNS, Plan, consent_checked_at


def drop_stopped(plan: Plan, sms: pd.DataFrame, now: object) -> Plan:
    """The plan without the future sends that a STOP known by ``now`` blocks.

    A STOP takes effect immediately: run this on the latest SMS history just before handing the
    audiences to the platform. Each send after ``now`` is checked at its own time against the
    consent events at or before ``now``; a blocked one moves to ``suppressed`` with reason
    ``no_consent`` (and ``stop_after_as_of`` when the STOP is later than the plan's ``as_of``),
    the campaign counts follow, and the kept future sends have their ``consent_checked_at``
    moved up to ``now``.
    """
    cutoff = as_timestamp(now)
    events = consent_events(sms)
    events = events[events["occurred_at"] <= cutoff]
    t = plan.sends["send_at_utc"].dt.tz_convert("UTC").dt.tz_localize(None)
    state = consent_at(events, pd.DataFrame({"customer_id": plan.sends["customer_id"], "t": t}))
    future = (t > cutoff).to_numpy()
    drop = future & ~state["opted_in"].to_numpy()
    # the kept future sends are now known to be consented up to ``now``
    old = plan.sends["consent_checked_at"]
    fresh = consent_checked_at(plan.sends["send_at_utc"], cutoff).where(future, old)
    checked = old.where(old >= fresh, fresh)
    known = cutoff if pd.isna(plan.consent_known_until) else max(plan.consent_known_until, cutoff)
    if not drop.any():
        return replace(
            plan, sends=plan.sends.assign(consent_checked_at=checked), consent_known_until=known
        )
    gone = plan.sends[drop]
    rows = gone.assign(
        reason="no_consent",
        detail=f"STOP after the plan was made (as of {cutoff})",
        stop_after_as_of=(state.loc[drop, "decided_at"] > plan.as_of).to_numpy(),
    )
    suppressed = plan.suppressed[
        ~plan.suppressed.set_index(["customer_id", "campaign_id"]).index.isin(
            gone.set_index(["customer_id", "campaign_id"]).index
        )
    ]  # a dropped holdout row leaves the holdout reason for no_consent
    return replace(
        plan,
        sends=plan.sends.assign(consent_checked_at=checked)[~drop].reset_index(drop=True),
        suppressed=pd.concat([suppressed, rows[SUPPRESSED_COLUMNS]], ignore_index=True),
        campaigns=_after_drop(plan.campaigns, rows),
        consent_known_until=known,
    )


def _after_drop(campaigns: pd.DataFrame, gone: pd.DataFrame) -> pd.DataFrame:
    """Campaign counts once the ``gone`` sends moved to ``no_consent``."""
    campaigns = campaigns.set_index("campaign_id")
    per = (
        gone.groupby("campaign_id")[["holdout", "stop_after_as_of"]]
        .agg(size=("holdout", "size"), held=("holdout", "sum"), late=("stop_after_as_of", "sum"))
        .reindex(campaigns.index, fill_value=0)
    )
    return campaigns.assign(
        scheduled=campaigns["scheduled"] - per["size"],
        holdout=campaigns["holdout"] - per["held"],
        audience=campaigns["audience"] - (per["size"] - per["held"]),
        suppressed_no_consent=campaigns["suppressed_no_consent"] + per["size"],
        suppressed_stop_after_as_of=campaigns["suppressed_stop_after_as_of"] + per["late"],
    ).reset_index()
