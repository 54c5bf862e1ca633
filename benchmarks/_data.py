"""The simulated datasets the benchmarks share (generated once into the git-ignored ``_work``)."""

from __future__ import annotations

from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"


def simulated_dir(customers: int, seed: int = 42) -> Path:
    """``benchmarks/_work/sim_<N>`` (``sim_1m`` for a million), generated when missing."""
    name = "sim_1m" if customers == 1_000_000 else f"sim_{customers}"
    path = WORK / name
    if not (path / "events.parquet").is_file():
        from smsseg.data.simulator import generate

        print(f"generating {customers:,} customers into {path} ...", flush=True)
        generate(path, n_customers=customers, seed=seed, progress=True)
    return path
