"""The SparkSession smsseg runs on: an existing one (a Databricks notebook) or a new one.

Settings smsseg relies on, whatever the session: the session time zone is UTC (the contract's
naive timestamps are UTC, as in the DuckDB engine) and Parquet timestamps are read as Spark's
``TIMESTAMP``, not ``TIMESTAMP_NTZ``, so every time column has one type. Python workers must run
the driver's interpreter (``PYSPARK_PYTHON``), or ``mapInPandas`` fails on a worker without
pyarrow.
"""

from __future__ import annotations

import os
import sys

from smsseg.errors import SmssegError

#: Master of a session smsseg builds itself, unless --spark-master / SPARK_MASTER say otherwise.
DEFAULT_MASTER = "local[*]"

#: Session settings smsseg needs (set on an existing session too).
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
#: Settings of a session smsseg builds (static: an existing session keeps its own).
NEW_SESSION_CONF = {"spark.ui.showConsoleProgress": "false"}


def _pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError:
        raise SmssegError(
            "the Spark engine needs pyspark: pip install 'smsseg[spark]' (and Java 17: "
            "`java -version` must print 17 or later)"
        ) from None
    return SparkSession


def spark_session(master: str | None = None, conf: dict[str, str] | None = None):
    """The active SparkSession, else a new one on ``master`` (``SPARK_MASTER``, ``local[*]``).

    Parameters
    ----------
    master : Spark master URL for a new session (ignored when a session is already active,
        e.g. in a Databricks notebook).
    conf : further settings for a new session (e.g. ``spark.sql.shuffle.partitions``).
    """
    SparkSession = _pyspark()
    active = SparkSession.getActiveSession()
    if active is not None:
        for key, value in REQUIRED_CONF.items():
            active.conf.set(key, value)
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("smsseg").master(
        master or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER
    )
    for key, value in {**REQUIRED_CONF, **NEW_SESSION_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j / Java start-up errors have no common base class
        raise SmssegError(
            f"Spark could not start ({str(exc).strip().splitlines()[0]}); the Spark engine needs "
            "Java 17 or later on PATH or JAVA_HOME (check with `java -version`)"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session
