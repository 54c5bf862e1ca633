"""Churn and discount-response labels, training snapshots and the label-window rule."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from smsseg.data import load_frames
from smsseg.errors import SmssegError
from smsseg.features import (
    build_features,
    check_label_window,
    churn_label,
    discount_label,
    label_window_end,
    snapshot_cutoffs,
    training_snapshots,
)
from tests.features.hand import AS_OF, hand_tables, orders_only_tables

# After the cut-off: A orders o5 on 2025-08-01 (no discount), B orders o10 on 2025-07-20 (5 off),
# C and E never order again; D signs up after the cut-off and is not labelled.


@pytest.fixture(scope="module")
def data():
    return load_frames(hand_tables())


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        (90, {"A": 0, "B": 0, "C": 1, "E": 1}),
        (25, {"A": 1, "B": 0, "C": 1, "E": 1}),
        (10, {"A": 1, "B": 1, "C": 1, "E": 1}),
    ],
    ids=["90d", "25d", "10d"],
)
def test_churn_label(data, horizon, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        label = churn_label(data, AS_OF, horizon)
    assert label.name == "churn" and label.to_dict() == expected


def test_discount_label(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        label = discount_label(data, AS_OF, 90)
    assert label.name == "discount_response"
    assert str(label.dtype) == "Int8" and list(label.index) == ["A", "B", "C", "E"]
    assert label.tolist() == [0, 1, pd.NA, pd.NA]  # C and E do not order again: unobserved


def test_discount_label_ties_are_broken_by_order_id():
    tables = orders_only_tables()
    extra = pd.DataFrame(
        {
            "order_id": ["z2", "z1"],
            "customer_id": ["C", "C"],
            "ordered_at": ["2025-07-05", "2025-07-05"],
            "amount": [10.0, 10.0],
            "discount_amount": [0.0, 3.0],
            "promo_code": [None, None],
            "status": ["completed", "completed"],
        }
    )
    tables["orders"] = pd.concat([tables["orders"], extra], ignore_index=True)
    label = discount_label(load_frames(tables), AS_OF, 30)
    assert label["C"] == 1  # z1 sorts before z2


def test_discount_label_needs_discount_columns():
    with pytest.raises(SmssegError, match="needs orders.discount_amount or orders.promo_code"):
        discount_label(load_frames(orders_only_tables(minimal=True)), AS_OF, 30)


def test_censored_label_window_warns(data):
    with pytest.warns(UserWarning, match="ends after the last order in the data"):
        churn_label(data, AS_OF, 90)  # the last order is on 2025-08-02
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        churn_label(data, "2025-06-01", 30)


def test_snapshot_cutoffs_end_their_label_windows_by_as_of():
    cutoffs = snapshot_cutoffs("2025-07-01", 30, 3, 30)
    assert cutoffs == [
        pd.Timestamp("2025-04-02"),
        pd.Timestamp("2025-05-02"),
        pd.Timestamp("2025-06-01"),
    ]
    assert label_window_end(cutoffs[-1], 30) == pd.Timestamp("2025-07-01")


def test_training_snapshots(data):
    snaps = training_snapshots(
        data, AS_OF, horizon_days=30, n_snapshots=3, spacing_days=30, top_k=2, btyd=False
    )
    assert snaps["snapshot"].value_counts().to_dict() == {
        pd.Timestamp("2025-04-02"): 3,
        pd.Timestamp("2025-05-02"): 3,
        pd.Timestamp("2025-06-01"): 3,
    }  # A, C and E exist at every cut-off; B signs up on 2025-06-20
    by = snaps.reset_index().set_index(["snapshot", "customer_id"])
    assert by.loc[(pd.Timestamp("2025-06-01"), "A"), "churn"] == 0  # o3 on 2025-06-01 10:00
    assert by.loc[(pd.Timestamp("2025-05-02"), "A"), "churn"] == 1
    assert by.loc[(pd.Timestamp("2025-06-01"), "A"), "discount_response"] == 0
    assert pd.isna(by.loc[(pd.Timestamp("2025-06-01"), "C"), "discount_response"])
    # category columns are chosen as of the earliest cut-off (bags 160 > shoes 100 on 2025-04-02)
    assert snaps.attrs["categories"] == ["bags", "shoes"]
    direct = build_features(
        data, "2025-05-02", horizon_days=30, categories=["bags", "shoes"], btyd=False
    )
    stacked = snaps[snaps["snapshot"] == pd.Timestamp("2025-05-02")][direct.columns]
    pd.testing.assert_frame_equal(stacked, direct)
    assert list(snaps.columns[-3:]) == ["snapshot", "churn", "discount_response"]


def test_snapshots_without_discount_columns_have_na_discount_response():
    data = load_frames(orders_only_tables(minimal=True))
    snaps = training_snapshots(data, AS_OF, horizon_days=30, n_snapshots=1, btyd=False)
    assert snaps["discount_response"].isna().all() and snaps["churn"].notna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cutoffs": ["2025-06-15"]}, "label window ending 2025-07-15 00:00:00, after as_of"),
        ({"n_snapshots": 0}, "n_snapshots=0 must be >= 1"),
        ({"spacing_days": -1}, "spacing_days=-1 must be >= 1"),
        ({"horizon_days": 0}, "horizon_days=0 must be >= 1"),
        ({"n_snapshots": 30, "spacing_days": 30}, "before the first customer was created"),
        ({"cutoffs": []}, "at least one cut-off"),
    ],
    ids=[
        "window-past-as-of",
        "no-snapshots",
        "negative-spacing",
        "horizon-0",
        "before-first-customer",
        "empty-cutoffs",
    ],
)
def test_snapshot_errors(data, kwargs, message):
    args = {"horizon_days": 30, **kwargs}
    with pytest.raises(SmssegError, match=message):
        training_snapshots(data, AS_OF, btyd=False, **args)


def test_check_label_window():
    assert check_label_window("2025-06-01", 30, "2025-07-01") == pd.Timestamp("2025-07-01")
    with pytest.raises(SmssegError, match=r"cutoff='2025-06-02 00:00:00' with horizon_days=30"):
        check_label_window("2025-06-02", 30, "2025-07-01")
