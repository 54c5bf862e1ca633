"""The catalogue: the default's content, user overrides, and every way an override can be wrong."""

from __future__ import annotations

import pytest

from smsseg.segments import (
    SEGMENT_KEYS,
    CatalogueError,
    assign_segments,
    load_catalogue,
)

from .frames import features_frame

GUIDE_FLOWS = {
    "welcome", "abandoned_cart", "browse_abandonment", "post_purchase", "replenishment",
    "loyalty", "back_in_stock", "win_back", "reactivation",
}  # fmt: skip


def _write(tmp_path, text: str):
    path = tmp_path / "user.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_catalogue_holds_the_twelve_segments():
    catalogue = load_catalogue()
    assert catalogue.keys == SEGMENT_KEYS
    assert len(SEGMENT_KEYS) == 12
    assert sorted(catalogue.priority) == sorted(SEGMENT_KEYS)
    assert set(catalogue.flows) == GUIDE_FLOWS
    for segment in catalogue.all_segments():
        assert segment.name and segment.why and segment.message_types
        assert segment.flow == "" or segment.flow in GUIDE_FLOWS
        assert "{" not in segment.describe()


def test_default_caps_follow_the_guide_frequency_framework():
    catalogue = load_catalogue()
    cap = {s.key: s.frequency_cap_per_week for s in catalogue.all_segments()}
    assert 1 <= cap["vip"] <= 2  # VIP: 1-2 per week
    assert cap["at_risk"] == 1  # at risk: 1 per week, win-back
    assert cap["dormant"] == 1 and catalogue["dormant"].sunset_after_messages == 1
    assert all(c <= 4 for c in cap.values())  # nobody above "highly engaged" 3-4
    assert catalogue["at_risk"].flow == "win_back"
    assert catalogue["dormant"].flow == "reactivation"
    assert catalogue["new_subscriber"].flow == "welcome"
    assert catalogue["cart_abandoner"].flow == "abandoned_cart"


def test_override_changes_only_the_given_keys(tmp_path):
    path = _write(
        tmp_path,
        "[segments.dormant.thresholds]\ndays = 90\n[segments.vip]\nfrequency_cap_per_week = 1\n",
    )
    default, user = load_catalogue(), load_catalogue(path)
    assert user["dormant"].thresholds["days"] == 90
    assert user["vip"].frequency_cap_per_week == 1
    # everything else is the default's
    assert (
        user["dormant"].thresholds["days_by_category"]
        == (default["dormant"].thresholds["days_by_category"])
    )
    assert user["vip"].thresholds == default["vip"].thresholds
    assert user["at_risk"] == default["at_risk"]
    assert user.sources == ("default", str(path))
    assert "90 days" in user["dormant"].describe()


def test_user_threshold_changes_membership(tmp_path):
    # inactive for 100 days: not dormant at the default 120, dormant once the user says 90
    features = features_frame(
        {"customer_id": "x", "frequency": 1, "days_since_last_engagement": 100.0},
        {"customer_id": "y", "frequency": 1, "days_since_last_engagement": 80.0},
    )
    default = assign_segments(features, None, load_catalogue())
    user = assign_segments(
        features,
        None,
        load_catalogue(_write(tmp_path, "[segments.dormant.thresholds]\ndays = 90\n")),
    )
    assert not default.loc["x", "is_dormant"]
    assert user.loc["x", "is_dormant"]
    assert user.loc["x", "primary_segment"] == "dormant"
    assert not user.loc["y", "is_dormant"]  # 80 days stays below the new threshold


def test_user_cart_window_changes_membership(tmp_path):
    features = features_frame({"customer_id": "x", "hours_since_last_cart_add": 30.0})
    assert assign_segments(features, None, load_catalogue()).loc["x", "is_cart_abandoner"]
    narrow = load_catalogue(
        _write(tmp_path, "[segments.cart_abandoner.thresholds]\nmax_hours = 24\n")
    )
    assert not assign_segments(features, None, narrow).loc["x", "is_cart_abandoner"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[segments.vipp]\nname = 'x'\n", r"unknown key 'segments.vipp'"),
        ("[segments.vip]\ncap = 1\n", r"unknown key 'segments.vip.cap'"),
        (
            "[segments.vip.thresholds]\ntop_shar = 0.1\n",
            r"unknown key 'segments.vip.thresholds.top_shar'",
        ),
        ("[audiences]\nx = 1\n", r"unknown key 'audiences'"),
        (
            "[segments.vip.thresholds]\ntop_share = 'many'\n",
            r"'segments.vip.thresholds.top_share' = 'many' .* must be a number",
        ),
        ("[segments.vip]\nmessage_types = 'offer'\n", r"must be a list"),
        (
            "[segments.vip.thresholds]\ntop_share = 1.5\n",
            r"segments.vip.thresholds.top_share=1.5 must be in \[0.0, 1.0\]",
        ),
        (
            "[segments.vip.thresholds]\nmethod = 'best'\n",
            r"method='best' must be one of top_share, top_tier",
        ),
        (
            "[segments.cart_abandoner.thresholds]\nmax_hours = 0.5\n",
            r"max_hours=0.5 must be >= min_hours=1.0",
        ),
        (
            "[segments.dormant.thresholds]\ndays_by_category = { toys = 0 }\n",
            r"days_by_category.toys=0 must be a number >= 1",
        ),
        (
            "[segments.location_based.thresholds]\nrequire_any = ['planet']\n",
            r"require_any=\['planet'\] must be a non-empty subset",
        ),
        (
            "[segments.vip]\nmessage_types = ['carrier_pigeon']\n",
            r"segments.vip.message_types has unknown 'carrier_pigeon'",
        ),
        (
            "[segments.vip]\nflow = 'funnel'\n",
            r"segments.vip.flow='funnel' must be '' or one of welcome",
        ),
        (
            "[segments.vip]\nfrequency_cap_per_week = -1\n",
            r"frequency_cap_per_week=-1 must be a whole number >= 0",
        ),
        (
            "[segments.vip]\nfrequency_cap_per_week = 1.5\n",
            r"frequency_cap_per_week=1.5 must be a whole number",
        ),
        (
            "[segments.vip]\nexcludes = ['vip']\n",
            r"excludes has 'vip', which is not another segment key",
        ),
        (
            "[segments.vip]\ndefinition = 'top {share}'\n",
            r"definition refers to an unknown threshold 'share'",
        ),
        (
            "[catalogue]\npriority = ['vip']\n",
            r"priority must list each of the 12 segment keys once",
        ),
        ("[catch_all]\nkey = 'vip'\n", r"catch_all.key='vip' must be a new"),
        ("[segments.vip\n", r"is not valid TOML"),
        ("[catalogue]\nversion = 2\n", r"catalogue.version=2 must be 1"),
    ],
    ids=[
        "unknown-segment",
        "unknown-field",
        "unknown-threshold",
        "unknown-table",
        "wrong-type",
        "list-expected",
        "out-of-bounds",
        "bad-choice",
        "cart-window",
        "category-days",
        "location-column",
        "message-type",
        "flow",
        "negative-cap",
        "fractional-cap",
        "self-exclusion",
        "definition-placeholder",
        "priority",
        "catch-all-key",
        "bad-toml",
        "version",
    ],
)
def test_bad_overrides_are_rejected_naming_the_key(tmp_path, text, match):
    with pytest.raises(CatalogueError, match=match):
        load_catalogue(_write(tmp_path, text))


def test_missing_catalogue_file(tmp_path):
    with pytest.raises(CatalogueError, match=r"nope.toml does not exist"):
        load_catalogue(tmp_path / "nope.toml")


def test_catalogue_frame_for_docs_and_activation():
    frame = load_catalogue().to_frame()
    assert list(frame["key"]) == [*SEGMENT_KEYS, "general"]
    assert {"frequency_cap_per_week", "flow", "message_types", "priority"} <= set(frame.columns)
    assert frame.set_index("key").loc["cart_abandoner", "priority"] == 1
