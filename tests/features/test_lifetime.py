"""BTYD features: the SQL summary equals btyd.rfm_summary, and the columns equal the models' output."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from smsseg.data import load_frames
from smsseg.features import btyd, build_features
from smsseg.features._query import make_context
from smsseg.features.lifetime import btyd_summary
from tests.features.histories import random_tables, truncate

AS_OF = "2025-03-01 12:00"


@pytest.fixture(scope="module")
def tables():
    return random_tables(seed=5, n_customers=60)


@pytest.fixture(scope="module")
def data(tables):
    return load_frames(tables)


def reference_summary(tables) -> pd.DataFrame:
    # the orders as they stood at AS_OF: one returned later was a completed order then
    orders = pd.DataFrame(truncate(tables, AS_OF)["orders"])
    orders = orders[orders["status"] == "completed"]
    customers = tables["customers"][["customer_id", "created_at"]]
    return btyd.rfm_summary(
        orders[["customer_id", "ordered_at", "amount"]], AS_OF, customers=customers
    )


def test_sql_summary_equals_rfm_summary(tables, data):
    ours = btyd_summary(make_context(data, AS_OF, 90))
    ref = reference_summary(tables)
    assert ours.attrs["time_unit_days"] == ref.attrs["time_unit_days"] == 7.0
    assert (ours["frequency"] > 0).sum() > 10  # repeat buyers exist: the comparison has teeth
    pd.testing.assert_frame_equal(
        ours, ref, check_exact=False, rtol=1e-9, atol=1e-6, check_index_type=False
    )


def test_btyd_columns_equal_the_models_fitted_on_the_as_of_history(tables, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features = build_features(data, AS_OF, horizon_days=60)
        summary = btyd_summary(make_context(data, AS_OF, 60))
        bgnbd = btyd.BetaGeoModel().fit(summary)
        expected = btyd.btyd_features(
            bgnbd, summary, 60.0, gamma_gamma=btyd.GammaGammaModel().fit(summary)
        )
    for column in expected:
        np.testing.assert_allclose(
            features[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12
        )
    assert features["btyd_p_alive"].between(0, 1).all()
    assert features["btyd_prob_no_purchase"].between(0, 1).all()


def test_btyd_fit_sample_is_seeded(data):
    kwargs = dict(btyd_fit_sample=30, horizon_days=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = build_features(data, AS_OF, seed=1, **kwargs)["btyd_p_alive"]
        b = build_features(data, AS_OF, seed=1, **kwargs)["btyd_p_alive"]
        c = build_features(data, AS_OF, seed=2, **kwargs)["btyd_p_alive"]
    pd.testing.assert_series_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_unfittable_history_gives_na_and_a_warning():
    tables = {
        "customers": pd.DataFrame({"customer_id": ["a"], "created_at": ["2025-01-01"]}),
        "orders": pd.DataFrame(
            {"order_id": ["o"], "customer_id": ["a"], "ordered_at": ["2025-01-02"], "amount": [5.0]}
        ),
    }
    with pytest.warns(UserWarning, match="could not be fitted"):
        frame = build_features(load_frames(tables), "2025-02-01")
    assert frame["btyd_expected_order_value"].isna().all() and frame["btyd_clv"].isna().all()
