"""Point-in-time features: one row per customer as of a date, plus labels and training snapshots.

Every feature is declared once (:mod:`smsseg.features.catalogue`); the DuckDB SQL, the
catalogue (``smsseg features --list``) and ``docs/features.md`` follow from the declarations.
"""

from smsseg.features.build import STEPS, build_features
from smsseg.features.catalogue import Feature
from smsseg.features.category import top_categories
from smsseg.features.labels import (
    check_label_window,
    churn_label,
    discount_label,
    label_window_end,
    snapshot_cutoffs,
    training_snapshots,
)
from smsseg.features.registry import (
    FEATURE_FAMILIES,
    FEATURES,
    feature_catalogue,
    feature_catalogue_markdown,
)
from smsseg.features.rfm import RFM_SEGMENT_GRID, RFM_SEGMENTS

__all__ = [
    "FEATURES",
    "FEATURE_FAMILIES",
    "RFM_SEGMENTS",
    "RFM_SEGMENT_GRID",
    "STEPS",
    "Feature",
    "build_features",
    "check_label_window",
    "churn_label",
    "discount_label",
    "feature_catalogue",
    "feature_catalogue_markdown",
    "label_window_end",
    "snapshot_cutoffs",
    "top_categories",
    "training_snapshots",
]
