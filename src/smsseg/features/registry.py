"""The feature registry: every declared feature in output order, and the catalogue built from it."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from smsseg.features.browse import BROWSE_FEATURES
from smsseg.features.catalogue import Feature, Registry, catalogue_frame, catalogue_markdown
from smsseg.features.category import CATEGORY_FEATURES, concrete_features
from smsseg.features.engagement import LOYALTY_FEATURES, SMS_FEATURES
from smsseg.features.lifetime import BTYD_FEATURES
from smsseg.features.orders import (
    DISCOUNT_FEATURES,
    DYNAMICS_FEATURES,
    RFM_ORDER_FEATURES,
    SEASON_FEATURES,
)
from smsseg.features.profile import PROFILE_FEATURES
from smsseg.features.rfm import RFM_SCORE_FEATURES

ENGAGEMENT_FEATURES = (
    Feature(
        "days_since_last_engagement",
        "float",
        "orders + events + sms",
        "all history",
        "Days since the latest order (any status), browse/cart event or SMS click (NA: none).",
        "engagement",
    ),
)

_TENURE = tuple(f for f in PROFILE_FEATURES if f.name == "tenure_days")
_PROFILE = tuple(f for f in PROFILE_FEATURES if f.name != "tenure_days")


def _registry() -> Registry:
    registry = Registry()
    for group in (
        RFM_ORDER_FEATURES,
        _TENURE,
        RFM_SCORE_FEATURES,
        DYNAMICS_FEATURES,
        SEASON_FEATURES,
        DISCOUNT_FEATURES,
        CATEGORY_FEATURES,
        BROWSE_FEATURES,
        ENGAGEMENT_FEATURES,
        SMS_FEATURES,
        LOYALTY_FEATURES,
        _PROFILE,
        BTYD_FEATURES,
    ):
        registry.add(group)
    return registry


REGISTRY = _registry()
#: Every declared feature, in output order (category templates appear once each).
FEATURES: tuple[Feature, ...] = tuple(REGISTRY.features)
FEATURE_FAMILIES: tuple[str, ...] = tuple(REGISTRY.families())


def output_features(categories: Sequence[str]) -> list[Feature]:
    """The concrete output columns for a given top-K category list, in output order."""
    expanded = {f.name: f for f in concrete_features(categories)}
    out: list[Feature] = []
    for feature in FEATURES:
        if feature.family == "category":
            if feature.name == CATEGORY_FEATURES[0].name:
                out += [f for f in expanded.values() if f.name.startswith("cat_")]
            elif not feature.template:
                out.append(feature)
        else:
            out.append(feature)
    return out


def feature_catalogue() -> pd.DataFrame:
    """The feature catalogue: name, dtype, source, window, family, description (one row each).

    Generated from the declarations; the two category vectors appear as templates
    (``cat_spend_share__<category>``), expanded to one column per top-K category at build time.

    Example
    -------
    >>> cat = feature_catalogue()
    >>> cat.loc[cat["name"] == "recency_days", "family"].item()
    'rfm'
    """
    return catalogue_frame(FEATURES)


def feature_catalogue_markdown() -> str:
    """The catalogue as Markdown, one table per family (the source of ``docs/features.md``)."""
    parts = []
    for family in FEATURE_FAMILIES:
        parts.append(f"#### {family}\n")
        parts.append(catalogue_markdown(f for f in FEATURES if f.family == family))
    return "\n".join(parts)
