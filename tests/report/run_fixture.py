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
ROW = {"roc_auc": 0.8, "pr_auc": 0.7, "brier": 0.15, "ece": 0.02, "lift_top_decile": 2.1,
       "capture_top_decile": 0.21, "base_rate": 0.4, "n": 400}  # fmt: skip
#: What the backtest fixture reports (checked in the rendered HTML).
BACKTEST_SUMMARY = {
    "as_of": "2025-03-31", "horizon_days": 90, "population": "buyers", "n": 30,
    "churn_rate": 0.4, "scorer": "bgnbd", "validation": "out_of_time", "reported_auc": 0.7712,
    "test_auc": 0.7431,
    "smsseg.roc_auc": 0.7345, "smsseg.pr_auc": 0.61, "smsseg.brier": 0.2, "smsseg.ece": 0.05,
    "bgnbd.roc_auc": 0.7011, "bgnbd.pr_auc": 0.55, "bgnbd.brier": 0.22, "bgnbd.ece": 0.09,
    "recency_rule.roc_auc": 0.6523, "recency_rule.pr_auc": 0.5, "recency_rule.brier": 0.24,
    "recency_rule.ece": 0.1, "gain_vs_bgnbd": 0.0334, "reported_minus_realized": 0.0367,
}  # fmt: skip
PLAN = {"as_of": "2025-06-30T00:00:00", "horizon_days": 90, "spacing_days": 15,
        "production": ["2025-03-17T00:00:00", "2025-04-01T00:00:00"],
        "validation": ["2024-12-17T00:00:00", "2025-01-01T00:00:00"],
        "test": "2025-04-01T00:00:00", "kind": "out_of_time", "overlap_days": 0.0,
        "notes": []}  # fmt: skip


def legacy_meta() -> dict:
    """The keys of a bundle from before champion/challenger and populations."""
    metrics = {
        "churn": {"model": ROW, "bgnbd": ROW | {"roc_auc": 0.7},
                  "recency_rule": ROW | {"roc_auc": 0.65}},
        "discount": {},
        "next_order": {"mae_days": 21.5, "mae_days_median_rule": 30.1, "n_test": 120},
        "uplift": {},
    }  # fmt: skip
    return {"metrics": metrics, "notes": ["uplift not trained: no test"]}


def bundle_meta() -> dict:
    """A current bundle: deployed scorers, the snapshot plan, churn metrics per population."""
    buyers = {"model": ROW | {"roc_auc": 0.7123}, "blend": ROW | {"roc_auc": 0.7301},
              "bgnbd": ROW | {"roc_auc": 0.7456}, "bgnbd_raw": ROW | {"roc_auc": 0.7456},
              "recency_rule": ROW | {"roc_auc": 0.6543}}  # fmt: skip
    prospects = {k: v | {"roc_auc": 0.5812, "n": 77, "base_rate": 0.9} for k, v in buyers.items()}
    metrics = {
        "churn": buyers,
        "churn_by_population": {"buyers": buyers, "prospects": prospects, "all": {}},
        "churn_headline_population": "buyers",
        "discount": {"model": ROW | {"roc_auc": 0.61},
                     "past_discount_share": ROW | {"roc_auc": 0.66}},
        "next_order": {"mae_days": 21.5, "mae_days_median_rule": 30.1, "n_test": 120},
        "uplift": {},
    }  # fmt: skip
    reason = ("the model (AUC 0.7123) does not beat calibrated BG/NBD (AUC 0.7456) on the "
              "out-of-time test: BG/NBD scores")  # fmt: skip
    return {
        "validation": PLAN,
        "churn_scorer": {"kind": "bgnbd", "bgnbd_calibrator": {}, "blend_weight": 0.5},
        "scorers": {"churn": "bgnbd", "discount": "past_discount_share", "next_order": "model"},
        "metrics": metrics,
        "notes": ["validation out of time: tested on the snapshot 2025-04-01 (...)",
                  f"churn scorer: bgnbd ({reason})", "uplift not trained: no test"],
    }  # fmt: skip


def write_backtest_folder(folder: Path, rng: np.random.Generator) -> Path:
    """What ``smsseg backtest --out FOLDER`` writes, by hand: JSON, per-customer rows, PNG."""
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True)
    n = 40
    churn = np.array([0, 1] * (n // 2))
    rows = pd.DataFrame({
        "customer_id": [f"B{i:03d}" for i in range(n)], "churn": churn,
        "population": np.where(np.arange(n) < 30, "buyers", "prospects"),
        "smsseg": np.clip(0.3 + 0.4 * churn + rng.normal(0, 0.2, n), 0, 1),
        "bgnbd": rng.random(n), "recency_rule": np.clip(0.2 + 0.5 * churn * rng.random(n), 0, 1),
    })  # fmt: skip
    rows.to_parquet(folder / "backtest_predictions.parquet", index=False)
    s = BACKTEST_SUMMARY

    def table(score: str, n_rows: int, rate: float) -> dict:
        return {m: s[f"{score}.{m}"] for m in ("roc_auc", "pr_auc", "brier", "ece")} | {
            "log_loss": 0.6, "lift_top_decile": 1.5, "capture_top_decile": 0.3,
            "base_rate": rate, "n": n_rows}  # fmt: skip

    report = {
        "summary": s,
        "tables": {
            "buyers": {k: table(k, 30, 0.4) for k in ("smsseg", "bgnbd", "recency_rule")},
            "prospects": {k: table(k, 10, 0.9) for k in ("smsseg", "bgnbd", "recency_rule")},
            "all": None,
        },
        "reported": {"roc_auc": s["reported_auc"]},
        "validation": PLAN,
        "notes": ["BG/NBD did not converge at 1 snapshot(s) (2024-12-17)"],
    }
    (folder / "backtest.json").write_text(json.dumps(report, indent=2))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(folder / "calibration.png")
    plt.close(fig)
    return folder


def _bundle(folder: Path, rng: np.random.Generator, legacy: bool = False) -> None:
    import lightgbm as lgb

    folder.mkdir(parents=True)
    X = pd.DataFrame({"recency_days": rng.exponential(60, 400), "frequency": rng.poisson(3, 400)})
    y = (X["recency_days"] + rng.normal(0, 20, 400) > 60).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 4, "num_threads": 1},
        lgb.Dataset(X, y),
        10,
    )
    (folder / "churn.txt").write_text(booster.model_to_string())
    meta = {"name": "smsseg", "version": "smsseg@test", "as_of": "2025-06-30", "horizon_days": 90,
            "features": list(X.columns)} | (legacy_meta() if legacy else bundle_meta())  # fmt: skip
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
    write_backtest_folder(run / "backtest", rng)
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
    write_flows_backtest(run / "flows-backtest", data_dir, rng)
    return run


def write_flows_backtest(folder: Path, data_dir: Path, rng) -> None:
    """A real ``smsseg flows backtest`` of the run's data, with a measured effect computed on a
    hand-built randomized history (the fixture's data has no flow holdouts of its own)."""
    import tempfile
    from dataclasses import replace

    from smsseg.flows.backtest import measured_effects, write_backtest
    from smsseg.flows.catalogue import load_flows
    from smsseg.flows.run import run_backtest

    start, end = pd.Timestamp("2025-02-20"), pd.Timestamp("2025-05-31")
    with tempfile.TemporaryDirectory() as tmp:  # outside the run: not a second flows backtest
        result, _ = run_backtest(data_dir, start, end, Path(tmp) / "flows")
    n = 400
    assigned = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "campaign_id": np.where(np.arange(n) < n // 2, "flow-abandoned_cart", "flow-welcome"),
        "variant": np.where(rng.random(n) < 0.2, "holdout", "treatment"),
        "assigned_at": start + pd.to_timedelta(rng.integers(1, 60, n), unit="D"),
    })  # fmt: skip
    lift = np.where((assigned["variant"] == "treatment") & (np.arange(n) < n // 2), 0.2, 0.0)
    buys = rng.random(n) < 0.15 + lift
    orders = pd.DataFrame({"customer_id": assigned["customer_id"][buys],
                           "ordered_at": assigned["assigned_at"][buys] + pd.Timedelta(days=2)})  # fmt: skip
    effects = measured_effects(assigned, orders, load_flows(), start, end)
    write_backtest(replace(result, effects=effects), folder)
