"""Consent as of a date, phone validation and customer-level eligibility."""

import pandas as pd
import pytest

from smsseg.activation.consent import consent_as_of, customer_eligibility, normalize_phone
from smsseg.errors import SmssegError
from tests.activation.frames import AS_OF, customers, events, opted_in


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([("2025-01-01", "opt_in")], True),
        ([("2025-01-01", "opt_in"), ("2025-03-01", "opt_out")], False),
        ([("2025-01-01", "opt_in"), ("2025-03-01", "opt_out"), ("2025-04-01", "opt_in")], True),
        ([("2025-01-01", "opt_in"), ("2025-07-05", "opt_out")], True),  # STOP after as_of: unseen
        ([("2025-07-01", "opt_in")], None),  # opt-in after as_of: no consent yet
        ([("2025-01-01", "opt_out"), ("2025-01-01", "opt_in")], False),  # tie: STOP wins
        ([("2025-06-30", "opt_in")], True),  # at as_of counts
    ],
    ids=["opt-in", "stop", "re-opt-in", "future-stop", "future-opt-in", "tie", "at-cutoff"],
)
def test_consent_is_the_latest_event_at_or_before_as_of(history, expected):
    sms = events([("a", at, kind, None) for at, kind in history])
    state = consent_as_of(sms, AS_OF)
    if expected is None:
        assert state.empty
    else:
        assert state.set_index("customer_id").loc["a", "opted_in"] == expected


def test_consent_ignores_sends_and_clicks():
    sms = events([("a", "2025-01-01", "sent", "welcome"), ("a", "2025-01-02", "clicked", None)])
    assert consent_as_of(sms, AS_OF).empty


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155550123", "+14155550123"),
        ("+1 (415) 555-0123", "+14155550123"),
        ("+44 7400 123456", "+447400123456"),
        ("14155550123", None),  # no + : national / ambiguous, not E.164
        ("07400 123456", None),
        ("+1415555", None),  # too short
        ("+1 415 555 01234 5", None),  # too long
        ("not a phone", None),
        (None, None),
        ("", None),
    ],
    ids=[
        "e164",
        "formatted",
        "gb",
        "no-plus",
        "national",
        "short",
        "long",
        "text",
        "none",
        "empty",
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


def test_eligibility_reports_the_first_failing_rule():
    ids = ["ok", "stop", "never", "email", "badphone", "nozone", "stop_and_email"]
    cust = customers(ids)
    cust.loc[cust["customer_id"] == "email", "preferred_channel"] = "email"
    cust.loc[cust["customer_id"] == "stop_and_email", "preferred_channel"] = "email"
    cust.loc[cust["customer_id"] == "badphone", "phone"] = "12"
    cust.loc[cust["customer_id"] == "nozone", ["country", "region"]] = ["XX", None]
    sms = pd.concat(
        [
            opted_in([c for c in ids if c != "never"]),
            events(
                [
                    ("stop", "2025-05-01", "opt_out", None),
                    ("stop_and_email", "2025-05-01", "opt_out", None),
                ]
            ),
        ]
    )
    elig = customer_eligibility(cust, sms, AS_OF).set_index("customer_id")
    assert elig["reason"].drop("ok").to_dict() == {
        "stop": "no_consent",
        "never": "no_consent",
        "email": "prefers_email",
        "badphone": "invalid_phone",
        "nozone": "unknown_time_zone",
        "stop_and_email": "no_consent",
    }
    assert pd.isna(elig.loc["ok", "reason"]) and elig.loc["ok", "sendable"]
    assert elig["sendable"].sum() == 1
    assert elig.loc["ok", "phone_e164"] == "+14155550000"


def test_eligibility_rejects_duplicate_ids():
    with pytest.raises(SmssegError, match="duplicate customer_id 'a'"):
        customer_eligibility(customers(["a", "a"]), opted_in(["a"]), AS_OF)


def test_missing_columns_are_named():
    with pytest.raises(SmssegError, match=r"sms is missing column\(s\) \['event_type'\]"):
        consent_as_of(pd.DataFrame({"customer_id": [], "occurred_at": []}), AS_OF)


def test_bad_as_of_is_quoted():
    with pytest.raises(SmssegError, match="as_of='yesterday-ish'"):
        consent_as_of(opted_in(["a"]), "yesterday-ish")
