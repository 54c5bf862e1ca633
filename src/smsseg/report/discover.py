"""Finding the parts of a run folder: whatever exists is reported, the rest is noted as missing."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import pyarrow.parquet as pq

#: Label columns a held-out predictions file may carry (0/1).
LABEL_COLUMNS = ("churn", "y", "y_true", "label")
#: Folders never searched (MLflow stores, caches).
SKIP_DIRS = {"mlruns", "artifacts", "__pycache__", ".ipynb_checkpoints"}
#: Files written by ``smsseg backtest`` (see :func:`smsseg.models.backtest.write_backtest`).
BACKTEST_JSON = "backtest.json"
BACKTEST_PREDICTIONS = "backtest_predictions.parquet"
#: The parts of a run a report reads, i.e. the :class:`RunFiles` fields that are locations.
PARTS = ("data_dir", "bundle_dir", "scores", "predictions", "features", "segments_dir",
         "plan_dir", "backtest", "flows_backtest")  # fmt: skip
#: Outputs whose provenance names their data directory, in the order they are asked.
STAMPED = ("scores.parquet", "membership.parquet", "plan.parquet", "features*.parquet")


@dataclass(frozen=True)
class RunFiles:
    """Where each part of a run lives (``None``: not in this run).

    Attributes
    ----------
    run : the run folder.
    data_dir : contract tables (``customers.parquet`` ...).
    bundle_dir : a model bundle (``bundle.json``).
    scores : ``scores.parquet`` (churn probability, discount sensitivity, risk band).
    predictions : held-out predictions with a 0/1 label and score columns (ROC, calibration).
    features : a features Parquet file.
    segments_dir : output of ``smsseg segment`` (``membership.parquet``, ``segment_summary.csv``).
    plan_dir : output of ``smsseg plan`` (``plan.parquet``, ``suppressed.csv``).
    backtest : output of ``smsseg backtest`` (``backtest.json``, ``backtest_predictions.parquet``,
        ``calibration.png``).
    flows_backtest : output of ``smsseg flows backtest`` (``by_flow.csv``, ``backtest.json``).
    data_source : how ``data_dir`` was found (given, inside the run folder, or recorded in the
        provenance of an output), for the reader.
    """

    run: Path
    data_dir: Path | None = None
    bundle_dir: Path | None = None
    scores: Path | None = None
    predictions: Path | None = None
    features: Path | None = None
    segments_dir: Path | None = None
    plan_dir: Path | None = None
    backtest: Path | None = None
    flows_backtest: Path | None = None
    data_source: str | None = None

    def present(self) -> dict[str, bool]:
        """Whether each part was found, in the order of the fields."""
        return {f.name: getattr(self, f.name) is not None for f in fields(self) if f.name in PARTS}


def _files(run: Path, pattern: str) -> list[Path]:
    """Matches of ``pattern`` under ``run``, shallowest first, skipping hidden and tool folders."""
    found = [
        p
        for p in run.rglob(pattern)
        if not any(
            part.startswith(".") or part in SKIP_DIRS for part in p.relative_to(run).parts[:-1]
        )
    ]
    return sorted(found, key=lambda p: (len(p.relative_to(run).parts), str(p)))


def _first(run: Path, pattern: str) -> Path | None:
    found = _files(run, pattern)
    return found[0] if found else None


def _is_predictions(path: Path) -> bool:
    if path.name == BACKTEST_PREDICTIONS:  # the realized future of a backtest, not a held-out test
        return False
    try:
        cols = pq.read_schema(path).names
    except (OSError, ValueError):
        return False
    return any(c in cols for c in LABEL_COLUMNS) and len(cols) >= 2


def _is_bundle(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")).get("metrics"), dict)
    except (OSError, ValueError, AttributeError):
        return False


def _is_backtest(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")).get("summary"), dict)
    except (OSError, ValueError, AttributeError):
        return False


def backtest_folder(path: Path) -> Path:
    """The folder of a backtest given the folder itself or its ``backtest.json``."""
    return path.parent if path.name == BACKTEST_JSON and not path.is_dir() else path


def has_customers(folder: Path) -> bool:
    """Whether ``folder`` holds the contract's customers table (Parquet or CSV)."""
    return any((folder / f"customers{s}").is_file() for s in (".parquet", ".csv"))


def recorded_data_dir(run: Path) -> tuple[Path, str] | None:
    """The data directory named in the provenance of the run's outputs, while it still holds the
    same data (its fingerprint unchanged), with the file that named it.

    A run made by hand with ``--data`` pointing outside the run folder stamps that directory
    (resolved) into ``scores.parquet``, ``membership.parquet`` and ``plan.parquet``
    (:mod:`smsseg.provenance`); the fingerprint check keeps the report from showing a directory
    that has since been regenerated or replaced.
    """
    from smsseg.provenance import data_fingerprint, read_provenance

    for pattern in STAMPED:
        for path in _files(run, pattern):
            try:
                found = read_provenance(path)
            except (OSError, ValueError):  # not Parquet: another section reports it
                continue
            if found is None or not found.data_dir or not found.data_fingerprint:
                continue
            folder = Path(found.data_dir)
            if not folder.is_absolute():
                folder = run / folder
            if has_customers(folder) and data_fingerprint(folder) == found.data_fingerprint:
                return folder, str(path.relative_to(run))
    return None


def _data_dir(run: Path, given: Path | None) -> tuple[Path | None, str | None]:
    if given is not None:
        return Path(given), "given (--data)"
    for candidate in (run / "data", run):
        if has_customers(candidate):
            return candidate, "in the run folder"
    recorded = recorded_data_dir(run)
    if recorded is not None:
        return recorded[0], f"recorded in the provenance of {recorded[1]}"
    return None, None


def discover_run(run: str | Path, **overrides: Path | None) -> RunFiles:
    """Locate the parts of a run folder; ``overrides`` (same names as :class:`RunFiles`) win.

    Data: the ``data_dir`` override, else ``run/data`` or ``run`` itself when it holds
    ``customers.*``, else the data directory recorded in the provenance of the run's scores,
    segments or plan when it still holds the same data (:func:`recorded_data_dir`). Others: the
    shallowest
    ``bundle.json`` with metrics, ``scores.parquet``, a ``*test*`` / ``*predictions*`` Parquet with a
    label column (never a backtest's ``backtest_predictions.parquet``), ``features*.parquet``, the
    folder of ``membership.parquet``, of ``plan.parquet`` and of a ``backtest.json`` with a
    summary. A ``backtest`` override may name the folder or its ``backtest.json``.
    """
    run = Path(run)
    found: dict[str, Path | None] = {}
    bundle = next((p for p in _files(run, "bundle.json") if _is_bundle(p)), None)
    found["bundle_dir"] = bundle.parent if bundle else None
    found["scores"] = _first(run, "scores.parquet")
    preds = _files(run, "*test*.parquet") + _files(run, "*predictions*.parquet")
    found["predictions"] = next((p for p in preds if _is_predictions(p)), None)
    found["features"] = _first(run, "features*.parquet")
    membership = _first(run, "membership.parquet")
    found["segments_dir"] = membership.parent if membership else None
    plan = _first(run, "plan.parquet")
    found["plan_dir"] = plan.parent if plan else None
    backtest = next((p for p in _files(run, BACKTEST_JSON) if _is_backtest(p)), None)
    found["backtest"] = backtest.parent if backtest else None
    flows = next((p for p in _files(run, "by_flow.csv") if (p.parent / BACKTEST_JSON).is_file()),
                 None)  # fmt: skip
    found["flows_backtest"] = flows.parent if flows else None
    found.update({k: Path(v) for k, v in overrides.items() if v is not None and k != "data_dir"})
    if found["backtest"] is not None:
        found["backtest"] = backtest_folder(found["backtest"])
    data_dir, source = _data_dir(run, overrides.get("data_dir"))
    return RunFiles(run=run, data_dir=data_dir, data_source=source, **found)
