"""Benchmark ``smsseg features`` against a bare one-pass DuckDB aggregation over the same events.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_features.py                 # 1M simulated customers
    .venv/bin/python benchmarks/bench_features.py --customers 20000 --data benchmarks/_work/sim_20k

The data directory is generated with the simulator when missing (``benchmarks/_work`` is git-ignored).
Each command runs in its own process under a small wrapper whose only child it is, so the wrapper's
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is that command's peak RSS. The baseline runs before and after
the feature builds, in the same run; the ratio uses the faster baseline (the conservative choice).
Results go to ``benchmarks/results/features.json`` and ``features.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / "_work"

# Runs argv[1:] and prints its wall time and peak RSS (the wrapper has no other child).
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"returncode": code, "wall_s": wall, "peak_rss_mb": rss_kb / 1024}))
"""

BASELINE = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
frame = con.execute(
    "SELECT customer_id, COUNT(*) AS n, MAX(occurred_at) AS last_event "
    "FROM read_parquet(?) GROUP BY customer_id", [sys.argv[1]]
).df()
assert len(frame) > 0
"""

# The `features` command through the CLI entry point (registered explicitly in case the package's
# cli/__init__ does not import it yet).
CLI = "import smsseg.cli.features; from smsseg.cli import main; sys.argv[0] = 'smsseg'; main()"


def passthrough_child(data: Path, as_of: str, out: Path) -> None:
    """The same build on views that pass already-typed Parquet columns through uncast.

    An experiment, not a supported path: it measures what the feature layer costs when the data
    layer's typed views skip re-casting columns that already have the contract's type (today they
    re-parse every timestamp as TIMESTAMPTZ and trim every string on every scan).
    """
    import warnings

    from smsseg._io import write_parquet
    from smsseg.data.contract import TABLES
    from smsseg.data.load import COLUMN_DEFAULTS, Dataset, connect
    from smsseg.features import build_features

    con = connect(memory_limit="2GB")
    present, columns = {}, {}
    for spec in TABLES.values():
        path = data / f"{spec.name}.parquet"
        source = f"read_parquet('{path}')" if path.exists() else "(SELECT 1 WHERE false)"
        have = (
            [d[0] for d in con.execute(f"SELECT * FROM {source} LIMIT 0").description]
            if path.exists()
            else []
        )
        items = []
        for col in spec.columns:
            expr = (
                f'CAST("{col.name}" AS {col.duckdb_type})'
                if col.name in have
                else f"CAST(NULL AS {col.duckdb_type})"
            )
            if (spec.name, col.name) in COLUMN_DEFAULTS:
                expr = f"COALESCE({expr}, {COLUMN_DEFAULTS[spec.name, col.name]})"
            items.append(f'{expr} AS "{col.name}"')
        con.execute(f"CREATE VIEW {spec.name} AS SELECT {', '.join(items)} FROM {source}")
        if path.exists():
            present[spec.name], columns[spec.name] = path.name, tuple(have)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = build_features(Dataset(con, present, root=data, columns=columns), as_of)
    write_parquet(frame, out)


def measure(argv: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["returncode"] != 0:
        raise RuntimeError(f"command failed: {' '.join(argv)}")
    return result


def ensure_data(path: Path, customers: int, seed: int) -> None:
    if (path / "events.parquet").exists():
        return
    from smsseg.data.simulator import generate

    print(f"generating {customers:,} customers into {path} ...", flush=True)
    generate(path, n_customers=customers, seed=seed, progress=True)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=WORK / "sim_1m")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default="2026-01-01")
    parser.add_argument("--no-steps", action="store_true", help="skip the per-step breakdown run")
    parser.add_argument("--passthrough-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.passthrough_child:
        passthrough_child(args.data, args.as_of, WORK / "features_passthrough.parquet")
        return

    ensure_data(args.data, args.customers, args.seed)
    counts = row_counts(args.data)
    print("rows:", counts, flush=True)
    events = str(args.data / "events.parquet")
    out = WORK / "features_out.parquet"
    base_cmd = [sys.executable, "-c", BASELINE, events]
    feat_cmd = [
        sys.executable,
        "-c",
        f"import sys; {CLI}",
        "features",
        "--data",
        str(args.data),
        "--as-of",
        args.as_of,
        "--out",
        str(out),
    ]

    runs = {"baseline_before": measure(base_cmd)}
    print("baseline:", runs["baseline_before"], flush=True)
    runs["features_no_validate"] = measure([*feat_cmd, "--no-validate"])
    print("features --no-validate:", runs["features_no_validate"], flush=True)
    runs["features_validate"] = measure(feat_cmd)
    print("features (validating):", runs["features_validate"], flush=True)
    runs["features_passthrough_views_experiment"] = measure(
        [
            sys.executable,
            __file__,
            "--passthrough-child",
            "--data",
            str(args.data),
            "--as-of",
            args.as_of,
        ]
    )
    print(
        "features on pass-through views (experiment):",
        runs["features_passthrough_views_experiment"],
        flush=True,
    )
    runs["baseline_after"] = measure(base_cmd)
    print("baseline:", runs["baseline_after"], flush=True)

    baseline = min(runs["baseline_before"]["wall_s"], runs["baseline_after"]["wall_s"])
    result = {
        "data": str(args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data),
        "as_of": args.as_of,
        "rows": counts,
        "machine": {
            "cpus": __import__("os").cpu_count(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "platform": platform.platform(),
        },
        "runs": runs,
        "ratio_no_validate": runs["features_no_validate"]["wall_s"] / baseline,
        "ratio_validate": runs["features_validate"]["wall_s"] / baseline,
        "ratio_passthrough_views_experiment": runs["features_passthrough_views_experiment"][
            "wall_s"
        ]
        / baseline,
        "goal": {"ratio": 3.0, "peak_rss_mb": 4096},
    }
    if not args.no_steps:
        result["step_seconds_in_process"] = step_times(args.data, args.as_of)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "features.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "features.md").write_text(markdown(result))
    print(markdown(result))


def markdown(r: dict) -> str:
    runs = r["runs"]
    rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
    lines = [
        "# Benchmark: `smsseg features`",
        "",
        f"Data: `{r['data']}` ({rows}); as of {r['as_of']}; {r['machine']['cpus']} CPUs, "
        f"DuckDB {r['machine']['duckdb']}, Python {r['machine']['python']}.",
        "",
        "| run | wall (s) | peak RSS (MB) |",
        "|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(f"| {name} | {run['wall_s']:.1f} | {run['peak_rss_mb']:.0f} |")
    lines += [
        "",
        f"Ratio to the bare aggregation (`SELECT customer_id, COUNT(*), MAX(occurred_at) FROM events "
        f"GROUP BY 1`, faster of its two runs): **{r['ratio_no_validate']:.2f}x** with `--no-validate`, "
        f"**{r['ratio_validate']:.2f}x** with contract validation (goal <= {r['goal']['ratio']:.0f}x, "
        f"<= {r['goal']['peak_rss_mb'] // 1024} GB). On views that do not re-cast already-typed Parquet "
        f"columns (an experiment, see `passthrough_child`): **{r['ratio_passthrough_views_experiment']:.2f}x**.",
    ]
    if "step_seconds_in_process" in r:
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["step_seconds_in_process"].items())
        lines += ["", f"Seconds per step (one in-process build, no validation): {steps}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
