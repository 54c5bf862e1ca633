"""Activation steps: the send plan, and the run report."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from smsseg import config
from smsseg.errors import SmssegError, SmssegWarning
from smsseg.pipeline._types import PathLike
from smsseg.timeutil import as_of_label, parse_as_of

if TYPE_CHECKING:
    from smsseg.activation.plan import Plan
    from smsseg.provenance import RowsAfter

#: Tables a plan reads whatever their dates: the consent history, the promotions calendar.
READ_WHOLE = ("sms", "promotions")


@dataclass(frozen=True)
class PlanOutput:
    """A send plan, the files written (name → path), its model version, the rows after as-of."""

    plan: Plan
    paths: dict[str, Path]
    model_version: str | None
    rows_after: RowsAfter


def _segments_version(
    segments: Path, as_of: pd.Timestamp, data: PathLike, fingerprint: str | None
) -> str | None:
    """Refuse segments (and so scores) of another as-of or data; their model version.

    A folder without ``membership.parquet`` or an unreadable one is left to
    :func:`~smsseg.activation.run.run_plan`, which says what is wrong with it.
    """
    from smsseg.provenance import check_source, read_provenance

    path = segments / "membership.parquet"
    if not path.is_file():
        return None
    try:
        found = read_provenance(path)
    except Exception:  # not Parquet: pyarrow raises several types; run_plan reports it
        return None
    warning = check_source(
        found,
        f"segments {path}",
        as_of=as_of,
        fingerprint=fingerprint,
        data_dir=data,
        remedy=(
            f"run `smsseg score` and `smsseg segment` on this data as of {as_of_label(as_of)} first"
        ),
    )
    if warning:
        warnings.warn(warning, SmssegWarning, stacklevel=3)
    return None if found is None else found.model_version


def plan(
    segments: PathLike,
    data: PathLike,
    as_of: object,
    goals: Sequence[str],
    out: PathLike,
    *,
    holdout: float = 0.1,
    seed: int = config.DEFAULT_SEED,
    policy: PathLike | None = None,
    catalogue: PathLike | None = None,
    priority: str | None = None,
) -> PlanOutput:
    """Turn segments into a send plan: consent, caps, quiet hours, sunset, holdouts, audiences.

    Parameters
    ----------
    segments : output folder of the segment step (as of the same instant, on the same data).
    data : directory of contract tables.
    as_of : the instant; the plan's sends start the next day.
    goals : campaign goals (see ``docs/activation.md``).
    out : folder for ``plan.parquet``, ``plan.json``, ``audiences/`` and ``suppressed.csv``.
    holdout : control share of each campaign.
    seed : seed of the holdout draw.
    policy, catalogue : TOML files overriding the activation policy / the segment catalogue.
    priority : which campaign wins a capped send: ``value`` (default), ``policy`` or goals
        ``a,b,c`` (see ``docs/activation.md``); ``None`` keeps the policy's setting.
    """
    from smsseg.activation.run import run_plan
    from smsseg.data.load import load
    from smsseg.provenance import data_fingerprint, for_data, rows_after, stamp_parquet

    stamp = parse_as_of(as_of, "--as-of")
    fingerprint = data_fingerprint(data)
    version = _segments_version(Path(segments), stamp, data, fingerprint)
    result, paths = run_plan(
        segments,
        data,
        stamp,
        goals,
        out,
        holdout=holdout,
        seed=seed,
        policy_path=policy,
        catalogue_path=catalogue,
        priority=priority,
    )
    stamp_parquet(
        paths["plan.parquet"],
        for_data("plan", stamp, data, model_version=version, fingerprint=fingerprint),
    )
    # run_plan validated the data; the count reads it again without a second check. Consent
    # (the SMS table) is read whatever its date, so its later rows are not "left out".
    dataset = load(data, validate=False)
    after = rows_after(dataset, stamp, [t for t in dataset.present if t not in READ_WHOLE])
    return PlanOutput(result, paths, version, after)


def report(
    run: PathLike,
    out: PathLike | None = None,
    *,
    model: str | PathLike | None = None,
    backtest: PathLike | None = None,
    data: PathLike | None = None,
    flows_backtest: PathLike | None = None,
) -> Path:
    """Write the self-contained HTML report of a run folder; returns its path.

    Parameters
    ----------
    run : the run folder (e.g. the demo folder).
    out : HTML file (default ``run/report.html``).
    model : a model name or directory (:func:`smsseg.models.bundle.model_dir`), when the model is
        not inside ``run``.
    backtest : folder written by the backtest step (``backtest.json``), when not inside ``run``.
    data : directory of contract tables, when not inside ``run``.
    flows_backtest : folder written by ``smsseg flows backtest``, when not inside ``run``.
    """
    from smsseg.models.bundle import model_dir
    from smsseg.pipeline.models import CHURN_TEST_FILE
    from smsseg.report import render_report

    run = Path(run)
    overrides: dict[str, Path] = {}
    if model is not None:
        directory = model_dir(model)  # a missing model is a note in the report, not an error
        overrides["bundle_dir"] = directory
        if (directory / CHURN_TEST_FILE).is_file():
            overrides["predictions"] = directory / CHURN_TEST_FILE
    if backtest is not None:
        backtest = Path(backtest)
        if not (backtest / "backtest.json").is_file() and not (
            backtest.name == "backtest.json" and backtest.is_file()
        ):
            raise SmssegError(
                f"--backtest {backtest} has no backtest.json (give the folder of "
                "smsseg backtest --out)"
            )
        overrides["backtest"] = backtest
    if flows_backtest is not None:
        flows_backtest = Path(flows_backtest)
        if not (flows_backtest / "by_flow.csv").is_file():
            raise SmssegError(
                f"--flows-backtest {flows_backtest} has no by_flow.csv (give the folder of "
                "smsseg flows backtest --out)"
            )
        overrides["flows_backtest"] = flows_backtest
    if data is not None:
        overrides["data_dir"] = Path(data)
    return render_report(run, out or run / "report.html", **overrides)
