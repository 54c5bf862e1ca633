"""RFM scores (1-5 quintiles) and the named RFM segment, from a declared score table.

The named segments follow the widely used R x FM grid (pymc-marketing's ``rfm_segments``,
Putler's RFM map): R is the recency score, FM the rounded mean of the frequency and monetary
scores. The grid is data (:data:`RFM_SEGMENT_GRID`), readable and overridable; a test checks it
covers each of the 25 cells exactly once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg.features.catalogue import Feature

#: Segment of a buyer with recency score R (key) and FM score 1..5 (position in the tuple).
RFM_SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential loyalist", "Loyal", "Champions", "Champions"),
    3: ("About to sleep", "Need attention", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "About to sleep", "At risk", "At risk", "Can't lose them"),
    1: ("Lost", "Hibernating", "At risk", "Can't lose them", "Can't lose them"),
}

#: Segment of customers with no completed order at the cut-off (they have no R, F or M).
NO_PURCHASE_SEGMENT = "Prospect"

#: All segment names in a fixed order (the categories of ``rfm_segment``).
RFM_SEGMENTS: tuple[str, ...] = (
    "Champions",
    "Loyal",
    "Potential loyalist",
    "New",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
    NO_PURCHASE_SEGMENT,
)

_RFM = "orders"
RFM_SCORE_FEATURES = (
    Feature(
        "r_score",
        "int",
        _RFM,
        "all history",
        "Recency quintile among buyers at the cut-off, 5 = most recent (NA: no order).",
        "rfm",
    ),
    Feature(
        "f_score",
        "int",
        _RFM,
        "all history",
        "Frequency quintile among buyers, 5 = most orders; ties share the midpoint rank.",
        "rfm",
    ),
    Feature(
        "m_score",
        "int",
        _RFM,
        "all history",
        "Monetary (total spend) quintile among buyers, 5 = highest spend.",
        "rfm",
    ),
    Feature(
        "fm_score", "int", _RFM, "all history", "round((f_score + m_score) / 2), half up.", "rfm"
    ),
    Feature(
        "rfm_segment",
        "category",
        _RFM,
        "all history",
        "Named RFM segment from the R x FM grid (Champions ... Lost; Prospect: no order yet).",
        "rfm",
    ),
)


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1-5 by quintile of the (average) rank; NA stays NA.

    With ``n`` values and average rank ``r`` (ties share their mean rank, so the score does not
    depend on row order), the score is ``floor(5 * (r - 0.5) / n) + 1``; distinct values fall
    into exact quintiles.

    Example
    -------
    >>> quintile_score(pd.Series([10, 20, 30, 40, 50])).tolist()
    [1, 2, 3, 4, 5]
    """
    array = values.to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(array)
    ranks = pd.Series(array[known]).rank(method="average", ascending=higher_is_better).to_numpy()
    scores = np.full(len(array), np.nan)
    scores[known] = np.floor(5 * (ranks - 0.5) / max(int(known.sum()), 1)) + 1
    return pd.Series(scores, index=values.index).astype("Int64")


def segment_for(
    r: pd.Series, fm: pd.Series, grid: dict[int, tuple[str, ...]] = RFM_SEGMENT_GRID
) -> pd.Series:
    """Look up the named segment of each (R, FM) pair; NA scores give :data:`NO_PURCHASE_SEGMENT`."""
    # one vectorised lookup: cell (R, FM) -> position in a flat table of 25 names (+ the catch-all)
    names = [grid[rv][f - 1] for rv in range(1, 6) for f in range(1, 6)] + [NO_PURCHASE_SEGMENT]
    codes = np.array([RFM_SEGMENTS.index(name) for name in names])
    r_num, fm_num = r.astype("float64").to_numpy(), fm.astype("float64").to_numpy()
    known = ~(np.isnan(r_num) | np.isnan(fm_num))
    cell = np.where(known, (np.nan_to_num(r_num) - 1) * 5 + np.nan_to_num(fm_num) - 1, 25).astype(
        "int64"
    )
    return pd.Series(pd.Categorical.from_codes(codes[cell], categories=RFM_SEGMENTS), index=r.index)


def add_rfm_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Add r/f/m/fm scores and ``rfm_segment`` to a frame holding recency, frequency, monetary.

    Only buyers (``frequency >= 1``) are ranked, against each other, at the same cut-off.
    """
    buyers = frame["frequency"].fillna(0) >= 1
    r = quintile_score(frame["recency_days"].where(buyers), higher_is_better=False)
    f = quintile_score(frame["frequency"].astype("float64").where(buyers))
    m = quintile_score(frame["monetary_total"].astype("float64").where(buyers))
    fm = pd.Series(
        np.floor((f.astype("float64") + m.astype("float64")) / 2 + 0.5), index=frame.index
    ).astype("Int64")
    return frame.assign(
        r_score=r, f_score=f, m_score=m, fm_score=fm, rfm_segment=segment_for(r, fm)
    )


def segment_table(grid: dict[int, tuple[str, ...]] = RFM_SEGMENT_GRID) -> pd.DataFrame:
    """The grid as a frame (rows R 5..1, columns FM 1..5), for the docs and the notebook."""
    frame = pd.DataFrame.from_dict(grid, orient="index", columns=[f"FM={i}" for i in range(1, 6)])
    frame.index.name = "R"
    return frame
