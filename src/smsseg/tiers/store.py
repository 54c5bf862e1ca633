"""Saving value tiers as JSON beside the models (never pickled); MLflow logging is in
:func:`smsseg.tracking.log_tiers`."""

from __future__ import annotations

import json
from pathlib import Path

from smsseg import config
from smsseg._io import write_text
from smsseg.errors import SmssegError
from smsseg.tiers.estimator import ValueTiers

#: Default file name of saved tiers, in ``config.MODELS_DIR``.
TIERS_FILE = "value_tiers.json"


def default_tiers_path() -> Path:
    """Where tiers are saved by default: ``models/value_tiers.json``."""
    return config.MODELS_DIR / TIERS_FILE


def save_tiers(tiers: ValueTiers, path: str | Path | None = None) -> Path:
    """Write fitted tiers as JSON, atomically; return the path."""
    return write_text(tiers.to_json(), default_tiers_path() if path is None else path)


def load_tiers(path: str | Path | None = None) -> ValueTiers:
    """Read tiers written by :func:`save_tiers`.

    Raises
    ------
    SmssegError
        If the file is missing, is not JSON or is not a value-tiers file.
    """
    path = Path(default_tiers_path() if path is None else path)
    if not path.is_file():
        raise SmssegError(f"tiers file {path} does not exist (fit tiers first or give another)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SmssegError(f"tiers file {path} is not valid JSON: {exc}") from None
    return ValueTiers.from_json(data)
