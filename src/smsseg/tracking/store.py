"""MLflow at the edge: one experiment per model kind, one run per trained model.

Every run logs its parameters, a data fingerprint (row counts, date range, content hash), the
feature list, metrics, plots and the model (``pyfunc`` from code, with signature and input
example), and registers the model so that ``mlflow.pyfunc.load_model("models:/<name>/<v>")``
brings it back. The tracking URI is :func:`smsseg.config.tracking_uri` (an sqlite store under
``experiments/`` unless ``MLFLOW_TRACKING_URI`` says otherwise); for an sqlite store the
artifacts go to an ``artifacts/`` folder beside the database, not to the working directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from smsseg import config
from smsseg.models.bundle import ModelBundle, library_versions, save_bundle
from smsseg.models.plots import close
from smsseg.tracking.pyfunc import MODEL_CODE


@dataclass(frozen=True)
class LoggedModel:
    """Where a training run went: run id, registered name and version, model URI."""

    kind: str
    experiment: str
    run_id: str
    registered_name: str
    version: str
    model_uri: str


def configure(uri: str | None = None) -> str:
    """Point MLflow at ``uri`` (default :func:`smsseg.config.tracking_uri`) and return it."""
    uri = uri or config.tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return uri


#: The lines MLflow prints to stderr (not through a logger) when it registers a model; the
#: caller reports the registered version itself.
REGISTRY_CHATTER = re.compile(
    r"(Successfully registered model '.*'\."
    r"|Registered model '.*' already exists\. Creating a new version of this model\.\.\."
    r"|Created version '.*' of model '.*'\.)"
)


@contextlib.contextmanager
def registry_chatter_dropped():
    """Drop MLflow's "Successfully registered model" / "Created version" lines, nothing else.

    MLflow ``print``s them to ``sys.stderr`` (its logger level does not apply), so stderr is
    captured for the block and every other line is written back to it afterwards.
    """
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            yield
    finally:
        kept = [
            line
            for line in captured.getvalue().splitlines(keepends=True)
            if not REGISTRY_CHATTER.fullmatch(line.strip())
        ]
        sys.stderr.write("".join(kept))


def _artifact_location(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        return (db.parent / "artifacts").resolve().as_uri()
    return None


def experiment_id(name: str, uri: str) -> str:
    """The id of experiment ``name``, created (with our artifact location) when absent."""
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return mlflow.create_experiment(name, artifact_location=_artifact_location(uri))


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's values and index (pandas' row hashes, order-sensitive)."""
    rows = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return hashlib.sha256(rows.tobytes()).hexdigest()


def data_fingerprint(row_counts: dict[str, int], date_range: tuple, frame: pd.DataFrame) -> dict:
    """Row counts per table, first/last order date used, and the training frame's content hash."""
    first, last = date_range
    return {
        "row_counts": dict(row_counts),
        "orders_from": str(first),
        "orders_to": str(last),
        "training_rows": len(frame),
        "content_sha256": content_hash(frame),
    }


def signature(example: pd.DataFrame, output: pd.DataFrame) -> ModelSignature:
    """Explicit signature: every feature optional (double or string), ``as_of`` as a parameter."""

    def spec(frame: pd.DataFrame) -> Schema:
        cols = []
        for name in frame.columns:
            dtype = frame[name].dtype
            if pd.api.types.is_datetime64_any_dtype(dtype):
                kind = "datetime"
            elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                kind = "double"
            else:
                kind = "string"
            cols.append(ColSpec(kind, name, required=False))
        return Schema(cols)

    return ModelSignature(
        inputs=spec(example),
        outputs=spec(output),
        params=ParamSchema([ParamSpec("as_of", "string", "")]),
    )


def input_example(features: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """A few rows, numbers as float and categories as plain strings (what the signature says)."""
    rows = features.head(n).reset_index(drop=True)
    out = {}
    for name in rows.columns:
        col = rows[name]
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            out[name] = (
                col.astype("float64")
                if not pd.api.types.is_bool_dtype(col.dtype)
                else col.astype(object).where(col.notna(), np.nan).astype("float64")
            )
        else:
            out[name] = col.astype(object).where(col.notna(), None)
    return pd.DataFrame(out)


def pip_requirements() -> list[str]:
    """Pinned requirements of a logged model; given explicitly because MLflow's inference
    loads the model in a subprocess, which costs tens of seconds per run."""
    versions = library_versions()
    names = ("smsseg", "lightgbm", "numpy", "pandas", "scikit-learn", "mlflow", "duckdb")
    return [f"{name}=={versions[name]}" for name in names if versions[name] != "not installed"]


def log_run(
    kind: str,
    experiment: str,
    *,
    params: dict,
    fingerprint: dict,
    features: list[str],
    metrics: dict[str, float],
    figures: dict,
    bundle: ModelBundle,
    example: pd.DataFrame,
    example_output: pd.DataFrame,
    registered_name: str,
    uri: str | None = None,
) -> LoggedModel:
    """Log one training run of ``kind`` and register its model; returns where it went."""
    uri = configure(uri)
    exp_id = experiment_id(experiment, uri)
    with mlflow.start_run(
        experiment_id=exp_id, run_name=f"{kind}-{bundle.meta.get('as_of', '')}"
    ) as run:
        mlflow.set_tags({"smsseg.kind": kind, "smsseg.as_of": str(bundle.meta.get("as_of"))})
        mlflow.log_params({k: v for k, v in params.items() if v is not None})
        mlflow.log_params(
            {
                "data.training_rows": fingerprint["training_rows"],
                "data.content_sha256": fingerprint["content_sha256"],
                "data.orders_from": fingerprint["orders_from"],
                "data.orders_to": fingerprint["orders_to"],
                "n_features": len(features),
            }
        )
        mlflow.log_dict(fingerprint, "data_fingerprint.json")
        mlflow.log_dict({"features": features}, "features.json")
        mlflow.log_metrics(
            {k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)}
        )
        for name, fig in figures.items():
            mlflow.log_figure(fig, f"plots/{name}.png")
            close(fig)
        with tempfile.TemporaryDirectory() as tmp:
            save_bundle(bundle, Path(tmp) / "bundle")
            with warnings.catch_warnings(), registry_chatter_dropped():
                # MLflow's type-hint advice for a PythonModel given as code
                warnings.simplefilter("ignore", UserWarning)
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=str(MODEL_CODE),
                    artifacts={"bundle": str(Path(tmp) / "bundle")},
                    signature=signature(example, example_output),
                    input_example=example,
                    registered_model_name=registered_name,
                    pip_requirements=pip_requirements(),
                )
        mlflow.log_dict(json.loads(json.dumps(bundle.meta, default=str)), "bundle.json")
    version = str(info.registered_model_version)
    return LoggedModel(
        kind,
        experiment,
        run.info.run_id,
        registered_name,
        version,
        f"models:/{registered_name}/{version}",
    )
