"""Hand-built flow inputs: customers in UTC (quiet hours 08:00-20:00 UTC), instants by hand."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from smsseg.flows import FlowCatalogue, FlowInputs, empty_inputs, load_flows

#: A Monday without holidays around it; every fixture's trigger is at this instant.
T0 = pd.Timestamp("2025-03-03 09:00")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def inputs(ids=("a",), opt_in_at="2025-01-01", **tables) -> FlowInputs:
    """Customers opted in at ``opt_in_at`` (UTC zone, valid US phones) and the given tables as
    lists of row dicts."""
    frames = empty_inputs()
    frames["customers"] = pd.DataFrame({
        "customer_id": list(ids), "created_at": pd.Timestamp("2024-01-01"),
        "phone": [f"+14155550{i:03d}" for i in range(len(ids))], "country": "US",
        "region": "US-CA", "timezone": "UTC", "preferred_channel": "sms",
    })  # fmt: skip
    sms = [{"customer_id": c, "occurred_at": ts(opt_in_at), "event_type": "opt_in"} for c in ids]
    tables["sms"] = sms + list(tables.get("sms", []))
    for name, rows in tables.items():
        frame = pd.DataFrame(rows)
        base = frames[name]
        frames[name] = pd.concat([base, frame], ignore_index=True) if len(frame) else base
        for col in frames[name].columns:
            if col.endswith("_at") or col == "expected_next_order_date":
                frames[name][col] = pd.to_datetime(frames[name][col])
    return FlowInputs(**frames)


def only(key: str, catalogue: FlowCatalogue | None = None) -> FlowCatalogue:
    """The catalogue with one flow: a fixture tests that flow alone."""
    catalogue = catalogue or load_flows()
    return replace(catalogue, flows=(catalogue[key],))


def sms_rows(run) -> list[tuple[str, str, pd.Timestamp]]:
    """``(customer, step, instant)`` of the due SMS (holdouts included), in time order."""
    s = run.plan.sends
    return [
        (c, st, t.tz_convert(None))
        for c, st, t in zip(s["customer_id"], s["step"], s["send_at_utc"], strict=True)
    ]


def email_rows(run) -> list[tuple[str, str, pd.Timestamp]]:
    e = run.emails.sort_values("send_at_utc")
    return list(zip(e["customer_id"], e["step"], e["send_at_utc"], strict=True))
