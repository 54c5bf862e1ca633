"""Every feature family on the hand-built dataset (tests/features/hand.py), values worked out by hand.

Cut-off 2025-07-01 00:00. Buyers at the cut-off: A (orders o1 2025-01-01 10:00 = 100,
o2 2025-04-01 10:00 = 50 with 10 off and code SPRING, o3 2025-06-01 10:00 = 150, o4 cancelled),
C (o6 2024-07-01 12:00 = 80 with 20 off) and E (o7 2024-03-01 = 40; o8 returned 2025-06-30).
B signed up 2025-06-20 and has not bought; D signs up after the cut-off and is absent.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from smsseg.data import load_frames
from smsseg.features import build_features
from tests.features.hand import AS_OF, hand_tables

NA = None

# A's inter-purchase gaps: o1 -> o2 = 90 days, o2 -> o3 = 61 days.
IPT_STD = math.sqrt(((90 - 75.5) ** 2 + (61 - 75.5) ** 2) / 1)
# A's spend by category (order lines): shoes 100 + 100, bags 2 x 30, hats 50 (from products).
A_SHARES = (200 / 310, 60 / 310, 50 / 310)
A_ENTROPY = -sum(p * math.log2(p) for p in A_SHARES)
P1_PRICE = (100 + 100 + 60) / 3  # mean unit price of p1 over order lines up to the cut-off

EXPECTED = {
    "rfm": [
        ("A", "recency_days", 29 + 14 / 24),  # o3 2025-06-01 10:00
        ("A", "frequency", 3),  # the cancelled o4 and the future o5 do not count
        ("A", "monetary_total", 300.0),
        ("A", "aov", 100.0),
        ("A", "tenure_days", 547.0),  # 2024 is a leap year: 366 + 181
        ("B", "recency_days", NA),
        ("B", "frequency", 0),
        ("B", "monetary_total", 0.0),
        ("B", "aov", NA),
        ("B", "tenure_days", 11.0),
        ("C", "recency_days", 364.5),
        ("E", "recency_days", 487.0),
        # scores among the 3 buyers: score = floor(5 (rank - 0.5) / 3) + 1
        ("A", "r_score", 5),
        ("C", "r_score", 3),
        ("E", "r_score", 1),
        ("A", "f_score", 5),
        ("C", "f_score", 2),  # C and E tie on 1 order: mean rank 1.5
        ("E", "f_score", 2),
        ("A", "m_score", 5),
        ("C", "m_score", 3),
        ("E", "m_score", 1),
        ("C", "fm_score", 3),  # (2 + 3) / 2 = 2.5 rounds half up
        ("E", "fm_score", 2),
        ("B", "r_score", NA),
        ("A", "rfm_segment", "Champions"),  # R5 FM5
        ("C", "rfm_segment", "Need attention"),  # R3 FM3
        ("E", "rfm_segment", "Hibernating"),  # R1 FM2
        ("B", "rfm_segment", "Prospect"),
    ],
    "dynamics": [
        ("A", "orders_30d", 1),
        ("A", "orders_90d", 1),  # o2 at 2025-04-01 10:00 is before 2025-04-02 00:00
        ("A", "orders_180d", 2),
        ("A", "orders_365d", 3),
        ("A", "spend_30d", 150.0),
        ("A", "spend_180d", 200.0),
        ("A", "spend_365d", 300.0),
        ("C", "orders_365d", 1),  # 2024-07-01 12:00 is after 2024-07-01 00:00
        ("E", "orders_30d", 0),  # o8 was returned
        ("B", "orders_30d", 0),
        ("A", "trend_90d", 0.0),  # 1 order in the last 90 days, 1 (o2) in the 90 before
        ("E", "trend_90d", NA),
        ("A", "ipt_mean_days", 75.5),
        ("A", "ipt_std_days", IPT_STD),
        ("C", "ipt_mean_days", NA),
        ("A", "recency_ipt_ratio", (29 + 14 / 24) / 75.5),
        ("A", "hours_since_last_order", 710.0),
        ("A", "days_since_first_order", 181 - 10 / 24),
        ("A", "return_share", 0.25),  # o4 cancelled of o1..o4
        ("E", "return_share", 0.5),
        ("B", "return_share", NA),
    ],
    # the horizon's window a year earlier: (2024-07-01 00:00, 2024-09-29 00:00] (90 days)
    "season": [
        ("C", "orders_same_window_last_year", 1),  # o6 2024-07-01 12:00
        ("A", "orders_same_window_last_year", 0),  # all of A's orders are in 2025
        ("E", "orders_same_window_last_year", 0),  # o7 2024-03-01 is before the window
        ("B", "orders_same_window_last_year", 0),
    ],
    "discount": [
        ("A", "discount_order_share", 1 / 3),
        ("C", "discount_order_share", 1.0),
        ("E", "discount_order_share", 0.0),
        ("B", "discount_order_share", NA),
        ("A", "avg_discount_rate", (0 + 10 / 60 + 0) / 3),
        ("C", "avg_discount_rate", 0.2),
        ("A", "promo_period_order_share", 2 / 3),  # o2 in P1, o3 in merged P2+P3
        ("C", "promo_period_order_share", 0.0),
    ],
    "category": [
        ("A", "cat_spend_share__shoes", A_SHARES[0]),
        ("A", "cat_spend_share__bags", A_SHARES[1]),
        ("A", "cat_spend_share__other", A_SHARES[2]),
        ("A", "dominant_category", "shoes"),
        ("A", "dominant_category_share", A_SHARES[0]),
        ("A", "category_entropy", A_ENTROPY),
        ("C", "cat_spend_share__bags", 1.0),
        ("C", "category_entropy", 0.0),
        ("E", "cat_spend_share__other", 1.0),
        ("E", "dominant_category", "socks"),
        ("B", "cat_spend_share__shoes", NA),
        ("B", "cat_view_share__shoes", 0.5),  # product view of p1 (shoes, from products)
        ("B", "cat_view_share__bags", 0.5),  # category view of bags; the future view is ignored
        ("B", "dominant_view_category", "bags"),  # tie broken by name
        ("A", "cat_view_share__other", 1.0),  # hats
        ("C", "cat_view_share__shoes", NA),
    ],
    "browse": [
        ("B", "product_views_1d", 1),
        ("B", "product_views_30d", 1),
        ("B", "add_to_cart_1d", 1),
        ("B", "checkout_started_1d", 1),
        ("B", "search_2d", 0),  # exactly 48 h before: windows are (as_of - w, as_of]
        ("B", "search_7d", 1),
        ("B", "category_views_2d", 0),
        ("B", "category_views_7d", 1),
        ("B", "wishlist_add_30d", 0),  # exactly 30 days before
        ("A", "add_to_cart_30d", 2),
        ("C", "product_views_30d", 0),
        ("B", "hours_since_last_view", 12.0),
        ("B", "hours_since_last_cart_add", 11.0),
        ("B", "hours_since_last_checkout", 10.0),
        ("A", "hours_since_last_view", 504.0),
        ("C", "hours_since_last_view", NA),
        ("B", "open_cart", True),
        ("B", "open_cart_items", 1),
        ("B", "open_cart_value", P1_PRICE),
        ("E", "open_cart", True),  # two adds after the returned o8
        ("E", "open_cart_value", 2 * P1_PRICE),
        ("A", "open_cart", False),  # p3 added before o4; p2 added then removed
        ("A", "open_cart_value", 0.0),
        ("C", "open_cart", False),
        ("B", "restocked_viewed_products", 1),  # p1 viewed 12:00, restocked 18:00
        ("A", "restocked_viewed_products", 0),  # p3 restocked after the cut-off
    ],
    "engagement": [
        ("A", "days_since_last_engagement", 10.0),  # remove_from_cart 2025-06-21
        ("B", "days_since_last_engagement", 10 / 24),
        ("C", "days_since_last_engagement", 364.5),
        ("E", "days_since_last_engagement", 17 / 24),
    ],
    "sms": [
        ("B", "sms_opted_in", True),
        ("B", "days_since_opt_in", 11.0),
        ("B", "sms_sent_7d", 2),
        ("B", "sms_sent_30d", 2),
        ("B", "sms_clicks_30d", 1),
        ("B", "sms_ctr_90d", 0.5),
        ("B", "days_since_last_click", 5 + 23 / 24),
        ("B", "days_since_last_sms", 3.0),
        ("C", "sms_opted_in", False),  # STOP on 2025-01-01
        ("C", "sms_stopped", True),
        ("C", "days_since_opt_in", NA),
        ("C", "days_since_last_sms", 212.0),
        ("A", "sms_opted_in", False),  # opt-in and STOP at the same instant; later opt-in is future
        ("A", "sms_stopped", True),
        ("E", "sms_opted_in", False),  # no consent history
        ("E", "sms_stopped", False),
        ("E", "sms_sent_90d", 0),
        ("E", "sms_ctr_90d", NA),
    ],
    "loyalty": [
        ("C", "loyalty_member", True),
        ("C", "loyalty_tier", "Gold"),
        ("C", "points_balance", 500.0),
        ("C", "points_expiring_30d", 100.0),  # expire 2025-07-20
        ("C", "days_to_points_expiry", 19.0),
        ("E", "points_expiring_30d", 0.0),  # expire 2025-09-01
        ("E", "days_to_points_expiry", 62.0),
        ("E", "days_since_enrolled", 516.0),
        ("A", "loyalty_member", False),  # enrols after the cut-off
        ("A", "loyalty_tier", NA),
        ("A", "points_balance", NA),
        ("B", "loyalty_member", False),
    ],
    "profile": [
        ("A", "country", "US"),
        ("B", "region", "London"),
        ("A", "city", "San Francisco"),
        ("C", "store_id", NA),
        ("E", "timezone", "America/Chicago"),
        ("C", "preferred_channel", "email"),
        ("A", "has_phone", True),
        ("C", "has_phone", False),
        ("A", "postal_code", NA),  # column not supplied
    ],
}

CASES = [(family, *case) for family, cases in EXPECTED.items() for case in cases]


@pytest.fixture(scope="module")
def hand_features() -> pd.DataFrame:
    return build_features(load_frames(hand_tables()), AS_OF, top_k=2, btyd=False)


@pytest.mark.parametrize(
    ("family", "customer", "feature", "expected"),
    CASES,
    ids=[f"{fam}-{cust}-{feat}" for fam, cust, feat, _ in CASES],
)
def test_hand_built_value(hand_features, family, customer, feature, expected):
    value = hand_features.loc[customer, feature]
    if expected is None:
        assert pd.isna(value), f"{customer}.{feature} = {value!r}, expected NA"
    elif isinstance(expected, float):
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)
    else:
        assert value == expected


def test_population_is_customers_existing_at_the_cut_off(hand_features):
    assert list(hand_features.index) == ["A", "B", "C", "E"]  # D signs up after the cut-off
    assert hand_features.index.name == "customer_id"


def test_every_family_has_an_expected_value_case():
    from smsseg.features import FEATURE_FAMILIES

    assert set(FEATURE_FAMILIES) - {"btyd"} <= set(EXPECTED), "btyd is tested in test_lifetime.py"


def test_top_k_is_chosen_on_as_of_spend_only(hand_features):
    # With the future o5 (hats, 999) hats would be first; as of the cut-off it is third.
    assert hand_features.attrs["categories"] == ["shoes", "bags"]
    shares = hand_features.filter(like="cat_spend_share__").dropna()
    assert (shares.sum(axis=1) - 1.0).abs().max() < 1e-12


def test_declared_dtypes(hand_features):
    from smsseg.features.catalogue import PANDAS_DTYPES
    from smsseg.features.registry import output_features

    for feature in output_features(hand_features.attrs["categories"]):
        assert str(hand_features[feature.name].dtype) == PANDAS_DTYPES[feature.dtype], feature.name
    assert list(hand_features["rfm_segment"].cat.categories)[-1] == "Prospect"


def test_fixed_category_list_is_used_as_given():
    frame = build_features(
        load_frames(hand_tables()), AS_OF, categories=["hats", "Socks & Co"], btyd=False
    )
    assert [c for c in frame if c.startswith("cat_spend_share__")] == [
        "cat_spend_share__hats",
        "cat_spend_share__socks_co",
        "cat_spend_share__other",
    ]
    assert frame.loc["A", "cat_spend_share__hats"] == pytest.approx(50 / 310)
