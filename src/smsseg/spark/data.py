"""Loading a data directory on Spark: the contract checks as Spark queries, then typed views.

The same steps as :func:`smsseg.data.load`, with the same code: the files are found by
:func:`smsseg.data.load.discover` (a local directory) or listed through Hadoop's file system (any
URI Spark reads: ``s3a://``, ``abfss://``, ``dbfs:/``); each table file becomes a Spark temporary
view of its raw rows; the contract checks (:func:`smsseg.data.validation.validate_table`,
:func:`~smsseg.data.validation.foreign_key_problems`) and the typed views
(:func:`smsseg.data.load.typed_select`) run through :class:`~smsseg.spark.connection.SparkConnection`,
so a broken rule gives the same problem (file, column, rule, message, example rows) on both
engines.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import duckdb
from pyspark.sql import functions as F
from pyspark.sql import types as T

from smsseg.data.contract import FILE_SUFFIXES, TABLES
from smsseg.data.load import (
    COLUMN_DEFAULTS,  # noqa: F401  (applied by typed_select, listed for the reader)
    Dataset,
    discover,
    file_problems,
    typed_select,
)
from smsseg.data.source import catalog_database, is_uri
from smsseg.data.validation import (
    DataValidationError,
    Problem,
    ValidationReport,
    foreign_key_problems,
    now_utc,
    validate_table,
)
from smsseg.spark.connection import SparkConnection
from smsseg.spark.sql import POSITION_COLUMN

log = logging.getLogger(__name__)

#: Spark type → the DuckDB type name the contract code compares against.
_DUCKDB_NAMES = {
    T.StringType: "VARCHAR",
    T.TimestampType: "TIMESTAMP",
    T.TimestampNTZType: "TIMESTAMP",
    T.DoubleType: "DOUBLE",
    T.FloatType: "FLOAT",
    T.LongType: "BIGINT",
    T.IntegerType: "INTEGER",
    T.ShortType: "SMALLINT",
    T.ByteType: "TINYINT",
    T.BooleanType: "BOOLEAN",
    T.DateType: "DATE",
}


def _duckdb_name(data_type) -> str:
    return _DUCKDB_NAMES.get(type(data_type), data_type.simpleString().upper())


def _discover_uri(spark, root: str) -> tuple[dict[str, str], list[Problem]]:
    """Table files under a URI, listed with Hadoop's FileSystem (what Spark itself reads with)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(root)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return {}, [Problem(root, None, "directory_exists", "data directory does not exist")]
    found: dict[str, list[str]] = {}
    for status in fs.listStatus(path):
        name = status.getPath().getName()
        stem, dot, suffix = name.rpartition(".")
        # a Parquet table may be a directory of part files (as Spark writes it)
        if dot and f".{suffix}" in FILE_SUFFIXES and stem in TABLES:
            found.setdefault(stem, []).append(str(status.getPath()))
    errors = [
        Problem(
            " and ".join(paths),
            None,
            "one_file_per_table",
            f"table '{name}' is given twice; keep one file",
        )
        for name, paths in found.items()
        if len(paths) > 1
    ]
    for spec in TABLES.values():
        if spec.required and spec.name not in found:
            errors.append(
                Problem(
                    f"{root.rstrip('/')}/{spec.name}.parquet",
                    None,
                    "required_table",
                    f"required table '{spec.name}' is missing (give {spec.name}.parquet or {spec.name}.csv)",
                )
            )
    return {name: paths[0] for name, paths in found.items()}, errors


def _discover_catalog(spark, database: str) -> tuple[dict[str, str], list[Problem]]:
    """The contract tables among the tables of ``database`` in the session's catalog.

    Each contract table ``<name>`` is the catalog table ``<database>.<name>`` (Delta, Parquet,
    Hive, views: whatever ``spark.table`` reads); optional ones may be absent.
    """
    if not spark.catalog.databaseExists(database):
        return {}, [
            Problem(
                f"catalog:{database}",
                None,
                "database_exists",
                f"database '{database}' does not exist in the Spark catalog",
            )
        ]
    found = {
        name: f"{database}.{name}"
        for name in TABLES
        if spark.catalog.tableExists(f"{database}.{name}")
    }
    errors = [
        Problem(
            f"{database}.{spec.name}",
            None,
            "required_table",
            f"required table '{spec.name}' is missing (create the table {database}.{spec.name})",
        )
        for spec in TABLES.values()
        if spec.required and spec.name not in found
    ]
    return found, errors


def _read(spark, path: str, catalog: bool = False):
    """The raw rows of one table file (or catalog table), numbered in file order
    (:data:`POSITION_COLUMN`)."""
    if catalog:
        frame = spark.table(path)
    elif path.endswith(".parquet"):
        frame = spark.read.parquet(path)
    else:
        # every cell as text, as DuckDB's all_varchar read: parsing is the contract checks' job
        frame = spark.read.option("header", True).option("mode", "PERMISSIVE").csv(path)
    return frame.withColumn(POSITION_COLUMN, F.monotonically_increasing_id())


def load_spark(
    path: str | Path,
    spark=None,
    *,
    validate: bool = True,
    now: datetime | None = None,
) -> Dataset:
    """Load and validate a data directory on Spark.

    Parameters
    ----------
    path : local directory or a URI Spark can read (``s3a://bucket/shop``, ``dbfs:/shop``,
        ``file:/data/shop``) with ``<table>.parquet`` or ``<table>.csv`` files, or
        ``catalog:<database>`` for the tables ``<database>.customers``, ``<database>.orders``, ...
        of the session's catalog (:mod:`smsseg.data.source`).
    spark : the SparkSession (default: :func:`smsseg.spark.spark_session`).
    validate : run the contract checks (as Spark queries).
    now : the moment after which timestamps count as "in the future" (default: the clock, UTC).

    Returns
    -------
    Dataset
        Whose ``con`` is a :class:`~smsseg.spark.connection.SparkConnection`: every stage built
        on ``Dataset.con`` (the features) runs on Spark.

    Raises
    ------
    DataValidationError
        The same problems :func:`smsseg.data.load` reports for the same files.
    """
    from smsseg.spark.session import spark_session

    spark = spark or spark_session()
    root = str(path)
    database = catalog_database(root)
    warnings: list[Problem] = []
    local_root = None
    if database is not None:
        files, errors = _discover_catalog(spark, database)
    elif is_uri(root):
        files, errors = _discover_uri(spark, root)
    else:
        found, errors, warnings = discover(Path(root))
        files = {name: str(p) for name, p in found.items()}
        local_root = Path(root)
    if errors:
        raise DataValidationError(errors)
    for warning in warnings:
        log.warning(warning.render())
    con = SparkConnection(spark)
    labels = {
        name: files[name] if database is not None else Path(files[name]).name
        for name in TABLES
        if name in files
    }
    report = ValidationReport()
    checked_at = now or now_utc()
    if validate and local_root is not None:
        # whole-file problems (empty file, a header naming a column twice) are read from the
        # file's first bytes, the same way on both engines
        with duckdb.connect() as probe:
            for name in labels:
                report.errors += file_problems(Path(files[name]), probe)
    broken = {p.file for p in report.errors}
    failed_reads: set[str] = set()
    sources: dict[str, str] = {}
    types: dict[str, dict[str, str]] = {}
    for name in labels:
        if labels[name] in broken:
            continue
        try:
            raw = _read(spark, files[name], catalog=database is not None)
        except Exception as exc:  # Spark's reader errors share no base class with py4j's
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            report.errors.append(
                Problem(labels[name], None, "readable", f"file cannot be read by Spark ({reason})")
            )
            failed_reads.add(name)
            continue
        view = f"_raw_{name}"
        raw.createOrReplaceTempView(view)
        sources[name] = view
        types[name] = {
            f.name: _duckdb_name(f.dataType) for f in raw.schema.fields if f.name != POSITION_COLUMN
        }
    failed = {name for name in labels if labels[name] in broken} | failed_reads
    if validate:
        for name, source in sources.items():
            table_errors, table_warnings, n = validate_table(
                con, TABLES[name], source, labels[name], checked_at, types[name]
            )
            report.errors += table_errors
            report.warnings += table_warnings
            report.row_counts[name] = n
            if table_errors:
                failed.add(name)
        report.errors += foreign_key_problems(con, sources, labels, failed, types)
    if report.errors:
        raise DataValidationError(report.errors)
    for warning in report.warnings:
        log.warning(warning.render())
    report.warnings = warnings + report.warnings
    for spec in TABLES.values():
        source = sources.get(spec.name, "(SELECT 1 WHERE false)")
        con.execute(
            f"CREATE OR REPLACE VIEW {spec.name} AS "
            + typed_select(spec, source, types.get(spec.name, {}))
        )
    columns = {name: tuple(t) for name, t in types.items()}
    return Dataset(con, labels, root=local_root, report=report, columns=columns)
