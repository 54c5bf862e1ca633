"""``smsseg demo``: the main job end to end on a generated dataset (what ``make demo`` runs).

Each step is the same command a user would type, called in order, so the demo exercises exactly
the code paths of the CLI: generate → validate → features → train → score → segment → plan →
report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from smsseg import config
from smsseg.cli import activation, data, features, models, segments
from smsseg.cli.app import app, console, handle_errors
from smsseg.timeutil import as_of_label, format_instant, parse_as_of

#: Every campaign goal of the guide, planned together in the demo.
DEMO_GOALS = [
    "recover_abandoned_carts",
    "drive_repeat_purchases",
    "promote_flash_sale",
    "re_engage_inactive",
    "back_in_stock",
    "loyalty_engagement",
    "local_marketing",
    "protect_high_value",
    "reduce_churn",
    "improve_engagement",
]
#: How far back the demo looks for segment transitions.
TRANSITION_DAYS = 30
#: The demo runs as of the midnight that ends the generated history (config.DEFAULT_END): a
#: bare date is 00:00 UTC, so ``--as-of 2025-12-31`` would leave the last day of data out.
DEMO_AS_OF = (pd.Timestamp(config.DEFAULT_END) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")


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
    model_name: Annotated[str, typer.Option(help="Model name under models/.")] = "demo",
) -> None:
    """Generate a dataset and run the whole pipeline on it, as of --as-of."""
    data_dir = out / "data"
    stamp = parse_as_of(as_of, "--as-of")
    # the history ends with the day before a midnight as-of (so the run sees all of it); an
    # as-of within a day generates that day whole, and the steps say what they leave out
    last_day = (stamp.ceil("D") - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    earlier = (stamp - pd.Timedelta(days=TRANSITION_DAYS)).strftime("%Y-%m-%d")
    paths = {
        "features": out / "features.parquet",
        "scores": out / "scores.parquet",
        "earlier scores": out / f"scores_{earlier}.parquet",
        "segments": out / "segments",
        "plan": out / "plan",
        "report": out / "report.html",
    }

    _step("1/8 generate a retail dataset with planted truth")
    data.generate(
        out=data_dir, customers=customers, seed=seed, start=config.DEFAULT_START, end=last_day
    )
    _step("2/8 validate it and summarize")
    data.summary(data_dir)
    _step(f"3/8 point-in-time features as of {format_instant(stamp)} (data to {last_day})")
    features.features(data=data_dir, as_of=as_of, out=paths["features"])
    _step("4/8 train churn, discount, next-order and uplift models (tracked in MLflow)")
    models.train(data=data_dir, as_of=as_of, name=model_name, experiment="smsseg-demo", seed=seed)
    _step(f"5/8 score every customer as of {as_of_label(stamp)} (and {earlier}, for transitions)")
    models.score(data=data_dir, as_of=as_of, out=paths["scores"], model=model_name)
    models.score(data=data_dir, as_of=earlier, out=paths["earlier scores"], model=model_name)
    _step("6/8 value tiers and the twelve SMS segments")
    segments.segment(
        data=data_dir,
        as_of=as_of,
        scores=paths["scores"],
        out=paths["segments"],
        transitions_from=earlier,
        scores_from=paths["earlier scores"],
        seed=seed,
    )
    _step("7/8 send plan: consent, caps, quiet hours, sunset, holdouts, audiences")
    activation.plan(
        segments=paths["segments"],
        data=data_dir,
        as_of=as_of,
        goal=DEMO_GOALS,
        out=paths["plan"],
        seed=seed,
    )
    _step("8/8 the run report")
    activation.report(run=out, out=paths["report"], models=config.MODELS_DIR / model_name)

    console.rule("done")
    console.print(f"report:    {paths['report'].resolve()}", highlight=False)
    console.print(f"audiences: {(paths['plan'] / 'audiences').resolve()}", highlight=False)
    console.print(f"models:    {(config.MODELS_DIR / model_name).resolve()}", highlight=False)
    console.print(
        f"MLflow:    mlflow ui --backend-store-uri {config.tracking_uri()}", highlight=False
    )


def _step(title: str) -> None:
    console.rule(f"[bold]{title}")
