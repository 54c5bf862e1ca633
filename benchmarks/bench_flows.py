"""Benchmark ``smsseg flows backtest``: the nine default flows replayed over 90 days.

Run by hand::

    .venv/bin/python benchmarks/bench_flows.py [--customers 1000000 | --data DIR] \\
        [--from 2025-10-03] [--to 2026-01-01] [--cadence 1h]

The replay runs in a child process (``--child``) so that its peak memory is measured alone. It
times loading the data directory (validation included), reading the flows' inputs, and the replay
itself, and writes ``benchmarks/results/flows.json`` and ``flows.md``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def child(data: Path, start: str, end: str, cadence: str) -> dict:
    import pandas as pd

    from smsseg.data.load import load
    from smsseg.flows import load_flows
    from smsseg.flows.backtest import flow_backtest
    from smsseg.flows.run import inputs_from_data

    times = {}
    t = time.perf_counter()
    dataset = load(data)
    times["load and validate"] = time.perf_counter() - t
    catalogue = load_flows()
    t = time.perf_counter()
    inputs = inputs_from_data(dataset, end, catalogue)
    times["read the flows' inputs"] = time.perf_counter() - t
    t = time.perf_counter()
    bt = flow_backtest(inputs, start, end, catalogue, cadence=pd.Timedelta(cadence))
    times["replay"] = time.perf_counter() - t
    customers = dataset.con.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    return {
        "customers": int(customers), "start": start, "end": end, "cadence": cadence,
        "seconds": {k: round(v, 2) for k, v in times.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "summary": bt.summary,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--from", dest="start", default="2025-10-03")
    parser.add_argument("--to", dest="end", default="2026-01-01")
    parser.add_argument("--cadence", default="1h")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.data, args.start, args.end, args.cadence)))
        return 0
    if args.data is None:
        sys.path.insert(0, str(Path(__file__).parent))
        from _data import simulated_dir

        args.data = simulated_dir(args.customers)
    start = time.perf_counter()
    cmd = [sys.executable, __file__, "--child", "--data", str(args.data), "--from", args.start,
           "--to", args.end, "--cadence", args.cadence]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "flows.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    s = result["summary"]
    rows = "\n".join(f"| {k} | {v:.1f} |" for k, v in result["seconds"].items())
    (RESULTS / "flows.md").write_text(
        f"# `smsseg flows backtest` on {result['customers']:,} customers\n\n"
        f"Default catalogue, {args.start} to {args.end} ({s['weeks']} weeks), cadence "
        f"{args.cadence}; 2 cores. Wall time of the child process {result['wall_seconds']} s, "
        f"peak RSS {result['peak_rss_mb']:,} MB.\n\n| step | seconds |\n|---|---:|\n{rows}\n\n"
        f"{s['flow_sms_sent']:,} flow SMS to {s['customers_messaged']:,} customers; share capped "
        f"{s['share_capped']:.1%}; caught after an exit {s['caught_after_exit']:,}; sent after an "
        f"exit {s['sent_after_exit']}; missed {s['missed']:,}; expected opt-outs from the flows "
        f"{s['expected_optouts_from_flows']:.1f}.\n",
        encoding="utf-8",
    )
    print((RESULTS / "flows.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
