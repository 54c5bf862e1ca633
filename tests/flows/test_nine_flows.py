"""Each of the guide's nine flows on a hand-built fixture: the trigger fires at the right time,
the steps come at the right delays (SMS moved into 08:00-20:00 local), an exit event ends the
flow, and a second trigger inside the re-entry window starts nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from smsseg.activation.policy import ActivationPolicy
from smsseg.flows import flow_plan

from .frames import T0, email_rows, inputs, only, sms_rows, ts

D, H = pd.Timedelta(days=1), pd.Timedelta(hours=1)
WINDOW = pd.Timedelta(days=40)


def _scores(rows):
    return [{"customer_id": "a", "uplift": 0.1, "discount_sensitivity": 0.9, **r} for r in rows]


#: flow → (tables holding one trigger at T0, the re-entry trigger inside the window, the exit)
TRIGGERS = {
    "welcome": (
        {},  # the customer opts in at T0 (see _run)
        {"sms": [{"customer_id": "a", "occurred_at": T0 + 10 * D, "event_type": "opt_in"}]},
        {"orders": [{"customer_id": "a", "ordered_at": T0 + 2 * D}]},
    ),
    "abandoned_cart": (
        {"events": [{"customer_id": "a", "occurred_at": T0, "event_type": "add_to_cart"}]},
        {"events": [{"customer_id": "a", "occurred_at": T0 + 3 * D, "event_type": "add_to_cart"}]},
        {"orders": [{"customer_id": "a", "ordered_at": T0 + 5 * H}]},
    ),
    "browse_abandonment": (
        {"events": [{"customer_id": "a", "occurred_at": T0, "event_type": "product_view"}]},
        {"events": [{"customer_id": "a", "occurred_at": T0 + 3 * D, "event_type": "product_view"}]},
        {"orders": [{"customer_id": "a", "ordered_at": T0 + 30 * H}]},
    ),
    "post_purchase": (
        {"orders": [{"customer_id": "a", "ordered_at": T0}]},
        None,  # re-entry window 0: every order starts a new instance (tested below)
        {"sms": [{"customer_id": "a", "occurred_at": T0 + 2 * D, "event_type": "opt_out"}]},
    ),
    "replenishment": (
        {"scores": _scores([{"scored_at": T0, "expected_next_order_date": T0 + 10 * D}])},
        {"scores": _scores([{"scored_at": T0 + 8 * D, "expected_next_order_date": T0 + 12 * D}])},
        {"orders": [{"customer_id": "a", "ordered_at": T0 + 5 * D}]},
    ),
    "loyalty": (
        {"loyalty": [{"customer_id": "a", "enrolled_at": T0}]},
        {"loyalty": [{"customer_id": "a", "enrolled_at": T0 + 20 * D}]},
        {"sms": [{"customer_id": "a", "occurred_at": T0 + 5 * D, "event_type": "opt_out"}]},
    ),
    "back_in_stock": (
        {
            "events": [
                {
                    "customer_id": "a",
                    "occurred_at": T0 - 2 * D,
                    "event_type": "wishlist_add",
                    "product_id": "p1",
                }
            ],
            "products": [{"product_id": "p1", "restocked_at": T0}],
        },  # fmt: skip
        {
            "events": [
                {
                    "customer_id": "a",
                    "occurred_at": T0 - 2 * D,
                    "event_type": "wishlist_add",
                    "product_id": "p2",
                }
            ],
            "products": [{"product_id": "p2", "restocked_at": T0 + 3 * D}],
        },  # fmt: skip
        {"orders": [{"customer_id": "a", "ordered_at": T0 + 1 * D}]},
    ),
    "win_back": (
        {"scores": _scores([{"scored_at": T0, "churn_risk_band": "high"}])},
        {
            "scores": _scores(
                [
                    {"scored_at": T0 + 3 * D, "churn_risk_band": "low"},
                    {"scored_at": T0 + 4 * D, "churn_risk_band": "high"},
                ]
            )
        },  # fmt: skip
        {"orders": [{"customer_id": "a", "ordered_at": T0 + 3 * D}]},
    ),
    "reactivation": (
        {"orders": [{"customer_id": "a", "ordered_at": T0 - 120 * D}]},
        None,  # re-entry: a new dormancy needs an engagement, which moves the trigger (below)
        {"sms": [{"customer_id": "a", "occurred_at": T0 - H, "event_type": "opt_out"}]},
    ),
}

#: flow → expected (SMS steps, email steps) as (step, instant) for a trigger at T0 (Monday 09:00)
EXPECTED = {
    "welcome": ([("welcome", T0 + H), ("first_purchase_offer", T0 + 3 * D)],
                [("preferences", T0 + D + H)]),
    "abandoned_cart": ([("reminder_sms", T0 + 4 * H), ("final_offer", T0 + 4 * H + D)],
                       [("reminder_email", T0 + H)]),
    "browse_abandonment": ([("new_arrivals", T0 + 2 * D)], [("reminder_email", T0 + D)]),
    "post_purchase": ([("order_confirmed", T0 + H), ("shipping_update", T0 + D + H),
                       ("review_request", T0 + 7 * D)],
                      [("delivery_reminder", T0 + 3 * D), ("thank_you", T0 + 14 * D)]),
    "replenishment": ([("reminder", T0 + 7 * D)], [("recommendation", T0 + 10 * D)]),
    "loyalty": ([("points_balance", T0 + D), ("exclusive_offer", T0 + 30 * D)],
                [("tier_progress", T0 + 14 * D)]),
    "back_in_stock": ([("alert", T0 + H), ("last_chance", T0 + H + 2 * D)], []),
    "win_back": ([("win_back", T0 + D), ("second_offer", T0 + 8 * D)], []),
    "reactivation": ([("final", T0)], []),
}  # fmt: skip


def _run(key, tables, as_of, policy=None, window=WINDOW):
    opt_in_at = T0 if key == "welcome" else "2025-01-01"
    data = inputs(opt_in_at=opt_in_at, **tables)
    return flow_plan(data, as_of, window, only(key), policy, holdout=0.0)


def _merge(*parts):
    out: dict[str, list] = {}
    for p in parts:
        for k, v in (p or {}).items():
            out[k] = out.get(k, []) + v
    return out


def _as_of(key):
    # the run must know the trigger; the dormancy (known since the last order) is due at T0
    return T0 - H if key == "reactivation" else T0


@pytest.mark.parametrize("key", list(TRIGGERS), ids=list(TRIGGERS))
def test_steps_at_their_delays(key):
    trigger, _, _ = TRIGGERS[key]
    run = _run(key, trigger, _as_of(key))
    sms, emails = EXPECTED[key]
    assert [(s, t) for _, s, t in sms_rows(run)] == sms
    assert [(s, t) for _, s, t in email_rows(run)] == emails
    assert run.plan.sends["send_at_local"].dt.hour.between(8, 19).all()


@pytest.mark.parametrize("key", list(TRIGGERS), ids=list(TRIGGERS))
def test_exit_ends_the_flow(key):
    trigger, _, exit_event = TRIGGERS[key]
    exit_at = min(
        r.get("ordered_at", r.get("occurred_at")) for rows in exit_event.values() for r in rows
    )
    as_of = max(exit_at, _as_of(key))
    run = _run(key, _merge(trigger, exit_event), as_of)
    assert run.plan.sends.empty, sms_rows(run)
    assert run.emails.empty
    state = run.state
    row = state.iloc[0]
    assert row["status"] == "exited" and row["exit_at"] == exit_at
    assert row["exit_reason"] == ("opt_out" if "sms" in exit_event else "purchase")


@pytest.mark.parametrize("key", [k for k, v in TRIGGERS.items() if v[1]], ids=str)
def test_no_reentry_inside_the_window(key):
    trigger, again, _ = TRIGGERS[key]
    tables = _merge(trigger, again)
    as_of = (
        T0 + 9 * D
        if key in ("replenishment",)
        else max(
            r.get(
                "occurred_at", r.get("enrolled_at", r.get("restocked_at", r.get("scored_at", T0)))
            )
            for rows in again.values()
            for r in rows
            if r.get("event_type") != "wishlist_add"
        )
    )
    run = _run(key, tables, as_of)
    assert len(run.state) == 1, run.state
    if key == "win_back":  # left the band at T0 + 3 d, back at T0 + 4 d: no second instance
        assert run.state["exit_reason"].tolist() == ["band_exit"]
        return
    one = _run(key, trigger, as_of)
    assert sms_rows(run) == sms_rows(one)


def test_post_purchase_second_order_supersedes_the_first():
    tables = {"orders": [{"customer_id": "a", "ordered_at": T0},
                         {"customer_id": "a", "ordered_at": T0 + 2 * D}]}  # fmt: skip
    run = _run("post_purchase", tables, T0 + 2 * D)
    state = run.state.sort_values("trigger_at")
    assert state["exit_reason"].tolist()[0] == "reentered"
    assert len(state) == 2
    # the first order's review request (T0 + 7 d) is gone; the second's comes at T0 + 9 d
    assert ("review_request", T0 + 9 * D) in [(s, t) for _, s, t in sms_rows(run)]
    assert ("review_request", T0 + 7 * D) not in [(s, t) for _, s, t in sms_rows(run)]


def test_reactivation_survey_follows_the_sunset_policy():
    trigger = TRIGGERS["reactivation"][0]
    policy = ActivationPolicy(sunset_survey=True)
    run = _run("reactivation", trigger, T0 - H, policy)
    assert [(s, t) for _, s, t in sms_rows(run)] == [("final", T0), ("survey", T0 + 7 * D)]


def test_reactivation_engagement_moves_the_dormancy():
    tables = _merge(TRIGGERS["reactivation"][0],
                    {"orders": [{"customer_id": "a", "ordered_at": T0 - 10 * D}]})  # fmt: skip
    run = _run("reactivation", tables, T0 - H)
    assert run.plan.sends.empty
    assert run.state["trigger_at"].tolist() == [T0 - 10 * D + 120 * D]


def test_second_win_back_offer_only_for_offer_responsive():
    trigger = {"scores": [{"customer_id": "a", "scored_at": T0, "churn_risk_band": "high",
                           "uplift": -0.05, "discount_sensitivity": 0.9}]}  # fmt: skip
    run = _run("win_back", trigger, T0)
    assert [s for _, s, _ in sms_rows(run)] == ["win_back"]
    assert run.plan.suppressed["reason"].tolist() == ["not_offer_responsive"]
    # without an uplift estimate, the discount sensitivity decides
    trigger["scores"][0]["uplift"] = None
    assert [s for _, s, _ in sms_rows(_run("win_back", trigger, T0))] == [
        "win_back",
        "second_offer",
    ]


def test_sms_due_at_night_moves_to_the_morning():
    late = {"events": [{"customer_id": "a", "occurred_at": ts("2025-03-03 18:30"),
                        "event_type": "add_to_cart"}]}  # fmt: skip
    run = _run("abandoned_cart", late, ts("2025-03-03 18:30"))
    # the 4-hour reminder is due 22:30: it goes at 08:00; the final offer 24 h after that
    assert [(s, t) for _, s, t in sms_rows(run)] == [
        ("reminder_sms", ts("2025-03-04 08:00")),
        ("final_offer", ts("2025-03-05 08:00")),
    ]
    assert [t for _, _, t in email_rows(run)] == [ts("2025-03-03 19:30")]  # email: no quiet hours


def test_holdout_is_sticky_per_flow():
    ids = [f"c{i}" for i in range(200)]
    carts = [{"customer_id": c, "occurred_at": T0, "event_type": "add_to_cart"} for c in ids]
    a = flow_plan(inputs(ids, events=carts), T0, WINDOW, only("abandoned_cart"), holdout=0.2)
    b = flow_plan(
        inputs(ids, events=carts), T0 + 2 * H, WINDOW, only("abandoned_cart"), holdout=0.2
    )
    held = lambda run: set(run.plan.sends.loc[run.plan.sends["holdout"], "customer_id"])  # noqa: E731
    assert 20 <= len(held(a)) <= 60
    assert held(a) == held(b)
    # a held-out customer is held out of every step of the flow
    s = a.plan.sends
    assert s.groupby("customer_id")["holdout"].nunique().max() == 1


def test_an_opt_in_after_the_as_of_starts_nothing():
    # known at T0 + 1 h, the opt-in starts the welcome flow; a run at T0 must not see it
    data = inputs(ids=("b",), opt_in_at=str(T0 + H))
    run = flow_plan(data, T0, WINDOW, only("welcome"), holdout=0.0)
    assert run.plan.sends.empty and run.state.empty
    seen = flow_plan(data, T0 + H, WINDOW, only("welcome"), holdout=0.0)
    assert set(seen.plan.sends["customer_id"]) == {"b"}


def test_campaign_sends_count_toward_the_caps():
    cart = {"events": [{"customer_id": "a", "occurred_at": T0, "event_type": "add_to_cart"}]}
    campaign = pd.DataFrame({"customer_id": ["a"], "message_type": ["vip_exclusive"], "holdout": [False],
                             "send_at_utc": [(T0 + 3 * H).tz_localize("UTC")]})  # fmt: skip
    data = inputs(**cart)
    run = flow_plan(data, T0, WINDOW, only("abandoned_cart"), holdout=0.0, other_sends=campaign)
    # the 13:00 reminder is 1 h after the campaign's 12:00 send: the daily cap blocks it
    assert [s for _, s, _ in sms_rows(run)] == ["final_offer"]
    assert run.plan.suppressed["reason"].tolist() == ["capped"]
    held = campaign.assign(holdout=True)  # a held-out campaign send is not sent: no cap
    run = flow_plan(data, T0, WINDOW, only("abandoned_cart"), holdout=0.0, other_sends=held)
    assert [s for _, s, _ in sms_rows(run)] == ["reminder_sms", "final_offer"]


def test_reactivation_holdout_is_the_sunset_flows():
    from smsseg.activation.holdout import hashed_holdout

    ids = [f"c{i}" for i in range(300)]
    orders = [{"customer_id": c, "ordered_at": T0 - 120 * D} for c in ids]
    run = flow_plan(inputs(ids, orders=orders), T0 - H, WINDOW, only("reactivation"), holdout=0.2)
    s = run.plan.sends
    expected = hashed_holdout(s["customer_id"], 0.2)  # the default key: the sunset flow's
    assert s["holdout"].tolist() == expected.tolist() and s["holdout"].any()


@pytest.mark.parametrize(("campaign", "sent"), [("flow-welcome-welcome", False), ("flow-welcome", True)],
                         ids=["our-flow", "another-tools-flow"])  # fmt: skip
def test_flow_cap_counts_the_flows_own_recorded_sends(campaign, sent):
    history = [{"customer_id": "a", "occurred_at": T0 - k * D, "event_type": "sent",
                "campaign_id": campaign, "message_type": "welcome"} for k in (2, 3)]  # fmt: skip
    data = inputs(opt_in_at=str(T0), sms=history)
    run = flow_plan(data, T0, 2 * D, only("welcome"), holdout=0.0)
    # two welcome-flow SMS in the week before: the flow's cap (2 a week) blocks a third
    assert ("welcome" in [s for _, s, _ in sms_rows(run)]) is sent


def test_reactivation_finds_a_dormancy_the_customer_came_back_from():
    from smsseg.flows.backtest import flow_backtest

    orders = {"orders": [{"customer_id": "a", "ordered_at": T0 - 120 * D},
                         {"customer_id": "a", "ordered_at": T0 + 10 * D}]}  # fmt: skip
    run = _run("reactivation", orders, T0 + 5 * D)  # the order at T0 + 10 d is not known yet
    assert run.state[["trigger_at", "status"]].values.tolist() == [[T0, "completed"]]
    # the replay up to T0 + 20 d knows the order: the final message at T0 went out before it
    bt = flow_backtest(inputs(**orders), T0 - H, T0 + 20 * D, only("reactivation"), holdout=0.0)
    assert bt.sends[["step", "scheduled_at", "outcome"]].values.tolist() == [["final", T0, "sent"]]
