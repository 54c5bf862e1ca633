"""Training from Spark: a stratified sample of customers, drawn on Spark, trained on one machine.

Training stays single-node by design (LightGBM on one machine, tracked in MLflow as today):
a model learns as well from a few hundred thousand customers as from the whole base, and
scoring (:mod:`smsseg.spark.scoring`) is what has to reach every customer. Spark does the part
that grows with the base: it assigns every customer to a stratum, draws the sample and filters
the history (orders, events, SMS, ...) down to the sampled customers. Their rows are collected
(Arrow) into an in-process DuckDB dataset and :func:`smsseg.models.train.train_models` runs on it
unchanged: the training features at every snapshot, their labels, the models.

Why the sample's *rows* and not Spark-built feature rows: training needs features at several
snapshot dates and labels from the horizon after each, which the training code derives from the
history; built from the sampled rows with the same code they are the features Spark would build
(``tests/spark/`` checks that both engines build the same features), and the training is the
DuckDB path's, step for step.

The strata are the customer's state at the latest labelled snapshot (``as_of - horizon``):
buyer or prospect then, and whether they ordered in the horizon after it (the churn label of a
buyer, the conversion of a prospect). Each stratum gets its share of the sample (proportional
allocation), so a rare churn or conversion class is not left to chance. Within a stratum the
customers with the smallest seeded hash of their id are taken: the same seed gives the same
sample whatever the partitioning, and the draw needs no sort of the whole base (a hash threshold
keeps a little more than needed, the driver sorts that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from smsseg.data.contract import TABLES
from smsseg.data.load import Dataset, load_frames
from smsseg.errors import SmssegError
from smsseg.spark.engine import DEFAULT_SAMPLE

__all__ = ["DEFAULT_SAMPLE", "TrainingSample", "collect_sample", "stratified_sample"]

#: The view holding the sampled customer ids during the collection.
_SAMPLE_VIEW = "_smsseg_training_sample"

# 2^52: hashes reduced to [0, 1) exactly representable as doubles
_UNIT = 4503599627370496


@dataclass(frozen=True)
class TrainingSample:
    """A stratified sample of customers and how it was drawn.

    ``strata`` has one row per stratum: ``population`` and ``sampled`` customers.
    """

    customer_ids: pd.Series
    strata: pd.DataFrame
    seed: int
    cutoff: pd.Timestamp

    @property
    def population(self) -> int:
        return int(self.strata["population"].sum())

    def describe(self) -> dict:
        """For the bundle's metadata and MLflow."""
        return {
            "engine": "spark",
            "customers": len(self.customer_ids),
            "population": self.population,
            "seed": self.seed,
            "strata_at": self.cutoff.isoformat(),
            "strata": {
                row.stratum: [int(row.population), int(row.sampled)]
                for row in self.strata.itertuples()
            },
        }


def allocate(population: pd.Series, n: int) -> pd.Series:
    """Proportional allocation of ``n`` over strata of sizes ``population`` (largest remainder).

    Every non-empty stratum gets at least one customer while ``n`` allows, and no stratum more
    than it has.

    >>> allocate(pd.Series({"a": 900, "b": 90, "c": 10}), 100).to_dict()
    {'a': 90, 'b': 9, 'c': 1}
    """
    total = int(population.sum())
    if n >= total:
        return population.astype(int)
    exact = population * n / total
    sizes = exact.apply(math.floor).astype(int)
    sizes[(sizes == 0) & (population > 0)] = 1
    short = n - int(sizes.sum())
    if short > 0:
        order = (exact - sizes).sort_values(ascending=False, kind="stable").index
        for name in order[:short]:
            sizes[name] += 1
    while sizes.sum() > n:  # the minimum of one per stratum overshot: trim the largest
        sizes[sizes.idxmax()] -= 1
    return sizes.clip(upper=population).astype(int)


def _strata_sql(cutoff: str, as_of: str, seed: int) -> str:
    """Spark SQL: one row per customer known at ``as_of``: stratum and a seeded uniform key."""
    return f"""
        WITH activity AS (
            SELECT customer_id,
                   MAX(CASE WHEN ordered_at <= TIMESTAMP '{cutoff}' THEN 1 ELSE 0 END) AS buyer,
                   MAX(CASE WHEN ordered_at > TIMESTAMP '{cutoff}'
                             AND ordered_at <= TIMESTAMP '{as_of}' THEN 1 ELSE 0 END) AS ordered
            FROM orders WHERE ordered_at <= TIMESTAMP '{as_of}' GROUP BY customer_id
        )
        SELECT c.customer_id,
               CONCAT(CASE WHEN COALESCE(a.buyer, 0) = 1 THEN 'buyer' ELSE 'prospect' END, '_',
                      CASE WHEN COALESCE(a.ordered, 0) = 1 THEN 'ordered' ELSE 'no_order' END)
                   AS stratum,
               CAST(PMOD(XXHASH64(c.customer_id, {int(seed)}), {_UNIT}) AS DOUBLE) / {_UNIT} AS u
        FROM customers c LEFT JOIN activity a ON c.customer_id = a.customer_id
        WHERE c.created_at <= TIMESTAMP '{as_of}'
    """


def stratified_sample(
    data: Dataset, as_of: object, horizon_days: int, n: int, seed: int
) -> TrainingSample:
    """Draw ``n`` customers of a Spark-loaded ``data`` on Spark, stratified (module docstring).

    Parameters
    ----------
    data : loaded with :func:`smsseg.spark.data.load_spark`.
    as_of : the training instant (customers created after it are not drawn).
    horizon_days : the churn horizon: the strata are the state at ``as_of - horizon_days``.
    n : customers to draw (all of them when the base is smaller).
    seed : the draw's seed.

    Raises
    ------
    SmssegError
        ``n < 1``, or no customer known at ``as_of``.
    """
    from pyspark.sql import functions as F

    if n < 1:
        raise SmssegError(f"--sample={n} must be >= 1 (customers to train on)")
    stamp = pd.Timestamp(as_of)
    cutoff = stamp - pd.Timedelta(days=horizon_days)
    spark = data.con.spark
    keyed = spark.sql(_strata_sql(str(cutoff), str(stamp), seed)).persist()
    try:
        population = keyed.groupBy("stratum").count().toPandas()
        population = population.set_index("stratum")["count"].sort_index()
        if population.sum() == 0:
            raise SmssegError(f"no customer was created on or before {stamp}: nothing to train on")
        sizes = allocate(population, n)
        # a hash threshold per stratum keeps a few more than needed (about 5 standard deviations
        # of the binomial count), so one pass suffices; the driver then keeps the smallest keys
        fractions = {
            name: min(1.0, (size + 5 * math.sqrt(size) + 10) / population[name])
            for name, size in sizes.items()
        }
        condition = F.lit(False)
        for name, fraction in fractions.items():
            condition = condition | ((F.col("stratum") == name) & (F.col("u") < fraction))
        candidates = keyed.where(condition).toPandas()
        short = [
            name for name, size in sizes.items() if (candidates["stratum"] == name).sum() < size
        ]
        if short:  # a draw below the expected count: take those strata whole
            extra = keyed.where(F.col("stratum").isin(short)).toPandas()
            candidates = pd.concat([candidates[~candidates["stratum"].isin(short)], extra])
    finally:
        keyed.unpersist()
    ranked = candidates.sort_values(["stratum", "u", "customer_id"])
    keep = ranked.groupby("stratum").cumcount() < ranked["stratum"].map(sizes)
    ids = ranked.loc[keep, "customer_id"].sort_values().reset_index(drop=True)
    strata = pd.DataFrame(
        {"population": population.astype(int), "sampled": sizes.astype(int)}
    ).rename_axis("stratum")
    return TrainingSample(ids, strata.reset_index(), int(seed), cutoff)


def _filter_sql(name: str) -> str:
    """The rows of table ``name`` that belong to the sampled customers (all rows of a lookup)."""
    columns = {c.name for c in TABLES[name].columns}
    if "customer_id" in columns:
        return f"SELECT * FROM {name} WHERE customer_id IN (SELECT customer_id FROM {_SAMPLE_VIEW})"
    if name == "order_items":
        return (
            "SELECT * FROM order_items WHERE order_id IN (SELECT order_id FROM orders WHERE "
            f"customer_id IN (SELECT customer_id FROM {_SAMPLE_VIEW}))"
        )
    return f"SELECT * FROM {name}"  # products, promotions: shared by every customer


def collect_sample(data: Dataset, sample: TrainingSample) -> Dataset:
    """The sampled customers' rows of every supplied table, as an in-process DuckDB dataset.

    The rows were validated when ``data`` was loaded; they are not checked again.
    """
    spark = data.con.spark
    ids = spark.createDataFrame(pd.DataFrame({"customer_id": sample.customer_ids.astype(str)}))
    ids.createOrReplaceTempView(_SAMPLE_VIEW)
    try:
        frames = {name: data.con.execute(_filter_sql(name)).df() for name in sorted(data.present)}
    finally:
        spark.catalog.dropTempView(_SAMPLE_VIEW)
    local = load_frames(frames, validate=False)
    local.present = {name: f"{data.present[name]} (sample)" for name in frames}
    return local
