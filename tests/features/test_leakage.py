"""No leakage: features on the full data equal, cell for cell, features on the data cut at as_of.

Truncation (tests/features/histories.py::truncate) drops every row dated after the cut-off in
every table (the loyalty ledger too) and undoes later facts about the rows it keeps (a return
after the cut-off, a later restock). Snapshot columns without history (loyalty tier and points,
``in_stock``) keep their values, dated by the export time of the full data, so a feature that
read them before that time would differ. The converse is tested too: appending future returns
and ledger entries to the data changes no feature as of an earlier cut-off.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from smsseg.data import load_frames
from smsseg.features import build_features, churn_label
from tests.features.hand import AS_OF, hand_tables
from tests.features.histories import histories, random_tables, truncate


def features(tables, as_of, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # degenerate BTYD fits on tiny data warn; not the point here
        return build_features(load_frames(tables, validate=False), as_of, **kwargs)


def assert_same(full: pd.DataFrame, cut: pd.DataFrame) -> None:
    # rtol only absorbs float summation order (DuckDB aggregates in parallel); any leaked
    # row changes a count, a share or a timestamp by far more.
    pd.testing.assert_frame_equal(full, cut, check_exact=False, rtol=1e-9, atol=1e-12)
    assert full.attrs["categories"] == cut.attrs["categories"]


@pytest.fixture(scope="module")
def rich_tables():
    return random_tables(seed=7, n_customers=80)


@pytest.mark.parametrize(
    "as_of",
    ["2024-03-01", "2024-09-15 13:30", "2025-01-01", "2025-05-14"],
    ids=lambda d: f"as_of={d}",
)
def test_full_equals_truncated_on_a_random_dataset(rich_tables, as_of):
    full = features(rich_tables, as_of, top_k=3, btyd=False)
    cut = features(truncate(rich_tables, as_of), as_of, top_k=3, btyd=False)
    assert full["frequency"].sum() > 0 or as_of == "2024-03-01"
    assert_same(full, cut)


@pytest.mark.parametrize(
    "as_of",
    ["2025-01-01", "2025-06-01 10:00", "2025-07-01", "2025-07-15"],
    ids=lambda d: f"as_of={d}",
)
def test_full_equals_truncated_on_the_hand_built_dataset(as_of):
    tables = hand_tables()
    full = features(tables, as_of, top_k=2, btyd=False)
    assert_same(full, features(truncate(tables, as_of), as_of, top_k=2, btyd=False))


def test_btyd_columns_are_fitted_on_as_of_history(rich_tables):
    as_of = "2025-02-01"
    full = features(rich_tables, as_of)
    assert full["btyd_p_alive"].notna().all()
    assert_same(full, features(truncate(rich_tables, as_of), as_of))


def test_truncation_is_not_a_no_op(rich_tables):
    """Guard: the test data really holds rows after the cut-offs, so the tests above can fail."""
    cut = truncate(rich_tables, "2025-01-01")
    for name in ("orders", "events", "sms", "order_items", "loyalty_events"):
        assert len(cut[name]) < len(rich_tables[name]), name
    # orders returned after the cut-off are completed in the copy, and the ledger counts
    kept = rich_tables["orders"].set_index("order_id").loc[cut["orders"]["order_id"]]
    undone = (kept["status"] == "returned").to_numpy() & (cut["orders"]["status"] == "completed")
    assert undone.sum() > 0
    full = features(rich_tables, "2025-01-01", top_k=3, btyd=False)
    assert full["points_balance"].notna().sum() > 10


@pytest.mark.parametrize("cutoff", ["2024-06-01", "2024-11-20 08:00", "2025-02-01"])
def test_churn_label_reads_nothing_after_its_window(rich_tables, cutoff):
    """A return after the window does not undo a purchase in it: the label is the same on the
    data cut at the window's end."""
    end = pd.Timestamp(cutoff) + pd.Timedelta(days=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = churn_label(load_frames(rich_tables, validate=False), cutoff, 60)
        cut = churn_label(load_frames(truncate(rich_tables, end), validate=False), cutoff, 60)
    pd.testing.assert_series_equal(full, cut)
    assert 0 < full.mean() < 1


def test_future_returns_and_ledger_entries_change_nothing():
    tables = hand_tables()
    before = features(tables, AS_OF, top_k=2, btyd=False)
    later = pd.Timestamp(AS_OF) + pd.Timedelta(hours=1)
    orders = tables["orders"].copy()
    placed = pd.to_datetime(orders["ordered_at"]) <= pd.Timestamp(AS_OF)
    orders.loc[placed & (orders["status"] == "completed"), ["status", "returned_at"]] = [
        "returned",
        str(later),
    ]
    tables["orders"] = orders
    future = pd.DataFrame(
        [
            (c, str(later), kind, points, tier, expires)
            for c in tables["customers"]["customer_id"]
            for kind, points, tier, expires in (
                ("earn", 500.0, None, "2025-07-15"),
                ("redeem", -20.0, None, None),
                ("tier_change", None, "Platinum", None),
            )
        ],
        columns=tables["loyalty_events"].columns,
    )
    tables["loyalty_events"] = pd.concat([tables["loyalty_events"], future], ignore_index=True)
    after = features(tables, AS_OF, top_k=2, btyd=False)
    assert_same(before, after)
    assert features(tables, later, top_k=2, btyd=False)["frequency"].sum() == 0  # guard


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_no_leakage_on_random_histories(history):
    tables, as_of = history
    full = features(tables, as_of, top_k=3, btyd=False)
    assert_same(full, features(truncate(tables, as_of), as_of, top_k=3, btyd=False))
