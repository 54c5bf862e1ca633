"""The main job, wired end to end (Kedro's ``pipeline.py``): each step is a stage's pure function;
paths, I/O and printing live here and in the CLI.

``make demo`` runs :func:`run_demo` on a generated dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from smsseg import config
from smsseg.data.load import Dataset, load
from smsseg.data.simulator import generate


@dataclass
class DemoResult:
    """Where the demo wrote its outputs."""

    out: Path
    data_dir: Path
    data: Dataset
    outputs: dict[str, Path] = field(default_factory=dict)


def generate_and_load(out: Path, customers: int, seed: int) -> tuple[Path, Dataset]:
    """Step 1: generate the demo dataset and validate it."""
    data_dir = Path(out) / "data"
    generate(
        data_dir,
        n_customers=customers,
        seed=seed,
        start=config.DEFAULT_START,
        end=config.DEFAULT_END,
        progress=True,
    )
    return data_dir, load(data_dir)


def run_demo(
    out: str | Path = "demo",
    customers: int = config.DEFAULT_CUSTOMERS,
    seed: int = config.DEFAULT_SEED,
) -> DemoResult:
    """Run the pipeline on a generated dataset under ``out``."""
    out = Path(out)
    data_dir, data = generate_and_load(out, customers, seed)
    return DemoResult(out=out, data_dir=data_dir, data=data)
