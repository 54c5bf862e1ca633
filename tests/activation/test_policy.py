"""The activation policy: defaults from the guide, validation, TOML overrides, catalogue caps."""

from types import SimpleNamespace

import pytest

from smsseg.activation.inputs import apply_catalogue, catalogue_settings, load_policy
from smsseg.activation.policy import (
    DEFAULT_GOALS,
    GOAL_KEYS,
    SEGMENT_KEYS,
    ActivationPolicy,
    PolicyError,
    QuietHours,
    is_holiday,
    resolve_segment_caps,
)
from smsseg.segments.catalogue import load_catalogue


def test_defaults_follow_the_guide():
    policy = ActivationPolicy()
    assert (policy.quiet_hours.start, policy.quiet_hours.end) == ("08:00", "20:00")
    assert (policy.engaged_cap_per_week, policy.active_cap_per_week) == (4, 3)
    assert resolve_segment_caps(policy) == {"vip": 2, "at_risk": 1, "dormant": 1}
    assert GOAL_KEYS == (
        "recover_abandoned_carts", "back_in_stock", "re_engage_inactive", "reduce_churn",
        "protect_high_value", "promote_flash_sale", "loyalty_engagement",
        "drive_repeat_purchases", "local_marketing", "improve_engagement",
    )  # fmt: skip
    targeted = {t.segment for g in DEFAULT_GOALS for t in g.targets}
    assert targeted == set(SEGMENT_KEYS)  # every segment is reachable by some goal


def test_cap_precedence_policy_over_catalogue_over_defaults():
    policy = ActivationPolicy(segment_caps={"vip": 1})
    caps = resolve_segment_caps(policy, {"vip": 2, "at_risk": 2, "loyalty_member": 2})
    assert caps == {"vip": 1, "at_risk": 2, "dormant": 1, "loyalty_member": 2}


def test_catalogue_settings_read_caps_and_sunset_length():
    def seg(cap, sunset=0):
        return SimpleNamespace(frequency_cap_per_week=cap, sunset_after_messages=sunset)

    catalogue = SimpleNamespace(segments={"vip": seg(2), "dormant": seg(1, sunset=2)})
    assert catalogue_settings(catalogue) == ({"vip": 2, "dormant": 1}, 2)
    policy, caps = apply_catalogue(ActivationPolicy(), catalogue)
    assert policy.sunset_survey is True and caps["vip"] == 2
    explicit, _ = apply_catalogue(ActivationPolicy(sunset_survey=False), catalogue)
    assert explicit.sunset_survey is False
    assert apply_catalogue(ActivationPolicy(), None) == (ActivationPolicy(), {})


def test_the_real_catalogue_is_read():
    catalogue = load_catalogue()
    caps, sunset = catalogue_settings(catalogue)
    assert caps["dormant"] == 1 and set(caps) == set(SEGMENT_KEYS) and sunset >= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"daily_cap": 0}, "daily_cap=0 must be an integer >= 1"),
        ({"horizon_days": 2.5}, "horizon_days=2.5 must be an integer >= 1"),
        ({"segment_caps": {"vipp": 1}}, "unknown segment 'vipp'"),
        ({"segment_caps": {"vip": -1}}, r"segment_caps\['vip'\]=-1 must be an integer >= 0"),
        ({"sunset_survey": "yes"}, "sunset_survey='yes' must be true or false"),
    ],
    ids=["daily-0", "horizon-float", "unknown-segment", "negative-cap", "survey-str"],
)
def test_policy_values_are_checked(kwargs, message):
    with pytest.raises(PolicyError, match=message):
        ActivationPolicy(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "8am"}, "quiet_hours.start='8am' must be a 24-hour time HH:MM"),
        ({"start": "21:00", "end": "08:00"}, "must be before end='08:00'"),
        ({"holidays": ("2025-02-30",)}, "holiday '2025-02-30' must be an ISO date"),
        ({"holidays": ("xmas",)}, "holiday 'xmas' must be"),
    ],
    ids=["bad-time", "across-midnight", "bad-date", "bad-holiday"],
)
def test_quiet_hours_are_checked(kwargs, message):
    with pytest.raises(PolicyError, match=message):
        QuietHours(**kwargs)


def test_holidays_match_iso_dates_and_every_year_dates():
    from datetime import date

    assert is_holiday(date(2026, 12, 25), ("12-25",))
    assert is_holiday(date(2025, 11, 27), ("2025-11-27",))
    assert not is_holiday(date(2026, 11, 27), ("2025-11-27",))


def test_load_policy_from_toml(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(
        '[quiet_hours]\nstart = "09:00"\nend = "19:00"\nholidays = ["07-04"]\n'
        "[caps]\ndaily = 2\n[caps.segments]\nvip = 1\n"
        '[sunset]\nsurvey = true\n[goals.recover_abandoned_carts]\nsend_time = "17:30"\n'
    )
    policy = load_policy(path)
    assert policy.quiet_hours == QuietHours("09:00", "19:00", ("07-04",))
    assert policy.daily_cap == 2 and policy.segment_caps == {"vip": 1} and policy.sunset_survey
    assert policy.goal("recover_abandoned_carts").send_time == "17:30"
    assert load_policy(None) == ActivationPolicy()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[caps]\nweekly = 3\n", r"unknown key\(s\) \['weekly'\] in .*\[caps\]"),
        ("[quiet]\nstart = '09:00'\n", r"unknown key\(s\) \['quiet'\]"),
        ("[goals.win]\nsend_time = '09:00'\n", r"unknown goal\(s\) \['win'\]"),
        ("[goals.back_in_stock]\ncolour = 'red'\n", "unknown setting"),
        ("[caps\n", "is not valid TOML"),
    ],
    ids=["unknown-cap", "unknown-section", "unknown-goal", "unknown-goal-key", "bad-toml"],
)
def test_policy_file_errors_name_the_key(tmp_path, text, message):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_missing_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "nope.toml")
