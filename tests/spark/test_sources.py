"""Other sources than a local directory: a URI Spark reads, and the tables of a Spark catalog.

Both give the features the DuckDB engine builds from the same tables in a local directory; the
DuckDB engine refuses them with a message that names ``--engine spark``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from smsseg.cli import app
from smsseg.data.load import load
from smsseg.data.source import catalog_database, describe, is_local, is_uri, local_dir
from smsseg.data.validation import DataValidationError
from smsseg.errors import SmssegError
from tests.spark.conftest import AS_OF, quiet_load

pytestmark = pytest.mark.xdist_group("spark-load")

runner = CliRunner()


@pytest.mark.parametrize(
    ("data", "uri", "database"),
    [
        ("shop", False, None),
        ("/data/shop", False, None),
        ("C:/shop", False, None),  # a drive letter is not a scheme
        ("s3a://lake/shop", True, None),
        ("abfss://c@acct.dfs.core.windows.net/shop", True, None),
        ("dbfs:/mnt/shop", True, None),
        ("file:/tmp/shop", True, None),
        ("catalog:shop", False, "shop"),
        ("catalog:main.shop", False, "main.shop"),
    ],
    ids=lambda v: str(v),
)
def test_source_kinds(data, uri, database):
    assert is_uri(data) is uri
    assert catalog_database(data) == database
    assert is_local(data) is (not uri and database is None)
    if not is_local(data):
        assert describe(data) == data  # recorded as given, not resolved against the cwd


@pytest.mark.parametrize("data", ["catalog:", "catalog:shop;drop", "catalog:1shop"])
def test_bad_catalog_name_is_one_clear_error(data):
    with pytest.raises(SmssegError, match="after 'catalog:' give a database"):
        catalog_database(data)


@pytest.mark.parametrize("data", ["s3a://lake/shop", "file:/tmp/shop", "catalog:shop"])
def test_duckdb_engine_refuses_uris_and_catalogs(data, tmp_path):
    with pytest.raises(SmssegError, match="DuckDB engine reads a local directory.*--engine spark"):
        local_dir(data)
    out = tmp_path / "f.parquet"
    result = runner.invoke(app, ["features", "--data", data, "--as-of", AS_OF, "--out", str(out)])
    assert result.exit_code == 1
    assert "--engine spark" in result.output.replace("\n", " ")
    assert not out.exists()


def _tables(data) -> dict[str, pd.DataFrame]:
    """Every supplied table of a loaded dataset, typed, in one row order."""
    from smsseg.data.contract import TABLES

    out = {}
    for name in sorted(data.present):
        frame = data.con.execute(f"SELECT * FROM {name}").df()
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    assert set(out) == {n for n in TABLES if data.has(n)}
    return out


def _assert_same_tables(duck, on_spark) -> None:
    a, b = _tables(duck), _tables(on_spark)
    assert list(a) == list(b)
    for name in a:
        assert len(a[name]) > 0, name
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=False, obj=name)


def test_file_uri_reads_the_tables_of_the_directory(spark, sim_dir):
    """``file:`` is listed through Hadoop's file system, as s3a:// and abfss:// are.

    (tests/spark/test_cli.py also runs features, score and segment from a ``file:`` URI.)
    """
    from smsseg.spark.data import load_spark

    uri = sim_dir.resolve().as_uri()
    # not validated: validation reads the same typed columns (tests/spark/test_validation.py)
    data = quiet_load(load_spark, uri, spark, validate=False)
    assert data.root is None and data.present["orders"] == "orders.parquet"
    _assert_same_tables(quiet_load(load, sim_dir, validate=False), data)


def test_catalog_tables_are_the_tables_of_the_directory(spark, sim_dir):
    """Every table of the shop saved into a database of the session's catalog (saveAsTable)."""
    from smsseg.spark.data import load_spark

    duck = quiet_load(load, sim_dir, validate=False)
    spark.sql("CREATE DATABASE IF NOT EXISTS smsseg_shop")
    for name in duck.present:
        spark.read.parquet(str(sim_dir / f"{name}.parquet")).write.mode("overwrite").saveAsTable(
            f"smsseg_shop.{name}"
        )
    data = quiet_load(load_spark, "catalog:smsseg_shop", spark, validate=False)
    assert data.present == {name: f"smsseg_shop.{name}" for name in duck.present}
    _assert_same_tables(duck, data)


def test_catalog_without_a_required_table_or_database(spark, orders_only_dir):
    from smsseg.spark.data import load_spark

    spark.sql("CREATE DATABASE IF NOT EXISTS smsseg_no_orders")
    spark.read.parquet(str(orders_only_dir / "customers.parquet")).write.mode(
        "overwrite"
    ).saveAsTable("smsseg_no_orders.customers")
    with pytest.raises(DataValidationError) as missing:
        load_spark("catalog:smsseg_no_orders", spark)
    assert [(p.file, p.rule) for p in missing.value.problems] == [
        ("smsseg_no_orders.orders", "required_table")
    ]
    with pytest.raises(DataValidationError, match="database 'smsseg_nowhere' does not exist"):
        load_spark("catalog:smsseg_nowhere", spark)
