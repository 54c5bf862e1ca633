"""Reasons: the driving feature comes first, only positive contributions count, only given rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smsseg.models import CalibratedLGBMClassifier, top_reasons


@pytest.fixture(scope="module")
def model_and_rows():
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(
        {
            "recency_days": rng.uniform(0, 300, n),
            "noise": rng.normal(size=n),
            "country": pd.Series(rng.choice(["US", "GB"], n), dtype="str"),
        }
    )
    p = 1 / (1 + np.exp(-(X["recency_days"] - 150) / 30))
    y = (rng.uniform(size=n) < p).astype(int)
    X.index = pd.Index([f"c{i}" for i in range(n)], name="customer_id")
    model = CalibratedLGBMClassifier(n_estimators=80, n_jobs=1, random_state=0).fit(X, y)
    return model, X


def test_dominant_driver_comes_first_for_the_at_risk(model_and_rows):
    model, X = model_and_rows
    at_risk = X[X["recency_days"] > 280]
    reasons = top_reasons(model, at_risk, k=3)
    assert list(reasons.index) == list(at_risk.index)
    assert (reasons["reason_1"] == "recency_days").all()
    assert reasons["reasons"].str.startswith("recency_days=").all()


def test_only_positive_contributions_are_reasons(model_and_rows):
    model, X = model_and_rows
    reasons = top_reasons(model, X.head(200), k=3)
    contrib = reasons[[f"contribution_{i}" for i in (1, 2, 3)]].to_numpy()
    assert np.all((contrib > 0) | np.isnan(contrib))
    # a reason name is present exactly when its contribution is
    assert (reasons["reason_2"].isna().to_numpy() == np.isnan(contrib[:, 1])).all()
    # recent buyers have little pushing them to churn: some rows have fewer than 3 reasons
    assert reasons["reason_3"].isna().any()


def test_values_are_rendered_readably(model_and_rows):
    model, X = model_and_rows
    row = X.head(1).copy()
    row["recency_days"] = 290.0
    text = top_reasons(model, row, k=1)["reasons"].iloc[0]
    assert text.startswith("recency_days=290 (+")


def test_bad_k(model_and_rows):
    model, X = model_and_rows
    with pytest.raises(ValueError, match="k=0 must be >= 1"):
        top_reasons(model, X.head(2), k=0)
