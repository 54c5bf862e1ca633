"""Model commands: ``train`` (churn, discount, next-order and uplift models) and ``score``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from smsseg import config
from smsseg.cli.app import (
    Column,
    ThreadsOption,
    app,
    console,
    fitted_table,
    handle_errors,
    print_rows_after,
    progress,
)
from smsseg.runtime import use_threads
from smsseg.spark.engine import DATA_HELP, DEFAULT_SAMPLE, ENGINE_HELP, SPARK_MASTER_HELP
from smsseg.timeutil import AS_OF_HELP, as_of_label, parse_as_of

METRIC_LABELS = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "log_loss": "log-loss",
    "ece": "ECE",
    "lift_top_decile": "lift@10%",
    "capture_top_decile": "capture@10%",
}

#: Metrics left out of the terminal table when it is too narrow (the MLflow run has them all).
OPTIONAL_METRICS = ("ece", "capture_top_decile")

#: Options shared by ``train`` and ``backtest`` (the same training either way).
SnapshotsOption = Annotated[
    int | None,
    typer.Option(help="Training snapshots (default 12; history permitting, see docs/models.md)."),
]
SpacingOption = Annotated[
    int | None, typer.Option(help="Days between snapshots (default max(7, horizon / 6)).")
]
SeedOption = Annotated[int, typer.Option(help="Seed of every random step.")]


def _settings(horizon_days, snapshots, spacing_days, seed, threads):
    """The :class:`~smsseg.models.train.TrainSettings` of the shared train/backtest options."""
    from smsseg.models.train import TrainSettings

    return TrainSettings(
        horizon_days=horizon_days,
        n_snapshots=snapshots,
        spacing_days=spacing_days,
        seed=seed,
        n_jobs=use_threads(threads),
    )


def _progress() -> Progress:
    return progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )


def _metric_table(
    title: str, table: pd.DataFrame, full: str = "bundle.json (and the MLflow run)"
) -> Table:
    columns = [Column("score", label=True)] + [
        Column(label, optional=key in OPTIONAL_METRICS) for key, label in METRIC_LABELS.items()
    ]
    rows = [
        (str(name), *(f"{table.loc[name, key]:.4f}" for key in METRIC_LABELS))
        for name in table.index
    ]
    return fitted_table(title, columns, rows, full=full)


def _print_churn(result) -> None:
    from smsseg.models.metrics import improvement

    console.print(result.plan.describe(), highlight=False)
    if result.churn_table is None:
        return
    for population, table in result.churn_tables.items():
        if table is None or (population == "all" and result.churn_tables.get("prospects") is None):
            continue  # no prospects: "all" repeats the buyers' table
        headline = " (headline)" if population == result.headline else ""
        console.print(
            _metric_table(
                f"Churn, {population}{headline}: {int(table.loc['model', 'n']):,} test rows",
                table,
            )
        )
    for baseline in ("bgnbd_raw", "recency_rule"):
        gain = improvement(result.churn_table, result.champion, baseline)
        console.print(
            f"{result.champion} vs {baseline}: ROC-AUC {gain['roc_auc_gain']:+.4f}, "
            f"PR-AUC {gain['pr_auc_gain']:+.4f}, Brier {-gain['brier_reduction']:+.4f}, "
            f"lift@10% {gain['lift_top_decile_gain']:+.2f}",
            highlight=False,
        )
    forecast = result.bundle.meta["metrics"].get("churn_forecast") or {}
    if forecast:
        console.print(
            f"Expected ROC-AUC on the {forecast['population']} as of {result.bundle.meta['as_of']}"
            f" over the next {result.settings.horizon_days} days: {forecast['roc_auc']:.4f} "
            f"(test {forecast['test_roc_auc']:.4f}, moved by the shift in expected AUC from the "
            "test snapshot to the as-of date)",
            highlight=False,
        )


def print_training(done) -> None:
    """What ``train`` prints of a :class:`smsseg.pipeline.TrainOutput`."""
    result, logged, model_dir, uri = done.result, done.logged, done.model_dir, done.tracking_uri
    print_rows_after(done.rows_after)
    _print_churn(result)
    if result.discount_table is not None:
        console.print(
            _metric_table(
                "Discount sensitivity (next order used a discount)", result.discount_table
            )
        )
    if "mae_days" in result.next_order_metrics:
        m = result.next_order_metrics
        console.print(
            f"next order: MAE {m['mae_days']:.1f} days (median rule {m['mae_days_median_rule']:.1f})"
        )
    if result.uplift is not None:
        up = result.uplift
        console.print(
            f"uplift ({up.campaign}, {up.n_test:,} held-out customers, ATE {up.ate_test:+.4f}): "
            + ", ".join(f"{k} {v}" for k, v in up.metrics.items()),
            highlight=False,
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(f"[green]saved[/] model {result.bundle.version} to {model_dir}", highlight=False)
    if logged:
        console.print(
            f"MLflow: runs in {', '.join(v.experiment for v in logged.values())}; open with\n"
            f"  mlflow ui --backend-store-uri {uri}",
            highlight=False,
        )


@app.command()
@handle_errors
def train(
    data: Annotated[str, typer.Option(help=DATA_HELP + " (customers and orders at least).")],
    as_of: Annotated[
        str, typer.Option("--as-of", help=AS_OF_HELP + " Training uses only data up to it.")
    ],
    horizon_days: Annotated[
        int, typer.Option(help="Churn horizon: no order within this many days.")
    ] = config.DEFAULT_HORIZON_DAYS,
    experiment: Annotated[
        str, typer.Option(help="MLflow experiment (and registered model) prefix.")
    ] = "smsseg",
    model: Annotated[
        str, typer.Option(help="Model name (saved to models/<name>) or a directory with a '/'.")
    ] = config.DEFAULT_MODEL_NAME,
    snapshots: SnapshotsOption = None,
    spacing_days: SpacingOption = None,
    seed: SeedOption = config.DEFAULT_SEED,
    threads: ThreadsOption = 0,
    mlflow: Annotated[
        bool, typer.Option("--mlflow/--no-mlflow", help="Log runs and register models.")
    ] = True,
    max_customers: Annotated[
        int,
        typer.Option(
            "--max-customers",
            help="Train on a seeded sample of this many customers when the data has more "
            "(all their rows; see docs/models.md); 0 = every customer.",
        ),
    ] = config.DEFAULT_MAX_TRAIN_CUSTOMERS,
    engine: Annotated[
        str,
        typer.Option(
            help="duckdb (default; trains on --max-customers) or spark: draw a stratified sample of "
            "customers on Spark and train on it here (training is single-node; docs/spark.md)."
        ),
    ] = "duckdb",
    spark_master: Annotated[str | None, typer.Option(help=SPARK_MASTER_HELP)] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            help=f"With --engine spark: customers in the training sample (default "
            f"{DEFAULT_SAMPLE:,}), stratified by buyer/prospect and churn label, seeded by --seed."
        ),
    ] = None,
) -> None:
    """Train churn, discount-sensitivity, next-order and (with a randomized test) uplift models."""
    from smsseg import pipeline
    from smsseg.models.train import STEPS

    settings = _settings(horizon_days, snapshots, spacing_days, seed, threads)
    settings.max_customers = max_customers or None
    with _progress() as bar:
        task = bar.add_task("training", total=len(STEPS))

        def step(label: str) -> None:
            bar.update(task, description=f"training: {label}", completed=STEPS.index(label))

        done = pipeline.train(
            data,
            as_of,
            model=model,
            settings=settings,
            experiment=experiment,
            mlflow=mlflow,
            progress=step,
            engine=engine,
            spark_master=spark_master,
            sample=sample,
        )
        bar.update(task, description="training: done", completed=len(STEPS))
    print_training(done)


@app.command()
@handle_errors
def score(
    data: Annotated[str, typer.Option(help=DATA_HELP)],
    as_of: Annotated[
        str, typer.Option("--as-of", help=AS_OF_HELP + " Features use only data up to it.")
    ],
    out: Annotated[Path, typer.Option(help="Parquet file to write the scores to.")],
    model: Annotated[
        str, typer.Option(help="Model name (under models/) or a directory with a '/'.")
    ] = config.DEFAULT_MODEL_NAME,
    high: Annotated[
        float, typer.Option(help="Churn probability above which the risk band is high.")
    ] = 0.7,
    medium: Annotated[
        float, typer.Option(help="Churn probability from which the risk band is medium.")
    ] = 0.4,
    reasons_for: Annotated[
        str, typer.Option(help="Risk bands that get reasons, comma-separated.")
    ] = "high",
    reasons_max_recency: Annotated[
        float,
        typer.Option(
            "--reasons-max-recency",
            help="Reasons only for customers with an order within this many days (the at-risk, "
            "not the dormant); 0 = the whole band.",
        ),
    ] = 0.0,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "duckdb",
    spark_master: Annotated[str | None, typer.Option(help=SPARK_MASTER_HELP)] = None,
    threads: ThreadsOption = 0,
) -> None:
    """Score every customer: churn risk, discount sensitivity, uplift, CLV, next order date, reasons."""
    use_threads(threads)
    from smsseg import pipeline
    from smsseg.models.scoring import RiskBands

    with _progress() as bar:
        task = bar.add_task("features", total=None)
        done = pipeline.score(
            data,
            as_of,
            out,
            model=model,
            bands=RiskBands(high=high, medium=medium),
            reasons_for=[b.strip() for b in reasons_for.split(",") if b.strip()],
            reasons_max_recency=reasons_max_recency,
            progress=lambda s: bar.update(task, description=f"features: {s}"),
            engine=engine,
            spark_master=spark_master,
        )
        bar.update(task, description="scored", total=1, completed=1)
    print_scores(done)


def print_scores(done) -> None:
    """What ``score`` prints of a :class:`smsseg.pipeline.ScoreOutput`."""
    scores = done.scores
    print_rows_after(done.rows_after)
    counts = scores["churn_risk_band"].value_counts()
    console.print(
        f"[green]wrote[/] {len(scores):,} scores to {done.path} with model {done.model_version}: "
        + ", ".join(f"{band} {int(counts.get(band, 0)):,}" for band in ("high", "medium", "low"))
        + f"; reasons for {scores.attrs.get('n_reasons', 0):,} customers"
        + (
            f" ({skipped:,} dormant ones skipped)"
            if (skipped := scores.attrs.get("n_reasons_skipped_dormant", 0))
            else ""
        ),
        highlight=False,
    )
    console.print(
        "time: " + ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in done.timings.items()),
        highlight=False,
    )
    for note in scores.attrs.get("notes", []):
        console.print(f"[yellow]note:[/] {note}", highlight=False)


@app.command()
@handle_errors
def backtest(
    data: Annotated[Path, typer.Option(help="Directory of contract tables, with data after T.")],
    as_of: Annotated[
        str,
        typer.Option("--as-of", help=AS_OF_HELP + " T: train and score with data up to it only."),
    ],
    horizon_days: Annotated[
        int, typer.Option(help="Churn horizon H; T + H must be within the data.")
    ] = config.DEFAULT_HORIZON_DAYS,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for backtest.json, predictions and the calibration plot."),
    ] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment prefix.")] = "smsseg",
    snapshots: SnapshotsOption = None,
    spacing_days: SpacingOption = None,
    seed: SeedOption = config.DEFAULT_SEED,
    threads: ThreadsOption = 0,
    mlflow: Annotated[
        bool, typer.Option("--mlflow/--no-mlflow", help="Log the backtest to MLflow.")
    ] = True,
) -> None:
    """Train as of T on data up to T, score as of T, and compare with the realized (T, T + H]."""
    from smsseg import pipeline
    from smsseg.models.backtest import BACKTEST_SCORES

    stamp = parse_as_of(as_of, "--as-of")
    settings = _settings(horizon_days, snapshots, spacing_days, seed, threads)
    with _progress() as bar:
        task = bar.add_task("backtest: training and scoring as of T", total=None)
        done = pipeline.backtest(
            data,
            stamp,
            horizon_days=horizon_days,
            settings=settings,
            out=out,
            experiment=experiment,
            mlflow=mlflow,
        )
        bar.update(task, description="backtest: done", total=1, completed=1)
    print_rows_after(done.rows_after, held_out=True)
    result = done.result
    summary = result.summary()
    for population, table in result.tables.items():
        if table is not None:
            headline = " (headline)" if population == result.headline else ""
            console.print(
                _metric_table(
                    f"Realized churn in ({as_of_label(stamp)}, +{horizon_days} days], {population}"
                    f"{headline}: {int(table.loc['smsseg', 'n']):,} customers",
                    table.loc[list(BACKTEST_SCORES)],
                    full="backtest.json (--out) and the MLflow run",
                )
            )
    console.print(
        f"smsseg scorer: {summary['scorer']}; validation: {summary['validation']}; "
        f"AUC reported by train {summary['reported_auc']:.4f}, realized "
        f"{summary['smsseg.roc_auc']:.4f} (gap {summary['reported_minus_realized']:+.4f}); "
        f"gain over BG/NBD reported {summary['reported_gain_vs_bgnbd']:+.4f}, realized "
        f"{summary['gain_vs_bgnbd']:+.4f}",
        highlight=False,
    )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if out is not None:
        console.print(f"[green]wrote[/] {out}", highlight=False)
    if done.run_id is not None:
        console.print(f"MLflow: run {done.run_id} in {experiment}-backtest", highlight=False)
