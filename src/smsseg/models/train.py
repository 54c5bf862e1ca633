"""Training: stacked snapshots → churn, discount-sensitivity and next-order models, out of time.

Rows are split by time, then by customer: every snapshot but the latest trains; the latest
snapshot (out of time) is split by a seeded shuffle of customers into a *tuning* half (early
stopping and calibration, see :mod:`smsseg.models.classifier`) and a *test* half that nothing
is fitted on and that every reported metric - model, baselines, oracle - is computed on.
The uplift model, when the data holds a randomized test, is trained by
:mod:`smsseg.models.train_uplift`. MLflow logging is separate (:mod:`smsseg.models.mlflow_runs`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from smsseg.data.load import Dataset
from smsseg.errors import SmssegError
from smsseg.models._frame import is_categorical
from smsseg.models.baselines import RecencyRule, bgnbd_churn_probability
from smsseg.models.bundle import ModelBundle, library_versions
from smsseg.models.classifier import CalibratedLGBMClassifier
from smsseg.models.metrics import compare_scores
from smsseg.models.next_order import NextOrderRegressor, days_to_next_order
from smsseg.models.scoring import has_discount_data
from smsseg.models.train_uplift import UpliftReport, train_uplift

LABELS = ("snapshot", "churn", "discount_response")
Progress = Callable[[str], None]
STEPS = ("snapshots", "churn", "discount", "next_order", "uplift")


@dataclass
class TrainSettings:
    """Everything ``train_models`` can be told; defaults suit the demo and the CLI."""

    horizon_days: int = 90
    n_snapshots: int = 4
    spacing_days: int = 30
    seed: int = 42
    n_jobs: int | None = None
    churn_params: dict = field(default_factory=dict)
    discount_params: dict = field(default_factory=dict)
    #: string features with more levels than this are left out (postal codes, cities ...)
    max_levels: int = 100
    test_share: float = 0.5
    uplift_learner: str = "x"
    uplift_campaign: str | None = None
    uplift_window_days: int = 14
    uplift_params: dict = field(default_factory=dict)
    n_boot: int = 200
    btyd_fit_sample: int = 20_000


@dataclass
class TrainResult:
    """What training produced: the bundle, metric tables and held-out rows for diagnostics."""

    bundle: ModelBundle
    features: list[str]
    dropped: dict[str, str]
    churn_table: pd.DataFrame
    churn_test: pd.DataFrame
    discount_table: pd.DataFrame | None
    discount_test: pd.DataFrame | None
    next_order_metrics: dict
    uplift: UpliftReport | None
    notes: list[str]
    snapshots: pd.DataFrame
    settings: TrainSettings


def select_features(frame: pd.DataFrame, max_levels: int) -> tuple[list[str], dict[str, str]]:
    """Model features: every feature column except all-missing ones and high-cardinality strings."""
    chosen, dropped = [], {}
    for name in frame.columns:
        if name in LABELS:
            continue
        col = frame[name]
        if col.isna().all():
            dropped[name] = "missing on every row (its source table or column is absent)"
        elif is_categorical(col) and col.nunique(dropna=True) > max_levels:
            dropped[name] = f"{col.nunique(dropna=True)} distinct values > max_levels={max_levels}"
        else:
            chosen.append(name)
    return chosen, dropped


def shared_levels(
    frame: pd.DataFrame, features: list[str], levels: dict[str, list[str]] | None = None
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Cast categorical features to pandas categories with one level list for every model."""
    out = frame.copy()
    levels = dict(levels or {})
    for name in features:
        col = out[name]
        if not is_categorical(col):
            continue
        values = (
            col.astype(object).where(col.notna(), None).map(lambda v: v if v is None else str(v))
        )
        if name not in levels:
            levels[name] = sorted(v for v in values.dropna().unique())
        out[name] = pd.Categorical(values, categories=levels[name])
    return out, levels


def split_out_of_time(
    snapshots: pd.DataFrame, test_share: float, seed: int
) -> dict[str, np.ndarray]:
    """Boolean masks ``train`` (earlier snapshots), ``tune`` and ``test`` (latest, by customer)."""
    stamps = snapshots["snapshot"].to_numpy()
    latest = stamps.max()
    if (stamps < latest).sum() == 0:
        raise SmssegError(
            "training needs at least 2 snapshots (n_snapshots >= 2): the latest one is "
            "held out for out-of-time validation"
        )
    last = stamps == latest
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(snapshots), dtype=bool)
    idx = np.flatnonzero(last)
    is_test[rng.choice(idx, size=int(round(test_share * len(idx))), replace=False)] = True
    return {"train": ~last, "tune": last & ~is_test, "test": is_test}


def _classifier(settings: TrainSettings, overrides: dict) -> CalibratedLGBMClassifier:
    return CalibratedLGBMClassifier(random_state=settings.seed, n_jobs=settings.n_jobs, **overrides)


def fit_churn(
    frame: pd.DataFrame, masks: dict, features: list[str], settings: TrainSettings
) -> tuple[CalibratedLGBMClassifier, pd.DataFrame, pd.DataFrame]:
    """Churn model, recency rule and BG/NBD baseline; metrics of all three on the test rows."""
    X, y = frame[features], frame["churn"].to_numpy(dtype=np.int64)
    tr, tu, te = masks["train"], masks["tune"], masks["test"]
    model = _classifier(settings, settings.churn_params).fit(X[tr], y[tr], eval_set=(X[tu], y[tu]))
    rule = RecencyRule().fit(frame[tr], y[tr])
    test = pd.DataFrame(
        {
            "customer_id": frame.index[te].astype(str),
            "snapshot": frame["snapshot"].to_numpy()[te],
            "churn": y[te],
            "model": model.predict_proba(X[te])[:, 1],
            "bgnbd": bgnbd_churn_probability(frame[te]),
            "recency_rule": rule.predict_proba(frame[te])[:, 1],
        }
    )
    table = compare_scores(
        test["churn"], {k: test[k].to_numpy() for k in ("model", "bgnbd", "recency_rule")}
    )
    return model, table, test


def fit_discount(
    frame: pd.DataFrame, masks: dict, features: list[str], settings: TrainSettings
) -> tuple[CalibratedLGBMClassifier | None, pd.DataFrame | None, pd.DataFrame | None, str | None]:
    """Discount-sensitivity model on rows whose next order was observed; None + why if impossible.

    Returns the model, its metrics next to a "past discount share" rule, the test rows, and why
    no model was trained (None when one was).
    """
    label = frame["discount_response"]
    known = label.notna().to_numpy()
    y = label.fillna(0).to_numpy(dtype=np.int64)
    tr, tu, te = (masks[k] & known for k in ("train", "tune", "test"))
    counts = [np.bincount(y[m], minlength=2).min() for m in (tr, tu, te)]
    if min(counts) < 10:
        return (
            None,
            None,
            None,
            (
                "discount model not trained: too few orders with and without a discount in the "
                f"label windows (smallest class per split: {counts}; need >= 10)"
            ),
        )
    X = frame[features]
    model = _classifier(settings, settings.discount_params).fit(
        X[tr], y[tr], eval_set=(X[tu], y[tu])
    )
    history = (
        frame["discount_order_share"].to_numpy(dtype=np.float64, na_value=np.nan)[te]
        if "discount_order_share" in frame
        else np.full(te.sum(), np.nan)
    )
    baseline = np.where(np.isnan(history), y[tr].mean(), history)
    test = pd.DataFrame(
        {
            "customer_id": frame.index[te].astype(str),
            "discount_response": y[te],
            "model": model.predict_proba(X[te])[:, 1],
            "past_discount_share": baseline,
        }
    )
    table = compare_scores(
        test["discount_response"], {k: test[k].to_numpy() for k in ("model", "past_discount_share")}
    )
    return model, table, test, None


def fit_next_order(
    data: Dataset, frame: pd.DataFrame, masks: dict, features: list[str], settings: TrainSettings
) -> tuple[NextOrderRegressor | None, dict]:
    """Days-to-next-order regressor on rows that ordered in their window; MAE vs a median rule."""
    keys = pd.DataFrame(
        {"customer_id": frame.index.astype(str), "snapshot": frame["snapshot"].to_numpy()}
    )
    labels = days_to_next_order(data, sorted(keys["snapshot"].unique()), settings.horizon_days)
    labels["snapshot"] = labels["snapshot"].astype(keys["snapshot"].dtype)
    days = keys.merge(labels, on=["customer_id", "snapshot"], how="left")[
        "days_to_next_order"
    ].to_numpy()
    known = ~np.isnan(days)
    tr, tu, te = (masks[k] & known for k in ("train", "tune", "test"))
    if min(tr.sum(), tu.sum(), te.sum()) < 20:
        return None, {
            "note": "next-order model not trained: fewer than 20 ordering customers in a split"
        }
    X = frame[features]
    model = NextOrderRegressor(random_state=settings.seed, n_jobs=settings.n_jobs).fit(
        X[tr], days[tr], eval_set=(X[tu], days[tu])
    )
    mae = float(np.mean(np.abs(model.predict(X[te]) - days[te])))
    mae_median = float(np.mean(np.abs(np.median(days[tr]) - days[te])))
    return model, {"mae_days": mae, "mae_days_median_rule": mae_median, "n_test": int(te.sum())}


def _metrics_dict(table: pd.DataFrame | None) -> dict:
    return {} if table is None else {row: table.loc[row].to_dict() for row in table.index}


def train_models(
    data: Dataset, as_of, settings: TrainSettings | None = None, progress: Progress | None = None
) -> TrainResult:
    """Train every model smsseg scores with, validated out of time.

    Parameters
    ----------
    data : loaded tables; only customers and orders are required.
    as_of : the training date; every label window ends on or before it.
    settings : horizon, snapshots, seeds, model parameters (:class:`TrainSettings`).
    progress : called with each step name of :data:`STEPS` before it runs.

    Returns
    -------
    TrainResult

    Raises
    ------
    SmssegError
        Bad horizon or snapshot settings, data too short for the snapshots, or one churn class only.
    """
    from smsseg.features import training_snapshots

    settings = settings or TrainSettings()
    step = progress or (lambda name: None)
    notes: list[str] = []
    step("snapshots")
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # censoring warnings: windows end <= as_of by design
        snaps = training_snapshots(
            data,
            as_of,
            settings.horizon_days,
            settings.n_snapshots,
            settings.spacing_days,
            seed=settings.seed,
            btyd_fit_sample=settings.btyd_fit_sample,
        )
    features, dropped = select_features(snaps, settings.max_levels)
    frame, levels = shared_levels(snaps, features)
    masks = split_out_of_time(frame, settings.test_share, settings.seed)
    if frame["churn"][masks["train"]].nunique() < 2:
        raise SmssegError(
            f"as_of={as_of}: every training row has the same churn label; need churners and buyers"
        )
    step("churn")
    churn, churn_table, churn_test = fit_churn(frame, masks, features, settings)
    step("discount")
    discount, discount_table, discount_test, why = None, None, None, None
    if not has_discount_data(data):
        why = "discount model not trained: the orders have no discount_amount or promo_code column"
    else:
        discount, discount_table, discount_test, why = fit_discount(
            frame, masks, features, settings
        )
    if why:
        notes.append(why)
    step("next_order")
    next_order, next_metrics = fit_next_order(data, frame, masks, features, settings)
    if "note" in next_metrics:
        notes.append(next_metrics["note"])
    step("uplift")
    uplift = train_uplift(data, as_of, features, levels, snaps.attrs.get("categories"), settings)
    if uplift.note:
        notes.append(uplift.note)
    meta = {
        "as_of": str(pd.Timestamp(as_of).date()),
        "horizon_days": settings.horizon_days,
        "features": features,
        "categories": list(snaps.attrs.get("categories") or []),
        "levels": levels,
        "snapshots": [str(s) for s in snaps.attrs.get("cutoffs", [])],
        "dropped_features": dropped,
        "metrics": {
            "churn": _metrics_dict(churn_table),
            "discount": _metrics_dict(discount_table),
            "next_order": next_metrics,
            "uplift": uplift.metrics_dict(),
        },
        "notes": notes,
        "versions": library_versions(),
    }
    bundle = ModelBundle(churn, discount, next_order, uplift.model, meta)
    return TrainResult(
        bundle,
        features,
        dropped,
        churn_table,
        churn_test,
        discount_table,
        discount_test,
        next_metrics,
        uplift if uplift.model is not None else None,
        notes,
        frame,
        settings,
    )
