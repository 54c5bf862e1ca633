"""make_plan on hand-built frames: caps, slots, cool-down, offers, holidays, holdouts, files."""

import json

import pandas as pd
import pytest

from smsseg.activation import (
    ActivationPolicy,
    PolicyError,
    QuietHours,
    drop_stopped,
    make_plan,
    write_plan,
)
from smsseg.errors import SmssegError
from tests.activation.frames import AS_OF, customers, events, membership, opted_in

NO_HOLIDAYS = ActivationPolicy(quiet_hours=QuietHours(holidays=()))


def plan_for(mem, goals, sms=None, cust=None, **kw):
    ids = mem["customer_id"]
    kw.setdefault("holdout", 0.0)
    kw.setdefault("policy", NO_HOLIDAYS)
    sms = opted_in(ids) if sms is None else sms
    return make_plan(mem, customers(ids) if cust is None else cust, sms, AS_OF, goals, **kw)


def test_cart_abandoner_gets_one_reminder_at_the_preferred_local_time():
    plan = plan_for(membership(["a", "b"], cart_abandoner=["a"]), ["recover_abandoned_carts"])
    row = plan.sends.iloc[0]
    assert len(plan.sends) == 1 and row["customer_id"] == "a"
    assert row["message_type"] == "cart_reminder" and row["segment"] == "cart_abandoner"
    assert row["timezone"] == "America/Los_Angeles"
    assert row["send_at_local"] == pd.Timestamp("2025-07-01 18:00")
    assert row["send_at_utc"] == pd.Timestamp("2025-07-02 01:00", tz="UTC")
    audience = plan.audience(row["campaign_id"])
    # consent is known up to the end of the history: here its only event, the opt-in
    assert audience.to_dict("records") == [
        {"customer_id": "a", "phone": "+14155550000", "message_type": "cart_reminder",
         "send_at_utc": "2025-07-02T01:00:00Z", "consent_checked_at": "2025-01-01T00:00:00Z"}
    ]  # fmt: skip


GOALS_FOR_EVERYONE = ["protect_high_value", "promote_flash_sale", "loyalty_engagement",
                      "drive_repeat_purchases", "local_marketing", "improve_engagement"]  # fmt: skip


@pytest.mark.parametrize(
    ("segments", "cap"),
    [
        ({"vip": ["a"]}, 2),
        ({}, 3),
        ({"at_risk": ["a"]}, 1),
    ],
    ids=["vip-2", "active-3", "at-risk-1"],
)
def test_weekly_cap_by_segment(segments, cap):
    everyone = {"loyalty_member": ["a"], "repeat_customer": ["a"], "location_based": ["a"]}
    mem = membership(["a"], **everyone, **segments, discount_sensitive=["a"])
    plan = plan_for(mem, GOALS_FOR_EVERYONE + ["reduce_churn"])
    assert len(plan.sends) == cap
    assert set(plan.suppressed["reason"]) == {"capped"}


def test_highly_engaged_customers_get_the_engaged_cap():
    mem = membership(["a"], loyalty_member=["a"], repeat_customer=["a"], location_based=["a"],
                     vip=[], discount_sensitive=["a"])  # fmt: skip
    sms = pd.concat([opted_in(["a"]), events([("a", "2025-06-20", "clicked", None)])])
    plan = plan_for(mem, GOALS_FOR_EVERYONE, sms=sms)
    assert len(plan.sends) == 4


def test_sends_in_the_history_count_against_the_weekly_cap():
    sms = pd.concat([opted_in(["a"]), events([("a", "2025-06-29 15:00", "sent", "win_back")])])
    plan = plan_for(membership(["a"], at_risk=["a"]), ["re_engage_inactive"], sms=sms)
    sent = plan.sends.iloc[0]
    # cap 1 per rolling 7 days: the earliest plan day whose 11:00 local is 7 days after the send
    assert sent["send_at_utc"] - pd.Timestamp("2025-06-29 15:00", tz="UTC") >= pd.Timedelta(days=7)
    assert sent["day"] == 6


def test_one_message_per_day_and_24_hours_between_messages():
    plan = plan_for(membership(["a"], cart_abandoner=["a"], vip=["a"]),
                    ["protect_high_value", "recover_abandoned_carts"])  # fmt: skip
    s = plan.sends.sort_values("send_at_utc")
    assert s["goal"].tolist() == ["recover_abandoned_carts", "protect_high_value"]
    assert s["send_at_utc"].diff().iloc[1] >= pd.Timedelta(hours=24)
    # 10:00 on day 2 is within 24 h of the cart reminder: the VIP message moves to 18:00 that day
    assert s["send_at_local"].tolist() == [
        pd.Timestamp("2025-07-01 18:00"),
        pd.Timestamp("2025-07-02 18:00"),
    ]


@pytest.mark.parametrize(
    ("window_end", "expected_local"),
    [("20:00", "2025-07-01 16:30"), ("16:00", "2025-07-02 10:00")],
    ids=["later-same-day", "next-day"],
)
def test_daily_cap_moves_the_send_later_that_day_when_quiet_hours_allow(window_end, expected_local):
    # a send at 16:30 local on the plan date: 10:00 the next day is within 24 hours of it
    last = pd.Timestamp("2025-06-30 16:30").tz_localize("America/Los_Angeles").tz_convert("UTC")
    sms = pd.concat([opted_in(["a"]), events([("a", last.tz_localize(None), "sent", "welcome")])])
    policy = ActivationPolicy(quiet_hours=QuietHours("08:00", window_end, holidays=()))
    plan = make_plan(membership(["a"], vip=["a"]), customers(["a"]), sms, "2025-06-30 23:59",
                     ["protect_high_value"], policy, holdout=0.0)  # fmt: skip
    assert plan.sends["send_at_local"].tolist() == [pd.Timestamp(expected_local)]


def test_discount_cooldown_counts_the_history():
    sms = pd.concat([opted_in(["a", "b"]), events([("a", "2025-06-25", "sent", "flash_sale")])])
    plan = plan_for(
        membership(["a", "b"], first_time_buyer=["a", "b"]), ["drive_repeat_purchases"], sms=sms
    )
    assert plan.sends["customer_id"].tolist() == ["b"]
    row = plan.suppressed.set_index("customer_id").loc["a"]
    assert row["reason"] == "discount_cooldown"


def test_at_most_one_discount_in_the_plan():
    mem = membership(["a"], first_time_buyer=["a"], discount_sensitive=["a"], at_risk=[])
    plan = plan_for(mem, ["promote_flash_sale", "drive_repeat_purchases"])
    assert plan.sends["discount"].sum() == 1


def test_category_offers_only_reach_customers_with_that_affinity():
    mem = membership(["shoes", "home", "none"], vip=["shoes", "home", "none"])
    mem["category"] = ["Shoes", "home", None]
    plan = plan_for(mem, ["promote_flash_sale"], offers={"promote_flash_sale": ["shoes"]})
    assert plan.sends["customer_id"].tolist() == ["shoes"]
    site_wide = plan_for(mem, ["promote_flash_sale"], offers={"promote_flash_sale": None})
    assert sorted(site_wide.sends["customer_id"]) == ["home", "none", "shoes"]


def test_back_in_stock_without_restocked_categories_targets_nobody():
    mem = membership(["a"], browse_abandoner=["a"]).assign(category="shoes")
    plan = plan_for(mem, ["back_in_stock"])
    assert plan.sends.empty
    assert "targets nobody" in plan.campaigns.loc[0, "note"]
    assert len(plan_for(mem, ["back_in_stock"], offers={"back_in_stock": ["shoes"]}).sends) == 1


def test_vip_check_in_needs_a_churn_probability():
    mem = membership(["hi", "lo", "na"], vip=["hi", "lo", "na"])
    mem["churn_probability"] = [0.8, 0.2, None]
    plan = plan_for(mem, ["reduce_churn"])
    assert plan.sends["customer_id"].tolist() == ["hi"]
    assert plan.sends["message_type"].tolist() == ["vip_check_in"]


def test_no_sends_on_holidays():
    mem = membership(["a"], cart_abandoner=["a"])
    plan = make_plan(mem, customers(["a"]), opted_in(["a"]), "2025-12-31",
                     ["recover_abandoned_carts"], holdout=0.0)  # fmt: skip
    assert plan.sends["send_at_local"].dt.date.tolist() == [pd.Timestamp("2026-01-02").date()]


def test_dormant_customers_get_nothing_but_the_sunset_flow():
    plan = plan_for(membership(["d"], dormant=["d"], vip=["d"]), ["protect_high_value"])
    assert plan.sends.empty
    row = plan.suppressed.iloc[0]
    assert row["reason"] == "sunset" and "only the sunset flow" in row["detail"]


def test_unsendable_customers_are_suppressed_with_their_reason():
    ids = ["ok", "stop", "email", "bad"]
    cust = customers(ids)
    cust.loc[2, "preferred_channel"] = "email"
    cust.loc[3, "phone"] = "+1 000"
    sms = pd.concat([opted_in(ids), events([("stop", "2025-06-01", "opt_out", None)])])
    plan = plan_for(
        membership(ids, cart_abandoner=ids), ["recover_abandoned_carts"], sms=sms, cust=cust
    )
    assert plan.sends["customer_id"].tolist() == ["ok"]
    assert plan.suppressed.set_index("customer_id")["reason"].to_dict() == {
        "stop": "no_consent", "email": "prefers_email", "bad": "invalid_phone"
    }  # fmt: skip


def test_a_stop_after_the_plan_removes_the_customer_from_later_sends():
    ids = ["a", "b", "c"]
    mem = membership(ids, cart_abandoner=ids, vip=ids)
    plan = plan_for(mem, ["recover_abandoned_carts", "protect_high_value"])
    assert len(plan.sends) == 6
    stop = events([("b", "2025-07-01 12:00", "opt_out", None)])  # before every planned send
    later = drop_stopped(plan, pd.concat([opted_in(ids), stop]), "2025-07-01 12:00")
    kept = later.sends.groupby("customer_id").size().to_dict()
    assert kept == {"a": 2, "c": 2}  # both of b's sends were after the STOP
    assert set(later.suppressed.query("customer_id == 'b'")["reason"]) == {"no_consent"}
    assert (
        later.campaigns["audience"].sum() == 4
        and later.campaigns["suppressed_no_consent"].sum() == 2
    )
    # nothing to drop: the sends stay, now known to be consented up to the check
    same = drop_stopped(plan, opted_in(ids), "2025-07-01 12:00")
    pd.testing.assert_frame_equal(same.sends.drop(columns="consent_checked_at"),
                                  plan.sends.drop(columns="consent_checked_at"))  # fmt: skip
    assert (same.sends["consent_checked_at"] == pd.Timestamp("2025-07-01 12:00", tz="UTC")).all()
    assert same.consent_known_until == pd.Timestamp("2025-07-01 12:00")


def test_holdout_is_exact_seeded_and_never_in_the_audience():
    ids = [f"c{i:03d}" for i in range(200)]
    mem = membership(ids, cart_abandoner=ids)
    plan = plan_for(mem, ["recover_abandoned_carts"], holdout=0.1, seed=7)
    held = set(plan.sends.loc[plan.sends["holdout"], "customer_id"])
    assert len(held) == 20
    assert held == set(plan_for(mem, ["recover_abandoned_carts"], holdout=0.1, seed=7)
                       .sends.query("holdout")["customer_id"])  # fmt: skip
    assert held != set(plan_for(mem, ["recover_abandoned_carts"], holdout=0.1, seed=8)
                       .sends.query("holdout")["customer_id"])  # fmt: skip
    audience = plan.audience(plan.campaigns.loc[0, "campaign_id"])
    assert len(audience) == 180 and not held & set(audience["customer_id"])
    assert set(plan.suppressed.query("reason == 'holdout'")["customer_id"]) == held
    variants = plan.assignments().set_index("customer_id")["variant"]
    assert (variants[list(held)] == "control").all() and (variants == "treatment").sum() == 180


def test_goal_order_does_not_change_the_plan():
    mem = membership(["a", "b"], cart_abandoner=["a"], vip=["a", "b"])
    one = plan_for(mem, ["recover_abandoned_carts", "protect_high_value"], holdout=0.5)
    two = plan_for(mem, ["protect_high_value", "recover_abandoned_carts"], holdout=0.5)
    pd.testing.assert_frame_equal(one.sends, two.sends)


def test_write_plan_writes_every_file_and_no_phone_outside_audiences(tmp_path):
    ids = [f"c{i}" for i in range(10)]
    plan = plan_for(membership(ids, cart_abandoner=ids, vip=ids[:3]),
                    ["recover_abandoned_carts", "protect_high_value"], holdout=0.2)  # fmt: skip
    paths = write_plan(plan, tmp_path / "plan")
    assert all(p.is_file() for p in paths.values())
    frame = pd.read_parquet(tmp_path / "plan" / "plan.parquet")
    assert list(frame.columns) == ["customer_id", "campaign_id", "goal", "segment", "message_type",
                                   "send_at_utc", "send_at_local", "timezone", "holdout",
                                   "consent_checked_at"]  # fmt: skip
    audience = pd.read_csv(
        tmp_path / "plan" / "audiences" / "recover_abandoned_carts-20250630.csv", dtype=str
    )
    assert list(audience.columns) == [
        "customer_id", "phone", "message_type", "send_at_utc", "consent_checked_at"
    ]  # fmt: skip
    assert audience["phone"].str.fullmatch(r"\+1\d{10}").all() and len(audience) == 8
    for name in ("plan.json", "suppressed.csv", "campaigns.csv", "assignments.csv"):
        assert "+1415" not in (tmp_path / "plan" / name).read_text()
    meta = json.loads((tmp_path / "plan" / "plan.json").read_text())
    assert meta["audience"] == int((~frame["holdout"]).sum()) and meta["holdout"] == 0.2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"goals": ["win_everything"]}, "unknown goal 'win_everything'; known goals: recover_"),
        ({"goals": []}, "no goal given"),
        ({"goals": ["back_in_stock", "back_in_stock"]}, "name a goal twice"),
        ({"holdout": 1.0}, r"holdout=1.0 must be >= 0 and < 1"),
        ({"holdout": -0.1}, r"holdout=-0.1 must be >= 0"),
    ],
    ids=["unknown-goal", "no-goal", "twice", "holdout-1", "holdout-negative"],
)
def test_bad_arguments_are_quoted(kwargs, message):
    args = {"goals": ["recover_abandoned_carts"], "holdout": 0.1} | kwargs
    mem = membership(["a"], cart_abandoner=["a"])
    with pytest.raises(PolicyError, match=message):
        make_plan(
            mem, customers(["a"]), opted_in(["a"]), AS_OF, args["goals"], holdout=args["holdout"]
        )


def test_numeric_ids_match_string_ids():
    mem = membership([1, 2], cart_abandoner=[1])
    plan = make_plan(
        mem, customers(["1", "2"]), opted_in(["1", "2"]), AS_OF, ["recover_abandoned_carts"]
    )
    assert plan.sends["customer_id"].tolist() == ["1"]


def test_membership_without_segment_columns_is_rejected():
    mem = pd.DataFrame({"customer_id": ["a"], "is_vip": [True]})
    with pytest.raises(SmssegError, match=r"membership is missing column\(s\) \['is_dormant'\]"):
        make_plan(mem, customers(["a"]), opted_in(["a"]), AS_OF, ["protect_high_value"])
