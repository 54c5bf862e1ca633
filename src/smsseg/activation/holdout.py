"""Control groups: who is held out of a campaign, and why the sunset flow's holdout is sticky.

Two designs, each where it fits:

* **Campaign holdouts** (:func:`assign_holdout`) are a seeded complete randomisation per campaign:
  exactly ``round(share * n)`` of its ``n`` customers, a fresh draw every plan. A campaign is a
  one-off experiment, and a fixed count keeps its control share within ``1 / (2n)``.
* **The sunset flow's holdout** (:func:`hashed_holdout`) must persist. A dormant customer held
  out of the final reactivation message has no such message in the history, so the next plan
  targets them again; with a fresh draw nearly all of them would get it within a few plans and
  the control group would measure nothing. Each customer is instead assigned by a hash of
  :data:`SUNSET_HOLDOUT_KEY` and their id, as experimentation platforms bucket users
  (``hash(experiment key, user id)``): the same customer is held out at every plan, with no
  state to store, lose or pass between runs (a ``holdouts.parquet`` read from the previous plan
  folder would break silently the first time someone forgot to pass it). The share is a
  Bernoulli draw per customer rather than an exact count, and nested: raising ``share`` keeps
  every customer held out before. The key ignores ``seed``, so a new seed for the campaign draws
  does not reshuffle the dormant control group.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: Salt of the sunset flow's sticky holdout; changing it starts a new dormant control group.
SUNSET_HOLDOUT_KEY = "sunset-flow"


def assign_holdout(sends: pd.DataFrame, share: float, seed: int) -> pd.Series:
    """Seeded control group per campaign: exactly ``round(share * n)`` of its ``n`` customers.

    Complete randomisation (a fixed count, not coin flips) keeps each campaign's control share
    within ``1 / (2n)`` of ``share``. The draw of a campaign depends only on ``seed``, its id and
    its customers, not on the other campaigns of the plan.
    """
    holdout = pd.Series(False, index=sends.index)
    for cid, group in sends.groupby("campaign_id", sort=True):
        ids = group["customer_id"].sort_values(kind="stable")
        rng = np.random.default_rng([seed, zlib.crc32(str(cid).encode())])
        k = int(round(share * len(ids)))
        chosen = rng.choice(len(ids), size=k, replace=False) if k else []
        holdout[ids.index[chosen]] = True
    return holdout


def hash_unit(customer_ids: Iterable[object], key: str) -> np.ndarray:
    """A uniform number in ``[0, 1)`` per customer, fixed by ``key`` and the id alone.

    SHA-256 rather than Python's ``hash`` (salted per process) or pandas' hashing (not promised
    stable across versions): the same customer must land in the same bucket on every machine
    and release.
    """
    out = [
        int.from_bytes(hashlib.sha256(f"{key}:{cid}".encode()).digest()[:8], "big") / 2.0**64
        for cid in customer_ids
    ]
    return np.asarray(out, dtype=float)


def hashed_holdout(
    customer_ids: pd.Series, share: float, key: str = SUNSET_HOLDOUT_KEY
) -> pd.Series:
    """Sticky control group: customer ``c`` is held out when ``hash_unit(c, key) < share``.

    Parameters
    ----------
    customer_ids : customers to assign (any index; the result shares it).
    share : control share in ``[0, 1)``.
    key : the experiment's salt (default: the sunset flow's).

    Returns
    -------
    Series of bool on ``customer_ids.index``.

    Example
    -------
    >>> ids = pd.Series([f"c{i}" for i in range(1000)])
    >>> held = hashed_holdout(ids, 0.1)
    >>> bool(held.equals(hashed_holdout(ids[::-1], 0.1).sort_index()))  # order does not matter
    True
    >>> bool((held <= hashed_holdout(ids, 0.2)).all())  # nested: a bigger share keeps them
    True
    """
    unit = hash_unit(customer_ids.astype(str).tolist(), key)
    return pd.Series(unit < share, index=customer_ids.index, dtype=bool)


def draw_holdouts(
    sends: pd.DataFrame, share: float, seed: int, sticky_message_types: Iterable[str]
) -> pd.Series:
    """Holdout flag of every scheduled send: sticky for the sunset flow, per campaign otherwise.

    Rows whose ``message_type`` is one of ``sticky_message_types`` (the final reactivation and
    the sunset survey) use :func:`hashed_holdout`; the others :func:`assign_holdout`, drawn
    among the campaign's other rows. One key for the whole flow means a customer who got the
    final message also gets the survey, and one held out of it is never surveyed.
    """
    sticky = sends["message_type"].isin(list(sticky_message_types)).to_numpy()
    holdout = pd.Series(False, index=sends.index)
    for drawn in (
        assign_holdout(sends[~sticky], share, seed),
        hashed_holdout(sends.loc[sticky, "customer_id"], share),
    ):
        holdout.loc[drawn.index] = drawn.to_numpy(dtype=bool)
    return holdout
