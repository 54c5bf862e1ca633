"""The simulated datasets the benchmarks share: one cached copy per size, seed and simulator version.

Every benchmark asks :func:`simulated_dir` for its data, so two benchmarks quoting "1M customers"
measure the same files. The directory name carries the size, the seed and the simulator's version
(``sim_1m_s42_v5``, ``smsseg.data.simulator.SIMULATOR_VERSION``, bumped whenever the simulator's
output changes): a new simulator makes a new directory instead of silently reusing old data. ``DATA.json`` in the
directory records the generation command, the simulator version and a hash of the data files, and
:func:`data_record` returns it for the results files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def _shared_work() -> Path:
    """``benchmarks/_work`` of the main checkout, shared by every git worktree of the project.

    A benchmark run from a second worktree (``git worktree add``) must find the 1M dataset the
    main checkout already generated, not make a second copy: git's common directory is the main
    checkout's ``.git``. ``$SMSSEG_BENCH_WORK`` overrides it.
    """
    if os.environ.get("SMSSEG_BENCH_WORK"):
        return Path(os.environ["SMSSEG_BENCH_WORK"])
    here = Path(__file__).resolve().parent
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return here / "_work"
    return Path(common).parent / "benchmarks" / "_work"


WORK = _shared_work()
RECORD = "DATA.json"
#: The CDNOW backtests (as of, horizon in days) that can be trained: ``bench_churn_realdata.py``'s
#: grid without 1997-06-30 / 182 days, which has no complete label window after enough history.
CDNOW_BACKTESTS = (
    ("1997-06-30", 91),
    ("1997-09-30", 91),
    ("1997-09-30", 182),
    ("1997-12-31", 91),
    ("1997-12-31", 182),
)


def cdnow_dir() -> Path:
    """The real CDNOW tables (``smsseg.datasets.write_cdnow``), written once to ``WORK/cdnow``."""
    from smsseg.datasets import write_cdnow

    path = WORK / "cdnow"
    if not (path / "orders.parquet").is_file():
        write_cdnow(path)
    return path


def simulator_version() -> int:
    """``smsseg.data.simulator.SIMULATOR_VERSION`` of the installed source."""
    from smsseg.data.simulator import SIMULATOR_VERSION

    return SIMULATOR_VERSION


def _size_label(customers: int) -> str:
    if customers % 1_000_000 == 0:
        return f"{customers // 1_000_000}m"
    if customers % 1_000 == 0:
        return f"{customers // 1_000}k"
    return str(customers)


def data_hash(path: Path) -> str:
    """SHA-256 (first 16 hex digits) over the Parquet files of a data directory, in name order."""
    digest = hashlib.sha256()
    for file in sorted(path.glob("*.parquet")):
        digest.update(file.name.encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def simulated_dir(customers: int, seed: int = 42) -> Path:
    """``benchmarks/_work/sim_<N>_s<seed>_v<version>``, generated when missing."""
    version = simulator_version()
    path = WORK / f"sim_{_size_label(customers)}_s{seed}_v{version}"
    if (path / RECORD).is_file():
        return path
    from smsseg.data.simulator import generate

    print(f"generating {customers:,} customers into {path} ...", flush=True)
    started = time.perf_counter()
    # generate() writes its directory atomically; the record is written last, so a directory
    # without it is an interrupted run and is generated again.
    shutil.rmtree(path, ignore_errors=True)
    generate(path, n_customers=customers, seed=seed, progress=True)
    record = {
        "customers": customers,
        "seed": seed,
        "simulator_version": version,
        "command": f"smsseg generate --customers {customers} --seed {seed} --out {path.name}",
        "python_call": f"smsseg.data.simulator.generate(out, n_customers={customers}, seed={seed})",
        "generated_in_seconds": round(time.perf_counter() - started, 1),
        "data_hash": data_hash(path),
    }
    (path / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return path


def data_record(path: Path) -> dict:
    """What a results file should quote about its data: command, simulator version and hash.

    Data directories not made by :func:`simulated_dir` (passed with ``--data``) are hashed here.
    """
    record_file = Path(path) / RECORD
    if record_file.is_file():
        return json.loads(record_file.read_text())
    return {"path": str(path), "data_hash": data_hash(Path(path)), "command": "(given with --data)"}


def data_line(path: Path) -> str:
    """One Markdown line for a results file: the data's generation command and hash."""
    record = data_record(path)
    version = record.get("simulator_version", "-")
    return (
        f"Data: `{record['command']}` (simulator version {version}, "
        f"data hash `{record['data_hash']}`)."
    )


def frame_hash(frame) -> str:
    """SHA-256 (first 16 hex digits) of an in-memory data frame: for benchmarks that synthesise
    their own data (BTYD cohorts, readout units) instead of reading a simulated directory."""
    import pandas as pd

    values = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return hashlib.sha256(values.tobytes()).hexdigest()[:16]


def commit() -> str:
    """The checked-out commit (short hash), ``+dirty`` when the tree has uncommitted changes."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def load_average() -> str:
    """The 1, 5 and 15-minute load averages (timings on a busy machine are inflated)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(simulated_dir(size))
