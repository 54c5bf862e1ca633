"""Segments are dynamic: re-running as of a later date moves customers, and the moves are reported."""

from __future__ import annotations

import pytest

from smsseg.data import load_frames
from smsseg.features import build_features
from smsseg.segments import (
    NOT_A_CUSTOMER,
    assign_segments,
    load_catalogue,
    segment_flows,
    transitions,
)

from .frames import features_frame
from .history import AFTER, BEFORE, history_tables, scores_for

CATALOGUE = load_catalogue()


@pytest.fixture(scope="module")
def memberships():
    data = load_frames(history_tables())
    out = {}
    for date in (BEFORE, AFTER):
        features = build_features(data, date, btyd=False)
        out[date] = assign_segments(features, scores_for(features.index), CATALOGUE)
    return out[BEFORE], out[AFTER]


def test_customers_move_between_the_two_dates(memberships):
    before, after = memberships
    # a new subscriber who buys becomes a first-time buyer
    assert before.loc["N", "primary_segment"] == "new_subscriber"
    assert after.loc["N", "primary_segment"] == "first_time_buyer"
    assert not after.loc["N", "is_new_subscriber"]
    # the cart abandoner who ordered is a repeat customer
    assert before.loc["C", "is_cart_abandoner"] and not after.loc["C", "is_cart_abandoner"]
    assert after.loc["C", "primary_segment"] == "repeat_customer"
    # at risk on the trend, then past 120 days of inactivity: dormant (and no longer at risk)
    assert before.loc["D", "primary_segment"] == "at_risk"
    assert after.loc["D", "is_dormant"] and not after.loc["D", "is_at_risk"]
    assert "L" not in before.index and after.loc["L", "primary_segment"] == "general"


def test_transition_table(memberships):
    moves = transitions(*memberships).set_index(["from_segment", "to_segment"])
    assert moves.loc[("new_subscriber", "first_time_buyer"), "customers"] == 1
    assert moves.loc[("cart_abandoner", "repeat_customer"), "customers"] == 1
    assert moves.loc[("at_risk", "dormant"), "customers"] == 1
    assert moves.loc[(NOT_A_CUSTOMER, "general"), "customers"] == 1
    assert moves["customers"].sum() == 4
    assert (moves["share_of_from"] == 1.0).all()


def test_segment_flows(memberships):
    flows = segment_flows(*memberships, CATALOGUE).set_index("key")
    # first-time buyers: C and D before; N and D after
    assert flows.loc["first_time_buyer"].to_dict() == {
        "before": 2,
        "after": 2,
        "entered": 1,
        "left": 1,
        "stayed": 1,
    }
    assert flows.loc["dormant", "entered"] == 1
    assert flows.loc["new_subscriber", "left"] == 1


def test_transition_shares_on_hand_built_frames():
    before = assign_segments(
        features_frame(
            {"customer_id": "a", "frequency": 1},
            {"customer_id": "b", "frequency": 1},
            {"customer_id": "c", "frequency": 1},
        ),
        None,
        CATALOGUE,
    )
    after = assign_segments(
        features_frame(
            {"customer_id": "a", "frequency": 2},
            {"customer_id": "b", "frequency": 1},
            {"customer_id": "c", "frequency": 1},
        ),
        None,
        CATALOGUE,
    )
    moves = transitions(before, after).set_index(["from_segment", "to_segment"])
    assert moves.loc[("first_time_buyer", "repeat_customer"), "share_of_from"] == pytest.approx(
        1 / 3
    )
    assert moves.loc[("first_time_buyer", "first_time_buyer"), "customers"] == 2
