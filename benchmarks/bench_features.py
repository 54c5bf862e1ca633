"""Benchmark ``smsseg features`` against the floor of issue 12, on the shared 1M dataset.

Run by hand (not a test), under the shared lock::

    flock /work/bench-1m.lock .venv/bin/python benchmarks/bench_features.py      # 1M customers
    .venv/bin/python benchmarks/bench_features.py --customers 20000

The floor (``features_floor.py``, committed next to this script) is one grouped pass over each
input table (customers, orders, order_items joined to orders, events, sms) with a few aggregates
each, joined per customer and written to Parquet by DuckDB: the least any feature build must do.
It runs in its own process before and after the feature builds, in the same run; the ratio uses
the faster floor run (the conservative choice).

Each command runs in its own process under a small wrapper whose only child it is, so the
wrapper's ``getrusage(RUSAGE_CHILDREN)`` gives that command's peak RSS and CPU time.
``smsseg features`` runs in three ways: without validation, validating (a fresh validation
record: the first command on new data), and validating again (the record is reused: every later
command on the same files). Each way but the first validation runs twice and the faster run
counts, as for the floor. Every file is read once, unmeasured, before the runs (a warm page
cache for all of them). The load average before and after is recorded: on a shared machine other
jobs inflate every wall time (CPU time is the steadier figure). Results go to
``benchmarks/results/features.json`` and ``features.md`` with the commit, the data's generation
command and its hash.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from _data import commit, data_line, data_record, simulated_dir

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / "_work"

# Runs argv[1:] and prints its wall time and peak RSS (the wrapper has no other child).
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"returncode": code, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "peak_rss_mb": usage.ru_maxrss / 1024}))
"""

FLOOR = Path(__file__).resolve().parent / "features_floor.py"

# The `features` command through the CLI entry point (registered explicitly in case the package's
# cli/__init__ does not import it yet).
CLI = "import smsseg.cli.features; from smsseg.cli import main; sys.argv[0] = 'smsseg'; main()"


CACHES = WORK / "bench_features_caches"


def fresh_cache() -> dict[str, str]:
    """Environment pointing smsseg at an empty validation record directory."""
    CACHES.mkdir(parents=True, exist_ok=True)
    return {"SMSSEG_CACHE_DIR": tempfile.mkdtemp(dir=CACHES)}


def best_of_two(run) -> dict:
    """The faster of two runs (wall), with the larger of their peak RSS."""
    first, second = run(), run()
    best = min(first, second, key=lambda r: r["wall_s"])
    return {
        **best,
        "peak_rss_mb": max(first["peak_rss_mb"], second["peak_rss_mb"]),
        "wall_s_runs": [first["wall_s"], second["wall_s"]],
    }


def measure(argv: list[str], env: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["returncode"] != 0:
        raise RuntimeError(f"command failed: {' '.join(argv)}")
    return result


def warm_page_cache(path: Path) -> None:
    """Read every file once, unmeasured, so that no run pays for the first read from disk."""
    for file in sorted(path.glob("*.parquet")):
        with file.open("rb") as handle:
            while handle.read(16 * 1024 * 1024):
                pass


def row_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect()
    return {
        name: con.execute(
            "SELECT COUNT(*) FROM read_parquet(?)", [str(path / f"{name}.parquet")]
        ).fetchone()[0]
        for name in ("customers", "orders", "order_items", "events", "sms", "loyalty")
    }


def step_times(path: Path, as_of: str) -> dict[str, float]:
    """Seconds per build step (in this process; informative, not part of the ratio)."""
    import warnings

    from smsseg.data import load
    from smsseg.features import build_features

    times: dict[str, float] = {}
    mark = [time.perf_counter(), "load"]

    def step(name: str) -> None:
        now = time.perf_counter()
        times[mark[1]] = round(now - mark[0], 2)
        mark[:] = [now, name]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load(path, validate=False)
        build_features(data, as_of, progress=step)
    step("end")
    return times


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="data directory (default: the shared 1M set)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default="2026-01-01")
    parser.add_argument("--steps", action="store_true", help="add an in-process per-step run")
    parser.add_argument("--src", type=Path, help="src/ of another checkout to measure instead")
    parser.add_argument("--results-name", default="features", help="results/<name>.json, .md")
    args = parser.parse_args()
    args.data = args.data or simulated_dir(args.customers, args.seed)
    env = {"PYTHONPATH": str(args.src.resolve())} if args.src else None
    load_before = loadavg()
    warm_page_cache(args.data)
    counts = row_counts(args.data)
    print("rows:", counts, flush=True)
    out = WORK / "features_out.parquet"
    floor_out = WORK / "features_floor_out.parquet"
    floor_cmd = [sys.executable, str(FLOOR), str(args.data), str(floor_out), args.as_of]
    feat_cmd = [
        sys.executable, "-c", f"import sys; {CLI}", "features", "--data", str(args.data),
        "--as-of", args.as_of, "--out", str(out),
    ]  # fmt: skip

    runs = {"floor_before": measure(floor_cmd)}
    print("floor:", runs["floor_before"], flush=True)
    # each feature run twice, the faster kept (as for the floor): a shared VM's speed drifts
    runs["features_no_validate"] = best_of_two(lambda: measure([*feat_cmd, "--no-validate"], env))
    print("features --no-validate:", runs["features_no_validate"], flush=True)
    again = {**(env or {}), **fresh_cache()}
    runs["features_validate_first"] = measure(feat_cmd, again)  # records the validation
    print("features (validating, first time):", runs["features_validate_first"], flush=True)
    runs["features_validate_again"] = best_of_two(lambda: measure(feat_cmd, again))
    print("features (validation reused):", runs["features_validate_again"], flush=True)
    runs["floor_after"] = measure(floor_cmd)
    print("floor:", runs["floor_after"], flush=True)
    shutil.rmtree(CACHES, ignore_errors=True)
    floor_out.unlink(missing_ok=True)

    floor = min(runs["floor_before"]["wall_s"], runs["floor_after"]["wall_s"])
    floor_cpu = min(runs["floor_before"]["cpu_s"], runs["floor_after"]["cpu_s"])
    result = {
        "commit": commit(),
        "src": str(args.src) if args.src else "this checkout",
        "data": data_record(args.data),
        "data_line": data_line(args.data),
        "as_of": args.as_of,
        "rows": counts,
        "load_before": load_before,
        "load_after": loadavg(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "platform": platform.platform(),
        },
        "runs": runs,
        "ratio": {
            name.removeprefix("features_"): runs[name]["wall_s"] / floor
            for name in runs
            if name.startswith("features_")
        },
        "cpu_ratio": {
            name.removeprefix("features_"): runs[name]["cpu_s"] / floor_cpu
            for name in runs
            if name.startswith("features_")
        },
        "goal": {"ratio": 2.0, "peak_rss_mb": 4096},
    }
    if args.steps:
        result["step_seconds_in_process"] = step_times(args.data, args.as_of)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = args.results_name
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(result))
    print(markdown(result))


def markdown(r: dict) -> str:
    runs = r["runs"]
    rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
    lines = [
        "# Benchmark: `smsseg features` against the floor (issue 12, goal 6)",
        "",
        f"Commit `{r['commit']}` ({r['src']}); as of {r['as_of']}; {r['machine']['cpus']} CPUs, "
        f"DuckDB {r['machine']['duckdb']}, Python {r['machine']['python']}. Load average "
        f"{r['load_before']} before, {r['load_after']} after (on a shared machine other jobs "
        "inflate the wall times; CPU time is the steadier figure).",
        "",
        f"{r['data_line']} Rows: {rows}.",
        "",
        "| run | wall (s) | CPU (s) | peak RSS (MB) |",
        "|---|---|---|---|",
    ]
    for name, run in runs.items():
        both = run.get("wall_s_runs")
        wall = f"{run['wall_s']:.1f}" + (f" (runs: {both[0]:.1f}, {both[1]:.1f})" if both else "")
        lines.append(f"| {name} | {wall} | {run['cpu_s']:.1f} | {run['peak_rss_mb']:.0f} |")
    ratios, cpu = r["ratio"], r["cpu_ratio"]
    lines += [
        "",
        "Floor: `benchmarks/features_floor.py`, one grouped pass over each input table "
        "(customers, orders, order_items joined to orders, events, sms), joined per customer and "
        "written to Parquet by DuckDB. Ratio of wall times to the faster floor run: "
        f"**{ratios['no_validate']:.2f}x** with `--no-validate`, "
        f"**{ratios['validate_again']:.2f}x** validating data that passed before (every command "
        f"after the first), **{ratios['validate_first']:.2f}x** validating new data (goal <= "
        f"{r['goal']['ratio']:.0f}x, <= {r['goal']['peak_rss_mb'] // 1024} GB). CPU-time ratios: "
        f"{cpu['no_validate']:.2f}x, {cpu['validate_again']:.2f}x, {cpu['validate_first']:.2f}x.",
    ]
    if "step_seconds_in_process" in r:
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["step_seconds_in_process"].items())
        lines += ["", f"Seconds per step (one in-process build, no validation): {steps}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
