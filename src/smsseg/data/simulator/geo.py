"""Where customers live: countries, regions, IANA time zones, cities, postal codes, phones, stores.

Phone numbers are fake but well formed: US/CA numbers use the fictional 555 exchange, other
countries use the mobile ranges of libphonenumber's example numbers, so that
``phonenumbers.is_valid_number`` accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# country, region (ISO 3166-2), IANA zone, standard UTC offset (hours), city, share, area code
_PLACES: tuple[tuple[str, str, str, float, str, float, str], ...] = (
    ("US", "US-NY", "America/New_York", -5, "New York", 0.060, "212"),
    ("US", "US-NY", "America/New_York", -5, "Buffalo", 0.010, "716"),
    ("US", "US-MA", "America/New_York", -5, "Boston", 0.025, "617"),
    ("US", "US-FL", "America/New_York", -5, "Miami", 0.035, "305"),
    ("US", "US-GA", "America/New_York", -5, "Atlanta", 0.025, "404"),
    ("US", "US-PA", "America/New_York", -5, "Philadelphia", 0.025, "215"),
    ("US", "US-IL", "America/Chicago", -6, "Chicago", 0.040, "312"),
    ("US", "US-TX", "America/Chicago", -6, "Houston", 0.035, "713"),
    ("US", "US-TX", "America/Chicago", -6, "Dallas", 0.030, "214"),
    ("US", "US-MN", "America/Chicago", -6, "Minneapolis", 0.015, "612"),
    ("US", "US-CO", "America/Denver", -7, "Denver", 0.020, "303"),
    ("US", "US-UT", "America/Denver", -7, "Salt Lake City", 0.010, "801"),
    ("US", "US-AZ", "America/Phoenix", -7, "Phoenix", 0.020, "602"),
    ("US", "US-CA", "America/Los_Angeles", -8, "Los Angeles", 0.050, "213"),
    ("US", "US-CA", "America/Los_Angeles", -8, "San Francisco", 0.025, "415"),
    ("US", "US-WA", "America/Los_Angeles", -8, "Seattle", 0.020, "206"),
    ("US", "US-OR", "America/Los_Angeles", -8, "Portland", 0.010, "503"),
    ("GB", "GB-ENG", "Europe/London", 0, "London", 0.070, ""),
    ("GB", "GB-ENG", "Europe/London", 0, "Manchester", 0.025, ""),
    ("GB", "GB-SCT", "Europe/London", 0, "Edinburgh", 0.015, ""),
    ("DE", "DE-BE", "Europe/Berlin", 1, "Berlin", 0.040, ""),
    ("DE", "DE-BY", "Europe/Berlin", 1, "München", 0.030, ""),
    ("DE", "DE-HH", "Europe/Berlin", 1, "Hamburg", 0.020, ""),
    ("FR", "FR-IDF", "Europe/Paris", 1, "Paris", 0.050, ""),
    ("FR", "FR-ARA", "Europe/Paris", 1, "Lyon", 0.020, ""),
    ("CA", "CA-ON", "America/Toronto", -5, "Toronto", 0.035, "416"),
    ("CA", "CA-BC", "America/Vancouver", -8, "Vancouver", 0.020, "604"),
    ("CA", "CA-AB", "America/Edmonton", -7, "Calgary", 0.010, "403"),
    ("CA", "CA-NS", "America/Halifax", -4, "Halifax", 0.005, "902"),
    ("AU", "AU-NSW", "Australia/Sydney", 10, "Sydney", 0.030, ""),
    ("AU", "AU-VIC", "Australia/Melbourne", 10, "Melbourne", 0.025, ""),
    ("AU", "AU-QLD", "Australia/Brisbane", 10, "Brisbane", 0.010, ""),
    ("AU", "AU-WA", "Australia/Perth", 8, "Perth", 0.008, ""),
    ("AU", "AU-SA", "Australia/Adelaide", 9.5, "Adelaide", 0.007, ""),
    ("NL", "NL-NH", "Europe/Amsterdam", 1, "Amsterdam", 0.025, ""),
    ("ES", "ES-MD", "Europe/Madrid", 1, "Madrid", 0.020, ""),
    ("ES", "ES-CT", "Europe/Madrid", 1, "Barcelona", 0.015, ""),
)

# phone prefix (before the random digits) and number of random digits, by country
_PHONE: dict[str, tuple[str, int]] = {
    "GB": ("+447400", 6),
    "DE": ("+49176", 8),
    "FR": ("+3361", 7),
    "AU": ("+6141", 7),
    "NL": ("+3161", 7),
    "ES": ("+346", 8),
}

POSTAL_CODES_PER_CITY = 25
STORES_PER_CITY = 2


@dataclass(frozen=True)
class Places:
    """The place table as arrays (one row per city) plus the derived string dictionaries."""

    country: pa.Array
    region: pa.Array
    timezone: pa.Array
    city: pa.Array
    offset_days: np.ndarray
    share: np.ndarray
    phone_prefix: pa.Array  # e.g. "+1212555" or "+447400"
    phone_digits: np.ndarray
    postal: pa.Array  # POSTAL_CODES_PER_CITY codes per city, city-major
    stores: pa.Array  # STORES_PER_CITY store ids per city, city-major

    @property
    def n(self) -> int:
        return len(self.share)


def _postal_code(country: str, city: str, city_index: int, k: int, rng: np.random.Generator) -> str:
    """A plausible postal code for the country (formats only; not real addresses)."""
    letters = list("ABDEFGHJLNPQRSTUWXYZ")

    def letter() -> str:
        return str(rng.choice(letters))

    if country == "US":
        return f"{10000 + 2777 * city_index % 89000 + k * 7:05d}"
    if country == "GB":
        area = {"London": "SW", "Manchester": "M", "Edinburgh": "EH"}[city]
        return f"{area}{1 + k % 20} {rng.integers(1, 10)}{letter()}{letter()}"
    if country == "CA":
        first = {"Toronto": "M", "Vancouver": "V", "Calgary": "T", "Halifax": "B"}[city]
        return f"{first}{rng.integers(1, 10)}{letter()} {rng.integers(1, 10)}{letter()}{rng.integers(1, 10)}"
    if country == "AU":
        return f"{2000 + 1000 * (city_index % 5) + k * 3:04d}"
    if country == "NL":
        return f"{1011 + k * 7} {letter()}{letter()}"
    return f"{10000 + 1013 * city_index % 80000 + k * 11:05d}"


@cache
def places() -> Places:
    """The (fixed, seed-independent) place table."""
    rng = np.random.default_rng(20240101)
    rows = _PLACES
    share = np.array([r[5] for r in rows])
    prefixes, digits, postal, stores = [], [], [], []
    for i, (country, _region, _tz, _off, city, _share, area) in enumerate(rows):
        if area:
            prefixes.append(f"+1{area}555")
            digits.append(4)
        else:
            prefix, n = _PHONE[country]
            prefixes.append(prefix)
            digits.append(n)
        postal += [_postal_code(country, city, i, k, rng) for k in range(POSTAL_CODES_PER_CITY)]
        slug = "".join(ch for ch in city.upper() if ch.isalpha())[:3]
        stores += [f"ST-{country}-{slug}-{k + 1:02d}" for k in range(STORES_PER_CITY)]
    return Places(
        country=pa.array([r[0] for r in rows]),
        region=pa.array([r[1] for r in rows]),
        timezone=pa.array([r[2] for r in rows]),
        city=pa.array([r[4] for r in rows]),
        offset_days=np.array([r[3] for r in rows], dtype=float) / 24.0,
        share=share / share.sum(),
        phone_prefix=pa.array(prefixes),
        phone_digits=np.array(digits),
        postal=pa.array(postal),
        stores=pa.array(stores),
    )


def phone_numbers(rng: np.random.Generator, place: np.ndarray, status: np.ndarray) -> pa.Array:
    """E.164 numbers for customers at ``place``; ``status`` 1 = missing, 2 = malformed.

    Malformed numbers are realistic data-entry slips: the leading ``+`` is dropped, which
    breaks E.164 (the loader warns; such customers cannot receive SMS).
    """
    table = places()
    n_digits = table.phone_digits[place]
    subscriber = np.floor(rng.random(place.size) * 10.0**n_digits).astype(np.int64)
    # pad each number to its own width: pad to 8 and cut the excess on the left
    padded = pc.utf8_lpad(pa.array(subscriber).cast(pa.string()), 8, "0")
    cut = pc.utf8_slice_codeunits(padded, start=0, stop=8)  # already exactly 8 characters
    starts = 8 - n_digits
    tails = [pc.utf8_slice_codeunits(cut, start=int(s)) for s in np.unique(starts)]
    tail = (
        tails[0] if len(tails) == 1 else _choose(tails, np.searchsorted(np.unique(starts), starts))
    )
    phone = pc.binary_join_element_wise(table.phone_prefix.take(pa.array(place)), tail, "")
    malformed = pc.utf8_slice_codeunits(phone, start=1)
    phone = pc.if_else(pa.array(status == 2), malformed, phone)
    return pc.if_else(pa.array(status == 1), pa.nulls(len(phone), pa.string()), phone)


def _choose(options: list[pa.Array], which: np.ndarray) -> pa.Array:
    out = options[0]
    for k in range(1, len(options)):
        out = pc.if_else(pa.array(which == k), options[k], out)
    return out
