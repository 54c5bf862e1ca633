"""The DuckDB → Spark SQL fixes of smsseg.spark.sql give DuckDB's answers on Spark."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from smsseg.spark.sql import to_spark

pytestmark = pytest.mark.xdist_group("spark-load")

# half-way cases at 6 places (stored just below or exactly at .5) and ordinary values
VALUES = [71.0303125, 71.0303135, 0.125, 0.375, 2.5, -2.5, 1 / 128, 3 + 1 / 128, 123.456789, 1e-7]
EXPRESSIONS = [
    "ROUND(x, 6)",
    "ROUND(x, 2)",
    "epoch(TIMESTAMP '2025-01-02 03:04:05.678901')",
    "AVG(CASE WHEN x > 1 THEN 1.0 ELSE 0.0 END) OVER ()",
    "isfinite(CASE WHEN x > 100 THEN CAST('inf' AS DOUBLE) WHEN x < 0 THEN CAST('nan' AS DOUBLE) "
    "ELSE x END)",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_translated_expression_gives_duckdbs_values(spark, expression):
    sql = f"SELECT {expression} AS v FROM t ORDER BY x"
    con = duckdb.connect()
    frame = pd.DataFrame({"x": VALUES})
    con.register("t", frame)
    want = [row[0] for row in con.execute(sql).fetchall()]
    spark.createDataFrame(frame).createOrReplaceTempView("t")
    got = [row[0] for row in spark.sql(to_spark(sql)).collect()]
    assert got == want, to_spark(sql)


def test_aggregate_ordered_above_having_runs_on_spark(spark):
    sql = (
        "SELECT category FROM t GROUP BY category HAVING SUM(w) > 0 "
        "ORDER BY SUM(w) DESC, category LIMIT 2"
    )
    frame = pd.DataFrame({"category": ["a", "b", "b", "c", None], "w": [1.0, 2.0, 2.0, 3.0, 9.0]})
    spark.createDataFrame(frame).createOrReplaceTempView("t")
    con = duckdb.connect()
    con.register("t", frame)
    assert [r[0] for r in spark.sql(to_spark(sql)).collect()] == [
        r[0] for r in con.execute(sql).fetchall()
    ]
