"""Report section of ``smsseg backtest``: trained as of T, judged on the realized ``(T, T + H]``.

Reads what :func:`smsseg.models.backtest.write_backtest` wrote: ``backtest.json`` (summary, one
metrics table per population, the training run's reported metrics, the snapshot plan, notes),
``backtest_predictions.parquet`` (one row per customer: realized churn, population, every score)
for the ROC and calibration curves, and ``calibration.png`` when the rows are missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg.report import metrics
from smsseg.report.discover import BACKTEST_JSON, BACKTEST_PREDICTIONS, RunFiles
from smsseg.report.html import NOT_AVAILABLE, Section, esc, figure, figures, kpis, note, png

#: The scores a backtest compares, in table order (``smsseg.models.backtest.BACKTEST_SCORES``).
SCORES = ("smsseg", "bgnbd", "recency_rule")
#: In a backtest ``bgnbd`` is BG/NBD's own P(no purchase in the horizon), not calibrated.
LABELS = {"smsseg": "smsseg (deployed score)", "bgnbd": "BG/NBD P(no purchase)",
          "recency_rule": "recency rule"}  # fmt: skip


def _label(key: str) -> str:
    return LABELS.get(key) or metrics.score_label(key)


def _kpis(summary: dict) -> str:
    horizon = summary.get("horizon_days")
    return kpis({
        "as of (T)": str(summary.get("as_of", "?"))[:10],
        "horizon": f"{horizon} days" if horizon is not None else "?",
        "deployed churn scorer": metrics.scorer_label("churn", summary.get("scorer", "?")),
        "validation at training": metrics.VALIDATION_KINDS.get(
            str(summary.get("validation")), str(summary.get("validation", "?"))),
        "headline population": str(summary.get("population", "?")),
        "customers": metrics.number(summary.get("n"), ",.0f"),
        "realized churn rate": metrics.number(summary.get("churn_rate"), ".1%"),
        "AUC forecast by train": metrics.number(summary.get("reported_auc")),
        "test AUC at training": metrics.number(summary.get("test_auc")),
        "AUC realized": metrics.number(summary.get("smsseg.roc_auc")),
        "reported − realized": metrics.number(summary.get("reported_minus_realized"), "+.4f"),
        "AUC gain over BG/NBD": metrics.number(summary.get("gain_vs_bgnbd"), "+.4f"),
    })  # fmt: skip


def _tables(tables: dict, headline: str) -> list[str]:
    parts = []
    for population in metrics.population_order(tables, headline):
        block = {_label(k): v for k, v in tables[population].items()}
        title = metrics.population_title(population, headline, tables[population])
        parts += [
            f"<h3>Realized churn: {esc(title)}</h3>",
            metrics.metrics_table(block, [_label(k) for k in SCORES]),
        ]
    return parts or [note("No population of the backtest has customers.")]


def _curves(folder: Path, headline: str) -> str:
    """ROC and calibration of the headline population from the per-customer rows."""
    path = folder / BACKTEST_PREDICTIONS
    if not path.is_file():
        if (folder / "calibration.png").is_file():
            return figures(png(folder / "calibration.png", "backtest calibration"))
        return note(f"Backtest curves: {NOT_AVAILABLE} (no {BACKTEST_PREDICTIONS}).")
    from smsseg.models.plots import calibration_figure, roc_figure

    rows = pd.read_parquet(path)
    if headline in ("buyers", "prospects") and "population" in rows:
        rows = rows[rows["population"].astype(str) == headline]
    shown = [c for c in SCORES if c in rows] or [
        c for c in rows.select_dtypes("number").columns if c != "churn"
    ]
    y = rows["churn"].to_numpy(dtype=np.int64)
    if not shown or len(np.unique(y)) < 2:
        return note(f"Backtest curves: the {headline} rows hold one class only, no curves.")
    scores = {_label(c): rows[c].to_numpy(dtype=float) for c in shown}
    return f"<h3>Curves on the realized future ({esc(headline)})</h3>" + figures(
        figure(roc_figure(y, scores), "backtest ROC"),
        figure(calibration_figure(y, scores), "backtest calibration"),
    )


def backtest_section(run: RunFiles) -> Section:
    """KPIs, the realized metrics per population, ROC and calibration curves, the notes."""
    sec = Section("backtest", "Backtest on the realized future")
    if run.backtest is None:
        return sec.add(
            note(f"Backtest: {NOT_AVAILABLE} (smsseg backtest --out FOLDER writes one).")
        )
    report = json.loads((run.backtest / BACKTEST_JSON).read_text(encoding="utf-8"))
    summary = report.get("summary") or {}
    headline = str(summary.get("population") or "buyers")
    as_of, horizon = str(summary.get("as_of", "?"))[:10], summary.get("horizon_days", "?")
    sec.add(
        note(
            f"Trained and scored as of {as_of} with the data up to {as_of} only, then compared "
            f"with what really happened: churn = no completed order in the next {horizon} days."
        ),
        _kpis(summary),
    )
    if report.get("validation"):
        sec.add(note(metrics.describe_validation(report["validation"])))
    sec.add(*_tables({k: v for k, v in (report.get("tables") or {}).items() if v}, headline))
    sec.add(_curves(run.backtest, headline))
    for text in report.get("notes") or []:
        sec.add(note(str(text)))
    return sec
