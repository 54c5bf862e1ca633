"""Train, track, save and score in one call: the models step of ``make demo``.

Paths and MLflow are this function's business (it is an edge, like the CLI); the work is done by
the pure steps in :mod:`smsseg.models.train` and :mod:`smsseg.models.scoring`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smsseg._io import write_parquet
from smsseg.data.load import Dataset
from smsseg.models.bundle import save_bundle
from smsseg.models.scoring import RiskBands, score_customers
from smsseg.models.train import TrainResult, TrainSettings, train_models


@dataclass(frozen=True)
class ModelsStep:
    """What the models step wrote, and how to look at its MLflow runs."""

    result: TrainResult
    model_dir: Path
    scores_path: Path
    tracking_uri: str | None
    n_scored: int
    n_reasons: int

    @property
    def mlflow_ui_command(self) -> str | None:
        if self.tracking_uri is None:
            return None
        return f"mlflow ui --backend-store-uri {self.tracking_uri}"


def train_and_score(
    data: Dataset,
    as_of,
    out: str | Path,
    *,
    experiment: str = "smsseg",
    settings: TrainSettings | None = None,
    tracking_uri: str | None = None,
    track: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ModelsStep:
    """Train every model on ``data`` as of ``as_of``, log them, save them, score everyone.

    Parameters
    ----------
    data : the loaded dataset.
    as_of : training and scoring date.
    out : directory for ``models/smsseg/`` and ``scores.parquet`` (and, by default, the MLflow
        store ``mlflow.db`` with its ``artifacts/``).
    experiment : MLflow experiment prefix.
    settings : training settings.
    tracking_uri : MLflow store; default ``sqlite:///<out>/mlflow.db``.
    track : log to MLflow (turn off for a quick run).
    progress : called with each training step's name.

    Returns
    -------
    ModelsStep
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = train_models(data, as_of, settings, progress=progress)
    uri = None
    if track:
        from smsseg.models.mlflow_runs import log_training

        uri = tracking_uri or f"sqlite:///{(out / 'mlflow.db').resolve()}"
        log_training(result, data, experiment=experiment, uri=uri)
    else:
        result.bundle.meta["version"] = f"{experiment}@{result.bundle.meta['as_of']}"
    model_dir = save_bundle(result.bundle, out / "models" / experiment)
    scores, _ = score_customers(data, as_of, result.bundle, RiskBands())
    scores_path = write_parquet(scores, out / "scores.parquet", index=False)
    return ModelsStep(
        result, model_dir, scores_path, uri, len(scores), int(scores.attrs.get("n_reasons", 0))
    )
