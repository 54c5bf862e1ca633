"""Benchmark ``smsseg.data.simulator.generate``: wall time, CPU time, peak RSS and rows per table.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_generate.py                    # 1,000,000 customers
    .venv/bin/python benchmarks/bench_generate.py --customers 20000

``generate`` runs in its own process under a small wrapper whose only child it is, so the
wrapper's ``getrusage(RUSAGE_CHILDREN)`` gives that run's peak RSS and CPU time. The machine's
load average before and after is recorded too: on a shared 2-core machine, other jobs stretch the
wall time (CPU time is the steadier figure). The output goes to ``benchmarks/_work`` (git-ignored)
and is deleted unless ``--keep``; its hash is compared with the shared cached dataset of the same
size and seed (``_data.simulated_dir``) that every other benchmark reads. Results: ``benchmarks/results/generate.json`` and ``generate.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from _data import commit, data_hash, data_line, simulated_dir

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / "_work"
TARGET_WALL_S = 120.0
TARGET_RSS_MB = 6 * 1024.0

# Runs argv[1:] and prints its wall time, CPU time and peak RSS (the wrapper has no other child).
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"returncode": code, "wall_s": wall, "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
                  "peak_rss_mb": usage.ru_maxrss / 1024}))
"""

GENERATE = "import sys; from smsseg.data.simulator import generate; generate(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))"


def measure(out: Path, customers: int, seed: int) -> dict:
    argv = [sys.executable, "-c", GENERATE, str(out), str(customers), str(seed)]
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["returncode"] != 0:
        raise SystemExit(
            f"generate failed with exit code {result['returncode']}: {done.stderr[-2000:]}"
        )
    return result


def table_stats(out: Path) -> dict[str, dict[str, float]]:
    stats = {}
    for path in sorted(out.glob("*.parquet")):
        stats[path.stem] = {
            "rows": pq.ParquetFile(path).metadata.num_rows,
            "mb": round(path.stat().st_size / 2**20, 1),
        }
    return stats


def markdown(result: dict) -> str:
    r = result
    lines = [
        "# Simulator benchmark (`generate`)",
        "",
        f"{r['customers']:,} customers, seed {r['seed']}, period {r['period']}, on {r['machine']} "
        f"({r['cpus']} CPUs; load average {r['load_before'][0]:.1f} before, {r['load_after'][0]:.1f} after). "
        f"Commit `{r['commit']}`.",
        "",
        f"Command: `{r['command']}`; hash of the files written `{r['data_hash']}`. The shared "
        f"dataset the other benchmarks read: {r['shared_data_line']} "
        + ("Same files." if r["same_as_shared"] else "**Different files** (see the hashes)."),
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| wall time | {r['wall_s']:.1f} s | <= {TARGET_WALL_S:.0f} s |",
        f"| CPU time (user + sys) | {r['user_s'] + r['sys_s']:.1f} s | |",
        f"| peak RSS | {r['peak_rss_mb']:,.0f} MB | <= {TARGET_RSS_MB:,.0f} MB |",
        f"| output size | {r['total_mb']:,.0f} MB | |",
        "",
        "| table | rows | rows per customer | MB |",
        "|---|---|---|---|",
    ]
    for name, s in r["tables"].items():
        lines.append(f"| {name} | {s['rows']:,} | {s['rows'] / r['customers']:.2f} | {s['mb']} |")
    lines += ["", r["note"], ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated data in benchmarks/_work"
    )
    args = parser.parse_args()
    out = WORK / f"bench_generate_{args.customers}"
    load_before = os.getloadavg()
    result = measure(out, args.customers, args.seed)
    load_after = os.getloadavg()
    tables = table_stats(out)
    written_hash = data_hash(out)
    shared = simulated_dir(args.customers, args.seed)  # the cached copy (generated if missing)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    cpu = result["user_s"] + result["sys_s"]
    result.update(
        customers=args.customers,
        seed=args.seed,
        period="2024-01-01 .. 2025-12-31",
        machine=f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        cpus=os.cpu_count(),
        commit=commit(),
        command=f"smsseg generate --customers {args.customers} --seed {args.seed}",
        data_hash=written_hash,
        shared_data_line=data_line(shared),
        same_as_shared=written_hash == json.loads((shared / "DATA.json").read_text())["data_hash"],
        load_before=load_before,
        load_after=load_after,
        tables=tables,
        total_mb=sum(t["mb"] for t in tables.values()),
        meets_target=result["wall_s"] <= TARGET_WALL_S and result["peak_rss_mb"] <= TARGET_RSS_MB,
        note=(
            f"CPU time {cpu:.0f} s over {result['wall_s']:.0f} s wall: generation runs on one thread and "
            "Parquet writing on a second one. A wall time well above the CPU time / 2 means other jobs "
            "shared the machine during the run."
        ),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "generate.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "generate.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
