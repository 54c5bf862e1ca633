"""Seasonal shift of the churn calibration: last year's change into the coming window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smsseg.data.load import load
from smsseg.models.season import (
    buyers_churn_rate,
    choose_seasonal_shift,
    seasonal_shift,
    shifted,
)

H = 91
AS_OF = pd.Timestamp("2024-09-30")  # the coming window holds the fourth quarter


def _seasonal_shop(path, customers: int = 1500, seed: int = 0, until="2024-12-31"):
    """A mature shop whose customers buy 3x as often in October-December as in the rest."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2022-01-01", until, freq="D")
    busy = np.where(days.month >= 10, 3.0, 1.0)
    rate = rng.gamma(1.0, 1 / 200, size=customers)  # orders per ordinary day
    counts = rng.poisson(np.outer(rate, busy))
    who, when = np.nonzero(counts)
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(who))],
            "customer_id": [f"C{c:05d}" for c in who],
            "ordered_at": (days[when] + pd.Timedelta(hours=12)).as_unit("us"),
            "amount": 20.0,
            "status": "completed",
        }
    )
    ids = [f"C{c:05d}" for c in range(customers)]
    pd.DataFrame(
        {"customer_id": ids, "created_at": pd.Timestamp("2022-01-01").as_unit("us")}
    ).to_parquet(path / "customers.parquet", index=False)
    orders.to_parquet(path / "orders.parquet", index=False)
    return orders


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("seasonal")
    orders = _seasonal_shop(path)
    return load(path), orders


def _rate_by_hand(orders: pd.DataFrame, cutoff: pd.Timestamp) -> float:
    buyers = set(orders.loc[orders["ordered_at"] <= cutoff, "customer_id"])
    window = orders[
        (orders["ordered_at"] > cutoff) & (orders["ordered_at"] <= cutoff + pd.Timedelta(days=H))
    ]
    return 1 - len(buyers & set(window["customer_id"])) / len(buyers)


def test_buyers_churn_rate_matches_a_count_by_hand(shop):
    data, orders = shop
    for cutoff in ("2023-03-31", "2023-09-30"):
        stamp = pd.Timestamp(cutoff)
        assert buyers_churn_rate(data, stamp, H) == pytest.approx(_rate_by_hand(orders, stamp))


def test_the_shift_is_last_years_change_into_the_busy_quarter_and_uses_no_future(shop, tmp_path):
    data, orders = shop
    first = orders["ordered_at"].min()
    calibrated_on = AS_OF - pd.Timedelta(days=H)
    shift = seasonal_shift(data, calibrated_on, H, first)
    year = pd.Timedelta(days=365)
    q3 = _rate_by_hand(orders, calibrated_on - year)
    q4 = _rate_by_hand(orders, AS_OF - year)
    expected = np.log(q4 / (1 - q4)) - np.log(q3 / (1 - q3))
    assert shift == pytest.approx(expected) and shift < -0.3  # busier: less churn
    # nothing after the deployment date moves it: the same shop plus orders after AS_OF
    later = orders[orders["ordered_at"] > AS_OF].assign(order_id=lambda f: f["order_id"] + "-x")
    (tmp_path / "more").mkdir()
    pd.read_parquet(data.root / "customers.parquet").to_parquet(
        tmp_path / "more" / "customers.parquet"
    )
    pd.concat([orders, later]).to_parquet(tmp_path / "more" / "orders.parquet", index=False)
    assert seasonal_shift(load(tmp_path / "more"), calibrated_on, H, first) == pytest.approx(shift)
    # too little history: no shift
    assert seasonal_shift(data, pd.Timestamp("2022-09-30"), H, first) is None


def test_applying_the_shift_brings_the_busy_quarter_to_its_realized_rate(shop):
    data, orders = shop
    first = orders["ordered_at"].min()
    calibrated_on = AS_OF - pd.Timedelta(days=H)  # the calibrator saw July-September
    p_q3 = buyers_churn_rate(data, calibrated_on, H)
    realized = buyers_churn_rate(data, AS_OF, H)
    moved = shifted(
        np.array([p_q3]), seasonal_shift(data, calibrated_on, H, first), np.array([True])
    )
    assert abs(moved[0] - realized) < 0.3 * abs(p_q3 - realized)


def test_the_shift_is_deployed_only_when_the_test_confirms_it(shop):
    data, orders = shop
    first = orders["ordered_at"].min()
    as_of = pd.Timestamp("2024-12-30")  # the test window is 2024's fourth quarter
    test_cut = as_of - pd.Timedelta(days=H)
    q3 = buyers_churn_rate(data, test_cut - pd.Timedelta(days=H), H)  # what the calibrator saw
    q4 = buyers_churn_rate(data, test_cut, H)
    rng = np.random.default_rng(1)
    n = 20_000
    probs = np.full(n, q3)

    def rows(rate):
        return pd.DataFrame({"population": "buyers", "churn": (rng.uniform(size=n) < rate)})

    # the season came again: last year's change into the quarter helps on the test
    shift, why = choose_seasonal_shift(data, as_of, H, rows(q4), probs, "out_of_time", first)
    assert shift == pytest.approx(seasonal_shift(data, test_cut, H, first)) and shift != 0.0
    assert "lowered the Brier score" in why
    # this year the quarter was like the one before: the shift would hurt, so none
    shift, why = choose_seasonal_shift(data, as_of, H, rows(q3), probs, "out_of_time", first)
    assert shift == 0.0 and "did not lower" in why
    # no strict out-of-time test, or too little history: none
    assert (
        choose_seasonal_shift(data, as_of, H, rows(q4), probs, "customer_disjoint", first)[0] == 0.0
    )
    short = choose_seasonal_shift(
        data, pd.Timestamp("2023-06-30"), H, rows(q4), probs, "out_of_time", first
    )
    assert short[0] == 0.0 and "history shorter" in short[1]
