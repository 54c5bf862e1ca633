"""Klaviyo profiles and events merged into the Shopify fixtures."""

import json

import pandas as pd
import pytest

from smsseg.data import validate_dir
from smsseg.errors import SmssegError
from smsseg.importers import import_klaviyo
from smsseg.importers.klaviyo import metric_key, read_events
from tests.importers.helpers import (
    EXPORT_TIME,
    EXPORTED_AT,
    NOW,
    count_like,
    fixture,
    import_shop,
    table,
)


def run(out, profiles="default", events="default", **kw):
    if not out.exists():
        import_shop(out)
    return import_klaviyo(
        out,
        fixture("klaviyo_profiles.csv") if profiles == "default" else profiles,
        fixture("klaviyo_events.jsonl") if events == "default" else events,
        exported_at=EXPORTED_AT,
        now=NOW,
        **kw,
    )


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    out = tmp_path_factory.mktemp("klaviyo") / "data"
    return out, run(out)


def test_profiles_merge_by_email_case_and_spaces_ignored(merged):
    out, result = merged
    assert validate_dir(out).ok
    customers = table(out, "customers").set_index("customer_id")
    # 'ADA@Example.com ' in Klaviyo is Ada of the Shopify export: one customer, not two
    assert len(customers) == 7 + 2  # Shopify's 7 + Gus and Hal, known only to Klaviyo
    created = [line for line in result.report.lines if line.kind == "created"]
    assert sum(line.count for line in created if line.source == "klaviyo") == 2
    # Ben's Klaviyo profile was created before his first order: the earliest date wins
    assert customers.loc["7022550002", "created_at"] == pd.Timestamp("2025-01-10 12:00:00")


def test_both_metric_name_sets_map_to_the_same_events(merged):
    sms = table(merged[0], "sms")
    gus = sms[sms["customer_id"].str.startswith("klaviyo-")]
    # 2026 names: Received / Clicked Text Message
    jan = gus[gus["occurred_at"] >= "2026-01-01"]
    assert sorted(jan["event_type"]) == ["clicked", "sent"]
    eve = sms[sms["customer_id"] == "7022550005"].set_index("occurred_at")["event_type"]
    # old names in June 2025, new ones in January 2026
    assert eve[pd.Timestamp("2025-06-12 16:00:00")] == "sent"
    assert eve[pd.Timestamp("2025-06-12 16:05:00")] == "clicked"
    assert eve[pd.Timestamp("2026-01-08 12:00:00")] == "opt_out"
    ada = sms[sms["customer_id"] == "7022550001"].set_index("occurred_at")["event_type"]
    assert ada[pd.Timestamp("2026-01-07 08:00:00")] == "failed"


def test_browsing_events_keep_product_and_category(merged):
    events = table(merged[0], "events").sort_values("occurred_at")
    assert events["event_type"].tolist() == ["product_view", "add_to_cart", "search"]
    assert events.iloc[0][["product_id", "category"]].tolist() == ["LS-01", "Shirts"]
    assert set(events["customer_id"]) == {"7022550005"}


def test_sent_sms_is_not_a_send_and_order_metrics_are_left_to_shopify(merged):
    sms = table(merged[0], "sms")
    gus = sms[sms["customer_id"].str.startswith("klaviyo-")]
    assert pd.Timestamp("2025-06-13 09:00:00") not in set(gus["occurred_at"])  # 'Sent SMS'
    report = merged[1].report
    assert count_like(report, "dropped", "'Sent SMS' events (a text sent by the subscriber") == 1
    assert count_like(report, "dropped", "'Placed Order' events") == 1


def test_profile_consent_dated_and_undated(merged):
    sms = table(merged[0], "sms")
    consent = sms[sms["event_type"].isin(["opt_in", "opt_out"])]
    gus = consent[consent["customer_id"].str.startswith("klaviyo-email")]
    # Gus: SUBSCRIBED with its timestamp; Hal: UNSUBSCRIBED with its timestamp
    assert pd.Timestamp("2025-06-01 10:05:00") in set(gus["occurred_at"])
    assert pd.Timestamp("2025-09-09 09:09:00") in set(gus["occurred_at"])
    # Ada: SUBSCRIBED without a timestamp (undated, superseded by her dated January opt-in)
    ada = consent[consent["customer_id"] == "7022550001"]
    assert ada["occurred_at"].tolist() == [pd.Timestamp("2026-01-06 08:00:00")]
    assert EXPORT_TIME not in set(ada["occurred_at"])


def test_profile_country_names_become_codes_and_unknown_ones_are_counted(merged):
    customers = table(merged[0], "customers")
    gus = customers[customers["phone"] == "+12065550108"].iloc[0]
    assert (gus["country"], gus["region"]) == ("US", "US-WA")
    assert count_like(merged[1].report, "dropped", "neither ISO codes nor English names") == 1


def test_metric_names_of_both_eras_are_one_key():
    assert metric_key("Received Text Message") == metric_key("Received SMS") == "received sms"
    assert metric_key("Unsubscribed from Text Message Marketing") == (
        "unsubscribed from sms marketing"
    )
    assert metric_key("Started Checkout") == "started checkout"


def test_events_as_one_json_page_read_like_jsonl(tmp_path):
    first_page = json.loads(fixture("klaviyo_events.jsonl").read_text().splitlines()[0])
    single = tmp_path / "events.json"
    single.write_text(json.dumps(first_page, indent=2))
    events, profiles = read_events(single)
    assert len(events) == 6 and events["metric"].iloc[0] == "Viewed Product"
    assert profiles["P_EVE"]["email"] == "eve@example.com"
    jsonl, _ = read_events(fixture("klaviyo_events.jsonl"))
    pd.testing.assert_frame_equal(jsonl.iloc[:6], events)


def test_events_without_metric_names_are_refused(tmp_path):
    page = json.loads(fixture("klaviyo_events.jsonl").read_text().splitlines()[0])
    page["included"] = [i for i in page["included"] if i["type"] != "metric"]
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(page) + "\n")
    with pytest.raises(SmssegError, match="without a metric name .* include=metric"):
        run(tmp_path / "data", profiles=None, events=path)


def test_a_line_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(fixture("klaviyo_events.jsonl").read_text() + "{not json\n")
    with pytest.raises(SmssegError, match="events.jsonl, line 3: not JSON"):
        run(tmp_path / "data", profiles=None, events=path)


def test_events_of_profiles_nobody_can_identify_are_dropped_and_counted(tmp_path):
    page = json.loads(fixture("klaviyo_events.jsonl").read_text().splitlines()[0])
    page["included"] = [i for i in page["included"] if i["type"] != "profile"]
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(page) + "\n")
    result = run(tmp_path / "data", profiles=None, events=path)
    assert "events" not in result.row_counts  # no customer was invented for them
    assert result.row_counts["customers"] == 7
    # 6 events: 3 kept types (view, cart, 2 SMS = 4) lost; Sent SMS / Placed Order left out
    assert count_like(result.report, "dropped", "neither the profile export nor") == 4


def test_a_profile_naming_a_customer_id_is_matched_by_it(tmp_path):
    profiles = tmp_path / "profiles.csv"
    pd.DataFrame({
        "Email": ["dee.other@example.com", "zed@example.com"],
        "External ID": ["7022550004", "9999999999"],  # Dee's Shopify id; an id nobody has
        "SMS Marketing Consent": ["SUBSCRIBED", "SUBSCRIBED"],
        "SMS Marketing Consent Timestamp": ["2025-10-01 10:00:00+00:00"] * 2,
    }).to_csv(profiles, index=False)  # fmt: skip
    result = run(tmp_path / "data", profiles=profiles, events=None)
    sms = table(tmp_path / "data", "sms")
    assert "7022550004" in set(sms["customer_id"])  # matched by id, not a new customer
    assert "9999999999" not in set(table(tmp_path / "data", "customers")["customer_id"])
    assert count_like(result.report, "mapped", "matched to a customer by id") == 1
