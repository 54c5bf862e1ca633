"""What smsseg logs to MLflow: training runs (one per model kind), backtests and value tiers.

Training: a :class:`~smsseg.models.train.TrainResult` logs one run per model kind.

Experiments are ``<experiment>-churn``, ``<experiment>-discount`` and ``<experiment>-uplift``;
registered models carry the same names. Each registered model is a scoring bundle holding the
churn model plus that kind's model (the scorer always needs churn), loadable with
``mlflow.pyfunc.load_model``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import mlflow
import pandas as pd

from smsseg.data.load import Dataset
from smsseg.models import plots
from smsseg.models.scoring import predict_scores
from smsseg.models.train import LABELS, TrainResult
from smsseg.tiers.estimator import ValueTiers
from smsseg.tracking.store import (
    LoggedModel,
    configure,
    data_fingerprint,
    experiment_id,
    input_example,
    log_run,
)

#: The MLflow experiment of value-tier fits.
TIERS_EXPERIMENT = "smsseg-tiers"


def _fingerprint(data: Dataset, as_of, frame: pd.DataFrame) -> dict:
    first, last = data.con.execute(
        "SELECT MIN(ordered_at), MAX(ordered_at) FROM orders WHERE ordered_at <= ?",
        [pd.Timestamp(as_of).to_pydatetime()],
    ).fetchone()
    return data_fingerprint(data.row_counts, (first, last), frame)


def _flat(table: pd.DataFrame | None, prefix: str = "") -> dict[str, float]:
    if table is None:
        return {}
    return {
        f"{prefix}{row}.{col}": float(table.loc[row, col])
        for row in table.index
        for col in table.columns
    }


def _churn_metrics(result: TrainResult) -> dict[str, float]:
    """Headline population unprefixed (as before), then every population as ``<pop>.<score>.<m>``."""
    out = _flat(result.churn_table)
    for population, table in result.churn_tables.items():
        out |= _flat(table, f"{population}.")
    # the AUC forecast for the as-of date (see models/train.calibrate_at_as_of)
    forecast = result.bundle.meta["metrics"].get("churn_forecast") or {}
    out |= {f"forecast.{k}": float(v) for k, v in forecast.items() if k != "population"}
    return out


def _sample_params(result: TrainResult) -> dict:
    """How the training customers were drawn: the DuckDB engine's seeded sample
    (``--max-customers``) or a Spark stratified sample (``--engine spark``)."""
    sample = result.bundle.meta.get("training_sample") or {}
    params = {"training_engine": sample.get("engine", "duckdb")}
    params |= {f"sample.{k}": v for k, v in sample.items() if k not in ("engine", "strata")}
    for stratum, (population, sampled) in sample.get("strata", {}).items():
        params[f"sample.stratum.{stratum}"] = f"{sampled} of {population}"
    return params


def _settings_params(result: TrainResult) -> dict:
    s = result.settings
    return _sample_params(result) | {
        "as_of": result.bundle.meta["as_of"],
        "horizon_days": s.horizon_days,
        "n_snapshots": s.n_snapshots,
        "spacing_days": result.plan.spacing_days if result.plan else s.spacing_days,
        "seed": s.seed,
        "test_share": s.test_share,
        "n_dropped_features": len(result.dropped),
        "validation": result.plan.kind if result.plan else None,
        "test_snapshot": str(result.plan.test) if result.plan else None,
        "n_production_snapshots": len(result.plan.production) if result.plan else None,
        "churn_scorer": result.champion,
        "churn_scorer_reason": result.champion_reason[:500],
        "churn_calibration": result.bundle.meta["churn_scorer"].get("calibration", "trained"),
        "churn_anchor_level": _anchor_level(result.bundle.meta["churn_scorer"]),
        "headline_population": result.headline,
    }


def _anchor_level(scorer: dict) -> str:
    """How the BG/NBD anchor's level was set: ``-`` (no anchor), ``bgnbd`` or the average."""
    if scorer.get("calibration", "trained") != "bgnbd_anchor":
        return "-"
    level = scorer.get("anchor_level") or {}
    if not level:
        return "bgnbd"
    return (
        f"average: bgnbd {level['bgnbd']:.4f}, trained {level['trained']:.4f} -> "
        f"{level['target']:.4f}"
    )


def _model_params(model, prefix: str) -> dict:
    params = {f"{prefix}.{k}": v for k, v in model.get_params().items()}
    for attr in ("best_iteration_", "scale_pos_weight_"):
        if hasattr(model, attr):
            params[f"{prefix}.{attr.rstrip('_')}"] = getattr(model, attr)
    if hasattr(model, "calibrator_"):
        params[f"{prefix}.calibration_chosen"] = model.calibrator_.kind
    return params


def _churn_figures(result: TrainResult) -> dict:
    test = result.churn_test
    if not len(test):
        return {"importance": plots.importance_figure(result.bundle.churn.feature_importance())}
    test = test[test["population"] == result.headline] if result.headline == "buyers" else test
    scores = {k: test[k].to_numpy() for k in ("smsseg", "model", "bgnbd", "recency_rule")}
    return {
        "roc": plots.roc_figure(test["churn"], scores),
        "calibration": plots.calibration_figure(test["churn"], scores),
        "lift": plots.lift_figure(test["churn"], scores),
        "importance": plots.importance_figure(result.bundle.churn.feature_importance()),
    }


def log_training(
    result: TrainResult,
    data: Dataset,
    experiment: str = "smsseg",
    uri: str | None = None,
    extra_metrics: dict[str, dict[str, float]] | None = None,
) -> dict[str, LoggedModel]:
    """Log every trained model of ``result``; sets ``bundle.meta['version']`` from the registry.

    ``extra_metrics`` adds metrics per kind (e.g. the simulator oracle's, for a quality check).

    Returns
    -------
    dict
        kind → :class:`~smsseg.tracking.store.LoggedModel`.
    """
    bundle = result.bundle
    frame = result.snapshots[[*result.features, *LABELS]]
    fingerprint = _fingerprint(data, bundle.meta["as_of"], frame)
    example = input_example(result.snapshots[result.features])
    base = _settings_params(result)
    logged: dict[str, LoggedModel] = {}

    def run(kind: str, sub, params: dict, metrics: dict, figures: dict) -> None:
        out = predict_scores(example, sub, bundle.meta["as_of"]).drop(columns=["reasons"])
        out["churn_risk_band"] = out["churn_risk_band"].astype(str)
        logged[kind] = log_run(
            kind,
            f"{experiment}-{kind}",
            params={**base, **params},
            fingerprint=fingerprint,
            features=result.features,
            metrics={**metrics, **(extra_metrics or {}).get(kind, {})},
            figures=figures,
            bundle=sub,
            example=example,
            example_output=out,
            registered_name=f"{experiment}-{kind}",
            uri=uri,
        )

    diagnostics = bundle.meta.get("btyd_diagnostics", {})
    churn_metrics = (
        _churn_metrics(result)
        | {
            "btyd.bgnbd_not_converged_snapshots": sum(
                not (d.get("bgnbd") or {}).get("converged", True) for d in diagnostics.values()
            )
        }
        | {
            f"next_order.{k}": v
            for k, v in result.next_order_metrics.items()
            if isinstance(v, (int, float))
        }
    )
    run(
        "churn",
        bundle.subset(["next_order"]),
        _model_params(bundle.churn, "churn"),
        churn_metrics,
        _churn_figures(result),
    )
    if bundle.discount is not None:
        table = result.discount_table
        test = result.discount_test
        scores = {k: test[k].to_numpy() for k in ("model", "past_discount_share")}
        figs = {
            "roc": plots.roc_figure(test["discount_response"], scores),
            "calibration": plots.calibration_figure(test["discount_response"], scores),
            "importance": plots.importance_figure(bundle.discount.feature_importance()),
        }
        run(
            "discount",
            bundle.subset(["discount"]),
            _model_params(bundle.discount, "discount"),
            _flat(table),
            figs,
        )
    if result.uplift is not None:
        up = result.uplift
        test = up.test
        metrics = {
            f"{name}.{k}": v for name, iv in up.metrics.items() for k, v in iv.to_dict().items()
        }
        metrics |= {"ate_test": up.ate_test, "n_train": up.n_train, "n_test": up.n_test}
        figs = {
            "qini": plots.qini_figure(
                test["outcome"], test["treatment"], {"model": test["uplift"].to_numpy()}
            )
        }
        run(
            "uplift",
            bundle.subset(["uplift"]),
            {**_model_params(up.model, "uplift"), "campaign": up.campaign},
            metrics,
            figs,
        )
    churn = logged["churn"]
    bundle.meta["version"] = f"{churn.registered_name}/{churn.version}"
    bundle.meta["mlflow"] = {
        k: {"run_id": v.run_id, "model_uri": v.model_uri, "experiment": v.experiment}
        for k, v in logged.items()
    }
    return logged


def log_backtest(result, experiment: str = "smsseg", uri: str | None = None) -> str:
    """Log a :class:`~smsseg.models.backtest.BacktestResult` as one run of ``<experiment>-backtest``.

    Parameters: as-of, horizon, validation kind, deployed scorer; metrics: the realized table of
    every population (``<population>.<score>.<metric>``) and the AUC ``train`` reported; artifacts:
    the JSON report and ROC / calibration plots. Returns the run id.
    """
    from smsseg.models.backtest import BACKTEST_SCORES, backtest_report

    uri = configure(uri)
    summary = result.summary()
    metrics = {"reported_auc": summary["reported_auc"], "gain_vs_bgnbd": summary["gain_vs_bgnbd"]}
    for population, table in result.tables.items():
        metrics |= _flat(table, f"{population}.")
    rows = result.rows[result.rows["population"] == result.headline]
    scores = {k: rows[k].to_numpy() for k in BACKTEST_SCORES}
    with mlflow.start_run(
        experiment_id=experiment_id(f"{experiment}-backtest", uri),
        run_name=f"backtest-{summary['as_of']}-h{summary['horizon_days']}",
    ) as run:
        mlflow.set_tags({"smsseg.kind": "backtest", "smsseg.as_of": summary["as_of"]})
        mlflow.log_params(
            {k: summary[k] for k in ("as_of", "horizon_days", "population", "scorer", "validation")}
        )
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if pd.notna(v)})
        mlflow.log_dict(
            json.loads(json.dumps(backtest_report(result), default=str)), "backtest.json"
        )
        for name, fig in {
            "roc": plots.roc_figure(rows["churn"], scores),
            "calibration": plots.calibration_figure(rows["churn"], scores),
        }.items():
            mlflow.log_figure(fig, f"plots/{name}.png")
            plots.close(fig)
    return run.info.run_id


def log_tiers(
    tiers: ValueTiers,
    profile: pd.DataFrame | None = None,
    stability: Sequence[float] | None = None,
    *,
    experiment: str = TIERS_EXPERIMENT,
    run_name: str = "value-tiers",
    tags: dict[str, str] | None = None,
) -> str:
    """Log tiers to MLflow (``config.tracking_uri()``): parameters, criterion values, stability,
    the JSON and the profile as artifacts. Returns the run id.

    Only aggregate numbers are logged: no customer identifiers and no phone numbers.
    """
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
