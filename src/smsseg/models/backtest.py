"""Backtest: train as of ``T`` on data up to ``T`` only, score as of ``T``, judge on ``(T, T + H]``.

This is how a data scientist earns trust in the churn scores on their own customers: the same
``train`` and ``score`` a daily run uses, given a copy of the data cut at ``T``
(:func:`smsseg.data.load.truncate` - no later row is reachable), then compared with what really
happened next. The table is the benchmark's: smsseg's deployed score, smsseg's BG/NBD
P(no purchase in the horizon) and the recency rule, on buyers / prospects / all, with AUC, PR-AUC,
Brier, ECE and lift, next to the AUC that ``train`` *reported* from its own out-of-time test.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from smsseg.data.load import Dataset, truncate
from smsseg.errors import SmssegError
from smsseg.features._query import check_horizon, parse_as_of
from smsseg.models.baselines import RecencyRule, bgnbd_churn_probability
from smsseg.models.champion import (
    ChurnScorer,
    headline_population,
    population_masks,
    population_tables,
)
from smsseg.models.scoring import build_scoring_features, has_discount_data, predict_scores
from smsseg.models.train import TrainResult, TrainSettings, train_models

#: The scores every backtest compares, in table order.
BACKTEST_SCORES = ("smsseg", "bgnbd", "recency_rule")
#: Every churn candidate of the deployed bundle, for diagnosis (what each would have scored).
CANDIDATES = ("candidate_model", "candidate_blend", "candidate_bgnbd")


@dataclass
class BacktestResult:
    """A backtest's realized comparison and the training run behind it.

    ``tables`` has one metrics table per population (rows :data:`BACKTEST_SCORES`); ``rows`` one
    row per customer scored at ``as_of`` with the realized label, population and every score;
    ``reported`` the headline metrics ``train`` reported from its own test for the deployed
    scorer, with ``gain_vs_bgnbd`` over the raw BG/NBD (empty without a test).
    """

    as_of: pd.Timestamp
    horizon_days: int
    tables: dict
    rows: pd.DataFrame
    headline: str
    reported: dict
    train: TrainResult
    notes: list[str]

    def summary(self) -> dict:
        """Flat numbers for a benchmark row or MLflow: realized and reported, headline population."""
        table = self.tables[self.headline]
        out = {
            "as_of": str(self.as_of.date()),
            "horizon_days": self.horizon_days,
            "population": self.headline,
            "n": int(table.loc["smsseg", "n"]),
            "churn_rate": float(table.loc["smsseg", "base_rate"]),
            "scorer": self.train.champion,
            "validation": self.train.plan.kind if self.train.plan else None,
            # the AUC train forecast for the as-of date (test AUC + population shift) and the
            # AUC of its test snapshot alone
            "reported_auc": self.reported.get("forecast_roc_auc", float("nan")),
            "test_auc": self.reported.get("roc_auc", float("nan")),
            "calibration": self.reported.get("calibration"),
        }
        for score in BACKTEST_SCORES:
            for metric in ("roc_auc", "pr_auc", "brier", "ece"):
                out[f"{score}.{metric}"] = float(table.loc[score, metric])
        for candidate in CANDIDATES:
            if candidate in table.index:
                out[f"{candidate}.roc_auc"] = float(table.loc[candidate, "roc_auc"])
                out[f"{candidate}.ece"] = float(table.loc[candidate, "ece"])
        out["gain_vs_bgnbd"] = out["smsseg.roc_auc"] - out["bgnbd.roc_auc"]
        out["reported_minus_realized"] = out["reported_auc"] - out["smsseg.roc_auc"]
        # the gain over BG/NBD that train's own test predicted, next to the realized gain
        out["reported_gain_vs_bgnbd"] = self.reported.get("gain_vs_bgnbd", float("nan"))
        return out


def last_order_at(data: Dataset) -> pd.Timestamp | None:
    value = data.con.execute("SELECT MAX(ordered_at) FROM orders").fetchall()[0][0]
    return None if value is None else pd.Timestamp(value)


def realized_churn(data: Dataset, as_of, horizon_days: int) -> pd.Series:
    """1 when a customer existing at ``as_of`` placed no completed order in ``(T, T + H]``."""
    from smsseg.features.labels import CensoredLabelWarning, churn_label

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CensoredLabelWarning)  # the caller checks the window
        return churn_label(data, as_of, horizon_days)


def run_backtest(
    data: Dataset, as_of, horizon_days: int, settings: TrainSettings | None = None
) -> BacktestResult:
    """Train and score with data up to ``as_of`` only; compare with the realized future.

    Parameters
    ----------
    data : the whole data directory (the future is needed for the realized labels only).
    as_of : ``T``; ``T + horizon_days`` must not be after the last order in the data.
    horizon_days : the churn horizon ``H``.
    settings : training settings (the horizon is taken from ``horizon_days``).

    Raises
    ------
    SmssegError
        When the data ends before ``T + H`` (the realized window would be censored), or training
        is impossible as of ``T``.
    """
    stamp = parse_as_of(as_of)
    horizon = check_horizon(horizon_days)
    end = stamp + pd.Timedelta(days=horizon)
    last = last_order_at(data)
    # the data covers the whole day of its last order (day-granular exports stamp 00:00)
    if last is None or end > last.normalize() + pd.Timedelta(days=1):
        raise SmssegError(
            f"backtest as_of={stamp.date()} + horizon_days={horizon} ends {end}, after the day "
            f"of the last order in the data ({last.date() if last is not None else 'none'}): "
            "the realized window would be cut short; pick an earlier --as-of or a shorter horizon"
        )
    settings = replace(settings or TrainSettings(), horizon_days=horizon)
    past = truncate(data, stamp)
    result = train_models(past, stamp, settings)
    rows, score_notes = _score_at(past, stamp, result)
    realized = realized_churn(data, stamp, horizon).reindex(rows["customer_id"])
    rows.insert(1, "churn", realized.to_numpy(dtype=np.int64))
    tables = population_tables(
        rows["churn"].to_numpy(),
        {k: rows[k].to_numpy() for k in (*BACKTEST_SCORES, *CANDIDATES)},
        {
            "buyers": (rows["population"] == "buyers").to_numpy(),
            "prospects": (rows["population"] == "prospects").to_numpy(),
            "all": np.ones(len(rows), dtype=bool),
        },
    )
    headline = headline_population(tables)
    reported = {}
    if result.churn_tables.get(headline) is not None:
        table = result.churn_tables[headline]
        reported = table.loc[result.champion].to_dict()
        reported["gain_vs_bgnbd"] = float(
            table.loc[result.champion, "roc_auc"] - table.loc["bgnbd_raw", "roc_auc"]
        )
        forecast = result.bundle.meta["metrics"].get("churn_forecast") or {}
        reported["calibration"] = result.bundle.meta["churn_scorer"].get("calibration")
        if forecast.get("population") == headline:
            reported["forecast_roc_auc"] = forecast["roc_auc"]
    notes = [*result.notes, *score_notes]
    return BacktestResult(stamp, horizon, tables, rows, headline, reported, result, notes)


def _score_at(
    past: Dataset, stamp: pd.Timestamp, result: TrainResult
) -> tuple[pd.DataFrame, list[str]]:
    """Every score of every customer at ``stamp``, from the data cut there; and the notes."""
    bundle = result.bundle
    features = build_scoring_features(past, stamp, bundle)
    scores = predict_scores(features, bundle, stamp, has_discounts=has_discount_data(past))
    churn = bundle.churn
    model_p = churn.proba_from_matrix(churn.prepare(features[list(churn.feature_names_in_)]))
    scorer = ChurnScorer.from_dict(bundle.meta.get("churn_scorer"))
    frame = result.snapshots
    prod = frame["snapshot"].isin(list(result.plan.production)).to_numpy()
    rule = RecencyRule().fit(frame[prod], frame["churn"].to_numpy()[prod])
    buyers = population_masks(features["frequency"])["buyers"]
    rows = pd.DataFrame(
        {
            "customer_id": features.index.astype(str),
            "population": np.where(buyers, "buyers", "prospects"),
            "smsseg": scores["churn_probability"].to_numpy(),
            "bgnbd": bgnbd_churn_probability(features),
            "recency_rule": rule.predict_proba(features)[:, 1],
            **{f"candidate_{k}": v for k, v in scorer.candidates(model_p, features).items()},
        }
    )
    return rows, list(scores.attrs.get("notes", []))


def backtest_report(result: BacktestResult) -> dict:
    """JSON-ready summary, one metrics table per population, the plan and the notes."""
    return {
        "summary": result.summary(),
        "tables": {
            k: None if v is None else v.to_dict(orient="index") for k, v in result.tables.items()
        },
        "reported": result.reported,
        "validation": result.train.plan.to_dict() if result.train.plan else None,
        "notes": result.notes,
    }


def write_backtest(result: BacktestResult, out) -> list:
    """Write ``backtest.json``, ``backtest_predictions.parquet`` and ``calibration.png`` to ``out``.

    The whole folder appears at once (written to a temporary sibling, then renamed).
    """
    import json
    from pathlib import Path

    from smsseg._io import atomic_path
    from smsseg.models import plots

    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not (out / "backtest.json").is_file():
        raise SmssegError(
            f"'{out}' exists and is not a backtest folder (no backtest.json); refusing to "
            "replace it: choose another --out"
        )
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "backtest.json").write_text(
            json.dumps(backtest_report(result), indent=2, default=str), encoding="utf-8"
        )
        result.rows.to_parquet(tmp / "backtest_predictions.parquet", index=False)
        fig = plots.calibration_figure(
            result.rows["churn"], {k: result.rows[k].to_numpy() for k in BACKTEST_SCORES}
        )
        fig.savefig(tmp / "calibration.png", dpi=100)
        plots.close(fig)
    return sorted(out.iterdir())
