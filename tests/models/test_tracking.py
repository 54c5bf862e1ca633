"""MLflow: run contents in a temporary sqlite store, registration, pyfunc round trip, no pickle."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smsseg.models import ModelBundle
from smsseg.tracking.store import content_hash, input_example, signature

pytestmark = pytest.mark.xdist_group("models-sim")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        yield root


@pytest.fixture(scope="module")
def logged(store, trained, dataset):
    """One churn run (discount and uplift runs take the same path; one keeps the suite fast)."""
    from smsseg.tracking import log_training

    b = trained.bundle
    bundle = ModelBundle(b.churn, None, b.next_order, None, dict(b.meta))
    result = dataclasses.replace(trained, bundle=bundle, uplift=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = log_training(result, dataset, experiment="smsseg-test")
    return runs, result


def test_one_experiment_per_kind_and_a_registered_version(logged):
    import mlflow

    runs, result = logged
    assert set(runs) == {"churn"}
    run = runs["churn"]
    assert mlflow.get_experiment_by_name("smsseg-test-churn") is not None
    assert run.registered_name == "smsseg-test-churn" and run.version == "1"
    assert result.bundle.meta["version"] == "smsseg-test-churn/1"


def test_run_logs_params_fingerprint_features_metrics_and_plots(logged, store):
    import mlflow

    runs, result = logged
    data = mlflow.get_run(runs["churn"].run_id).data
    params, metrics = data.params, data.metrics
    assert params["horizon_days"] == "90" and params["as_of"] == "2025-12-31"
    assert params["churn.learning_rate"] == "0.15" and "churn.calibration_chosen" in params
    assert len(params["data.content_sha256"]) == 64
    # the DuckDB engine records how its training customers were drawn, as Spark does
    assert params["training_engine"] == "duckdb" and params["sample.sampled"] in ("True", "False")
    for score in ("model", "bgnbd", "recency_rule"):
        for metric in (
            "roc_auc",
            "pr_auc",
            "brier",
            "log_loss",
            "ece",
            "lift_top_decile",
            "capture_top_decile",
        ):
            assert f"{score}.{metric}" in metrics
    assert metrics["model.roc_auc"] == pytest.approx(result.churn_table.loc["model", "roc_auc"])
    # every population is logged, each with every score, and the champion and design are named
    for population in ("buyers", "prospects", "all"):
        table = result.churn_tables[population]
        for score in table.index:
            assert metrics[f"{population}.{score}.roc_auc"] == pytest.approx(
                table.loc[score, "roc_auc"], nan_ok=True
            )
    assert params["churn_scorer"] == result.champion and params["validation"] == "out_of_time"
    assert params["test_snapshot"].startswith("2025-10-02")
    # the calibration chosen and the AUC forecast for the as-of date are logged with the run
    scorer = result.bundle.meta["churn_scorer"]
    assert params["churn_calibration"] == scorer["calibration"]
    # out of time: the anchor, when used, keeps BG/NBD's level
    assert params["churn_anchor_level"] == ("bgnbd" if scorer["calibration"] != "trained" else "-")
    forecast = result.bundle.meta["metrics"]["churn_forecast"]
    assert metrics["forecast.roc_auc"] == pytest.approx(forecast["roc_auc"])
    assert metrics["forecast.test_roc_auc"] == pytest.approx(
        result.churn_table.loc[result.champion, "roc_auc"]
    )
    artifacts = Path(mlflow.get_run(runs["churn"].run_id).info.artifact_uri.removeprefix("file://"))
    # artifacts live beside the sqlite database, never in the working directory
    assert artifacts.is_relative_to(store)
    fingerprint = json.loads((artifacts / "data_fingerprint.json").read_text())
    assert fingerprint["row_counts"]["orders"] > 0 and fingerprint["training_rows"] == len(
        result.snapshots
    )
    assert json.loads((artifacts / "features.json").read_text())["features"] == result.features
    assert {p.name for p in (artifacts / "plots").iterdir()} == {
        "roc.png",
        "calibration.png",
        "lift.png",
        "importance.png",
    }


def test_model_has_signature_and_example_and_no_pickle(logged):
    import mlflow

    runs, result = logged
    info = mlflow.models.get_model_info(runs["churn"].model_uri)
    inputs = info.signature.inputs.input_names()
    assert inputs == result.features
    assert "phone" not in inputs  # raw phone numbers never reach MLflow
    assert [p.name for p in info.signature.params] == ["as_of"]
    local = Path(mlflow.artifacts.download_artifacts(runs["churn"].model_uri))
    names = [p.name for p in local.rglob("*")]
    assert not any(n.endswith((".pkl", ".pickle", ".cloudpickle")) for n in names)
    assert "churn.txt" in names and "bundle.json" in names
    assert any(n.startswith("input_example") for n in names)


def test_pyfunc_round_trip_matches_the_bundle(logged, dataset):
    import mlflow

    from smsseg.models.scoring import build_scoring_features, predict_scores

    runs, result = logged
    model = mlflow.pyfunc.load_model(runs["churn"].model_uri)
    features = build_scoring_features(dataset, "2025-12-31", result.bundle)
    example = input_example(features[result.features], n=50)
    out = model.predict(example)
    direct = predict_scores(example, result.bundle, "2025-12-31")
    np.testing.assert_allclose(out["churn_probability"], direct["churn_probability"], atol=1e-12)
    assert list(out["churn_risk_band"]) == list(direct["churn_risk_band"].astype(str))


def test_content_hash_and_signature_helpers():
    a = pd.DataFrame({"x": [1.0, 2.0], "c": ["u", None]})
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(a) != content_hash(a.assign(x=[1.0, 2.5]))
    sig = signature(a, pd.DataFrame({"p": [0.1, 0.2]}))
    assert all(not col.required for col in sig.inputs.inputs)
    assert [c.type.name for c in sig.inputs.inputs] == ["double", "string"]
