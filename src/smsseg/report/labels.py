"""What the report calls each key a stage writes: the one mapping from raw keys to readable labels.

Every table header, tile caption and metric name in the report goes through :func:`label`, so a
key such as ``mae_days`` or ``ate_test`` never reaches the reader. A key the mapping does not know
(a newer stage, a column a user added) is shown with its underscores turned into spaces, so a new
key degrades to a plain phrase rather than breaking the report; adding it here gives it its
proper name everywhere at once.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    # model metrics (bundle.json, backtest.json)
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "ece": "ECE",
    "log_loss": "log loss",
    "lift_top_decile": "lift (top decile)",
    "capture_top_decile": "capture (top decile)",
    "base_rate": "churn rate",
    "n": "rows",
    "n_test": "test rows",
    "n_train": "training rows",
    "mae_days": "mean absolute error (days)",
    "mae_days_median_rule": "mean absolute error of the median rule (days)",
    "median_days": "median days to the next order",
    "campaign": "experiment campaign",
    "ate_test": "average treatment effect on the test rows",
    "uplift_at_10": "uplift in the top 10 %",
    "qini": "Qini coefficient",
    "auuc": "area under the uplift curve",
    # parts of a run (RunFiles fields)
    "data_dir": "input data",
    "bundle_dir": "model bundle",
    "scores": "scores",
    "predictions": "held-out predictions",
    "features": "feature table",
    "segments_dir": "segments",
    "plan_dir": "send plan",
    "backtest": "backtest",
    "flows_backtest": "flows backtest",
    # flows backtest (by_flow.csv, by_segment.csv, optouts.csv, effects.csv)
    "flow_sms": "flow SMS",
    "flow_sms_per_customer_week": "flow SMS per customer per week",
    "total_sms_per_active_week": "all SMS per active customer-week",
    "max_sms_in_a_week": "most SMS in a week",
    "share_capped": "share capped",
    "caught_after_exit": "caught after an exit",
    "sent_after_exit": "sent after an exit",
    "sms_per_week": "SMS in the week",
    "customer_weeks": "customer-weeks",
    "optouts": "opt-outs",
    "rate": "opt-out rate",
    "n_treated": "treated",
    "n_holdout": "holdout",
    "conversion_treated": "conversion (treated)",
    "conversion_holdout": "conversion (holdout)",
    "effect": "effect (treated − holdout)",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "p_value": "p-value",
    # tiers.csv, segment_summary.csv, segment_flows.csv, transitions.csv
    "key": "segment",
    "tier": "tier",
    "rank": "rank",
    "share": "share of customers",
    "revenue_share": "share of revenue",
    "primary_customers": "primary segment of",
    "mean_churn_probability": "mean churn probability",
    "mean_monetary": "mean spend",
    "mean_frequency": "mean orders",
    "mean_recency_days": "mean days since last order",
    "mean_clv": "mean predicted CLV",
    "mean_value_score": "mean value score",
    "opted_in_share": "opted in",
    "frequency_cap_per_week": "weekly cap",
    "message_types": "message types",
    "from_segment": "from segment",
    "to_segment": "to segment",
    "share_of_from": "share of the from segment",
    # campaigns.csv
    "campaign_id": "campaign",
    "first_send_utc": "first send (UTC)",
    "last_send_utc": "last send (UTC)",
    "priority": "priority",
    "value_per_send": "value at stake per send",
    "suppressed_capped": "lost to caps",
    "lost_to": "lost to (customers)",
    # scores.parquet
    "churn_probability": "churn probability",
    "discount_sensitivity": "discount sensitivity",
    "churn_risk_band": "churn risk band",
    "predicted_clv": "predicted CLV",
}


def label(key: object) -> str:
    """The readable label of ``key``: from :data:`LABELS`, else the key with spaces.

    Example
    -------
    >>> label("mae_days"), label("some_new_key")
    ('mean absolute error (days)', 'some new key')
    """
    text = str(key)
    return LABELS.get(text, text.replace("_", " "))
