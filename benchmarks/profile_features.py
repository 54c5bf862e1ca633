"""Where ``smsseg features`` spends its time at 1M customers, next to the floor's passes (issue 12).

Run by hand, alone on the machine (not a timed test)::

    flock /work/bench-1m.lock .venv/bin/python benchmarks/profile_features.py      # shared 1M set
    .venv/bin/python benchmarks/profile_features.py --customers 20000

One in-process build, as ``smsseg features --no-validate`` runs it (DuckDB memory limit of the
CLI, default threads), timed by pieces:

- each DuckDB temporary table of the build (:meth:`smsseg.features._query.Context.relation`),
  its own seconds: a table built inside another one's SQL is counted once, for itself;
- the assembly: each part's LEFT JOIN onto the population in DuckDB, and Arrow to pandas;
- the BTYD fit and predictions, the RFM scores and declared dtypes, the Parquet write.

Next to them, the floor (``features_floor.PASSES``) one input table at a time: the same grouped
pass over each table the floor makes, timed alone. The table tells which inputs the build reads how
many times and what each pass costs against the floor's one pass over the same table. Results go
to ``benchmarks/results/features_profile.json`` and ``.md`` with the commit and the data's hash.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

from _data import commit, data_line, data_record, load_average, simulated_dir
from features_floor import PASS_INPUTS, PASSES

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

#: Each temporary table of the build → the input tables its own SQL scans.
READS = {
    "customers": "customers",
    "orders": "orders (two passes: aggregate, sequence) + promotions",
    "events": "events",
    "recent_events": "events",
    "restocked": "recent events + products",
    "lines": "order_items + orders + products",
    "cart": "recent events + orders aggregate + prices",
    "spend_shares": "lines",
    "uncategorised_views": "events + products",
    "category_views": "events",
    "view_shares": "category views",
    "sms": "sms",
    "loyalty": "loyalty_events + loyalty",
}

#: The build's tables that scan a floor input themselves, by that input (the floor's names).
SCANS = {
    "customers": ("customers",),
    "orders": ("orders",),
    "order_items + orders": ("lines",),
    "events": ("events", "recent_events", "category_views", "uncategorised_views"),
    "sms": ("sms",),
}


def time_floor_passes(data: Path, as_of: str) -> dict[str, float]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    times = {}
    for alias, sql in PASSES.items():
        start = time.perf_counter()
        select = sql.format(d=data, t=f"TIMESTAMP '{as_of}'")
        con.execute(f"CREATE OR REPLACE TEMP TABLE floor_{alias} AS {select}")
        times[PASS_INPUTS[alias]] = time.perf_counter() - start
    con.close()
    return times


def profile_build(data: Path, as_of: str) -> dict[str, float]:
    """Seconds per piece of one build and write (see the module docstring)."""
    from smsseg.features import _query, assemble, build, lifetime, rfm
    from smsseg.pipeline import feature_table

    times: dict[str, float] = defaultdict(float)
    nested = [0.0]  # seconds spent in relations created inside the current one

    relation = _query.Context.relation

    def timed_relation(self, name, select):
        if name in self.tables:
            return self.tables[name]
        outer, nested[0] = nested[0], 0.0
        start = time.perf_counter()
        try:
            return relation(self, name, select)
        finally:
            spent = time.perf_counter() - start
            times[f"table {name}"] += spent - nested[0]
            nested[0] = outer + spent

    def timed(label, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[label] += time.perf_counter() - start

        return wrapper

    def timed_fetch(ctx, sql):  # assemble.fetch_arrow, its two halves timed apart
        start = time.perf_counter()
        table = ctx.data.con.sql(sql).to_arrow_table()
        middle = time.perf_counter()
        frame = table.to_pandas(types_mapper=assemble._NULLABLE.get)
        times["assembly: join parts (DuckDB)"] += middle - start
        times["assembly: Arrow to pandas"] += time.perf_counter() - middle
        return frame

    patches = [
        (_query.Context, "relation", timed_relation),
        (assemble, "fetch_arrow", timed_fetch),
        (build, "btyd_frame", timed("BTYD fit + predictions", lifetime.btyd_frame)),
        (build, "add_rfm_scores", timed("RFM scores, dtypes", rfm.add_rfm_scores)),
        (build, "_finalize", timed("RFM scores, dtypes", build._finalize)),
        (
            feature_table,
            "write_parquet",
            timed("Parquet write", feature_table.write_parquet),
        ),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            feature_table.features(data, as_of, Path(tmp) / "features.parquet", validate=False)
            total = time.perf_counter() - start
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    times["other (load, checks, provenance)"] = total - sum(times.values())
    return {"total": total, **times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="data directory (default: the shared set)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default="2026-01-01")
    args = parser.parse_args()
    args.data = args.data or simulated_dir(args.customers, args.seed)
    load_before = load_average()
    floor = time_floor_passes(args.data, args.as_of)  # also warms the page cache
    floor = time_floor_passes(args.data, args.as_of)
    build = profile_build(args.data, args.as_of)
    record = {
        "commit": commit(),
        "data": data_record(args.data),
        "data_line": data_line(args.data),
        "as_of": args.as_of,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_before": load_before,
        "load_after": load_average(),
        "floor_pass_seconds": floor,
        "build_seconds": build,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "features_profile.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "features_profile.md").write_text(markdown(record))
    print(markdown(record))


def markdown(r: dict) -> str:
    build = dict(r["build_seconds"])
    total = build.pop("total")
    floor = r["floor_pass_seconds"]
    lines = [
        "# Profile: where `smsseg features` spends its time (issue 12, goal 6)",
        "",
        f"Commit `{r['commit']}`; as of {r['as_of']}; {r['machine']['cpus']} CPUs, Python "
        f"{r['machine']['python']}. Load average {r['load_before']} before, {r['load_after']} "
        f"after. {r['data_line']}",
        "",
        f"One in-process build and write (`--no-validate`): **{total:.1f} s**. Each piece's own "
        "seconds (a table built inside another's SQL counts for itself only):",
        "",
        "| piece | reads | seconds | share |",
        "|---|---|---:|---:|",
    ]
    for piece, seconds in sorted(build.items(), key=lambda kv: -kv[1]):
        reads = READS.get(piece.removeprefix("table "), "")
        lines.append(f"| {piece} | {reads} | {seconds:.2f} | {seconds / total:.0%} |")
    lines += [
        "",
        f"The floor's passes, each alone (sum {sum(floor.values()):.2f} s; the floor script also "
        "joins them and writes Parquet):",
        "",
        "| input | floor pass (s) | the build's scans of it | their seconds | x floor |",
        "|---|---:|---|---:|---:|",
    ]
    for name, seconds in floor.items():
        tables = SCANS[name]
        ours = sum(build.get(f"table {t}", 0.0) for t in tables)
        lines.append(
            f"| {name} | {seconds:.2f} | {', '.join(tables)} | {ours:.2f} | {ours / seconds:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
