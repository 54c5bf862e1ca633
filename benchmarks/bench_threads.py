"""Benchmark two smsseg jobs sharing the machine against one alone (issue 12, goal 5: <= 1.5x).

Run by hand (not a test), on a machine nothing else is using::

    .venv/bin/python benchmarks/bench_threads.py                      # 20k customers
    .venv/bin/python benchmarks/bench_threads.py --before-src /path/to/old/checkout/src

Each job (``lightgbm``: LightGBM training alone, 150 rounds on synthetic rows, after ``import
smsseg``; ``features``, ``train`` with few snapshots, ``score`` with a model trained once
beforehand, through the CLI) runs first alone, then as two copies started together; the ratio
is the slower copy's wall time over the lone run's. Each child's own CPU time is recorded too
(``os.wait4``): the two copies' CPU time spread over the machine's CPUs is the least wall time
the pair could take for that work. A ratio near that bound means the machine is simply full; one
well above it means time lost to the sharing itself (spinning, oversubscription). The
configurations:

- ``after``: this checkout with its defaults (``OMP_WAIT_POLICY=PASSIVE`` set on import, threads
  from :func:`smsseg.runtime.default_threads`: every CPU);
- ``after_threads1``: the same with ``--threads 1``;
- ``before`` (with ``--before-src``): another checkout's source, e.g. the commit before
  ``smsseg.runtime``, run with OpenMP's own defaults (its threads spin while waiting). A pair
  whose slower copy exceeds ``--timeout`` seconds is stopped and reported as ``> timeout``.

Children run without ``OMP_NUM_THREADS``/``SMSSEG_THREADS``/``OMP_WAIT_POLICY`` from the calling
shell (those are what is being measured). The load average before and after each measurement is
recorded: on a shared machine other jobs inflate every figure. Results:
``benchmarks/results/threads.json`` and ``threads.md`` (``--results-name`` for another name).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _data import commit, data_line, data_record, load_average, simulated_dir

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SCRATCH = ROOT / "benchmarks" / "_work" / "bench_threads"
AS_OF = "2025-12-31"
GOAL_RATIO = 1.5
CLEARED = ("OMP_NUM_THREADS", "SMSSEG_THREADS", "OMP_WAIT_POLICY")


# LightGBM alone, as `train` runs it (after `import smsseg`, which sets the OpenMP wait policy):
# 150 rounds on 50k x 60 synthetic rows, a few seconds; argv[1] is --threads (0: the default).
LIGHTGBM_JOB = """
import sys
import numpy as np
import smsseg
try:
    from smsseg.runtime import resolve_threads
    threads = resolve_threads(int(sys.argv[-1]))
except ImportError:  # a checkout from before smsseg.runtime: LightGBM's own default
    threads = 0
import lightgbm as lgb
rng = np.random.default_rng(0)
X = rng.normal(size=(50_000, 60))
y = (X[:, 0] + rng.normal(size=50_000) > 0).astype(int)
params = {"objective": "binary", "num_threads": threads, "verbosity": -1, "seed": 1,
          "force_col_wise": True, "deterministic": True}
lgb.train(params, lgb.Dataset(X, y), num_boost_round=150)
"""


def job_argv(job: str, data: Path, copy: int, model: Path, snapshots: int) -> list[str]:
    """The CLI arguments of ``job``; ``copy`` keeps the outputs of two copies apart."""
    out = SCRATCH / f"{job}_{copy}"
    if job == "lightgbm":
        return ["-c", LIGHTGBM_JOB]
    if job == "features":
        return ["features", "--data", str(data), "--as-of", AS_OF, "--out", f"{out}.parquet"]
    if job == "train":
        return [
            "train", "--data", str(data), "--as-of", AS_OF, "--no-mlflow",
            "--model", str(out), "--snapshots", str(snapshots),
        ]  # fmt: skip
    if job == "score":
        return [
            "score", "--data", str(data), "--as-of", AS_OF, "--model", str(model),
            "--out", f"{out}.parquet",
        ]  # fmt: skip
    raise ValueError(job)


def child_env(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["PYTHONPATH"] = str(src)
    return env


def run_together(
    argvs: list[list[str]], env: dict, timeout: float
) -> tuple[list[float | None], list[float | None]]:
    """Start every command at once; each one's wall and CPU seconds (``None``: stopped at ``timeout``).

    Each child is reaped with ``os.wait4``, which returns that child's own resource usage (user +
    system CPU time), so two copies running together are measured apart.
    """
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, *(argv if argv[0] == "-c" else ["-m", "smsseg", *argv])],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for argv in argvs
    ]
    walls: list[float | None] = [None] * len(procs)
    cpus: list[float | None] = [None] * len(procs)
    while any(w is None for w in walls):
        now = time.perf_counter() - start
        for i, proc in enumerate(procs):
            if walls[i] is not None:
                continue
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == 0:
                continue
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise RuntimeError(f"{argvs[i]} failed: {proc.stderr.read().decode()[-2000:]}")
            walls[i], cpus[i] = now, usage.ru_utime + usage.ru_stime
        if now > timeout:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()  # only the processes started here
                    proc.wait()
            break
        time.sleep(0.1)
    return walls, cpus


def least_ratio(pair_cpu: list[float | None], alone_wall: float | None, cpus: int) -> float | None:
    """The smallest pair/alone ratio the machine allowed for the work the two copies did.

    Together the copies used ``sum(pair_cpu)`` CPU-seconds on ``cpus`` CPUs, so the slower one
    cannot have finished before ``sum(pair_cpu) / cpus`` seconds, whatever the thread counts. So
    a job that keeps more than 1.5 x cpus / 2 CPUs busy alone cannot stay within 1.5x of its lone
    time while a copy of it runs, unless sharing makes it do less work (fewer thread wake-ups).
    """
    if None in pair_cpu or not alone_wall:
        return None
    return sum(pair_cpu) / (cpus * alone_wall)


def measure(job: str, config: dict, args, model: Path) -> dict:
    env = child_env(config["src"])
    extra = config["extra"]
    if job == "lightgbm":  # its one argument: the thread count (0: the default)
        extra = [extra[-1] if extra else "0"]
    argv = [*job_argv(job, args.data, 0, model, args.snapshots), *extra]
    before = load_average()
    (alone,), (alone_cpu,) = run_together([argv], env, args.timeout)
    pair_argvs = [[*job_argv(job, args.data, i, model, args.snapshots), *extra] for i in (1, 2)]
    pair, pair_cpu = run_together(pair_argvs, env, args.timeout)
    after = load_average()
    slower = None if None in pair else max(pair)
    ratio = None if slower is None or alone is None else slower / alone
    result = {
        "alone_s": alone,
        "pair_s": pair,
        "ratio": ratio,
        "alone_cpu_s": alone_cpu,
        "pair_cpu_s": pair_cpu,
        "least_ratio": least_ratio(pair_cpu, alone, os.cpu_count() or 1),
        "loadavg_before": before,
        "loadavg_after": after,
    }
    print(job, config["name"], result, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, help="data directory (default: the shared set)")
    parser.add_argument("--jobs", default="lightgbm,features,score,train")
    parser.add_argument("--snapshots", type=int, default=4, help="training snapshots of `train`")
    parser.add_argument("--before-src", type=Path, help="src/ of a checkout to compare with")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--results-name", default="threads", help="results/<name>.json, .md")
    args = parser.parse_args()
    args.data = args.data or simulated_dir(args.customers, args.seed)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    src = ROOT / "src"
    model = SCRATCH / "model"
    if "score" in args.jobs and not (model / "bundle.json").exists():
        print("training the model `score` uses (unmeasured) ...", flush=True)
        argv = job_argv("train", args.data, 0, model, args.snapshots)
        argv[argv.index("--model") + 1] = str(model)
        run = [sys.executable, "-m", "smsseg", *argv]
        subprocess.run(run, env=child_env(src), check=True, stdout=subprocess.DEVNULL)
    configs = [
        {"name": "after", "src": src, "extra": []},
        {"name": "after_threads1", "src": src, "extra": ["--threads", "1"]},
    ]
    if args.before_src:
        configs.insert(0, {"name": "before", "src": args.before_src.resolve(), "extra": []})
    results = {
        config["name"]: {job: measure(job, config, args, model) for job in args.jobs.split(",")}
        for config in configs
    }
    record = {
        "commit": commit(),
        "data": data_record(args.data),
        "data_line": data_line(args.data),
        "customers": args.customers,
        "as_of": AS_OF,
        "train_snapshots": args.snapshots,
        "before_src": str(args.before_src) if args.before_src else None,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "timeout_s": args.timeout,
        "goal_ratio": GOAL_RATIO,
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.results_name}.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / f"{args.results_name}.md").write_text(markdown(record))
    print(markdown(record))


def _seconds(value: float | None, timeout: float) -> str:
    return f"> {timeout:.0f}" if value is None else f"{value:.1f}"


def markdown(r: dict) -> str:
    t = r["timeout_s"]
    lines = [
        "# Benchmark: two smsseg jobs sharing the machine",
        "",
        f"Commit `{r['commit']}`; {r['customers']:,} customers, as of {r['as_of']}; "
        f"{r['machine']['cpus']} CPUs, Python {r['machine']['python']}. `train` uses "
        f"{r['train_snapshots']} snapshots. {r['data_line']}",
        "",
        "Ratio: the slower of two copies started together over one copy alone "
        f"(goal <= {r['goal_ratio']}x). Load average (1, 5, 15 min) before / after each "
        "measurement: on a shared machine other jobs inflate the wall times. Least possible: the "
        "two copies' CPU time spread perfectly over the machine's CPUs, over the lone wall time "
        "(no thread setting can bring the ratio below it for that work).",
        "",
        "| config | job | alone (s) | alone CPU (s) | two at once (s) | ratio | least possible "
        "| load before | load after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for config, jobs in r["results"].items():
        for job, m in jobs.items():
            pair = ", ".join(_seconds(w, t) for w in m["pair_s"])
            ratio = "-" if m["ratio"] is None else f"{m['ratio']:.2f}x"
            least = "-" if m.get("least_ratio") is None else f"{m['least_ratio']:.2f}x"
            cpu = "-" if m.get("alone_cpu_s") is None else f"{m['alone_cpu_s']:.1f}"
            lines.append(
                f"| {config} | {job} | {_seconds(m['alone_s'], t)} | {cpu} | {pair} | {ratio} | "
                f"{least} | {m['loadavg_before']} | {m['loadavg_after']} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
