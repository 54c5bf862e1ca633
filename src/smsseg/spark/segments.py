"""Segments and tiers on Spark: the catalogue's rules applied per partition with ``mapInPandas``.

Every rule but two looks at one customer at a time, and each partition runs the existing
:func:`smsseg.segments.assign_segments` on its customers. The two rules relative to the whole
population (VIP: the top ``top_share`` by value; discount-sensitive: the top ``top_share`` of the
scores, or ``min_lift`` times their mean) are resolved first, in one Spark pass, to the cut-off
value that the ranking implies ("rank <= k, ties all in" is "value >= the k-th largest value"),
and then applied per partition as absolute thresholds. Value tiers are fitted on the driver (as
training is) and applied per partition: :meth:`ValueTiers.predict_rank` is per customer.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType

import pandas as pd
import pyarrow as pa
from pyspark.sql import functions as F

from smsseg.segments.assign import _value_columns, prepare_scores
from smsseg.segments.catalogue import Catalogue
from smsseg.spark.scoring import restore_features
from smsseg.tiers import ValueTiers

#: Columns of the first pass (what the population-relative rules rank).
_RANKED_SCHEMA = "frequency double, value_score double, discount_sensitivity double"


def _with_thresholds(catalogue: Catalogue, key: str, **changes) -> Catalogue:
    segment = catalogue.segments[key]
    thresholds = MappingProxyType({**segment.thresholds, **changes})
    segments = dict(catalogue.segments)
    segments[key] = replace(segment, thresholds=thresholds)
    return replace(catalogue, segments=MappingProxyType(segments))


def _kth_largest(frame, column: str, share: float) -> float:
    """The value at rank ``floor(share * n + 1e-9)`` from the top among known values (+inf: 0)."""
    known = frame.where(F.col(column).isNotNull() & ~F.isnan(column))
    # the same count and tolerance as smsseg.segments.rules._top_share
    k = math.floor(share * known.count() + 1e-9)
    if k < 1:
        return math.inf
    return float(known.orderBy(F.col(column).desc()).limit(k).agg(F.min(column)).first()[0])


def resolve_population_rules(inputs, catalogue: Catalogue, tiers, categories) -> Catalogue:
    """The catalogue with its population-relative thresholds turned into absolute cut-offs."""
    vip = catalogue.segments.get("vip")
    discount = catalogue.segments.get("discount_sensitive")
    needs_vip = vip is not None and vip.thresholds["method"] == "top_share"
    needs_discount = discount is not None and discount.thresholds["method"] in ("top_share", "lift")
    if not (needs_vip or needs_discount):
        return catalogue

    def ranked(batches):
        for batch in batches:
            features, scores = _split(batch, categories)
            values = _value_columns(features, scores, tiers)
            frequency = pd.to_numeric(features["frequency"], errors="coerce").astype("float64")
            eligible = frequency >= (vip.thresholds["min_orders"] if vip is not None else 0)
            yield pd.DataFrame(
                {
                    "frequency": frequency.to_numpy(),
                    "value_score": values["value_score"].where(eligible).to_numpy(dtype=float),
                    "discount_sensitivity": pd.to_numeric(scores["discount_sensitivity"])
                    .astype("float64")
                    .to_numpy(),
                }
            )

    values = inputs.mapInPandas(ranked, _RANKED_SCHEMA).cache()
    try:
        if needs_vip:
            cutoff = _kth_largest(values, "value_score", vip.thresholds["top_share"])
            catalogue = _with_thresholds(catalogue, "vip", method="min_value", min_value=cutoff)
        if needs_discount:
            t = discount.thresholds
            if t["method"] == "top_share":
                cutoff = _kth_largest(values, "discount_sensitivity", t["top_share"])
            else:
                mean = values.where(~F.isnan("discount_sensitivity")).agg(
                    F.avg("discount_sensitivity")
                )
                found = mean.first()[0]
                cutoff = math.nan if found is None else t["min_lift"] * float(found)
            catalogue = _with_thresholds(
                catalogue, "discount_sensitive", method="score", min_score=cutoff
            )
    finally:
        values.unpersist()
    return catalogue


def _split(batch: pd.DataFrame, categories) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A partition of features joined with scores, back into the two frames."""
    score_columns = [c for c in batch.columns if c.startswith("_score_")]
    features = restore_features(batch.drop(columns=score_columns), categories)
    scores = pd.DataFrame(
        {c.removeprefix("_score_"): batch[c].to_numpy() for c in score_columns},
        index=features.index,
    )
    return features, prepare_scores(scores.reset_index(), features.index)


def spark_inputs(spark, features: pd.DataFrame, scores: pd.DataFrame, partitions=None):
    """Features and scores (``customer_id`` + score columns) side by side, as one Spark frame."""
    from smsseg.spark.scoring import to_spark_frame

    aligned = prepare_scores(scores, features.index)
    joined = features.join(aligned.add_prefix("_score_"))
    return to_spark_frame(spark, joined, partitions)


def assign_segments_spark(
    spark,
    features: pd.DataFrame,
    scores: pd.DataFrame,
    catalogue: Catalogue,
    tiers: ValueTiers,
    partitions: int | None = None,
) -> pd.DataFrame:
    """:func:`smsseg.segments.assign_segments` computed per Spark partition; same frame back."""
    from smsseg.segments import assign_segments
    from smsseg.spark.connection import SparkResult

    categories = list(features.attrs.get("categories") or [])
    inputs = spark_inputs(spark, features, scores, partitions).cache()
    try:
        resolved = resolve_population_rules(inputs, catalogue, tiers, categories)
        # the output schema, from the same function on a few customers
        head = features.head(5)
        head_scores = prepare_scores(scores, features.index).loc[head.index].reset_index()
        sample = assign_segments(head, head_scores, resolved, tiers)
        schema = _spark_schema(sample)

        def assign(batches):
            for batch in batches:
                if batch.empty:
                    continue
                part_features, part_scores = _split(batch, categories)
                out = assign_segments(part_features, part_scores.reset_index(), resolved, tiers)
                yield _plain(out.reset_index())

        membership = inputs.mapInPandas(assign, schema)
        table = SparkResult(membership).to_arrow_table().sort_by("customer_id")
    finally:
        inputs.unpersist()
    raw = table.to_pandas()
    return _like(raw.set_index("customer_id"), sample)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories and text as pandas' string dtype, for Arrow (an all-None object column, as
    pandas 2.2 holds text, would otherwise reach Arrow as type null)."""
    return frame.assign(
        **{
            c: frame[c].astype("string")
            for c in frame.columns
            if isinstance(frame[c].dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(frame[c].dtype)
            or pd.api.types.is_string_dtype(frame[c].dtype)
        }
    )


def _spark_schema(sample: pd.DataFrame):
    from pyspark.sql.pandas.types import from_arrow_schema

    table = pa.Table.from_pandas(_plain(sample.reset_index()), preserve_index=False)
    fields = [
        pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type)
        for f in table.schema
    ]
    return from_arrow_schema(pa.schema(fields))


def _like(frame: pd.DataFrame, sample: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the dtypes of ``sample`` (the driver-side result of the same function)."""
    out = {}
    for column in sample.columns:
        dtype = sample[column].dtype
        values = frame[column]
        if isinstance(dtype, pd.CategoricalDtype):
            out[column] = pd.Categorical(values, categories=dtype.categories)
        elif pd.api.types.is_object_dtype(dtype):
            out[column] = values.astype(object).where(values.notna(), None)
        else:
            out[column] = values.astype(dtype)
    result = pd.DataFrame(out, index=pd.Index(frame.index.astype("str"), name="customer_id"))
    return result[list(sample.columns)]


__all__ = ["assign_segments_spark", "resolve_population_rules"]
