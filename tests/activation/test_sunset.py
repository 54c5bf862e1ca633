"""The sunset flow: a dormant customer gets the final message once, then is suppressed; the
customers held out of it stay held out at every plan."""

import pandas as pd
import pytest

from smsseg.activation import (
    SUNSET_HOLDOUT_KEY,
    ActivationPolicy,
    QuietHours,
    hashed_holdout,
    make_plan,
    sunset_state,
    write_plan,
)
from smsseg.activation.holdout import hash_unit
from tests.activation.frames import AS_OF, customers, events, membership, opted_in

POLICY = ActivationPolicy(quiet_hours=QuietHours(holidays=()))
ALL_GOALS = ["re_engage_inactive", "reduce_churn", "protect_high_value", "loyalty_engagement"]


def delivered(sms: pd.DataFrame, plan) -> pd.DataFrame:
    """The SMS history after the plan's (non-holdout) sends went out."""
    sent = plan.sends[~plan.sends["holdout"]]
    rows = [(r.customer_id, r.send_at_utc.tz_localize(None), "sent", r.message_type)
            for r in sent.itertuples()]  # fmt: skip
    return pd.concat([sms, events(rows)], ignore_index=True)


def test_dormant_customer_gets_the_final_message_once_then_is_suppressed(tmp_path):
    ids = ["d", "active"]
    mem = membership(ids, dormant=["d"], vip=["d", "active"], at_risk=["d"], loyalty_member=ids)
    cust, sms = customers(ids), opted_in(ids)

    first = make_plan(mem, cust, sms, AS_OF, ALL_GOALS, POLICY, holdout=0.0)
    to_d = first.sends[first.sends["customer_id"] == "d"]
    assert to_d["message_type"].tolist() == ["final_reactivation"]  # once, in one campaign
    assert to_d["goal"].tolist() == ["re_engage_inactive"]
    assert "d" not in set(first.suppression_list["customer_id"])
    # the other goals left the dormant customer alone
    others = first.suppressed[first.suppressed["customer_id"] == "d"]
    assert set(others["reason"]) == {"sunset"} and len(others) == 3

    history = delivered(sms, first)
    later = AS_OF + pd.Timedelta(days=10)
    second = make_plan(mem, cust, history, later, ALL_GOALS, POLICY, holdout=0.0)
    assert "d" not in set(second.sends["customer_id"])
    assert set(second.suppressed.loc[second.suppressed["customer_id"] == "d", "reason"]) == {
        "sunset"
    }
    listed = second.suppression_list.set_index("customer_id")
    assert list(listed.index) == ["d"]
    assert listed.loc["d", "since"] == to_d["send_at_utc"].iloc[0].tz_localize(None)
    # and the file a platform imports says so
    write_plan(second, tmp_path / "plan")
    assert pd.read_csv(tmp_path / "plan" / "suppression_list.csv")["customer_id"].tolist() == ["d"]
    # the active customer is still messaged
    assert "active" in set(second.sends["customer_id"])


def test_sunset_survey_follows_the_final_message_after_its_delay():
    policy = ActivationPolicy(quiet_hours=QuietHours(holidays=()), sunset_survey=True,
                              survey_delay_days=9)  # fmt: skip
    mem, cust = membership(["d"], dormant=["d"]), customers(["d"])
    sms = pd.concat(
        [opted_in(["d"]), events([("d", "2025-06-25 18:00", "sent", "final_reactivation")])]
    )
    plan = make_plan(mem, cust, sms, AS_OF, ["re_engage_inactive"], policy, holdout=0.0)
    row = plan.sends.iloc[0]
    assert row["message_type"] == "sunset_survey"
    assert row["send_at_utc"] >= pd.Timestamp("2025-07-04 18:00", tz="UTC")  # final + 9 days
    after = make_plan(mem, cust, delivered(sms, plan), AS_OF + pd.Timedelta(days=14),
                      ["re_engage_inactive"], policy, holdout=0.0)  # fmt: skip
    assert after.sends.empty and after.suppression_list["customer_id"].tolist() == ["d"]


def test_survey_not_yet_due_is_reported():
    policy = ActivationPolicy(quiet_hours=QuietHours(holidays=()), sunset_survey=True,
                              survey_delay_days=30)  # fmt: skip
    sms = pd.concat([opted_in(["d"]), events([("d", "2025-06-25", "sent", "final_reactivation")])])
    plan = make_plan(membership(["d"], dormant=["d"]), customers(["d"]), sms, AS_OF,
                     ["re_engage_inactive"], policy, holdout=0.0)  # fmt: skip
    assert plan.sends.empty
    assert plan.suppressed[["reason", "detail"]].values.tolist() == [
        ["sunset", "sunset survey not due within the horizon"]
    ]


def test_a_customer_who_came_back_leaves_the_flow():
    sms = pd.concat([opted_in(["d"]), events([("d", "2025-01-10", "sent", "final_reactivation")])])
    back = membership(["d"], vip=["d"])  # no longer dormant
    plan = make_plan(
        back, customers(["d"]), sms, AS_OF, ["protect_high_value"], POLICY, holdout=0.0
    )
    assert plan.sends["customer_id"].tolist() == ["d"] and plan.suppression_list.empty


@pytest.mark.parametrize(
    ("history", "survey", "state"),
    [
        ([], False, "final_due"),
        ([("2025-06-01", "final_reactivation")], False, "suppressed"),
        ([("2025-06-01", "final_reactivation")], True, "survey_due"),
        (
            [("2025-06-01", "final_reactivation"), ("2025-06-10", "sunset_survey")],
            True,
            "suppressed",
        ),
        ([("2025-07-02", "final_reactivation")], False, "final_due"),  # after as_of: not yet
    ],
    ids=["new", "final-sent", "survey-due", "survey-sent", "future-send"],
)
def test_sunset_state(history, survey, state):
    sms = events([("d", at, "sent", m) for at, m in history]) if history else events([])
    policy = ActivationPolicy(sunset_survey=survey)
    got = sunset_state(membership(["d", "x"], dormant=["d"]), sms, AS_OF, policy)
    assert got.set_index("customer_id")["state"].to_dict() == {"d": state, "x": "none"}


def test_a_dormant_customer_held_out_stays_held_out_at_the_next_plan():
    ids = [f"d{i:03d}" for i in range(200)]
    mem, cust, sms = membership(ids, dormant=ids), customers(ids), opted_in(ids)
    first = make_plan(mem, cust, sms, AS_OF, ["re_engage_inactive"], POLICY, holdout=0.1, seed=1)
    held = set(first.sends.loc[first.sends["holdout"], "customer_id"])
    assert 5 <= len(held) <= 40  # a coin per customer: about 20 of 200
    # ten days later, with another seed: the treated are done with the flow, the held out are
    # targeted again (no final message in their history) and held out again
    later = AS_OF + pd.Timedelta(days=10)
    second = make_plan(mem, cust, delivered(sms, first), later, ["re_engage_inactive"], POLICY,
                       holdout=0.1, seed=2)  # fmt: skip
    assert set(second.sends["customer_id"]) == held and second.sends["holdout"].all()
    assert set(second.suppression_list["customer_id"]) == set(ids) - held
    # a bigger share keeps every customer held out before (the hash buckets are nested)
    wider = make_plan(mem, cust, delivered(sms, first), later, ["re_engage_inactive"], POLICY,
                      holdout=0.3, seed=2)  # fmt: skip
    assert held <= set(wider.sends.loc[wider.sends["holdout"], "customer_id"])


def test_the_sunset_holdout_ignores_the_other_campaigns_and_the_seed():
    ids = [f"c{i:03d}" for i in range(100)]
    dormant, at_risk = ids[:50], ids[50:]
    mem = membership(ids, dormant=dormant, at_risk=at_risk)
    plans = [make_plan(mem, customers(ids), opted_in(ids), AS_OF, ["re_engage_inactive"], POLICY,
                       holdout=0.2, seed=seed) for seed in (1, 2)]  # fmt: skip
    flow = [p.sends[p.sends["message_type"] == "final_reactivation"] for p in plans]
    assert flow[0]["holdout"].tolist() == flow[1]["holdout"].tolist()
    assert flow[0]["holdout"].tolist() == hashed_holdout(flow[0]["customer_id"], 0.2).tolist()
    # the campaign's other customers get the exact, seeded draw: 20 % of the 50 at-risk
    win_back = [p.sends[p.sends["message_type"] == "win_back"] for p in plans]
    assert [int(w["holdout"].sum()) for w in win_back] == [10, 10]
    assert set(win_back[0].query("holdout")["customer_id"]) != set(
        win_back[1].query("holdout")["customer_id"]
    )


def test_hashed_holdout_is_stable_nested_and_near_its_share():
    # golden values: changing the hash would silently reshuffle every persistent control group
    assert hash_unit(["C0000001", "C0000002", "C0000003"], SUNSET_HOLDOUT_KEY) == pytest.approx(
        [0.35835225, 0.23184069, 0.9029727], abs=1e-8
    )
    ids = pd.Series([f"C{i:07d}" for i in range(20_000)])
    held = hashed_holdout(ids, 0.1)
    assert abs(held.mean() - 0.1) < 3 * (0.1 * 0.9 / len(ids)) ** 0.5
    assert (held <= hashed_holdout(ids, 0.2)).all()
    shuffled = ids.sample(frac=1.0, random_state=0)
    assert hashed_holdout(shuffled, 0.1).sort_index().equals(held)
    assert not hashed_holdout(ids, 0.0).any()
