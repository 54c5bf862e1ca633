"""One local SparkSession and one generated dataset per xdist worker for the Spark tests.

Two xdist groups balance the two workers: ``spark`` (the tests that need the trained bundle
and the all-tables Spark feature build) and ``spark-load`` (loading, validation and SQL tests,
which need only a session); each worker starts one session.

Spark runs on ``local[2]`` with one shuffle partition: the data is small and the machine's two
cores are shared with the other pytest worker.
"""

from __future__ import annotations

import logging
import shutil

import pytest

pytest.importorskip(
    "pyspark", reason="the Spark engine needs the spark extra (make test installs it)"
)

AS_OF = "2025-09-30"
TRAIN_AS_OF = "2025-12-31"
SPARK_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    # small data: Spark's adaptive planning and whole-stage code generation cost more than they save
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
}


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from smsseg.spark import spark_session

    # catalog tables (tests/spark/test_sources.py) go to a temporary warehouse, not ./spark-warehouse
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = spark_session("local[2]", {**SPARK_CONF, "spark.sql.warehouse.dir": str(warehouse)})
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory):
    """All tables, 3,000 customers."""
    from smsseg.data.simulator import generate

    out = tmp_path_factory.mktemp("spark-sim") / "data"
    generate(out, n_customers=3000, seed=7)
    return out


@pytest.fixture(scope="session")
def orders_only_dir(sim_dir, tmp_path_factory):
    """The same shop with only the two required tables."""
    out = tmp_path_factory.mktemp("spark-orders-only") / "data"
    out.mkdir()
    for name in ("customers", "orders"):
        shutil.copy(sim_dir / f"{name}.parquet", out / f"{name}.parquet")
    return out


@pytest.fixture(scope="session")
def bundle(sim_dir):
    """Models trained (DuckDB, quickly) on the shop's history up to its last day."""
    import warnings

    from smsseg.data.load import load
    from smsseg.models.train import train_models
    from tests.models.conftest import SETTINGS  # the models tests' fast settings

    # SETTINGS.btyd_fit_sample (2,000) is below the population: the BTYD fit sample is drawn on
    # both engines
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return train_models(quiet_load(load, sim_dir), TRAIN_AS_OF, SETTINGS).bundle


@pytest.fixture(scope="session")
def duck_features(sim_dir, bundle):
    """The scoring features of ``sim_dir`` as of :data:`AS_OF`, built by DuckDB."""
    from smsseg.data.load import load
    from smsseg.models.scoring import build_scoring_features

    return build_scoring_features(quiet_load(load, sim_dir), AS_OF, bundle)


@pytest.fixture(scope="session")
def spark_features(spark, sim_dir, bundle):
    """The same, built on Spark (one build shared by the feature, score and segment tests)."""
    from smsseg.models.scoring import build_scoring_features
    from smsseg.spark.data import load_spark

    return build_scoring_features(quiet_load(load_spark, sim_dir, spark), AS_OF, bundle)


def quiet_load(loader, *args, **kwargs):
    logging.disable(logging.WARNING)
    try:
        return loader(*args, **kwargs)
    finally:
        logging.disable(logging.NOTSET)
