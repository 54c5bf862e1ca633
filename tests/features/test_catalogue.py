"""Declarations, the catalogue generated from them, the RFM score table and the quintile scores."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smsseg.features import (
    FEATURES,
    RFM_SEGMENT_GRID,
    RFM_SEGMENTS,
    feature_catalogue,
    feature_catalogue_markdown,
)
from smsseg.features.browse import TYPE_ROWS
from smsseg.features.build import QUERIES
from smsseg.features.catalogue import (
    BROWSE_WINDOWS,
    ORDER_WINDOWS,
    PANDAS_DTYPES,
    Feature,
    Registry,
    windowed,
)
from smsseg.features.category import category_columns
from smsseg.features.orders import ORDER_ROWS
from smsseg.features.rfm import quintile_score, segment_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"

#: Names later stages rely on (the lead's list); they must never disappear or be renamed.
RELIED_ON = """
recency_days frequency monetary_total aov tenure_days r_score f_score m_score rfm_segment
orders_30d orders_90d orders_180d orders_365d spend_30d spend_90d spend_180d spend_365d trend_90d
ipt_mean_days ipt_std_days recency_ipt_ratio return_share discount_order_share avg_discount_rate
promo_period_order_share dominant_category dominant_category_share category_entropy
hours_since_last_view hours_since_last_cart_add hours_since_last_order days_since_last_engagement
open_cart open_cart_value restocked_viewed_products sms_opted_in days_since_opt_in sms_sent_7d
sms_sent_30d sms_sent_90d sms_clicks_30d sms_clicks_90d sms_ctr_90d days_since_last_click
loyalty_member loyalty_tier points_balance points_expiring_30d days_to_points_expiry country region
city store_id timezone preferred_channel has_phone btyd_expected_purchases btyd_p_alive
btyd_prob_no_purchase
""".split()
BROWSE = [
    "product_views",
    "category_views",
    "add_to_cart",
    "checkout_started",
    "wishlist_add",
    "search",
]


def test_names_later_stages_rely_on_are_declared():
    names = {f.name for f in FEATURES}
    expected = set(RELIED_ON) | {f"{p}_{w}d" for p in BROWSE for w in BROWSE_WINDOWS}
    expected |= {"cat_spend_share__<category>", "cat_view_share__<category>"}
    assert sorted(expected - names) == []


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_each_declaration_is_complete(feature):
    assert feature.dtype in PANDAS_DTYPES
    assert feature.description.endswith(".") and len(feature.description) > 15
    assert feature.source and feature.window and feature.family
    pattern = r"[a-z][a-z0-9_]*__<category>" if feature.template else r"[a-z][a-z0-9_]*"
    assert re.fullmatch(pattern, feature.name)


def test_catalogue_has_one_row_per_declaration():
    cat = feature_catalogue()
    assert list(cat.columns) == ["name", "dtype", "source", "window", "family", "description"]
    assert cat["name"].tolist() == [f.name for f in FEATURES] and cat["name"].is_unique
    assert cat.set_index("name").loc["orders_90d", "window"] == "90d"


def test_windowed_declarations_follow_the_declared_windows():
    for prefix, windows in (
        ("orders", ORDER_WINDOWS),
        ("spend", ORDER_WINDOWS),
        ("add_to_cart", BROWSE_WINDOWS),
    ):
        declared = [f for f in FEATURES if re.fullmatch(rf"{prefix}_\d+d", f.name)]
        assert [f.window for f in declared] == [f"{w}d" for w in windows]
        for f in declared:
            days = f.window[:-1]
            # directly, or through the per-(customer, event type) count of that window
            via_type_rows = (
                f"n_{days}d" in f.agg and f"INTERVAL {days} DAY) AS n_{days}d" in TYPE_ROWS
            )
            assert f"INTERVAL {days} DAY" in f.agg or via_type_rows, f.name


def test_windowed_substitutes_the_window_but_not_the_cut_off():
    (f,) = windowed(
        "x_{w}d",
        (7,),
        dtype="int",
        source="t",
        family="f",
        description="In {w} days.",
        agg="COUNT(*) FILTER (WHERE t > {as_of} - INTERVAL {w} DAY)",
    )
    assert (f.name, f.window, f.description) == ("x_7d", "7d", "In 7 days.")
    assert f.agg == "COUNT(*) FILTER (WHERE t > {as_of} - INTERVAL 7 DAY)"


def test_registry_rejects_a_name_declared_twice():
    registry = Registry()
    feature = Feature("a", "int", "orders", "30d", "A feature.", "f")
    registry.add([feature])
    with pytest.raises(ValueError, match="'a' is declared twice"):
        registry.add([feature])


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_every_query_cuts_its_rows_at_as_of(query):
    # a query reads the tables directly (then cuts them at as_of) or reads aggregates that do
    upstream = {"{orders}": ORDER_ROWS}
    read = [sql for name, sql in upstream.items() if name in query.rows]
    assert "{as_of}" in query.rows or (read and all("{as_of}" in sql for sql in read))
    assert all(f.agg or f.expr for f in query.features)


def test_docs_hold_the_generated_catalogue():
    text = DOCS.read_text(encoding="utf-8")
    assert feature_catalogue_markdown() in text, "regenerate docs/features.md (see its header)"


def test_segment_grid_covers_each_cell_once_with_the_named_segments():
    assert sorted(RFM_SEGMENT_GRID) == [1, 2, 3, 4, 5]
    assert all(len(row) == 5 for row in RFM_SEGMENT_GRID.values())
    used = {name for row in RFM_SEGMENT_GRID.values() for name in row}
    assert used == set(RFM_SEGMENTS) - {"Prospect"} and len(used) == 11


@pytest.mark.parametrize(
    ("r", "fm", "segment"),
    [
        (5, 5, "Champions"),
        (5, 1, "New"),
        (4, 1, "Promising"),
        (1, 1, "Lost"),
        (1, 5, "Can't lose them"),
        (2, 3, "At risk"),
        (3, 2, "Need attention"),
        (2, 2, "About to sleep"),
        (None, None, "Prospect"),
    ],
    ids=lambda v: str(v),
)
def test_segment_lookup(r, fm, segment):
    out = segment_for(pd.Series([r], dtype="Int64"), pd.Series([fm], dtype="Int64"))
    assert out.iloc[0] == segment


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([10, 20, 30, 40, 50], [1, 2, 3, 4, 5]),
        (list(range(10)), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        ([1, 1, 1, 1, 9], [3, 3, 3, 3, 5]),  # ties share the mean rank 2.5
        ([7.0], [3]),
    ],
    ids=["distinct-5", "distinct-10", "ties", "single"],
)
def test_quintile_score(values, expected):
    assert quintile_score(pd.Series(values, dtype="float64")).tolist() == expected


def test_quintile_score_ignores_row_order_and_keeps_na():
    rng = np.random.default_rng(0)
    values = pd.Series(rng.integers(0, 6, 50).astype(float))
    values[3] = np.nan
    shuffled = values.sample(frac=1.0, random_state=1)
    pd.testing.assert_series_equal(
        quintile_score(values), quintile_score(shuffled).reindex(values.index)
    )
    assert pd.isna(quintile_score(values)[3])
    low = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])
    assert quintile_score(low, higher_is_better=False).tolist() == [5, 4, 3, 2, 1]


def test_category_column_names_are_unique_and_safe():
    cols = category_columns(["Shoes & Bags", "shoes bags", "Other", "", "Été"])
    assert list(cols.values()) == ["shoes_bags", "shoes_bags_2", "other_2", "blank", "ete"]
