"""Data steps: generate a dataset, validate a data directory, summarize it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from smsseg import config
from smsseg.errors import SmssegError
from smsseg.pipeline._types import PathLike

if TYPE_CHECKING:
    from smsseg.data.validation import ValidationReport


def generate(
    out: PathLike,
    *,
    customers: int = config.DEFAULT_CUSTOMERS,
    seed: int = config.DEFAULT_SEED,
    start: str = config.DEFAULT_START,
    end: str = config.DEFAULT_END,
    progress: bool = False,
    flows: bool = False,
) -> list[Path]:
    """Simulate a retail dataset with planted truth into ``out``; the files written.

    ``flows``: replay the lifecycle flows with holdouts and a planted response (docs/simulator.md).

    Raises
    ------
    SmssegError
        ``customers`` below 1.
    """
    from smsseg.data.simulator import generate as simulate

    if customers < 1:
        raise SmssegError(f"--customers={customers} must be >= 1")
    return simulate(
        out, n_customers=customers, seed=seed, start=start, end=end, progress=progress, flows=flows
    )


def validate(data: PathLike) -> ValidationReport:
    """Check a data directory against the contract; the report lists every error and warning.

    A broken contract is not raised here: the report says what is broken, and ``report.ok`` is
    false. A directory that cannot be read at all raises
    :class:`~smsseg.data.validation.DataValidationError`.
    """
    import logging

    from smsseg.data.load import validate_dir

    # the report carries the loader's warnings; its logger is quiet for this one call (restored
    # after, never process-wide) so that they are not reported twice
    loader = logging.getLogger("smsseg.data.load")
    level = loader.level
    loader.setLevel(logging.ERROR)
    try:
        return validate_dir(data)
    finally:
        loader.setLevel(level)


def summary(data: PathLike) -> dict[str, object]:
    """Validate and load ``data``; its headline numbers (see :func:`smsseg.data.summary.summarize`)."""
    from smsseg.data.load import load
    from smsseg.data.summary import summarize

    return summarize(load(data))
