"""One hand-built fixture per segment: a customer just inside and one just outside each threshold
of the default catalogue (new-subscriber window 30 d, cart window 1-48 h, browse window 7 d,
category share 0.6 over 2 orders, discount score 1.5 x the mean, churn 0.7 / trend -0.5, dormancy 120 d
with beauty 90 d, ...)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smsseg.segments import assign_segments, load_catalogue

from .frames import features_frame, scores_frame

CATALOGUE = load_catalogue()

# (segment, overrides of the inside customer, overrides of the outside customer)
CASES = [
    # opted in 30 days ago: in; 30 days and ~15 minutes: out
    (
        "new_subscriber",
        {"sms_opted_in": True, "days_since_opt_in": 30.0},
        {"sms_opted_in": True, "days_since_opt_in": 30.01},
    ),
    (
        "new_subscriber",
        {"sms_opted_in": True, "days_since_opt_in": 0.0, "frequency": 0},
        {"sms_opted_in": True, "days_since_opt_in": 0.0, "frequency": 1},
    ),
    # consent unknown (NA) is not an opt-in
    (
        "new_subscriber",
        {"sms_opted_in": True, "days_since_opt_in": 3.0},
        {"sms_opted_in": pd.NA, "days_since_opt_in": 3.0},
    ),
    ("first_time_buyer", {"frequency": 1}, {"frequency": 2}),
    ("first_time_buyer", {"frequency": 1}, {"frequency": 0}),
    ("repeat_customer", {"frequency": 2}, {"frequency": 1}),
    # cart added 48 h ago: in; 48 h and 36 s: out
    ("cart_abandoner", {"hours_since_last_cart_add": 48.0}, {"hours_since_last_cart_add": 48.01}),
    # under 1 h the customer may still be checking out
    ("cart_abandoner", {"hours_since_last_cart_add": 1.0}, {"hours_since_last_cart_add": 0.99}),
    # an order 30 h ago was before the cart add 20 h ago: still abandoned; 19.99 h: ordered since
    (
        "cart_abandoner",
        {"hours_since_last_cart_add": 20.0, "hours_since_last_order": 20.01, "frequency": 1},
        {"hours_since_last_cart_add": 20.0, "hours_since_last_order": 19.99, "frequency": 1},
    ),
    # viewed 7 days (168 h) ago: in; 168.01 h: out
    ("browse_abandoner", {"hours_since_last_view": 168.0}, {"hours_since_last_view": 168.01}),
    # a cart add after the view (fewer hours ago) takes the customer out
    (
        "browse_abandoner",
        {"hours_since_last_view": 10.0, "hours_since_last_cart_add": 10.01},
        {"hours_since_last_view": 10.0, "hours_since_last_cart_add": 9.99},
    ),
    (
        "browse_abandoner",
        {"hours_since_last_view": 10.0, "hours_since_last_order": 10.5, "frequency": 1},
        {"hours_since_last_view": 10.0, "hours_since_last_order": 9.5, "frequency": 1},
    ),
    (
        "category_specific",
        {"frequency": 2, "dominant_category": "shoes", "dominant_category_share": 0.6},
        {"frequency": 2, "dominant_category": "shoes", "dominant_category_share": 0.59},
    ),
    (
        "category_specific",
        {"frequency": 2, "dominant_category": "shoes", "dominant_category_share": 1.0},
        {"frequency": 1, "dominant_category": "shoes", "dominant_category_share": 1.0},
    ),
    ("at_risk", {"frequency": 3, "__churn": 0.7}, {"frequency": 3, "__churn": 0.69}),
    ("at_risk", {"frequency": 3, "trend_90d": -0.5}, {"frequency": 3, "trend_90d": -0.49}),
    # never bought: a churn score alone does not make an at-risk customer
    ("at_risk", {"frequency": 1, "__churn": 0.9}, {"frequency": 0, "__churn": 0.9}),
    # ... and not yet dormant (dormant customers are excluded)
    (
        "at_risk",
        {"frequency": 3, "__churn": 0.9, "days_since_last_engagement": 119.0},
        {"frequency": 3, "__churn": 0.9, "days_since_last_engagement": 120.0},
    ),
    ("dormant", {"days_since_last_engagement": 120.0}, {"days_since_last_engagement": 119.9}),
    # beauty is a fast-moving category: dormant after 90 days
    (
        "dormant",
        {"days_since_last_engagement": 90.0, "dominant_category": "beauty"},
        {"days_since_last_engagement": 89.9, "dominant_category": "beauty"},
    ),
    (
        "dormant",
        {"days_since_last_engagement": 180.0, "dominant_category": "electronics"},
        {"days_since_last_engagement": 179.9, "dominant_category": "electronics"},
    ),
    # no engagement at all: inactive since the profile was created
    (
        "dormant",
        {"days_since_last_engagement": np.nan, "tenure_days": 120.0},
        {"days_since_last_engagement": np.nan, "tenure_days": 119.0},
    ),
    (
        "loyalty_member",
        {"loyalty_member": True, "points_balance": 0.0},
        {"loyalty_member": False, "points_balance": 500.0},
    ),
    (
        "location_based",
        {"city": "Berlin", "timezone": "Europe/Berlin"},
        {"city": "Berlin", "timezone": None},
    ),
    # a country alone is too coarse for local marketing by default
    (
        "location_based",
        {"store_id": "s1", "timezone": "Europe/Berlin"},
        {"country": "DE", "timezone": "Europe/Berlin"},
    ),
]


def _split(overrides: dict) -> tuple[dict, dict]:
    scores = {
        "churn_probability": overrides.get("__churn", np.nan),
        "discount_sensitivity": overrides.get("__discount", np.nan),
    }
    return {k: v for k, v in overrides.items() if not k.startswith("__")}, scores


def _ids(case) -> str:
    key, inside, _ = case
    return f"{key}-" + "-".join(k.strip("_") for k in inside)


@pytest.mark.parametrize(("key", "inside", "outside"), CASES, ids=[_ids(c) for c in CASES])
def test_just_inside_and_just_outside(key, inside, outside):
    (f_in, s_in), (f_out, s_out) = _split(inside), _split(outside)
    features = features_frame({"customer_id": "in", **f_in}, {"customer_id": "out", **f_out})
    scores = pd.DataFrame([{"customer_id": "in", **s_in}, {"customer_id": "out", **s_out}])
    membership = assign_segments(features, scores, CATALOGUE)
    assert membership.loc["in", f"is_{key}"]
    assert not membership.loc["out", f"is_{key}"]
    assert key in membership.loc["in", "segments"].split(";")


def _buyers(n: int) -> pd.DataFrame:
    return features_frame(
        *(
            {"customer_id": f"b{i:02d}", "frequency": 1, "monetary_total": float(i)}
            for i in range(1, n + 1)
        )
    )


def test_vip_top_share_of_buyers_by_value():
    # 20 buyers with spend 1..20, no scores and no tiers: value = spend; top 15 % = 3 buyers
    features = pd.concat([_buyers(20), features_frame({"customer_id": "never", "frequency": 0})])
    membership = assign_segments(features, None, CATALOGUE)
    vips = membership.index[membership["is_vip"]]
    assert sorted(vips) == ["b18", "b19", "b20"]  # b18 just inside, b17 just outside
    assert not membership.loc["b17", "is_vip"]
    assert not membership.loc["never", "is_vip"]


def test_vip_ranks_on_predicted_clv_when_scored():
    features = _buyers(20)
    clv = np.arange(20, 0, -1, dtype=float)  # reverses the order: b01 has the highest CLV
    scores = scores_frame(features, predicted_clv=clv)
    membership = assign_segments(features, scores, CATALOGUE)
    assert sorted(membership.index[membership["is_vip"]]) == ["b01", "b02", "b03"]


def test_records_are_kept_for_members_only():
    features = features_frame(
        {
            "customer_id": "cat",
            "frequency": 3,
            "dominant_category": "shoes",
            "dominant_category_share": 0.9,
        },
        {
            "customer_id": "mixed",
            "frequency": 3,
            "dominant_category": "shoes",
            "dominant_category_share": 0.3,
        },
        {
            "customer_id": "member",
            "loyalty_member": True,
            "loyalty_tier": "Gold",
            "points_balance": 640.0,
            "points_expiring_30d": 100.0,
        },
    )
    membership = assign_segments(features, None, CATALOGUE)
    assert membership.loc["cat", "dominant_category"] == "shoes"
    assert pd.isna(membership.loc["mixed", "dominant_category"])
    assert membership.loc["member", "loyalty_tier"] == "Gold"
    assert membership.loc["member", "points_expiring_30d"] == 100.0
    assert pd.isna(membership.loc["cat", "points_balance"])


def test_discount_sensitive_top_share_of_scored_customers():
    # 10 scored customers + 1 unscored: the top 20 % is 2 customers, the third is just outside
    features = features_frame(*({"customer_id": f"s{i}"} for i in range(11)))
    values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, np.nan]
    scores = scores_frame(features, discount_sensitivity=values)
    membership = assign_segments(features, scores, CATALOGUE)
    assert sorted(membership.index[membership["is_discount_sensitive"]]) == ["s8", "s9"]


def test_discount_sensitive_by_lift_over_the_mean_score(tmp_path):
    # scores in 64ths, so the mean (0.25) and 1.5 x the mean (0.375) are exact
    sixty_fourths = {"in": 24, "out": 23, "a": 14, "b": 14, "c": 14, "d": 13, "e": 13, "f": 13}
    features = features_frame(*({"customer_id": c} for c in sixty_fourths))
    scores = scores_frame(features, discount_sensitivity=[v / 64 for v in sixty_fourths.values()])
    user = tmp_path / "lift.toml"
    user.write_text('[segments.discount_sensitive.thresholds]\nmethod = "lift"\n')
    membership = assign_segments(features, scores, load_catalogue(user))
    assert membership["discount_sensitivity"].mean() == 0.25
    assert membership.index[membership["is_discount_sensitive"]].tolist() == ["in"]


def test_discount_sensitive_by_absolute_score(tmp_path):
    user = tmp_path / "score.toml"
    user.write_text('[segments.discount_sensitive.thresholds]\nmethod = "score"\nmin_score = 0.5\n')
    features = features_frame({"customer_id": "in"}, {"customer_id": "out"})
    scores = scores_frame(features, discount_sensitivity=[0.5, 0.49])
    membership = assign_segments(features, scores, load_catalogue(user))
    assert membership.index[membership["is_discount_sensitive"]].tolist() == ["in"]


def test_discount_sensitive_is_empty_without_discount_scores():
    # orders-only data: the discount model cannot be trained and the score is all NaN
    features = features_frame({"customer_id": "a"}, {"customer_id": "b"})
    membership = assign_segments(features, scores_frame(features), CATALOGUE)
    assert not membership["is_discount_sensitive"].any()


def test_vip_top_tier_method_uses_the_value_tiers(tmp_path):
    from smsseg.tiers import ValueTiers, value_matrix

    features = pd.concat(
        [_buyers(20), features_frame(*({"customer_id": f"n{i}"} for i in range(5)))]
    )
    features.loc["b20", ["monetary_total", "frequency"]] = [5000.0, 30]
    features.loc["b19", ["monetary_total", "frequency"]] = [4000.0, 25]
    features["recency_days"] = np.where(features["frequency"] > 0, 10.0, np.nan)
    tiers = ValueTiers(k_range=(3, 3), random_state=0).fit(value_matrix(features))
    user = tmp_path / "top_tier.toml"
    user.write_text('[segments.vip.thresholds]\nmethod = "top_tier"\n')
    membership = assign_segments(features, None, load_catalogue(user), tiers)
    top = membership["tier"] == tiers.names_[0]
    assert sorted(membership.index[top]) == ["b19", "b20"]
    assert membership["is_vip"].equals(top)
