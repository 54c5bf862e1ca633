"""The flows backtest: a replay at a scheduler cadence, the send-time recheck, opt-out rates."""

from __future__ import annotations

import pandas as pd
import pytest

from smsseg.activation.policy import ActivationPolicy, PolicyError
from smsseg.flows import FlowInputs
from smsseg.flows.backtest import flow_backtest, optout_rates, run_at, write_backtest

from .frames import T0, inputs, only
from .test_scheduling import CATALOGUE, POLICY, history

H, D = pd.Timedelta(hours=1), pd.Timedelta(days=1)


def _cart_then_purchase():
    return inputs(events=[{"customer_id": "a", "occurred_at": T0, "event_type": "add_to_cart"}],
                  orders=[{"customer_id": "a", "ordered_at": T0 + D + H}])  # fmt: skip


def test_daily_cadence_misses_the_reminder_and_the_recheck_catches_the_offer():
    # runs at 08:00: the cart (09:00) is unknown to the run that would send the 13:00 reminder;
    # the final offer (13:00 next day) is planned at 08:00, the purchase at 10:00 cancels it
    bt = flow_backtest(_cart_then_purchase(), T0 - H, T0 + 3 * D, only("abandoned_cart"),
                       cadence=D, holdout=0.0)  # fmt: skip
    outcome = dict(zip(bt.sends["step"], bt.sends["outcome"], strict=True))
    assert outcome == {"reminder_sms": "missed", "final_offer": "caught_after_exit"}
    row = bt.by_flow.set_index("flow").loc["abandoned_cart"]
    assert (row["missed"], row["caught_after_exit"], row["sent"], row["sent_after_exit"]) == (
        1,
        1,
        0,
        0,
    )
    assert row["share_caught_after_exit"] == 1.0


def test_hourly_cadence_sends_the_reminder_and_knows_the_purchase_in_time():
    bt = flow_backtest(_cart_then_purchase(), T0 - H, T0 + 3 * D, only("abandoned_cart"),
                       cadence=H, holdout=0.0)  # fmt: skip
    assert bt.sends[["step", "outcome"]].values.tolist() == [["reminder_sms", "sent"]]
    assert bt.summary["flow_sms_sent"] == 1 and bt.summary["sent_after_exit"] == 0


def test_run_at_is_the_start_of_the_window_holding_the_send():
    sends = pd.Series(pd.to_datetime(["2025-03-03 00:00", "2025-03-03 00:30", "2025-03-03 01:00"]))
    got = run_at(sends, pd.Timestamp("2025-03-02 23:00"), H)
    assert got.tolist() == list(pd.to_datetime(["2025-03-02 23:00", "2025-03-03 00:00",
                                                "2025-03-03 00:00"]))  # fmt: skip


def _recheck(sends: pd.DataFrame, data: FlowInputs) -> pd.DataFrame:
    """A live scheduler's sends after a send-time recheck: drop those whose flow's exit event
    (purchase, STOP) came at or before the send."""
    keep = []
    for row in sends.itertuples(index=False):
        flow = CATALOGUE[row.flow]
        at = row.send_at_utc.tz_convert(None)
        events = []
        if "purchase" in flow.exit_on:
            events += data.orders.loc[
                data.orders["customer_id"] == row.customer_id, "ordered_at"
            ].tolist()
        if "opt_out" in flow.exit_on:
            s = data.sms
            events += s.loc[(s["customer_id"] == row.customer_id) & (s["event_type"] == "opt_out"),
                            "occurred_at"].tolist()  # fmt: skip
        keep.append(not any(row.trigger_at < e <= at for e in events))
    return sends[keep]


@pytest.mark.parametrize("cadence", ["6h", "24h"])
def test_replay_equals_a_live_scheduler_loop(cadence):
    """The one-pass replay gives the sends of a scheduler run every ``cadence`` over a history
    that goes on during the period (each run knowing its past only), after a send-time recheck."""
    from .test_scheduling import cadence_run

    full = history(7, n=8, until=T0 + 2 * D, days=10)
    union, _ = cadence_run(full, pd.Timedelta(cadence), grow=full)
    live = _recheck(union, full)
    bt = flow_backtest(full, T0, T0 + 2 * D, CATALOGUE, POLICY, cadence=pd.Timedelta(cadence),
                       holdout=0.2)  # fmt: skip
    replay = bt.sends[bt.sends["outcome"].isin(["sent", "holdout"])]
    got = sorted(zip(replay["customer_id"], replay["flow"], replay["step"], replay["scheduled_at"],
                     strict=True))  # fmt: skip
    want = sorted(zip(live["customer_id"], live["flow"], live["step"],
                      live["send_at_utc"].dt.tz_convert(None), strict=True))  # fmt: skip
    assert len(want) >= 5
    assert got == want


def test_optout_rates_by_weekly_frequency():
    mon = pd.Timestamp("2025-02-03 10:00")  # a Monday
    rows = (
        [("a", mon + k * H, "sent") for k in range(2)] + [("a", mon + 3 * H, "opt_out")]
        + [("b", mon + k * H, "sent") for k in range(2)]
        + [("c", mon, "sent")] + [("d", mon + 7 * D, "sent")] + [("e", mon + 8 * D, "opt_out")]
    )  # fmt: skip
    sms = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "event_type"])
    rates = optout_rates(sms, mon + 14 * D).set_index("sms_per_week")
    # two customer-weeks with 2 SMS (one opted out), two with 1 SMS (none); the silent week's
    # opt-out is not attributed to frequency
    assert rates.loc[2, ["customer_weeks", "optouts"]].tolist() == [2, 1]
    assert (
        rates.loc[2, "rate"] == 0.5 and rates.loc[1, "rate"] == 0.0 and rates.loc[0, "rate"] == 0.0
    )


def test_errors_and_files(tmp_path):
    data = _cart_then_purchase()
    with pytest.raises(PolicyError, match="must end after it starts"):
        flow_backtest(data, T0, T0, only("abandoned_cart"))
    with pytest.raises(PolicyError, match="cadence"):
        flow_backtest(data, T0, T0 + D, only("abandoned_cart"), cadence=pd.Timedelta(0))
    bt = flow_backtest(data, T0 - H, T0 + 3 * D, only("abandoned_cart"), ActivationPolicy())
    paths = write_backtest(bt, tmp_path / "bt")
    assert all(p.is_file() for p in paths.values())
    assert pd.read_csv(paths["by_flow.csv"])["flow"].tolist() == ["abandoned_cart"]
