"""The simulator's loyalty ledger, its end-of-period snapshot and its return dates agree.

The ledger is replayed entry by entry with explicit point lots (debits taken from the
soonest-expiring lot first): the balance never goes negative, every expiry takes exactly the
unspent points of the lots due then, and the state at the end is the ``loyalty`` table's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smsseg.data.simulator import generate

END = pd.Timestamp("2025-12-31 23:59:59")
TIER_SPEND = (300.0, 800.0, 2000.0)
TIERS = ("Bronze", "Silver", "Gold", "Platinum")


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "loyalty"
    generate(out, n_customers=3000, seed=5)
    return out


@pytest.fixture(scope="module")
def ledger(shop) -> pd.DataFrame:
    return pd.read_parquet(shop / "loyalty_events.parquet")


@pytest.fixture(scope="module")
def loyalty(shop) -> pd.DataFrame:
    return pd.read_parquet(shop / "loyalty.parquet").set_index("customer_id")


def replay(entries: pd.DataFrame) -> tuple:
    """One member's ledger, in file order: (tier, balance, expiring, expire_at) at the end."""
    lots: list[list] = []  # [expires_at, unspent points]
    balance, tier = 0.0, None
    for row in entries.itertuples(index=False):
        at = row.occurred_at
        if row.kind == "earn":
            lots.append([row.expires_at, row.points])
        elif row.kind == "redeem":
            need = -row.points
            for lot in sorted(lots, key=lambda lot: lot[0]):
                take = min(lot[1], need) if lot[0] > at else 0.0
                lot[1] -= take
                need -= take
            assert need == 0, f"{row.customer_id} redeems points it lacks at {at}"
        elif row.kind == "expire":
            assert not [lot for lot in lots if lot[0] < at and lot[1] > 0], "late expiry"
            due = sum(lot[1] for lot in lots if lot[0] == at)
            assert due == -row.points, (
                f"{row.customer_id} at {at}: {due} due, {-row.points} expired"
            )
            for lot in lots:
                lot[1] = 0.0 if lot[0] == at else lot[1]
        elif row.kind == "tier_change":
            tier = row.tier
        if row.kind != "tier_change":
            balance += row.points
        assert balance >= 0, f"{row.customer_id} goes negative at {at}"
    unspent = sorted((lot for lot in lots if lot[1] > 0), key=lambda lot: lot[0])
    assert not [lot for lot in unspent if lot[0] <= END], "points past their expiry at the end"
    if not unspent:
        return tier, balance, 0.0, pd.NaT
    first = unspent[0][0]
    return tier, balance, sum(lot[1] for lot in unspent if lot[0] == first), first


def test_replayed_ledger_ends_in_the_snapshot(ledger, loyalty):
    state = pd.DataFrame(
        {cid: replay(rows) for cid, rows in ledger.groupby("customer_id", sort=False)},
        index=["tier", "points_balance", "points_expiring", "points_expire_at"],
    ).T.reindex(loyalty.index)
    for column in state:
        pd.testing.assert_series_equal(
            state[column], loyalty[column], check_dtype=False, check_names=False, obj=column
        )
    assert (loyalty["snapshot_at"] == END).all()


def test_the_ledger_has_every_kind_of_entry(ledger, loyalty):
    counts = ledger["kind"].value_counts()
    assert {"earn", "redeem", "expire", "tier_change"} <= set(counts.index)
    assert counts["earn"] > counts["redeem"] > counts["expire"] > 0
    # every member starts with a tier (Bronze at enrolment), so the ledger knows them all
    first = ledger.groupby("customer_id")[["kind", "tier"]].first()
    assert set(first.index) == set(loyalty.index)
    assert (first["kind"] == "tier_change").all() and (first["tier"] == "Bronze").all()
    assert (
        loyalty["enrolled_at"].dt.floor("s") == ledger.groupby("customer_id")["occurred_at"].min()
    ).all()


def test_the_tier_follows_the_365_day_spend(shop, loyalty):
    orders = pd.read_parquet(shop / "orders.parquet")
    orders = orders.merge(loyalty["enrolled_at"].reset_index(), on="customer_id")
    counted = (
        (orders["status"] == "completed")
        & (orders["ordered_at"] >= orders["enrolled_at"].dt.floor("s"))
        & (orders["ordered_at"] > END + pd.Timedelta(seconds=1) - pd.Timedelta(days=365))
    )
    spend = orders[counted].groupby("customer_id")["amount"].sum().reindex(loyalty.index)
    expected = np.array(TIERS)[np.searchsorted(TIER_SPEND, spend.fillna(0).round(2), "right")]
    assert (loyalty["tier"].to_numpy() == expected).all()
    assert loyalty["tier"].nunique() == 4


def test_returned_orders_carry_their_return_date(shop):
    orders = pd.read_parquet(shop / "orders.parquet")
    returned = orders["status"] == "returned"
    assert orders["returned_at"].notna().eq(returned).all()
    days = (orders["returned_at"] - orders["ordered_at"])[returned].dt.total_seconds() / 86_400
    assert (days >= 0).all() and 4 < days.mean() < 14
    assert orders["returned_at"].max() <= END
