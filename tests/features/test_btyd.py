"""BTYD models: published CDNOW numbers, an independent implementation, Monte Carlo, RFM by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.optimize import OptimizeResult, approx_fprime
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from smsseg.errors import SmssegError
from smsseg.features.btyd import (
    FEATURE_COLUMNS,
    BetaGeoModel,
    GammaGammaModel,
    btyd_features,
    rfm_summary,
)
from smsseg.features.btyd._fitting import _Column, converged
from smsseg.features.btyd.bgnbd import _bg_expected_if_alive, _bg_expected_if_alive_quad, _bg_loglik
from smsseg.features.btyd.gamma_gamma import _gg_loglik

FIXTURE = Path(__file__).parents[1] / "fixtures" / "cdnow_summary.csv"

# Fader, Hardie & Lee (2005), CDNOW 1/10th sample, 2357 customers, 39-week calibration, weeks.
FHL_2005 = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
FHL_2005_LOG_LIKELIHOOD = -9582.4
# Gamma-Gamma on the same customers (Fader & Hardie, "The Gamma-Gamma model of monetary value").
GG_PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}

# Golden values from an independent implementation: lifetimes 0.11.3 (MIT) BetaGeoFitter with the
# published parameters set, run by hand in a throwaway venv. (x, t_x, T) -> (P(alive), E[Y(39)]).
LIFETIMES_GOLDEN = [
    ((0, 0.0, 38.86), 1.0, 0.19509805201125396),
    ((2, 30.43, 38.86), 0.726578570080673, 1.226028174767135),
    ((1, 1.71, 38.86), 0.2121009853773791, 0.20318698707975183),
    ((7, 29.43, 38.86), 0.6417563459461072, 3.3370532748513577),
    ((29, 38.43, 38.86), 0.9662746336193763, 19.67737718727825),
    ((5, 10.0, 32.0), 0.05915131256749071, 0.259184303637608),
]
LIFETIMES_UNCONDITIONAL = {39: 1.1967231933207985, 78: 1.8605190579427455}
LIFETIMES_GG_AVERAGE = [
    (0, 0.0, 35.21897810218978),
    (1, 11.77, 18.91685205784205),
    (2, 22.35, 24.663713910761157),
    (10, 50.0, 49.37921520539547),
]


def summary_frame(x, t_x, T, monetary=None) -> pd.DataFrame:
    frame = pd.DataFrame({"frequency": x, "recency": t_x, "T": T})
    if monetary is not None:
        frame["monetary_value"] = monetary
    return frame


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(FIXTURE, index_col="ID")
    return raw.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_bg(cdnow) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


@pytest.fixture(scope="module")
def cdnow_gg(cdnow) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow)


# ---------------------------------------------------------------------------- CDNOW
def test_cdnow_fixture_is_the_published_cohort(cdnow):
    assert len(cdnow) == 2357
    assert cdnow["frequency"].sum() == 2457  # repeat purchases in FHL's calibration period


@pytest.mark.parametrize("name", list(FHL_2005), ids=list(FHL_2005))
def test_cdnow_bgnbd_parameters_match_published(cdnow_bg, name):
    assert cdnow_bg.converged_
    assert cdnow_bg.params_[name] == pytest.approx(FHL_2005[name], rel=0.01)


def test_cdnow_log_likelihood_matches_published(cdnow_bg, cdnow):
    assert cdnow_bg.log_likelihood_ == pytest.approx(FHL_2005_LOG_LIKELIHOOD, abs=0.1)
    assert cdnow_bg.log_likelihood(cdnow).sum() == pytest.approx(cdnow_bg.log_likelihood_)


def test_cdnow_example_customer_expected_purchases(cdnow_bg):
    customer = summary_frame([2], [30.43], [38.86])
    assert cdnow_bg.expected_purchases(39, customer).iloc[0] == pytest.approx(1.226, rel=0.01)


@pytest.mark.parametrize("name", list(GG_PUBLISHED), ids=list(GG_PUBLISHED))
def test_cdnow_gamma_gamma_parameters_match_published(cdnow_gg, name):
    assert cdnow_gg.converged_
    assert cdnow_gg.params_[name] == pytest.approx(GG_PUBLISHED[name], rel=0.01)


@pytest.mark.parametrize(
    ("history", "p_alive", "expected"), LIFETIMES_GOLDEN, ids=[str(h) for h, *_ in LIFETIMES_GOLDEN]
)
def test_matches_lifetimes_at_published_parameters(history, p_alive, expected):
    model = BetaGeoModel.from_params(**FHL_2005)
    customer = summary_frame(*[[v] for v in history])
    assert model.p_alive(customer).iloc[0] == pytest.approx(p_alive, rel=1e-9)
    assert model.expected_purchases(39, customer).iloc[0] == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("t", list(LIFETIMES_UNCONDITIONAL), ids=lambda t: f"t={t}")
def test_unconditional_matches_lifetimes(t):
    model = BetaGeoModel.from_params(**FHL_2005)
    assert model.expected_purchases_unconditional(t) == pytest.approx(
        LIFETIMES_UNCONDITIONAL[t], rel=1e-7
    )


def test_gamma_gamma_average_matches_lifetimes():
    model = GammaGammaModel.from_params(**GG_PUBLISHED)
    x, m, expected = map(list, zip(*LIFETIMES_GG_AVERAGE, strict=True))
    got = model.conditional_expected_average_profit(summary_frame(x, [0.0] * 4, [39.0] * 4, m))
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-9)


# ---------------------------------------------------------------------------- formulas
def _expected_if_alive_by_quad(theta, t, x, T) -> float:
    """The defining integral over p ~ Beta(a, b + x), by adaptive quadrature."""
    r, alpha, a, b = theta

    def integrand(p):
        return -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p * stats.beta.pdf(p, a, b + x)

    return integrate.quad(integrand, 0, 1, limit=200, epsabs=1e-12, epsrel=1e-9)[0]


THETAS = {
    "cdnow": (0.243, 4.414, 0.793, 2.426),
    "a=1": (2.0, 10.0, 1.0, 3.0),
    "a=1+1e-7": (2.0, 10.0, 1.0000001, 3.0),
    "a>1,b<1": (0.5, 1.0, 3.0, 0.5),
    "a<1,r>1": (5.0, 0.5, 0.2, 10.0),
}
HISTORIES = {
    "x2": (39.0, 2, 38.86),
    "new": (52.0, 0, 0.0),
    "long-horizon": (500.0, 30, 10.0),
    "x300": (13.0, 300, 300.0),
}


@pytest.mark.parametrize("history", list(HISTORIES.values()), ids=list(HISTORIES))
@pytest.mark.parametrize("theta", list(THETAS.values()), ids=list(THETAS))
def test_closed_form_matches_quadrature(theta, history):
    t, x, T = history
    closed = float(_bg_expected_if_alive(theta, t, np.float64(x), np.float64(T)))
    assert closed == pytest.approx(_expected_if_alive_by_quad(theta, t, x, T), rel=1e-6)


@pytest.mark.parametrize("history", list(HISTORIES.values()), ids=list(HISTORIES))
def test_quadrature_fallback_when_dropout_has_no_spread(history):
    # huge a, b: hyp2f1 returns nan; Beta(a, b) is then a spike at p0 = a / (a + b)
    t, x, T = history
    r, alpha, a, b = 0.15, 0.43, 1.15e6, 6.33e6
    value = float(_bg_expected_if_alive((r, alpha, a, b), t, np.float64(x), np.float64(T)))
    p0 = a / (a + b)
    spike = -np.expm1(-(r + x) * np.log1p(p0 * t / (alpha + T))) / p0
    assert value == pytest.approx(spike, rel=1e-3)


def test_quadrature_agrees_with_closed_form_on_a_regular_model():
    theta = THETAS["cdnow"]
    t, x, T = np.array([39.0, 13.0]), np.array([2.0, 0.0]), np.array([38.86, 20.0])
    np.testing.assert_allclose(
        _bg_expected_if_alive_quad(theta, t, x, T), _bg_expected_if_alive(theta, t, x, T), rtol=1e-4
    )


GRADIENT_CASES = {
    "bgnbd": (
        _bg_loglik,
        (0.5, 3.0, 0.8, 2.5),
        ([0, 1, 3, 10.0], [0, 2, 5, 30.0], [10, 20, 30, 40.0]),
    ),
    "bgnbd-b<1": (
        _bg_loglik,
        (2.0, 1.0, 1.5, 0.7),
        ([0, 1, 3, 10.0], [0, 2, 5, 30.0], [10, 20, 30, 40.0]),
    ),
    "gamma-gamma": (_gg_loglik, (6.0, 3.7, 15.0), ([1, 3, 10.0], [5, 10, 2.0])),
}


@pytest.mark.parametrize(
    ("loglik", "theta", "data"), GRADIENT_CASES.values(), ids=list(GRADIENT_CASES)
)
def test_analytic_gradient_matches_finite_differences(loglik, theta, data):
    columns = [_Column(np.asarray(values)) for values in data]
    _, grad = loglik(np.array(theta), *columns, grad=True)
    for row in range(len(data[0])):
        numeric = approx_fprime(
            np.array(theta), lambda th, row=row: loglik(th, *columns)[row], 1e-7
        )
        np.testing.assert_allclose(grad[row], numeric, rtol=1e-5, atol=1e-5)


def test_prob_no_purchase_limits_and_monotone_in_t(cdnow):
    model = BetaGeoModel.from_params(**FHL_2005)
    p_dead = (1 - model.p_alive(cdnow)).to_numpy()
    assert (model.prob_no_purchase(0, cdnow) == 1).all()  # nothing can happen in an empty window
    # over an endless window only the dead make no purchase
    np.testing.assert_allclose(model.prob_no_purchase(1e40, cdnow), p_dead, atol=1e-6)
    short, long = model.prob_no_purchase(4, cdnow), model.prob_no_purchase(52, cdnow)
    assert (long <= short).all() and (long >= p_dead).all()
    assert (long < short).mean() > 0.99


# ---------------------------------------------------------------------------- Monte Carlo
TRUE = {"r": 0.8, "alpha": 5.0, "a": 0.9, "b": 3.0}
HOLDOUT = 26.0  # weeks


def simulate_bgnbd(n, r, alpha, a, b, *, T_max, horizon, seed) -> pd.DataFrame:
    """The BG/NBD story, vectorised, on a daily grid; ``alive`` and ``future`` are the truth.

    Every customer buys at time 0; while alive, purchases are Poisson(lambda); right after the
    J-th repeat purchase, J ~ Geometric(p), the customer is gone. Given N potential events in
    (0, T], their times are uniform order statistics, so the x-th is T * Beta(x, N - x + 1).
    """
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = np.ceil(rng.uniform(0.25 * T_max, T_max, n) * 7) / 7
    J, potential = rng.geometric(p), rng.poisson(lam * T)
    x = np.minimum(potential, J)
    alive = J > potential
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(potential - x + 1, 1)), 0.0)
    t_x = np.minimum(np.round(t_x * 7) / 7, T)
    # memoryless: an alive customer's remaining purchases before dropout are Geometric(p) again
    future = np.where(alive, np.minimum(rng.poisson(lam * horizon), rng.geometric(p)), 0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "alive": alive, "future": future})


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulate_bgnbd(60_000, **TRUE, T_max=52, horizon=HOLDOUT, seed=7)


@pytest.fixture(scope="module")
def cohort_fit(cohort) -> BetaGeoModel:
    return BetaGeoModel().fit(cohort)


# sd of each estimate over seeds at this cohort size is ~1 % (r, alpha) and ~4 % (a, b)
@pytest.mark.parametrize(
    ("name", "rel"), [("r", 0.05), ("alpha", 0.05), ("a", 0.15), ("b", 0.15)], ids=list(TRUE)
)
def test_fit_recovers_simulated_parameters(cohort_fit, name, rel):
    assert cohort_fit.converged_
    assert cohort_fit.params_[name] == pytest.approx(TRUE[name], rel=rel)


def _max_bin_z(predicted: np.ndarray, observed: np.ndarray, bins: int = 10) -> float:
    """Largest |mean observed - mean predicted| / its standard error over prediction deciles."""
    frame = pd.DataFrame(
        {
            "bin": pd.qcut(predicted, bins, labels=False, duplicates="drop"),
            "pred": predicted,
            "obs": observed,
        }
    )
    g = frame.groupby("bin").agg(
        pred=("pred", "mean"), obs=("obs", "mean"), sd=("obs", "std"), n=("obs", "size")
    )
    return float(((g.obs - g.pred).abs() / (g.sd / np.sqrt(g.n))).max())


QUANTITIES = {
    "p_alive": (lambda m, s: m.p_alive(s), lambda s: s["alive"]),
    "prob_no_purchase": (lambda m, s: m.prob_no_purchase(HOLDOUT, s), lambda s: s["future"] == 0),
    "expected_purchases": (lambda m, s: m.expected_purchases(HOLDOUT, s), lambda s: s["future"]),
}


@pytest.mark.parametrize(("predict", "truth"), QUANTITIES.values(), ids=list(QUANTITIES))
@pytest.mark.parametrize("which", ["true-params", "fitted"])
def test_predictions_are_calibrated_on_the_simulated_future(
    cohort, cohort_fit, which, predict, truth
):
    model = BetaGeoModel.from_params(**TRUE) if which == "true-params" else cohort_fit
    predicted = predict(model, cohort).to_numpy()
    assert _max_bin_z(predicted, truth(cohort).to_numpy(dtype=float)) < 4


@pytest.mark.parametrize(("predict", "truth"), QUANTITIES.values(), ids=list(QUANTITIES))
def test_calibration_check_detects_a_wrong_model(cohort, predict, truth):
    wrong = BetaGeoModel.from_params(**{**TRUE, "a": 3 * TRUE["a"]})  # 3x the dropout rate
    assert _max_bin_z(predict(wrong, cohort).to_numpy(), truth(cohort).to_numpy(dtype=float)) > 6


def test_unconditional_expectation_matches_new_customers():
    rng = np.random.default_rng(11)
    lam, p = (
        rng.gamma(TRUE["r"], 1 / TRUE["alpha"], 200_000),
        rng.beta(TRUE["a"], TRUE["b"], 200_000),
    )
    purchases = np.minimum(rng.poisson(lam * HOLDOUT), rng.geometric(p))
    expected = BetaGeoModel.from_params(**TRUE).expected_purchases_unconditional(HOLDOUT)
    assert abs(purchases.mean() - expected) < 4 * purchases.std() / np.sqrt(len(purchases))


def test_max_customers_subsample_is_seeded_and_close(cohort, cohort_fit):
    first = BetaGeoModel(max_customers=5_000, random_state=3).fit(cohort)
    again = BetaGeoModel(max_customers=5_000, random_state=3).fit(cohort)
    assert first.params_ == again.params_
    assert first.params_ != cohort_fit.params_
    for name in ("r", "alpha"):
        assert first.params_[name] == pytest.approx(TRUE[name], rel=0.1)


def test_penalizer_shrinks_parameters(cdnow, cdnow_bg):
    shrunk = BetaGeoModel(penalizer=0.1).fit(cdnow)
    assert sum(v**2 for v in shrunk.params_.values()) < sum(v**2 for v in cdnow_bg.params_.values())
    assert shrunk.log_likelihood_ < cdnow_bg.log_likelihood_


# ---------------------------------------------------------------------------- rfm_summary
AS_OF = "2024-01-29"


def hand_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c1", "c2", "c3"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 18:00",
                    "2024-01-08 00:00",
                    "2024-01-22 00:00",
                    "2024-01-15 00:00",
                    "2024-02-05 00:00",
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 12.0, 99.0],
        }
    )


def hand_customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "created_at": pd.to_datetime(
                [
                    "2023-12-01 00:00",
                    "2024-01-15 00:00",
                    "2024-01-01 00:00",
                    "2024-01-10 23:00",
                    "2024-02-10 00:00",
                ]
            ),
        }
    )


# c1: purchase days Jan 1 (10 + 5 = one purchase), Jan 8, Jan 22 -> 2 repeats spanning 21 days,
#     28 days from Jan 1 to as_of, repeat spend (20 + 40) / 2. c2: one purchase 14 days before.
#     c3: only a future order. c4: signed up Jan 10, never bought. c5: signs up after as_of.
HAND = {  # customer: (frequency, recency days, T days, monetary)
    "c1": (2, 21, 28, 30.0),
    "c2": (0, 0, 14, 0.0),
}
HAND_WITH_CUSTOMERS = {**HAND, "c3": (0, 0, 28, 0.0), "c4": (0, 0, 19, 0.0)}


def expected_summary(rows: dict, unit: float) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=["frequency", "recency", "T", "monetary_value"]
    )
    frame["recency"] /= unit
    frame["T"] /= unit
    frame.index.name = "customer_id"
    return frame.astype({"frequency": "int64", "recency": float, "T": float})


@pytest.mark.parametrize("unit", [7.0, 1.0], ids=["weeks", "days"])
@pytest.mark.parametrize("with_customers", [False, True], ids=["orders-only", "with-customers"])
def test_rfm_summary_hand_computed(unit, with_customers):
    customers = hand_customers() if with_customers else None
    got = rfm_summary(hand_orders(), AS_OF, customers=customers, time_unit_days=unit)
    want = expected_summary(HAND_WITH_CUSTOMERS if with_customers else HAND, unit)
    pd.testing.assert_frame_equal(got, want, check_index_type=False)
    assert got.attrs["time_unit_days"] == unit


def test_rfm_summary_ignores_orders_after_as_of():
    base = rfm_summary(hand_orders(), AS_OF)
    future = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c9"],
            "ordered_at": pd.to_datetime(
                ["2024-01-29 00:00:01", "2024-03-01 00:00:00", "2025-01-01 00:00:00"]
            ),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    later = rfm_summary(pd.concat([hand_orders(), future], ignore_index=True), AS_OF)
    pd.testing.assert_frame_equal(base, later)


def test_rfm_summary_as_of_time_of_day_cuts_orders_that_day():
    orders = hand_orders()
    assert rfm_summary(orders, "2024-01-22 08:00").loc["c1", "frequency"] == 2  # Jan 22 00:00 in
    later = orders["ordered_at"].where(orders["ordered_at"] != "2024-01-22", "2024-01-22 09:00")
    got = rfm_summary(orders.assign(ordered_at=later), "2024-01-22 08:00")
    assert got.loc["c1", "frequency"] == 1  # the Jan 22 order is now after as_of


def test_rfm_summary_timezone_aware_inputs_are_compared_in_utc():
    orders = hand_orders()
    orders["ordered_at"] = (
        orders["ordered_at"].dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    )
    got = rfm_summary(orders, pd.Timestamp(AS_OF, tz="UTC"))
    pd.testing.assert_frame_equal(got, rfm_summary(hand_orders(), AS_OF))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 60), st.floats(0, 100)), min_size=1, max_size=30
    ),
    st.integers(0, 60),
)
def test_rfm_summary_point_in_time_property(rows, as_of_day):
    start = pd.Timestamp("2024-01-01")
    orders = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "ordered_at": [start + pd.Timedelta(days=r[1]) for r in rows],
            "amount": [r[2] for r in rows],
        }
    )
    as_of = start + pd.Timedelta(days=as_of_day)
    past = orders[orders["ordered_at"] <= as_of]
    if past.empty:
        with pytest.raises(SmssegError, match="would be empty"):
            rfm_summary(orders, as_of)
        return
    got = rfm_summary(orders, as_of)
    pd.testing.assert_frame_equal(got, rfm_summary(past, as_of))
    assert (got["recency"] <= got["T"]).all() and (got["frequency"] >= 0).all()
    assert (got.loc[got["frequency"] == 0, "monetary_value"] == 0).all()
    assert got["frequency"].sum() == past.groupby("customer_id")[
        "ordered_at"
    ].nunique().sum() - len(got)


ORDER_ERRORS = {
    "missing-column": (lambda o: o.drop(columns="amount"), {}, r"missing column\(s\) \['amount'\]"),
    "negative-amount": (lambda o: o.assign(amount=-o["amount"]), {}, r"negative.*-10\.0"),
    "missing-timestamp": (
        lambda o: o.assign(ordered_at=o["ordered_at"].where(o.index != 2)),
        {},
        "1 missing timestamps",
    ),
    "bad-as-of": (lambda o: o, {"as_of": "not a date"}, "as_of='not a date' is not a date"),
    "no-as-of": (lambda o: o, {"as_of": None}, "as_of is required"),
    "zero-unit": (lambda o: o, {"time_unit_days": 0}, "time_unit_days=0 must be > 0"),
    "nothing-before-as-of": (lambda o: o, {"as_of": "2023-01-01"}, "would be empty"),
    "customers-without-created-at": (
        lambda o: o,
        {"customers": pd.DataFrame({"customer_id": [1]})},
        r"customers is missing column\(s\) \['created_at'\]",
    ),
}


@pytest.mark.parametrize(
    ("mutate", "kwargs", "match"), ORDER_ERRORS.values(), ids=list(ORDER_ERRORS)
)
def test_rfm_summary_rejects_bad_input(mutate, kwargs, match):
    args = {"as_of": AS_OF, **kwargs}
    with pytest.raises(SmssegError, match=match):
        rfm_summary(mutate(hand_orders()), **args)


def test_rfm_summary_has_no_default_as_of():
    with pytest.raises(TypeError, match="as_of"):
        rfm_summary(hand_orders())  # type: ignore[call-arg]


# ---------------------------------------------------------------------------- model inputs & API
SUMMARY_ERRORS = {
    "missing-column": (
        summary_frame([1], [1.0], [2.0]).drop(columns="T"),
        r"missing column\(s\) \['T'\]",
    ),
    "negative": (summary_frame([1], [-1.0], [2.0]), r"summary.recency has 1 .*negative"),
    "nan": (summary_frame([1], [1.0], [np.nan]), "summary.T has 1 missing"),
    "recency>T": (summary_frame([1], [3.0], [2.0]), r"recency > T .*recency=3\.0"),
    "fractional-frequency": (summary_frame([1.5], [1.0], [2.0]), r"not a whole number .*1\.5"),
    "x=0-with-recency": (summary_frame([0], [1.0], [2.0]), "frequency 0 but recency > 0"),
    "empty": (summary_frame([], [], []), "summary is empty"),
}


@pytest.mark.parametrize(("summary", "match"), SUMMARY_ERRORS.values(), ids=list(SUMMARY_ERRORS))
@pytest.mark.parametrize("action", ["fit", "predict"])
def test_models_reject_bad_summaries(summary, match, action):
    with pytest.raises(SmssegError, match=match):
        if action == "fit":
            BetaGeoModel().fit(summary)
        else:
            BetaGeoModel.from_params(**FHL_2005).p_alive(summary)


UNFITTED_CALLS = {
    "p_alive": lambda m, s: m.p_alive(s),
    "expected_purchases": lambda m, s: m.expected_purchases(4, s),
    "prob_no_purchase": lambda m, s: m.prob_no_purchase(4, s),
    "unconditional": lambda m, s: m.expected_purchases_unconditional(4),
    "log_likelihood": lambda m, s: m.log_likelihood(s),
    "gamma-gamma": lambda m, s: GammaGammaModel().conditional_expected_average_profit(s),
}


@pytest.mark.parametrize("call", UNFITTED_CALLS.values(), ids=list(UNFITTED_CALLS))
def test_unfitted_models_raise_not_fitted(call):
    with pytest.raises(NotFittedError):
        call(BetaGeoModel(), summary_frame([1], [1.0], [2.0], [5.0]))


BAD_ARGUMENTS = {
    "negative-t": (lambda m, g, s: m.expected_purchases(-1, s), r"t=-1 must be"),
    "negative-t-no-purchase": (lambda m, g, s: m.prob_no_purchase(-1, s), r"t=-1 must be"),
    "negative-penalizer": (
        lambda m, g, s: BetaGeoModel(penalizer=-1).fit(s),
        "penalizer=-1 must be >= 0",
    ),
    "tiny-max-customers": (lambda m, g, s: BetaGeoModel(max_customers=5).fit(s), "max_customers=5"),
    "zero-horizon": (
        lambda m, g, s: g.customer_lifetime_value(m, s, 0),
        "horizon_days=0 must be > 0",
    ),
    "negative-discount": (
        lambda m, g, s: g.customer_lifetime_value(m, s, 90, -0.1),
        r"discount_rate_annual=-0.1 must be >= 0",
    ),
    "unknown-unit": (lambda m, g, s: btyd_features(m, s, 90), r"time_unit_days=None: pass"),
    "bad-param": (lambda m, g, s: BetaGeoModel.from_params(0.2, -1, 1, 1), "alpha=-1 must be"),
    "gg-no-repeaters": (
        lambda m, g, s: GammaGammaModel().fit(s.assign(frequency=0, recency=0.0)),
        "needs at least 2 customers with frequency > 0",
    ),
    "gg-no-monetary": (
        lambda m, g, s: g.conditional_expected_average_profit(s.drop(columns="monetary_value")),
        r"missing column\(s\) \['monetary_value'\]",
    ),
    "gg-infinite-mean": (
        lambda m, g, s: GammaGammaModel.from_params(6, 0.9, 15).conditional_expected_average_profit(
            s
        ),
        "q=0.9 must be > 1",
    ),
}


@pytest.mark.parametrize("call, match", BAD_ARGUMENTS.values(), ids=list(BAD_ARGUMENTS))
def test_bad_arguments_raise_clear_errors(cdnow, call, match):
    bg, gg = BetaGeoModel.from_params(**FHL_2005), GammaGammaModel.from_params(**GG_PUBLISHED)
    with pytest.raises(SmssegError, match=match):
        call(bg, gg, cdnow)


def test_unit_mismatch_between_fit_and_predict_is_an_error():
    summary = rfm_summary(hand_orders(), AS_OF, time_unit_days=7)
    model = BetaGeoModel.from_params(**FHL_2005, time_unit_days=1.0)
    with pytest.raises(SmssegError, match="time_unit_days=7.0 differs from the model's 1.0"):
        model.p_alive(summary)


def test_gamma_gamma_skips_zero_spend_repeaters_with_a_warning(cdnow, cdnow_gg):
    zeroed = cdnow.copy()
    zeroed.loc[zeroed.index[:1], "monetary_value"] = 0.0  # customer 1 is a repeat buyer
    with pytest.warns(UserWarning, match="1 repeat customers have monetary_value 0"):
        model = GammaGammaModel().fit(zeroed)
    assert model.params_ != cdnow_gg.params_


def test_estimators_follow_the_sklearn_contract(cdnow):
    model = BetaGeoModel(penalizer=0.01, max_customers=1000, random_state=1)
    assert model.get_params() == {
        "penalizer": 0.01,
        "max_customers": 1000,
        "random_state": 1,
        "n_starts": 3,
    }
    assert not hasattr(model, "params_")
    assert model.fit(cdnow) is model
    assert not hasattr(clone(model), "params_")
    restored = BetaGeoModel.from_params(**json.loads(json.dumps(model.params_)))
    pd.testing.assert_series_equal(restored.p_alive(cdnow), model.p_alive(cdnow))


def test_outputs_keep_the_summary_index(cdnow_bg, cdnow):
    for series in (cdnow_bg.p_alive(cdnow), cdnow_bg.expected_purchases(13, cdnow)):
        assert series.index.equals(cdnow.index)
        assert series.notna().all()


# ---------------------------------------------------------------------------- CLV & features
def test_clv_is_purchases_times_average_value_without_discount(cdnow_bg, cdnow_gg, cdnow):
    clv = cdnow_gg.customer_lifetime_value(cdnow_bg, cdnow, horizon_days=91, time_unit_days=7)
    want = cdnow_bg.expected_purchases(13, cdnow) * cdnow_gg.conditional_expected_average_profit(
        cdnow
    )
    np.testing.assert_allclose(clv.to_numpy(), want.to_numpy(), rtol=1e-12)


def test_clv_discounting(cdnow_bg, cdnow_gg, cdnow):
    def clv(days, rate):
        return cdnow_gg.customer_lifetime_value(cdnow_bg, cdnow, days, rate, time_unit_days=7)

    one_step = clv(30, 0.1)  # a single 30-day step: discounted by (1.1)^(-30/365.25) exactly
    np.testing.assert_allclose(one_step, clv(30, 0.0) * 1.1 ** (-30 / 365.25), rtol=1e-12)
    year = clv(365, 0.1)
    assert (year < clv(365, 0.0)).all() and (year > clv(365, 0.0) / 1.1).all()
    assert (clv(730, 0.1) > year).all()


def test_btyd_features_names_values_and_units(cdnow_bg, cdnow_gg, cdnow):
    features = btyd_features(
        cdnow_bg, cdnow, horizon_days=91, gamma_gamma=cdnow_gg, time_unit_days=7
    )
    assert tuple(features.columns) == FEATURE_COLUMNS
    np.testing.assert_allclose(
        features["btyd_expected_purchases"], cdnow_bg.expected_purchases(13, cdnow)
    )
    np.testing.assert_allclose(
        features["btyd_prob_no_purchase"], cdnow_bg.prob_no_purchase(13, cdnow)
    )
    assert features.attrs["horizon_days"] == 91
    days = rfm_summary(hand_orders(), AS_OF, time_unit_days=1.0)
    model = BetaGeoModel.from_params(**FHL_2005)  # unit taken from the summary's attrs
    got = btyd_features(model, days, horizon_days=30)
    np.testing.assert_allclose(got["btyd_expected_purchases"], model.expected_purchases(30, days))
    assert list(got.columns) == list(FEATURE_COLUMNS[:3])


@pytest.mark.parametrize(
    ("success", "gradient", "expected"),
    [
        (True, [2e-5, 1e-9], True),  # scipy's verdict stands on a nearly flat ridge
        (False, [1.2e-9, -2.4e-9], True),  # line search stalled at the optimum (seen at 1M rows)
        (False, [3e-3, 1e-9], False),  # stopped on a slope: not a maximum
        (True, [0.98, 1e-9], False),  # "success" on a slope (seen on Gamma-Gamma, spend ~1e4)
        (False, [np.nan, 0.0], False),
    ],
    ids=[
        "success",
        "stalled-at-optimum",
        "stopped-on-a-slope",
        "success-on-a-slope",
        "nan-gradient",
    ],
)
def test_convergence_means_a_vanishing_gradient(success, gradient, expected):
    result = OptimizeResult(success=success, jac=np.array(gradient), message="ABNORMAL: ")
    assert converged(result) is expected
