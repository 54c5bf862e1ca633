"""Time zones from timezone / region / country, and send instants inside quiet hours."""

from datetime import date, time

import pandas as pd
import pytest

from smsseg.zones import candidate_zones, country_zones, is_quiet_time, send_instant

EIGHT, TWENTY = time(8), time(20)


@pytest.mark.parametrize(
    ("tz", "country", "region", "zones", "source"),
    [
        ("Europe/Paris", "US", "US-CA", ("Europe/Paris",), "timezone"),
        ("Mars/Olympus", "US", "US-CA", ("America/Los_Angeles",), "region"),
        (None, "US", "US-CA", ("America/Los_Angeles",), "region"),
        (None, "us", "California", ("America/Los_Angeles",), "region"),
        (None, "US", "TX", ("America/Chicago", "America/Denver"), "region"),
        (None, "CA", "CA-ON", ("America/Toronto", "America/Winnipeg"), "region"),
        (None, "GB", "GB-ENG", ("Europe/London",), "country"),
        (None, "DE", None, ("Europe/Berlin", "Europe/Busingen"), "country"),
        (None, "XX", None, (), "unknown"),
        (None, None, None, (), "unknown"),
    ],
    ids=["timezone", "invalid-tz", "us-state", "state-name", "multi-zone-state", "province",
         "single-zone-country", "zone-tab", "unknown-country", "nothing"],
)  # fmt: skip
def test_candidate_zones_precedence(tz, country, region, zones, source):
    assert candidate_zones(tz, country, region) == (zones, source)


def test_us_without_region_gets_all_us_zones():
    zones, source = candidate_zones(None, "US", None)
    assert source == "country" and zones == country_zones()["US"]
    assert {"America/New_York", "Pacific/Honolulu", "America/Los_Angeles"} <= set(zones)


def test_send_instant_uses_the_preferred_time_when_allowed():
    t = send_instant(("America/New_York",), date(2025, 7, 1), time(11), EIGHT, TWENTY)
    assert t == pd.Timestamp("2025-07-01 15:00", tz="UTC")  # EDT = UTC-4


@pytest.mark.parametrize(
    ("preferred", "expected_local"),
    [(time(6), "08:00"), (time(21), "19:59"), (time(20), "19:59")],
    ids=["too-early", "too-late", "at-end"],
)
def test_send_instant_moves_into_the_window(preferred, expected_local):
    t = send_instant(("Europe/London",), date(2025, 1, 15), preferred, EIGHT, TWENTY)
    assert t.tz_convert("Europe/London").strftime("%H:%M") == expected_local


def test_send_instant_is_inside_quiet_hours_in_every_candidate_zone():
    zones = country_zones()["US"]  # New York (UTC-4 in July) to Adak / Honolulu (UTC-9 / -10)
    t = send_instant(zones, date(2025, 7, 1), time(10), EIGHT, TWENTY)
    assert all(is_quiet_time(t, z, EIGHT, TWENTY) for z in zones)
    # 08:00 Honolulu is the earliest instant allowed everywhere: 14:00 New York
    assert t.tz_convert("America/New_York").strftime("%H:%M") == "14:00"


def test_send_instant_is_none_without_a_common_window():
    zones = country_zones()["RU"]  # UTC+2 (Kaliningrad) .. UTC+12 (Kamchatka)
    # a 12-hour window still overlaps (2 hours), a 3-hour one cannot
    t = send_instant(zones, date(2025, 7, 1), time(10), EIGHT, TWENTY)
    assert t is not None and all(is_quiet_time(t, z, EIGHT, TWENTY) for z in zones)
    assert send_instant(zones, date(2025, 7, 1), time(10), time(9), time(12)) is None
    assert send_instant((), date(2025, 7, 1), time(10), EIGHT, TWENTY) is None


@pytest.mark.parametrize("day", [date(2025, 3, 9), date(2025, 11, 2)], ids=["spring", "fall"])
def test_send_instant_on_dst_change_days(day):
    t = send_instant(("America/New_York",), day, time(9), EIGHT, TWENTY)
    assert t.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M") == f"{day} 09:00"
