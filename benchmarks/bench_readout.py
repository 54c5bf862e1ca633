"""Benchmark: readout speed and memory on 1M randomized units (run by hand, not in CI).

Each case runs in a fresh subprocess that generates its data, times ``smsseg.readout.readout``
only, and reports its own peak RSS. Results go to ``benchmarks/results/readout.json`` and ``.md``.

    .venv/bin/python benchmarks/bench_readout.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from _data import commit

RESULTS = Path(__file__).parent / "results"
CASES = {
    "3 arms x 3 metrics": {},
    "3 arms x 3 metrics x 10 segments": {"segment_col": "region"},
    "3 arms x 3 metrics, CUPED": {"covariates": "pre_spend"},
    "3 arms x 3 metrics, sequential": {"sequential": True},
}


def make_frame(rows: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    arm = rng.choice(np.array(["control", "a", "b"]), rows)
    lift = np.select([arm == "a", arm == "b"], [1.05, 1.10], 1.0)
    pre = rng.lognormal(3.0, 1.0, rows)
    spend = np.where(rng.random(rows) < 0.06 * lift, pre * rng.lognormal(0.0, 0.5, rows), 0.0)
    return pd.DataFrame(
        {
            "arm": arm,
            "region": rng.choice(np.array([f"r{i}" for i in range(10)]), rows),
            "clicked": (rng.random(rows) < 0.12 * lift).astype(np.int8),
            "converted": (spend > 0).astype(np.int8),
            "spend": spend,
            "pre_spend": pre,
        }
    )


def run_case(name: str, rows: int) -> dict:
    from _data import frame_hash

    from smsseg.readout import readout

    frame = make_frame(rows)
    digest = frame_hash(frame)
    start = time.perf_counter()
    table = readout(frame, "arm", "control", ["clicked", "converted", "spend"], **CASES[name])
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "case": name,
        "rows": rows,
        "data_hash": digest,
        "result_rows": len(table),
        "readout_seconds": round(wall, 3),
        "peak_rss_mb": round(peak_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # child process: one case, JSON on stdout
        print(json.dumps(run_case(args.case, args.rows)))
        return
    results = []
    for name in CASES:
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--case", name],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["process_seconds"] = round(time.perf_counter() - started, 2)
        results.append(result)
        print(
            f"{name:40s} readout {result['readout_seconds']:7.3f} s  peak RSS {result['peak_rss_mb']:8.1f} MB"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    import os

    hashes = {r["data_hash"] for r in results}
    meta = {
        "commit": commit(),
        "command": f"make_frame({args.rows}, seed=0) in benchmarks/bench_readout.py",
        "data_hash": hashes.pop() if len(hashes) == 1 else sorted(hashes),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": _cpus(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }  # shared machines: timings scale with load
    (RESULTS / "readout.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2) + "\n"
    )
    lines = [
        "# Readout benchmark",
        "",
        f"{args.rows:,} units, {meta['cpus']} CPUs (1-min load average "
        f"{meta['load_average_1min']} at the end), Python {meta['python']}; commit `{meta['commit']}`.",
        f"Data: `{meta['command']}` (synthetic randomized units made in each case's process, "
        f"the same in every case), data hash `{meta['data_hash']}`.",
        "Wall time of `smsseg.readout.readout` alone (data generation excluded); peak RSS of the whole process.",
        "",
        "| case | result rows | readout (s) | peak RSS (MB) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['case']} | {r['result_rows']} | {r['readout_seconds']} | {r['peak_rss_mb']} |"
        for r in results
    ]
    (RESULTS / "readout.md").write_text("\n".join(lines) + "\n")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
