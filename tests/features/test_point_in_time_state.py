"""State as of the cut-off, on data small enough to check by hand: loyalty and order returns.

Loyalty: the ledger is read up to the cut-off (balance, latest tier, points expiring with debits
taken from the soonest-expiring points first); without a ledger entry by then, the snapshot
columns count only from their ``snapshot_at`` (else the data's latest timestamp). Returns: an
order returned after the cut-off was a completed order at the cut-off, in every feature and in
the churn label.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from smsseg.data import load_frames
from smsseg.features import build_features, churn_label

NA = None
LOYALTY = ["loyalty_tier", "points_balance", "points_expiring_30d", "days_to_points_expiry"]


def frame(columns: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split())


def customers(*ids: str) -> pd.DataFrame:
    return frame("customer_id created_at", [(c, "2024-01-01") for c in ids])


def orders(rows: list[tuple]) -> pd.DataFrame:
    return frame("order_id customer_id ordered_at amount status returned_at", rows)


def ledger(rows: list[tuple]) -> pd.DataFrame:
    return frame("customer_id occurred_at kind points tier expires_at", rows)


def features(tables: dict, as_of: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BTYD on a few customers warns
        return build_features(load_frames(tables), as_of, categories=["shoes", "bags"], btyd=False)


def value(table: pd.DataFrame, customer: str, column: str):
    cell = table.loc[customer, column]
    return None if pd.isna(cell) else cell


# --------------------------------------------------------------------------- the ledger

AS_OF = "2025-06-01"
LEDGER_TABLES = {
    "customers": customers("M", "P", "Q"),
    "orders": orders([("o1", "M", "2024-02-01", 10.0, "completed", None)]),
    "loyalty_events": ledger(
        [
            # M: two lots of 100; the redemption of 150 empties the one expiring first
            ("M", "2024-03-01", "tier_change", None, "Bronze", None),
            ("M", "2025-01-01", "earn", 100.0, None, "2025-06-11"),
            ("M", "2025-02-01", "earn", 100.0, None, "2025-09-09"),
            ("M", "2025-03-01", "redeem", -150.0, None, None),
            ("M", "2025-04-01", "tier_change", None, "Gold", None),
            ("M", "2025-06-10", "redeem", -50.0, None, None),  # after the cut-off
            # P: 100 points past their expiry, with no expire entry yet; 30 expiring in 20 days
            ("P", "2024-01-05", "earn", 100.0, None, "2025-05-27"),
            ("P", "2024-09-01", "earn", 30.0, None, "2025-06-21"),
            ("P", "2024-09-01", "adjust", -10.0, None, None),
        ]
    ),
    "loyalty": frame(
        "customer_id enrolled_at tier points_balance",
        [("M", "2024-03-01", "Silver", 1.0), ("Q", "2024-05-01", "Gold", 999.0)],
    ),
}

LEDGER_CASES = [
    ("M", "points_balance", 50.0),  # 100 + 100 - 150
    ("M", "loyalty_tier", "Gold"),
    ("M", "points_expiring_30d", 0.0),  # the lot of 2025-06-11 was redeemed first
    ("M", "days_to_points_expiry", 100.0),  # 50 left of the lot of 2025-09-09
    ("P", "points_balance", 120.0),  # 100 + 30 - 10: no expire entry, so still in the balance
    ("P", "points_expiring_30d", 30.0),  # the -10 came out of the past-due lot first
    ("P", "days_to_points_expiry", 20.0),
    ("P", "loyalty_tier", NA),  # no tier_change
    ("P", "loyalty_member", True),  # a ledger entry makes a member without a loyalty row
    ("Q", "loyalty_member", True),  # enrolled, no ledger entry: 0 points, tier unknown
    ("Q", "points_balance", 0.0),
    ("Q", "points_expiring_30d", 0.0),
    ("Q", "loyalty_tier", NA),  # the ledger is the record: the snapshot's Gold is not read
]


@pytest.fixture(scope="module")
def ledger_features() -> pd.DataFrame:
    return features(LEDGER_TABLES, AS_OF)


@pytest.mark.parametrize(
    ("customer", "column", "expected"), LEDGER_CASES, ids=[f"{c}-{f}" for c, f, _ in LEDGER_CASES]
)
def test_ledger_state_at_the_cut_off(ledger_features, customer, column, expected):
    assert value(ledger_features, customer, column) == expected


def test_past_due_points_are_not_expiring_but_stay_in_the_balance():
    # P's 100 points expired on 2025-05-27 by the programme's rule, but the ledger has no
    # expire entry: they stay in the balance and are not "expiring within 30 days"
    tables = {**LEDGER_TABLES}
    tables["loyalty_events"] = LEDGER_TABLES["loyalty_events"].iloc[:-1]  # without the -10
    got = features(tables, AS_OF)
    assert value(got, "P", "points_balance") == 130.0
    assert value(got, "P", "points_expiring_30d") == 30.0


def test_expiring_points_count_only_within_the_window(ledger_features):
    later = features(LEDGER_TABLES, "2025-08-15")  # M's lot of 2025-09-09 is 25 days ahead
    assert value(later, "M", "points_expiring_30d") == 0.0  # all of it redeemed on 2025-06-10
    assert value(later, "M", "points_balance") == 0.0
    assert value(later, "M", "days_to_points_expiry") is None


# ----------------------------------------------------- snapshot columns without a ledger

SNAPSHOT_TABLES = {
    "customers": customers("A", "B", "C"),
    "orders": orders(
        [
            ("o1", "A", "2024-02-01", 10.0, "completed", None),
            ("o2", "C", "2025-09-30 18:00", 20.0, "completed", None),  # the latest timestamp
        ]
    ),
    "loyalty": frame(
        "customer_id enrolled_at tier points_balance points_expiring points_expire_at",
        [
            ("A", "2024-02-01", "Gold", 500.0, 100.0, "2025-10-15"),
            ("B", "2024-03-01", "Silver", 40.0, 0.0, None),
        ],
    ),
}


@pytest.mark.parametrize(
    ("as_of", "known"),
    [("2025-09-30 17:59:59", False), ("2025-09-30 18:00", True), ("2025-10-01", True)],
    ids=["before-export", "at-export", "after-export"],
)
def test_without_snapshot_at_the_export_time_is_the_latest_timestamp(as_of, known):
    got = features(SNAPSHOT_TABLES, as_of)
    assert got["loyalty_member"].loc[["A", "B"]].all()
    if known:
        assert value(got, "A", "points_balance") == 500.0
        assert value(got, "A", "loyalty_tier") == "Gold"
        assert value(got, "B", "points_expiring_30d") == 0.0
    else:
        assert got[LOYALTY].isna().all().all()


def test_snapshot_at_dates_each_row():
    tables = {**SNAPSHOT_TABLES}
    tables["loyalty"] = SNAPSHOT_TABLES["loyalty"].assign(snapshot_at=["2025-01-01", "2025-06-01"])
    got = features(tables, "2025-03-01")
    assert value(got, "A", "points_balance") == 500.0
    assert value(got, "A", "days_to_points_expiry") == 228.0  # to 2025-10-15
    assert value(got, "A", "points_expiring_30d") == 0.0
    assert got.loc["B", LOYALTY].isna().all()  # its snapshot is later than the cut-off


def test_the_ledger_takes_over_from_its_first_entry():
    tables = {**SNAPSHOT_TABLES}
    tables["loyalty"] = SNAPSHOT_TABLES["loyalty"].assign(snapshot_at="2025-01-01")
    tables["loyalty_events"] = ledger([("B", "2025-05-01", "earn", 7.0, None, None)])
    before = features(tables, "2025-04-01")  # no ledger entry yet: the (valid) snapshot
    assert value(before, "A", "points_balance") == 500.0
    after = features(tables, "2025-05-02")  # the ledger is the record of every member now
    assert value(after, "A", "points_balance") == 0.0
    assert value(after, "A", "loyalty_tier") is None
    assert value(after, "B", "points_balance") == 7.0


# --------------------------------------------------------------------------- returns

RETURN_TABLES = {
    "customers": customers("R", "S"),
    "orders": orders(
        [
            ("o1", "R", "2025-01-10", 40.0, "completed", None),
            ("o2", "R", "2025-03-01", 60.0, "returned", "2025-03-20"),
            ("o3", "S", "2025-01-10", 30.0, "completed", None),
            ("o4", "S", "2025-03-01", 70.0, "returned", None),  # returned, date unknown
        ]
    ),
    "order_items": frame(
        "order_id product_id category quantity unit_price",
        [
            ("o1", "p1", "shoes", 1, 40.0),
            ("o2", "p2", "bags", 1, 60.0),
            ("o3", "p1", "shoes", 1, 30.0),
            ("o4", "p2", "bags", 1, 70.0),
        ],
    ),
}


@pytest.mark.parametrize(
    ("as_of", "frequency", "monetary", "returned", "bags"),
    [("2025-03-10", 2, 100.0, 0.0, 0.6), ("2025-03-20", 1, 40.0, 0.5, 0.0)],
    ids=["before-the-return", "at-the-return"],
)
def test_an_order_returned_later_was_completed_until_then(
    as_of, frequency, monetary, returned, bags
):
    got = features(RETURN_TABLES, as_of)
    assert value(got, "R", "frequency") == frequency
    assert value(got, "R", "monetary_total") == monetary
    assert value(got, "R", "return_share") == returned
    assert value(got, "R", "recency_days") == (9.0 if frequency == 2 else 69.0)
    assert value(got, "R", "cat_spend_share__bags") == pytest.approx(bags)


def test_without_returned_at_a_returned_order_is_returned_at_any_cut_off():
    got = features(RETURN_TABLES, "2025-03-10")
    assert value(got, "S", "frequency") == 1 and value(got, "S", "return_share") == 0.5


@pytest.mark.parametrize(
    ("returned_at", "churn"),
    [("2025-04-15", 0), ("2025-03-05", 1), (None, 1)],
    ids=["returned-after-the-window", "returned-in-the-window", "returned-when-unknown"],
)
def test_the_churn_label_counts_an_order_kept_through_its_window(returned_at, churn):
    tables = {
        "customers": customers("R"),
        "orders": orders([("o1", "R", "2025-03-01", 60.0, "returned", returned_at)]),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        label = churn_label(load_frames(tables), "2025-02-01", horizon_days=60)  # to 04-02
    assert label.loc["R"] == churn
