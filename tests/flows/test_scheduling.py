"""What a scheduler needs: runs at any cadence give the same sends as one long run, nothing
twice, nothing skipped; no send after an exit event known at its run; caps, quiet hours and
consent hold; and the sends as of T never read data after T."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsseg.activation.checks import consent_violations, quiet_hour_violations, window_violations
from smsseg.activation.policy import ActivationPolicy
from smsseg.flows import FlowInputs, flow_plan, load_flows
from smsseg.flows.triggers import INPUT_COLUMNS

from .frames import T0, inputs

CATALOGUE = load_flows()
POLICY = ActivationPolicy(sunset_survey=True)
H, D = pd.Timedelta(hours=1), pd.Timedelta(days=1)
PERIOD = 2 * D
KEY = ["customer_id", "campaign_id", "send_at_utc", "holdout"]
ZONES = ("UTC", "America/New_York", "Australia/Sydney")


def history(seed: int, n: int = 10, until: pd.Timestamp = T0, days: int = 8) -> FlowInputs:
    """A random history of ``n`` customers over the ``days`` before ``until``: carts, views,
    wishlists, orders, opt-ins and STOPs, enrolments, restocks and two scoring runs."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i}" for i in range(n)]
    start = until - pd.Timedelta(days=days)

    def when(k):
        return [start + pd.Timedelta(minutes=int(m)) for m in rng.integers(0, days * 1440, k)]

    def rows(k, **cols):
        who = rng.choice(ids, k)
        return [{"customer_id": c, "occurred_at": t, **{a: (v() if callable(v) else v)
                 for a, v in cols.items()}} for c, t in zip(who, when(k), strict=True)]  # fmt: skip

    events = rows(4 * n, event_type=lambda: rng.choice(["add_to_cart", "product_view",
                  "wishlist_add", "checkout_started"]), product_id=lambda: rng.choice(["p1", "p2"]))  # fmt: skip
    orders = [{"customer_id": r["customer_id"], "ordered_at": r["occurred_at"]} for r in rows(n)]
    orders += [{"customer_id": c, "ordered_at": until - pd.Timedelta(days=int(rng.integers(100, 125)))}
               for c in ids]  # fmt: skip
    sms = rows(n // 2, event_type=lambda: rng.choice(["opt_out", "opt_in", "clicked"]))
    loyalty = [{"customer_id": c, "enrolled_at": t} for c, t in zip(ids[:2], when(2), strict=True)]
    products = [
        {"product_id": "p1", "restocked_at": until - pd.Timedelta(hours=int(rng.integers(1, 30)))}
    ]
    scores = [
        {"customer_id": c, "scored_at": s, "churn_risk_band": rng.choice(["low", "high"]),
         "uplift": rng.normal(0, 0.1), "discount_sensitivity": rng.uniform(),
         "expected_next_order_date": until + pd.Timedelta(hours=int(rng.integers(-48, 120)))}
        for c in ids for s in (until - 3 * D, until - D)
    ]  # fmt: skip
    data = inputs(ids, opt_in_at=str(start - 30 * D), events=events, orders=orders, sms=sms,
                  loyalty=loyalty, products=products, scores=scores)  # fmt: skip
    zones = rng.choice(ZONES, n)
    return FlowInputs(**{**data.__dict__, "customers": data.customers.assign(timezone=zones)})


def record(data: FlowInputs, sends: pd.DataFrame) -> FlowInputs:
    """The SMS table after the platform sent ``sends`` (held-out rows are not sent)."""
    out = sends[~sends["holdout"]]
    rows = pd.DataFrame({
        "customer_id": out["customer_id"].to_numpy(),
        "occurred_at": out["send_at_utc"].dt.tz_convert(None).to_numpy(),
        "event_type": "sent", "campaign_id": out["campaign_id"].to_numpy(),
        "message_type": out["message_type"].to_numpy(),
    })  # fmt: skip
    return FlowInputs(**{**data.__dict__, "sms": pd.concat([data.sms, rows], ignore_index=True)})


def cadence_run(
    data: FlowInputs,
    cadence: pd.Timedelta,
    grow: FlowInputs | None = None,
    period: pd.Timedelta = PERIOD,
):
    """Run every ``cadence`` over the period, recording each run's sends before the next.

    ``grow``: the history goes on during the period (each run sees it up to its own as-of).
    """
    parts, runs, now, live = [], [], T0, data
    while now < T0 + period:
        source = live if grow is None else _upto(grow, now, live)
        run = flow_plan(source, now, cadence, CATALOGUE, POLICY, holdout=0.2)
        parts.append(run.plan.sends.assign(run_at=now))
        runs.append(run)
        live = record(live, run.plan.sends)
        now += cadence
    return pd.concat(parts, ignore_index=True), live


def _upto(full: FlowInputs, now, recorded: FlowInputs) -> FlowInputs:
    """The growing history known at ``now``, with the sends the scheduler recorded."""
    sent = recorded.sms[recorded.sms["event_type"] == "sent"]
    return FlowInputs(**{**full.__dict__, "sms": pd.concat([full.sms, sent], ignore_index=True)})


def _keys(frame):
    return sorted(map(tuple, frame[KEY].astype(str).to_numpy().tolist()))


@pytest.mark.parametrize(
    ("seed", "cadence", "period"),
    [
        (1, "1h", D / 2),
        (1, "6h", PERIOD),
        (2, "6h", PERIOD),
        (1, "24h", PERIOD),
        (2, "24h", PERIOD),
    ],
)
def test_consecutive_windows_equal_one_long_run(seed, cadence, period):
    data = history(seed)
    whole = flow_plan(data, T0, period, CATALOGUE, POLICY, holdout=0.2).plan.sends
    assert len(whole) >= 5, "the random history should make the flows send something"
    union, _ = cadence_run(data, pd.Timedelta(cadence), period=period)
    assert _keys(union) == _keys(whole)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cadence=st.sampled_from(["6h", "24h"]))
def test_windows_property(seed, cadence):
    data = history(seed, n=5)
    whole = flow_plan(data, T0, PERIOD, CATALOGUE, POLICY, holdout=0.2).plan.sends
    union, _ = cadence_run(data, pd.Timedelta(cadence))
    assert _keys(union) == _keys(whole)


def _exits_known_before(sends, data: FlowInputs):
    """Sends made after an exit event of their flow that their run already knew."""
    bad = []
    orders = data.orders
    stops = data.sms[data.sms["event_type"] == "opt_out"]
    for row in sends.itertuples(index=False):
        flow = CATALOGUE[row.flow]
        at = row.send_at_utc.tz_convert(None)
        known = row.run_at
        events = []
        if "purchase" in flow.exit_on:
            events += orders.loc[orders["customer_id"] == row.customer_id, "ordered_at"].tolist()
        if "opt_out" in flow.exit_on:
            events += stops.loc[stops["customer_id"] == row.customer_id, "occurred_at"].tolist()
        if any(row.trigger_at < e <= known and e <= at for e in events):
            bad.append(row)
    return bad


@pytest.mark.parametrize("cadence", ["6h", "24h"])
def test_growing_history_no_send_after_known_exit_none_twice_caps_hold(cadence):
    full = history(7, n=8, until=T0 + PERIOD, days=10)  # events go on during the period
    union, recorded = cadence_run(full, pd.Timedelta(cadence), grow=full)
    assert len(union) >= 5
    # nothing twice: one send per customer, flow instance and step
    assert not union.duplicated(["customer_id", "flow", "step", "trigger_at"]).any()
    assert not _exits_known_before(union, full)
    sent = union[~union["holdout"]]
    assert consent_violations(sent, full.sms).empty
    zones = dict(
        zip(full.customers["customer_id"], [(z,) for z in full.customers["timezone"]], strict=True)
    )
    assert quiet_hour_violations(sent, zones, POLICY).empty
    times = recorded.sms[recorded.sms["event_type"] == "sent"]
    times = pd.DataFrame({"customer_id": times["customer_id"], "sent_at": times["occurred_at"],
                          "planned": True})  # fmt: skip
    assert window_violations(times, D, POLICY.daily_cap).empty
    assert window_violations(times, 7 * D, POLICY.engaged_cap_per_week).empty


def test_as_of_reads_nothing_after_it():
    data = history(3)
    before = flow_plan(data, T0, 3 * D, CATALOGUE, POLICY, holdout=0.2)
    future = history(4, until=T0 + 5 * D, days=4)
    later = {}
    for name, (_, time) in INPUT_COLUMNS.items():
        extra = getattr(future, name)
        if name == "customers":  # the same customers
            later[name] = data.customers
            continue
        new = (extra[time] > T0).to_numpy()
        if name == "sms":  # consent events count at each send's time: not "future data" here
            new = new & ~extra["event_type"].isin(["opt_in", "opt_out"]).to_numpy()
        later[name] = pd.concat([getattr(data, name), extra[new]], ignore_index=True)
    later = FlowInputs(**later)
    assert len(later.orders) > len(data.orders) and len(later.events) > len(data.events)
    assert len(later.scores) > len(data.scores) and len(later.sms) > len(data.sms)
    after = flow_plan(later, T0, 3 * D, CATALOGUE, POLICY, holdout=0.2)
    assert len(before.plan.sends) >= 5
    # consent_checked_at is how far the SMS export reaches (consent is the latest knowledge)
    drop = ["consent_checked_at"]
    pd.testing.assert_frame_equal(
        before.plan.sends.drop(columns=drop), after.plan.sends.drop(columns=drop)
    )
    pd.testing.assert_frame_equal(before.plan.suppressed, after.plan.suppressed)
    pd.testing.assert_frame_equal(before.state, after.state)
    pd.testing.assert_frame_equal(before.emails, after.emails)


def test_a_stop_after_as_of_blocks_the_later_sends():
    data = history(5)
    run = flow_plan(data, T0, PERIOD, CATALOGUE, POLICY, holdout=0.0)
    sends = run.plan.sends
    first = sends[sends["send_at_utc"].dt.tz_convert(None) > T0 + H].iloc[0]
    stop_at = max(T0 + pd.Timedelta(minutes=1), first["send_at_utc"].tz_convert(None) - H)
    stop = pd.DataFrame([{"customer_id": first["customer_id"], "event_type": "opt_out",
                          "occurred_at": stop_at}])  # fmt: skip
    stopped = FlowInputs(**{**data.__dict__, "sms": pd.concat([data.sms, stop], ignore_index=True)})
    again = flow_plan(stopped, T0, PERIOD, CATALOGUE, POLICY, holdout=0.0)
    mine = again.plan.sends["customer_id"] == first["customer_id"]
    assert (again.plan.sends.loc[mine, "send_at_utc"].dt.tz_convert(None) < stop_at).all()
    sup = again.plan.suppressed
    assert sup.loc[sup["customer_id"] == first["customer_id"], "stop_after_as_of"].any()
