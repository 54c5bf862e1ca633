"""The twelve SMS segments as a dynamic rules layer over features and scores.

>>> from smsseg.segments import load_catalogue, assign_segments  # doctest: +SKIP
>>> catalogue = load_catalogue("my-overrides.toml")  # doctest: +SKIP
>>> membership = assign_segments(features, scores, catalogue, tiers)  # doctest: +SKIP
"""

from smsseg.segments.assign import (
    REQUIRED_SCORES,
    assign_segments,
    prepare_scores,
    primary_segment,
    segment_masks,
)
from smsseg.segments.catalogue import (
    Catalogue,
    CatalogueError,
    Segment,
    build_catalogue,
    default_catalogue_dict,
    load_catalogue,
)
from smsseg.segments.rules import RULES, SEGMENT_KEYS
from smsseg.segments.summary import (
    NOT_A_CUSTOMER,
    SUMMARY_COLUMNS,
    segment_flows,
    segment_summary,
    transitions,
)

__all__ = [
    "NOT_A_CUSTOMER",
    "REQUIRED_SCORES",
    "RULES",
    "SEGMENT_KEYS",
    "SUMMARY_COLUMNS",
    "Catalogue",
    "CatalogueError",
    "Segment",
    "assign_segments",
    "build_catalogue",
    "default_catalogue_dict",
    "load_catalogue",
    "prepare_scores",
    "primary_segment",
    "segment_flows",
    "segment_masks",
    "segment_summary",
    "transitions",
]
