"""Vectorised building blocks: ragged ranges, Poisson-process thinning, times of day, ids."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: local hour-of-day profiles (shares of activity per hour, 0..23)
_BROWSE_HOURS = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.5,
        1,
        2,
        3,
        3.5,
        4,
        4.5,
        5.5,
        5.5,
        5,
        4.5,
        4.5,
        5,
        6,
        7,
        7.5,
        7,
        5,
        2.5,
    ]
)
BROWSE_HOUR_CDF = np.cumsum(_BROWSE_HOURS) / _BROWSE_HOURS.sum()
#: the brand sends marketing SMS between 10:00 and 19:59 local time (quiet hours respected)
SEND_HOURS = (10, 20)


def ragged_arange(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts ``[2, 0, 3]``: owners ``[0, 0, 2, 2, 2]`` and positions ``[0, 1, 0, 1, 2]``."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    position = np.arange(owner.size, dtype=np.int64) - first[owner]
    return owner, position


def thin_poisson(
    rng: np.random.Generator,
    start: np.ndarray,
    stop: np.ndarray,
    bound: np.ndarray,
    intensity: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Points of an inhomogeneous Poisson process per customer, by thinning (Lewis-Shedler).

    Candidates are drawn at the constant rate ``bound`` on ``[start, stop)`` and kept with
    probability ``intensity(owner, t) / bound``; ``intensity`` must not exceed ``bound``.
    Returns (owner, time), grouped by owner.
    """
    length = np.maximum(stop - start, 0.0)
    owner, _ = ragged_arange(rng.poisson(bound * length))
    t = start[owner] + rng.random(owner.size) * length[owner]
    keep = rng.random(owner.size) * bound[owner] < intensity(owner, t)
    return owner[keep], t[keep]


def local_time_of_day(
    rng: np.random.Generator, n: int, cdf: np.ndarray = BROWSE_HOUR_CDF
) -> np.ndarray:
    """Local times of day (fractions of a day) drawn from an hourly profile."""
    hour = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return (np.minimum(hour, 23) + rng.random(n)) / 24.0


def reshape_time_of_day(
    rng: np.random.Generator, t: np.ndarray, offset_days: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """Move each time to a realistic local hour on the same UTC day (except where ``keep``).

    The daily counts, which the oracle's formulas rely on, are unchanged; only the hour moves.
    """
    day = np.floor(t)
    utc = np.mod(local_time_of_day(rng, t.size) - offset_days, 1.0)
    return np.where(keep, t, day + np.minimum(utc, 1.0 - 1e-9))


def send_time(rng: np.random.Generator, day: np.ndarray, offset_days: np.ndarray) -> np.ndarray:
    """A marketing send on ``day`` at a random minute of the local sending hours, in UTC days."""
    lo, hi = SEND_HOURS
    local = (lo + rng.random(day.size) * (hi - lo)) / 24.0
    return day + local - offset_days


def sample_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row of ``weights`` (n, k), with probability proportional to it."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def first_per_owner(owner: np.ndarray, values: np.ndarray, n: int, fill: float) -> np.ndarray:
    """Smallest value per owner (``fill`` where an owner has none)."""
    out = np.full(n, fill)
    np.minimum.at(out, owner, values)
    return out


def last_per_owner(owner: np.ndarray, values: np.ndarray, n: int, fill: float) -> np.ndarray:
    out = np.full(n, fill)
    np.maximum.at(out, owner, values)
    return out


def prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, built in Arrow (C++) rather than Python strings."""
    digits = pc.utf8_lpad(
        pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def take(dictionary: pa.Array, index: np.ndarray) -> pa.Array:
    """``dictionary[index]``, null where ``index < 0``."""
    index = np.asarray(index, dtype=np.int64)
    if (index < 0).any():
        return dictionary.take(pa.array(index, mask=index < 0))
    return dictionary.take(pa.array(index))
