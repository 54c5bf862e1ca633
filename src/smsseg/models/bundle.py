"""A trained model set on disk: LightGBM native text files plus JSON metadata, never pickle.

Layout of a model directory (``models/<name>/``)::

    bundle.json        name, version, as_of, horizon, feature list, category vector list,
                       risk-band thresholds, metrics, library versions, notes
    churn.txt/.json    churn classifier (booster text; features, levels, calibrator, params)
    discount.txt/.json discount-sensitivity classifier (absent when the data had no discounts)
    next_order.txt/.json  days-to-next-order regressor
    uplift.json, uplift_<part>.txt  uplift learner (absent without a randomized test)
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

from smsseg import config
from smsseg._io import atomic_path
from smsseg.errors import SmssegError
from smsseg.models.classifier import CalibratedLGBMClassifier
from smsseg.models.next_order import NextOrderRegressor
from smsseg.models.uplift import UpliftLearner

BUNDLE_FILE = "bundle.json"
PARTS = ("churn", "discount", "next_order", "uplift")
DEFAULT_MODEL_NAME = config.DEFAULT_MODEL_NAME
model_dir = config.model_dir  # the one rule, declared with the other paths


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    names = ("smsseg", "lightgbm", "numpy", "pandas", "scikit-learn", "mlflow", "duckdb")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class ModelBundle:
    """The models ``smsseg score`` uses, with their shared metadata.

    Parameters
    ----------
    churn : the churn classifier (required).
    discount, next_order, uplift : optional parts; ``None`` when training could not make them.
    meta : JSON-ready metadata (see module docstring); ``features`` and ``categories`` tell the
        scorer which feature columns to build.
    """

    churn: CalibratedLGBMClassifier
    discount: CalibratedLGBMClassifier | None = None
    next_order: NextOrderRegressor | None = None
    uplift: UpliftLearner | None = None
    meta: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def parts(self) -> list[str]:
        return [p for p in PARTS if getattr(self, p) is not None]

    def subset(self, parts: list[str]) -> ModelBundle:
        """A bundle with only ``parts`` (the churn model is always kept: the scorer needs it)."""
        keep = {p: getattr(self, p) if p in parts else None for p in PARTS if p != "churn"}
        return ModelBundle(self.churn, meta=dict(self.meta), **keep)


def _write_parts(bundle: ModelBundle, directory: Path) -> None:
    common = {
        "as_of": bundle.meta.get("as_of"),
        "horizon_days": bundle.meta.get("horizon_days"),
        "versions": bundle.meta.get("versions"),
    }
    for part in bundle.parts():
        model = getattr(bundle, part)
        metrics = bundle.meta.get("metrics", {}).get(part, {})
        model.save(directory, part, extra={**common, "metrics": metrics})


def save_bundle(bundle: ModelBundle, directory: str | Path) -> Path:
    """Write the bundle to ``directory`` atomically (an existing bundle is replaced whole).

    Raises
    ------
    SmssegError
        When ``directory`` exists with files but is not a model bundle: replacing it would
        delete someone's data.
    """
    directory = Path(directory)
    if directory.is_dir() and any(directory.iterdir()) and not (directory / BUNDLE_FILE).is_file():
        raise SmssegError(
            f"'{directory}' exists and is not a model bundle (no {BUNDLE_FILE}); refusing to "
            "replace it: choose another model name or an empty directory"
        )
    meta = {
        **bundle.meta,
        "parts": bundle.parts(),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    meta.setdefault("versions", library_versions())
    bundle.meta = meta
    with atomic_path(directory) as tmp:
        tmp.mkdir()
        _write_parts(bundle, tmp)
        (tmp / BUNDLE_FILE).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return Path(directory)


def load_bundle(directory: str | Path) -> ModelBundle:
    """Read a bundle written by :func:`save_bundle`."""
    directory = Path(directory)
    meta_path = directory / BUNDLE_FILE
    if not meta_path.is_file():
        raise SmssegError(
            f"model directory '{directory}' has no {BUNDLE_FILE}; train one with `smsseg train`"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    parts = set(meta.get("parts", ["churn"]))
    return ModelBundle(
        churn=CalibratedLGBMClassifier.load(directory, "churn"),
        discount=CalibratedLGBMClassifier.load(directory, "discount")
        if "discount" in parts
        else None,
        next_order=NextOrderRegressor.load(directory, "next_order")
        if "next_order" in parts
        else None,
        uplift=UpliftLearner.load(directory, "uplift") if "uplift" in parts else None,
        meta=meta,
    )


def resolve_model_dir(name_or_path: str | Path | None) -> Path:
    """The directory of a trained model (see :func:`model_dir` for the rule).

    Raises
    ------
    SmssegError
        When that directory holds no ``bundle.json``.
    """
    path = model_dir(name_or_path)
    if (path / BUNDLE_FILE).is_file():
        return path
    value = str(name_or_path or DEFAULT_MODEL_NAME)
    raise SmssegError(
        f"--model={value!r}: no trained model found at '{path}'; run `smsseg train --model "
        f"{value}` first or pass the directory of a saved model (a path holding '/')"
    )
