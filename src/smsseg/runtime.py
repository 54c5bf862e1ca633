"""How many threads smsseg's engines (DuckDB, LightGBM / OpenMP) use, decided in one place.

Why this exists: LightGBM parallelises with OpenMP, whose threads by default *spin* (busy-wait)
between parallel regions. Two smsseg jobs on the same cores then burn their time slices spinning
against each other, and each runs 20-40x slower than alone (measured on a 2-core machine,
``benchmarks/results/threads.md``). Two defaults fix it:

- ``OMP_WAIT_POLICY=PASSIVE`` (:func:`passive_openmp`, applied when :mod:`smsseg` is imported,
  before LightGBM loads its OpenMP runtime): idle OpenMP threads sleep instead of spinning.
  An explicit ``OMP_WAIT_POLICY`` in the environment is left as it is.
- a thread count per job (:func:`default_threads`): ``$SMSSEG_THREADS`` when set, else
  ``$OMP_NUM_THREADS``, else the number of CPUs this process may run on. Every heavy command takes ``--threads N`` to override
  it; DuckDB connections (:func:`smsseg.data.load.connect`) and LightGBM models
  (``num_threads``) both read :func:`resolve_threads`.

The thread count only changes speed, never results: DuckDB's sums that feed features are exact
(:func:`smsseg.features._query.exact_sum`) and LightGBM trains with ``deterministic=True``.
"""

from __future__ import annotations

import os

from smsseg.errors import SmssegError

#: Environment variable with the default thread count of every smsseg job (unset: all CPUs).
THREADS_ENV = "SMSSEG_THREADS"

THREADS_HELP = (
    "Threads for DuckDB and LightGBM (0: the default, $SMSSEG_THREADS, else $OMP_NUM_THREADS, "
    "else every CPU this process may use; see docs/performance.md). Idle OpenMP threads sleep "
    "(OMP_WAIT_POLICY=PASSIVE), so two jobs sharing the machine do not spin against each other."
)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under ``taskset`` or a container)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """``$SMSSEG_THREADS``, else ``$OMP_NUM_THREADS``, else :func:`available_cpus`.

    ``OMP_NUM_THREADS`` is the usual way to cap a machine's OpenMP jobs (CI, ``make test``); a
    user who set it gets the same cap for DuckDB.
    """
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if not value:
            continue
        if not value.isdigit() or int(value) < 1:
            raise SmssegError(f"{name}={value!r} must be a whole number >= 1")
        return int(value)
    return available_cpus()


def resolve_threads(threads: int | None = None) -> int:
    """The thread count to use: ``threads`` when >= 1, else (``None`` or 0) the default."""
    if threads is None or threads == 0:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise SmssegError(f"--threads={threads!r} must be a whole number >= 0 (0: the default)")
    return threads


def passive_openmp() -> None:
    """Make idle OpenMP threads sleep rather than spin, unless the user chose a wait policy.

    Only takes effect if it runs before an OpenMP runtime is loaded (it reads the variable once,
    when LightGBM or scikit-learn first loads it), hence its call in ``smsseg/__init__.py``.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def use_threads(threads: int | None = None) -> int:
    """Set this process's default thread count for every engine; returns it.

    For a command-line run: ``$SMSSEG_THREADS`` makes :func:`default_threads` (so every DuckDB
    connection and LightGBM model made afterwards) use the count, and OpenMP's own default is
    limited to it too, for LightGBM boosters loaded from a file (their ``num_threads`` is 0) and
    scikit-learn's OpenMP code.
    """
    n = resolve_threads(threads)
    os.environ[THREADS_ENV] = str(n)
    os.environ["OMP_NUM_THREADS"] = str(n)  # read by an OpenMP runtime not loaded yet
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n, user_api="openmp")  # and by those already loaded
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    return n
