"""Model metrics as the report shows them: readable names, one table per population, the design.

Shared by the Models section (``bundle.json``) and the Backtest section (``backtest.json``). The
keys are the ones :mod:`smsseg.models.train` and :mod:`smsseg.models.backtest` write; a key the
report does not know gets a plain label (:func:`smsseg.report.labels.label`), so a newer bundle
never breaks an older report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from smsseg.report.html import table
from smsseg.report.labels import label

#: Metric columns, in table order, with their readable headers (from the one label mapping).
METRICS = {
    k: label(k)
    for k in ("roc_auc", "pr_auc", "brier", "ece", "lift_top_decile", "capture_top_decile")
}
FORMATS = {"ROC-AUC": ".4f", "PR-AUC": ".4f", "Brier": ".4f", "ECE": ".4f",
           "lift (top decile)": ".2f", "capture (top decile)": ".1%"}  # fmt: skip
#: Scores as named in the bundle's and the backtest's tables.
SCORES = {
    "model": "LightGBM model",
    "blend": "blend (model + BG/NBD)",
    "bgnbd": "BG/NBD",
    "bgnbd_raw": "BG/NBD, uncalibrated",
    "recency_rule": "recency rule",
    "past_discount_share": "past discount share",
    "smsseg": "smsseg (deployed score)",
}
POPULATIONS = {
    "buyers": "Buyers (at least one completed order)",
    "prospects": "Prospects (no completed order yet)",
    "all": "All customers",
}
#: What each deployed-scorer key in ``bundle.json`` means.
SCORERS = {
    "churn": {
        "model": "LightGBM model",
        "blend": "blend of the model and calibrated BG/NBD",
        "bgnbd": "calibrated BG/NBD (baseline)",
    },
    "discount": {"model": "LightGBM model", "past_discount_share": "past discount share (rule)"},
    "next_order": {"model": "regression model", "median_rule": "median days (rule)"},
}
#: The baseline that replaces each model when the model does not beat it.
BASELINES = {"churn": "bgnbd", "discount": "past_discount_share", "next_order": "median_rule"}
VALIDATION_KINDS = {
    "out_of_time": "out of time",
    "customer_disjoint": "customer-disjoint",
    "none": "none (no test)",
}


def number(value: object, spec: str = ".4f") -> str:
    """``value`` formatted, or a dash when it is missing or not a finite number."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    return format(x, spec) if math.isfinite(x) else "–"


def score_label(key: str, keys: Sequence[str] = ()) -> str:
    """Readable name of a score; ``bgnbd`` is "calibrated" when the raw one sits beside it."""
    if key.startswith("candidate_"):
        return f"candidate: {score_label(key.removeprefix('candidate_'), keys)}"
    if key == "bgnbd" and "bgnbd_raw" in keys:
        return "BG/NBD, calibrated"
    return SCORES.get(key, key)


def scorer_label(task: str, kind: object) -> str:
    return SCORERS.get(task, {}).get(str(kind), str(kind))


def population_order(tables: Mapping[str, object], headline: str | None) -> list[str]:
    """Populations with a table, the headline first, then buyers / prospects / all."""
    keys = [headline, *POPULATIONS, *tables]
    seen: list[str] = []
    for k in keys:
        if k is not None and k not in seen and tables.get(k):
            seen.append(k)
    return seen


def population_title(population: str, headline: str | None, block: Mapping) -> str:
    """``"Buyers (...) · headline · 1,234 customers, churn rate 41.2%"``."""
    parts = [POPULATIONS.get(population, population)]
    if population == headline:
        parts.append("headline")
    first = next(iter(block.values()), {}) if block else {}
    if isinstance(first, Mapping):
        if first.get("n") is not None:
            parts.append(f"{number(first['n'], ',.0f')} customers")
        if first.get("base_rate") is not None:
            parts.append(f"churn rate {number(first['base_rate'], '.1%')}")
    return " · ".join(parts)


def metrics_frame(
    block: Mapping[str, Mapping[str, object]],
    order: Sequence[str] = (),
    deployed: str | None = None,
) -> pd.DataFrame:
    """One row per score (``order`` first), readable metric columns; ``deployed`` is marked."""
    keys = [k for k in order if k in block] + [k for k in block if k not in order]
    rows = []
    for k in keys:
        values = block[k] if isinstance(block[k], Mapping) else {}
        label = score_label(k, keys) + (" ← deployed" if k == deployed else "")
        rows.append({"score": label} | {METRICS[m]: values.get(m) for m in METRICS})
    frame = pd.DataFrame(rows, columns=["score", *METRICS.values()])
    return frame.dropna(axis=1, how="all")


def metrics_table(
    block: Mapping[str, Mapping[str, object]],
    order: Sequence[str] = (),
    deployed: str | None = None,
) -> str:
    """:func:`metrics_frame` as an HTML table."""
    return table(metrics_frame(block, order, deployed), FORMATS)


def _day(stamp: object) -> str:
    return "?" if stamp is None else str(stamp)[:10]


def describe_validation(plan: Mapping | None) -> str:
    """The snapshot plan (``SnapshotPlan.to_dict()``) in one sentence."""
    if not plan:
        return "Validation design: not recorded (a bundle from before the snapshot plan)."
    kind = plan.get("kind")
    horizon = plan.get("horizon_days", "?")
    test = plan.get("test")
    n_val = len(plan.get("validation") or [])
    production = plan.get("production") or []
    if kind == "out_of_time" and test:
        end = (pd.Timestamp(test) + pd.Timedelta(days=int(horizon))).date()
        how = (
            f"out of time - a model trained on {n_val} earlier snapshot(s), whose labels all end "
            f"on or before {_day(test)}, is tested on the snapshot {_day(test)} with labels to "
            f"{end}"
        )
    elif kind == "customer_disjoint":
        how = (
            f"customer-disjoint (history too short for a strict out-of-time test) - held-out "
            f"customers at {_day(test)}; the training label windows overlap the test window by up "
            f"to {number(plan.get('overlap_days'), '.0f')} days, which can flatter the estimate"
        )
    elif kind == "none":
        how = "none - a single labelled snapshot, so there is no test and BG/NBD is kept"
    else:
        how = str(kind)
    last = f", the latest {_day(max(production))}" if production else ""
    return (
        f"Validation: {how}; the deployed model is fitted on {len(production)} snapshot(s){last} "
        f"(horizon {horizon} days)."
    )
