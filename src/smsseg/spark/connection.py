"""A DuckDB-connection look-alike that runs smsseg's generated SQL on Spark.

The feature families, the contract checks and the loader talk to a DuckDB connection through a
handful of calls (``execute(...).fetchall() / .fetchone() / .df()``, ``sql(...).to_arrow_table()``,
``CREATE TEMP TABLE``, ``CREATE OR REPLACE VIEW``, ``DROP TABLE``). :class:`SparkConnection`
answers the same calls by transpiling each statement to Spark SQL (:func:`~smsseg.spark.sql.to_spark`)
and running it on a SparkSession, so the declarations and the code that turns them into SQL are
shared by both engines, unchanged. Temporary tables become persisted temporary views (DuckDB
materialises them; Spark would otherwise recompute them at every use), and materialised when
they are created, as DuckDB does, not at the first query that reads them.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import pyarrow as pa

from smsseg.spark.sql import to_spark

_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TEMP\s+TABLE\s+(\w+)\s+AS\s+(.*)$", re.S | re.I)
_CREATE_VIEW = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+(\w+)\s+AS\s+(.*)$", re.S | re.I)
_DROP = re.compile(r"^\s*DROP\s+TABLE\s+IF\s+EXISTS\s+(\w+)\s*$", re.I)


class SparkQueryError(duckdb.Error):
    """A Spark error on a translated statement.

    A subclass of ``duckdb.Error`` on purpose: the shared code (the contract checks) turns a
    query error into a user-facing problem ("file cannot be read ...") by catching that class,
    and must do the same on Spark.
    """


class SparkResult:
    """The result of one statement, fetched the ways smsseg's code fetches DuckDB results."""

    def __init__(self, frame):
        self.frame = frame

    def fetchall(self) -> list[tuple]:
        if self.frame is None:
            return []
        return [tuple(row) for row in _run(self.frame.collect)]

    def fetchone(self) -> tuple | None:
        rows = _run(lambda: self.frame.take(1)) if self.frame is not None else []
        return tuple(rows[0]) if rows else None

    def to_arrow_table(self) -> pa.Table:
        table = _run(self.frame.toArrow)
        # naive UTC timestamps, as DuckDB returns them (the session time zone is UTC)
        fields = [
            pa.field(f.name, pa.timestamp("us"))
            if pa.types.is_timestamp(f.type)
            else pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type)
            for f in table.schema
        ]
        return table.cast(pa.schema(fields))

    def df(self) -> pd.DataFrame:
        return self.to_arrow_table().to_pandas()


def _run(action):
    try:
        return action()
    except duckdb.Error:
        raise
    except Exception as exc:  # pyspark's error classes share no public base with py4j's
        raise SparkQueryError(
            str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        ) from exc


class SparkConnection:
    """Runs DuckDB-dialect statements on ``spark`` (see the module docstring)."""

    def __init__(self, spark):
        self.spark = spark
        self.persisted: dict[str, object] = {}

    def frame(self, sql: str):
        """``sql`` (DuckDB dialect) as a Spark DataFrame."""
        return _run(lambda: self.spark.sql(to_spark(sql)))

    def execute(self, sql: str) -> SparkResult:
        if match := _CREATE_TABLE.match(sql):
            name, select = match.groups()
            frame = self.frame(select).persist()
            # Materialised now, as DuckDB's CREATE TEMP TABLE is: left lazy, every family's
            # aggregation ran inside the first query that read it (the assembly's join step),
            # so the per-step timings and a failing family's error pointed at the wrong step.
            # The work is the same either way (measured: docs/spark.md, "Limits").
            _run(frame.count)
            frame.createOrReplaceTempView(name)
            self.persisted[name] = frame
            return SparkResult(None)
        if match := _CREATE_VIEW.match(sql):
            name, select = match.groups()
            self.frame(select).createOrReplaceTempView(name)
            return SparkResult(None)
        if match := _DROP.match(sql):
            name = match.group(1)
            frame = self.persisted.pop(name, None)
            if frame is not None:
                frame.unpersist()
            self.spark.catalog.dropTempView(name)
            return SparkResult(None)
        return SparkResult(self.frame(sql))

    sql = execute
