"""Churn on real data: ``smsseg backtest`` on CDNOW at three as-of dates and two horizons.

Run by hand::

    .venv/bin/python benchmarks/bench_churn_realdata.py [--threads 1] [--no-mlflow]

For each as-of ``T`` in 1997-06-30, 1997-09-30, 1997-12-31 and horizon ``H`` in 91, 182 days:
train with the defaults of ``smsseg train`` on the data up to ``T`` only, score as of ``T`` and
compare with the realized label "no completed order in (T, T + H]" on buyers (every CDNOW
customer is one): ROC-AUC, PR-AUC, Brier and 10-bin ECE of smsseg's deployed score, smsseg's
BG/NBD P(no purchase) and the recency rule, next to the out-of-time AUC ``train`` reported.
This is :func:`smsseg.models.backtest.run_backtest`, the code behind ``smsseg backtest``.

Goals (issue 15): smsseg >= BG/NBD on every row, mean AUC gain >= +0.01, ECE <= 0.03,
|reported - realized AUC| <= 0.03. Writes ``benchmarks/results/churn_realdata.json`` / ``.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
from _data import cdnow_dir

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
AS_OFS = ("1997-06-30", "1997-09-30", "1997-12-31")
HORIZONS = (91, 182)


def _row(data, as_of: str, horizon: int, threads: int, mlflow: bool) -> dict:
    from smsseg.errors import SmssegError
    from smsseg.models.backtest import run_backtest
    from smsseg.models.train import TrainSettings

    start = time.perf_counter()
    try:
        result = run_backtest(data, as_of, horizon, TrainSettings(n_jobs=threads or None))
    except SmssegError as exc:
        return {"as_of": as_of, "horizon_days": horizon, "trained": False, "why": str(exc)}
    row = {"trained": True, **result.summary(), "seconds": time.perf_counter() - start}
    row["notes"] = result.notes
    if mlflow:
        from smsseg.tracking import log_backtest

        row["mlflow_run"] = log_backtest(result, experiment="smsseg-realdata")
    return row


def _fmt(value, digits: int = 4) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _markdown(rows: list[dict], checks: dict, commit: str) -> str:
    lines = [
        "# Churn on real data: CDNOW backtests",
        "",
        f"Commit `{commit}`. Data: `smsseg.datasets.write_cdnow()` (the shipped CDNOW master file, "
        "23,570 customers, 1997-01-01 to 1998-06-30). Each row is `smsseg backtest --as-of T "
        "--horizon-days H` with the defaults of `smsseg train`: trained on data up to T only, "
        "judged on the realized (T, T + H]. Population: buyers (all CDNOW customers). "
        "*calibration*: the deployed churn probability's calibration (`trained` on labelled "
        "snapshots, or `bgnbd_anchor`: re-anchored to BG/NBD at T). *test AUC*: train's own "
        "out-of-time test, one horizon before T; *reported AUC*: train's forecast for T (the test "
        "AUC moved by the shift in expected AUC from the test snapshot to T).",
        "",
        "| as of | H | scorer | validation | churn rate | smsseg AUC | BG/NBD AUC | recency AUC "
        "| gain | smsseg PR-AUC | BG/NBD PR-AUC | smsseg Brier | BG/NBD Brier | smsseg ECE "
        "| BG/NBD ECE | calibration | test AUC | reported AUC | reported − realized |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        if not r["trained"]:
            lines.append(
                f"| {r['as_of']} | {r['horizon_days']} | (cannot train) | - | - | = BG/NBD | - | - "
                "| 0 | - | - | - | - | - | - | - | - | - | - |"
            )
            continue
        lines.append(
            f"| {r['as_of']} | {r['horizon_days']} | {r['scorer']} | {r['validation']} "
            f"| {_fmt(r['churn_rate'], 3)} | {_fmt(r['smsseg.roc_auc'])} | {_fmt(r['bgnbd.roc_auc'])} "
            f"| {_fmt(r['recency_rule.roc_auc'])} | {r['gain_vs_bgnbd']:+.4f} "
            f"| {_fmt(r['smsseg.pr_auc'])} | {_fmt(r['bgnbd.pr_auc'])} | {_fmt(r['smsseg.brier'])} "
            f"| {_fmt(r['bgnbd.brier'])} | {_fmt(r['smsseg.ece'])} | {_fmt(r['bgnbd.ece'])} "
            f"| {r.get('calibration')} | {_fmt(r.get('test_auc'))} "
            f"| {_fmt(r['reported_auc'])} | {_fmt(r['reported_minus_realized'])} |"
        )
    lines += [
        "",
        "Every churn candidate of the deployed bundle on the realized future (diagnosis: the "
        "champion was chosen on train's own test, before this future existed):",
        "",
        "| as of | H | chosen | model AUC / ECE | blend AUC / ECE | calibrated BG/NBD AUC / ECE "
        "| gain over BG/NBD reported / realized |",
        "|---|---:|---|---|---|---|---|",
    ]
    for r in rows:
        if r["trained"]:
            cells = [
                f"{_fmt(r.get(f'candidate_{k}.roc_auc'))} / {_fmt(r.get(f'candidate_{k}.ece'), 3)}"
                for k in ("model", "blend", "bgnbd")
            ]
            lines.append(
                f"| {r['as_of']} | {r['horizon_days']} | {r['scorer']} | "
                + " | ".join(cells)
                + f" | {r['reported_gain_vs_bgnbd']:+.4f} / {r['gain_vs_bgnbd']:+.4f} |"
            )
    lines += ["", "Rows that cannot be trained:"]
    lines += [
        f"* {r['as_of']}, H={r['horizon_days']}: {r['why']}" for r in rows if not r["trained"]
    ]
    lines += [
        "",
        "## Goals",
        "",
        *(
            f"* {name}: {'met' if ok else 'NOT met'} ({detail})"
            for name, (ok, detail) in checks.items()
        ),
        "",
    ]
    return "\n".join(lines)


def _checks(rows: list[dict]) -> dict:
    trained = [r for r in rows if r["trained"]]
    gains = [r["gain_vs_bgnbd"] if r["trained"] else 0.0 for r in rows]
    gaps = [abs(r["reported_minus_realized"]) for r in trained if np.isfinite(r["reported_auc"])]
    eces = [r["smsseg.ece"] for r in trained]
    return {
        "smsseg >= BG/NBD on every row": (
            min(gains) >= 0,
            "smallest gain " + f"{min(gains):+.4f}",
        ),
        "mean AUC gain >= +0.01": (float(np.mean(gains)) >= 0.01, f"{np.mean(gains):+.4f}"),
        "ECE <= 0.03": (max(eces) <= 0.03, f"largest {max(eces):.4f}"),
        "|reported - realized| <= 0.03": (
            bool(gaps) and max(gaps) <= 0.03,
            f"largest {max(gaps):.4f} over {len(gaps)} row(s) with a report",
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads (0: all cores)")
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    logging.getLogger("smsseg").setLevel(logging.ERROR)
    from smsseg.data.load import load

    data = load(cdnow_dir())
    rows = []
    for as_of in AS_OFS:
        for horizon in HORIZONS:
            row = _row(data, as_of, horizon, args.threads, not args.no_mlflow)
            print({k: v for k, v in row.items() if k != "notes"}, flush=True)
            rows.append(row)
    checks = _checks(rows)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"commit": commit, "rows": rows, "checks": {k: v[0] for k, v in checks.items()}}
    (RESULTS / "churn_realdata.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / "churn_realdata.md").write_text(_markdown(rows, checks, commit))
    print(_markdown(rows, checks, commit))


if __name__ == "__main__":
    main()
