"""Model quality on the simulator (>= 50k customers, 90-day horizon) and on Hillstrom.

Run by hand::

    .venv/bin/python benchmarks/bench_churn_quality.py [--customers 50000] [--n-boot 500]

Trains every model with the defaults of ``smsseg train`` (logged to MLflow, experiment prefix
``smsseg-quality``), then compares on the held-out out-of-time rows:

* churn: model vs BG/NBD vs recency rule vs the simulator's oracle (true P(no order));
  target AUC >= 0.95 x oracle AUC, ECE <= 0.03, above both baselines;
* discount: Spearman of the observational score with the planted discount sensitivity;
  Spearman of the predicted uplift with the planted uplift; Qini vs the oracle's Qini;
* Hillstrom: uplift@10 % and Qini (bootstrap intervals), both e-mail arms, T- and X-learner.

Writes ``benchmarks/results/churn_quality.json`` / ``.md`` and saves the model to
``benchmarks/_work/model50k`` for ``bench_score.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import pandas as pd
from _data import commit, data_line, data_record, simulated_dir

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
RESULTS = ROOT / "benchmarks" / "results"
AS_OF = "2025-12-31"


SCORES = ("smsseg", "model", "oracle", "bgnbd_raw", "bgnbd", "blend", "recency_rule")


def churn_vs_oracle(result, truth: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every score against the oracle on the test rows, per population (buyers, prospects)."""
    from smsseg.data.simulator import oracle_churn
    from smsseg.models.metrics import compare_scores

    test = result.churn_test.copy()
    oracle = oracle_churn(truth, test["snapshot"].iloc[0], result.settings.horizon_days)
    test["oracle"] = oracle.reindex(test["customer_id"]).to_numpy()
    out = {}
    for population in ("buyers", "prospects"):
        rows = test[test["population"] == population]
        if rows["churn"].nunique() == 2:
            out[population] = compare_scores(rows["churn"], {k: rows[k].to_numpy() for k in SCORES})
    return out


def discount_vs_truth(result, truth: pd.DataFrame) -> dict:
    from smsseg.data.simulator import true_uplift
    from smsseg.models.uplift_metrics import spearman, versus_oracle

    out: dict = {}
    planted = truth.set_index("customer_id")
    if result.discount_test is not None:
        d = result.discount_test
        out["observational_spearman_vs_planted_sensitivity"] = spearman(
            d["model"], planted["discount_sensitivity"].reindex(d["customer_id"])
        )
        out["observational_table"] = result.discount_table.to_dict(orient="index")
    if result.uplift is not None:
        held = result.uplift.test
        tau = true_uplift(truth).reindex(held["customer_id"]).to_numpy()
        out["uplift_spearman_vs_planted"] = spearman(held["uplift"], tau)
        out |= versus_oracle(held["outcome"], held["treatment"], held["uplift"], tau)
        out["uplift_metrics"] = result.uplift.metrics_dict()
    return out


def _table(table: pd.DataFrame, cols: list[str]) -> list[str]:
    lines = ["| score | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name in table.index:
        lines.append(f"| {name} | " + " | ".join(f"{table.loc[name, c]:.4f}" for c in cols) + " |")
    return lines


def _markdown(r: dict) -> str:
    t = pd.DataFrame(r["churn_table"]).T
    prospects = r.get("churn_table_prospects")
    cols = [
        "roc_auc",
        "pr_auc",
        "brier",
        "log_loss",
        "ece",
        "lift_top_decile",
        "capture_top_decile",
    ]
    lines = [
        f"# Model quality ({r['customers']:,} simulated customers, horizon {r['horizon_days']} days)",
        "",
        f"Out-of-time test rows (buyers): {int(t.loc['model', 'n']):,} customers of the snapshot "
        f"{r['test_snapshot']} (churn rate {t.loc['model', 'base_rate']:.3f}); validation models "
        f"trained on snapshots whose labels end by then ({r['validation']}). Deployed churn scorer: "
        f"**{r['champion']}**. Training took {r['train_seconds']:.0f} s. "
        f"MLflow run: experiment `smsseg-quality-churn`, run `{r['mlflow']['churn']}`.",
        "",
        f"Commit `{r['commit']}`. {r['data_line']}",
        "",
        *(f"{n[0].upper()}{n[1:]}." for n in r["notes"] if n.startswith("churn calibration:")),
        "",
        *_table(t, cols),
    ]
    if prospects:
        p = pd.DataFrame(prospects).T
        lines += [
            "",
            f"Prospects (no completed order at the cut-off; {int(p.loc['model', 'n']):,} rows, "
            f"churn rate {p.loc['model', 'base_rate']:.3f}):",
            "",
            *_table(p, cols),
        ]
    c = r["checks"]
    lines += [
        "",
        f"* AUC smsseg / oracle on buyers = **{c['auc_ratio_to_oracle']:.4f}** (target ≥ 0.95): "
        f"{'met' if c['auc_ratio_ok'] else 'NOT met'}",
        f"* ECE = **{c['ece']:.4f}** (target ≤ 0.03): {'met' if c['ece_ok'] else 'NOT met'}",
        f"* ROC-AUC gain over BG/NBD {c['auc_gain_vs_bgnbd']:+.4f}, over the recency rule "
        f"{c['auc_gain_vs_recency']:+.4f}; Brier reduction {c['brier_reduction_vs_bgnbd']:+.4f} / "
        f"{c['brier_reduction_vs_recency']:+.4f}",
        "",
    ]
    d = r["discount"]
    lines += ["## Discount sensitivity and uplift (simulator)", ""]
    if "observational_spearman_vs_planted_sensitivity" in d:
        ot = pd.DataFrame(d["observational_table"]).T
        lines.append(
            f"* Observational score: ROC-AUC {ot.loc['model', 'roc_auc']:.4f} (past-discount-share rule "
            f"{ot.loc['past_discount_share', 'roc_auc']:.4f}); Spearman with the planted discount "
            f"sensitivity **{d['observational_spearman_vs_planted_sensitivity']:.3f}**."
        )
    if "uplift_spearman_vs_planted" in d:
        u = d["uplift_metrics"]
        lines.append(
            f"* Uplift ({u['campaign']}, {u['n_test']:,} held-out customers, ATE {u['ate_test']:+.4f}): "
            f"Spearman with planted uplift **{d['uplift_spearman_vs_planted']:.3f}**; Qini "
            f"{d['qini']:.5f} vs oracle {d['qini_oracle']:.5f} = **{d['qini_vs_oracle']:.3f}** of the "
            f"oracle; uplift@10 % {u['uplift_at_10']['estimate']:.4f} "
            f"[{u['uplift_at_10']['low']:.4f}, {u['uplift_at_10']['high']:.4f}]."
        )
    lines += [
        "",
        "## Hillstrom (visit; clean control = No E-Mail only; 30 % held out; 95 % bootstrap intervals)",
        "",
        "| arm | learner | uplift@10 % | Qini | AUUC | ATE (held out) |",
        "|---|---|---|---|---|---:|",
    ]
    h = pd.DataFrame(r["hillstrom"])
    for (arm, learner), g in h.groupby(["arm", "learner"], sort=False):
        cell = {
            m: f"{row.estimate:.4f} [{row.low:.4f}, {row.high:.4f}]"
            for m, row in zip(g["metric"], g.itertuples(), strict=True)
        }
        lines.append(
            f"| {arm} | {learner} | {cell['uplift_at_10']} | {cell['qini']} | {cell['auuc']} | "
            f"{g['ate_test'].iloc[0]:.4f} |"
        )
    lines += [
        "",
        "Reference (pooled control, different protocol): uplift@10 % ≈ 0.031–0.033 (Womens), 0.065 (Mens).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--n-boot", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads (0: all cores)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    from smsseg.data.load import load
    from smsseg.models.bundle import save_bundle
    from smsseg.models.hillstrom import evaluate
    from smsseg.models.metrics import improvement
    from smsseg.models.train import TrainSettings, train_models
    from smsseg.tracking import log_training

    data_dir = simulated_dir(args.customers, seed=42)
    data = load(data_dir)
    truth = pd.read_parquet(data_dir / "truth.parquet")
    start = time.perf_counter()
    result = train_models(
        data,
        AS_OF,
        TrainSettings(n_jobs=args.threads or None, n_boot=args.n_boot),
        progress=lambda s: print(f"[{time.perf_counter() - start:7.1f}s] {s}", flush=True),
    )
    train_seconds = time.perf_counter() - start
    tables = churn_vs_oracle(result, truth)
    table = tables["buyers"]
    discount = discount_vs_truth(result, truth)
    gain = {b: improvement(table, "smsseg", b) for b in ("bgnbd_raw", "recency_rule")}
    gain["bgnbd"] = gain.pop("bgnbd_raw")
    checks = {
        "auc_ratio_to_oracle": table.loc["smsseg", "roc_auc"] / table.loc["oracle", "roc_auc"],
        "ece": table.loc["smsseg", "ece"],
        "auc_gain_vs_bgnbd": gain["bgnbd"]["roc_auc_gain"],
        "auc_gain_vs_recency": gain["recency_rule"]["roc_auc_gain"],
        "brier_reduction_vs_bgnbd": gain["bgnbd"]["brier_reduction"],
        "brier_reduction_vs_recency": gain["recency_rule"]["brier_reduction"],
    }
    checks |= {
        "auc_ratio_ok": checks["auc_ratio_to_oracle"] >= 0.95,
        "ece_ok": checks["ece"] <= 0.03,
        "beats_baselines": checks["auc_gain_vs_bgnbd"] > 0 and checks["auc_gain_vs_recency"] > 0,
    }
    extra = {
        "churn": {f"oracle.{k}": float(v) for k, v in table.loc["oracle"].items()}
        | {"check.auc_ratio_to_oracle": checks["auc_ratio_to_oracle"]}
    }
    if "qini_vs_oracle" in discount:
        extra["uplift"] = {
            "spearman_vs_planted": discount["uplift_spearman_vs_planted"],
            "qini_vs_oracle": discount["qini_vs_oracle"],
        }
    if "observational_spearman_vs_planted_sensitivity" in discount:
        extra["discount"] = {
            "spearman_vs_planted_sensitivity": discount[
                "observational_spearman_vs_planted_sensitivity"
            ]
        }
    logged = log_training(result, data, experiment="smsseg-quality", extra_metrics=extra)
    save_bundle(result.bundle, WORK / "model50k")
    print("hillstrom ...", flush=True)
    hill = evaluate(n_boot=args.n_boot, seed=42, learner_params={"n_jobs": args.threads or None})
    report = {
        "commit": commit(),
        "data": data_record(data_dir),
        "data_line": data_line(data_dir),
        "customers": args.customers,
        "horizon_days": result.settings.horizon_days,
        "as_of": AS_OF,
        "test_snapshot": str(result.churn_test["snapshot"].iloc[0].date()),
        "train_seconds": train_seconds,
        "churn_table": table.to_dict(orient="index"),
        "churn_table_prospects": tables["prospects"].to_dict(orient="index")
        if "prospects" in tables
        else None,
        "validation": result.plan.describe(),
        "champion": result.champion,
        "checks": checks,
        "discount": discount,
        "hillstrom": hill.to_dict(orient="records"),
        "notes": result.notes,
        "calibration": result.bundle.churn.validation_,
        "best_iteration": result.bundle.churn.best_iteration_,
        "next_order": result.next_order_metrics,
        "mlflow": {k: v.run_id for k, v in logged.items()},
        "model_version": result.bundle.version,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "churn_quality.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / "churn_quality.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
