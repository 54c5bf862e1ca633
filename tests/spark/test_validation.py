"""Validation on Spark: the contract checks, run as Spark queries, give the DuckDB path's problems."""

from __future__ import annotations

from datetime import datetime

import pytest

from smsseg.data import DataValidationError, load
from tests.data.test_validation import CORRUPTIONS, valid_tables, write_dir

pytestmark = pytest.mark.xdist_group("spark-load")

NOW = datetime(2026, 6, 1)


def _problems(loader, *args) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        loader(*args, now=NOW)
    return [p.render() for p in info.value.problems]


@pytest.mark.parametrize(
    ("corrupt", "file", "column", "rule"),
    [c[1:] for c in CORRUPTIONS],
    ids=[c[0] for c in CORRUPTIONS],
)
def test_spark_rejects_each_corruption_with_the_same_message(
    spark, tmp_path, corrupt, file, column, rule
):
    from smsseg.spark.data import load_spark

    tables = valid_tables()
    corrupt(tables)
    data_dir = write_dir(tmp_path / "data", tables)
    on_duckdb = _problems(load, data_dir)
    on_spark = _problems(load_spark, data_dir, spark)
    assert on_spark == on_duckdb
    assert any(f"rule: {rule}" in p and file in p for p in on_spark)


def test_valid_directory_passes_on_spark_with_the_same_row_counts(spark, tmp_path):
    from smsseg.spark.data import load_spark

    data_dir = write_dir(tmp_path / "data", valid_tables())
    on_spark = load_spark(data_dir, spark, now=NOW)
    on_duckdb = load(data_dir, now=NOW)
    assert on_spark.report.row_counts == on_duckdb.report.row_counts
    assert [w.render() for w in on_spark.report.warnings] == [
        w.render() for w in on_duckdb.report.warnings
    ]
    for table in ("customers", "orders", "events", "sms", "loyalty_events"):
        spark_rows = on_spark.con.execute(f"SELECT * FROM {table}").df()
        duck_rows = on_duckdb.con.execute(f"SELECT * FROM {table}").df()
        assert spark_rows.astype(str).equals(duck_rows.astype(str)), table
