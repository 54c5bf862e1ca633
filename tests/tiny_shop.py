"""A tiny generated shop run through the CLI once per session: data, model, scores, segments.

Shared by the as-of and provenance tests (tests/test_asof.py, tests/test_provenance.py). Each
builder is cached on pytest's session base directory, so the model is trained once however
many modules ask for it.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from typer.testing import CliRunner

from smsseg.cli import app

#: The generated history: 2025-04-01 to 2025-12-31, both whole days.
START, END = "2025-04-01", "2025-12-31"
#: The as-of of the shared outputs: 00:00 UTC on the last day, so that day is left out.
AS_OF = "2025-12-31"
#: Train settings that keep a run to a few seconds.
FAST_TRAIN = ["--horizon-days", "30", "--snapshots", "1", "--threads", "1", "--no-mlflow"]

runner = CliRunner()


def invoke(*args: str):
    """Run ``smsseg *args`` in process; the result's output joined on single spaces."""
    logging.disable(logging.WARNING)  # the generated phones trip an E.164 warning; not the point
    try:
        result = runner.invoke(app, [str(a) for a in args])
    finally:
        logging.disable(logging.NOTSET)
    result.text = " ".join(result.output.split())
    return result


def ok(*args: str):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


@functools.cache
def shop(base: Path, name: str = "shop", customers: int = 150, seed: int = 5) -> Path:
    """A generated data directory (``other`` datasets: another name, size and seed)."""
    out = base / "tiny_shop" / name
    ok("generate", "--out", out, "--customers", customers, "--seed", seed,
       "--start", START, "--end", END)  # fmt: skip
    return out


@functools.cache
def model(base: Path) -> Path:
    out = base / "tiny_shop" / "model"
    ok("train", "--data", shop(base), "--as-of", AS_OF, "--model", out, *FAST_TRAIN)
    return out


@functools.cache
def scores(base: Path, data_name: str = "shop", as_of: str = AS_OF) -> Path:
    """Scores of ``shop(base, data_name)`` as of ``as_of`` with the shared model."""
    data = shop(base) if data_name == "shop" else shop(base, data_name, 60, 9)
    out = base / "tiny_shop" / f"scores_{data_name}_{as_of[:10]}.parquet"
    ok("score", "--data", data, "--as-of", as_of, "--model", model(base), "--out", out)
    return out


@functools.cache
def segments(base: Path) -> Path:
    out = base / "tiny_shop" / "segments"
    ok("segment", "--data", shop(base), "--as-of", AS_OF, "--scores", scores(base),
       "--out", out, "--no-mlflow", "--stability-boot", "0")  # fmt: skip
    return out
