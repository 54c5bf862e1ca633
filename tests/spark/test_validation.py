"""Validation on Spark: the contract checks, run as Spark queries, give the DuckDB path's problems."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from smsseg.data import DataValidationError, load
from tests.data.test_validation import CORRUPTIONS, valid_tables, write_dir

pytestmark = pytest.mark.xdist_group("spark-load")

NOW = datetime(2026, 6, 1)


def _problems(loader, *args) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        loader(*args, now=NOW)
    return [p.render() for p in info.value.problems]


#: The corruptions of ``tests/data/test_validation.py`` in groups that do not interact: on DuckDB
#: a group's directory gets exactly the union of the problems its members get one at a time (the
#: test asserts it, so a change that makes two of them interact fails here, not silently). One
#: Spark load per group instead of one per corruption: each load of a tiny directory is a few
#: dozen Spark jobs (5-15 s), and one per corruption was the slowest part of the suite.
CORRUPTION_GROUPS = [
    ["missing-customers-file"],
    ["missing-orders-file"],
    [
        "missing-amount-column",
        "missing-created_at-column",
        "duplicate-customer-id",
        "duplicate-order-id",
        "negative-discount",
        "unit-price-is-infinite",
        "unparseable-timestamp",
        "future-timestamp",
        "unknown-order-status",
        "unknown-event-type",
        "unknown-sms-event-type",
        "unknown-channel",
        "missing-customer-id-value",
        "unknown-time-zone",
        "duplicate-loyalty-member",
        "promotion-ends-before-start",
        "discount-rate-above-one",
        "negative-quantity",
        "unknown-ledger-kind",
        "ledger-entry-in-the-future",
    ],
    [
        "negative-amount",
        "amount-not-a-number",
        "amount-is-nan",
        "returned-before-ordered",
        "redeem-with-positive-points",
        "earn-without-points",
        "tier-change-without-tier",
    ],
    ["order-of-unknown-customer", "item-of-unknown-order", "ledger-of-unknown-customer"],
    ["empty-orders-table"],
]
CORRUPTION = {c[0]: c[1:] for c in CORRUPTIONS}


def _corrupted_dir(path: Path, ids: list[str]) -> Path:
    tables = valid_tables()
    for i in ids:
        CORRUPTION[i][0](tables)
    return write_dir(path, tables)


def test_the_groups_hold_every_corruption_once():
    grouped = [i for group in CORRUPTION_GROUPS for i in group]
    assert sorted(grouped) == sorted(CORRUPTION)


@pytest.mark.parametrize(
    "group",
    CORRUPTION_GROUPS,
    ids=[g[0] + (f"+{len(g) - 1}" if len(g) > 1 else "") for g in CORRUPTION_GROUPS],
)
def test_spark_rejects_each_corruption_with_the_same_message(spark, tmp_path, group):
    from smsseg.spark.data import load_spark

    def problems_of(ids, name):
        data_dir = _corrupted_dir(tmp_path / name, ids)
        return data_dir, {p.replace(str(data_dir), "DIR") for p in _problems(load, data_dir)}

    one_at_a_time = set().union(*(problems_of([i], i)[1] for i in group))
    data_dir, together = problems_of(group, "data")
    assert together == one_at_a_time, "the group's corruptions interact: split it"
    on_duckdb = _problems(load, data_dir)
    on_spark = _problems(load_spark, data_dir, spark)
    assert on_spark == on_duckdb
    for i in group:
        _, file, _, rule = CORRUPTION[i]
        assert any(f"rule: {rule}" in p and file in p for p in on_spark), i


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
