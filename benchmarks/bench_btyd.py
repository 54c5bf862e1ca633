"""Benchmark the BTYD models (``smsseg.features.btyd``) on a simulated BG/NBD cohort.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_btyd.py                      # 1M customers, 4M orders
    .venv/bin/python benchmarks/bench_btyd.py --customers 50000 --max-customers 10000

The cohort comes from ``simulate_bgnbd`` in ``tests/features/test_btyd.py`` (the same simulator the
calibration tests check the models against), with true parameters r=0.8, alpha=5, a=0.9, b=3 over
up to 104 weeks on a daily grid, plus a Gamma-Gamma-like spend. Each step is timed in a worker
process; this script is that worker's only child-spawning parent, so
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the worker's peak RSS. Results go to
``benchmarks/results/btyd.json`` and ``btyd.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

from _data import commit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TRUE_PARAMS = {"r": 0.8, "alpha": 5.0, "a": 0.9, "b": 3.0}


def work(customers: int, orders_per_customer: int, max_customers: int, seed: int) -> dict:
    """Time every step in this process; return the timings, fitted parameters and warnings."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from tests.features.test_btyd import simulate_bgnbd

    from smsseg.features.btyd import BetaGeoModel, GammaGammaModel, btyd_features, rfm_summary

    steps: list[dict] = []

    def timed(label: str, fn):
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
        steps.append({"step": label, "seconds": round(seconds, 3)})
        print(f"{label:50s} {seconds:7.2f} s", file=sys.stderr, flush=True)
        return out

    n, rng = customers, np.random.default_rng(seed + 1)
    cohort = timed(
        "simulate the cohort",
        lambda: simulate_bgnbd(n, **TRUE_PARAMS, T_max=104, horizon=13, seed=seed),
    )
    nu = rng.gamma(3.7, 1 / 15.4, n)
    cohort["monetary_value"] = np.where(cohort.frequency > 0, rng.gamma(6, 1 / nu), 0.0)
    summary = cohort[["frequency", "recency", "T", "monetary_value"]]
    summary.attrs["time_unit_days"] = 7.0
    distinct = len(summary[["frequency", "recency", "T"]].drop_duplicates())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bg = timed(
            f"BetaGeoModel.fit, {n:,} (all rows, deduped)", lambda: BetaGeoModel().fit(summary)
        )
        bg_sample = timed(
            f"BetaGeoModel.fit, max_customers={max_customers:,}",
            lambda: BetaGeoModel(max_customers=max_customers).fit(summary),
        )
        gg = timed(f"GammaGammaModel.fit, {n:,}", lambda: GammaGammaModel().fit(summary))
        timed(f"p_alive, {n:,}", lambda: bg.p_alive(summary))
        timed(f"expected_purchases(13 weeks), {n:,}", lambda: bg.expected_purchases(13, summary))
        timed(f"prob_no_purchase(13 weeks), {n:,}", lambda: bg.prob_no_purchase(13, summary))
        timed(
            f"btyd_features(90 days, with Gamma-Gamma), {n:,}",
            lambda: btyd_features(bg, summary, 90, gg),
        )
        timed(
            f"customer_lifetime_value(365 d, 10 %/yr), {n:,}",
            lambda: gg.customer_lifetime_value(bg, summary, 365, 0.10),
        )
        # continuous (off-grid) T: every (x, T) pair is distinct, nothing to deduplicate
        cont = summary.assign(T=summary["T"] + rng.uniform(0, 1e-3, n))
        timed(
            f"expected_purchases, {n:,}, all (x, T) distinct",
            lambda: bg.expected_purchases(13, cont),
        )
        n_orders = orders_per_customer * n
        orders = pd.DataFrame(
            {
                "customer_id": rng.integers(0, n, n_orders),
                "ordered_at": pd.Timestamp("2024-01-01")
                + pd.to_timedelta(rng.integers(0, 730 * 86400, n_orders), unit="s"),
                "amount": rng.gamma(2, 20, n_orders),
            }
        )
        timed(
            f"rfm_summary, {n_orders:,} orders / {n:,} customers",
            lambda: rfm_summary(orders, "2025-06-30"),
        )
    rounded = {
        name: {k: round(v, 4) for k, v in model.params_.items()}
        for name, model in (("bgnbd", bg), ("bgnbd_sample", bg_sample), ("gamma_gamma", gg))
    }
    from _data import frame_hash

    return {
        "data_hash": frame_hash(pd.concat([summary, orders], axis=1)),
        "distinct_histories": distinct,
        "orders": n_orders,
        "steps": steps,
        "fitted_params": rounded,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }


def measure(argv: list[str]) -> dict:
    """Run the worker as this process's only child: its result, wall time and peak RSS."""
    start = time.perf_counter()
    out = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - start
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        **json.loads(out.stdout.strip().splitlines()[-1]),
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(rss_kb / 1024, 1),
    }


def markdown(r: dict) -> str:
    p = r["settings"]
    lines = [
        "# Benchmark: BTYD models (`smsseg.features.btyd`)",
        "",
        f"Simulated BG/NBD cohort: {p['customers']:,} customers ({r['distinct_histories']:,} distinct "
        f"(x, t_x, T)), true parameters {r['true_params']}, seed {p['seed']}; "
        f"{r['machine']['cpus']} CPUs, Python {r['machine']['python']}, numpy "
        f"{r['machine']['numpy']}, pandas {r['machine']['pandas']}, scipy {r['machine']['scipy']}. "
        f"Commit `{r['commit']}`; load average {r['load_before']} before, {r['load_after']} after.",
        "",
        f"Data: `{r['command']}` (made in the worker, not read from a simulated directory: a "
        f"BG/NBD cohort with known parameters), data hash `{r['data_hash']}`.",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    lines += [f"| {s['step']} | {s['seconds']:.2f} |" for s in r["steps"]]
    lines += [
        "",
        f"Whole worker process: **{r['wall_s']:.1f} s** wall, **{r['peak_rss_mb']:.0f} MB** peak RSS "
        "(including simulating the data).",
        "",
        "Fitted parameters: "
        + "; ".join(f"{name} {params}" for name, params in r["fitted_params"].items())
        + ".",
    ]
    if r["warnings"]:
        lines += ["", "Warnings: " + "; ".join(r["warnings"]) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders-per-customer", type=int, default=4, help="for rfm_summary")
    parser.add_argument("--max-customers", type=int, default=200_000, help="subsampled fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = {
        "customers": args.customers,
        "orders_per_customer": args.orders_per_customer,
        "max_customers": args.max_customers,
        "seed": args.seed,
    }
    if args.worker:
        print(json.dumps(work(**settings)))
        return

    import numpy as np
    import pandas as pd
    import scipy

    from smsseg._io import write_text

    flags = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    run = measure([sys.executable, str(Path(__file__).resolve()), "--worker", *flags])
    result = {
        "commit": commit(),
        "command": "python benchmarks/bench_btyd.py "
        + " ".join(flags)
        + f"  # simulate_bgnbd({args.customers}, **{TRUE_PARAMS}, T_max=104, seed={args.seed})",
        "load_before": load_before,
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "settings": settings,
        "true_params": TRUE_PARAMS,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
            "platform": platform.platform(),
        },
        **run,
    }
    write_text(json.dumps(result, indent=2) + "\n", RESULTS / "btyd.json")
    write_text(markdown(result), RESULTS / "btyd.md")
    print(markdown(result))


if __name__ == "__main__":
    main()
