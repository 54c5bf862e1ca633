"""Snapshot-only columns never reach a feature dated before the snapshot; the ledger does.

The loyalty tier, balance and expiring points and ``products.in_stock`` describe the export time
(``snapshot_at``, else the directory's latest timestamp). A copy of a simulated shop with every
one of them replaced by random values must give the same features, cell for cell, at any cut-off
before that time, with the points ledger or without it. With the ledger the loyalty features are
still there, read from the ledger, and the churn model uses them; without it they are NA in every
back-dated training snapshot, so the model is trained without them and scoring later, when they
are known, still works.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smsseg.data import load
from smsseg.data.contract import TABLES, export_time_sql
from smsseg.features import build_features
from smsseg.models.scoring import build_scoring_features, predict_scores
from smsseg.models.train import train_models
from tests.models.conftest import SETTINGS as MODEL_TEST_SETTINGS

SNAPSHOT_AT = pd.Timestamp("2025-12-31 23:59:59")  # the simulator's export time (its last second)
#: cut-offs before the snapshot time; "last second" is the second before it
BEFORE = ["2024-06-01", "2025-03-15 12:00", "2025-12-31", "last second"]
LOYALTY = [
    "loyalty_tier",
    "points_balance",
    "points_expiring_30d",
    "days_to_points_expiry",
]
SETTINGS = MODEL_TEST_SETTINGS  # the models tests' fast training settings, shared


def features(path: Path, as_of) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_features(quiet_load(path), as_of, top_k=4, btyd=False)


def snapshot_time(path: Path) -> pd.Timestamp:
    """The loyalty snapshot's time: its snapshot_at, else the latest timestamp of the data."""
    data = quiet_load(path)
    if data.has_column("loyalty", "snapshot_at"):
        return pd.Timestamp(data.con.execute("SELECT MIN(snapshot_at) FROM loyalty").fetchone()[0])
    return pd.Timestamp(data.con.execute(f"SELECT {export_time_sql()}").fetchone()[0])


def quiet_load(path: Path):
    logging.disable(logging.WARNING)  # the simulator plants malformed phones: warnings
    try:
        return load(path)
    finally:
        logging.disable(logging.NOTSET)


def randomised(source: Path, target: Path, seed: int) -> Path:
    """A copy of ``source`` whose snapshot-only columns hold random values of their type."""
    rng = np.random.default_rng(seed)
    shutil.copytree(source, target)
    for spec in TABLES.values():
        path = target / f"{spec.name}.parquet"
        if not spec.snapshot_columns or not path.exists():
            continue
        table = pq.read_table(path)
        for name in spec.snapshot_columns:
            if name not in table.column_names:
                continue
            column = spec.column(name)
            n = table.num_rows
            if column.kind == "bool":
                values = pa.array(rng.random(n) < 0.5)
            elif column.kind == "float":
                values = pa.array(np.round(rng.uniform(0, 5000, n)))
            elif column.kind == "timestamp":  # expiry dates may lie in the future
                offsets = rng.integers(0, 3 * 365 * 86_400, n) * 1_000_000
                values = pa.array(pd.Timestamp("2024-01-01").value // 1000 + offsets, pa.int64())
                values = values.cast(pa.timestamp("us"))
            else:
                values = pa.array(rng.choice(["Bronze", "Silver", "Tin", "Diamond"], n))
            table = table.set_column(table.column_names.index(name), name, values)
        pq.write_table(table, path)
    return target


def without(source: Path, target: Path, table: str, columns: tuple[str, ...] = ()) -> Path:
    """A copy of ``source`` without ``table`` (no ``columns``: the whole file) or its ``columns``."""
    shutil.copytree(source, target)
    path = target / f"{table}.parquet"
    if columns:
        pq.write_table(pq.read_table(path).drop_columns(list(columns)), path)
    else:
        path.unlink()
    return target


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    from smsseg.data.simulator import generate

    out = tmp_path_factory.mktemp("snapshot") / "shop"
    generate(out, n_customers=1200, seed=11)
    return out


@pytest.fixture(scope="module")
def no_ledger(shop, tmp_path_factory) -> Path:
    """The shop without its ledger, and with its export time left implicit (no snapshot_at)."""
    base = tmp_path_factory.mktemp("snapshot")
    step = without(shop, base / "a", "loyalty_events")
    step = without(step, base / "b", "loyalty", ("snapshot_at",))
    return without(step, base / "c", "products", ("snapshot_at",))


def test_the_export_time_is_the_latest_timestamp(shop, no_ledger):
    data = quiet_load(no_ledger)
    latest = max(
        data.con.execute(f"SELECT MAX({c}) FROM {t}").fetchone()[0]
        for t, c in (("orders", "ordered_at"), ("events", "occurred_at"), ("sms", "occurred_at"))
    )
    # no row of the simulator is later than its last second, and some row is near it
    assert SNAPSHOT_AT - pd.Timedelta(hours=6) < pd.Timestamp(latest) <= SNAPSHOT_AT
    assert snapshot_time(no_ledger) == latest and snapshot_time(shop) == SNAPSHOT_AT
    at_export = features(no_ledger, latest)
    assert at_export["points_balance"].notna().sum() == at_export["loyalty_member"].sum() > 50
    before = features(no_ledger, pd.Timestamp(latest) - pd.Timedelta(seconds=1))
    assert before[LOYALTY].isna().all().all()


@pytest.mark.parametrize("ledger", [True, False], ids=["with-ledger", "snapshot-only"])
@pytest.mark.parametrize("as_of", BEFORE, ids=lambda d: f"as_of={d}")
def test_random_snapshot_values_change_no_feature_before_the_snapshot(
    shop, no_ledger, tmp_path, ledger, as_of
):
    source = shop if ledger else no_ledger
    if as_of == "last second":
        as_of = snapshot_time(source) - pd.Timedelta(seconds=1)
    copy = randomised(source, tmp_path / "random", seed=len(str(as_of)))
    original, noisy = features(source, as_of), features(copy, as_of)
    pd.testing.assert_frame_equal(original, noisy, check_exact=False, rtol=1e-12)
    members = original["loyalty_member"].to_numpy(dtype=bool)
    if ledger and str(as_of) != "2024-06-01":  # the ledger gives the state of every member
        assert members.sum() > 50
        assert original.loc[members, ["points_balance", "points_expiring_30d"]].notna().all().all()
        assert original.loc[members, "loyalty_tier"].notna().all()
        assert original["points_balance"].nunique() > 20
    if not ledger:
        assert original[LOYALTY].isna().all().all()


def test_random_snapshot_values_do_show_at_the_snapshot_time(no_ledger, tmp_path):
    """Guard: the randomisation reaches the features once the snapshot is valid."""
    copy = randomised(no_ledger, tmp_path / "random", seed=1)
    original, noisy = features(no_ledger, "2026-01-01"), features(copy, "2026-01-01")
    members = original["loyalty_member"].to_numpy(dtype=bool)
    assert (
        original.loc[members, "points_balance"] != noisy.loc[members, "points_balance"]
    ).mean() > 0.9


def test_with_the_ledger_the_snapshot_is_not_read_at_all(shop, tmp_path):
    copy = randomised(shop, tmp_path / "random", seed=2)
    pd.testing.assert_frame_equal(features(shop, "2026-01-01"), features(copy, "2026-01-01"))


def test_ledger_state_at_the_end_equals_the_snapshot(shop, tmp_path):
    """The simulator writes both; read as of the snapshot time they tell the same."""
    snapshot_only = without(shop, tmp_path / "snap", "loyalty_events")
    ledger, snapshot = features(shop, SNAPSHOT_AT), features(snapshot_only, SNAPSHOT_AT)
    columns = ["loyalty_member", *LOYALTY, "days_since_enrolled"]
    pd.testing.assert_frame_equal(ledger[columns], snapshot[columns])
    assert (
        ledger["points_expiring_30d"].gt(0).any() or ledger["days_to_points_expiry"].notna().any()
    )


def test_ledger_entries_move_the_loyalty_features(shop, tmp_path):
    as_of = pd.Timestamp("2025-09-01")
    base = features(shop, as_of)
    members = base.index[base["loyalty_member"].to_numpy(dtype=bool)][:10]
    copy = tmp_path / "more"
    shutil.copytree(shop, copy)
    ledger = pd.read_parquet(copy / "loyalty_events.parquet")
    extra = pd.DataFrame(
        {
            "customer_id": list(members) * 2,
            "occurred_at": [as_of - pd.Timedelta(days=3)] * 10
            + [as_of - pd.Timedelta(days=2)] * 10,
            "kind": ["adjust"] * 10 + ["tier_change"] * 10,
            "points": [250.0] * 10 + [None] * 10,
            "tier": [None] * 10 + ["Diamond"] * 10,
            "expires_at": [pd.NaT] * 20,
        }
    )
    extra["occurred_at"] = extra["occurred_at"].astype("datetime64[us]")
    extra["expires_at"] = extra["expires_at"].astype("datetime64[us]")
    pd.concat([ledger, extra]).to_parquet(copy / "loyalty_events.parquet", index=False)
    moved = features(copy, as_of)
    assert (moved.loc[members, "points_balance"] == base.loc[members, "points_balance"] + 250).all()
    assert (moved.loc[members, "loyalty_tier"] == "Diamond").all()
    # a bonus that never expires leaves the expiring points as they were
    expiry = ["points_expiring_30d", "days_to_points_expiry"]
    pd.testing.assert_frame_equal(moved.loc[members, expiry], base.loc[members, expiry])
    others = base.index.difference(members)
    pd.testing.assert_frame_equal(moved.loc[others, LOYALTY], base.loc[others, LOYALTY])


def train(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train_models(quiet_load(path), "2025-12-31", SETTINGS)


def test_the_churn_model_uses_the_ledger_loyalty_features(shop):
    result = train(shop)
    assert set(LOYALTY) <= set(result.bundle.churn.feature_names_in_)


def test_without_the_ledger_the_model_never_sees_snapshot_values(no_ledger):
    result = train(no_ledger)
    used = set(result.bundle.churn.feature_names_in_)
    assert not used & set(LOYALTY), "snapshot-only features reached a back-dated training row"
    assert set(LOYALTY) <= set(result.dropped)
    # scoring after the export time: the features are there, the model ignores them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = quiet_load(no_ledger)
        scoring = build_scoring_features(data, "2026-01-01", result.bundle)
        scores = predict_scores(scoring, result.bundle, "2026-01-01")
    assert scoring["points_balance"].notna().any()
    assert scores["churn_probability"].notna().all() and len(scores) == len(scoring)
