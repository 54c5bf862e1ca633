"""Postscript subscribers, Attentive data feeds and custom mappings → the sms table."""

import pandas as pd
import pytest

from smsseg.data import validate_dir
from smsseg.errors import SmssegError
from smsseg.importers import import_sms_platform
from smsseg.importers.sms_platforms import load_preset
from tests.importers.helpers import (
    EXPORT_TIME,
    EXPORTED_AT,
    NOW,
    copy_fixture,
    count_like,
    edit_csv,
    fixture,
    import_shop,
    table,
)


def run(out, file, preset="postscript", mapping=None):
    """Import ``file`` into a directory holding the Shopify fixtures."""
    if not out.exists():
        import_shop(out)
    return import_sms_platform(
        out, file, preset, mapping, exported_at=EXPORTED_AT, now=NOW, default_country=None
    )


@pytest.fixture(scope="module")
def postscript(tmp_path_factory):
    out = tmp_path_factory.mktemp("ps") / "data"
    return out, run(out, fixture("postscript_subscribers.csv"))


def test_postscript_subscribers_merge_by_phone_with_dated_consent(postscript):
    out, result = postscript
    assert validate_dir(out).ok
    sms = table(out, "sms")
    customers = table(out, "customers").set_index("customer_id")
    by_id = sms.set_index(["customer_id", "event_type"])["occurred_at"]
    # ps-101 is Ben's phone: his Shopify row; subscriber_created_at_utc is UTC as it is
    assert by_id[("7022550002", "opt_in")] == pd.Timestamp("2025-02-01 10:00:00")
    assert by_id[("7022550002", "opt_out")] == pd.Timestamp("2025-08-15 14:30:00")
    assert count_like(result.report, "mapped", "matched to a customer by phone") == 3
    # ps-104 matches no one: a new customer, its ' stripped
    assert customers.loc["postscript-id:ps-104", "phone"] == "+15035550110"
    # subscribers have no address: the phone's country stands in (counted)
    assert customers.loc["postscript-id:ps-104", "country"] == "US"
    assert count_like(result.report, "guessed", "country = the phone's country") == 1
    assert result.report.count("guessed", source="postscript") == 0  # UTC by definition


def test_the_shopify_yes_of_a_postscript_opt_out_is_a_counted_conflict(postscript):
    out, result = postscript
    sms = table(out, "sms")
    bens = sms[sms["customer_id"] == "7022550002"].sort_values("occurred_at")
    assert bens["event_type"].tolist() == ["opt_in", "opt_out"]  # the undated yes is gone
    conflict = count_like(result.report, "conflict", "contradicted by a dated opt-out")
    assert conflict == 1


def test_an_sms_platform_alone_is_refused_for_lack_of_orders(tmp_path):
    out = tmp_path / "data"
    with pytest.raises(SmssegError, match="the data contract requires orders"):
        import_sms_platform(
            out, fixture("postscript_subscribers.csv"), exported_at=EXPORTED_AT, now=NOW
        )
    assert not out.exists()


def test_unreadable_phone_is_dropped_and_counted(postscript):
    out, result = postscript
    customers = table(out, "customers").set_index("customer_id")
    assert pd.isna(customers.loc["postscript-id:ps-105", "phone"])  # 5035550111, no country
    lines = [line for line in result.report.lines if "not valid numbers" in line.what]
    assert [line.count for line in lines] == [1]
    assert lines[0].examples == ["503*****11"]  # masked


def test_opt_out_reason_without_time_is_an_opt_out_at_export_time(tmp_path):
    path = edit_csv(copy_fixture("postscript_subscribers.csv", tmp_path), 0, "opt_out_time", "")
    result = run(tmp_path / "data", path)
    sms = table(tmp_path / "data", "sms")
    outs = sms[sms["event_type"] == "opt_out"]
    assert outs["occurred_at"].tolist() == [EXPORT_TIME]
    assert result.report.count("guessed", source="postscript") == 1


def test_subscriber_without_a_date_is_not_opted_in(tmp_path):
    path = copy_fixture("postscript_subscribers.csv", tmp_path)
    edit_csv(path, 2, "subscriber_created_at_utc", "")
    result = run(tmp_path / "data", path)
    sms = table(tmp_path / "data", "sms")
    eve = sms[sms["customer_id"] == "7022550005"]  # ps-103: Eve's phone
    assert eve["event_type"].tolist() == ["opt_in"]  # her undated Shopify yes only
    assert result.report.count("dropped", source="postscript") == 2  # + the bad phone


@pytest.fixture(scope="module")
def attentive(tmp_path_factory):
    out = tmp_path_factory.mktemp("att") / "data"
    return out, run(out, fixture("attentive_events.csv"), preset="attentive")


def test_attentive_event_types_map_and_sign_up_clicks_are_not_link_clicks(attentive):
    out, result = attentive
    assert validate_dir(out).ok
    sms = table(out, "sms").sort_values("occurred_at")
    sms = sms[sms["customer_id"] == "shopify-row3"]  # Cy, matched by phone
    assert sms["event_type"].tolist() == ["opt_in", "sent", "clicked", "opt_out"]
    clicked = sms[sms["event_type"] == "clicked"].iloc[0]
    assert clicked["occurred_at"] == pd.Timestamp("2025-04-10 16:07:00")
    assert clicked["campaign_id"] == "m-200"
    dropped = {line.what: line.count for line in result.report.lines if line.kind == "dropped"}
    assert dropped["'CLICK' events (a click on a sign-up form, not on a message link)"] == 1
    assert dropped["'IMPRESSION' events (a sign-up form shown on the site)"] == 1
    # the impression has no phone: its row is dropped too, and counted
    assert dropped["rows with no usable id, phone or e-mail"] == 1


def test_a_mapping_file_describes_another_platform(tmp_path):
    csv = tmp_path / "texts.csv"
    pd.DataFrame({
        "Mobile": ["+12125550101", "+12125550101", "+12125550101"],
        "When": ["2025-03-01T10:00:00Z", "2025-03-02T10:00:00Z", "2025-03-03T10:00:00Z"],
        "What": ["Subscribed", "Delivered", "Bounced"],
    }).to_csv(csv, index=False)  # fmt: skip
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        'name = "textco"\nlayout = "events"\n'
        '[columns]\nphone = "Mobile"\noccurred_at = "When"\nevent_type = "What"\n'
        '[events]\nSubscribed = "opt_in"\nDelivered = "delivered"\nBounced = ""\n'
    )
    result = run(tmp_path / "data", csv, preset="custom", mapping=mapping)
    sms = table(tmp_path / "data", "sms")
    ada = sms[sms["customer_id"] == "7022550001"].sort_values("occurred_at")
    assert ada["event_type"].tolist() == ["opt_in", "delivered"]
    assert result.sources == ("shopify", "textco")
    assert result.report.count("dropped", source="textco") == 1


def test_a_mapping_overrides_a_preset_header(tmp_path):
    path = copy_fixture("postscript_subscribers.csv", tmp_path)
    pd.read_csv(path, dtype=str).rename(columns={"phone_number": "Phone #"}).to_csv(
        path, index=False
    )
    with pytest.raises(SmssegError, match="missing column"):
        run(tmp_path / "a", path)
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nphone = "Phone #"\n')
    assert run(tmp_path / "b", path, mapping=mapping).row_counts["customers"] == 9


@pytest.mark.parametrize(
    ("preset", "text", "message"),
    [
        ("nope", None, "preset='nope' must be one of postscript, attentive"),
        ("custom", None, "needs --map"),
        ("postscript", "[columns]\nfavourite = 'x'\n", "not a field of the subscribers layout"),
        ("attentive", "[events]\nJOIN = 'signed_up'\n", "the contract's SMS event types"),
        ("attentive", "layout = 'rows'\n", "must be 'subscribers' or 'events'"),
        ("attentive", "[columns\n", "cannot be read"),
    ],
    ids=[
        "unknown-preset",
        "custom-without-map",
        "unknown-field",
        "unknown-type",
        "layout",
        "bad-toml",
    ],  # fmt: skip
)
def test_bad_presets_and_mappings_are_clear_errors(tmp_path, preset, text, message):
    mapping = None
    if text is not None:
        mapping = tmp_path / "m.toml"
        mapping.write_text(text)
    with pytest.raises(SmssegError, match=message):
        load_preset(preset, mapping)
