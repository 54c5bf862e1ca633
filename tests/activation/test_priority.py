"""Campaign priority: who wins a send the caps make scarce, and what each campaign lost to whom.

The fixture is the issue's case in miniature: at-risk customers (weekly cap 1) are targeted by
both ``re_engage_inactive`` (win-back) and ``reduce_churn`` (win-back offer), so only one of the
two campaigns can text them this week. ``re_engage_inactive`` also targets dormant customers of
little value, so ``reduce_churn`` protects more value per send.
"""

import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.activation  # noqa: F401  (registers the commands)
from smsseg.activation import ActivationPolicy, QuietHours, make_plan
from smsseg.activation.inputs import policy_from_dict
from smsseg.activation.policy import PolicyError
from smsseg.activation.priority import HISTORY, campaign_order, parse_priority
from smsseg.cli.app import app
from tests.activation.frames import AS_OF, customers, events, membership, opted_in, write_data_dir

AT_RISK = [f"R{i}" for i in range(4)]
DORMANT = [f"D{i}" for i in range(6)]
IDS = AT_RISK + DORMANT
GOALS = ["re_engage_inactive", "reduce_churn"]
CHURN = "reduce_churn-20250630"
REENGAGE = "re_engage_inactive-20250630"
#: value at stake = churn_probability x predicted_clv
AT_RISK_VALUE = 0.6 * 500.0  # 300 per at-risk customer
DORMANT_VALUE = 0.9 * 20.0  # 18 per dormant customer


def _membership() -> pd.DataFrame:
    mem = membership(IDS, at_risk=AT_RISK, dormant=DORMANT)
    at_risk = mem["customer_id"].isin(AT_RISK)
    return mem.assign(
        churn_probability=at_risk.map({True: 0.6, False: 0.9}),
        predicted_clv=at_risk.map({True: 500.0, False: 20.0}),
    )


def _plan(priority="value", sms=None, mem=None, **rules):
    policy = ActivationPolicy(
        quiet_hours=QuietHours(holidays=()), campaign_priority=priority, **rules
    )
    return make_plan(
        _membership() if mem is None else mem,
        customers(IDS),
        opted_in(IDS) if sms is None else sms,
        AS_OF,
        GOALS,
        policy,
        holdout=0.0,
    )


def _goal_of(plan, customer_id):
    return set(plan.sends.loc[plan.sends["customer_id"] == customer_id, "goal"])


def test_by_default_the_campaign_protecting_the_most_value_wins_the_scarce_sends():
    plan = _plan()
    rows = plan.campaigns.set_index("goal")
    # value at stake per send: reduce_churn targets only the at-risk; re-engage also the dormant
    assert rows.loc["reduce_churn", "value_per_send"] == pytest.approx(AT_RISK_VALUE)
    expected = (4 * AT_RISK_VALUE + 6 * DORMANT_VALUE) / 10
    assert rows.loc["re_engage_inactive", "value_per_send"] == pytest.approx(expected)
    assert plan.priority == ("reduce_churn", "re_engage_inactive")
    assert list(plan.campaigns["goal"]) == ["reduce_churn", "re_engage_inactive"]
    assert list(plan.campaigns["priority"]) == [1, 2]
    # every at-risk customer gets the win-back offer; the policy order would give the win-back
    assert all(_goal_of(plan, c) == {"reduce_churn"} for c in AT_RISK)
    assert rows.loc["reduce_churn", "scheduled"] == 4
    # and the summary says what re-engagement lost, and to whom
    assert rows.loc["re_engage_inactive", "suppressed_capped"] == 4
    assert rows.loc["re_engage_inactive", "lost_to"] == f"{CHURN}: 4"
    assert rows.loc["reduce_churn", "lost_to"] == ""
    assert plan.cap_losses.to_dict("records") == [
        {"campaign_id": REENGAGE, "lost_to": CHURN, "customers": 4}
    ]
    # the dormant get their final reactivation whatever the priority
    assert all(_goal_of(plan, c) == {"re_engage_inactive"} for c in DORMANT)


@pytest.mark.parametrize(
    "priority",
    ["policy", ("re_engage_inactive",), ("re_engage_inactive", "reduce_churn")],
    ids=["policy-order", "named-first", "named-all"],
)
def test_another_priority_gives_the_scarce_sends_to_its_first_campaign(priority):
    plan = _plan(priority)
    rows = plan.campaigns.set_index("goal")
    assert plan.priority == ("re_engage_inactive", "reduce_churn")
    assert all(_goal_of(plan, c) == {"re_engage_inactive"} for c in AT_RISK)
    assert rows.loc["reduce_churn", "scheduled"] == 0
    assert rows.loc["reduce_churn", "suppressed_capped"] == 4
    assert rows.loc["reduce_churn", "lost_to"] == f"{REENGAGE}: 4"


def test_value_priority_follows_the_values_not_the_goal_names():
    """Swap which campaign's audience is valuable: the winner swaps with it."""
    mem = _membership()
    dormant = mem["customer_id"].isin(DORMANT)
    mem = mem.assign(predicted_clv=mem["predicted_clv"].where(~dormant, 100_000.0))
    plan = _plan(mem=mem)
    assert plan.priority == ("re_engage_inactive", "reduce_churn")
    assert all(_goal_of(plan, c) == {"re_engage_inactive"} for c in AT_RISK)


def test_without_scores_the_value_priority_keeps_the_policy_order():
    mem = _membership().drop(columns=["predicted_clv"])
    plan = _plan(mem=mem)
    assert plan.priority == ("re_engage_inactive", "reduce_churn")
    assert plan.campaigns["value_per_send"].isna().all()


def test_caps_used_by_sends_before_the_plan_are_lost_to_the_history():
    # R0 got a text yesterday: their weekly cap of 1 is used for the whole 3-day plan
    sms = pd.concat([opted_in(IDS), events([("R0", "2025-06-29 15:00", "sent", "newsletter")])])
    plan = _plan(sms=sms, horizon_days=3)
    losses = plan.cap_losses.set_index(["campaign_id", "lost_to"])["customers"].to_dict()
    assert losses[(CHURN, HISTORY)] == 1 and losses[(REENGAGE, HISTORY)] == 1
    assert losses[(REENGAGE, CHURN)] == 3
    rows = plan.campaigns.set_index("goal")
    assert rows.loc["reduce_churn", "lost_to"] == f"{HISTORY}: 1"
    assert rows.loc["re_engage_inactive", "lost_to"] == f"{CHURN}: 3; {HISTORY}: 1"


def test_campaign_order_ranks_by_value_with_unvalued_goals_last_in_policy_order():
    policy = ActivationPolicy()
    goals = ("recover_abandoned_carts", "back_in_stock", "reduce_churn", "protect_high_value")
    values = pd.Series({"recover_abandoned_carts": 5.0, "back_in_stock": float("nan"),
                        "reduce_churn": 50.0, "protect_high_value": 5.0})  # fmt: skip
    assert campaign_order(goals, policy, values) == (
        "reduce_churn", "recover_abandoned_carts", "protect_high_value", "back_in_stock",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("priority", "message"),
    [
        ("biggest", "campaign_priority='biggest' must be one of value, policy"),
        (("reduce_churn", "win_everything"), "unknown: ['win_everything']"),
        (("reduce_churn", "reduce_churn"), "must name each goal at most once"),
    ],
    ids=["unknown-rule", "unknown-goal", "duplicate"],
)
def test_a_bad_priority_is_a_clear_error(priority, message):
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("(", r"\(")):
        ActivationPolicy(campaign_priority=priority)


def test_priority_from_a_policy_file_and_the_command_line():
    policy = policy_from_dict({"plan": {"priority": ["reduce_churn", "re_engage_inactive"]}})
    assert policy.campaign_priority == ("reduce_churn", "re_engage_inactive")
    assert policy_from_dict({"plan": {"priority": "policy"}}).campaign_priority == "policy"
    assert parse_priority("value") == "value"
    assert parse_priority("reduce_churn, re_engage_inactive") == (
        "reduce_churn",
        "re_engage_inactive",
    )


def test_plan_command_priority_option_and_lost_to_caps_in_the_summary(tmp_path):
    data_dir, seg_dir = write_data_dir(tmp_path, IDS, dormant=DORMANT)
    _membership().to_parquet(seg_dir / "membership.parquet", index=False)
    base = ["plan", "--segments", str(seg_dir), "--data", str(data_dir), "--as-of", "2025-06-30",
            "--goal", "reduce_churn", "--goal", "re_engage_inactive", "--holdout", "0"]  # fmt: skip
    for priority, winner, loser in [(None, CHURN, REENGAGE), ("policy", REENGAGE, CHURN)]:
        out = tmp_path / f"plan-{priority}"
        extra = [] if priority is None else ["--priority", priority]
        result = CliRunner().invoke(app, [*base, "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert f"lost to caps: {loser} 4 ({winner}: 4)" in " ".join(result.output.split())
        campaigns = pd.read_csv(out / "campaigns.csv", keep_default_na=False).set_index(
            "campaign_id"
        )
        assert campaigns.loc[loser, "lost_to"] == f"{winner}: 4"
        assert campaigns.loc[winner, "priority"] == 1
        losses = pd.read_csv(out / "cap_losses.csv")
        assert losses.to_dict("records") == [
            {"campaign_id": loser, "lost_to": winner, "customers": 4}
        ]
    bad = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "bad"), "--priority", "loud"])
    assert bad.exit_code == 1 and "unknown: ['loud']" in bad.output
    assert not (tmp_path / "bad").exists()


def test_value_per_send_counts_only_customers_the_campaign_could_text():
    """Dormant customers who never opted in, however valuable, do not lift re-engagement."""
    mem = _membership()
    dormant = mem["customer_id"].isin(DORMANT)
    mem = mem.assign(predicted_clv=mem["predicted_clv"].where(~dormant, 100_000.0))
    plan = _plan(mem=mem, sms=opted_in(AT_RISK))  # only the at-risk customers opted in
    rows = plan.campaigns.set_index("goal")
    assert rows.loc["re_engage_inactive", "value_per_send"] == pytest.approx(AT_RISK_VALUE)
    assert rows.loc["reduce_churn", "value_per_send"] == pytest.approx(AT_RISK_VALUE)
    # a tie: the policy order decides
    assert plan.priority == ("re_engage_inactive", "reduce_churn")
