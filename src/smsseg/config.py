"""Paths and defaults in one place (cookiecutter-data-science's ``config.py``)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("SMSSEG_HOME", Path.cwd())).resolve()
MODELS_DIR = PROJECT_ROOT / "models"
EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"

DEFAULT_SEED = 42
#: The model ``train`` saves and ``score`` uses when none is named: ``models/smsseg``.
DEFAULT_MODEL_NAME = "smsseg"
DEFAULT_HORIZON_DAYS = 90
#: ``smsseg train`` fits on a seeded sample of this many customers when the data has more
#: (docs/models.md "Training at scale"; benchmarks/results/train_sampling.md measures its AUC cost)
DEFAULT_MAX_TRAIN_CUSTOMERS = 100_000
DEFAULT_CUSTOMERS = 20_000
DEFAULT_START = "2024-01-01"
DEFAULT_END = "2025-12-31"


def model_dir(name_or_path: str | Path | None) -> Path:
    """Where the model ``name_or_path`` lives: the one rule for training, scoring and reports.

    A value that looks like a path (it holds a path separator or starts with ``.``) is that
    directory; a bare name is ``models/<name>`` (default name: ``smsseg``).

    Example
    -------
    >>> model_dir("demo") == MODELS_DIR / "demo"
    True
    >>> model_dir("runs/demo").as_posix()
    'runs/demo'
    """
    value = str(name_or_path or DEFAULT_MODEL_NAME)
    looks_like_path = any(sep in value for sep in ("/", "\\")) or value.startswith(".")
    return Path(value) if looks_like_path else MODELS_DIR / value


def tracking_uri() -> str:
    """MLflow tracking URI: ``MLFLOW_TRACKING_URI`` if set, else a sqlite store in ``experiments/``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    EXPERIMENTS_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{EXPERIMENTS_DIR / 'mlflow.db'}"
