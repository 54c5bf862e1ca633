"""Run every benchmark script in this folder, one after another (``make bench``).

Each ``bench_*.py`` measures one performance target and writes ``benchmarks/results/<topic>.json``
and ``.md``. They are run by hand, never as tests: on the reference 2-core machine the full set
takes well over an hour. The shared 1M-customer dataset (``_data.simulated_dir``: one cached copy
per simulator version and seed) is made first, once, and every script that reads simulated data
reads it; its generation command and hash are printed here and quoted in each results file.
Pass script names to run a subset: ``python benchmarks/run_all.py bench_readout.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    from _data import data_line, simulated_dir

    print(f"== shared data: {data_line(simulated_dir(1_000_000))}", flush=True)
    # bench_score scores with the model bench_train saves: it runs last
    scripts = (
        [HERE / n for n in names]
        if names
        else sorted(HERE.glob("bench_*.py"), key=lambda p: (p.name == "bench_score.py", p.name))
    )
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(
            f"== {script.name}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True
        )
        if code:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
