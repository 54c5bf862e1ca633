"""Property-based tests over random customers, histories and policies (hypothesis).

Every property is checked by brute force, independently of the scheduler's own bookkeeping:
consent at each send's time, caps in every rolling day / week, quiet hours in every possible local
zone, one message per slot, holdout share (sticky for the sunset flow), and the audience files.
A second family generates STOPs and re-opt-ins at random instants around the as-of date and
inside the send window.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsseg.activation import ActivationPolicy, QuietHours, make_plan, write_plan
from smsseg.activation.policy import DEFAULT_SEGMENT_CAPS, GOAL_KEYS, SEGMENT_KEYS
from smsseg.zones import country_zones

#: (timezone, country, region) and the zones a send must be quiet in, declared by hand.
PLACES = [
    ("America/New_York", "US", "US-NY", ("America/New_York",)),
    (None, "US", "US-CA", ("America/Los_Angeles",)),
    (None, "US", "US-TX", ("America/Chicago", "America/Denver")),
    (None, "GB", "GB-ENG", ("Europe/London",)),
    (None, "US", None, country_zones()["US"]),
    (None, "AU", None, country_zones()["AU"]),
    ("Asia/Kolkata", "IN", None, ("Asia/Kolkata",)),
    ("Pacific/Auckland", "NZ", None, ("Pacific/Auckland",)),
    (None, "XX", None, ()),
]
PHONES = {"US": "+1415555{:04d}", "GB": "+44740012{:04d}", "AU": "+614123{:05d}",
          "IN": "+9198765{:05d}", "NZ": "+64211{:06d}", "XX": "+1415555{:04d}"}  # fmt: skip
MESSAGE_TYPES = ["win_back", "flash_sale", "final_reactivation", "sunset_survey", "welcome"]
AS_OFS = ["2025-03-07", "2025-06-30", "2025-10-24", "2025-12-29"]  # DST changes, year end


def mostly(value, other, odds: int = 4):
    """``value`` ``odds`` times out of ``odds + 1``: most customers should be sendable."""
    return st.sampled_from([value] * odds + [other])


@st.composite
def customer(draw, i: int):
    opt = [(draw(st.integers(-60, -1)), "opt_in")] if draw(mostly(True, False)) else []
    opt += draw(
        st.lists(st.tuples(st.integers(-60, 5), mostly("opt_in", "opt_out", 2)), max_size=1)
    )
    sends = draw(
        st.lists(st.tuples(st.integers(-20 * 24, 30), st.sampled_from(MESSAGE_TYPES)), max_size=4)
    )
    others = [k for k in SEGMENT_KEYS if k != "dormant"]
    flags = draw(st.lists(st.booleans(), min_size=len(others), max_size=len(others)))
    segments = {k for k, on in zip(others, flags, strict=True) if on}
    return {
        "id": f"c{i:02d}",
        "place": draw(st.sampled_from(list(range(len(PLACES) - 1)) * 4 + [len(PLACES) - 1])),
        "phone_ok": draw(mostly(True, False, odds=6)),
        "channel": draw(mostly("sms", "email") | st.none()),
        "opt": opt,
        "sends": sends,
        "clicks": draw(st.lists(st.integers(-40, 0), max_size=2)),
        "segments": segments | ({"dormant"} if draw(mostly(False, True)) else set()),
        "churn": draw(st.none() | st.floats(0, 1)),
        "category": draw(st.sampled_from(["shoes", "home", None])),
    }  # fmt: skip


@st.composite
def scenario(draw):
    n = draw(st.integers(3, 12))
    people = [draw(customer(i)) for i in range(n)]
    as_of = pd.Timestamp(draw(st.sampled_from(AS_OFS)))
    horizon = draw(st.integers(2, 9))
    days = [(as_of + pd.Timedelta(days=k)).date() for k in range(1, horizon + 1)]
    start = draw(st.integers(6, 12))
    end = draw(st.integers(start + 3, min(start + 12, 23)))
    active = draw(st.integers(1, 4))
    policy = ActivationPolicy(
        quiet_hours=QuietHours(
            f"{start:02d}:00",
            f"{end:02d}:00",
            tuple(d.isoformat() for d in draw(st.sets(st.sampled_from(days), max_size=2))),
        ),
        daily_cap=draw(st.integers(1, 2)),
        active_cap_per_week=active,
        engaged_cap_per_week=draw(st.integers(active, 5)),
        segment_caps=draw(st.dictionaries(st.sampled_from(SEGMENT_KEYS), st.sampled_from([0, 1, 2, 2, 3, 3]), max_size=2)),
        discount_cooldown_days=draw(st.integers(1, 20)),
        sunset_survey=draw(st.booleans()),
        survey_delay_days=draw(st.integers(1, 10)),
        horizon_days=horizon,
    )  # fmt: skip
    goals = draw(st.sets(st.sampled_from(GOAL_KEYS), min_size=1, max_size=6))
    offers = {
        "back_in_stock": draw(st.sampled_from([None, ["shoes"], ["shoes", "home"]])),
        "promote_flash_sale": draw(st.sampled_from([None, ["home"]])),
    }
    holdout = draw(st.sampled_from([0.0, 0.1, 0.25, 0.5]))
    return people, as_of, policy, sorted(goals), offers, holdout, draw(st.integers(0, 10**6))


def frames(people, as_of):
    cust = pd.DataFrame({
        "customer_id": [p["id"] for p in people],
        "phone": [PHONES[PLACES[p["place"]][1]].format(i) if p["phone_ok"] else "12345"
                  for i, p in enumerate(people)],
        "timezone": [PLACES[p["place"]][0] for p in people],
        "country": [PLACES[p["place"]][1] for p in people],
        "region": [PLACES[p["place"]][2] for p in people],
        "preferred_channel": [p["channel"] for p in people],
    })  # fmt: skip
    rows = []
    for p in people:
        rows += [(p["id"], as_of + pd.Timedelta(days=d), kind, None) for d, kind in p["opt"]]
        rows += [(p["id"], as_of + pd.Timedelta(hours=h), "sent", m) for h, m in p["sends"]]
        rows += [(p["id"], as_of + pd.Timedelta(days=d), "clicked", None) for d in p["clicks"]]
    sms = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "event_type", "message_type"])
    sms = sms.assign(occurred_at=pd.to_datetime(sms["occurred_at"]), campaign_id=None)
    mem = pd.DataFrame({"customer_id": cust["customer_id"]})
    for key in SEGMENT_KEYS:
        mem[f"is_{key}"] = [key in p["segments"] for p in people]
    mem["churn_probability"] = [p["churn"] for p in people]
    mem["category"] = [p["category"] for p in people]
    return mem, cust, sms


# ------------------------------------------------------------------ brute-force expectations
def consented(opts, at) -> bool:
    """Latest of ``opts`` (``(instant, kind)``) at or before ``at`` is an opt-in (a STOP wins a
    tie: ``True`` sorts after ``False``)."""
    seen = sorted((t, kind == "opt_out") for t, kind in opts if t <= at)
    return bool(seen) and not seen[-1][1]


def opt_times(p, as_of):
    return [(as_of + pd.Timedelta(days=d), kind) for d, kind in p["opt"]]


def sticky_held(customer_id: str, share: float) -> bool:
    """The sunset flow's holdout, by its documented definition (SHA-256 of key and id)."""
    digest = hashlib.sha256(f"sunset-flow:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < share


def weekly_cap(p, policy, as_of) -> int:
    engaged = any(-policy.engaged_click_days <= d <= 0 for d in p["clicks"])
    caps = [policy.engaged_cap_per_week if engaged else policy.active_cap_per_week]
    seg_caps = DEFAULT_SEGMENT_CAPS | dict(policy.segment_caps)
    return min(caps + [seg_caps[s] for s in p["segments"] if s in seg_caps])


def windows_ok(times, planned, width, limit) -> bool:
    """Every window [s, s + width) holding a planned send holds at most ``limit`` sends."""
    for s in times:
        inside = [t for t in times if s <= t < s + width]
        if any(s <= t < s + width for t in planned) and len(inside) > limit:
            return False
    return True


def check_caps(people, plan, policy, as_of):
    sends = plan.sends.assign(t=plan.sends["send_at_utc"].dt.tz_localize(None))
    discount_types = policy.all_discount_types
    for p in people:
        history = [(as_of + pd.Timedelta(hours=h), m) for h, m in p["sends"]]
        history = [(t, m) for t, m in history if t <= as_of]  # later sends are not known yet
        mine = sends[sends["customer_id"] == p["id"]]
        planned = list(mine["t"])
        times = [t for t, _ in history] + planned
        assert windows_ok(times, planned, pd.Timedelta(days=7), weekly_cap(p, policy, as_of))
        assert windows_ok(times, planned, pd.Timedelta(hours=24), policy.daily_cap)
        disc_planned = list(mine.loc[mine["discount"], "t"])
        disc = [t for t, m in history if m in discount_types] + disc_planned
        assert windows_ok(disc, disc_planned, pd.Timedelta(days=policy.discount_cooldown_days), 1)


def check_quiet_hours(people, plan, policy, as_of):
    qh = policy.quiet_hours
    start, end = time.fromisoformat(qh.start), time.fromisoformat(qh.end)
    last_day = as_of.date() + timedelta(days=policy.horizon_days)
    by_id = {p["id"]: p for p in people}
    for row in plan.sends.itertuples():
        assert row.send_at_utc > as_of.tz_localize("UTC")
        zones = PLACES[by_id[row.customer_id]["place"]][3]
        assert zones, "a customer without any known zone was scheduled"
        for zone in zones:
            local = row.send_at_utc.astimezone(ZoneInfo(zone))
            assert start <= local.time() < end, (zone, local)
            assert local.date().isoformat() not in qh.holidays
            assert as_of.date() < local.date() <= last_day + timedelta(days=1)


def check_audiences(plan, people, out: Path):
    write_plan(plan, out)
    sent = plan.sends[~plan.sends["holdout"]]
    for cid in plan.campaigns["campaign_id"]:
        audience = pd.read_csv(out / "audiences" / f"{cid}.csv", dtype=str)
        expected = sent.loc[sent["campaign_id"] == cid, "customer_id"]
        held = plan.sends.loc[
            plan.sends["holdout"] & (plan.sends["campaign_id"] == cid), "customer_id"
        ]
        assert sorted(audience["customer_id"]) == sorted(expected)
        assert not set(audience["customer_id"]) & set(held)
        assert audience["phone"].str.fullmatch(r"\+[1-9]\d{6,14}").all()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_plan_never_breaks_the_rules(case):
    people, as_of, policy, goals, offers, holdout, seed = case
    mem, cust, sms = frames(people, as_of)
    plan = make_plan(
        mem, cust, sms, as_of, goals, policy, holdout=holdout, seed=seed, offers=offers
    )
    by_id = {p["id"]: p for p in people}

    # consent at the send time, channel and phone: nobody in the plan (holdouts included) may
    # not be texted
    for row in plan.sends.itertuples():
        p = by_id[row.customer_id]
        assert consented(opt_times(p, as_of), row.send_at_utc.tz_localize(None))
        assert p["channel"] != "email" and p["phone_ok"]
    check_caps(people, plan, policy, as_of)
    check_quiet_hours(people, plan, policy, as_of)
    # one message per customer per slot (local day)
    assert not plan.sends.groupby(["customer_id", "day"]).size().gt(1).any()
    # holdout: each campaign's control share within 1 / (2n) of the asked share, except the
    # sunset flow's, which is the same customers at every plan
    flow = plan.sends["message_type"].isin(["final_reactivation", "sunset_survey"])
    for _, group in plan.sends[~flow].groupby("campaign_id"):
        assert abs(group["holdout"].mean() - holdout) <= 1 / (2 * len(group)) + 1e-9
    for row in plan.sends[flow].itertuples():
        assert row.holdout == sticky_held(row.customer_id, holdout)
    # every targeted (customer, campaign) pair is sent, held out or suppressed with a reason
    sent = set(zip(plan.sends["customer_id"], plan.sends["campaign_id"], strict=True))
    supp = plan.suppressed
    assert len(sent) == len(plan.sends)
    not_held = supp[supp["reason"] != "holdout"]
    assert not sent & set(zip(not_held["customer_id"], not_held["campaign_id"], strict=True))
    # dormant customers get the sunset flow's messages only
    dormant = plan.sends["customer_id"].map(lambda c: "dormant" in by_id[c]["segments"])
    assert (
        plan.sends.loc[dormant, "message_type"].isin(["final_reactivation", "sunset_survey"]).all()
    )
    with tempfile.TemporaryDirectory() as tmp:
        check_audiences(plan, people, Path(tmp) / "plan")


def test_property_helpers_catch_a_broken_window():
    t0 = pd.Timestamp("2025-07-01 10:00")
    times = [t0, t0 + pd.Timedelta(hours=23)]
    assert not windows_ok(times, times[1:], pd.Timedelta(hours=24), 1)
    assert windows_ok(times, times[1:], pd.Timedelta(hours=23), 1)
    assert date(2025, 7, 1) == t0.date()
