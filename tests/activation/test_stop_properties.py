"""Consent at send time, property-based: STOPs and re-opt-ins at random instants around the
as-of date and inside the send window (hypothesis).

The expectations are brute force over the generated events (a sort per send), independent of
the scheduler's ``merge_asof``: no send at or after a customer's latest STOP before it without a
later opt-in; ``consent_checked_at`` never after the send and never hiding a consent event; a
STOP after a send leaves the plan alone; and a STOP only ever changes its own customer's sends.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsseg.activation import ActivationPolicy, QuietHours, make_plan
from smsseg.activation.policy import GOAL_KEYS, SEGMENT_KEYS
from tests.activation.frames import PHONES

#: (timezone, country, region): places east and west of UTC, so that the plan's first send
#: falls both before and after midnight UTC of the as-of date's next day.
PLACES = [
    ("America/Los_Angeles", "US", "US-CA"),
    ("America/New_York", "US", "US-NY"),
    ("Europe/London", "GB", "GB-ENG"),
    ("Australia/Sydney", "AU", "AU-NSW"),
]
AS_OFS = ["2025-03-07", "2025-06-30", "2025-12-30", "2025-12-30 15:00"]
OTHERS = [k for k in SEGMENT_KEYS if k != "dormant"]


@st.composite
def person(draw, i: int, horizon: int):
    # minutes around as_of: from two days before to two days after the send window
    at = st.integers(-48 * 60, (horizon + 2) * 24 * 60)
    first = [(-draw(st.integers(1, 60)) * 24 * 60, "opt_in")] if draw(st.integers(0, 5)) else []
    later = draw(st.lists(st.tuples(at, st.sampled_from(["opt_out", "opt_out", "opt_in"])),
                          max_size=4))  # fmt: skip
    flags = draw(st.lists(st.booleans(), min_size=len(OTHERS), max_size=len(OTHERS)))
    return {
        "id": f"c{i:02d}",
        "place": draw(st.integers(0, len(PLACES) - 1)),
        "opts": first + later,
        "segments": {k for k, on in zip(OTHERS, flags, strict=True) if on}
        | ({"dormant"} if draw(st.integers(0, 4)) == 0 else set()),
        "category": draw(st.sampled_from(["shoes", None])),
    }


@st.composite
def scenario(draw):
    horizon = draw(st.integers(3, 8))
    people = [draw(person(i, horizon)) for i in range(draw(st.integers(2, 8)))]
    as_of = pd.Timestamp(draw(st.sampled_from(AS_OFS)))
    goals = sorted(draw(st.sets(st.sampled_from(GOAL_KEYS), min_size=1, max_size=len(GOAL_KEYS))))
    policy = ActivationPolicy(quiet_hours=QuietHours(holidays=()), horizon_days=horizon)
    return people, as_of, policy, goals


def frames(people, as_of, extra=()):
    """membership, customers and SMS history; ``extra`` adds ``(customer_id, instant, kind)``."""
    cust = pd.DataFrame({
        "customer_id": [p["id"] for p in people],
        "phone": [PHONES[PLACES[p["place"]][1]].format(i) for i, p in enumerate(people)],
        "timezone": [PLACES[p["place"]][0] for p in people],
        "country": [PLACES[p["place"]][1] for p in people],
        "region": [PLACES[p["place"]][2] for p in people],
        "preferred_channel": "sms",
    })  # fmt: skip
    rows = [
        (p["id"], as_of + pd.Timedelta(minutes=m), kind) for p in people for m, kind in p["opts"]
    ]
    rows += list(extra)
    sms = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "event_type"])
    sms = sms.assign(occurred_at=pd.to_datetime(sms["occurred_at"]), message_type=None,
                     campaign_id=None)  # fmt: skip
    mem = pd.DataFrame({"customer_id": cust["customer_id"]})
    for key in SEGMENT_KEYS:
        mem[f"is_{key}"] = [key in p["segments"] for p in people]
    mem["category"] = [p["category"] for p in people]
    return mem, cust, sms


def plan_of(people, as_of, policy, goals, holdout=0.0, extra=()):
    mem, cust, sms = frames(people, as_of, extra)
    offers = {"back_in_stock": ["shoes"], "promote_flash_sale": None}
    plan = make_plan(mem, cust, sms, as_of, goals, policy, holdout=holdout, offers=offers)
    return plan, sms


def state_at(sms: pd.DataFrame, customer_id: str, at: pd.Timestamp) -> bool:
    """Brute force: the customer's latest consent event at or before ``at`` is an opt-in (a STOP
    wins a tie)."""
    mine = sms[(sms["customer_id"] == customer_id) & (sms["occurred_at"] <= at)]
    seen = sorted(zip(mine["occurred_at"], mine["event_type"] == "opt_out", strict=True))
    return bool(seen) and not seen[-1][1]


def naive(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_convert("UTC").tz_localize(None)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), st.sampled_from([0.0, 0.2, 0.5]))
def test_no_send_after_a_known_stop_and_consent_checked_at_is_honest(case, holdout):
    people, as_of, policy, goals = case
    plan, sms = plan_of(people, as_of, policy, goals, holdout)
    latest = sms["occurred_at"].max()
    for row in plan.sends.itertuples():  # holdouts too: they are planned sends held back
        send, checked = naive(row.send_at_utc), naive(row.consent_checked_at)
        mine = sms[sms["customer_id"] == row.customer_id]
        stops = mine.loc[(mine["event_type"] == "opt_out") & (mine["occurred_at"] <= send)]
        if len(stops):  # a STOP before the send needs a strictly later opt-in before the send
            last_stop = stops["occurred_at"].max()
            assert ((mine["event_type"] == "opt_in") & (mine["occurred_at"] > last_stop)
                    & (mine["occurred_at"] <= send)).any(), (row, stops)  # fmt: skip
        assert state_at(sms, row.customer_id, send)
        # checked_at: the earlier of the send and the end of the history, never after the send,
        # and no consent event between it and the send that the check did not see
        assert checked == min(send, latest) and checked <= send
        between = mine[(mine["occurred_at"] > checked) & (mine["occurred_at"] <= send)]
        assert between.empty and state_at(sms, row.customer_id, checked)
    # the summary's count of sends suppressed by a STOP after as_of matches the rows, and each
    # of those customers did send a STOP after as_of
    late = plan.suppressed[plan.suppressed["stop_after_as_of"]]
    assert plan.campaigns["suppressed_stop_after_as_of"].sum() == len(late)
    assert (late["reason"] == "no_consent").all()
    for cid in late["customer_id"]:
        mine = sms[sms["customer_id"] == cid]
        assert ((mine["event_type"] == "opt_out") & (mine["occurred_at"] > as_of)).any()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), st.data())
def test_a_stop_only_blocks_its_own_later_sends(case, data):
    people, as_of, policy, goals = case
    before, sms = plan_of(people, as_of, policy, goals)
    if before.sends.empty:
        return
    cid = data.draw(st.sampled_from(sorted(before.sends["customer_id"].unique())))
    mine = before.sends[before.sends["customer_id"] == cid]
    last_event = sms.loc[sms["customer_id"] == cid, "occurred_at"].max()
    first, last = naive(mine["send_at_utc"].min()), naive(mine["send_at_utc"].max())
    keep = ["customer_id", "campaign_id", "send_at_utc", "holdout"]

    # a STOP after the customer's last send changes nothing (but how far consent is known)
    after = last + pd.Timedelta(seconds=data.draw(st.integers(1, 2 * 86400)))
    plan, _ = plan_of(people, as_of, policy, goals, extra=[(cid, after, "opt_out")])
    pd.testing.assert_frame_equal(plan.sends[keep], before.sends[keep])

    # a STOP between the as-of date and the last send (after every consent event of the
    # customer, so no re-opt-in lifts it) blocks that customer's sends from then on, nobody else's
    low = max(as_of, last_event) + pd.Timedelta(seconds=1)
    if low > last:
        return
    span = int((last - low).total_seconds())
    stop = low + pd.Timedelta(seconds=data.draw(st.integers(0, span)))
    plan, _ = plan_of(people, as_of, policy, goals, extra=[(cid, stop, "opt_out")])
    theirs = plan.sends[plan.sends["customer_id"] == cid]
    assert (theirs["send_at_utc"].dt.tz_localize(None) < stop).all()
    if stop <= first:  # every send of theirs was after the STOP: some are now counted as such
        assert plan.suppressed.query("customer_id == @cid")["stop_after_as_of"].any()
    others = plan.sends[plan.sends["customer_id"] != cid][keep].reset_index(drop=True)
    expected = before.sends[before.sends["customer_id"] != cid][keep].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, expected)
