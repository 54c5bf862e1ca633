"""An independent check of consent at send time on simulated data (issue 11, must-show 1).

3,000 simulated customers, segmented as of 2025-12-30 (midnight), a plan over every goal. STOPs
are injected into the ``sms`` table for customers the plan would text: some at random instants
of the day before and of the as-of day itself (after the cut-off, before the send window), some
at random instants inside the window. The plan is built through the real path (a data
directory, DuckDB, :func:`~smsseg.activation.run.plan_for_dataset`), then every send is checked
against the whole history with a plain per-customer bisect, sharing no code with the planner.
Run with ``-s`` to see the counts.
"""

from __future__ import annotations

import bisect
import logging
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from smsseg.activation.policy import GOAL_KEYS
from smsseg.activation.run import plan_for_dataset

AS_OF = pd.Timestamp("2025-12-30")
N_CUSTOMERS = 3000


def _plan(data_dir, membership, catalogue):
    from smsseg.data.load import load

    return plan_for_dataset(load(data_dir), membership, AS_OF, list(GOAL_KEYS), holdout=0.1,
                            catalogue=catalogue)  # fmt: skip


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from smsseg.data.load import load
    from smsseg.data.simulator import generate
    from smsseg.features import build_features
    from smsseg.segments import load_catalogue
    from smsseg.segments.snapshot import run_segments

    data_dir = tmp_path_factory.mktemp("stops") / "data"
    generate(data_dir, n_customers=N_CUSTOMERS)
    logging.disable(logging.WARNING)  # the simulator's deliberately bad phones are warned about
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            features = build_features(load(data_dir), AS_OF)
            catalogue = load_catalogue()
            membership = run_segments(features, None, catalogue, seed=42).membership
            baseline = _plan(data_dir, membership.reset_index(), catalogue)
    finally:
        logging.disable(logging.NOTSET)
    return data_dir, membership.reset_index(), catalogue, baseline


def inject_stops(sms: pd.DataFrame, baseline, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """STOPs for customers the baseline plan texts: half on the day before and the as-of day,
    half inside the send window; never before the customer's own latest consent event."""
    texted = np.sort(baseline.sends["customer_id"].unique())
    chosen = rng.choice(texted, size=min(400, len(texted)), replace=False)
    before, inside = chosen[: len(chosen) // 2], chosen[len(chosen) // 2 :]
    day = pd.Timedelta(days=1).value
    at_before = (
        AS_OF - pd.Timedelta(days=1) + pd.to_timedelta(rng.integers(0, 2 * day, len(before)))
    )
    at_inside = (
        AS_OF + pd.Timedelta(days=1) + pd.to_timedelta(rng.integers(0, 7 * day, len(inside)))
    )
    stops = pd.DataFrame({
        "customer_id": np.concatenate([before, inside]),
        "occurred_at": np.concatenate([at_before, at_inside]),
        "where": ["before_window"] * len(before) + ["inside_window"] * len(inside),
    })  # fmt: skip
    # a STOP after the customer's own latest consent event, so that it is the one in force
    consent = sms[sms["event_type"].isin(["opt_in", "opt_out"])]
    latest = consent.groupby("customer_id")["occurred_at"].max() + pd.Timedelta(minutes=1)
    floor = stops["customer_id"].map(latest)
    stops["occurred_at"] = stops["occurred_at"].where(stops["occurred_at"] > floor, floor)
    rows = stops.assign(event_type="opt_out").reindex(columns=sms.columns)
    return pd.concat([sms, rows], ignore_index=True), stops


def sends_after_a_stop(sends: pd.DataFrame, sms: pd.DataFrame) -> int:
    """Sends whose customer's latest consent event at or before the send is a STOP (a STOP wins a
    tie), by a per-customer sorted list and ``bisect``: nothing shared with the planner."""
    history: dict[str, list[tuple[pd.Timestamp, int]]] = {}
    consent = sms[sms["event_type"].isin(["opt_in", "opt_out"])]
    for cid, at, kind in consent[["customer_id", "occurred_at", "event_type"]].itertuples(
        index=False
    ):
        history.setdefault(str(cid), []).append((pd.Timestamp(at), int(kind == "opt_out")))
    for events in history.values():
        events.sort()
    bad = 0
    for cid, send in sends[["customer_id", "send_at_utc"]].itertuples(index=False):
        events = history.get(str(cid), [])
        k = bisect.bisect_right(events, (send.tz_convert("UTC").tz_localize(None), 1))
        bad += k == 0 or events[k - 1][1] == 1
    return bad


def test_no_send_after_a_known_stop_on_simulated_data(shop, tmp_path):
    data_dir, membership, catalogue, baseline = shop
    sms = pd.read_parquet(data_dir / "sms.parquet")
    with_stops, stops = inject_stops(sms, baseline, np.random.default_rng(11))
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    with_stops.to_parquet(copy / "sms.parquet", index=False)
    logging.disable(logging.WARNING)
    try:
        plan = _plan(copy, membership, catalogue)
    finally:
        logging.disable(logging.NOTSET)

    # the baseline's sends to the injected customers at or after their STOP: what must go
    first_stop = stops.groupby("customer_id")["occurred_at"].min()
    base = baseline.sends.assign(stop=baseline.sends["customer_id"].map(first_stop))
    doomed = base[base["stop"].notna() & (base["send_at_utc"].dt.tz_localize(None) >= base["stop"])]
    kept_before = plan.sends["customer_id"].isin(stops["customer_id"])
    counts = {
        "customers": N_CUSTOMERS,
        "goals": len(GOAL_KEYS),
        "stops injected before the window": int((stops["where"] == "before_window").sum()),
        "  of the stops before the window, on the as-of day": int(
            ((stops["where"] == "before_window") & (stops["occurred_at"] > AS_OF)).sum()
        ),
        "stops injected inside the window": int((stops["where"] == "inside_window").sum()),
        "sends planned without the injected stops": len(baseline.sends),
        "sends planned with them": len(plan.sends),
        "baseline sends at or after an injected stop": len(doomed),
        "(customer, campaign) not sent for a stop after as_of (summary)": int(
            plan.campaigns["suppressed_stop_after_as_of"].sum()
        ),
        "  the same in the baseline (the simulator's own late stops)": int(
            baseline.campaigns["suppressed_stop_after_as_of"].sum()
        ),
        "sends kept to injected customers (all before their stop)": int(kept_before.sum()),
        "sends after a known stop (independent check)": sends_after_a_stop(plan.sends, with_stops),
        "same check on the baseline plan against the new history": sends_after_a_stop(
            baseline.sends, with_stops
        ),
    }
    print("\n" + "\n".join(f"{k:>60}: {v:,}" for k, v in counts.items()))
    assert counts["sends after a known stop (independent check)"] == 0
    # the check can fail: the plan made without the STOPs breaks it exactly where expected
    assert counts["same check on the baseline plan against the new history"] == len(doomed) > 0
    # STOPs on the as-of day (after midnight) are counted as such in the summary
    late = counts["(customer, campaign) not sent for a stop after as_of (summary)"]
    assert late > counts["  the same in the baseline (the simulator's own late stops)"]
    # and the STOPs inside the window left the earlier sends alone
    inside = stops[stops["where"] == "inside_window"].set_index("customer_id")["occurred_at"]
    kept = plan.sends[plan.sends["customer_id"].isin(inside.index)]
    assert len(kept) > 0
    assert (kept["send_at_utc"].dt.tz_localize(None) < kept["customer_id"].map(inside)).all()
