"""Saving value tiers as JSON beside the models and logging them to MLflow (never pickled)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from smsseg import config
from smsseg._io import write_text
from smsseg.errors import SmssegError
from smsseg.tiers.estimator import ValueTiers

#: Default file name of saved tiers, in ``config.MODELS_DIR``.
TIERS_FILE = "value_tiers.json"
EXPERIMENT = "smsseg-tiers"


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


def log_tiers(
    tiers: ValueTiers,
    profile: pd.DataFrame | None = None,
    stability: Sequence[float] | None = None,
    *,
    experiment: str = EXPERIMENT,
    run_name: str = "value-tiers",
    tags: dict[str, str] | None = None,
) -> str:
    """Log tiers to MLflow (``config.tracking_uri()``): parameters, criterion values, stability,
    the JSON and the profile as artifacts. Returns the run id.

    Only aggregate numbers are logged: no customer identifiers and no phone numbers.
    """
    # imported here: MLflow is slow to import and only this function needs it. The models'
    # helpers put the run where the model runs go (artifacts beside an sqlite store).
    import mlflow

    from smsseg.models.tracking import configure, experiment_id

    uri = configure()
    with mlflow.start_run(
        experiment_id=experiment_id(experiment, uri), run_name=run_name, tags=tags
    ) as run:
        mlflow.log_params(
            {
                "k": tiers.k_,
                "criterion": tiers.criterion,
                "k_range": f"{tiers.k_range[0]}-{tiers.k_range[1]}",
                "names": ",".join(tiers.names_),
                "features": ",".join(str(c) for c in tiers.feature_names_in_),
                "random_state": tiers.random_state,
            }
        )
        metrics = {
            f"{tiers.criterion}_k{k}": v
            for k, v in tiers.criterion_values_.items()
            if not math.isnan(v)
        }
        if stability:
            metrics["ari_mean"] = float(sum(stability) / len(stability))
            metrics["ari_min"] = float(min(stability))
        if metrics:
            mlflow.log_metrics(metrics)
        mlflow.log_dict(tiers.to_dict(), "tiers/value_tiers.json")
        if profile is not None:
            mlflow.log_text(profile.to_csv(index=False), "tiers/tier_profile.csv")
        return run.info.run_id
