"""Benchmark ``smsseg train`` at scale, and the AUC cost of training on a sample of customers.

Run by hand (heavy: under the shared lock)::

    flock /work/bench-1m.lock .venv/bin/python benchmarks/bench_train.py [--customers 1000000]
    flock /work/bench-1m.lock .venv/bin/python benchmarks/bench_train.py --sampling 200000

Default mode: ``smsseg train`` with its default settings (``--no-mlflow`` only, so that runs do
not pile up in ``mlruns/``) on the shared simulated set, in a child process, timed end to end
with its peak memory (``getrusage(RUSAGE_CHILDREN)``); the model is saved to
``benchmarks/_work/model_<N>`` for ``bench_score.py``. Results: ``results/train.json`` / ``.md``.

``--sampling N``: the churn model's out-of-time AUC when it is fitted on every customer of an
N-customer set against fitted on seeded samples of them (``TrainSettings.max_customers``), all
judged on the *same* test rows (every customer of the test snapshot). The snapshots are built
once on all customers and the samples keep whole customers (all their snapshot rows), as
``smsseg train`` does. Results: ``results/train_sampling.json`` / ``.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

from _data import commit, data_line, data_record, load_average, simulated_dir

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
RESULTS = ROOT / "benchmarks" / "results"
AS_OF = "2025-12-31"


def _boosters(model_dir: Path) -> dict:
    """Trees and leaves of every saved booster (the size that prediction and reasons pay for)."""
    import lightgbm as lgb

    out = {}
    for path in sorted(model_dir.glob("*.txt")):
        booster = lgb.Booster(model_file=str(path))
        out[path.stem] = booster.num_trees()
    return out


def run_train(customers: int) -> dict:
    data_dir = simulated_dir(customers)
    model_dir = WORK / f"model_{customers // 1000}k"
    load_before = load_average()
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "smsseg",
            "train",
            "--data",
            str(data_dir),
            "--as-of",
            AS_OF,
            "--model",
            str(model_dir),
            "--no-mlflow",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    meta = json.loads((model_dir / "bundle.json").read_text())
    churn = meta.get("metrics", {}).get("churn", {})
    return {
        "customers": customers,
        "data": data_record(data_dir),
        "data_line": data_line(data_dir),
        "commit": commit(),
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "cpu_count": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
        "model_dir": str(model_dir),
        "trees": _boosters(model_dir),
        "training_sample": meta.get("training_sample", {}),
        "churn_test_auc": {k: v.get("roc_auc") for k, v in churn.items()},
        "notes": meta.get("notes", []),
    }


def _train_markdown(r: dict) -> str:
    auc = r["churn_test_auc"]
    return "\n".join(
        [
            f"# `smsseg train` on {r['customers']:,} customers (default settings)",
            "",
            f"Commit `{r['commit']}`. {r['data_line']} {r['cpu_count']} cores; load average "
            f"before {r['load_before']}, after {r['load_after']} (the machine was shared: "
            "timings are inflated when the load is above ~2).",
            "",
            f"* wall time (child process, end to end): **{r['wall_s']:.0f} s** (goal ≤ 600 s)",
            f"* peak RSS: **{r['peak_rss_mb']:,.0f} MB** (goal ≤ 8,192 MB)",
            f"* trained on a seeded sample of {r['training_sample']['customers']:,} of "
            f"{r['training_sample']['customers_total']:,} customers (`--max-customers` default)"
            if r["training_sample"].get("sampled")
            else "* trained on every customer",
            f"* trees per booster: {', '.join(f'{k} {v}' for k, v in r['trees'].items())}",
            f"* out-of-time test AUC (headline population): model {auc.get('model', float('nan')):.4f}, "
            f"BG/NBD {auc.get('bgnbd_raw', float('nan')):.4f}",
            "",
            "Notes of the run:",
            "",
            *[f"* {n}" for n in r["notes"]],
            "",
        ]
    )


def run_sampling(customers: int, sizes: list[int], threads: int) -> dict:
    """Churn AUC fitted on all customers vs on seeded customer samples, same test rows."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from smsseg.data.load import load
    from smsseg.data.sample import choose_customers
    from smsseg.features import training_snapshots
    from smsseg.models._frame import shared_levels
    from smsseg.models.train import (
        TrainSettings,
        _churn_params,
        _fit_classifier,
        select_features,
        split_by_plan,
    )
    from smsseg.models.validation import first_order_at, plan_snapshots

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    data_dir = simulated_dir(customers)
    load_before = load_average()
    data = load(data_dir, validate=False)
    settings = TrainSettings(n_jobs=threads or None, max_customers=None)
    plan = plan_snapshots(AS_OF, settings.horizon_days, None, None, first_order_at(data))
    start = time.perf_counter()
    snaps = training_snapshots(
        data,
        plan.as_of,
        settings.horizon_days,
        cutoffs=plan.cutoffs,
        seed=settings.seed,
        btyd_fit_sample=settings.btyd_fit_sample,
    )
    snapshot_s = time.perf_counter() - start
    features, _ = select_features(snaps, settings.max_levels)
    frame, _ = shared_levels(snaps, features)
    masks = split_by_plan(frame, plan, settings.test_share, settings.seed)
    y = frame["churn"].to_numpy(dtype=np.int64)
    test = masks["test"]
    buyers = frame["frequency"].to_numpy(dtype=np.float64, na_value=np.nan)[test] > 0
    ids = frame.index.astype(str)
    # customers created after the latest cut-off have no training rows; sizes count customers
    # with rows, as smsseg train's sample does not (it samples the customers table)
    with_rows = int(ids.nunique())
    rows = []
    for size in [*sizes, None]:
        train = masks["validation"].copy()
        if size is not None:
            train &= np.isin(ids, choose_customers(ids.unique(), size, settings.seed))
        start = time.perf_counter()
        model = _fit_classifier(frame, train, y, features, settings, _churn_params(settings))
        p = model.predict_proba(frame[features][test])[:, 1]
        rows.append(
            {
                "customers_sampled": size or with_rows,
                "sampled": size is not None,
                "train_rows": int(train.sum()),
                "trees": model.best_iteration_,
                "fit_s": time.perf_counter() - start,
                "auc_buyers": float(roc_auc_score(y[test][buyers], p[buyers])),
                "auc_all": float(roc_auc_score(y[test], p)),
            }
        )
        print(rows[-1], flush=True)
    return {
        "customers": customers,
        "data": data_record(data_dir),
        "data_line": data_line(data_dir),
        "commit": commit(),
        "load_before": load_before,
        "load_after": load_average(),
        "snapshots_s": snapshot_s,
        "test_rows": int(test.sum()),
        "customers_with_rows": with_rows,
        "test_snapshot": str(plan.test),
        "rows": rows,
    }


def _sampling_markdown(r: dict) -> str:
    full = next(row for row in r["rows"] if not row["sampled"])
    lines = [
        f"# Churn AUC: trained on samples of customers vs on all {r['customers']:,}",
        "",
        f"Commit `{r['commit']}`. {r['data_line']} Load average before {r['load_before']}, "
        f"after {r['load_after']}. Snapshots built once on every customer "
        f"({r['snapshots_s']:.0f} s); each churn model (the validation model of `smsseg train`, "
        "default parameters, 1 thread) is fitted on the rows of a seeded sample of customers "
        "(whole customers, every snapshot) and judged on the same out-of-time test rows: all "
        f"{r['test_rows']:,} customers of the test snapshot {r['test_snapshot'][:10]}. Sample "
        f"sizes count the {r['customers_with_rows']:,} customers who have snapshot rows (the "
        "others joined after the latest cut-off).",
        "",
        "| customers in training | training rows | trees | fit s | AUC buyers | Δ vs all | AUC all | Δ vs all |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['customers_sampled']:,}{'' if row['sampled'] else ' (all)'} | "
            f"{row['train_rows']:,} | {row['trees']} | {row['fit_s']:.0f} | "
            f"{row['auc_buyers']:.4f} | {row['auc_buyers'] - full['auc_buyers']:+.4f} | "
            f"{row['auc_all']:.4f} | {row['auc_all'] - full['auc_all']:+.4f} |"
        )
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--sampling", type=int, metavar="N", help="measure the AUC cost of sampling on N customers"
    )
    parser.add_argument("--sizes", default="25000,50000,100000", help="sample sizes (--sampling)")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads (--sampling)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.sampling:
        sizes = [int(s) for s in args.sizes.split(",") if int(s) < args.sampling]
        result = run_sampling(args.sampling, sizes, args.threads)
        name, text = "train_sampling", _sampling_markdown(result)
    else:
        result = run_train(args.customers)
        name, text = "train", _train_markdown(result)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
