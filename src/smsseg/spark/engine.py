"""Engine selection for the CLI and the Python API: DuckDB (default) or Spark.

The commands call these three functions instead of the DuckDB ones; with ``engine="duckdb"``
each is exactly the DuckDB path, so the CLI keeps one code path per command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from smsseg.errors import SmssegError

ENGINES = ("duckdb", "spark")
#: Customers in the stratified training sample of ``smsseg train --engine spark`` by default:
#: hundreds of thousands of rows per training snapshot for LightGBM, and a history that one
#: machine collects and trains on (a fifth of the 1M-customer shop the DuckDB path trains on in
#: ``benchmarks/``). A choice, not tuned by a learning curve: raise it with ``--sample``.
DEFAULT_SAMPLE = 200_000
ENGINE_HELP = (
    "Engine: duckdb (default, one machine) or spark (a cluster, or local Spark; docs/spark.md)."
)
DATA_HELP = (
    "Directory of contract tables; with --engine spark also a URI Spark reads (s3a://, abfss://, "
    "dbfs:/, file:/) or catalog:<database> for the tables <database>.customers, .orders, ..."
)
SPARK_MASTER_HELP = (
    "Spark master for --engine spark (default: $SPARK_MASTER, else local[*]; an active "
    "SparkSession, as in a Databricks notebook, is used as it is)."
)


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise SmssegError(f"--engine={engine!r} must be one of {', '.join(ENGINES)}")
    return engine


def load_data(data, engine: str = "duckdb", spark_master: str | None = None, **kwargs):
    """:func:`smsseg.data.load` on DuckDB, or :func:`smsseg.spark.data.load_spark` on Spark.

    ``data`` is a local directory on both engines; on Spark also a URI or ``catalog:<database>``
    (:mod:`smsseg.data.source`). ``kwargs`` go to the loader (``validate``; ``con`` only to
    DuckDB's).

    Raises
    ------
    SmssegError
        A URI or catalog source with the DuckDB engine (which reads local files only).
    """
    if check_engine(engine) == "duckdb":
        from smsseg.data.load import load
        from smsseg.data.source import local_dir

        return load(local_dir(data), **kwargs)
    from smsseg.spark.data import load_spark
    from smsseg.spark.session import spark_session

    kwargs.pop("con", None)
    return load_spark(data, spark_session(spark_master), **kwargs)


def score_customers_on(
    engine: str,
    data,
    as_of,
    bundle,
    bands,
    reason_bands: Sequence[str] = ("high",),
    progress: Callable | None = None,
    reasons_max_recency_days: float | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """:func:`smsseg.models.scoring.score_customers`, or its Spark counterpart.

    On Spark the features are built from the same declarations (aggregations on Spark) and the
    models are applied per partition (:func:`smsseg.spark.scoring.score_on_spark`).
    """
    from smsseg.models.scoring import build_scoring_features, has_discount_data, score_customers

    if check_engine(engine) == "duckdb":
        return score_customers(
            data,
            as_of,
            bundle,
            bands,
            reason_bands,
            progress=progress,
            reasons_max_recency_days=reasons_max_recency_days,
        )
    import time

    from smsseg.spark.scoring import score_on_spark

    start = time.perf_counter()
    features = build_scoring_features(data, as_of, bundle, progress=progress)
    timings = {"features_s": time.perf_counter() - start}
    start = time.perf_counter()
    scores = score_on_spark(
        data.con.spark,
        features,
        bundle,
        as_of,
        bands,
        has_discount_data(data),
        reason_bands,
        reasons_max_recency_days,
    )
    timings["predict_and_reasons_s"] = time.perf_counter() - start
    return scores, timings


def run_segments_on(engine: str, data, features, scores, catalogue, tiers=None, seed: int = 42):
    """:func:`smsseg.segments.snapshot.run_segments`, with membership computed per partition on
    Spark (:func:`smsseg.spark.segments.assign_segments_spark`). Tiers, when not given, are
    fitted on the driver from the features (as :func:`run_segments` fits them)."""
    from smsseg.segments.snapshot import SegmentRun, _indexed, fit_tiers, run_segments

    if check_engine(engine) == "duckdb":
        return run_segments(features, scores, catalogue, tiers, seed=seed)
    from smsseg.segments import prepare_scores
    from smsseg.segments.summary import segment_summary
    from smsseg.spark.segments import assign_segments_spark

    if tiers is None:
        tiers = fit_tiers(features, scores, random_state=seed)
    membership = assign_segments_spark(data.con.spark, features, scores, catalogue, tiers)
    aligned = prepare_scores(scores, membership.index)
    profile = tiers.profile(_indexed(features), aligned)
    summary = segment_summary(membership, _indexed(features), catalogue)
    return SegmentRun(membership, summary, tiers, profile, _indexed(features))
