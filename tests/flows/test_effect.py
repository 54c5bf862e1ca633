"""Flows replayed by the simulator (``generate(flows=True)``) and the backtest's measured effect.

The simulator plants a response to the abandoned-cart reminder and randomizes a holdout per flow;
the truth table carries each randomized customer's potential outcomes, so the true average effect
on 7-day conversion is known and the backtest's interval must cover it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smsseg.data.simulator import generate
from smsseg.flows.backtest import measured_effects
from smsseg.flows.catalogue import load_flows
from smsseg.flows.run import run_backtest

START, END = pd.Timestamp("2025-05-01"), pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "flows"
    generate(out, n_customers=4000, seed=5, flows=True)
    return out


@pytest.fixture(scope="module")
def backtest(replayed, tmp_path_factory):
    # small shards: the sharded path is the one exercised
    result, _ = run_backtest(replayed, START, END, tmp_path_factory.mktemp("bt") / "out",
                             shard_size=1500)  # fmt: skip
    return result


def test_backtest_recovers_the_planted_cart_effect(replayed, backtest):
    truth = pd.read_parquet(replayed / "truth.parquet")
    at = truth["flow_cart_assigned_at"]
    window = (at > START) & (at <= END - pd.Timedelta(days=7))
    cart = truth[window]
    true_effect = (cart["flow_cart_converted_if_treated"].astype(int)
                   - cart["flow_cart_converted_if_holdout"].astype(int)).mean()  # fmt: skip
    row = backtest.effects.set_index("flow").loc["abandoned_cart"]
    assert row["n_treated"] + row["n_holdout"] == len(cart)
    assert row["n_holdout"] == (cart["flow_cart_variant"] == "holdout").sum()
    assert row["ci_low"] <= true_effect <= row["ci_high"]
    assert row["ci_low"] > 0  # the planted effect is large enough to be seen on 4,000 customers
    assert true_effect > 0.1


def test_flows_without_a_planted_effect_are_measured_too(backtest):
    effects = backtest.effects.set_index("flow")
    # every simulated flow is randomized; none but the cart reminder changes purchases
    assert {"welcome", "browse_abandonment", "post_purchase", "win_back", "loyalty"} <= set(
        effects.index
    )
    others = effects.drop(index="abandoned_cart")
    assert (others["effect"].abs() < effects.loc["abandoned_cart", "effect"]).all()


def test_shards_give_the_same_replay_as_one_pass(replayed, backtest, tmp_path):
    whole, _ = run_backtest(replayed, START, END, tmp_path / "one", shard_size=100_000)
    pd.testing.assert_frame_equal(whole.by_flow, backtest.by_flow)
    for key, value in whole.summary.items():  # float sums differ in the last bits only
        assert backtest.summary[key] == (
            pytest.approx(value) if isinstance(value, float) else value
        )
    key = ["customer_id", "flow", "step", "scheduled_at"]
    a = whole.sends.sort_values(key).reset_index(drop=True)
    b = backtest.sends.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_replayed_flow_sends_respect_consent_quiet_hours_and_holdouts(replayed):
    sms = pd.read_parquet(replayed / "sms.parquet")
    truth = pd.read_parquet(replayed / "truth.parquet").set_index("customer_id")
    customers = pd.read_parquet(replayed / "customers.parquet").set_index("customer_id")
    sent = sms[(sms["event_type"] == "sent") & sms["campaign_id"].str.startswith("flow-")]
    assert set(sent["message_type"]) >= {"cart_reminder", "welcome", "win_back"}
    opt_in = sent["customer_id"].map(truth["opt_in_at"])
    opt_out = sent["customer_id"].map(truth["opt_out_at"])
    assert (sent["occurred_at"] >= opt_in).all()
    assert (opt_out.isna() | (sent["occurred_at"] < opt_out)).all()
    zone = sent["customer_id"].map(customers["timezone"])
    for name, rows in sent.groupby(zone):  # the customer's zone with daylight saving
        local = rows["occurred_at"].dt.tz_localize("UTC").dt.tz_convert(name)
        assert local.dt.hour.between(8, 19).all(), name
        assert not ((local.dt.month == 12) & (local.dt.day == 25)).any()
    # held-out customers never get their flow's SMS
    a = pd.read_parquet(replayed / "assignments.parquet")
    held = a[a["variant"] == "holdout"]
    flow_of = sent["campaign_id"].str.rsplit("-", n=1).str[0]
    pairs = set(zip(held["customer_id"], held["campaign_id"], strict=True))
    assert not any((c, f) in pairs for c, f in zip(sent["customer_id"], flow_of, strict=True))
    assert held.groupby("campaign_id").size().min() > 0


def test_an_empty_arm_is_a_note_not_a_crash():
    catalogue = load_flows()
    a = pd.DataFrame({"customer_id": ["a", "b"], "campaign_id": "flow-welcome",
                      "variant": "treatment",
                      "assigned_at": pd.to_datetime(["2025-03-01", "2025-03-02"])})  # fmt: skip
    orders = pd.DataFrame({"customer_id": ["a"], "ordered_at": pd.to_datetime(["2025-03-03"])})
    got = measured_effects(a, orders, catalogue, pd.Timestamp("2025-02-01"),
                           pd.Timestamp("2025-04-01")).set_index("flow")  # fmt: skip
    assert got.loc["welcome", "n_treated"] == 2 and got.loc["welcome", "conversion_treated"] == 0.5
    assert np.isnan(got.loc["welcome", "effect"]) and "empty" in got.loc["welcome", "note"]


def test_flow_backtest_takes_the_assignments_whatever_their_dtypes():
    """The pure function with an assignments frame as a caller may hold it: microsecond times,
    Arrow strings (the orders come through check_inputs as nanoseconds and str)."""
    from smsseg.flows.backtest import flow_backtest

    from .frames import T0, inputs

    data = inputs(orders=[{"customer_id": "a", "ordered_at": T0 + pd.Timedelta(days=2)}])
    a = pd.DataFrame({
        "customer_id": pd.Series(["a", "b"], dtype="string[pyarrow]"),
        "campaign_id": "flow-post_purchase", "variant": ["treatment", "holdout"],
        "assigned_at": pd.Series([T0, T0]).astype("datetime64[us]"),
    })  # fmt: skip
    bt = flow_backtest(data, T0 - pd.Timedelta(days=1), T0 + pd.Timedelta(days=20), load_flows(),
                       assignments=a)  # fmt: skip
    row = bt.effects.set_index("flow").loc["post_purchase"]
    assert (row["conversion_treated"], row["conversion_holdout"], row["effect"]) == (1.0, 0.0, 1.0)


def test_conversion_counts_orders_inside_the_window_only():
    catalogue = load_flows()
    t0 = pd.Timestamp("2025-03-01")
    a = pd.DataFrame({"customer_id": list("abcd"), "campaign_id": "flow-abandoned_cart",
                      "variant": ["treatment", "treatment", "holdout", "holdout"],
                      "assigned_at": t0})  # fmt: skip
    orders = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        # a: day 2 (in), b: day 8 (out), c: at the assignment (not after it), d: cancelled
        "ordered_at": [t0 + pd.Timedelta(days=2), t0 + pd.Timedelta(days=8), t0,
                       t0 + pd.Timedelta(days=1)],
        "status": ["completed", "completed", "completed", "cancelled"],
    })  # fmt: skip
    got = measured_effects(a, orders, catalogue, t0 - pd.Timedelta(days=1),
                           t0 + pd.Timedelta(days=30)).set_index("flow").loc["abandoned_cart"]  # fmt: skip
    assert (got["conversion_treated"], got["conversion_holdout"]) == (0.5, 0.0)
    assert got["effect"] == 0.5


def test_the_cli_generates_replayed_flows_and_prints_the_measured_effect(replayed, tmp_path):
    from typer.testing import CliRunner

    from smsseg.cli import app

    runner = CliRunner()
    for flag, flows in ((["--flows"], True), ([], False)):
        out = tmp_path / f"gen{flows}"
        args = ["generate", "--out", str(out), "--customers", "300", "--seed", "2", *flag]
        assert runner.invoke(app, args).exit_code == 0
        campaigns = set(pd.read_parquet(out / "assignments.parquet")["campaign_id"])
        assert ("flow-abandoned_cart" in campaigns) is flows
    bt = tmp_path / "bt"
    res = runner.invoke(app, ["flows", "backtest", "--data", str(replayed), "--from", "2025-11-01",
                              "--to", "2025-12-31", "--out", str(bt), "--shard-size", "2000",
                              "--conversion-days", "5"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Measured effect" in res.output and "abando" in res.output  # a narrow console
    effects = pd.read_csv(bt / "effects.csv").set_index("flow")
    assert effects.loc["abandoned_cart", "n_treated"] > 0
    assert (bt / "effects.png").is_file() and (bt / "by_segment.csv").is_file()
    bad = runner.invoke(app, ["flows", "backtest", "--data", str(replayed), "--from", "2025-11-01",
                              "--to", "2025-12-31", "--out", str(tmp_path / "x"),
                              "--shard-size", "0"])  # fmt: skip
    assert bad.exit_code == 1 and "shard_size=0 must be >= 1" in bad.output
    assert not (tmp_path / "x").exists()
