"""A hand-built run folder with every part the report reads (small; built once per module)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg.activation import ActivationPolicy, QuietHours, make_plan, write_plan
from tests.activation.frames import customers, opted_in, write_data_dir

IDS = [f"C{i:03d}" for i in range(40)]
SEGMENTS = ["cart_abandoner", "vip", "dormant"]


def _bundle(folder: Path, rng: np.random.Generator) -> None:
    import lightgbm as lgb

    folder.mkdir(parents=True)
    X = pd.DataFrame({"recency_days": rng.exponential(60, 400), "frequency": rng.poisson(3, 400)})
    y = (X["recency_days"] + rng.normal(0, 20, 400) > 60).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 4}, lgb.Dataset(X, y), 10
    )
    (folder / "churn.txt").write_text(booster.model_to_string())
    row = {"roc_auc": 0.8, "pr_auc": 0.7, "brier": 0.15, "ece": 0.02, "lift_top_decile": 2.1,
           "capture_top_decile": 0.21, "n": 400}  # fmt: skip
    metrics = {
        "churn": {
            "model": row,
            "bgnbd": row | {"roc_auc": 0.7},
            "recency_rule": row | {"roc_auc": 0.65},
        },
        "discount": {},
        "next_order": {"mae_days": 21.5, "mae_days_median_rule": 30.1, "n_test": 120},
        "uplift": {},
    }
    meta = {"name": "smsseg", "version": "smsseg@test", "as_of": "2025-06-30", "horizon_days": 90,
            "features": list(X.columns), "metrics": metrics, "notes": ["uplift not trained: no test"]}  # fmt: skip
    (folder / "bundle.json").write_text(json.dumps(meta))
    preds = pd.DataFrame({"churn": y[:200], "model": rng.random(200) * 0.5 + 0.5 * y[:200],
                          "bgnbd": rng.random(200)})  # fmt: skip
    preds.to_parquet(folder.parent / "churn_test.parquet", index=False)


def _segments(folder: Path) -> None:
    summary = pd.DataFrame({
        "key": SEGMENTS, "name": ["Cart abandoners", "VIP", "Dormant"], "customers": [10, 8, 4],
        "share": [0.25, 0.2, 0.1], "primary_customers": [10, 6, 4], "revenue_share": [0.3, 0.5, 0.05],
        "mean_churn_probability": [0.3, 0.2, 0.8], "opted_in_share": [1.0, 1.0, 1.0],
        "frequency_cap_per_week": [3, 2, 1], "flow": ["abandoned_cart", "loyalty", "reactivation"],
    })  # fmt: skip
    summary.to_csv(folder / "segment_summary.csv", index=False)
    tiers = pd.DataFrame({"tier": ["Gold", "Silver", "Bronze"], "rank": [0, 1, 2], "customers": [8, 12, 20],
                          "share": [0.2, 0.3, 0.5], "revenue": [5000.0, 3000.0, 1000.0],
                          "revenue_share": [0.55, 0.33, 0.12], "mean_churn_probability": [0.2, 0.3, 0.5]})  # fmt: skip
    tiers.to_csv(folder / "tiers.csv", index=False)
    moves = pd.DataFrame({"from_segment": ["vip", "vip", "dormant"], "to_segment": ["vip", "dormant", "dormant"],
                          "customers": [6, 2, 4], "share_of_from": [0.75, 0.25, 1.0]})  # fmt: skip
    moves.to_csv(folder / "transitions.csv", index=False)


def build_run(root: Path) -> Path:
    """Write the run folder under ``root`` and return it."""
    rng = np.random.default_rng(0)
    run = root / "run"
    data_dir, seg_dir = write_data_dir(run, IDS, cart=IDS[:10], vip=IDS[10:18], dormant=IDS[36:])
    _segments(seg_dir)
    _bundle(run / "models" / "smsseg", rng)
    scores = pd.DataFrame({"customer_id": IDS, "churn_probability": rng.random(len(IDS)),
                           "discount_sensitivity": rng.random(len(IDS)),
                           "churn_risk_band": rng.choice(["low", "medium", "high"], len(IDS))})  # fmt: skip
    scores.to_parquet(run / "scores.parquet", index=False)
    pd.DataFrame(
        {"recency_days": rng.exponential(60, 40), "frequency": rng.poisson(3, 40)}
    ).to_parquet(run / "features.parquet", index=False)
    membership = pd.read_parquet(seg_dir / "membership.parquet")
    policy = ActivationPolicy(quiet_hours=QuietHours(holidays=()))
    plan = make_plan(membership, customers(IDS), opted_in(IDS), "2025-06-30",
                     ["recover_abandoned_carts", "protect_high_value", "re_engage_inactive"],
                     policy, holdout=0.2, seed=1)  # fmt: skip
    write_plan(plan, run / "plan")
    return run
