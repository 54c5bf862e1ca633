"""Merging sources: consent rules, idempotence, atomic output, and the report's counts."""

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsseg.activation.consent import consent_at, consent_events
from smsseg.data.validation import DataValidationError
from smsseg.errors import SmssegError
from smsseg.importers import import_klaviyo, import_shopify, import_sms_platform
from smsseg.importers.merge import build_tables
from smsseg.importers.report import ImportReport
from smsseg.importers.staged import Staged, conform
from tests.importers.helpers import (
    EXPORTED_AT,
    NOW,
    copy_fixture,
    count_like,
    edit_csv,
    fixture,
    import_shop,
    table,
)


def import_postscript(out, file=None):
    return import_sms_platform(out, file or fixture("postscript_subscribers.csv"),
                               exported_at=EXPORTED_AT, now=NOW)  # fmt: skip


def import_klaviyo_fixtures(out, profiles=None):
    return import_klaviyo(out, profiles or fixture("klaviyo_profiles.csv"),
                          fixture("klaviyo_events.jsonl"), exported_at=EXPORTED_AT, now=NOW)  # fmt: skip


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    out = tmp_path_factory.mktemp("all") / "data"
    import_shop(out)
    import_postscript(out)
    return out, import_klaviyo_fixtures(out)


def opted_in(out) -> pd.Series:
    sms = table(out, "sms")
    customers = table(out, "customers")["customer_id"]
    keys = pd.DataFrame({"customer_id": customers, "t": pd.Timestamp(NOW)})
    state = consent_at(consent_events(sms), keys)["opted_in"]
    return pd.Series(state.to_numpy(), index=customers.to_numpy())


def test_consent_after_merging_every_source(everything):
    state = opted_in(everything[0])
    # Ben: Shopify says yes (undated), Postscript knows his STOP: not opted in
    assert not state["7022550002"]
    # Eve: subscribed in Klaviyo and Postscript, unsubscribed in Klaviyo in January 2026
    assert not state["7022550005"]
    # the phone-only guest subscribed in Postscript; Ada re-subscribed in January 2026
    assert state[state.index.str.startswith("shopify-phone:")].all()
    assert state["7022550001"]
    # Dee and Cy never gave SMS consent (e-mail consent is not SMS consent)
    assert not state["7022550004"] and not state["shopify-row3"]


def test_conflicts_between_sources_are_reported(everything):
    report = everything[1].report
    assert count_like(report, "conflict", "contradicted by a dated opt-out") == 2  # Ben, Eve
    assert count_like(report, "conflict", "latest dated consent differ") == 1  # Eve


def test_the_report_of_a_later_import_keeps_every_source_counts(everything):
    out, result = everything
    saved = json.loads((out / "_import" / "report.json").read_text())
    sources = {line["source"] for line in saved["lines"]}
    assert {"shopify", "postscript", "klaviyo", "all"} <= sources
    # Shopify's drops are still there after two more imports
    assert count_like(result.report, "dropped", "orders with neither e-mail nor phone") == 1


def test_no_phone_or_email_in_the_report_or_the_ids(everything):
    out, _ = everything
    text = (out / "_import" / "report.json").read_text()
    for raw in ("2125550101", "5035550111", "4155550105", "@example.com"):
        assert raw not in text
    ids = "".join(table(out, "customers")["customer_id"])
    assert "@" not in ids
    for digits in ("2125550101", "3035550107", "6175550106", "5035550110"):
        assert digits not in ids


def test_repeating_an_import_changes_nothing(tmp_path):
    out = tmp_path / "data"
    import_shop(out)
    import_postscript(out)
    first = {name: table(out, name) for name in ("customers", "orders", "order_items", "sms")}
    import_postscript(out)
    import_shop(out)
    for name, frame in first.items():
        pd.testing.assert_frame_equal(table(out, name), frame, obj=name)


def test_the_order_of_imports_does_not_matter(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    import_shop(a)
    import_postscript(a)
    import_klaviyo_fixtures(a)
    import_shop(b)
    import_klaviyo_fixtures(b)
    import_postscript(b)
    for name in ("customers", "orders", "events", "sms"):
        left = table(a, name).sort_values(list(table(a, name).columns)).reset_index(drop=True)
        right = table(b, name).sort_values(list(table(b, name).columns)).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, obj=name)


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failed_import_leaves_the_directory_as_it_was(tmp_path):
    out = tmp_path / "data"
    import_shop(out)
    before = _snapshot(out)
    bad = edit_csv(copy_fixture("postscript_subscribers.csv", tmp_path), 1,
                   "subscriber_created_at_utc", "yesterday")  # fmt: skip
    with pytest.raises(SmssegError, match="subscriber_created_at_utc"):
        import_postscript(out, bad)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "postscript_subscribers.csv"]


def test_tables_that_break_the_contract_are_never_written(tmp_path, monkeypatch):
    import smsseg.importers.write as write

    def broken(*args, **kwargs):
        tables = build_tables(*args, **kwargs)
        tables["orders"].loc[0, "amount"] = -1.0
        return tables

    monkeypatch.setattr(write, "build_tables", broken)
    out = tmp_path / "data"
    with pytest.raises(DataValidationError, match="min_value"):
        import_shop(out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_directory_not_written_by_import_is_refused(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "customers.csv").write_text("customer_id,created_at\nc1,2025-01-01\n")
    with pytest.raises(SmssegError, match="was not written by 'smsseg import'"):
        import_shop(out)
    assert (out / "customers.csv").exists()


# ---- every dropped or guessed value is counted -------------------------------------------

EDITS = [
    # file, row, column, value, kind, fragment of the report line
    ("shopify_orders.csv", 9, "Billing Phone", "12", "dropped", "not valid numbers"),
    ("shopify_orders.csv", 8, "Billing Phone", "", "dropped", "neither e-mail nor phone"),
    ("shopify_orders.csv", 3, "Lineitem sku", "", "guessed", "without a SKU"),
    ("shopify_orders.csv", 4, "Lineitem sku", "9.9E+11", "dropped", "'Lineitem sku' values Excel"),
    ("shopify_orders.csv", 0, "Created at", "2025-03-01 15:14:02", "guessed", "without an offset"),
    ("shopify_orders.csv", 2, "Financial Status", "pending", "guessed", "not paid at export"),
    ("shopify_orders.csv", 0, "Refunded Amount", "10.00", "guessed", "partially refunded"),
    ("shopify_orders.csv", 0, "Financial Status", "refunded", "guessed", "fully refunded"),
    ("shopify_orders.csv", 1, "Lineitem discount", "99.00", "guessed", "discount exceeds"),
    ("shopify_orders.csv", 3, "Lineitem quantity", "0", "guessed", "quantity 0"),
    ("shopify_customers.csv", 3, "Customer ID", "7.02256E+12", "dropped", "'Customer ID' values"),
    ("shopify_customers.csv", 3, "Accepts SMS Marketing", "maybe", "dropped", "neither yes nor"),
    ("shopify_customers.csv", 3, "Accepts SMS Marketing", "yes", "guessed", "(undated)"),
    ("shopify_customers.csv", 4, "Phone", "1.41556E+10", "dropped", "Excel turned into numbers"),
    ("shopify_customers.csv", 1, "Customer ID", "'7022550002", "cleaned", "leading '"),
    ("postscript_subscribers.csv", 2, "opt_out_reason", "STOP", "guessed", "reason but no time"),
    ("postscript_subscribers.csv", 3, "subscriber_created_at_utc", "", "dropped", "subscription"),
    ("klaviyo_profiles.csv", 3, "Country", "Narnia", "dropped", "neither ISO codes"),
    ("klaviyo_profiles.csv", 2, "SMS Marketing Consent Timestamp", "", "guessed", "SUBSCRIBED"),
    ("klaviyo_profiles.csv", 2, "Profile Created On", "", "guessed", "dated by their first"),
    ("klaviyo_profiles.csv", 4, "SMS Marketing Consent Timestamp", "", "guessed", "UNSUBSCRIBED"),
    ("klaviyo_profiles.csv", 1, "SMS Marketing Consent", "MAYBE", "dropped", "consent values"),
]


def _import_for(folder, file, edited=None):
    """The Shopify fixtures, then ``file``'s source, imported into ``folder/data``; ``edited``
    replaces ``file``. Returns the last report (it holds every source's lines)."""
    files = {name: fixture(name) for name in ("shopify_orders.csv", "shopify_customers.csv")}
    files[file] = edited or fixture(file)
    out = folder / "data"
    report = import_shopify(out, files["shopify_orders.csv"], files["shopify_customers.csv"],
                            exported_at=EXPORTED_AT, now=NOW).report  # fmt: skip
    if file.startswith("postscript"):
        report = import_postscript(out, files[file]).report
    elif file.startswith("klaviyo"):
        report = import_klaviyo(out, files[file], exported_at=EXPORTED_AT, now=NOW).report
    return report


@pytest.fixture(scope="module")
def baselines(tmp_path_factory):
    """Reports of the unedited fixtures, one per edited file (computed once each)."""
    cache = {}

    def get(file):
        if file not in cache:
            cache[file] = _import_for(tmp_path_factory.mktemp("baseline"), file)
        return cache[file]

    return get


@pytest.mark.parametrize(("file", "row", "column", "value", "kind", "fragment"), EDITS,
                         ids=[f"{e[0].split('_')[0]}-{e[2]}-{e[4]}" for e in EDITS])  # fmt: skip
def test_each_dropped_or_guessed_value_moves_its_count_by_one(
    tmp_path, baselines, file, row, column, value, kind, fragment
):
    folder = tmp_path / "edited"
    folder.mkdir()
    edited = edit_csv(copy_fixture(file, folder), row, column, value)
    report = _import_for(tmp_path, file, edited)
    before = count_like(baselines(file), kind, fragment)
    assert count_like(report, kind, fragment) == before + 1


def test_rows_in_equal_rows_mapped_plus_rows_dropped(everything):
    baseline = everything[1].report
    raw = pd.read_csv(fixture("shopify_orders.csv"), dtype=str)
    orders = raw["Name"].nunique()
    mapped = sum(line.count for line in baseline.lines
                 if line.kind == "mapped" and line.what.startswith("orders ("))  # fmt: skip
    assert mapped + count_like(baseline, "dropped", "orders with neither") == orders == 8
    subscribers = len(pd.read_csv(fixture("postscript_subscribers.csv")))
    assert baseline.count("mapped", "subscribers", "postscript") == subscribers
    profiles = len(pd.read_csv(fixture("klaviyo_profiles.csv")))
    assert baseline.count("mapped", "profiles", "klaviyo") == profiles


# ---- the consent rules, for any history ------------------------------------------------

_EVENT = st.tuples(
    st.sampled_from(["platform", "klaviyo"]),
    st.integers(min_value=0, max_value=5),  # day
    st.sampled_from(["opt_in", "opt_out"]),
)


@settings(max_examples=30, deadline=None)
@given(dated=st.lists(_EVENT, max_size=5), undated_yes=st.booleans())
def test_consent_is_the_latest_dated_event_and_an_undated_yes_never_beats_it(dated, undated_yes):
    day0 = pd.Timestamp("2025-01-01")
    export = pd.Timestamp("2025-02-01")  # after every dated event
    person = {"person_key": "p", "role": "customer", "anchor_id": "c1", "phone": "+12125550101"}
    shop = Staged("shopify", {
        "people": conform("people", pd.DataFrame([person])),
        "orders": conform("orders", pd.DataFrame([{"order_id": "o1", "person_key": "p",
                                                   "ordered_at": day0, "amount": 1.0}])),
        "sms": conform("sms", pd.DataFrame([{"person_key": "p", "occurred_at": export,
                                             "event_type": "opt_in", "dated": False}]
                                           if undated_yes else [])),
    }, export)  # fmt: skip
    sources = [shop]
    for name in ("platform", "klaviyo"):
        rows = [{"person_key": "p", "occurred_at": day0 + pd.Timedelta(days=d), "event_type": e}
                for s, d, e in dated if s == name]  # fmt: skip
        people = pd.DataFrame([{"person_key": "p", "role": "subscriber", "phone": person["phone"]}])
        sources.append(Staged(name, {"people": conform("people", people),
                                     "sms": conform("sms", pd.DataFrame(rows))}, export))  # fmt: skip
    tables = build_tables(sources, ImportReport(), pd.Timestamp(NOW))
    assert set(tables["customers"]["customer_id"]) == {"c1"}
    state = False  # no sms table: no consent
    if "sms" in tables:
        keys = pd.DataFrame({"customer_id": ["c1"], "t": [pd.Timestamp(NOW)]})
        state = bool(consent_at(consent_events(tables["sms"]), keys)["opted_in"].iloc[0])
    if dated:
        last_day = max(d for _, d, _ in dated)
        on_last = {e for _, d, e in dated if d == last_day}
        expected = on_last == {"opt_in"}  # an opt-out on the same instant wins
    else:
        expected = undated_yes
    assert state == expected
