"""One definition, two engines: the feature catalogue built on Spark equals the DuckDB build."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from smsseg.data.load import load
from smsseg.features import build_features
from tests.spark.conftest import AS_OF, quiet_load
from tests.spark.parity import assert_same_frame

pytestmark = pytest.mark.xdist_group("spark")


def test_every_feature_is_the_same_on_spark_all_tables(duck_features, spark_features):
    duck = duck_features
    assert len(duck) >= 1500 and duck.shape[1] > 100  # a real build, every family
    assert duck["frequency"].gt(0).sum() > 500 and duck["open_cart"].any()
    assert duck["btyd_p_alive"].notna().all() and duck["loyalty_tier"].notna().any()
    assert duck["cat_view_share__other"].notna().any() and duck["sms_opted_in"].any()
    assert_same_frame(duck, spark_features)
    for key in ("categories", "as_of", "horizon_days"):
        assert spark_features.attrs[key] == duck.attrs[key]


def test_orders_only_on_spark_equals_duckdb_and_ignores_later_orders(
    spark, orders_only_dir, tmp_path
):
    """Orders-only data; on Spark it also carries orders after the cut-off, which change nothing."""
    from smsseg.spark.data import load_spark

    with_future = tmp_path / "data"
    with_future.mkdir()
    shutil.copy(orders_only_dir / "customers.parquet", with_future / "customers.parquet")
    orders = pd.read_parquet(orders_only_dir / "orders.parquet")
    late = orders.head(200).copy()
    late["order_id"] = late["order_id"] + "-late"
    late["ordered_at"] = pd.Timestamp(AS_OF) + pd.Timedelta(hours=1)
    late["status"], late["returned_at"] = "completed", pd.NaT
    assert late["ordered_at"].max() < pd.Timestamp("2026-01-01")  # not in the future: valid data
    # microseconds, as the simulator writes (Spark cannot read nanosecond Parquet timestamps)
    pd.concat([orders, late], ignore_index=True).to_parquet(
        with_future / "orders.parquet", index=False, coerce_timestamps="us"
    )

    duck = build_features(quiet_load(load, orders_only_dir), AS_OF)
    on_spark = build_features(quiet_load(load_spark, with_future, spark), AS_OF)
    assert duck["sms_sent_30d"].eq(0).all() and duck["loyalty_tier"].isna().all()
    assert duck["btyd_clv"].notna().any()
    assert_same_frame(duck, on_spark)
