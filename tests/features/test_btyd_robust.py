"""BTYD fits that converge: several starts, a fallback optimiser, a penalty, diagnostics."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import OptimizeResult
from sklearn.exceptions import ConvergenceWarning

from smsseg.data import load_frames
from smsseg.errors import SmssegError
from smsseg.features._query import make_context
from smsseg.features.btyd import BetaGeoModel, FitDiagnostics, GammaGammaModel, _fitting
from smsseg.features.btyd._fitting import _starts
from smsseg.features.lifetime import btyd_frame
from tests.features.histories import random_tables
from tests.features.test_btyd import FHL_2005, FIXTURE, GG_PUBLISHED, simulate_bgnbd

# A cohort that (almost) never drops out: a ~ Beta(0.05, 20), mean dropout 0.25 %. The likelihood
# keeps rising along a ridge towards a, b -> infinity; a plain single-start L-BFGS-B fit stops on
# it without converging (the shape of most "BG/NBD does not converge" reports).
RIDGE = dict(r=0.8, alpha=5.0, a=0.05, b=20.0)

# Keys of FitDiagnostics.to_dict() for both models (BG/NBD adds the two P(alive) fields).
COMMON_KEYS = {
    "model",
    "converged",
    "optimizer",
    "n_starts",
    "best_start",
    "n_iter",
    "gradient_max_abs",
    "log_likelihood",
    "penalizer",
    "fallback_penalty",
    "n_rows",
    "n_distinct_rows",
    "at_bounds",
    "flags",
    "messages",
}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(FIXTURE, index_col="ID")
    return raw.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def ridge() -> pd.DataFrame:
    return simulate_bgnbd(2000, **RIDGE, T_max=52, horizon=26, seed=0)


def spend_cohort(n, p, q, v, *, mean_x, seed) -> pd.DataFrame:
    """Gamma-Gamma's story: x orders of mean m, each order ~ Gamma(p, nu), nu ~ Gamma(q, v)."""
    rng = np.random.default_rng(seed)
    x = 1 + rng.poisson(rng.gamma(2.0, mean_x / 2, n))
    nu = rng.gamma(q, 1 / v, n)
    m = rng.gamma(p * x, 1 / (nu * x))
    return pd.DataFrame({"frequency": x, "recency": 1.0, "T": 2.0, "monetary_value": m})


def fit_quietly(model, summary):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(summary)


def assert_json_ready(value):
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        for item in value.values():
            assert_json_ready(item)
    elif isinstance(value, list):
        for item in value:
            assert_json_ready(item)
    else:
        assert type(value) in (bool, int, float, str), (value, type(value))


def assert_finite_model(model, summary):
    assert all(np.isfinite(v) and v > 0 for v in model.params_.values())
    if isinstance(model, BetaGeoModel):
        for values in (model.p_alive(summary), model.expected_purchases(13, summary)):
            assert np.isfinite(values.to_numpy()).all()


# ---------------------------------------------------------------------------- clean fits
def test_clean_fit_has_no_warnings_and_clean_diagnostics(cdnow):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bg, gg = BetaGeoModel().fit(cdnow), GammaGammaModel().fit(cdnow)
    for model, published in ((bg, FHL_2005), (gg, GG_PUBLISHED)):
        d = model.diagnostics_
        assert d.converged and d.optimizer == "L-BFGS-B"
        assert d.flags == () and d.messages == () and d.at_bounds == ()
        assert d.fallback_penalty == 0.0 and d.gradient_max_abs <= 1e-4
        assert d.log_likelihood == model.log_likelihood_
        for name, value in published.items():
            assert model.params_[name] == pytest.approx(value, rel=0.01)
    assert (bg.diagnostics_.n_rows, bg.diagnostics_.n_distinct_rows) == (2357, 1016)
    assert bg.diagnostics_.n_starts == 2  # both deterministic starts agreed: no jitter needed
    assert 0.1 < bg.diagnostics_.p_alive_p10 < 0.5 and bg.diagnostics_.p_alive_spread > 0.3


def test_diagnostics_to_dict_is_json_ready(cdnow):
    bg = BetaGeoModel().fit(cdnow)
    gg = GammaGammaModel().fit(cdnow)
    bg_dict, gg_dict = bg.diagnostics_.to_dict(), gg.diagnostics_.to_dict()
    assert set(bg_dict) == COMMON_KEYS | {"p_alive_p10", "p_alive_spread"}
    assert set(gg_dict) == COMMON_KEYS  # the P(alive) fields do not apply
    for d in (bg_dict, gg_dict):
        assert_json_ready(d)
        assert json.loads(json.dumps(d)) == d
    assert isinstance(bg.diagnostics_, FitDiagnostics)


# ---------------------------------------------------------------------------- degenerate data
DEGENERATE = {
    "all-frequency-0": (
        pd.DataFrame({"frequency": 0, "recency": 0.0, "T": np.linspace(1, 40, 50)}),
        {"no_repeat_purchases", "fallback_penalty"},
    ),
    "one-customer": (
        pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [4.0]}),
        {"no_repeat_purchases", "one_distinct_history", "too_few_customers", "fallback_penalty"},
    ),
    "one-repeat-customer": (
        pd.DataFrame({"frequency": [2], "recency": [3.0], "T": [4.0]}),
        {"one_distinct_history", "too_few_customers", "fallback_penalty", "p_alive_constant"},
    ),
    "identical-rows": (
        pd.DataFrame({"frequency": [3] * 100, "recency": [10.0] * 100, "T": [20.0] * 100}),
        {"one_distinct_history", "fallback_penalty", "p_alive_constant"},
    ),
    # every repeat customer bought on their last day: nobody looks dead, a -> 0, P(alive) -> 1
    "nobody-looks-dead": (
        pd.DataFrame({"frequency": np.arange(1, 101), "recency": 20.0, "T": 20.0}),
        {"unpenalized_at_bounds", "fallback_penalty", "p_alive_constant"},
    ),
}


@pytest.mark.parametrize(("summary", "flags"), DEGENERATE.values(), ids=list(DEGENERATE))
def test_degenerate_summaries_give_a_finite_model_with_flags(summary, flags):
    with pytest.warns(UserWarning) as record:
        model = BetaGeoModel().fit(summary)
    d = model.diagnostics_
    assert flags <= set(d.flags), d.flags
    assert d.converged and d.at_bounds == ()
    assert d.fallback_penalty > 0
    assert d.n_rows == len(summary) and d.n_distinct_rows == len(summary.drop_duplicates())
    assert_finite_model(model, summary)
    warned = " ".join(str(w.message) for w in record if w.category is UserWarning)
    assert all(message in warned for message in d.messages)


def test_no_repeat_purchases_means_p_alive_one_for_everyone():
    summary = DEGENERATE["all-frequency-0"][0]
    model = fit_quietly(BetaGeoModel(), summary)
    assert (model.p_alive(summary) == 1).all()
    assert model.diagnostics_.p_alive_p10 == 1.0 and model.diagnostics_.p_alive_spread == 0.0
    # a, b have no information: the penalty holds them at the data-scaled start (a = 1, b = 3)
    assert model.a_ == pytest.approx(1.0, rel=1e-4) and model.b_ == pytest.approx(3.0, rel=1e-4)


def test_p_alive_one_for_everyone_is_flagged():
    summary = DEGENERATE["nobody-looks-dead"][0]
    model = fit_quietly(BetaGeoModel(), summary)
    d = model.diagnostics_
    assert d.p_alive_p10 > 0.99 and d.p_alive_spread < 0.01
    assert any("P(alive) is ~1 for every customer" in m for m in d.messages)
    assert model.a_ > np.exp(-10)  # the penalty stopped a short of the bound (2e-9)


def test_gamma_gamma_degenerate_spend_is_flagged():
    # a fixed-price product: every order 25. The likelihood is unbounded (a point mass: p, q ->
    # infinity), beyond what the penalty can hold; the fit says so and the model still answers 25
    same = pd.DataFrame({"frequency": [1, 2, 3] * 20, "recency": 1.0, "T": 2.0})
    with (
        pytest.warns(ConvergenceWarning, match="did not converge"),
        pytest.warns(UserWarning, match="same monetary_value"),
    ):
        model = GammaGammaModel().fit(same.assign(monetary_value=25.0))
    d = model.diagnostics_
    assert {"no_spend_spread", "fallback_penalty", "at_bounds"} <= set(d.flags)
    assert set(d.at_bounds) == {"p", "q"}
    assert_finite_model(model, same)
    value = model.conditional_expected_average_profit(same.assign(monetary_value=25.0))
    np.testing.assert_allclose(value, 25.0, rtol=1e-6)
    with pytest.warns(UserWarning, match="2 customers for 3 parameters"):
        small = GammaGammaModel().fit(same.head(2).assign(monetary_value=[10.0, 30.0]))
    assert "too_few_customers" in small.diagnostics_.flags
    assert_finite_model(small, same)


# ---------------------------------------------------------------------------- hard cohorts
def test_single_start_failure_is_repaired_and_reported(ridge):
    with pytest.warns(UserWarning, match="unpenalised fit did not converge"):
        model = BetaGeoModel(n_starts=1).fit(ridge)
    d = model.diagnostics_
    assert {"unpenalized_not_converged", "fallback_penalty"} <= set(d.flags)
    assert d.converged and d.at_bounds == ()
    assert_finite_model(model, ridge)
    # the penalised fit still predicts who is alive: as calibrated as the true parameters
    truth = ridge["alive"].to_numpy(dtype=float)
    fitted = model.p_alive(ridge).to_numpy()
    true_model = BetaGeoModel.from_params(**RIDGE).p_alive(ridge).to_numpy()
    assert abs(fitted.mean() - truth.mean()) < abs(true_model.mean() - truth.mean()) + 0.01


def test_multi_start_runs_the_jitter_when_the_first_starts_disagree():
    cohort = simulate_bgnbd(300, **RIDGE, T_max=52, horizon=26, seed=0)
    single = fit_quietly(BetaGeoModel(n_starts=1), cohort)
    multi = fit_quietly(BetaGeoModel(n_starts=3), cohort)
    assert multi.diagnostics_.n_starts == 3 and multi.diagnostics_.best_start == 2
    assert multi.diagnostics_.converged and multi.diagnostics_.flags == ()
    # the single start needed the penalty; the jittered start found the unpenalised optimum
    assert "fallback_penalty" in single.diagnostics_.flags
    assert multi.log_likelihood_ > single.log_likelihood_


@pytest.mark.parametrize(
    "case", ["cdnow-bgnbd", "cdnow-gamma-gamma", "simulated-bgnbd", "large-spend-gamma-gamma"]
)
def test_multi_start_log_likelihood_at_least_single_start(cdnow, case):
    summary = {
        "cdnow-bgnbd": cdnow,
        "cdnow-gamma-gamma": cdnow,
        "simulated-bgnbd": simulate_bgnbd(
            2000, r=0.8, alpha=5, a=0.9, b=3, T_max=52, horizon=26, seed=3
        ),
        "large-spend-gamma-gamma": spend_cohort(1000, 6.0, 7.0, 1.5e6, mean_x=100, seed=0),
    }[case]
    cls = GammaGammaModel if "gamma" in case else BetaGeoModel
    single = fit_quietly(cls(n_starts=1), summary)
    multi = fit_quietly(cls(n_starts=4), summary)
    assert single.diagnostics_.fallback_penalty == multi.diagnostics_.fallback_penalty == 0.0
    assert multi.log_likelihood_ >= single.log_likelihood_ - 1e-9 * abs(single.log_likelihood_)


def test_large_spend_single_start_needs_the_fallback_optimizer():
    # spend in the millions: from all-zero log-parameters L-BFGS-B stops far from the optimum
    # (p ~ 3000); the data-scaled start gets there directly
    cohort = spend_cohort(1000, 6.0, 7.0, 1.5e6, mean_x=100, seed=0)
    with pytest.warns(UserWarning, match="Nelder-Mead took over"):
        single = GammaGammaModel(n_starts=1).fit(cohort)
    assert single.diagnostics_.converged and "fallback_optimizer" in single.diagnostics_.flags
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        multi = GammaGammaModel().fit(cohort)
    assert multi.diagnostics_.optimizer == "L-BFGS-B" and multi.diagnostics_.best_start > 0
    for name in ("p", "q", "v"):
        assert single.params_[name] == pytest.approx(multi.params_[name], rel=1e-4)


def test_same_random_state_same_fit():
    cohort = simulate_bgnbd(300, **RIDGE, T_max=52, horizon=26, seed=0)
    first = fit_quietly(BetaGeoModel(random_state=5), cohort)
    again = fit_quietly(BetaGeoModel(random_state=5), cohort)
    assert first.params_ == again.params_
    assert first.diagnostics_ == again.diagnostics_
    start = np.log([1.0, 5.0, 1.0, 3.0])
    assert np.array_equal(np.stack(_starts(start, 4, 5, 1)), np.stack(_starts(start, 4, 5, 1)))
    assert not np.array_equal(np.stack(_starts(start, 4, 5, 1)), np.stack(_starts(start, 4, 5, 2)))
    assert np.array_equal(_starts(start, 4, 1, 1)[0], np.zeros(4))  # n_starts=1: the plain fit


def test_n_starts_must_be_a_positive_int(cdnow):
    with pytest.raises(SmssegError, match="n_starts=0 must be an int >= 1"):
        BetaGeoModel(n_starts=0).fit(cdnow)


# ---------------------------------------------------------------------------- fallback optimiser
def failing_lbfgsb(monkeypatch, fail_nelder_mead=False):
    """Make every L-BFGS-B run (and optionally Nelder-Mead) stop where it started, unconverged."""
    real = _fitting.minimize

    def fake(fun, x0, *args, method=None, **kwargs):
        if method == "L-BFGS-B" or fail_nelder_mead:
            x0 = np.asarray(x0, dtype=float)
            value = fun(x0)[0] if method == "L-BFGS-B" else fun(x0)
            return OptimizeResult(
                x=x0, fun=value, jac=np.ones_like(x0), success=False, nit=0, message="forced"
            )
        return real(fun, x0, *args, method=method, **kwargs)

    monkeypatch.setattr(_fitting, "minimize", fake)


@pytest.mark.parametrize("cls", [BetaGeoModel, GammaGammaModel], ids=["bgnbd", "gamma-gamma"])
def test_fallback_optimizer_when_lbfgsb_fails(monkeypatch, cdnow, cls):
    failing_lbfgsb(monkeypatch)
    with pytest.warns(UserWarning, match="L-BFGS-B stopped short of a stationary point"):
        model = cls().fit(cdnow)
    d = model.diagnostics_
    assert d.optimizer == "Nelder-Mead" and "fallback_optimizer" in d.flags
    assert d.converged and d.gradient_max_abs <= _fitting.GRADIENT_TOLERANCE
    assert d.fallback_penalty == 0.0
    published = FHL_2005 if cls is BetaGeoModel else GG_PUBLISHED
    for name, value in published.items():
        assert model.params_[name] == pytest.approx(value, rel=0.01)


def test_when_every_optimizer_fails_the_best_point_is_kept_and_reported(monkeypatch, cdnow):
    failing_lbfgsb(monkeypatch, fail_nelder_mead=True)
    with (
        pytest.warns(ConvergenceWarning, match="did not converge"),
        pytest.warns(UserWarning, match="unpenalised fit did not converge"),
    ):
        model = BetaGeoModel().fit(cdnow)
    d = model.diagnostics_
    assert not d.converged and not model.converged_
    assert {"unpenalized_not_converged", "fallback_penalty", "not_converged"} <= set(d.flags)
    assert_finite_model(model, cdnow)
    assert d.log_likelihood == model.log_likelihood_ < -9582.4  # the best start, not the optimum


# ---------------------------------------------------------------------------- btyd_frame
AS_OF = "2025-03-01 12:00"


def test_btyd_frame_attrs_carry_the_diagnostics():
    data = load_frames(random_tables(seed=5, n_customers=60))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with make_context(data, AS_OF, 60) as ctx:
            frame = btyd_frame(ctx)
    diagnostics = frame.attrs["btyd_diagnostics"]
    assert set(diagnostics) == {"fit_sample", "bgnbd", "gamma_gamma"}
    assert diagnostics["fit_sample"] == 60
    bg = diagnostics["bgnbd"]
    assert bg["fitted"] is True and set(bg) == COMMON_KEYS | {
        "p_alive_p10",
        "p_alive_spread",
        "fitted",
    }
    assert (
        bg["model"] == "BetaGeoModel" and diagnostics["gamma_gamma"]["model"] == "GammaGammaModel"
    )
    assert_json_ready(diagnostics)
    assert json.loads(json.dumps(diagnostics)) == diagnostics
    assert frame["btyd_p_alive"].notna().all()


def test_btyd_frame_attrs_say_why_a_model_was_not_fitted():
    tables = {
        "customers": pd.DataFrame({"customer_id": ["a"], "created_at": ["2025-01-01"]}),
        "orders": pd.DataFrame(
            {"order_id": ["o"], "customer_id": ["a"], "ordered_at": ["2025-01-02"], "amount": [5.0]}
        ),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with make_context(load_frames(tables), "2025-02-01", 30) as ctx:
            frame = btyd_frame(ctx)
    diagnostics = frame.attrs["btyd_diagnostics"]
    assert diagnostics["bgnbd"]["fitted"] is True  # one customer: penalised, but fitted
    assert "one_distinct_history" in diagnostics["bgnbd"]["flags"]
    gamma = diagnostics["gamma_gamma"]
    assert gamma["fitted"] is False and "needs at least 2 customers" in gamma["error"]
    assert_json_ready(diagnostics)
