"""Tiers are logged to MLflow (a temporary store): parameters, criterion values, ARI, JSON, profile."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd

from smsseg.tiers import ValueTiers, value_matrix
from smsseg.tracking import log_tiers


def test_log_tiers_to_a_temporary_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the file store is fast to create
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    rng = np.random.default_rng(0)
    features = pd.DataFrame(
        {
            "monetary_total": np.r_[rng.normal(50, 5, 40), rng.normal(900, 50, 20)],
            "frequency": np.r_[np.ones(40), np.full(20, 8)],
            "recency_days": np.r_[rng.normal(200, 10, 40), rng.normal(15, 3, 20)],
        }
    )
    X = value_matrix(features)
    tiers = ValueTiers(k_range=(2, 3), random_state=0).fit(X)
    run_id = log_tiers(tiers, tiers.profile(features), tiers.stability(X, n_boot=3, seed=0))

    run = mlflow.get_run(run_id)
    assert run.data.params["k"] == str(tiers.k_)
    assert run.data.params["criterion"] == "silhouette"
    assert run.data.params["names"] == ",".join(tiers.names_)
    assert run.data.metrics["ari_mean"] > 0.9
    assert f"silhouette_k{tiers.k_}" in run.data.metrics
    local = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "dl"))
    saved = json.loads((tmp_path / "dl" / "tiers" / "value_tiers.json").read_text())
    assert ValueTiers.from_json(saved).predict(X).tolist() == tiers.predict(X).tolist()
    profile = pd.read_csv(f"{local}/tiers/tier_profile.csv")
    assert profile["customers"].sum() == len(features)
