"""Benchmark ``smsseg flows backtest``: the nine default flows replayed over 90 days.

Run by hand::

    flock /work/bench-1m.lock .venv/bin/python benchmarks/bench_flows.py \\
        [--customers 1000000 | --data DIR] [--from 2025-10-03] [--to 2026-01-01] [--cadence 1h] \\
        [--shard-size 25000] [--timeout SECONDS] [--name flows_1m]

The replay runs in a child process (``--child``) so that its peak memory is measured alone. It
times loading the data directory (validation included) and ``run_backtest`` (the inputs
partitioned by shard in one DuckDB pass, each shard read and replayed, the effects, the files),
with each shard's time, and writes ``benchmarks/results/<name>.json`` and ``<name>.md`` with the
commit, the data directory and its hash, and the load average before and after.
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


def child(data: Path, start: str, end: str, cadence: str, shard_size: int) -> dict:
    import tempfile

    import pandas as pd

    from smsseg.data.load import load
    from smsseg.flows.run import run_backtest

    times = {}
    t = time.perf_counter()
    dataset = load(data)
    times["load and validate"] = time.perf_counter() - t
    customers = dataset.con.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    shard_times = []
    last = [time.perf_counter()]

    def progress(k, n):
        now = time.perf_counter()
        shard_times.append(now - last[0])
        last[0] = now
        print(f"shard {k}/{n}: {shard_times[-1]:.1f} s", file=sys.stderr, flush=True)

    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        bt, _ = run_backtest(data, start, end, Path(tmp) / "bt", cadence=pd.Timedelta(cadence),
                             shard_size=shard_size, progress=progress)  # fmt: skip
    times["backtest (read + replay in shards, effects, write)"] = time.perf_counter() - t
    return {
        "customers": int(customers), "start": start, "end": end, "cadence": cadence,
        "shard_size": shard_size, "shards": len(shard_times),
        "shard_seconds_mean": round(sum(shard_times) / max(len(shard_times), 1), 2),
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
    parser.add_argument("--shard-size", type=int, default=25_000)
    parser.add_argument("--name", help="results file name (default flows_<size>, e.g. flows_1m)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before giving up")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.data, args.start, args.end, args.cadence, args.shard_size)))
        return 0
    if args.data is None:
        sys.path.insert(0, str(Path(__file__).parent))
        from _data import simulated_dir

        args.data = simulated_dir(args.customers)
    sys.path.insert(0, str(Path(__file__).parent))
    from _data import data_hash

    if args.name is None:
        n = int(json.loads((Path(args.data) / "DATA.json").read_text())["customers"]) if (
            Path(args.data) / "DATA.json").is_file() else args.customers  # fmt: skip
        args.name = "flows_" + (f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k")
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    start = time.perf_counter()
    cmd = [sys.executable, __file__, "--child", "--data", str(args.data), "--from", args.start,
           "--to", args.end, "--cadence", args.cadence, "--shard-size", str(args.shard_size)]  # fmt: skip
    # the child is killed after --timeout seconds (subprocess.run kills it), never left behind
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True,
                         timeout=args.timeout).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    result["load_average_before"] = load_before
    result["load_average_after"] = Path("/proc/loadavg").read_text().split()[:3]
    result["data"] = str(args.data)
    result["data_hash"] = data_hash(Path(args.data))
    result["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                      capture_output=True, text=True).stdout.strip()  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    s = result["summary"]
    rows = "\n".join(f"| {k} | {v:.1f} |" for k, v in result["seconds"].items())
    (RESULTS / f"{args.name}.md").write_text(
        f"# `smsseg flows backtest` on {result['customers']:,} customers\n\n"
        f"Default catalogue, {args.start} to {args.end} ({s['weeks']} weeks), cadence "
        f"{args.cadence}; 2 cores shared with other jobs (load average before "
        f"{' '.join(load_before)}, after {' '.join(result['load_average_after'])}). Commit "
        f"{result['commit']}, data {result['data']} (hash {result['data_hash']}). Wall time of "
        f"the child process {result['wall_seconds']} s, peak RSS {result['peak_rss_mb']:,} MB; "
        f"{result['shards']} shard(s) of {result['shard_size']:,} customers, "
        f"{result['shard_seconds_mean']} s per shard.\n\n| step | seconds |\n|---|---:|\n{rows}\n\n"
        f"{s['flow_sms_sent']:,} flow SMS to {s['customers_messaged']:,} customers; share capped "
        f"{s['share_capped']:.1%}; caught after an exit {s['caught_after_exit']:,}; sent after an "
        f"exit {s['sent_after_exit']}; missed {s['missed']:,}; expected opt-outs from the flows "
        f"{s['expected_optouts_from_flows']:.1f}.\n",
        encoding="utf-8",
    )
    print((RESULTS / f"{args.name}.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
