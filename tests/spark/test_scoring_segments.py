"""Scores, tiers and segments computed per Spark partition equal the single-node results."""

from __future__ import annotations

import pandas as pd
import pytest

from smsseg.models.scoring import add_reasons, predict_scores
from tests.spark.conftest import AS_OF
from tests.spark.parity import assert_same_frame

pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def duck_scores(duck_features, bundle):
    scores = predict_scores(duck_features, bundle, AS_OF)
    return add_reasons(scores, duck_features, bundle)


@pytest.fixture(scope="module")
def spark_scores(spark, spark_features, bundle):
    from smsseg.spark.scoring import collect_scores, score_partitions, to_spark_frame

    frame = to_spark_frame(spark, spark_features, partitions=3)
    scored = score_partitions(frame, bundle, AS_OF)
    return collect_scores(scored, spark_features, bundle, AS_OF)


def test_scores_are_the_same_on_spark(duck_scores, spark_scores):
    assert spark_scores["customer_id"].is_monotonic_increasing
    duck = duck_scores.set_index("customer_id")
    on_spark = spark_scores.set_index("customer_id")
    assert duck["churn_risk_band"].nunique() >= 2 and duck["reasons"].notna().any()
    assert duck["predicted_clv"].notna().any() and duck["uplift"].notna().any()
    assert_same_frame(duck, on_spark)
    assert spark_scores.attrs["notes"] == duck_scores.attrs["notes"]
    assert spark_scores.attrs["n_reasons"] == duck_scores.attrs["n_reasons"]


def test_segments_and_tiers_are_the_same_on_spark(
    spark, duck_features, spark_features, duck_scores, spark_scores
):
    from smsseg.segments import assign_segments, load_catalogue
    from smsseg.segments.snapshot import fit_tiers
    from smsseg.spark.segments import assign_segments_spark

    catalogue = load_catalogue()
    tiers = fit_tiers(duck_features, duck_scores, random_state=42)
    duck = assign_segments(duck_features, duck_scores, catalogue, tiers)
    on_spark = assign_segments_spark(
        spark, spark_features, spark_scores, catalogue, tiers, partitions=3
    )
    # the population-relative rules really ran across partitions
    assert duck["is_vip"].sum() > 10 and duck["is_discount_sensitive"].sum() > 10
    assert duck["tier"].nunique() >= 3
    assert_same_frame(duck, on_spark)


def test_lift_rule_resolves_to_the_same_members(spark, duck_features, duck_scores):
    """The discount rule by lift over the mean score, resolved on Spark to an absolute cut-off."""
    from smsseg.segments import assign_segments, load_catalogue
    from smsseg.segments.snapshot import fit_tiers
    from smsseg.spark.segments import _with_thresholds, assign_segments_spark

    catalogue = _with_thresholds(load_catalogue(), "discount_sensitive", method="lift")
    tiers = fit_tiers(duck_features, duck_scores, random_state=42)
    duck = assign_segments(duck_features, duck_scores, catalogue, tiers)
    on_spark = assign_segments_spark(spark, duck_features, duck_scores, catalogue, tiers, 2)
    assert 0 < duck["is_discount_sensitive"].sum() < len(duck)
    pd.testing.assert_series_equal(duck["is_discount_sensitive"], on_spark["is_discount_sensitive"])
