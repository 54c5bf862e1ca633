"""Value tiers: customers clustered on value features, ordered by value and named.

>>> from smsseg.tiers import ValueTiers, value_matrix  # doctest: +SKIP
>>> X = value_matrix(features, scores)  # doctest: +SKIP
>>> tiers = ValueTiers().fit(X)  # doctest: +SKIP
>>> tiers.profile(features, scores)  # doctest: +SKIP
"""

from smsseg.tiers.estimator import (
    CRITERIA,
    DEFAULT_TIER_NAMES,
    TiersNotFittedError,
    ValueTiers,
)
from smsseg.tiers.profile import PROFILE_COLUMNS, tier_profile
from smsseg.tiers.store import default_tiers_path, load_tiers, save_tiers
from smsseg.tiers.values import VALUE_WEIGHTS, value_matrix

__all__ = [
    "CRITERIA",
    "DEFAULT_TIER_NAMES",
    "PROFILE_COLUMNS",
    "TiersNotFittedError",
    "VALUE_WEIGHTS",
    "ValueTiers",
    "default_tiers_path",
    "load_tiers",
    "save_tiers",
    "tier_profile",
    "value_matrix",
]
