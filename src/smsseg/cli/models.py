"""Model commands: ``train`` (churn, discount, next-order and uplift models) and ``score``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from smsseg import config
from smsseg.cli.app import app, console, handle_errors, progress, report_as_of
from smsseg.errors import SmssegError
from smsseg.spark.engine import ENGINE_HELP, SPARK_MASTER_HELP
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


#: Options shared by ``train`` and ``backtest`` (the same training either way).
SnapshotsOption = Annotated[
    int | None,
    typer.Option(help="Training snapshots (default 12; history permitting, see docs/models.md)."),
]
SpacingOption = Annotated[
    int | None, typer.Option(help="Days between snapshots (default max(7, horizon / 6)).")
]
SeedOption = Annotated[int, typer.Option(help="Seed of every random step.")]
ThreadsOption = Annotated[int, typer.Option(help="LightGBM threads (0: all cores).")]


def _progress() -> Progress:
    return progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )


def _metric_table(title: str, table: pd.DataFrame) -> Table:
    out = Table(title=title)
    out.add_column("score")
    for label in METRIC_LABELS.values():
        out.add_column(label, justify="right")
    for name in table.index:
        out.add_row(name, *(f"{table.loc[name, key]:.4f}" for key in METRIC_LABELS))
    return out


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


def _print_training(result, logged: dict, model_dir: Path, uri: str | None) -> None:
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
    data: Annotated[
        Path, typer.Option(help="Directory of contract tables (customers and orders at least).")
    ],
    as_of: Annotated[
        str, typer.Option("--as-of", help=AS_OF_HELP + " Training uses only data up to it.")
    ],
    horizon_days: Annotated[
        int, typer.Option(help="Churn horizon: no order within this many days.")
    ] = 90,
    experiment: Annotated[
        str, typer.Option(help="MLflow experiment (and registered model) prefix.")
    ] = "smsseg",
    name: Annotated[
        str, typer.Option(help="Save the models to models/<name> (or a path).")
    ] = "smsseg",
    snapshots: SnapshotsOption = None,
    spacing_days: SpacingOption = None,
    seed: SeedOption = config.DEFAULT_SEED,
    threads: ThreadsOption = 0,
    mlflow: Annotated[
        bool, typer.Option("--mlflow/--no-mlflow", help="Log runs and register models.")
    ] = True,
) -> None:
    """Train churn, discount-sensitivity, next-order and (with a randomized test) uplift models."""
    from smsseg._io import write_parquet
    from smsseg.data.load import load
    from smsseg.models.bundle import save_bundle
    from smsseg.models.train import STEPS, TrainSettings, train_models

    stamp = parse_as_of(as_of, "--as-of")
    if horizon_days < 1:
        raise SmssegError(f"--horizon-days={horizon_days} must be >= 1")
    dataset = load(data)
    report_as_of(dataset, stamp)
    settings = TrainSettings(
        horizon_days=horizon_days,
        n_snapshots=snapshots,
        spacing_days=spacing_days,
        seed=seed,
        n_jobs=threads or None,
    )
    with _progress() as bar:
        task = bar.add_task("training", total=len(STEPS))

        def step(label: str) -> None:
            bar.update(task, description=f"training: {label}", completed=STEPS.index(label))

        result = train_models(dataset, stamp, settings, progress=step)
        bar.update(task, description="training: done", completed=len(STEPS))
    logged, uri = {}, None
    if mlflow:
        from smsseg.models.mlflow_runs import log_training
        from smsseg.models.tracking import configure

        uri = configure()
        logged = log_training(result, dataset, experiment=experiment, uri=uri)
    else:
        result.bundle.meta["version"] = f"{name}@{result.bundle.meta['as_of']}"
    # a bare name lives under models/; only something that looks like a path is taken as one
    model_dir = Path(name) if ("/" in name or name.startswith(".")) else config.MODELS_DIR / name
    save_bundle(result.bundle, model_dir)
    # the out-of-time rows with labels and every score: ROC / calibration / lift in the report
    write_parquet(result.churn_test, model_dir / "churn_test.parquet", index=False)
    _print_training(result, logged, model_dir, uri)


@app.command()
@handle_errors
def score(
    data: Annotated[Path, typer.Option(help="Directory of contract tables.")],
    as_of: Annotated[
        str, typer.Option("--as-of", help=AS_OF_HELP + " Features use only data up to it.")
    ],
    out: Annotated[Path, typer.Option(help="Parquet file to write the scores to.")],
    model: Annotated[
        str, typer.Option(help="Model name under models/ or a model directory.")
    ] = "smsseg",
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
            "not the dormant); 0 = no limit.",
        ),
    ] = 180.0,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "duckdb",
    spark_master: Annotated[str | None, typer.Option(help=SPARK_MASTER_HELP)] = None,
) -> None:
    """Score every customer: churn risk, discount sensitivity, uplift, CLV, next order date, reasons."""
    from smsseg._io import write_parquet
    from smsseg.models.bundle import load_bundle, resolve_model_dir
    from smsseg.models.scoring import RiskBands
    from smsseg.provenance import for_data
    from smsseg.spark.engine import check_engine, load_data, score_customers_on

    stamp = parse_as_of(as_of, "--as-of")
    if reasons_max_recency < 0:
        raise SmssegError(f"--reasons-max-recency={reasons_max_recency} must be >= 0 (0: no limit)")
    bands = RiskBands(high=high, medium=medium)
    reason_bands = [b.strip() for b in reasons_for.split(",") if b.strip()]
    bundle = load_bundle(resolve_model_dir(model))
    dataset = load_data(data, check_engine(engine), spark_master)
    report_as_of(dataset, stamp)
    with _progress() as bar:
        task = bar.add_task("features", total=None)
        scores, timings = score_customers_on(
            engine,
            dataset,
            stamp,
            bundle,
            bands,
            reason_bands,
            progress=lambda s: bar.update(task, description=f"features: {s}"),
            reasons_max_recency_days=reasons_max_recency or None,
        )
        bar.update(task, description="scored", total=1, completed=1)
    # segment and plan check these against their own as-of and data directory
    provenance = for_data("scores", stamp, data, model_version=bundle.version)
    write_parquet(scores, out, index=False, metadata=provenance.to_metadata())
    counts = scores["churn_risk_band"].value_counts()
    console.print(
        f"[green]wrote[/] {len(scores):,} scores to {out} with model {bundle.version}: "
        + ", ".join(f"{band} {int(counts.get(band, 0)):,}" for band in ("high", "medium", "low"))
        + f"; reasons for {scores.attrs.get('n_reasons', 0):,} at-risk customers "
        f"({scores.attrs.get('n_reasons_skipped_dormant', 0):,} dormant ones skipped)",
        highlight=False,
    )
    console.print(
        "time: " + ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in timings.items()), highlight=False
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
    ] = 90,
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
    from smsseg.data.load import load
    from smsseg.models.backtest import BACKTEST_SCORES, run_backtest, write_backtest
    from smsseg.models.train import TrainSettings

    stamp = parse_as_of(as_of, "--as-of")
    settings = TrainSettings(
        horizon_days=horizon_days,
        n_snapshots=snapshots,
        spacing_days=spacing_days,
        seed=seed,
        n_jobs=threads or None,
    )
    dataset = load(data)
    report_as_of(dataset, stamp, held_out=True)
    with _progress() as bar:
        task = bar.add_task("backtest: training and scoring as of T", total=None)
        result = run_backtest(dataset, stamp, horizon_days, settings)
        bar.update(task, description="backtest: done", total=1, completed=1)
    summary = result.summary()
    for population, table in result.tables.items():
        if table is not None:
            headline = " (headline)" if population == result.headline else ""
            console.print(
                _metric_table(
                    f"Realized churn in ({as_of_label(stamp)}, +{horizon_days} days], {population}"
                    f"{headline}: {int(table.loc['smsseg', 'n']):,} customers",
                    table.loc[list(BACKTEST_SCORES)],
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
        write_backtest(result, out)
        console.print(f"[green]wrote[/] {out}", highlight=False)
    if mlflow:
        from smsseg.models.mlflow_runs import log_backtest

        run_id = log_backtest(result, experiment=experiment)
        console.print(f"MLflow: run {run_id} in {experiment}-backtest", highlight=False)
