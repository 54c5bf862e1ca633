"""The flow catalogue: the nine default flows, user overrides, and one clear error per rule."""

from __future__ import annotations

import pandas as pd
import pytest

from smsseg.flows import FlowCatalogueError, load_flows
from smsseg.flows.catalogue import build_catalogue, default_catalogue_dict

GUIDE_FLOWS = {"welcome", "abandoned_cart", "browse_abandonment", "post_purchase", "replenishment",
               "loyalty", "back_in_stock", "win_back", "reactivation"}  # fmt: skip


def test_defaults_are_the_guides_nine_flows():
    catalogue = load_flows()
    assert set(catalogue.keys) == GUIDE_FLOWS
    cart = catalogue["abandoned_cart"]
    assert [(s.channel, s.delay) for s in cart.steps] == [
        ("email", pd.Timedelta(hours=1)),
        ("sms", pd.Timedelta(hours=4)),
        ("sms", pd.Timedelta(hours=24)),
    ]
    assert cart.exit_on == ("purchase", "opt_out")
    assert catalogue.keys[0] == "abandoned_cart"  # priority order
    frame = catalogue.to_frame()
    assert set(frame["flow"]) == GUIDE_FLOWS and frame["delay"].notna().all()


def test_segment_catalogue_names_the_same_nine_flows():
    from smsseg.segments.catalogue import load_catalogue

    assert set(load_catalogue().flows) == GUIDE_FLOWS


def _user(tmp_path, text):
    path = tmp_path / "flows.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_overrides_adds_and_disables(tmp_path):
    path = _user(
        tmp_path,
        """
[flows.abandoned_cart]
reentry_days = 3
[flows.loyalty]
enabled = false
[flows.birthday]
name = "Birthday"
description = "A note on the profile's anniversary."
segment = "loyalty_member"
priority = 10
reentry_days = 300
max_sms_per_week = 1
exit_on = ["opt_out"]
trigger = { kind = "order" }
steps = [{ key = "note", channel = "sms", message_type = "anniversary", delay = "365d" }]
""",
    )
    catalogue = load_flows(path)
    assert catalogue["abandoned_cart"].reentry_days == 3
    assert len(catalogue["abandoned_cart"].steps) == 3  # steps untouched
    assert "loyalty" not in catalogue.keys
    assert catalogue["birthday"].steps[0].delay == pd.Timedelta(days=365)
    assert catalogue.sources[-1] == str(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "[flows.abandoned_cart]\nreentry_dayz = 3",
            r"unknown key 'flows.abandoned_cart.reentry_dayz'",
        ),
        ("[flows.abandoned_cart]\nreentry_days = '3'", r"must be a number"),
        (
            "[flows.abandoned_cart]\nsteps = [{ key = 'x', channel = 'fax', message_type = 'm', delay = '1h' }]",
            r"steps\[0\]\.channel='fax' must be one of",
        ),
        (
            "[flows.abandoned_cart]\nsteps = [{ key = 'x', channel = 'sms', message_type = 'm', delay = 'soon' }]",
            r"steps\[0\]\.delay='soon' is not a duration",
        ),
        (
            "[flows.abandoned_cart]\nsteps = [{ key = 'x', channel = 'sms', message_type = 'm', delay = '1h', after = 'previous' }]",
            r"first step: there is no previous step",
        ),
        ("[flows.abandoned_cart]\nsteps = []", r"steps must be a non-empty list"),
        ("[flows.abandoned_cart]\nexit_on = ['refund']", r"exit_on has unknown 'refund'"),
        (
            "[flows.abandoned_cart]\ntrigger = { kind = 'moon' }",
            r"trigger.kind='moon' must be one of",
        ),
        (
            "[flows.abandoned_cart]\ntrigger = { kind = 'event', event_types = ['click'] }",
            r"event_types=\['click'\] must list event types",
        ),
        (
            "[flows.win_back]\ntrigger = { kind = 'churn_band_entry', bands = ['red'] }",
            r"bands=\['red'\]",
        ),
        ("[flows.abandoned_cart]\nexit_on = ['band_exit']", r"band_exit' but the trigger is not"),
        ("[flows.new_one]\nname = 'x'", r"flows.new_one needs \["),
        ("[flows.abandoned_cart]\npriority = 0", r"priority=0 must be a whole number >= 1"),
        ("[models]\nmin_uplift = 'high'", r"'models.min_uplift' = 'high' .* must be a number"),
    ],
    ids=[
        "typo",
        "type",
        "channel",
        "delay",
        "first-previous",
        "no-steps",
        "exit",
        "trigger-kind",
        "event-type",
        "band",
        "band-exit",
        "incomplete-new-flow",
        "priority",
        "models",
    ],
)
def test_errors_name_the_key_and_the_rule(tmp_path, text, match):
    with pytest.raises(FlowCatalogueError, match=match):
        load_flows(_user(tmp_path, text))


def test_every_problem_is_listed_at_once():
    raw = default_catalogue_dict()
    raw["flows"]["welcome"]["priority"] = -1
    raw["flows"]["loyalty"]["exit_on"] = ["nope"]
    with pytest.raises(FlowCatalogueError, match=r"welcome.priority.*; .*loyalty.exit_on"):
        build_catalogue(raw)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(FlowCatalogueError, match="does not exist"):
        load_flows(tmp_path / "nope.toml")
    with pytest.raises(FlowCatalogueError, match="not valid TOML"):
        load_flows(_user(tmp_path, "[flows\n"))
