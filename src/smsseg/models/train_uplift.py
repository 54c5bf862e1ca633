"""Uplift from a randomized campaign in the ``assignments`` table (e.g. a discount SMS test).

The campaign must have two variants, one called ``control``; its outcome is a completed order
within ``window_days`` after each customer's assignment, and the whole window must end on or
before the training ``as_of``. Features are taken at the start of the assignment day (before any
treatment). The learner is fitted on a stratified 70 % of the customers and evaluated on the
other 30 % (uplift@10 %, Qini, AUUC with bootstrap intervals); that fitted model is the one shipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from smsseg.data.load import Dataset
from smsseg.models._frame import shared_levels
from smsseg.models.uplift import UpliftLearner, make_learner
from smsseg.models.uplift_metrics import Interval, bootstrap, uplift_metrics

CONTROL = "control"
HELD_OUT_SHARE = 0.3

_OUTCOME_SQL = """
    SELECT a.customer_id, a.variant, a.assigned_at,
           COUNT(o.order_id) > 0 AS outcome
    FROM assignments AS a
    LEFT JOIN orders AS o
      ON o.customer_id = a.customer_id AND o.status = 'completed'
     AND o.ordered_at > a.assigned_at AND o.ordered_at <= a.assigned_at + to_days(CAST(? AS INTEGER))
    WHERE a.campaign_id = ?
    GROUP BY a.customer_id, a.variant, a.assigned_at
    ORDER BY a.customer_id
"""


@dataclass
class UpliftReport:
    """The uplift model (or why there is none) and its held-out evaluation."""

    model: UpliftLearner | None = None
    campaign: str | None = None
    note: str | None = None
    metrics: dict[str, Interval] = field(default_factory=dict)
    test: pd.DataFrame | None = None
    n_train: int = 0
    n_test: int = 0
    ate_test: float = float("nan")

    def metrics_dict(self) -> dict:
        if self.model is None:
            return {"note": self.note}
        return {
            "campaign": self.campaign,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "ate_test": self.ate_test,
            **{k: v.to_dict() for k, v in self.metrics.items()},
        }


def find_campaign(
    data: Dataset, as_of, window_days: int, name: str | None = None
) -> tuple[str | None, str | None]:
    """The latest two-arm campaign with a ``control`` variant whose window ended by ``as_of``.

    Returns ``(campaign_id, None)`` or ``(None, reason)``.
    """
    if not data.has("assignments"):
        return None, "no uplift model: the data has no assignments table (no randomized test)"
    rows = data.sql(
        "SELECT campaign_id, list(DISTINCT lower(variant)) AS variants, MAX(assigned_at) AS last_at "
        "FROM assignments GROUP BY campaign_id ORDER BY last_at DESC, campaign_id"
    ).df()
    limit = pd.Timestamp(as_of)
    usable = []
    for row in rows.itertuples():
        two_arms = len(row.variants) == 2 and CONTROL in row.variants
        ended = pd.Timestamp(row.last_at) + pd.Timedelta(days=window_days) <= limit
        if two_arms and ended and (name is None or row.campaign_id == name):
            usable.append(row.campaign_id)
    if usable:
        return usable[0], None
    wanted = f"campaign {name!r}" if name else "a campaign"
    return None, (
        f"no uplift model: {wanted} with variants control + one treatment whose {window_days}-day "
        f"outcome window ends by as_of={limit.date()} was not found in assignments"
    )


def experiment_rows(data: Dataset, campaign: str, window_days: int) -> pd.DataFrame:
    """One row per assigned customer: ``treatment`` (0/1), ``assigned_at`` and ``outcome`` (0/1)."""
    rows = data.con.execute(_OUTCOME_SQL, [int(window_days), campaign]).df()
    rows["treatment"] = (rows["variant"].str.lower() != CONTROL).astype(np.int64)
    rows["outcome"] = rows["outcome"].astype(np.int64)
    return rows.set_index("customer_id")


def train_uplift(
    data: Dataset, as_of, features: list[str], levels: dict, categories, settings
) -> UpliftReport:
    """Fit and evaluate the uplift learner on the latest usable randomized campaign."""
    from smsseg.features import build_features

    campaign, why = find_campaign(
        data, as_of, settings.uplift_window_days, settings.uplift_campaign
    )
    if campaign is None:
        return UpliftReport(note=why)
    rows = experiment_rows(data, campaign, settings.uplift_window_days)
    if np.bincount(rows["treatment"] * 2 + rows["outcome"], minlength=4).min() < 10:
        return UpliftReport(
            campaign=campaign,
            note=f"no uplift model: campaign {campaign!r} has fewer than 10 "
            "customers in some arm × outcome cell",
        )
    cut = pd.Timestamp(rows["assigned_at"].min()).normalize()  # before any customer was treated
    feats = build_features(
        data,
        cut,
        horizon_days=settings.horizon_days,
        categories=categories,
        seed=settings.seed,
        btyd_fit_sample=settings.btyd_fit_sample,
    )
    feats = feats.reindex(rows.index.astype(str))
    frame, _ = shared_levels(feats, features, levels)
    X, t, y = frame[features], rows["treatment"].to_numpy(), rows["outcome"].to_numpy()
    train, test = train_test_split(
        np.arange(len(rows)),
        test_size=HELD_OUT_SHARE,
        stratify=t * 2 + y,
        random_state=settings.seed,
    )
    params = {"random_state": settings.seed, "n_jobs": settings.n_jobs, **settings.uplift_params}
    model = make_learner(settings.uplift_learner, **params).fit(X.iloc[train], t[train], y[train])
    score = model.predict(X.iloc[test])
    held = pd.DataFrame(
        {
            "customer_id": rows.index[test].astype(str),
            "treatment": t[test],
            "outcome": y[test],
            "uplift": score,
        }
    )
    ate = float(y[test][t[test] == 1].mean() - y[test][t[test] == 0].mean())
    intervals = bootstrap(
        uplift_metrics, y[test], t[test], score, n_boot=settings.n_boot, seed=settings.seed
    )
    note = None
    if np.ptp(score) == 0:
        # min_child_samples forbids every split on a small test: the ranking is random, say so
        note = (
            f"uplift model for {campaign!r} predicts the same uplift for everyone: too few assigned "
            f"customers ({len(train)} for training) to learn who responds"
        )
    return UpliftReport(model, campaign, note, intervals, held, len(train), len(test), ate)
