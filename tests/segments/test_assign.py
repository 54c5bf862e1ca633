"""Membership mechanics: primary segment, catch-all, missing data, input validation, summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsseg.errors import SmssegError
from smsseg.segments import (
    SEGMENT_KEYS,
    SUMMARY_COLUMNS,
    assign_segments,
    load_catalogue,
    segment_summary,
)

from .frames import BASE, features_frame, scores_frame

CATALOGUE = load_catalogue()


def test_output_columns_and_catch_all():
    features = features_frame({"customer_id": "nobody"})
    membership = assign_segments(features, None, CATALOGUE)
    assert [f"is_{k}" for k in SEGMENT_KEYS] == list(membership.columns[: len(SEGMENT_KEYS)])
    assert membership.loc["nobody", "segments"] == ""
    assert membership.loc["nobody", "primary_segment"] == "general"
    assert membership.index.name == "customer_id"


def test_multi_membership_and_priority():
    # a repeat customer, in the loyalty programme, who left a cart 5 hours ago
    features = features_frame(
        {
            "customer_id": "x",
            "frequency": 4,
            "loyalty_member": True,
            "hours_since_last_cart_add": 5.0,
            "hours_since_last_order": 400.0,
            "city": "Austin",
            "timezone": "America/Chicago",
        },
    )
    membership = assign_segments(features, None, CATALOGUE)
    segments = membership.loc["x", "segments"].split(";")
    assert segments == ["repeat_customer", "cart_abandoner", "loyalty_member", "location_based"]
    assert membership.loc["x", "primary_segment"] == "cart_abandoner"


def test_priority_is_read_from_the_catalogue(tmp_path):
    order = ["location_based"] + [k for k in CATALOGUE.priority if k != "location_based"]
    user = tmp_path / "priority.toml"
    user.write_text("[catalogue]\npriority = [" + ", ".join(f'"{k}"' for k in order) + "]\n")
    features = features_frame(
        {"customer_id": "x", "frequency": 1, "city": "Austin", "timezone": "America/Chicago"}
    )
    assert assign_segments(features, None, CATALOGUE).loc["x", "primary_segment"] == (
        "first_time_buyer"
    )
    moved = assign_segments(features, None, load_catalogue(user))
    assert moved.loc["x", "primary_segment"] == "location_based"


def test_all_missing_features_never_crash_and_land_in_catch_all():
    # every optional feature unknown (NA), as with an orders-only data set without a match
    row = {k: (pd.NA if not isinstance(v, str) else None) for k, v in BASE.items()}
    row.update(frequency=pd.NA, monetary_total=np.nan, tenure_days=np.nan)
    features = features_frame({"customer_id": "unknown", **row})
    scores = scores_frame(features)
    membership = assign_segments(features, scores, CATALOGUE)
    assert not membership.filter(like="is_").any(axis=None)
    assert membership.loc["unknown", "primary_segment"] == "general"


def test_scores_are_carried_into_the_membership():
    features = features_frame({"customer_id": "a", "frequency": 2}, {"customer_id": "b"})
    scores = scores_frame(
        features,
        churn_probability=[0.7, 0.1],
        discount_sensitivity=[0.2, 0.9],
        reasons=["recency_days=200 (+0.3)", None],
    )
    membership = assign_segments(features, scores, CATALOGUE)
    assert membership.loc["a", "churn_probability"] == 0.7
    assert membership.loc["b", "discount_sensitivity"] == 0.9
    assert membership.loc["a", "reasons"].startswith("recency_days")
    assert membership.loc["a", "is_at_risk"] and not membership.loc["b", "is_at_risk"]


def test_customers_without_scores_get_nan_scores():
    features = features_frame({"customer_id": "a"}, {"customer_id": "b"})
    scores = pd.DataFrame(
        {"customer_id": ["a"], "churn_probability": [0.3], "discount_sensitivity": [0.4]}
    )
    membership = assign_segments(features, scores, CATALOGUE)
    assert np.isnan(membership.loc["b", "churn_probability"])


@pytest.mark.parametrize(
    ("scores", "match"),
    [
        (
            pd.DataFrame({"customer_id": ["a"], "churn_probability": [0.1]}),
            r"lack column\(s\) \['discount_sensitivity'\]",
        ),
        (
            pd.DataFrame({"churn_probability": [0.1], "discount_sensitivity": [0.1]}),
            "needs a customer_id",
        ),
        (
            pd.DataFrame(
                {
                    "customer_id": ["a", "zz"],
                    "churn_probability": [0.1, 0.2],
                    "discount_sensitivity": [0.1, 0.2],
                }
            ),
            r"1 customer_id\(s\) that are not customers .*'zz'",
        ),
        (
            pd.DataFrame(
                {
                    "customer_id": ["a", "a"],
                    "churn_probability": [0.1, 0.2],
                    "discount_sensitivity": [0.1, 0.2],
                }
            ),
            r"duplicated customer_id\(s\), e.g. \['a'\]",
        ),
    ],
    ids=["missing-column", "no-customer-id", "unknown-id", "duplicate-id"],
)
def test_bad_scores_are_rejected(scores, match):
    with pytest.raises(SmssegError, match=match):
        assign_segments(features_frame({"customer_id": "a"}), scores, CATALOGUE)


def test_missing_feature_column_is_named():
    features = features_frame({"customer_id": "a"}).drop(columns=["hours_since_last_view"])
    with pytest.raises(SmssegError, match=r"hours_since_last_view \(for browse_abandoner\)"):
        assign_segments(features, None, CATALOGUE)


def test_top_tier_vip_needs_tiers(tmp_path):
    user = tmp_path / "vip.toml"
    user.write_text('[segments.vip.thresholds]\nmethod = "top_tier"\n')
    with pytest.raises(SmssegError, match="top_tier.*needs fitted value tiers"):
        assign_segments(features_frame({"customer_id": "a"}), None, load_catalogue(user))


def test_summary_counts_shares_and_catch_all():
    features = features_frame(
        {"customer_id": "one", "frequency": 1, "monetary_total": 30.0, "sms_opted_in": True},
        {"customer_id": "two", "frequency": 2, "monetary_total": 70.0},
        {"customer_id": "none"},
    )
    scores = scores_frame(features, churn_probability=[0.2, 0.4, 0.1])
    membership = assign_segments(features, scores, CATALOGUE)
    summary = segment_summary(membership, features, CATALOGUE).set_index("key")
    assert list(summary.reset_index().columns) == list(SUMMARY_COLUMNS)
    assert list(summary.index) == [*SEGMENT_KEYS, "general"]
    assert summary.loc["first_time_buyer", "customers"] == 1
    assert summary.loc["first_time_buyer", "revenue_share"] == pytest.approx(0.3)
    assert summary.loc["first_time_buyer", "opted_in_share"] == 1.0
    assert summary.loc["repeat_customer", "mean_churn_probability"] == pytest.approx(0.4)
    # the top 15 % of 2 buyers is 0.3 customers: nobody (a share is never rounded up)
    assert summary.loc["vip", "customers"] == 0
    assert summary.loc["repeat_customer", "primary_customers"] == 1
    assert summary.loc["general", "customers"] == 1
    assert summary.loc["general", "share"] == pytest.approx(1 / 3)
    assert summary.loc["at_risk", "flow"] == "win_back"


def test_inputs_are_not_modified():
    features = features_frame({"customer_id": "a", "frequency": 2}, {"customer_id": "b"})
    scores = scores_frame(features, churn_probability=[0.9, 0.1])
    before_f, before_s = features.copy(), scores.copy()
    assign_segments(features, scores, CATALOGUE)
    pd.testing.assert_frame_equal(features, before_f)
    pd.testing.assert_frame_equal(scores, before_s)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "frequency": st.integers(0, 5),
                "days_since_opt_in": st.one_of(st.none(), st.floats(0, 60)),
                "sms_opted_in": st.booleans(),
                "hours_since_last_cart_add": st.one_of(st.none(), st.floats(0, 100)),
                "hours_since_last_view": st.one_of(st.none(), st.floats(0, 300)),
                "hours_since_last_order": st.one_of(st.none(), st.floats(0, 5000)),
                "days_since_last_engagement": st.one_of(st.none(), st.floats(0, 400)),
                "loyalty_member": st.booleans(),
                "city": st.one_of(st.none(), st.just("Austin")),
                "timezone": st.one_of(st.none(), st.just("America/Chicago")),
                "__churn": st.one_of(st.none(), st.floats(0, 1)),
            }
        ),
        min_size=1,
        max_size=8,
    )
)
def test_primary_segment_is_the_first_membership_by_priority(rows):
    clean = [{k: (np.nan if v is None else v) for k, v in r.items()} for r in rows]
    features = features_frame(*({k: v for k, v in r.items() if k != "__churn"} for r in clean))
    scores = scores_frame(features, churn_probability=[r["__churn"] for r in clean])
    membership = assign_segments(features, scores, CATALOGUE)
    for customer, row in membership.iterrows():
        members = [k for k in SEGMENT_KEYS if row[f"is_{k}"]]
        assert row["segments"] == ";".join(members)
        expected = next((k for k in CATALOGUE.priority if k in members), "general")
        assert row["primary_segment"] == expected, customer
        assert not (row["is_at_risk"] and row["is_dormant"])  # at risk means not yet dormant
        assert not (row["is_first_time_buyer"] and row["is_repeat_customer"])
