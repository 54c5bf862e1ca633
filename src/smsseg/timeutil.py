"""The one reading of an as-of instant, shared by every command and stage.

``--as-of`` takes a date (``2025-12-31``: 00:00 UTC of that day, so the day itself is *not*
included), a naive timestamp (taken as UTC, the data contract's convention), or a timestamp with
``Z`` or an offset (``2025-12-31T23:00:00+05:00``: converted to UTC). Every stage compares it
with naive-UTC columns, so the parsed value is always a naive UTC :class:`pandas.Timestamp`.

Why not ``pd.Timestamp(text)``: it also reads ``12/01/2025`` (as 1 December, wherever the user
lives), ``2025`` (as 1 January), ``now`` and ``today`` (the clock, a different cut-off each run)
and integers (as nanoseconds since 1970); an as-of read wrongly moves the cut-off silently.
Only ISO 8601 is accepted here.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from smsseg.errors import SmssegError

#: ``--help`` of every ``--as-of`` option.
AS_OF_HELP = (
    "Cut-off instant, UTC: a date means 00:00 of that day, which leaves the day itself out "
    "(pass the next day to include it); or an ISO timestamp, naive (UTC), with Z or an offset."
)
#: Spellings quoted by the error message, one of each accepted form.
EXAMPLES = "2025-12-31, 2025-12-31T18:30, 2025-12-31T18:30Z or 2025-12-31T18:30+05:00"


def _not_an_instant(value: object, name: str, why: str = "") -> SmssegError:
    return SmssegError(
        f"{name}={value!r} is not a date or timestamp{why}; use ISO 8601, e.g. {EXAMPLES} "
        "(a date means 00:00 UTC of that day; a time without Z or an offset is UTC)"
    )


def parse_as_of(value: object, name: str = "as_of") -> pd.Timestamp:
    """The instant ``value`` names, as a naive UTC timestamp (microsecond precision).

    Parameters
    ----------
    value : str, datetime, date, numpy.datetime64 or Timestamp
        ISO 8601 text: a date (00:00 UTC of that day), a naive timestamp (UTC), or a timestamp
        with ``Z`` or an offset (converted to UTC). Time-zone-aware objects are converted too.
    name : how the value is called in error messages (``"--as-of"`` on the command line).

    Returns
    -------
    pandas.Timestamp
        Naive, in UTC.

    Raises
    ------
    SmssegError
        When ``value`` is missing, not ISO 8601, or out of pandas' range; one wording for
        every command.

    Examples
    --------
    >>> parse_as_of("2025-12-31T23:00:00+05:00")
    Timestamp('2025-12-31 18:00:00')
    >>> parse_as_of("2026-01-01") == parse_as_of("2026-01-01T00:00Z")
    True
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SmssegError(
            f"{name} is required, e.g. {name}=2026-01-01 (smsseg never defaults to the last date "
            "in the data)"
        )
    if isinstance(value, str):
        try:
            parsed: object = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _not_an_instant(value, name) from None
    elif isinstance(value, datetime | date | np.datetime64):  # pd.Timestamp is a datetime
        parsed = value
    else:  # numbers would be read as nanoseconds since 1970, booleans as 0 or 1
        raise _not_an_instant(value, name)
    try:
        ts = pd.Timestamp(parsed)
    except (ValueError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        raise _not_an_instant(value, name, " pandas can represent") from None
    if pd.isna(ts):
        raise _not_an_instant(value, name)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.floor("us")


def format_instant(ts: pd.Timestamp) -> str:
    """An instant as compact ISO 8601 in UTC: ``2025-12-31T00:00Z``, seconds only when set."""
    ts = parse_as_of(ts)
    if ts.microsecond:
        return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ" if ts.second else "%Y-%m-%dT%H:%MZ")


def as_of_label(ts: pd.Timestamp) -> str:
    """A short label for titles: the date when the instant is midnight, else the full instant."""
    ts = parse_as_of(ts)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else format_instant(ts)


def day_name(day: pd.Timestamp) -> str:
    """``31 December 2025``: a day named without the ISO form users misread as an instant."""
    return f"{day.day} {day:%B %Y}"
