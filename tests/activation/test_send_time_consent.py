"""Consent at send time on hand-built frames: a STOP before a send blocks it, one after does not,
whatever the plan's as-of date; the audit trail says when consent was checked and why a send
was dropped."""

import pandas as pd
import pytest

from smsseg.activation import (
    ActivationPolicy,
    QuietHours,
    consent_as_of,
    consent_at,
    consent_events,
    customer_eligibility,
    drop_stopped,
    make_plan,
)
from tests.activation.frames import AS_OF, customers, events, membership, opted_in

POLICY = ActivationPolicy(quiet_hours=QuietHours(holidays=()))
#: The cart reminder of customer "a" (Los Angeles) in a plan as of AS_OF: 18:00 local on day 1.
CART_SEND = pd.Timestamp("2025-07-02 01:00")


def plan_with(history, goals=("recover_abandoned_carts",), ids=("a",), as_of=AS_OF, **kw):
    ids = list(ids)
    mem = membership(ids, cart_abandoner=ids, vip=ids)
    sms = pd.concat([opted_in(ids), events(history)], ignore_index=True)
    return make_plan(mem, customers(ids), sms, as_of, list(goals), POLICY, holdout=0.0, **kw)


@pytest.mark.parametrize(
    ("history", "t", "expected"),
    [
        ([("2025-01-01", "opt_in")], "2025-02-01", True),
        ([("2025-01-01", "opt_in"), ("2025-02-01", "opt_out")], "2025-02-01", False),  # at t
        ([("2025-01-01", "opt_in"), ("2025-02-01 00:00:01", "opt_out")], "2025-02-01", True),
        ([("2025-01-01", "opt_out"), ("2025-01-01", "opt_in")], "2025-02-01", False),  # tie
        ([("2025-01-01", "opt_out"), ("2025-01-05", "opt_in")], "2025-02-01", True),
        ([("2025-03-01", "opt_in")], "2025-02-01", False),  # nothing before t
        ([("2025-01-01", "opt_in")], None, False),  # no instant
    ],
    ids=["opt-in", "stop-at-t", "stop-after-t", "tie", "re-opt-in", "none-yet", "no-time"],
)
def test_consent_at_is_the_latest_event_at_or_before_each_instant(history, t, expected):
    ev = consent_events(events([("a", at, kind, None) for at, kind in history]))
    keys = pd.DataFrame({"customer_id": ["a"], "t": pd.to_datetime([t])}, index=[7])
    got = consent_at(ev, keys)
    assert got.index.tolist() == [7] and got.loc[7, "opted_in"] == expected


def test_consent_at_answers_an_empty_set_of_instants():
    # A plan day with no candidates: merge_asof used to refuse the untyped empty key column.
    ev = consent_events(events([("a", "2025-01-01", "opt_in", None)]))
    keys = pd.DataFrame({"customer_id": pd.Series([], dtype="str"),
                         "t": pd.Series([], dtype="datetime64[ns]")})  # fmt: skip
    got = consent_at(ev, keys)
    assert got.empty and list(got.columns) == ["opted_in", "decided_at"]
    assert got["opted_in"].dtype == bool


def test_consent_at_keeps_the_order_and_index_of_its_keys():
    ev = consent_events(events([("a", "2025-01-01", "opt_in", None),
                                ("b", "2025-01-01", "opt_in", None),
                                ("a", "2025-03-01", "opt_out", None)]))  # fmt: skip
    at = pd.to_datetime(["2025-04-01", "2025-04-01", "2025-02-01", "2025-04-01"])
    keys = pd.DataFrame({"customer_id": ["a", "b", "a", "c"], "t": at}, index=[30, 10, 20, 0])
    got = consent_at(ev, keys)
    assert got["opted_in"].to_dict() == {30: False, 10: True, 20: True, 0: False}
    assert got.loc[30, "decided_at"] == pd.Timestamp("2025-03-01") and pd.isna(
        got.loc[0, "decided_at"]
    )


def test_a_stop_on_the_as_of_day_blocks_the_sends_of_the_next_days():
    # the reported case: as of 00:00, a STOP during the day, sends from the next day
    plan = plan_with([("a", "2025-12-30 14:00", "opt_out", None)], as_of="2025-12-30",
                     goals=["recover_abandoned_carts", "protect_high_value"])  # fmt: skip
    assert plan.sends.empty
    # what the plan used to read: consent as of midnight, still opted in
    sms = pd.concat([opted_in(["a"]), events([("a", "2025-12-30 14:00", "opt_out", None)])])
    assert consent_as_of(sms, "2025-12-30")["opted_in"].tolist() == [True]
    rows = plan.suppressed
    assert set(rows["reason"]) == {"no_consent"} and rows["stop_after_as_of"].all()
    assert set(rows["detail"]) == {"STOP received after as_of, before the send time"}
    assert plan.campaigns["suppressed_stop_after_as_of"].tolist() == [1, 1]
    assert plan.campaigns["suppressed_no_consent"].tolist() == [1, 1]


@pytest.mark.parametrize(
    ("stop", "sent"),
    [
        (CART_SEND - pd.Timedelta(seconds=1), False),
        (CART_SEND, False),  # at the very instant: the STOP wins
        (CART_SEND + pd.Timedelta(seconds=1), True),
        (CART_SEND + pd.Timedelta(days=3), True),
    ],
    ids=["just-before", "same-instant", "just-after", "days-after"],
)
def test_a_stop_blocks_the_sends_after_it_and_only_those(stop, sent):
    plan = plan_with([("a", stop, "opt_out", None)])
    assert len(plan.sends) == int(sent)
    if sent:
        row = plan.sends.iloc[0]
        assert row["send_at_utc"] == CART_SEND.tz_localize("UTC")
        # the history reaches past the send: consent was checked at the send itself
        assert row["consent_checked_at"] == row["send_at_utc"]
    else:
        assert plan.suppressed["stop_after_as_of"].tolist() == [True]


def test_a_stop_between_two_sends_keeps_the_first_and_drops_the_second():
    # day 1 18:00 cart reminder, day 2 18:00 VIP message (Los Angeles); STOP day 2 at noon
    plan = plan_with([("a", "2025-07-02 19:00", "opt_out", None)],
                     goals=["recover_abandoned_carts", "protect_high_value"])  # fmt: skip
    assert plan.sends["goal"].tolist() == ["recover_abandoned_carts"]
    dropped = plan.suppressed.set_index("goal").loc["protect_high_value"]
    assert dropped["reason"] == "no_consent" and dropped["stop_after_as_of"]
    assert plan.campaigns.set_index("goal")["suppressed_stop_after_as_of"].to_dict() == {
        "recover_abandoned_carts": 0, "protect_high_value": 1
    }  # fmt: skip


def test_a_re_opt_in_inside_the_window_is_honoured_from_then_on():
    history = [("a", "2025-06-01", "opt_out", None), ("a", "2025-07-03 12:00", "opt_in", None)]
    plan = plan_with(history, goals=["protect_high_value"])
    row = plan.sends.iloc[0]
    # the first 10:00 local (17:00 UTC) after the opt-in: 3 July
    assert row["send_at_utc"] == pd.Timestamp("2025-07-03 17:00", tz="UTC")
    # the history ends with the opt-in: consent is known up to then, not up to the send
    assert row["consent_checked_at"] == pd.Timestamp("2025-07-03 12:00", tz="UTC")
    assert plan.consent_known_until == pd.Timestamp("2025-07-03 12:00")


def test_known_until_extends_the_check_to_the_send():
    plan = plan_with([], known_until="2025-07-10")
    assert plan.sends["consent_checked_at"].tolist() == [CART_SEND.tz_localize("UTC")]
    early = plan_with([], known_until="2024-01-01")  # never before the history's latest event
    assert early.consent_known_until == pd.Timestamp("2025-01-01")


def test_eligibility_lets_a_later_opt_in_through_to_the_scheduler():
    ids = ["stopped", "back", "never"]
    sms = events([
        ("stopped", "2025-01-01", "opt_in", None), ("stopped", "2025-05-01", "opt_out", None),
        ("back", "2025-05-01", "opt_out", None), ("back", "2025-07-02", "opt_in", None),
    ])  # fmt: skip
    elig = customer_eligibility(customers(ids), sms, AS_OF).set_index("customer_id")
    assert elig["opted_in"].tolist() == [False, False, False]
    assert elig["opt_in_later"].tolist() == [False, True, False]
    assert elig["reason"].fillna("sendable").to_dict() == {
        "stopped": "no_consent",
        "back": "sendable",
        "never": "no_consent",
    }


def test_a_history_without_consent_events_says_nothing_is_sendable():
    mem = membership(["a"], cart_abandoner=["a"])
    sms = events([("a", "2025-06-01", "sent", "welcome")])
    plan = make_plan(mem, customers(["a"]), sms, AS_OF, ["recover_abandoned_carts"], POLICY)
    assert plan.sends.empty
    assert "no consent is known, nothing is sendable" in plan.campaigns.loc[0, "note"]


def test_drop_stopped_counts_stops_after_as_of():
    ids = ["a", "b"]
    plan = plan_with([], goals=["recover_abandoned_carts", "protect_high_value"], ids=ids)
    assert len(plan.sends) == 4
    sms = pd.concat([opted_in(ids), events([("b", "2025-07-01 12:00", "opt_out", None)])])
    later = drop_stopped(plan, sms, "2025-07-01 12:00")
    assert later.sends["customer_id"].tolist() == ["a", "a"]
    assert later.campaigns["suppressed_stop_after_as_of"].sum() == 2
    assert later.suppressed["stop_after_as_of"].sum() == 2
    assert (later.sends["consent_checked_at"] == pd.Timestamp("2025-07-01 12:00", tz="UTC")).all()
