"""``smsseg train --engine spark``: a stratified sample drawn on Spark, trained single-node."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from smsseg.spark.sample import allocate
from tests.spark.conftest import TRAIN_AS_OF, quiet_load

pytestmark = pytest.mark.xdist_group("spark")

HORIZON = 90


@pytest.mark.parametrize(
    ("population", "n", "expected"),
    [
        ({"a": 900, "b": 90, "c": 10}, 100, {"a": 90, "b": 9, "c": 1}),
        ({"a": 500, "b": 500}, 7, {"a": 4, "b": 3}),  # largest remainder, ties in order
        ({"a": 998, "b": 2}, 10, {"a": 9, "b": 1}),  # a rare stratum keeps one customer
        ({"a": 30, "b": 5}, 100, {"a": 30, "b": 5}),  # a sample above the base is the base
        ({"a": 10, "b": 0}, 4, {"a": 4, "b": 0}),
    ],
    ids=["proportional", "remainders", "rare-stratum", "whole-base", "empty-stratum"],
)
def test_allocation(population, n, expected):
    sizes = allocate(pd.Series(population), n)
    assert sizes.to_dict() == expected
    assert sizes.sum() == min(n, sum(population.values()))


def _expected_strata(sim_dir) -> pd.Series:
    """The strata counted with pandas from the files (independently of the Spark SQL)."""
    as_of = pd.Timestamp(TRAIN_AS_OF)
    cutoff = as_of - pd.Timedelta(days=HORIZON)
    customers = pd.read_parquet(sim_dir / "customers.parquet")
    orders = pd.read_parquet(sim_dir / "orders.parquet")
    customers = customers[customers["created_at"] <= as_of]
    buyers = set(orders.loc[orders["ordered_at"] <= cutoff, "customer_id"])
    window = orders[(orders["ordered_at"] > cutoff) & (orders["ordered_at"] <= as_of)]
    ordered = set(window["customer_id"])
    stratum = customers["customer_id"].map(
        lambda c: (
            ("buyer" if c in buyers else "prospect") + ("_ordered" if c in ordered else "_no_order")
        )
    )
    return stratum.value_counts().sort_index()


@pytest.fixture(scope="module")
def spark_data(spark, sim_dir):
    from smsseg.spark.data import load_spark

    return quiet_load(load_spark, sim_dir, spark, validate=False)


def test_stratified_sample_is_proportional_seeded_and_exact(spark_data, sim_dir):
    from smsseg.spark.sample import stratified_sample

    drawn = stratified_sample(spark_data, TRAIN_AS_OF, HORIZON, 1000, seed=7)
    population = _expected_strata(sim_dir)
    strata = drawn.strata.set_index("stratum")
    assert strata["population"].to_dict() == population.to_dict()
    assert len(population) == 4 and drawn.population == population.sum()
    assert len(drawn.customer_ids) == 1000 and drawn.customer_ids.is_unique
    expected = population * 1000 / population.sum()
    assert (strata["sampled"] - expected).abs().max() < 1  # proportional allocation
    customers = pd.read_parquet(sim_dir / "customers.parquet")
    assert set(drawn.customer_ids) <= set(customers["customer_id"])
    again = stratified_sample(spark_data, TRAIN_AS_OF, HORIZON, 1000, seed=7)
    other = stratified_sample(spark_data, TRAIN_AS_OF, HORIZON, 1000, seed=8)
    assert again.customer_ids.equals(drawn.customer_ids)
    assert not other.customer_ids.equals(drawn.customer_ids)


def test_sample_size_must_be_positive(spark_data):
    from smsseg.errors import SmssegError
    from smsseg.spark.sample import stratified_sample

    with pytest.raises(SmssegError, match="--sample=0 must be >= 1"):
        stratified_sample(spark_data, TRAIN_AS_OF, HORIZON, 0, seed=7)


def test_train_on_a_spark_sample_saves_and_tracks_it(spark, sim_dir, tmp_path, monkeypatch):
    """The pipeline step of `smsseg train --engine spark --sample 1200`, in MLflow as usual."""
    import mlflow

    from smsseg import pipeline
    from tests.models.conftest import SETTINGS

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done = pipeline.train(
            str(sim_dir),
            TRAIN_AS_OF,
            model=tmp_path / "model",
            settings=SETTINGS,
            engine="spark",
            sample=1200,
        )
    sample = done.result.bundle.meta["training_sample"]
    assert sample["customers"] == 1200 and sample["seed"] == SETTINGS.seed
    assert sample["population"] == _expected_strata(sim_dir).sum() > 1200
    # only sampled customers were trained on
    assert done.result.snapshots.index.nunique() <= 1200
    assert any("stratified sample of 1,200" in note for note in done.result.notes)
    saved = (tmp_path / "model" / "bundle.json").read_text()
    assert '"training_sample"' in saved
    run = mlflow.get_run(done.logged["churn"].run_id)
    assert run.data.params["training_engine"] == "spark"
    assert run.data.params["sample.customers"] == "1200"
    assert (
        sum(
            int(v.split(" of ")[0])
            for k, v in run.data.params.items()
            if k.startswith("sample.stratum.")
        )
        == 1200
    )


def test_sample_needs_engine_spark(sim_dir, tmp_path):
    from smsseg import pipeline
    from smsseg.errors import SmssegError

    with pytest.raises(SmssegError, match="--sample=500 draws a sample on Spark"):
        pipeline.train(sim_dir, TRAIN_AS_OF, model=tmp_path / "m", sample=500, mlflow=False)
