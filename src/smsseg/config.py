"""Paths and defaults in one place (cookiecutter-data-science's ``config.py``)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("SMSSEG_HOME", Path.cwd())).resolve()
MODELS_DIR = PROJECT_ROOT / "models"
EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"

DEFAULT_SEED = 42
DEFAULT_HORIZON_DAYS = 90
DEFAULT_CUSTOMERS = 20_000
DEFAULT_START = "2024-01-01"
DEFAULT_END = "2025-12-31"


def tracking_uri() -> str:
    """MLflow tracking URI: ``MLFLOW_TRACKING_URI`` if set, else a sqlite store in ``experiments/``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    EXPERIMENTS_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{EXPERIMENTS_DIR / 'mlflow.db'}"
