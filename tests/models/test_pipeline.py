"""Training and scoring on a small simulated dataset, through the functions and the CLI."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.models  # noqa: F401  (registers train / score)
from smsseg.cli.app import app
from smsseg.errors import SmssegError
from smsseg.models import RiskBands, load_bundle, predict_scores, save_bundle, score_customers
from smsseg.models.champion import ChurnScorer
from smsseg.models.scoring import SCORE_COLUMNS, add_reasons, build_scoring_features
from tests.models.conftest import AS_OF

pytestmark = pytest.mark.xdist_group("models-sim")


def test_churn_model_beats_both_baselines_out_of_time(trained):
    table = trained.churn_table
    assert set(table.index) == {"model", "bgnbd", "blend", "bgnbd_raw", "recency_rule"}
    assert trained.headline == "buyers"
    # the deployed scorer is the best candidate: never worse than calibrated BG/NBD, and it
    # beats the recency rule (the model is only deployed when it beats BG/NBD)
    auc = table["roc_auc"]
    assert auc[trained.champion] == max(auc[k] for k in ("model", "blend", "bgnbd"))
    assert auc[trained.champion] >= auc["bgnbd"] and auc["model"] > auc["recency_rule"]
    assert (trained.champion == "bgnbd") == (max(auc["model"], auc["blend"]) <= auc["bgnbd"])
    # every metric is computed on the rows of the test snapshot only: as_of - horizon
    test = trained.churn_test
    assert test["snapshot"].nunique() == 1
    assert test["snapshot"].iloc[0] == trained.plan.test
    assert trained.plan.test == pd.Timestamp(AS_OF) - pd.Timedelta(days=90)
    assert int(table.loc["model", "n"]) == (test["population"] == "buyers").sum()
    # the champion is the deployed scorer, and its column is the smsseg score
    assert (test["smsseg"] == test[trained.champion]).all()
    assert trained.bundle.meta["churn_scorer"]["kind"] == trained.champion


def test_every_population_is_reported_on_the_same_rows(trained):
    tables, test = trained.churn_tables, trained.churn_test
    assert set(tables) == {"buyers", "prospects", "all"}
    for population, table in tables.items():
        rows = test if population == "all" else test[test["population"] == population]
        assert table is not None and (table["n"] == len(rows)).all()  # every score, same rows
        assert table.loc["model", "base_rate"] == pytest.approx(rows["churn"].mean())
    by_population = trained.bundle.meta["metrics"]["churn_by_population"]
    assert set(by_population) == {"buyers", "prospects", "all"}


def test_validation_labels_end_before_the_test_snapshot(trained):
    plan, frame = trained.plan, trained.snapshots
    assert plan.kind == "out_of_time"
    horizon = pd.Timedelta(days=plan.horizon_days)
    assert all(c + horizon <= plan.test for c in plan.validation)
    assert all(c + horizon <= pd.Timestamp(AS_OF) for c in plan.production)
    assert set(frame["snapshot"]) == set(plan.cutoffs)
    # the BTYD fit behind every snapshot's BG/NBD features is diagnosed in the bundle
    diagnostics = trained.bundle.meta["btyd_diagnostics"]
    assert set(diagnostics) == {c.isoformat() for c in plan.cutoffs}
    assert all(isinstance(d["bgnbd"]["converged"], bool) for d in diagnostics.values())


def test_every_part_was_trained_and_high_cardinality_features_dropped(trained):
    parts = trained.bundle.parts()
    assert {"churn", "uplift"} <= set(parts)
    # a discount or next-order model is deployed only when it beats its rule out of time
    table, scorers = trained.discount_table, trained.bundle.meta["scorers"]
    model_wins = table.loc["model", "roc_auc"] > table.loc["past_discount_share", "roc_auc"]
    assert ("discount" in parts) == model_wins
    assert scorers["discount"] == ("model" if model_wins else "past_discount_share")
    m = trained.next_order_metrics
    assert ("next_order" in parts) == (m["mae_days"] < m["mae_days_median_rule"])
    assert "postal_code" in trained.dropped and "postal_code" not in trained.features
    assert trained.uplift.campaign == "exp_discount_sms"
    for interval in trained.uplift.metrics.values():
        assert interval.low <= interval.estimate <= interval.high


def test_bundle_round_trip_and_scores(trained, dataset, tmp_path):
    bundle = trained.bundle
    bundle.meta["version"] = "test/1"
    save_bundle(bundle, tmp_path / "model")
    files = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert (
        "bundle.json" in files
        and "churn.txt" in files
        and not any(f.endswith((".pkl", ".pickle")) for f in files)
    )
    meta = json.loads((tmp_path / "model" / "churn.json").read_text())
    assert {"features", "as_of", "horizon_days", "metrics", "versions"} <= set(meta)
    loaded = load_bundle(tmp_path / "model")
    scores, timings = score_customers(dataset, AS_OF, loaded)
    assert list(scores.columns) == ["customer_id", *SCORE_COLUMNS]
    assert set(timings) == {"features_s", "predict_s", "reasons_s"}
    assert scores["customer_id"].is_unique
    p = scores["churn_probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    bands = scores["churn_risk_band"].astype(str)
    assert (bands[p > 0.7] == "high").all() and (bands[p < 0.4] == "low").all()
    assert scores["discount_sensitivity"].between(0, 1).all()
    assert scores["uplift"].notna().all()
    assert (scores["model_version"] == "test/1").all()
    # reasons for the whole high band by default; next order date only for likely buyers, after
    # as_of
    high = (bands == "high").to_numpy()
    assert high.any() and scores.loc[high, "reasons"].notna().all()
    assert scores.loc[~high, "reasons"].isna().all()
    assert scores.attrs["n_reasons"] == int(high.sum())
    assert scores.attrs["n_reasons_skipped_dormant"] == 0
    # on request, the at-risk only (high band, ordered in the last 180 days)
    features = build_scoring_features(dataset, AS_OF, loaded)
    recent = (features["recency_days"] <= 180).to_numpy()
    at_risk = high & recent
    assert at_risk.any() and (high & ~recent).any()
    limited = add_reasons(scores.assign(reasons=None), features, loaded, max_recency_days=180)
    assert limited.loc[at_risk, "reasons"].notna().all()
    assert limited.loc[~at_risk, "reasons"].isna().all()
    assert limited.attrs["n_reasons_skipped_dormant"] == int(high.sum() - at_risk.sum())
    dates = scores["expected_next_order_date"]
    assert dates[p >= 0.5].isna().all()
    assert (dates.dropna() >= pd.Timestamp(AS_OF)).all()


def test_scores_match_the_estimators(trained, dataset):
    bundle = trained.bundle
    features = build_scoring_features(dataset, AS_OF, bundle)
    scores = predict_scores(features, bundle, AS_OF)
    X = features[bundle.churn.feature_names_in_]
    scorer = ChurnScorer.from_dict(bundle.meta["churn_scorer"])
    expected = scorer(bundle.churn.predict_proba(X)[:, 1], features)
    np.testing.assert_allclose(scores["churn_probability"], expected)
    assert (scores["churn_scorer"] == scorer.kind).all()
    np.testing.assert_allclose(scores["uplift"], bundle.uplift.predict(X))


def test_configurable_bands_and_reason_bands(trained, dataset):
    bundle = trained.bundle
    features = build_scoring_features(dataset, AS_OF, bundle)
    scores = predict_scores(features, bundle, AS_OF, bands=RiskBands(high=0.9, medium=0.2))
    p, bands = scores["churn_probability"], scores["churn_risk_band"].astype(str)
    assert (bands[(p >= 0.2) & (p <= 0.9)] == "medium").all()
    with_reasons = add_reasons(
        scores, features, bundle, bands=("high", "medium"), max_recency_days=None
    )
    assert (
        with_reasons["reasons"].notna().sum()
        == with_reasons.attrs["n_reasons"]
        == int(bands.isin(["high", "medium"]).sum())
    )
    with pytest.raises(SmssegError, match="must satisfy 0 < medium <= high < 1"):
        RiskBands(high=0.3, medium=0.5)
    with pytest.raises(SmssegError, match=r"reason bands \['urgent'\]"):
        add_reasons(scores, features, bundle, bands=("urgent",))
    with pytest.raises(SmssegError, match="max_recency_days=-1 must be >= 0"):
        add_reasons(scores, features, bundle, max_recency_days=-1)


def _orders_only(sim_dir, tmp_path):
    out = tmp_path / "orders_only"
    out.mkdir()
    shutil.copy(sim_dir / "customers.parquet", out)
    orders = pd.read_parquet(sim_dir / "orders.parquet").drop(
        columns=["discount_amount", "promo_code"]
    )
    orders.to_parquet(out / "orders.parquet")
    return out


def test_cli_train_and_score_on_an_orders_only_directory(sim_dir, tmp_path):
    data = _orders_only(sim_dir, tmp_path)
    runner = CliRunner()
    model_dir = tmp_path / "models" / "m1"
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(data),
            "--as-of",
            AS_OF,
            "--snapshots",
            "2",
            "--threads",
            "1",
            "--no-mlflow",
            "--model",
            str(model_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "ROC-AUC" in result.output and "bgnbd" in result.output and "recency_rule" in result.output
    )
    assert "discount model not trained" in result.output
    assert "no uplift model" in result.output
    out = tmp_path / "scores.parquet"
    result = runner.invoke(
        app,
        [
            "score",
            "--data",
            str(data),
            "--as-of",
            AS_OF,
            "--model",
            str(model_dir),
            "--out",
            str(out),
            "--high",
            "0.8",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "discount_sensitivity is empty" in result.output
        or "no discount-sensitivity model" in result.output
    )
    scores = pd.read_parquet(out)
    assert scores["churn_probability"].notna().all()
    assert scores["discount_sensitivity"].isna().all() and scores["uplift"].isna().all()
    assert (scores.loc[scores["churn_probability"] > 0.8, "churn_risk_band"] == "high").all()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--as-of", "yesterday-ish"], "--as-of='yesterday-ish' is not a date"),
        (["--as-of", AS_OF, "--horizon-days", "-3"], "--horizon-days=-3 must be >= 1"),
    ],
    ids=["bad-date", "bad-horizon"],
)
def test_cli_train_rejects_bad_input(sim_dir, args, message):
    result = CliRunner().invoke(app, ["train", "--data", str(sim_dir), "--no-mlflow", *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_cli_score_without_a_model_says_how_to_get_one(sim_dir, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "score",
            "--data",
            str(sim_dir),
            "--as-of",
            AS_OF,
            "--model",
            str(tmp_path / "nothing"),
            "--out",
            str(tmp_path / "s.parquet"),
        ],
    )
    assert result.exit_code == 1
    assert "no trained model found" in " ".join(result.output.split())


def test_scoring_fits_btyd_as_training_did(trained, dataset):
    """No train/serve skew in the BTYD features: the bundle carries the fit's sample and seed."""
    from smsseg.features import build_features
    from tests.models.conftest import SETTINGS

    bundle = trained.bundle
    assert bundle.meta["btyd"] == {"fit_sample": SETTINGS.btyd_fit_sample, "seed": SETTINGS.seed}
    scored = build_scoring_features(dataset, AS_OF, bundle)
    as_trained = build_features(
        dataset,
        AS_OF,
        horizon_days=90,
        categories=bundle.meta["categories"],
        btyd_fit_sample=SETTINGS.btyd_fit_sample,
        seed=SETTINGS.seed,
    )
    pd.testing.assert_frame_equal(scored, as_trained)
    # the bundle's sample size and seed decide the fit: two seeds, two samples, two fits
    from smsseg.models.bundle import ModelBundle

    def fitted(seed: int) -> np.ndarray:
        meta = {**bundle.meta, "btyd": {"fit_sample": 400, "seed": seed}}
        features = build_scoring_features(dataset, AS_OF, ModelBundle(bundle.churn, meta=meta))
        return features["btyd_prob_no_purchase"].to_numpy(dtype=float)

    assert not np.allclose(fitted(1), fitted(2))


def test_pipeline_score_writes_the_same_bytes_as_the_cli(trained, sim_dir, tmp_path):
    """The CLI only parses and prints: `smsseg score` and `pipeline.score` write one file."""
    from smsseg import pipeline

    model = save_bundle(trained.bundle, tmp_path / "model")
    done = pipeline.score(sim_dir, AS_OF, tmp_path / "pipeline.parquet", model=model)
    args = ["score", "--data", str(sim_dir), "--as-of", AS_OF, "--model", str(model)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "cli.parquet")])
    assert result.exit_code == 0, result.output
    assert done.path.read_bytes() == (tmp_path / "cli.parquet").read_bytes()
    assert done.model_version == trained.bundle.version
    assert len(done.scores) == pd.read_parquet(done.path).shape[0] > 0


def test_pipeline_train_saves_where_the_model_rule_says(sim_dir, tmp_path, monkeypatch):
    """One rule for where a model lives: a bare name is models/<name>, a path is that path."""
    from smsseg import config, pipeline
    from smsseg.models.bundle import model_dir, resolve_model_dir
    from tests.models.conftest import SETTINGS

    monkeypatch.setattr(config, "MODELS_DIR", tmp_path / "models")
    done = pipeline.train(sim_dir, AS_OF, model="shop", settings=SETTINGS, mlflow=False)
    assert done.model_dir == tmp_path / "models" / "shop" == model_dir("shop")
    assert resolve_model_dir("shop") == done.model_dir
    assert (done.model_dir / "churn_test.parquet").is_file()
    assert load_bundle(done.model_dir).version == f"shop@{done.result.bundle.meta['as_of']}"
    assert done.logged == {} and done.tracking_uri is None
    # a value with a '/' is a directory, wherever it is
    assert model_dir(str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    with pytest.raises(SmssegError, match="no trained model found at"):
        resolve_model_dir(str(tmp_path / "elsewhere"))


def test_reasons_follow_the_deployed_scorer(trained, dataset):
    bundle = trained.bundle
    features = build_scoring_features(dataset, AS_OF, bundle)
    scores = predict_scores(features, bundle, AS_OF)
    trained_scorer = ChurnScorer.from_dict(bundle.meta["churn_scorer"])
    assert trained_scorer.bgnbd_baseline is not None  # train stores BG/NBD's reference
    column = trained_scorer.bgnbd_column

    def with_scorer(scorer: dict):
        return replace(bundle, meta={**bundle.meta, "churn_scorer": scorer})

    def reasons_with(scorer: ChurnScorer) -> pd.Series:
        explained = add_reasons(scores, features, with_scorer(scorer.to_dict()), ("medium", "high"))
        return explained["reasons"]

    as_bgnbd = reasons_with(replace(trained_scorer, kind="bgnbd")).dropna()
    assert len(as_bgnbd) and as_bgnbd.str.startswith(f"{column}=").all()
    assert not as_bgnbd.str.contains(";").any()  # BG/NBD reads one column: one reason at most
    as_model = reasons_with(replace(trained_scorer, kind="model"))
    assert as_model.dropna().str.count(";").max() == 2  # up to three of the model's features
    # a bundle trained before the reference: the model's reasons, and a note that says so
    legacy = replace(trained_scorer, kind="blend").to_dict()
    legacy.pop("bgnbd_baseline")
    old = add_reasons(scores, features, with_scorer(legacy), ("medium", "high"))
    pd.testing.assert_series_equal(old["reasons"], as_model)
    assert any("reasons are the LightGBM model's, not the blend" in n for n in old.attrs["notes"])
