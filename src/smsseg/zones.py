"""Customer time zones and the quiet-hours window in UTC.

Shared by the importers (which fill ``customers.timezone`` where an address names exactly one
zone) and activation (quiet hours); it depends on nothing else in smsseg.

Each customer gets a tuple of *candidate* IANA zones, from the first source that gives any:

1. ``customers.timezone`` when it is a valid IANA name (one zone);
2. the region, for countries spanning several zones (US states, Canadian provinces, Australian
   states; :data:`REGION_ZONES`, accepting ``US-CA``, ``CA`` or ``California``); a region that
   itself spans zones (Texas, Florida, ...) lists all of them;
3. the country: every zone of that country in the IANA ``zone.tab`` shipped with ``tzdata``.

A send is allowed only at an instant that lies inside the quiet-hours window in *every* candidate
zone (the intersection of the windows), so a missing time zone never lets a message through at
night: a US customer without region is texted 14:00-20:00 Eastern in summer (08:00-14:00 Hawaii).
When the intersection is empty (a narrow window over a wide country, or the US Minor Outlying
Islands from Midway to Wake) or no zone is known, the customer is not sendable (reason
``unknown_time_zone``). The first candidate is the *reference* zone the plan reports.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pandas as pd

_NY, _CHI, _DEN, _PHX, _LA = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
)

#: Zones of the regions of multi-zone countries: (country, region code) → zones, first = main one.
#: Declared by hand because no installed library maps ISO 3166-2 subdivisions to IANA zones
#: (``zone.tab`` only names countries); regions not listed fall back to the whole country.
REGION_ZONES: dict[tuple[str, str], tuple[str, ...]] = {
    **{("US", s): (_NY,) for s in "CT DC DE GA MA MD ME NC NH NJ NY OH PA RI SC VA VT WV".split()},
    **{("US", s): (_CHI,) for s in "AL AR IA IL LA MN MO MS OK WI".split()},
    **{("US", s): (_DEN,) for s in "CO MT NM UT WY".split()},
    **{("US", s): (_LA,) for s in "CA NV WA".split()},
    ("US", "AZ"): (_PHX, _DEN),  # Navajo Nation observes DST
    ("US", "FL"): (_NY, _CHI),
    ("US", "IN"): ("America/Indiana/Indianapolis", _CHI),
    ("US", "KY"): (_NY, _CHI),
    ("US", "MI"): ("America/Detroit", _CHI),
    ("US", "TN"): (_CHI, _NY),
    ("US", "TX"): (_CHI, _DEN),
    ("US", "KS"): (_CHI, _DEN),
    ("US", "NE"): (_CHI, _DEN),
    ("US", "ND"): (_CHI, _DEN),
    ("US", "SD"): (_CHI, _DEN),
    ("US", "ID"): ("America/Boise", _LA),
    ("US", "OR"): (_LA, "America/Boise"),
    ("US", "AK"): ("America/Anchorage", "America/Adak"),
    ("US", "HI"): ("Pacific/Honolulu",),
    ("CA", "ON"): ("America/Toronto", "America/Winnipeg"),
    ("CA", "QC"): ("America/Toronto", "America/Halifax"),
    ("CA", "BC"): ("America/Vancouver", "America/Edmonton"),
    ("CA", "AB"): ("America/Edmonton",),
    ("CA", "SK"): ("America/Regina", "America/Edmonton"),
    ("CA", "MB"): ("America/Winnipeg",),
    ("CA", "NB"): ("America/Moncton",),
    ("CA", "NS"): ("America/Halifax",),
    ("CA", "PE"): ("America/Halifax",),
    ("CA", "NL"): ("America/St_Johns", "America/Goose_Bay"),
    ("CA", "YT"): ("America/Whitehorse",),
    ("CA", "NT"): ("America/Yellowknife", "America/Inuvik"),
    ("CA", "NU"): ("America/Iqaluit", "America/Rankin_Inlet", "America/Cambridge_Bay"),
    ("AU", "NSW"): ("Australia/Sydney", "Australia/Broken_Hill"),
    ("AU", "ACT"): ("Australia/Sydney",),
    ("AU", "VIC"): ("Australia/Melbourne",),
    ("AU", "QLD"): ("Australia/Brisbane",),
    ("AU", "SA"): ("Australia/Adelaide",),
    ("AU", "WA"): ("Australia/Perth", "Australia/Eucla"),
    ("AU", "TAS"): ("Australia/Hobart",),
    ("AU", "NT"): ("Australia/Darwin",),
}

#: Region names accepted besides the codes (lower case) → code.
REGION_NAMES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
    "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
    "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "ontario": "ON", "quebec": "QC", "british columbia": "BC", "alberta": "AB",
    "saskatchewan": "SK", "manitoba": "MB", "new brunswick": "NB", "nova scotia": "NS",
    "prince edward island": "PE", "newfoundland and labrador": "NL", "yukon": "YT",
    "northwest territories": "NT", "nunavut": "NU", "new south wales": "NSW",
    "australian capital territory": "ACT", "victoria": "VIC", "queensland": "QLD",
    "south australia": "SA", "western australia": "WA", "tasmania": "TAS",
    "northern territory": "NT",
}  # fmt: skip


@functools.cache
def country_zones() -> dict[str, tuple[str, ...]]:
    """Country code → its IANA zones, in ``zone.tab`` order (the first is the most populous)."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            zones.setdefault(parts[0], []).append(parts[2])
    return {k: tuple(v) for k, v in zones.items()}


@functools.cache
def _valid_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _region_code(country: str, region: str) -> str:
    region = region.strip()
    if region.upper().startswith(country + "-"):
        region = region[len(country) + 1 :]
    return REGION_NAMES.get(region.lower(), region.upper())


def candidate_zones(
    timezone: object, country: object, region: object
) -> tuple[tuple[str, ...], str]:
    """Candidate zones of one customer and where they came from.

    Returns
    -------
    (zones, source) : ``source`` is ``"timezone"``, ``"region"``, ``"country"`` or ``"unknown"``
        (then ``zones`` is empty).
    """
    if isinstance(timezone, str) and timezone.strip() in _valid_zones():
        return (timezone.strip(),), "timezone"
    country = country.strip().upper() if isinstance(country, str) else ""
    if country and isinstance(region, str) and region.strip():
        zones = REGION_ZONES.get((country, _region_code(country, region)))
        if zones:
            return zones, "region"
    zones = country_zones().get(country)
    if zones:
        return zones, "country"
    return (), "unknown"


def resolve_zones(customers: pd.DataFrame) -> pd.DataFrame:
    """Candidate zones of every customer.

    Parameters
    ----------
    customers : frame with ``customer_id`` and, optionally, ``timezone``, ``country``, ``region``.

    Returns
    -------
    DataFrame with ``customer_id``, ``zones`` (tuple of IANA names), ``timezone`` (reference zone
    or ``None``) and ``timezone_source``.
    """
    cols = {c: customers[c] if c in customers else pd.Series(None, index=customers.index, dtype=object)
            for c in ("timezone", "country", "region")}  # fmt: skip
    keys = pd.DataFrame({c: s.astype(object).where(s.notna(), None) for c, s in cols.items()})
    cache: dict[tuple, tuple[tuple[str, ...], str]] = {}
    zones, sources = [], []
    for key in keys.itertuples(index=False, name=None):
        if key not in cache:
            cache[key] = candidate_zones(*key)
        zones.append(cache[key][0])
        sources.append(cache[key][1])
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy(),
            "zones": zones,
            "timezone": [z[0] if z else None for z in zones],
            "timezone_source": sources,
        }
    )


def _localize(day: date, at: time, zone: str) -> pd.Timestamp:
    # a wall time that does not exist (DST gap) moves forward: never earlier than asked
    naive = pd.Timestamp(datetime.combine(day, at))
    return naive.tz_localize(ZoneInfo(zone), nonexistent="shift_forward", ambiguous=True)


@functools.lru_cache(maxsize=65536)
def send_instant(
    zones: tuple[str, ...], day: date, preferred: time, start: time, end: time
) -> pd.Timestamp | None:
    """The UTC instant to send on local ``day`` to a customer with candidate ``zones``.

    The instant is ``preferred`` wall time in the reference zone, moved into the intersection of
    the ``[start, end)`` windows of all candidate zones (to its start when too early, to one minute
    before its end when too late). ``None`` when the intersection is empty.
    """
    if not zones:
        return None
    lo = max(_localize(day, start, z) for z in zones)
    hi = min(_localize(day, end, z) for z in zones)
    last = hi - timedelta(minutes=1)
    if last < lo:
        return None
    want = _localize(day, preferred, zones[0])
    return min(max(want, lo), last).tz_convert("UTC")


def is_quiet_time(instant: pd.Timestamp, zone: str, start: time, end: time) -> bool:
    """Whether a UTC ``instant`` lies inside ``[start, end)`` local time in ``zone``."""
    local = instant.tz_convert(ZoneInfo(zone)).time()
    return start <= local < end


def check_zone(name: str) -> bool:
    """Whether ``name`` is a valid IANA zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
