"""Profile the Spark feature build: seconds per feature step, optionally Spark's event log.

Run by hand (needs the spark extra and Java 17; not a timed test)::

    PYSPARK_PYTHON=.venv/bin/python .venv/bin/python benchmarks/profile_spark_features.py \
        --customers 200000 [--lazy] [--event-log DIR]

Builds the scoring features of the shared simulated shop (``_data.simulated_dir``) on Spark
``local[2]`` as ``bench_spark.py`` does, printing each step's seconds. ``--event-log`` writes
Spark's (uncompressed) event log, whose per-stage task, CPU, GC, rows-read and shuffle metrics
``results/spark_200k_investigation.md`` was written from; the SQL tab of the UI shows the same.
``--lazy`` patches back the old ``CREATE TEMP TABLE`` (persisted, not materialised when created),
to compare the two on the same machine state.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from pathlib import Path

from _data import simulated_dir

AS_OF = "2025-12-31"
MODEL = Path(__file__).resolve().parents[1] / "benchmarks" / "_work" / "model_spark_bench"


def _lazy_temp_tables() -> None:
    """``CREATE TEMP TABLE`` as persisted views computed at their first read (the old engine)."""
    from smsseg.spark import connection

    eager = connection.SparkConnection.execute

    def execute(self, sql: str):
        match = connection._CREATE_TABLE.match(sql)
        if not match:
            return eager(self, sql)
        name, select = match.groups()
        frame = self.frame(select).persist()
        frame.createOrReplaceTempView(name)
        self.persisted[name] = frame
        return connection.SparkResult(None)

    connection.SparkConnection.execute = execute
    connection.SparkConnection.sql = execute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--model", type=Path, default=MODEL, help="bundle (bench_spark.py's)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--lazy", action="store_true", help="the old lazy temporary tables")
    parser.add_argument("--event-log", type=Path, help="write Spark's event log here")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    from smsseg.models.bundle import load_bundle
    from smsseg.models.scoring import build_scoring_features
    from smsseg.spark import spark_session
    from smsseg.spark.data import load_spark

    if args.lazy:
        _lazy_temp_tables()
    conf = {
        "spark.sql.shuffle.partitions": "8",
        "spark.driver.memory": "8g",
        "spark.ui.enabled": "false",
    }
    if args.event_log:
        args.event_log.mkdir(parents=True, exist_ok=True)
        conf |= {
            "spark.eventLog.enabled": "true",
            "spark.eventLog.compress": "false",
            "spark.eventLog.dir": str(args.event_log),
        }
    start = time.perf_counter()
    spark = spark_session(args.master, conf)
    print(f"session {time.perf_counter() - start:.1f} s", flush=True)
    data = load_spark(simulated_dir(args.customers), spark, validate=False)
    steps: dict[str, float] = {}
    start = time.perf_counter()
    features = build_scoring_features(
        data,
        AS_OF,
        load_bundle(args.model),
        progress=lambda name: steps.__setitem__(name, time.perf_counter()),
    )
    end = time.perf_counter()
    names = list(steps)
    for name, stop in zip(names, [steps[n] for n in names[1:]] + [end], strict=True):
        print(f"{name:>10} {stop - steps[name]:7.2f} s")
    print(f"features {end - start:.1f} s for {len(features):,} customers")
    spark.stop()


if __name__ == "__main__":
    main()
