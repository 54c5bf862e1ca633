"""Reasons on real data: what the reasons say when BG/NBD or the blend is the deployed scorer.

Run by hand::

    .venv/bin/python benchmarks/bench_reasons_realdata.py

For each CDNOW backtest that can be trained (``_data.CDNOW_BACKTESTS``: as-of ``T``, horizon ``H``): train with the
defaults of ``smsseg train`` on the data up to ``T`` (:func:`smsseg.models.backtest.run_backtest`),
build the scoring features at ``T``, score, and give reasons to the high band twice: explaining
the deployed scorer (:func:`smsseg.models.scoring.add_reasons`) and, as before, the LightGBM
model alone. Reported per row: the deployed scorer, the high band's size, how many of it have the
BG/NBD column among their reasons, how many top reasons differ from the model-only ones, and the
largest gap, over every scored customer, between the contributions' sum and the deployed
log-odds minus the reference (0 up to rounding: the decomposition is exact).

Writes ``benchmarks/results/reasons_realdata.json`` / ``.md``.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from _data import CDNOW_BACKTESTS, cdnow_dir, commit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def largest_sum_gap(bundle, scorer, features) -> float:
    """max |sum of contributions - (deployed log-odds - reference)| over ``features``' rows."""
    from smsseg.models.calibration import _logit
    from smsseg.models.explain import scorer_contributions, treeshap

    model = bundle.churn
    M = model.prepare(features[list(model.feature_names_in_)])
    log_odds = scorer.bgnbd_log_odds(features)
    contrib = scorer_contributions(model, scorer, M, log_odds, scorer.bgnbd_baseline)
    bias = treeshap(model, M[:1])[0, -1]
    if scorer.kind == "model":  # TreeSHAP on the margin
        target = model.booster_.predict(M, raw_score=True, num_iteration=model.best_iteration_)
        return float(np.max(np.abs(contrib.sum(axis=1) - (target - bias))))
    w = scorer.blend_weight if scorer.kind == "blend" else 0.0
    deployed = w * _logit(model.proba_from_matrix(M)) + (1 - w) * log_odds
    reference = w * model.log_odds_of_margin(np.array([bias]))[0] + (1 - w) * scorer.bgnbd_baseline
    return float(np.max(np.abs(contrib.sum(axis=1) - (deployed - reference))))


def row(data, as_of: str, horizon: int) -> dict:
    from smsseg.data.load import truncate
    from smsseg.models.backtest import run_backtest
    from smsseg.models.champion import ChurnScorer
    from smsseg.models.scoring import add_reasons, build_scoring_features, predict_scores

    result = run_backtest(data, as_of, horizon)
    bundle = result.train.bundle
    features = build_scoring_features(truncate(data, result.as_of), as_of, bundle)
    scores = predict_scores(features, bundle, as_of, has_discounts=False)
    scorer = ChurnScorer.from_dict(bundle.meta["churn_scorer"])
    deployed = add_reasons(scores, features, bundle)["reasons"]
    model_only = replace(bundle, meta={**bundle.meta, "churn_scorer": ChurnScorer().to_dict()})
    before = add_reasons(scores, features, model_only)["reasons"]
    high = (scores["churn_risk_band"] == "high").to_numpy()
    top = deployed[high].str.split("=").str[0].fillna("(none)")
    top_before = before[high].str.split("=").str[0].fillna("(none)")
    return {
        "as_of": as_of,
        "horizon_days": horizon,
        "scorer": scorer.kind,
        "bgnbd_column": scorer.bgnbd_column,
        "customers": len(features),
        "high_band": int(high.sum()),
        "with_bgnbd_reason": int(
            deployed[high].str.contains(scorer.bgnbd_column + "=", regex=False).sum()
        ),
        "top_reason_changed": int((top != top_before).sum()),
        "high_band_with_reasons": int(deployed[high].notna().sum()),
        "example": str(deployed[high].dropna().iloc[0]) if deployed[high].notna().any() else "",
        "example_model_only": str(before[high].loc[deployed[high].dropna().index[:1]].iloc[0])
        if deployed[high].notna().any()
        else "",
        "largest_sum_gap": largest_sum_gap(bundle, scorer, features),
    }


def markdown(rows: list[dict], sha: str) -> str:
    lines = [
        "# Reasons on real data: CDNOW backtests",
        "",
        f"Commit `{sha}`. Data: `smsseg.datasets.write_cdnow()` (23,570 customers). Each row trains "
        "with the defaults of `smsseg train` on the data up to T (`run_backtest`), scores at T and "
        "gives reasons to the high band (churn probability > 0.7) twice: explaining the deployed "
        "scorer, and the LightGBM model alone (what every scorer got before). *sum gap*: the "
        "largest |sum of contributions − (deployed log-odds − reference)| over every customer.",
        "",
        "| as of | H | scorer | high band | with reasons | BG/NBD column among them | "
        "top reason changed | sum gap | example (deployed) | example (model alone) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['as_of']} | {r['horizon_days']} | {r['scorer']} | {r['high_band']:,} | "
            f"{r['high_band_with_reasons']:,} | {r['with_bgnbd_reason']:,} | {r['top_reason_changed']:,} | "
            f"{r['largest_sum_gap']:.1e} | `{r['example']}` | `{r['example_model_only']}` |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    from smsseg.data.load import load

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    data = load(cdnow_dir())
    rows = [row(data, as_of, horizon) for as_of, horizon in CDNOW_BACKTESTS]
    sha = commit()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reasons_realdata.json").write_text(
        json.dumps({"commit": sha, "rows": rows}, indent=2) + "\n"
    )
    (RESULTS / "reasons_realdata.md").write_text(markdown(rows, sha))
    print(markdown(rows, sha))


if __name__ == "__main__":
    main()
