"""Scoring: features → one row of scores per customer (``smsseg score``).

Three steps, timed separately by the CLI and the benchmark:

1. :func:`build_scoring_features` - the point-in-time features, built as the models were trained.
2. :func:`predict_scores` - churn probability and risk band, discount sensitivity, uplift,
   predicted CLV and expected next order date, for everyone. The feature matrix is encoded once
   and shared by every model trained on the same columns.
3. :func:`add_reasons` - the top-3 drivers of the deployed churn score (exact TreeSHAP for the
   model; for BG/NBD or the blend, :func:`smsseg.models.explain.scorer_contributions`) for the
   whole high-risk band, optionally only those with a recent order (``max_recency_days``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smsseg._compat import TEXT_DTYPE
from smsseg.data.load import Dataset
from smsseg.errors import SmssegError
from smsseg.models.bundle import ModelBundle
from smsseg.models.champion import ChurnScorer
from smsseg.models.explain import BATCH_ROWS, reason_columns, top_reasons

SCORE_COLUMNS = (
    "churn_probability",
    "churn_risk_band",
    "discount_sensitivity",
    "uplift",
    "predicted_clv",
    "expected_next_order_date",
    "model_version",
    "churn_scorer",
    "reasons",
)
BANDS = ("low", "medium", "high")


@dataclass(frozen=True)
class RiskBands:
    """Churn risk bands: ``high`` above ``high``, ``low`` below ``medium``, ``medium`` between.

    Raises
    ------
    SmssegError
        Unless ``0 < medium <= high < 1``.
    """

    high: float = 0.7
    medium: float = 0.4

    def __post_init__(self) -> None:
        if not 0 < self.medium <= self.high < 1:
            raise SmssegError(
                f"risk band thresholds medium={self.medium}, high={self.high} must satisfy "
                "0 < medium <= high < 1"
            )

    def assign(self, p: np.ndarray) -> pd.Categorical:
        codes = np.where(p > self.high, 2, np.where(p >= self.medium, 1, 0))
        return pd.Categorical.from_codes(codes, categories=list(BANDS))


def build_scoring_features(
    data: Dataset, as_of, bundle: ModelBundle, progress: Callable | None = None, seed=None
) -> pd.DataFrame:
    """Features as of ``as_of`` built as the bundle's training built them.

    The horizon, the category columns and the BTYD fit (sample size and seed, in
    ``bundle.meta["btyd"]``) come from the bundle, so the BG/NBD features the models read are
    fitted the way they were in training. ``seed`` overrides the bundle's seed (old bundles
    without ``btyd`` use the feature defaults).
    """
    from smsseg.features import build_features

    btyd = bundle.meta.get("btyd", {})
    kwargs = {"btyd_fit_sample": int(btyd["fit_sample"])} if "fit_sample" in btyd else {}
    if seed is not None or "seed" in btyd:
        kwargs["seed"] = int(seed if seed is not None else btyd["seed"])
    return build_features(
        data,
        as_of,
        horizon_days=int(bundle.meta.get("horizon_days", 90)),
        categories=bundle.meta.get("categories"),
        progress=progress,
        **kwargs,
    )


def _check_model_columns(features: pd.DataFrame, names: Sequence[str]) -> None:
    missing = [n for n in names if n not in features.columns]
    if missing:
        raise SmssegError(
            f"the features lack {len(missing)} column(s) the model was trained on "
            f"({missing[:8]}); score with the smsseg version the model was trained with"
        )


def _model_frame(features: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    _check_model_columns(features, names)
    return features[list(names)]


def _same_encoding(a, b) -> bool:
    return list(a.feature_names_in_) == list(b.feature_names_in_) and a.categories_ == b.categories_


def _clv(features: pd.DataFrame) -> np.ndarray:
    def col(name: str) -> np.ndarray:
        if name not in features.columns:
            return np.full(len(features), np.nan)
        return features[name].to_numpy(dtype=np.float64, na_value=np.nan)

    clv = col("btyd_clv")
    # Without a Gamma-Gamma fit, expected purchases times the customer's own order value.
    return np.where(np.isnan(clv), col("btyd_expected_purchases") * col("aov"), clv)


#: Rows encoded and run through the boosters at a time: a batch's float matrix (rows x ~120
#: features) stays near 200 MB, so scoring a million customers never holds a second full copy of
#: their features (the whole matrix alone would be ~1 GB).
PREDICT_BATCH_ROWS = 200_000


def _booster_outputs(
    features: pd.DataFrame, bundle: ModelBundle, use_discount_model: bool
) -> dict[str, np.ndarray]:
    """Every booster's output per row (``churn``: the churn model's calibrated probability;
    ``discount``, ``uplift``, ``next_order`` days when the bundle has them), in row batches.

    Each batch is encoded once and shared by every model trained on the same columns.
    """
    churn = bundle.churn
    _check_model_columns(features, churn.feature_names_in_)  # a clear error before any work
    models = {"churn": (churn, churn.proba_from_matrix)}
    if use_discount_model:
        models["discount"] = (bundle.discount, bundle.discount.proba_from_matrix)
    if bundle.uplift is not None:
        models["uplift"] = (bundle.uplift, bundle.uplift.uplift_from_matrix)
    if bundle.next_order is not None:
        models["next_order"] = (bundle.next_order, bundle.next_order.days_from_matrix)
    n = len(features)
    out = {name: np.empty(n, dtype=np.float64) for name in models}
    for start in range(0, n, PREDICT_BATCH_ROWS):
        rows = slice(start, min(start + PREDICT_BATCH_ROWS, n))
        part = features.iloc[rows]
        M = churn.prepare(_model_frame(part, churn.feature_names_in_))
        for name, (model, apply) in models.items():
            same = model is churn or _same_encoding(model, churn)
            matrix = M if same else model.prepare(_model_frame(part, model.feature_names_in_))
            out[name][rows] = apply(matrix)
    return out


def predict_scores(
    features: pd.DataFrame,
    bundle: ModelBundle,
    as_of,
    bands: RiskBands = RiskBands(),
    has_discounts: bool = True,
) -> pd.DataFrame:
    """Scores of every customer in ``features`` (``reasons`` left empty: see :func:`add_reasons`).

    Parameters
    ----------
    features : output of :func:`build_scoring_features`, indexed by ``customer_id``.
    bundle : the trained models.
    as_of : the scoring date (the next order date counts from it).
    bands : churn risk band thresholds.
    has_discounts : whether the data has discount information; without it the discount
        sensitivity is left empty, with a note, rather than scored from all-missing features.

    Returns
    -------
    DataFrame
        ``customer_id`` and :data:`SCORE_COLUMNS`; ``attrs["notes"]`` lists what was left out.
    """
    notes: list[str] = []
    use_discount_model = has_discounts and bundle.discount is not None
    outputs = _booster_outputs(features, bundle, use_discount_model)
    scorer = ChurnScorer.from_dict(bundle.meta.get("churn_scorer"))
    p = scorer(outputs["churn"], features)
    if scorer.kind != "model":
        notes.append(
            f"churn_probability is the {scorer.kind} scorer: the champion of the out-of-time "
            "test at training (the LightGBM model alone did not beat it)"
        )
    n = len(features)
    rules = bundle.meta.get("scorers", {})
    discount = np.full(n, np.nan)
    if not has_discounts:
        notes.append(
            "the data has no orders.discount_amount or orders.promo_code: discount_sensitivity is empty"
        )
    elif use_discount_model:
        discount = outputs["discount"]
    elif rules.get("discount") == "past_discount_share" and "discount_order_share" in features:
        # the model did not beat this rule out of time: the rule scores (see models/train.py)
        share = features["discount_order_share"].to_numpy(dtype=np.float64, na_value=np.nan)
        prior = bundle.meta.get("discount_base_rate")
        discount = np.where(np.isnan(share), np.nan if prior is None else prior, share)
        notes.append("discount_sensitivity is the past discount share (it beat the model)")
    else:
        notes.append(
            "no discount-sensitivity model in the bundle (the training data had no discount labels)"
        )
    uplift = outputs.get("uplift", np.full(n, np.nan))
    if bundle.uplift is None:
        notes.append(
            "no uplift model in the bundle (no randomized test in the training data): uplift is empty"
        )
    next_date = pd.Series(pd.NaT, index=features.index, dtype="datetime64[us]")
    median_days = bundle.meta.get("metrics", {}).get("next_order", {}).get("median_days")
    days = outputs.get("next_order")
    if days is None and rules.get("next_order") == "median_rule" and median_days is not None:
        days = np.full(n, float(median_days))
    if days is not None:
        stamp = pd.Timestamp(as_of).normalize()
        dates = stamp + pd.to_timedelta(np.round(days), unit="D")
        next_date = pd.Series(dates, index=features.index).where(p < 0.5).astype("datetime64[us]")
    out = pd.DataFrame(
        {
            "customer_id": features.index.astype(str),
            "churn_probability": p,
            "churn_risk_band": bands.assign(p),
            "discount_sensitivity": discount,
            "uplift": uplift,
            "predicted_clv": _clv(features),
            "expected_next_order_date": next_date.to_numpy(),
            "model_version": pd.Series(bundle.version, index=range(n), dtype=TEXT_DTYPE).to_numpy(),
            "churn_scorer": pd.Series(scorer.kind, index=range(n), dtype=TEXT_DTYPE).to_numpy(),
            "reasons": pd.Series([None] * n, dtype=TEXT_DTYPE).to_numpy(),
        }
    )
    out.attrs["notes"] = notes
    return out


#: The segment catalogue's longest dormancy window: a caller who wants reasons for the *at-risk*
#: only (high churn risk but an order within this many days) passes it as ``max_recency_days``.
#: The default explains the whole band: batched exact TreeSHAP on the compact churn booster
#: costs well under a millisecond per customer (docs/models.md "Reasons").
AT_RISK_MAX_RECENCY_DAYS = 180.0


def add_reasons(
    scores: pd.DataFrame,
    features: pd.DataFrame,
    bundle: ModelBundle,
    bands: Sequence[str] = ("high",),
    k: int = 3,
    max_recency_days: float | None = None,
) -> pd.DataFrame:
    """Fill ``reasons`` (top-``k`` drivers of the deployed churn score) for the customers of ``bands``.

    The drivers are exact TreeSHAP when the model is the deployed scorer, and the exact
    decomposition of :func:`smsseg.models.explain.scorer_contributions` when BG/NBD or the blend is.

    Parameters
    ----------
    scores : output of :func:`predict_scores` (same row order as ``features``).
    features : the features the scores were made from.
    bundle : the trained models.
    bands : risk bands that get reasons.
    k : reasons per customer.
    max_recency_days : only customers whose last order is at most this many days old (e.g.
        :data:`AT_RISK_MAX_RECENCY_DAYS`); ``None`` (default) explains every customer of ``bands``.

    Returns
    -------
    DataFrame
        A new frame; ``attrs["n_reasons"]`` is how many customers got reasons and
        ``attrs["n_reasons_skipped_dormant"]`` how many of ``bands`` were left out as dormant.
    """
    unknown = sorted(set(bands) - set(BANDS))
    if unknown:
        raise SmssegError(f"reason bands {unknown} must be among {list(BANDS)}")
    if max_recency_days is not None and max_recency_days < 0:
        raise SmssegError(
            f"max_recency_days={max_recency_days} must be >= 0 (or None for no limit)"
        )
    in_bands = scores["churn_risk_band"].isin(list(bands)).to_numpy()
    at_risk = in_bands
    if max_recency_days is not None and "recency_days" in features.columns:
        recency = features["recency_days"].to_numpy(dtype=np.float64, na_value=np.nan)
        at_risk = in_bands & (recency <= max_recency_days)
    out = scores.copy()
    out.attrs = dict(scores.attrs)
    scorer, notes = explained_scorer(bundle)
    if notes:
        out.attrs["notes"] = [*out.attrs.get("notes", []), *notes]
    if at_risk.any():
        names = reason_columns(bundle.churn, scorer)
        _check_model_columns(features, names)
        column = np.array(out["reasons"].astype(object), dtype=object)  # a writable copy
        # in batches: only one batch of rows is ever copied out of the features and encoded
        positions = np.flatnonzero(at_risk)
        for start in range(0, len(positions), BATCH_ROWS):
            batch = positions[start : start + BATCH_ROWS]
            rows = features.iloc[batch][names]
            reasons = top_reasons(bundle.churn, rows, k=k, scorer=scorer)
            column[batch] = reasons["reasons"].to_numpy()
        out["reasons"] = pd.Series(column, dtype=TEXT_DTYPE).to_numpy()
    out.attrs["n_reasons"] = int(at_risk.sum())
    out.attrs["n_reasons_skipped_dormant"] = int(in_bands.sum() - at_risk.sum())
    return out


def explained_scorer(bundle: ModelBundle) -> tuple[ChurnScorer, list[str]]:
    """The churn scorer the reasons explain: the deployed one, and a note when it cannot be.

    A BG/NBD or blended scorer from a bundle trained before ``bgnbd_baseline`` has no reference
    to measure BG/NBD's push from; its reasons stay the model's TreeSHAP, as they were.
    """
    scorer = ChurnScorer.from_dict(bundle.meta.get("churn_scorer"))
    if scorer.kind == "model" or scorer.bgnbd_baseline is not None:
        return scorer, []
    note = (
        f"reasons are the LightGBM model's, not the {scorer.kind} scorer's: the bundle has no "
        "BG/NBD reference (trained before reasons explained the deployed scorer; retrain to get "
        "them)"
    )
    return ChurnScorer(), [note]


def has_discount_data(data: Dataset) -> bool:
    """Whether the orders carry discount information (a discount amount or a promo code)."""
    return data.has_column("orders", "discount_amount") or data.has_column("orders", "promo_code")


def score_customers(
    data: Dataset,
    as_of,
    bundle: ModelBundle,
    bands: RiskBands = RiskBands(),
    reason_bands: Sequence[str] = ("high",),
    progress: Callable | None = None,
    reasons_max_recency_days: float | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Features, scores and reasons for every customer at ``as_of``; also the seconds per step."""
    timings = {}
    start = time.perf_counter()
    features = build_scoring_features(data, as_of, bundle, progress=progress)
    timings["features_s"] = time.perf_counter() - start
    start = time.perf_counter()
    scores = predict_scores(features, bundle, as_of, bands, has_discounts=has_discount_data(data))
    timings["predict_s"] = time.perf_counter() - start
    start = time.perf_counter()
    scores = add_reasons(
        scores, features, bundle, reason_bands, max_recency_days=reasons_max_recency_days
    )
    timings["reasons_s"] = time.perf_counter() - start
    return scores, timings
