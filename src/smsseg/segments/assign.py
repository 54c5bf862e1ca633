"""Segment membership: the catalogue's rules applied to a features frame and a scores frame.

A pure function of its inputs: the same features (as of a date), scores and catalogue always
give the same membership, and re-running on a later date's features moves customers between
segments (see :mod:`smsseg.segments.transitions`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg._compat import TEXT_DTYPE
from smsseg.errors import SmssegError
from smsseg.segments.catalogue import Catalogue, load_catalogue
from smsseg.segments.rules import RULES, num
from smsseg.tiers import ValueTiers, value_matrix

#: Score columns the rules read; both must be present in a scores frame (they may be all NaN).
REQUIRED_SCORES = ("churn_probability", "discount_sensitivity")
#: Score columns carried into the membership when present.
OPTIONAL_SCORES = ("churn_risk_band", "predicted_clv", "reasons")
#: Columns added to the rule frame by this module, not read from the inputs.
DERIVED = ("value_score", "tier_rank")


def _with_customer_index(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    if "customer_id" in frame.columns:
        frame = frame.set_index("customer_id")
    elif frame.index.name != "customer_id":
        raise SmssegError(f"the {what} frame needs a customer_id column or index")
    frame = frame.set_axis(frame.index.astype(str).rename("customer_id"))
    duplicated = frame.index[frame.index.duplicated()].unique()
    if len(duplicated):
        raise SmssegError(
            f"the {what} frame has {len(duplicated)} duplicated customer_id(s), e.g. "
            f"{list(duplicated[:5])}; each customer must appear once"
        )
    return frame


def prepare_scores(scores: pd.DataFrame | None, customers: pd.Index) -> pd.DataFrame:
    """Scores indexed by customer_id and aligned on ``customers`` (missing customers: NaN).

    Raises
    ------
    SmssegError
        Missing ``customer_id`` or a required score column, duplicated ids, or ids that are not
        customers of the data.
    """
    if scores is None:
        return pd.DataFrame(
            {c: np.nan for c in REQUIRED_SCORES}, index=customers.rename("customer_id")
        )
    scores = _with_customer_index(scores, "scores")
    missing = [c for c in REQUIRED_SCORES if c not in scores.columns]
    if missing:
        raise SmssegError(
            f"the scores lack column(s) {missing}; required: customer_id, "
            f"{', '.join(REQUIRED_SCORES)} (they may be empty/NaN)"
        )
    unknown = scores.index.difference(customers)
    if len(unknown):
        raise SmssegError(
            f"the scores have {len(unknown)} customer_id(s) that are not customers of the data "
            f"as of this date, e.g. {list(unknown[:5])}; score the same data and date"
        )
    keep = [c for c in (*REQUIRED_SCORES, *OPTIONAL_SCORES) if c in scores.columns]
    return scores[keep].reindex(customers)


def _value_columns(
    features: pd.DataFrame, scores: pd.DataFrame, tiers: ValueTiers | None
) -> pd.DataFrame:
    """Tier, tier rank and the value score that ranks customers for the top-share VIP rule."""
    out = pd.DataFrame(index=features.index)
    if tiers is not None:
        X = value_matrix(features, scores)
        rank = tiers.predict_rank(X)
        out["tier"] = pd.Series(np.asarray(tiers.names_, dtype=object)[rank], index=X.index)
        out["tier_rank"] = rank.astype("float64")
        out["value_score"] = tiers.value_score(X)
        return out
    clv = num(scores, "predicted_clv") if "predicted_clv" in scores else None
    # without tiers, value is predicted CLV when known, else historical spend
    value = clv if clv is not None and clv.notna().any() else num(features, "monetary_total")
    out["tier"] = pd.Series(None, index=features.index, dtype=TEXT_DTYPE)
    out["tier_rank"] = np.nan
    out["value_score"] = value
    return out


def _check_inputs(frame: pd.DataFrame, catalogue: Catalogue) -> None:
    needs: dict[str, list[str]] = {}
    for key, segment in catalogue.segments.items():
        for column in (*RULES[key].inputs, *segment.records):
            if column not in frame.columns and key not in needs.get(column, []):
                needs.setdefault(column, []).append(key)
    if needs:
        detail = "; ".join(f"{c} (for {', '.join(keys)})" for c, keys in needs.items())
        raise SmssegError(f"the features frame lacks column(s) the segments need: {detail}")


def segment_masks(frame: pd.DataFrame, catalogue: Catalogue) -> dict[str, pd.Series]:
    """One boolean Series per segment key, exclusions applied."""
    raw = {
        key: RULES[key].apply(frame, seg.thresholds).reindex(frame.index).fillna(False).astype(bool)
        for key, seg in catalogue.segments.items()
    }
    masks = dict(raw)
    for key, seg in catalogue.segments.items():
        for other in seg.excludes:
            masks[key] = masks[key] & ~raw[other]
    return masks


def primary_segment(masks: dict[str, pd.Series], catalogue: Catalogue) -> pd.Series:
    """The first segment of ``catalogue.priority`` each customer is in, else the catch-all."""
    index = next(iter(masks.values())).index
    chosen = np.select(
        [masks[k].to_numpy() for k in catalogue.priority],
        list(catalogue.priority),
        default=catalogue.catch_all.key,
    )
    return pd.Series(chosen, index=index, name="primary_segment", dtype=TEXT_DTYPE)


def _joined(masks: dict[str, pd.Series]) -> pd.Series:
    index = next(iter(masks.values())).index
    joined = pd.Series("", index=index, dtype=TEXT_DTYPE)
    for key, mask in masks.items():
        joined = joined.where(~mask, joined + ";" + key)
    return joined.str.lstrip(";")


def assign_segments(
    features: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    catalogue: Catalogue | None = None,
    tiers: ValueTiers | None = None,
) -> pd.DataFrame:
    """Assign every customer to its segments and one primary segment.

    Parameters
    ----------
    features : from :func:`smsseg.features.build_features`, indexed by customer_id (or with a
        customer_id column).
    scores : churn / discount scores with customer_id, ``churn_probability`` and
        ``discount_sensitivity`` (NaN allowed); ``None``: unknown, so the score-based segments
        are empty.
    catalogue : default :func:`~smsseg.segments.load_catalogue` ().
    tiers : fitted value tiers; gives the ``tier`` column and the value the VIP rule ranks on
        (without it: predicted CLV, else historical spend).

    Returns
    -------
    DataFrame indexed by customer_id: ``is_<key>`` per segment, ``segments`` (keys joined by
    ``;``), ``primary_segment``, ``tier``, ``value_score``, the scores, then the columns the
    catalogue ``records`` (filled only for members of a segment recording them).

    Raises
    ------
    SmssegError
        Bad scores (see :func:`prepare_scores`), missing feature columns, or a ``top_tier`` VIP
        rule without tiers.
    """
    catalogue = catalogue or load_catalogue()
    features = _with_customer_index(features, "features")
    scores = prepare_scores(scores, features.index)
    if tiers is None and catalogue["vip"].thresholds["method"] == "top_tier":
        raise SmssegError("the VIP rule method='top_tier' needs fitted value tiers (tiers=...)")
    values = _value_columns(features, scores, tiers)
    extra = [c for c in scores.columns if c not in features.columns]
    frame = features.join(scores[extra]).join(values)
    _check_inputs(frame, catalogue)
    masks = segment_masks(frame, catalogue)
    out = pd.DataFrame({f"is_{k}": m for k, m in masks.items()}, index=features.index)
    out["segments"] = _joined(masks)
    out["primary_segment"] = primary_segment(masks, catalogue)
    out["tier"] = values["tier"]
    out["value_score"] = values["value_score"]
    for column in scores.columns:
        out[column] = scores[column]
    recorders: dict[str, pd.Series] = {}
    for key, segment in catalogue.segments.items():
        for column in segment.records:
            recorders[column] = recorders.get(column, False) | masks[key]
    for column, member in recorders.items():
        if column not in out.columns:
            out[column] = frame[column].where(member)
    out.index.name = "customer_id"
    return out
