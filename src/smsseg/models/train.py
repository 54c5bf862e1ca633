"""Training: stacked snapshots → churn, discount-sensitivity and next-order models, out of time.

The snapshot design is :mod:`smsseg.models.validation`: the *validation* models are fitted on
snapshots whose label windows end on or before the *test* snapshot ``as_of - horizon`` and are
judged on it - every reported metric (model, baselines, champion, per population) comes from
those rows. The *deployed* models are then refitted, with the same procedure, on the production
snapshots (label windows ending on or before ``as_of``), so the report describes what the user
will see one horizon after ``as_of``. Inside each fit, early stopping and calibration use a
seeded 20 % of the *customers* (:func:`customer_split`), so no customer's rows sit on both sides.

Champion / challenger (:mod:`smsseg.models.champion`): the churn scorer deployed is the one with
the best out-of-time AUC among calibrated BG/NBD, the LightGBM model and their blend; likewise a
discount or next-order model that does not beat its rule on the test rows is replaced by the rule.
The uplift model, when the data holds a randomized test, is trained by
:mod:`smsseg.models.train_uplift`. MLflow logging is separate (:mod:`smsseg.tracking`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from smsseg import config
from smsseg.data.load import Dataset
from smsseg.errors import SmssegError
from smsseg.features.labels import CensoredLabelWarning
from smsseg.models._frame import is_categorical, shared_levels
from smsseg.models.baselines import RecencyRule, bgnbd_churn_probability
from smsseg.models.bundle import ModelBundle, library_versions
from smsseg.models.champion import (
    ChurnScorer,
    anchored,
    choose_calibration,
    choose_champion,
    fit_bgnbd_anchor,
    fit_bgnbd_scorer,
    headline_population,
    level_averaged_anchor,
    population_masks,
    population_tables,
)
from smsseg.models.classifier import CalibratedLGBMClassifier
from smsseg.models.metrics import compare_scores, expected_roc_auc
from smsseg.models.next_order import NextOrderRegressor, days_to_next_order
from smsseg.models.scoring import build_scoring_features, has_discount_data
from smsseg.models.season import choose_seasonal_shift
from smsseg.models.train_uplift import UpliftReport, train_uplift
from smsseg.models.validation import SnapshotPlan, first_order_at, plan_snapshots

LABELS = ("snapshot", "churn", "discount_response")
Progress = Callable[[str], None]
STEPS = ("snapshots", "churn", "discount", "next_order", "uplift", "calibration")
#: Share of customers whose rows stop the boosting and fit the calibrator inside each fit.
STOPPING_SHARE = 0.2
#: Churn booster defaults, overridden key by key by ``TrainSettings.churn_params``. Real
#: purchase histories are noisy and stacked snapshots repeat each customer: small trees, large
#: leaves, a slower rate and L2 keep the trees from memorising customers (on real transactions
#: the classifier's generic defaults lost to BG/NBD; on the simulator these cost nothing).
CHURN_DEFAULTS = {
    "learning_rate": 0.1,
    "num_leaves": 15,
    # at most 4 levels: TreeSHAP (the reasons) costs leaves x depth^2 per tree, and unbounded
    # 15-leaf trees grew ~7 deep for no AUC (docs/models.md "Compact models")
    "max_depth": 4,
    "min_child_samples": 200,
    "reg_lambda": 10.0,
}


@dataclass
class TrainSettings:
    """Everything ``train_models`` can be told; defaults suit the demo and the CLI.

    ``n_snapshots`` and ``spacing_days`` default to :mod:`smsseg.models.validation`'s rules
    (``None``); ``test_share`` is the share of customers held out when the history is too short
    for a strict out-of-time test.
    """

    horizon_days: int = 90
    n_snapshots: int | None = None
    spacing_days: int | None = None
    seed: int = config.DEFAULT_SEED
    n_jobs: int | None = None
    churn_params: dict = field(default_factory=dict)
    discount_params: dict = field(default_factory=dict)
    #: string features with more levels than this are left out (postal codes, cities ...)
    max_levels: int = 100
    test_share: float = 0.3
    uplift_learner: str = "x"
    uplift_campaign: str | None = None
    uplift_window_days: int = 14
    uplift_params: dict = field(default_factory=dict)
    n_boot: int = 200
    btyd_fit_sample: int = 20_000
    #: train on a seeded sample of this many customers when the data has more (``None``: all);
    #: see :mod:`smsseg.data.sample` and docs/models.md "Training at scale"
    max_customers: int | None = config.DEFAULT_MAX_TRAIN_CUSTOMERS


@dataclass
class TrainResult:
    """What training produced: the bundle, metric tables and held-out rows for diagnostics.

    ``churn_tables`` holds one table per population (buyers, prospects, all; ``None`` when a
    population is empty or there was no test); ``churn_table`` is the headline one (buyers, or
    all when buyers hold one class). ``churn_test`` has a row per test row with the label, its
    population and every candidate's probability; ``champion`` names the deployed churn scorer.
    """

    bundle: ModelBundle
    features: list[str]
    dropped: dict[str, str]
    churn_table: pd.DataFrame | None
    churn_test: pd.DataFrame
    discount_table: pd.DataFrame | None
    discount_test: pd.DataFrame | None
    next_order_metrics: dict
    uplift: UpliftReport | None
    notes: list[str]
    snapshots: pd.DataFrame
    settings: TrainSettings
    plan: SnapshotPlan | None = None
    churn_tables: dict = field(default_factory=dict)
    champion: str = "model"
    champion_reason: str = ""
    headline: str = "buyers"


def select_features(frame: pd.DataFrame, max_levels: int) -> tuple[list[str], dict[str, str]]:
    """Model features: every feature column except all-missing ones and high-cardinality strings."""
    chosen, dropped = [], {}
    for name in frame.columns:
        if name in LABELS:
            continue
        col = frame[name]
        if col.isna().all():
            dropped[name] = (
                "missing on every row (its source table or column is absent, or it is a "
                "snapshot-only value dated after every training snapshot)"
            )
        elif is_categorical(col) and col.nunique(dropna=True) > max_levels:
            dropped[name] = f"{col.nunique(dropna=True)} distinct values > max_levels={max_levels}"
        else:
            chosen.append(name)
    return chosen, dropped


def _held_out_customers(ids: pd.Index, share: float, seed: int) -> np.ndarray:
    """A seeded ``share`` of the distinct customer ids, as a row mask over ``ids``."""
    distinct = np.sort(ids.astype(str).unique())
    rng = np.random.default_rng(seed)
    chosen = rng.choice(distinct, size=int(round(share * len(distinct))), replace=False)
    return ids.astype(str).isin(chosen)


def split_by_plan(frame: pd.DataFrame, plan: SnapshotPlan, share: float, seed: int) -> dict:
    """Row masks ``validation`` (fits the validation models), ``test`` and ``production``.

    In a customer-disjoint plan the held-out customers' rows are removed from ``validation``
    and only they are tested; in an out-of-time plan every customer of the test snapshot is.
    """
    stamps = frame["snapshot"].to_numpy()
    validation = np.isin(stamps, np.array(plan.validation, dtype=stamps.dtype))
    production = np.isin(stamps, np.array(plan.production, dtype=stamps.dtype))
    test = np.zeros(len(frame), dtype=bool)
    if plan.test is not None:
        test = stamps == np.array(plan.test, dtype=stamps.dtype)
    if plan.kind == "customer_disjoint":
        held = _held_out_customers(frame.index, share, seed)
        validation &= ~held
        test &= held
    return {"validation": validation, "test": test, "production": production}


def customer_split(
    frame: pd.DataFrame, rows: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` split into (fit, stop) masks: :data:`STOPPING_SHARE` of the customers stop.

    The stopping rows are the held-out customers' rows of the *latest* snapshot in ``rows``:
    early stopping and calibration then see the most recent base rate (churn drifts as a
    customer base ages), and the held-out customers' earlier rows are left out of the fit so
    that no customer is on both sides.
    """
    held = _held_out_customers(frame.index[rows], STOPPING_SHARE, seed)
    idx = np.flatnonzero(rows)
    stamps = frame["snapshot"].to_numpy()[idx]
    fit, stop = np.zeros(len(frame), dtype=bool), np.zeros(len(frame), dtype=bool)
    fit[idx[~held]] = True
    stop[idx[held & (stamps == stamps.max())]] = True
    return fit, stop


def _latest(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The rows of the latest snapshot among ``rows`` (calibration follows the recent base rate)."""
    stamps = frame["snapshot"].to_numpy()
    return rows & (stamps == stamps[rows].max())


def _classifier(settings: TrainSettings, overrides: dict) -> CalibratedLGBMClassifier:
    return CalibratedLGBMClassifier(random_state=settings.seed, n_jobs=settings.n_jobs, **overrides)


def _fit_classifier(
    frame: pd.DataFrame, rows: np.ndarray, y: np.ndarray, features: list[str], settings, params
) -> CalibratedLGBMClassifier:
    fit, stop = customer_split(frame, rows, settings.seed)
    X = frame[features]
    if len(np.unique(y[stop])) < 2:  # too few customers to stop on: a row split instead
        return _classifier(settings, params).fit(X[rows], y[rows])
    return _classifier(settings, params).fit(X[fit], y[fit], eval_set=(X[stop], y[stop]))


def _check_labels(y: np.ndarray, rows: np.ndarray, what: str, as_of) -> None:
    if rows.sum() == 0 or len(np.unique(y[rows])) < 2:
        raise SmssegError(
            f"as_of={as_of}: the {what} rows ({int(rows.sum())}) hold one churn label only; "
            "need customers who bought and customers who did not in the label windows"
        )


def _churn_params(settings: TrainSettings) -> dict:
    return {**CHURN_DEFAULTS, **settings.churn_params}


def score_churn_candidates(
    frame: pd.DataFrame, masks: dict, features: list[str], settings: TrainSettings
) -> tuple[dict, pd.DataFrame]:
    """Fit the validation model and score every churn candidate on the test rows.

    Returns the per-population metrics tables and the test rows (label, population and every
    candidate's probability, with the raw BG/NBD and the recency rule as baselines).
    """
    y = frame["churn"].to_numpy(dtype=np.int64)
    val, te = masks["validation"], masks["test"]
    candidate = _fit_classifier(frame, val, y, features, settings, _churn_params(settings))
    last = _latest(frame, val)
    scorer = fit_bgnbd_scorer(frame[last], y[last])
    rows = frame[te]
    scores = scorer.candidates(candidate.predict_proba(rows[features])[:, 1], rows)
    scores["bgnbd_raw"] = bgnbd_churn_probability(rows)
    scores["recency_rule"] = RecencyRule().fit(frame[val], y[val]).predict_proba(rows)[:, 1]
    pops = population_masks(rows["frequency"])
    test = pd.DataFrame(
        {
            "customer_id": rows.index.astype(str),
            "snapshot": rows["snapshot"].to_numpy(),
            "churn": y[te],
            "population": np.where(pops["buyers"], "buyers", "prospects"),
            **scores,
        }
    )
    return population_tables(y[te], scores, pops), test


def fit_churn(
    frame: pd.DataFrame, masks: dict, features: list[str], settings: TrainSettings, plan
) -> tuple[CalibratedLGBMClassifier, ChurnScorer, dict, pd.DataFrame, str, str]:
    """Test every churn candidate, pick the champion, and fit it on the production rows.

    Returns the deployed classifier, the deployed :class:`ChurnScorer`, the per-population
    tables, the test rows, the headline population and the champion's reason.
    """
    y = frame["churn"].to_numpy(dtype=np.int64)
    tables: dict = {p: None for p in ("buyers", "prospects", "all")}
    test = pd.DataFrame(columns=["customer_id", "snapshot", "churn", "population"])
    testable = plan.kind != "none" and masks["test"].any()
    if testable and len(np.unique(y[masks["validation"]])) == 2:
        tables, test = score_churn_candidates(frame, masks, features, settings)
    headline = headline_population(tables) if test.size else "buyers"
    kind, reason = choose_champion(tables[headline])
    prod = masks["production"]
    _check_labels(y, prod, "training", plan.as_of.date())
    model = _fit_classifier(frame, prod, y, features, settings, _churn_params(settings))
    last = _latest(frame, prod)
    deployed = fit_bgnbd_scorer(frame[last], y[last], kind)
    if len(test):
        test["smsseg"] = test[kind]
    return model, deployed, tables, test, headline, reason


def _min_class(y: np.ndarray, rows: np.ndarray) -> int:
    return int(np.bincount(y[rows], minlength=2).min()) if rows.any() else 0


def fit_discount(
    frame: pd.DataFrame, masks: dict, features: list[str], settings: TrainSettings
) -> tuple[CalibratedLGBMClassifier | None, pd.DataFrame | None, pd.DataFrame | None, str | None]:
    """Discount-sensitivity model on rows whose next order was observed; None + why if not used.

    Fitted on the validation rows and compared on the test rows with the "past discount share"
    rule; only a model that beats the rule's AUC is refitted on the production rows and deployed.
    Returns the deployed model (None: the rule scores), the metrics table, the test rows, and a
    note saying what was decided.
    """
    label = frame["discount_response"]
    known = label.notna().to_numpy()
    y = label.fillna(0).to_numpy(dtype=np.int64)
    val, te, prod = (masks[k] & known for k in ("validation", "test", "production"))
    counts = [_min_class(y, m) for m in (val, te, prod)]
    if min(counts) < 10:
        return (
            None,
            None,
            None,
            (
                "discount model not trained: too few orders with and without a discount in the "
                f"label windows (smallest class in validation / test / production: {counts}; "
                "need >= 10)"
            ),
        )
    candidate = _fit_classifier(frame, val, y, features, settings, settings.discount_params)
    history = (
        frame["discount_order_share"].to_numpy(dtype=np.float64, na_value=np.nan)[te]
        if "discount_order_share" in frame
        else np.full(te.sum(), np.nan)
    )
    baseline = np.where(np.isnan(history), y[val].mean(), history)
    test = pd.DataFrame(
        {
            "customer_id": frame.index[te].astype(str),
            "discount_response": y[te],
            "model": candidate.predict_proba(frame[features][te])[:, 1],
            "past_discount_share": baseline,
        }
    )
    table = compare_scores(
        test["discount_response"], {k: test[k].to_numpy() for k in ("model", "past_discount_share")}
    )
    if not table.loc["model", "roc_auc"] > table.loc["past_discount_share", "roc_auc"]:
        return (
            None,
            table,
            test,
            (
                f"discount model (AUC {table.loc['model', 'roc_auc']:.4f}) does not beat the past "
                f"discount share ({table.loc['past_discount_share', 'roc_auc']:.4f}) out of time: "
                "discount_sensitivity is the past discount share"
            ),
        )
    model = _fit_classifier(frame, prod, y, features, settings, settings.discount_params)
    return model, table, test, None


def fit_next_order(
    data: Dataset, frame: pd.DataFrame, masks: dict, features: list[str], settings: TrainSettings
) -> tuple[NextOrderRegressor | None, dict]:
    """Days-to-next-order regressor on rows that ordered in their window; MAE vs a median rule.

    Fitted on the validation rows, compared with "the median days of the training rows" on the
    test rows, refitted on the production rows only when it has the lower MAE. The metrics hold
    ``median_days`` (the rule's value from the production rows), which scores when it wins.
    """
    keys = pd.DataFrame(
        {"customer_id": frame.index.astype(str), "snapshot": frame["snapshot"].to_numpy()}
    )
    labels = days_to_next_order(data, sorted(keys["snapshot"].unique()), settings.horizon_days)
    labels["snapshot"] = labels["snapshot"].astype(keys["snapshot"].dtype)
    days = keys.merge(labels, on=["customer_id", "snapshot"], how="left")[
        "days_to_next_order"
    ].to_numpy()
    known = ~np.isnan(days)
    val, te, prod = (masks[k] & known for k in ("validation", "test", "production"))
    if min(val.sum(), te.sum(), prod.sum()) < 40:
        return None, {
            "note": "next-order model not trained: fewer than 40 ordering customers in the "
            "validation, test or production rows"
        }

    def fit(rows):
        fit_rows, stop = customer_split(frame, rows, settings.seed)
        X = frame[features]
        return NextOrderRegressor(random_state=settings.seed, n_jobs=settings.n_jobs).fit(
            X[fit_rows], days[fit_rows], eval_set=(X[stop], days[stop])
        )

    candidate = fit(val)
    mae = float(np.mean(np.abs(candidate.predict(frame[features][te]) - days[te])))
    mae_median = float(np.mean(np.abs(np.median(days[val]) - days[te])))
    metrics = {
        "mae_days": mae,
        "mae_days_median_rule": mae_median,
        "n_test": int(te.sum()),
        "median_days": float(np.median(days[prod])),
    }
    if not mae < mae_median:
        metrics["note"] = (
            f"next-order model (MAE {mae:.1f} days) does not beat the median rule "
            f"({mae_median:.1f}) out of time: the expected next order date uses the median"
        )
        return None, metrics
    return fit(prod), metrics


def _headline_rows(population: np.ndarray, headline: str) -> np.ndarray:
    return np.ones(len(population), dtype=bool) if headline == "all" else population == headline


def forecast_auc(
    test: pd.DataFrame,
    headline: str,
    p: np.ndarray,
    bgnbd_p: np.ndarray,
    buyers: np.ndarray,
) -> dict:
    """The ROC-AUC expected on the headline population at the as-of date (``{}`` without a test).

    The test snapshot lies one horizon before the as-of date, and customers change in between (a
    cohort ages, a mix shifts), so the test AUC alone mis-predicts the AUC at the as-of date. The
    forecast adds to it the change in *expected* AUC
    (:func:`~smsseg.models.metrics.expected_roc_auc`, which needs no labels) from the test
    snapshot to the as-of date, both computed from BG/NBD's own P(no purchase), refitted at each
    date (prospects, who have none, keep the champion's probability): a reference that does not
    depend on the champion, so the shift measures how predictable the customers became, not how
    closely one training run happened to agree with BG/NBD. (Computed instead from the champion's
    probabilities re-anchored to BG/NBD, the shift on CDNOW's 182-day customer-disjoint rows moved
    by up to 0.05 between training seeds, and the forecast missed the realized AUC by up to 0.067.)

    ``test``: the test rows of :func:`score_churn_candidates`; ``p``, ``bgnbd_p``, ``buyers``: the
    champion's trained probability, BG/NBD's P(no purchase) and the buyers at the as-of date.
    """
    from sklearn.metrics import roc_auc_score

    if not len(test):
        return {}
    population = test["population"].to_numpy()
    rows = _headline_rows(population, headline)
    y = test["churn"].to_numpy()[rows]
    if len(np.unique(y)) < 2:
        return {}
    test_p = test["smsseg"].to_numpy(dtype=np.float64)
    test_auc = float(roc_auc_score(y, test_p[rows]))
    at_test = expected_roc_auc(
        bgnbd_reference(
            test_p, test["bgnbd_raw"].to_numpy(dtype=np.float64), population == "buyers"
        )[rows]
    )
    now = _headline_rows(np.where(buyers, "buyers", "prospects"), headline)
    at_as_of = expected_roc_auc(bgnbd_reference(p, bgnbd_p, buyers)[now])
    return {
        "population": headline,
        "test_roc_auc": test_auc,
        "expected_roc_auc_test": at_test,
        "expected_roc_auc_as_of": at_as_of,
        "roc_auc": test_auc + at_as_of - at_test,
    }


def bgnbd_reference(p, bgnbd_p, buyers) -> np.ndarray:
    """BG/NBD's P(no purchase) for the buyers who have one, ``p`` for everyone else.

    >>> bgnbd_reference([0.2, 0.3, 0.4], [0.9, np.nan, 0.8], [True, True, False]).tolist()
    [0.9, 0.3, 0.4]
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(bgnbd_p, dtype=np.float64)
    return np.where(np.asarray(buyers, dtype=bool) & np.isfinite(q), np.clip(q, 0.0, 1.0), p)


def calibrate_at_as_of(
    data: Dataset, bundle: ModelBundle, scorer: ChurnScorer, test: pd.DataFrame, headline: str
) -> tuple[ChurnScorer, dict, str]:
    """Choose the deployed calibration and forecast the AUC the user will see, as of ``as_of``.

    The churn features are built as of the training date (as scoring will build them), the
    champion scores them, and :func:`~smsseg.models.champion.choose_calibration` decides whether
    the buyers' probabilities are re-anchored to BG/NBD there (the anchor is fitted here, without
    labels, and stored in the scorer; without a strict test its level is averaged with the
    trained map's, :func:`~smsseg.models.champion.level_averaged_anchor`);
    :func:`~smsseg.models.season.choose_seasonal_shift`
    decides the seasonal shift. See :func:`forecast_auc` for the forecast. Each anchor (at the
    test snapshot, at the as-of date) is fitted once and used by all three.

    Returns the scorer to deploy, the forecast (``{}`` without a test) and a note.
    """
    as_of = pd.Timestamp(bundle.meta["as_of"])
    kind = bundle.meta["validation"]["kind"]
    features = build_scoring_features(data, as_of, bundle)
    churn = bundle.churn
    model_p = churn.proba_from_matrix(churn.prepare(features[list(churn.feature_names_in_)]))
    p = scorer.trained(model_p, features)
    bgnbd_p = features["btyd_prob_no_purchase"].to_numpy(dtype=np.float64, na_value=np.nan)
    buyers = population_masks(features["frequency"])["buyers"]
    anchor = fit_bgnbd_anchor(p, bgnbd_p, buyers)
    test_buyers = (test["population"] == "buyers").to_numpy() if len(test) else None
    test_p = test["smsseg"].to_numpy(dtype=np.float64) if len(test) else None
    test_anchor = (
        fit_bgnbd_anchor(test_p, test["bgnbd_raw"].to_numpy(dtype=np.float64), test_buyers)
        if len(test)
        else None
    )
    bgnbd_fit = (features.attrs.get("btyd_diagnostics") or {}).get("bgnbd") or {}
    calibration, why = choose_calibration(
        kind, test, bool(bgnbd_fit.get("converged", True)), test_anchor
    )
    if calibration == "bgnbd_anchor" and anchor is None:
        calibration, why = "trained", "no BG/NBD anchor could be fitted at the as-of date"
    if calibration == "bgnbd_anchor" and kind != "out_of_time":
        # no strict test to say whose level is right: the average of BG/NBD's and the trained
        # map's, made the same way at the test snapshot (where the seasonal test judges it)
        anchor, level = level_averaged_anchor(anchor, p, bgnbd_p, buyers)
        if len(test):
            test_anchor, _ = level_averaged_anchor(
                test_anchor, test_p, test["bgnbd_raw"].to_numpy(dtype=np.float64), test_buyers
            )
        scorer = replace(scorer, anchor_level=level)
        if level:
            why += (
                f"; its level is the average of BG/NBD's ({level['bgnbd']:.3f}) and the trained "
                f"calibration's ({level['trained']:.3f}) buyers' churn rate: {level['target']:.3f}"
            )
    if calibration == "bgnbd_anchor":
        scorer = replace(scorer, calibration=calibration, anchor=anchor)
    forecast = forecast_auc(test, headline, p, bgnbd_p, buyers)
    shift, season_why = 0.0, "no test rows"
    if len(test):
        if calibration == "bgnbd_anchor":  # judged as deployed: re-anchored at the test snapshot
            test_p = anchored(test_p, test_anchor, test_buyers)
        shift, season_why = choose_seasonal_shift(
            data, as_of, int(bundle.meta["horizon_days"]), test, test_p, kind, first_order_at(data)
        )
    scorer = replace(scorer, season_shift=shift)
    return scorer, forecast, f"churn calibration: {calibration} ({why}); {season_why}"


def _training_sample(data: Dataset, settings: TrainSettings) -> tuple[Dataset, dict]:
    """``data``, or a seeded sample of ``settings.max_customers`` of its customers.

    The dict (recorded in ``bundle.json`` as ``training_sample``) says what was done; its
    ``notes`` go to the training notes.
    """
    from smsseg.data.sample import customer_count, sample_customers

    limit = settings.max_customers
    if limit is not None and limit < 1:
        raise SmssegError(f"max_customers={limit} must be >= 1 (or None for every customer)")
    total = customer_count(data)
    info = {
        "engine": "duckdb",
        "max_customers": limit,
        "customers": total,
        "sampled": False,
        "seed": settings.seed,
    }
    if limit is None or total <= limit:
        return data, {**info, "notes": []}
    note = (
        f"trained on a seeded sample of {limit:,} of {total:,} customers (seed "
        f"{settings.seed}; --max-customers 0 trains on all)"
    )
    sample = sample_customers(data, limit, settings.seed)
    return sample, {
        **info,
        "customers": limit,
        "customers_total": total,
        "sampled": True,
        "notes": [note],
    }


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
        Bad horizon or snapshot settings, data too short for one labelled snapshot, or one
        churn class only.
    """
    from smsseg.features import training_snapshots

    settings = settings or TrainSettings()
    step = progress or (lambda name: None)
    data, sample = _training_sample(data, settings)
    plan = plan_snapshots(
        as_of,
        settings.horizon_days,
        settings.n_snapshots,
        settings.spacing_days,
        first_order_at(data),
    )
    notes: list[str] = [*plan.notes, plan.describe(), *sample.pop("notes")]
    step("snapshots")
    with warnings.catch_warnings():
        # label windows end <= as_of by design; other warnings (BTYD convergence) pass
        warnings.simplefilter("ignore", CensoredLabelWarning)
        snaps = training_snapshots(
            data,
            plan.as_of,
            settings.horizon_days,
            cutoffs=plan.cutoffs,
            seed=settings.seed,
            btyd_fit_sample=settings.btyd_fit_sample,
        )
    diagnostics = snaps.attrs.get("btyd_diagnostics", {})
    unsettled = sorted(
        cutoff[:10]
        for cutoff, d in diagnostics.items()
        if not (d.get("bgnbd") or {}).get("converged", True)
    )
    if unsettled:
        notes.append(
            f"BG/NBD did not converge at {len(unsettled)} snapshot(s) ({', '.join(unsettled[:3])}"
            f"{' ...' if len(unsettled) > 3 else ''}): see btyd_diagnostics in bundle.json"
        )
    features, dropped = select_features(snaps, settings.max_levels)
    frame, levels = shared_levels(snaps, features)
    masks = split_by_plan(frame, plan, settings.test_share, settings.seed)
    step("churn")
    churn, scorer, tables, churn_test, headline, reason = fit_churn(
        frame, masks, features, settings, plan
    )
    notes.append(f"churn scorer: {scorer.kind} ({reason})")
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
        "as_of": str(plan.as_of.date()),
        "horizon_days": settings.horizon_days,
        "features": features,
        "categories": list(snaps.attrs.get("categories") or []),
        "levels": levels,
        "snapshots": [c.isoformat() for c in plan.production],
        "validation": plan.to_dict(),
        "churn_scorer": scorer.to_dict(),
        "scorers": {
            "churn": scorer.kind,
            "discount": "model" if discount is not None else "past_discount_share",
            "next_order": "model" if next_order is not None else "median_rule",
        },
        "discount_base_rate": _discount_base_rate(frame, masks),
        "dropped_features": dropped,
        # scoring fits BTYD the same way (see models/scoring.build_scoring_features)
        "btyd": {"fit_sample": settings.btyd_fit_sample, "seed": settings.seed},
        "training_sample": sample,
        "btyd_diagnostics": diagnostics,
        "metrics": {
            "churn": _metrics_dict(tables.get(headline)),
            "churn_by_population": {k: _metrics_dict(v) for k, v in tables.items()},
            "churn_headline_population": headline,
            "discount": _metrics_dict(discount_table),
            "next_order": next_metrics,
            "uplift": uplift.metrics_dict(),
        },
        "notes": notes,
        "versions": library_versions(),
    }
    bundle = ModelBundle(churn, discount, next_order, uplift.model, meta)
    step("calibration")
    scorer, forecast, why = calibrate_at_as_of(data, bundle, scorer, churn_test, headline)
    notes.append(why)
    meta["churn_scorer"] = scorer.to_dict()
    meta["metrics"]["churn_forecast"] = forecast
    return TrainResult(
        bundle,
        features,
        dropped,
        tables.get(headline),
        churn_test,
        discount_table,
        discount_test,
        next_metrics,
        uplift if uplift.model is not None else None,
        notes,
        frame,
        settings,
        plan,
        tables,
        scorer.kind,
        reason,
        headline,
    )


def _discount_base_rate(frame: pd.DataFrame, masks: dict) -> float | None:
    """Share of observed next orders with a discount in the production rows (the rule's prior)."""
    label = frame["discount_response"][masks["production"]].dropna()
    return float(label.astype(float).mean()) if len(label) else None
