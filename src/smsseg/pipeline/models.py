"""Model steps: train (and save, and track), score, backtest.

The work is :func:`smsseg.models.train.train_models`, :func:`smsseg.models.scoring.score_customers`
and :func:`smsseg.models.backtest.run_backtest`; these steps add the edges: loading the data,
where the model lives (:func:`smsseg.models.bundle.model_dir`), MLflow, files with provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from smsseg import config
from smsseg._io import write_parquet
from smsseg.errors import SmssegError
from smsseg.pipeline._types import PathLike, Progress
from smsseg.timeutil import parse_as_of

if TYPE_CHECKING:
    from smsseg.models.backtest import BacktestResult
    from smsseg.models.scoring import RiskBands
    from smsseg.models.train import TrainResult, TrainSettings
    from smsseg.provenance import RowsAfter

#: The file beside a saved model with the out-of-time rows, their labels and every score
#: (ROC / calibration / lift in the report).
CHURN_TEST_FILE = "churn_test.parquet"


@dataclass(frozen=True)
class TrainOutput:
    """A training run: its result, where the model was saved and where MLflow logged it."""

    result: TrainResult
    model_dir: Path
    logged: dict  # kind -> smsseg.tracking.LoggedModel; empty without MLflow
    tracking_uri: str | None
    rows_after: RowsAfter


@dataclass(frozen=True)
class ScoreOutput:
    """Scores of every customer, the file written, the model version and seconds per step."""

    scores: pd.DataFrame
    path: Path | None
    model_version: str
    timings: dict[str, float]
    rows_after: RowsAfter


@dataclass(frozen=True)
class BacktestOutput:
    """A backtest: its result, the rows after T (its realized outcomes), the MLflow run id."""

    result: BacktestResult
    rows_after: RowsAfter
    run_id: str | None


def train(
    data: PathLike,
    as_of: object,
    *,
    model: str | PathLike = config.DEFAULT_MODEL_NAME,
    settings: TrainSettings | None = None,
    experiment: str = "smsseg",
    mlflow: bool = True,
    progress: Progress = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    sample: int | None = None,
) -> TrainOutput:
    """Train every model on ``data`` as of ``as_of``, log it to MLflow, save it as ``model``.

    Parameters
    ----------
    data : directory of contract tables (customers and orders at least).
    as_of : training instant; only data up to it is used.
    model : a model name (saved to ``models/<name>``) or a directory (see
        :func:`smsseg.models.bundle.model_dir`).
    settings : training settings (default :class:`~smsseg.models.train.TrainSettings`).
    experiment : MLflow experiment (and registered model) prefix.
    mlflow : log runs and register the models; without it the version is ``<model>@<as_of>``.
    progress : called with each training step's name (:data:`smsseg.models.train.STEPS`).
    engine, spark_master : ``duckdb`` (default) trains on ``settings.max_customers`` customers
        (a seeded sample when there are more); ``spark`` draws a stratified sample of customers
        on Spark and trains on all of it here, single-node (:mod:`smsseg.spark.sample`;
        ``docs/spark.md``).
    sample : customers in the Spark sample (default
        :data:`smsseg.spark.sample.DEFAULT_SAMPLE`); only with ``engine="spark"``.

    Raises
    ------
    SmssegError
        A bad ``as_of``, horizon or sample size, data that breaks the contract or cannot train a
        model.
    """
    from smsseg.data.load import load
    from smsseg.data.source import local_dir
    from smsseg.models.bundle import model_dir, save_bundle
    from smsseg.models.train import TrainSettings, train_models
    from smsseg.provenance import rows_after
    from smsseg.spark.engine import check_engine

    stamp = parse_as_of(as_of, "--as-of")
    settings = settings or TrainSettings()
    if settings.horizon_days < 1:
        raise SmssegError(f"--horizon-days={settings.horizon_days} must be >= 1")
    directory = model_dir(model)
    if check_engine(engine) == "duckdb":
        if sample is not None:
            raise SmssegError(
                f"--sample={sample} draws a sample on Spark: use it with --engine spark "
                "(the DuckDB engine samples with --max-customers)"
            )
        dataset = load(local_dir(data))
        after = rows_after(dataset, stamp)
        drawn = None
    else:
        dataset, after, drawn = _spark_sample(data, stamp, settings, spark_master, sample)
        # The Spark sample is the training sample: sampling it again would undo its strata.
        settings = replace(settings, max_customers=None)
    result = train_models(dataset, stamp, settings, progress=progress)
    if drawn is not None:
        result.bundle.meta["training_sample"] = drawn.describe()
        result.notes.append(
            f"trained on a stratified sample of {len(drawn.customer_ids):,} of "
            f"{drawn.population:,} customers drawn on Spark (seed {drawn.seed})"
        )
    logged, uri = {}, None
    if mlflow:
        from smsseg.tracking import configure, log_training

        uri = configure()
        logged = log_training(result, dataset, experiment=experiment, uri=uri)
    else:
        result.bundle.meta["version"] = f"{model}@{result.bundle.meta['as_of']}"
    save_bundle(result.bundle, directory)
    write_parquet(result.churn_test, directory / CHURN_TEST_FILE, index=False)
    return TrainOutput(result, directory, logged, uri, after)


def _spark_sample(data, stamp, settings, spark_master, sample):
    """Load ``data`` on Spark, draw the stratified training sample, collect it (DuckDB)."""
    from smsseg.provenance import rows_after
    from smsseg.spark.engine import load_data
    from smsseg.spark.sample import DEFAULT_SAMPLE, collect_sample, stratified_sample

    everything = load_data(data, "spark", spark_master)
    after = rows_after(everything, stamp)
    drawn = stratified_sample(
        everything,
        stamp,
        settings.horizon_days,
        DEFAULT_SAMPLE if sample is None else sample,
        settings.seed,
    )
    return collect_sample(everything, drawn), after, drawn


def score(
    data: PathLike,
    as_of: object,
    out: PathLike | None = None,
    *,
    model: str | PathLike = config.DEFAULT_MODEL_NAME,
    bands: RiskBands | None = None,
    reasons_for: Sequence[str] = ("high",),
    reasons_max_recency: float | None = None,
    progress: Progress = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> ScoreOutput:
    """Score every customer of ``data`` as of ``as_of`` with the saved ``model``.

    Parameters
    ----------
    data : directory of contract tables.
    as_of : scoring instant; features use only data up to it.
    out : Parquet file for the scores (with provenance, which ``segment`` and ``plan`` check), or
        ``None`` to only return them.
    model : a model name or directory (:func:`smsseg.models.bundle.resolve_model_dir`).
    bands : churn-probability thresholds of the risk bands (default :class:`RiskBands`).
    reasons_for : risk bands whose customers get reasons.
    reasons_max_recency : reasons only for customers with an order within this many days (the
        at-risk, not the dormant); ``None`` or 0 (default): the whole band.
    progress : called with each feature family's name.
    engine, spark_master : ``duckdb`` (default) or ``spark`` (features aggregated and models
        applied per partition on Spark; ``docs/spark.md``), and the Spark master.

    Raises
    ------
    SmssegError
        A bad ``as_of`` or ``reasons_max_recency``, no saved model, data that breaks the contract.
    """
    from smsseg.models.bundle import load_bundle, resolve_model_dir
    from smsseg.models.scoring import RiskBands
    from smsseg.provenance import for_data, rows_after
    from smsseg.spark.engine import check_engine, load_data, score_customers_on

    stamp = parse_as_of(as_of, "--as-of")
    if reasons_max_recency is not None and reasons_max_recency < 0:
        raise SmssegError(f"--reasons-max-recency={reasons_max_recency} must be >= 0 (0: no limit)")
    bundle = load_bundle(resolve_model_dir(model))
    dataset = load_data(data, check_engine(engine), spark_master)
    after = rows_after(dataset, stamp)
    scores, timings = score_customers_on(
        engine,
        dataset,
        stamp,
        bundle,
        bands or RiskBands(),
        list(reasons_for),
        progress=progress,
        reasons_max_recency_days=reasons_max_recency or None,
    )
    path = None
    if out is not None:
        provenance = for_data("scores", stamp, data, model_version=bundle.version)
        path = write_parquet(scores, out, index=False, metadata=provenance.to_metadata())
    return ScoreOutput(scores, path, bundle.version, timings, after)


def backtest(
    data: PathLike,
    as_of: object,
    *,
    horizon_days: int = config.DEFAULT_HORIZON_DAYS,
    settings: TrainSettings | None = None,
    out: PathLike | None = None,
    experiment: str = "smsseg",
    mlflow: bool = True,
) -> BacktestOutput:
    """Train and score as of T on data up to T; compare with the realized (T, T + horizon].

    Writes ``backtest.json``, predictions and the calibration plot to ``out`` (when given) and
    logs one run to ``<experiment>-backtest`` (with ``mlflow``).
    """
    from smsseg.data.load import load
    from smsseg.models.backtest import run_backtest, write_backtest
    from smsseg.models.train import TrainSettings
    from smsseg.provenance import rows_after

    stamp = parse_as_of(as_of, "--as-of")
    settings = settings or TrainSettings(horizon_days=horizon_days)
    dataset = load(data)
    after = rows_after(dataset, stamp)
    result = run_backtest(dataset, stamp, horizon_days, settings)
    if out is not None:
        write_backtest(result, out)
    run_id = None
    if mlflow:
        from smsseg.tracking import log_backtest

        run_id = log_backtest(result, experiment=experiment)
    return BacktestOutput(result, after, run_id)
