"""Report sections about the inputs and the models: data, features and scores, model metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from smsseg.models.scoring import BANDS
from smsseg.report import metrics, plots
from smsseg.report.discover import LABEL_COLUMNS, RunFiles
from smsseg.report.html import NOT_AVAILABLE, Section, esc, figure, figures, kpis, note, table
from smsseg.report.labels import label


def data_section(run: RunFiles) -> Section:
    """Headline numbers, orders by month, customers by country, SMS events by type."""
    sec = Section("data", "Data summary")
    if run.data_dir is None:
        return sec.add(note(f"Input data: {NOT_AVAILABLE}."))
    from smsseg.data.load import load
    from smsseg.data.summary import summarize

    data = load(run.data_dir, validate=False)  # validated when the run loaded it
    facts = summarize(data)
    first, last = facts["date_range"]
    tiles = {
        "customers": f"{facts['customers']:,}",
        "buyers": f"{facts['buyers']:,}",
        "repeat buyers": f"{facts['repeat_buyers']:,}",
        "orders per customer": f"{facts['orders_per_customer']:.2f}",
        "orders from": f"{first:%Y-%m-%d}",
        "orders to": f"{last:%Y-%m-%d}",
        "countries": facts["countries"],
    }
    if facts["sms_opt_in_rate"] is not None:
        tiles["SMS opt-in rate"] = f"{facts['sms_opt_in_rate']:.1%}"
    if facts["loyalty_members"] is not None:
        tiles["loyalty members"] = f"{facts['loyalty_members']:,}"
    sec.add(kpis(tiles))
    q = data.con.execute
    monthly = q(
        """SELECT date_trunc('month', ordered_at) AS month, COUNT(*) AS orders,
                  SUM(amount) AS revenue FROM orders WHERE status = 'completed'
           GROUP BY 1 ORDER BY 1"""
    ).df()
    imgs = []
    if len(monthly):
        fig = plots.monthly(
            monthly.set_index("month"), "orders", "revenue", "Completed orders and revenue by month"
        )
        imgs.append(figure(fig, "orders by month"))
    countries = q(
        "SELECT COALESCE(country, '?') AS c, COUNT(*) AS n FROM customers GROUP BY 1 ORDER BY 2 DESC LIMIT 12"
    ).df()
    imgs.append(
        figure(
            plots.barh(countries.set_index("c")["n"], "Customers by country", "customers"),
            "countries",
        )
    )
    if data.has("sms"):
        sms = q("SELECT event_type, COUNT(*) AS n FROM sms GROUP BY 1").df()
        imgs.append(
            figure(
                plots.barh(sms.set_index("event_type")["n"], "SMS history by event", "events"),
                "sms",
            )
        )
    rows = pd.DataFrame({"table": list(facts["tables"]), "rows": list(facts["tables"].values())})
    return sec.add(figures(*imgs), "<h3>Tables</h3>", table(rows))


def _importance(run: RunFiles) -> pd.Series | None:
    path = run.bundle_dir / "churn.txt" if run.bundle_dir else None
    if path is None or not path.is_file():
        return None
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(path))
    gain = pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
    return gain[gain > 0].sort_values(ascending=False)


def band_counts(bands: pd.Series) -> pd.Series:
    """Customers per churn risk band in the bands' own order (low, medium, high; a band the
    scorer does not define follows), never alphabetical or by size."""
    counts = bands.astype(str).value_counts()
    order = list(BANDS) + sorted(b for b in counts.index if b not in BANDS)
    return counts.reindex(order, fill_value=0)


def features_section(run: RunFiles) -> Section:
    """What drives churn (model importance), the score distributions and the feature table."""
    sec = Section("features", "Features and scores")
    gain = _importance(run)
    imgs = []
    if gain is not None and len(gain):
        share = (gain / gain.sum()).head(15)
        imgs.append(
            figure(
                plots.barh(
                    share, "Churn model: top features (share of gain)", "share of gain", "{:.1%}"
                ),
                "importance",
            )
        )
    if run.scores is not None:
        scores = pd.read_parquet(run.scores)
        for col, label in (
            ("churn_probability", "Churn probability"),
            ("discount_sensitivity", "Discount sensitivity"),
        ):
            if col in scores and scores[col].notna().any():
                imgs.append(figure(plots.histogram(scores[col], label, col), col))
        if "churn_risk_band" in scores:
            bands = band_counts(scores["churn_risk_band"])
            fig = plots.barh(bands, "Customers by churn risk band", "customers", ordered=True)
            imgs.append(figure(fig, "bands"))
    if not imgs:
        sec.add(note(f"Model importance and scores: {NOT_AVAILABLE}."))
    sec.add(figures(*imgs))
    if run.features is None:
        return sec.add(note(f"Feature table: {NOT_AVAILABLE}."))
    feats = pd.read_parquet(run.features)
    numeric = feats.select_dtypes("number")
    cols = [c for c in (gain.index if gain is not None else []) if c in numeric][:12] or list(
        numeric.columns[:12]
    )
    desc = pd.DataFrame({
        "feature": cols,
        "mean": [numeric[c].mean() for c in cols],
        "median": [numeric[c].median() for c in cols],
        "missing": [numeric[c].isna().mean() for c in cols],
    })  # fmt: skip
    return sec.add(
        note(
            f"{len(feats):,} customers × {feats.shape[1]:,} columns; the most important features:"
        ),
        table(desc, {"missing": ".1%"}),
    )


def _scorers(meta: dict) -> tuple[dict[str, str], list[str]]:
    """The deployed scorer per task (bundles before champion/challenger: the models) and notes."""
    scorers = dict(meta.get("scorers") or {})
    kind = (meta.get("churn_scorer") or {}).get("kind")
    if kind and "churn" not in scorers:
        scorers["churn"] = kind
    return scorers, list(meta.get("notes", []))


def _deployment(meta: dict, scorers: dict[str, str], notes: list[str]) -> list[str]:
    """Deployed scorer per task, why, and the validation design (notes shown here are removed)."""
    parts = []
    if scorers:
        parts.append(kpis({f"{label(task)} scorer": metrics.scorer_label(task, kind)
                           for task, kind in scorers.items()}))  # fmt: skip
        replaced = [
            f"{label(task)} → {metrics.scorer_label(task, kind)}"
            for task, kind in scorers.items()
            if kind == metrics.BASELINES.get(task)
        ]
        parts.append(
            note(
                "A model is deployed only when it beats its simple baseline on the out-of-time "
                "test; otherwise the baseline scores. "
                + (
                    f"Scored by the baseline in this bundle: {', '.join(replaced)}."
                    if replaced
                    else "Every model beat its baseline."
                )
            )
        )
        for text in [t for t in notes if t.startswith(("churn scorer:", "churn calibration:"))]:
            notes.remove(text)
            parts.append(note(text[0].upper() + text[1:] + "."))
    if "validation" in meta:
        parts.append(note(metrics.describe_validation(meta["validation"])))
        for text in [t for t in notes if t.startswith("validation ")]:
            notes.remove(text)  # SnapshotPlan.describe(): said by the sentence above
    return parts


def _churn_tables(
    churn: dict, by_population: dict, headline: str | None, deployed: str
) -> list[str]:
    """The churn metrics per population (headline first), or the single table of older bundles."""
    order = ("model", "blend", "bgnbd", "bgnbd_raw", "recency_rule")
    blocks = {k: v for k, v in (by_population or {}).items() if v}
    if not blocks:
        blocks, headline = ({"": churn} if churn else {}), ""
    parts = []
    for population in metrics.population_order(blocks, headline):
        block = blocks[population]
        title = "Churn on the held-out test"
        if population:
            title += ": " + metrics.population_title(population, headline, block)
        parts += [f"<h3>{esc(title)}</h3>", metrics.metrics_table(block, order, deployed)]
        if population == headline:
            parts.append(_metric_bars(block, order, "Churn", "churn metrics"))
    return parts


def _metric_bars(block: dict, order: tuple[str, ...], title: str, alt: str) -> str:
    frame = metrics.metrics_frame(block, order).set_index("score")
    shown = [c for c in ("ROC-AUC", "PR-AUC", "capture (top decile)") if c in frame]
    if not shown or len(frame) < 2:
        return ""
    fig = plots.grouped_bars(frame[shown].T, f"{title}: model vs baselines", "value")
    return figure(fig, alt)


def models_section(run: RunFiles) -> Section:
    """Deployed scorers, validation design, metrics against the baselines per population, curves."""
    sec = Section("models", "Models")
    if run.bundle_dir is None:
        sec.add(note(f"Model metrics: {NOT_AVAILABLE}."))
    else:
        meta = json.loads((run.bundle_dir / "bundle.json").read_text(encoding="utf-8"))
        sec.add(note(f"Model {meta.get('version', meta.get('name', ''))} as of {meta.get('as_of', '?')}, "
                     f"horizon {meta.get('horizon_days', '?')} days, {len(meta.get('features', []))} features."))  # fmt: skip
        scorers, notes = _scorers(meta)
        sec.add(*_deployment(meta, scorers, notes))
        found = meta.get("metrics", {})
        sec.add(
            *_churn_tables(
                found.get("churn") or {},
                found.get("churn_by_population") or {},
                found.get("churn_headline_population", "buyers"),
                scorers.get("churn", "model"),
            )
        )
        forecast = found.get("churn_forecast") or {}
        if forecast:
            sec.add(note(
                f"Expected ROC-AUC on the {forecast['population']} as of {meta.get('as_of', '?')} "
                f"over the next {meta.get('horizon_days', '?')} days: "
                f"{metrics.number(forecast['roc_auc'])} - the test AUC "
                f"({metrics.number(forecast['test_roc_auc'])}, one horizon earlier) moved by how "
                "much the customers' expected AUC changed since the test snapshot."
            ))  # fmt: skip
        if found.get("discount"):
            order = ("model", "past_discount_share")
            first = next(iter(found["discount"].values()), {})
            rows = f" · {metrics.number(first.get('n'), ',.0f')} test rows" if "n" in first else ""
            sec.add(
                f"<h3>Discount sensitivity on the held-out test{rows}</h3>",
                metrics.metrics_table(found["discount"], order, scorers.get("discount", "model")),
                _metric_bars(found["discount"], order, "Discount sensitivity", "discount metrics"),
            )
        for key, title in (("next_order", "Days to next order"), ("uplift", "Uplift")):
            flat = {
                k: v
                for k, v in (found.get(key) or {}).items()
                if isinstance(v, int | float | str) and k != "note"
            }
            intervals = {
                k: v
                for k, v in (found.get(key) or {}).items()
                if isinstance(v, dict) and "estimate" in v
            }
            if flat or intervals:
                sec.add(f"<h3>{title}</h3>", kpis(_metric_tiles(flat, intervals)))
        for text in notes:
            sec.add(note(text))
    return sec.add(_curves(run))


def _metric_tiles(flat: dict, intervals: dict) -> dict[str, str]:
    """Scalar metrics and ``{estimate, low, high, level}`` intervals as tiles with readable
    labels (:func:`~smsseg.report.labels.label`)."""
    tiles = {label(k): f"{v:,.4g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int)
             else str(v) for k, v in flat.items()}  # fmt: skip
    for k, v in intervals.items():
        level = f"{float(v['level']):.0%} " if "level" in v else ""
        tiles[label(k)] = (
            f"{metrics.number(v.get('estimate'), '.4g')} "
            f"({level}CI {metrics.number(v.get('low'), '.3g')} to "
            f"{metrics.number(v.get('high'), '.3g')})"
        )
    return tiles


def _curves(run: RunFiles) -> str:
    if run.predictions is None:
        return note(
            f"ROC, calibration and lift curves: {NOT_AVAILABLE} (no held-out predictions file)."
        )
    from smsseg.models.plots import calibration_figure, lift_figure, roc_figure

    preds = pd.read_parquet(run.predictions)
    label = next(c for c in LABEL_COLUMNS if c in preds)
    scores = {
        c: preds[c].to_numpy(dtype=float)
        for c in preds.select_dtypes("number").columns
        if c != label and preds[c].between(0, 1).all()
    }
    y = preds[label].to_numpy(dtype=np.int64)
    if not scores or len(np.unique(y)) < 2:
        return note("Held-out predictions have no score column or a single class: no curves.")
    return "<h3>Held-out curves</h3>" + figures(
        figure(roc_figure(y, scores), "ROC"),
        figure(calibration_figure(y, scores), "calibration"),
        figure(lift_figure(y, scores), "lift"),
    )
