"""The on-disk model format shared by every smsseg model: LightGBM native text + JSON metadata.

Never pickle: a ``<name>.txt`` booster dump any LightGBM can read, and a ``<name>.json`` with
what is needed to rebuild the estimator (parameters, feature names, category levels, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb

from smsseg._io import write_text


def write_native(
    booster: lgb.Booster,
    meta: dict,
    directory: str | Path,
    name: str,
    num_iteration: int | None = None,
) -> tuple[Path, Path]:
    """Write ``<name>.txt`` (the booster, up to ``num_iteration``) and ``<name>.json`` atomically."""
    directory = Path(directory)
    model_path = write_text(
        booster.model_to_string(num_iteration=num_iteration), directory / f"{name}.txt"
    )
    meta_path = write_text(json.dumps(meta, indent=2, default=str), directory / f"{name}.json")
    return model_path, meta_path


def read_native(directory: str | Path, name: str) -> tuple[lgb.Booster, dict]:
    """Read back what :func:`write_native` wrote: the booster and its metadata."""
    directory = Path(directory)
    meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
    booster = lgb.Booster(model_str=(directory / f"{name}.txt").read_text(encoding="utf-8"))
    return booster, meta
