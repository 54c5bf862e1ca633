"""Backtests on real data (a CDNOW subset): nothing after T is used; champion/challenger; CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.models  # noqa: F401  (registers backtest)
from smsseg.cli.app import app
from smsseg.data.load import load, truncate
from smsseg.datasets import write_cdnow
from smsseg.errors import SmssegError
from smsseg.models.backtest import run_backtest
from smsseg.models.champion import ChurnScorer, bgnbd_statistic, choose_champion, fit_bgnbd_scorer
from smsseg.models.metrics import compare_scores
from smsseg.models.scoring import add_reasons, build_scoring_features, predict_scores
from smsseg.models.train import TrainSettings, split_by_plan, train_models

pytestmark = pytest.mark.xdist_group("models-cdnow")

AS_OF, HORIZON = "1997-09-30", 91
FAST = {"n_estimators": 40, "learning_rate": 0.15}


def _settings(**overrides) -> TrainSettings:
    return TrainSettings(n_jobs=1, n_snapshots=4, churn_params=overrides or FAST)


@pytest.fixture(scope="module")
def cdnow_dir(tmp_path_factory):
    return write_cdnow(tmp_path_factory.mktemp("cdnow") / "data", customers=2500, seed=3)


@pytest.fixture(scope="module")
def with_future(cdnow_dir, tmp_path_factory):
    """The same data plus rows dated after AS_OF that would change any model that saw them."""
    out = tmp_path_factory.mktemp("cdnow_future") / "data"
    out.mkdir()
    customers = pd.read_parquet(cdnow_dir / "customers.parquet")
    orders = pd.read_parquet(cdnow_dir / "orders.parquet")
    items = pd.read_parquet(cdnow_dir / "order_items.parquet")
    after = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    # every customer with a single order so far buys big right after T; new customers join
    once = orders.groupby("customer_id")["order_id"].transform("size") == 1
    extra = orders[once].copy()
    extra["order_id"] = extra["order_id"] + "-future"
    extra["ordered_at"] = (after + pd.Timedelta(hours=12)).as_unit("us")
    extra["amount"] = 999.0
    new = pd.DataFrame({"customer_id": [f"N{i:05d}" for i in range(300)]})
    new["created_at"] = after.as_unit("us")
    new_orders = pd.DataFrame(
        {
            "order_id": new["customer_id"] + "-0",
            "customer_id": new["customer_id"],
            "ordered_at": new["created_at"],
            "amount": 10.0,
            "status": "completed",
        }
    )
    lines = pd.concat([extra, new_orders])[["order_id"]].assign(
        product_id="cd", category="music", quantity=1, unit_price=1.0
    )
    pd.concat([customers, new]).to_parquet(out / "customers.parquet", index=False)
    pd.concat([orders, extra, new_orders]).to_parquet(out / "orders.parquet", index=False)
    pd.concat([items, lines]).to_parquet(out / "order_items.parquet", index=False)
    return out


def _backtest(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return run_backtest(load(path), AS_OF, HORIZON, _settings(**kw))


def test_backtest_uses_nothing_after_t(cdnow_dir, with_future):
    plain, future = _backtest(cdnow_dir), _backtest(with_future)
    # the future rows changed what really happened ...
    assert not np.array_equal(plain.rows["churn"], future.rows["churn"][: len(plain.rows)])
    # ... but not a bit of the models, the test report or the scores as of T
    assert plain.train.bundle.churn.booster_.model_to_string() == (
        future.train.bundle.churn.booster_.model_to_string()
    )
    pd.testing.assert_frame_equal(plain.train.churn_table, future.train.churn_table)
    for column in ("customer_id", "smsseg", "bgnbd", "recency_rule"):
        np.testing.assert_array_equal(plain.rows[column], future.rows[column])
    assert plain.reported == future.reported


def test_the_future_rows_would_change_a_model_that_saw_them(cdnow_dir, with_future):
    later = pd.Timestamp(AS_OF) + pd.Timedelta(days=HORIZON)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = train_models(load(cdnow_dir), later, _settings())
        b = train_models(load(with_future), later, _settings())
    assert a.bundle.churn.booster_.model_to_string() != b.bundle.churn.booster_.model_to_string()


def test_truncate_keeps_only_rows_up_to_t(with_future):
    data = load(with_future)
    past = truncate(data, AS_OF)
    limit = pd.Timestamp(AS_OF)
    assert past.con.execute("SELECT MAX(ordered_at) FROM orders").fetchall()[0][0] <= limit
    assert past.con.execute("SELECT MAX(created_at) FROM customers").fetchall()[0][0] <= limit
    n_items = past.con.execute(
        "SELECT COUNT(*) FROM order_items WHERE order_id NOT IN (SELECT order_id FROM orders)"
    ).fetchall()[0][0]
    assert n_items == 0
    assert past.present.keys() == data.present.keys()
    assert not past.has_column("orders", "discount_amount")  # supplied columns only


def test_backtest_reports_every_population_and_the_realized_label(cdnow_dir):
    result = _backtest(cdnow_dir)
    assert result.headline == "buyers" and result.tables["prospects"] is None
    buyers = result.tables["buyers"]
    assert list(buyers.index) == [
        "smsseg",
        "bgnbd",
        "recency_rule",
        "candidate_model",
        "candidate_blend",
        "candidate_bgnbd",
    ]
    # the deployed score is the champion candidate, re-anchored to BG/NBD or not: same ranking
    champion = result.rows[f"candidate_{result.train.champion}"].to_numpy()
    scorer = ChurnScorer.from_dict(result.train.bundle.meta["churn_scorer"])
    expected = champion if scorer.calibration == "trained" else scorer.anchor(champion)
    np.testing.assert_allclose(result.rows["smsseg"], expected)
    # a strict out-of-time test judges the calibration: the anchor's level is never averaged
    assert scorer.anchor_level == {}
    assert (buyers["n"] == len(result.rows)).all()
    summary = result.summary()
    assert summary["validation"] == "out_of_time" and np.isfinite(summary["reported_auc"])
    # the forecast is the test AUC moved by the expected-AUC shift from the test snapshot to T
    forecast = result.train.bundle.meta["metrics"]["churn_forecast"]
    assert summary["test_auc"] == pytest.approx(forecast["test_roc_auc"])
    shift = forecast["expected_roc_auc_as_of"] - forecast["expected_roc_auc_test"]
    assert summary["reported_auc"] == pytest.approx(summary["test_auc"] + shift)
    expected = compare_scores(result.rows["churn"], {"smsseg": result.rows["smsseg"]})
    assert summary["smsseg.roc_auc"] == pytest.approx(expected.loc["smsseg", "roc_auc"])


def test_champion_rule_keeps_the_baseline_when_the_model_is_worse():
    table = pd.DataFrame({"roc_auc": [0.70, 0.72, 0.74]}, index=["model", "blend", "bgnbd"])
    assert choose_champion(table)[0] == "bgnbd"
    tie = pd.DataFrame({"roc_auc": [0.74, 0.74, 0.74]}, index=["model", "blend", "bgnbd"])
    assert choose_champion(tie)[0] == "bgnbd"  # the model must beat it, not match it
    better = pd.DataFrame({"roc_auc": [0.76, 0.75, 0.74]}, index=["model", "blend", "bgnbd"])
    assert choose_champion(better)[0] == "model"
    assert choose_champion(None)[0] == "bgnbd"


def test_a_model_that_cannot_learn_loses_to_bgnbd_and_bgnbd_scores(cdnow_dir):
    # no leaf can hold enough rows, so the booster is a constant: it cannot beat BG/NBD
    data = load(cdnow_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = train_models(data, AS_OF, _settings(min_child_samples=10**9, n_estimators=5))
        features = build_scoring_features(data, AS_OF, result.bundle)
    assert result.champion == "bgnbd"
    assert "does not beat calibrated BG/NBD" in result.champion_reason
    assert result.bundle.meta["scorers"]["churn"] == "bgnbd"
    scores = predict_scores(features, result.bundle, AS_OF, has_discounts=False)
    assert (scores["churn_scorer"] == "bgnbd").all()
    scorer = ChurnScorer.from_dict(result.bundle.meta["churn_scorer"])
    statistic = bgnbd_statistic(features, scorer.bgnbd_statistic)
    calibrated = scorer.bgnbd_calibrator(statistic)
    if scorer.calibration == "bgnbd_anchor":  # every CDNOW customer is a buyer
        calibrated = scorer.anchor(calibrated)
    np.testing.assert_allclose(scores["churn_probability"], calibrated)
    assert any("churn_probability is the bgnbd scorer" in n for n in scores.attrs["notes"])
    # the reasons explain BG/NBD's score, whose one input is its column, not the unused model's
    explained = add_reasons(scores, features, result.bundle, bands=("medium", "high"))
    reasons = explained["reasons"].dropna()
    assert len(reasons) > 100
    assert reasons.str.fullmatch(rf"{scorer.bgnbd_column}=[0-9.e-]+ \(\+[0-9.]+\)").all()


def test_backtest_refuses_a_window_past_the_data(cdnow_dir):
    with pytest.raises(SmssegError, match="realized window would be cut short"):
        run_backtest(load(cdnow_dir), "1998-06-01", 91, _settings())


def test_backtest_cli_writes_the_folder_and_refuses_bad_input(cdnow_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "bt"
    args = ["backtest", "--data", str(cdnow_dir), "--horizon-days", str(HORIZON), "--threads", "1"]
    result = runner.invoke(
        app, [*args, "--as-of", AS_OF, "--snapshots", "4", "--out", str(out), "--no-mlflow"]
    )
    assert result.exit_code == 0, result.output
    assert "Realized churn" in result.output and "reported by train" in result.output
    assert {p.name for p in out.iterdir()} == {
        "backtest.json",
        "backtest_predictions.parquet",
        "calibration.png",
    }
    report = json.loads((out / "backtest.json").read_text())
    assert set(report["tables"]) == {"buyers", "prospects", "all"}
    bad = tmp_path / "bad"
    result = runner.invoke(app, [*args, "--as-of", "1998-06-01", "--out", str(bad), "--no-mlflow"])
    assert result.exit_code == 1 and "cut short" in result.output and not bad.exists()


def test_early_snapshots_are_skipped_and_short_histories_still_train(cdnow_dir):
    # six months of history: the default 12 snapshots reach back before the first order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = train_models(
            load(cdnow_dir), "1997-06-30", TrainSettings(n_jobs=1, churn_params=FAST)
        )
    plan = result.plan
    assert plan.kind == "customer_disjoint" and min(plan.production) >= pd.Timestamp("1997-01-16")
    assert any("skipped" in note for note in result.notes)
    assert any("customer-disjoint" in note for note in result.notes)
    assert result.churn_table is not None and result.bundle.churn is not None
    # no strict test: the anchor's level is the average of BG/NBD's and the trained map's, and
    # the buyers' scores at the as-of date have that mean
    scorer = ChurnScorer.from_dict(result.bundle.meta["churn_scorer"])
    assert scorer.calibration == "bgnbd_anchor"
    level = scorer.anchor_level
    assert level["target"] == pytest.approx((level["bgnbd"] + level["trained"]) / 2)
    assert abs(level["bgnbd"] - level["trained"]) > 1e-3  # the case is not trivial
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        features = build_scoring_features(load(cdnow_dir), "1997-06-30", result.bundle)
    scores = predict_scores(features, result.bundle, "1997-06-30", has_discounts=False)
    buyers = features["frequency"].to_numpy() > 0
    assert scores["churn_probability"].to_numpy()[buyers].mean() == pytest.approx(
        level["target"], abs=1e-6
    )
    assert any("average of BG/NBD's" in note for note in result.notes)
    # the held-out customers are never in the validation model's rows
    frame = result.snapshots
    masks = split_by_plan(frame, plan, result.settings.test_share, result.settings.seed)
    tested = set(result.churn_test["customer_id"])
    assert tested == set(frame.index[masks["test"]].astype(str))
    trained_on = set(frame.index[masks["validation"]].astype(str))
    assert tested and trained_on and not tested & trained_on


def test_truncate_dates_snapshot_columns_by_the_full_export(dataset):
    # the simulator's loyalty and products tables describe the end of the data; a copy cut
    # earlier must still date them there, not at its own (earlier) last row
    from smsseg.data.contract import export_time_sql

    exported = dataset.con.execute(f"SELECT {export_time_sql()}").fetchall()[0][0]
    past = truncate(dataset, "2025-06-30")
    for table in ("loyalty", "products"):
        stamps = past.con.execute(f"SELECT DISTINCT snapshot_at FROM {table}").fetchall()
        assert stamps == [(exported,)] or all(s[0] >= exported for s in stamps)
    # a stage run on the cut copy sees exactly what it sees on the full data as of the cut
    from smsseg.features import build_features

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cut = build_features(past, "2025-06-30", btyd=False)
        full = build_features(dataset, "2025-06-30", btyd=False)
    pd.testing.assert_frame_equal(cut, full)


def test_calibrated_bgnbd_uses_the_statistic_that_ranks_the_training_rows_better():
    rng = np.random.default_rng(0)
    n = 4000
    frame = pd.DataFrame(
        {
            "btyd_prob_no_purchase": rng.uniform(0.05, 0.95, n),
            "btyd_expected_purchases": rng.exponential(1.0, n),
        }
    )
    # churn follows the expected purchases, not P(no purchase)
    y = (rng.uniform(size=n) < np.exp(-frame["btyd_expected_purchases"])).astype(int)
    scorer = fit_bgnbd_scorer(frame, y)
    assert scorer.bgnbd_statistic == "exp_neg_expected_purchases"
    p = scorer.candidates(np.full(n, 0.5), frame)["bgnbd"]
    assert abs(p.mean() - y.mean()) < 0.01  # Platt-calibrated on these rows
    # and the other way round
    y2 = (rng.uniform(size=n) < frame["btyd_prob_no_purchase"]).astype(int)
    assert fit_bgnbd_scorer(frame, y2).bgnbd_statistic == "prob_no_purchase"
    # stored and read back with the bundle
    again = ChurnScorer.from_dict(scorer.to_dict())
    np.testing.assert_allclose(again.candidates(np.full(n, 0.5), frame)["bgnbd"], p)
    # the reasons' reference: the mean calibrated BG/NBD log-odds of the rows it was fitted on
    assert scorer.bgnbd_column == "btyd_expected_purchases"
    assert again.bgnbd_baseline == pytest.approx(scorer.bgnbd_log_odds(frame).mean(), abs=1e-12)
    old = {k: v for k, v in scorer.to_dict().items() if k != "bgnbd_baseline"}
    assert ChurnScorer.from_dict(old).bgnbd_baseline is None  # bundles from before it load
