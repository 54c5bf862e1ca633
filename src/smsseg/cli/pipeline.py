"""``smsseg demo``: the main job end to end on a generated dataset (what ``make demo`` runs).

Each step is a :mod:`smsseg.pipeline` function, the same one its command calls, and prints what
that command prints: generate → validate → features → train → score → segment → plan → report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smsseg import config
from smsseg.cli.activation import print_plan
from smsseg.cli.app import ThreadsOption, app, console, handle_errors, print_rows_after
from smsseg.cli.data import print_summary
from smsseg.cli.models import print_scores, print_training
from smsseg.cli.segments import print_segments
from smsseg.pipeline.demo import DEMO_AS_OF, DEMO_GOALS
from smsseg.runtime import use_threads
from smsseg.timeutil import as_of_label, format_instant


@app.command()
@handle_errors
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's data and outputs.")] = Path(
        "demo"
    ),
    customers: Annotated[
        int, typer.Option(help="Customers to generate.")
    ] = config.DEFAULT_CUSTOMERS,
    seed: Annotated[int, typer.Option(help="Random seed of every step.")] = config.DEFAULT_SEED,
    as_of: Annotated[
        str,
        typer.Option(
            help="Instant the pipeline runs as of; the data is generated up to the day before "
            "(a date is 00:00 UTC, so its data is the days before it)."
        ),
    ] = DEMO_AS_OF,
    model: Annotated[
        str, typer.Option(help="Model name (saved to models/<name>) or a directory with a '/'.")
    ] = "demo",
    threads: ThreadsOption = 0,
) -> None:
    """Generate a dataset and run the whole pipeline on it, as of --as-of."""
    use_threads(threads)
    from smsseg import pipeline
    from smsseg.models.train import TrainSettings

    paths = pipeline.demo_layout(out, as_of)
    stamp, earlier = paths.as_of, paths.earlier

    _step("1/8 generate a retail dataset with planted truth")
    written = pipeline.generate(
        paths.data,
        customers=customers,
        seed=seed,
        start=config.DEFAULT_START,
        end=paths.last_day,
        progress=True,
    )
    console.print(f"[green]wrote[/] {len(written)} files to {paths.data}", highlight=False)
    _step("2/8 validate it and summarize")
    print_summary(pipeline.summary(paths.data))
    _step(f"3/8 point-in-time features as of {format_instant(stamp)} (data to {paths.last_day})")
    feats = pipeline.features(paths.data, stamp, paths.features)
    print_rows_after(feats.rows_after)
    console.print(
        f"[green]wrote[/] {feats.path}: {len(feats.frame):,} customers x "
        f"{feats.frame.shape[1]} features",
        highlight=False,
    )
    _step("4/8 train churn, discount, next-order and uplift models (tracked in MLflow)")
    trained = pipeline.train(
        paths.data, stamp, model=model, settings=TrainSettings(seed=seed), experiment="smsseg-demo"
    )
    print_training(trained)
    _step(f"5/8 score every customer as of {as_of_label(stamp)} (and {earlier}, for transitions)")
    print_scores(pipeline.score(paths.data, stamp, paths.scores, model=model))
    print_scores(pipeline.score(paths.data, earlier, paths.earlier_scores, model=model))
    _step("6/8 value tiers and the twelve SMS segments")
    segmented = pipeline.segment(
        paths.data,
        stamp,
        paths.scores,
        paths.segments,
        transitions_from=earlier,
        scores_from=paths.earlier_scores,
        seed=seed,
    )
    print_segments(segmented)
    _step("7/8 send plan: consent, caps, quiet hours, sunset, holdouts, audiences")
    planned = pipeline.plan(paths.segments, paths.data, stamp, DEMO_GOALS, paths.plan, seed=seed)
    print_plan(planned)
    _step("8/8 the run report")
    report = pipeline.report(paths.out, paths.report, model=model)
    console.print(f"[green]wrote[/] report to {report}", highlight=False)

    console.rule("done")
    console.print(f"report:    {report.resolve()}", highlight=False)
    console.print(f"audiences: {(paths.plan / 'audiences').resolve()}", highlight=False)
    console.print(f"models:    {config.model_dir(model).resolve()}", highlight=False)
    console.print(
        f"MLflow:    mlflow ui --backend-store-uri {config.tracking_uri()}", highlight=False
    )


def _step(title: str) -> None:
    console.rule(f"[bold]{title}")
