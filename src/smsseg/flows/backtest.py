"""Flows replayed over history as if they had been live: how a marketer sizes them first.

Design: the replay is one pass, not one :func:`~smsseg.flows.due.flow_plan` per day. Because
every step's instant is a pure function of the data (:mod:`smsseg.flows.state`), a scheduler
running every ``cadence`` would emit a step scheduled at ``s`` in the run at ``r(s)``, the start of
the cadence window holding ``s``, if its trigger was known by then and no exit known by then
ended its flow. The replay reads the whole history once and applies that rule to every step,
then the same decisions as a live run (:func:`~smsseg.flows.due.decide`: consent at ``s``,
eligibility, sunset, holdouts, caps counting the campaigns that really went out). On top of the
live rule, a send-time recheck (what :func:`~smsseg.activation.recheck.drop_stopped` does for
STOPs) drops the sends whose flow an exit ended between ``r(s)`` and ``s``; the replay counts them
(``caught_after_exit``), so the share a plan made a day ahead would have sent after a purchase is
measured, and after the recheck it is zero. Steps whose trigger arrived after ``r(s)`` are
``missed``: the cadence is too slow for them.

Expected opt-outs use the opt-out rate by weekly SMS frequency observed in the history before
``start`` (:func:`optout_rates`), applied to every customer-week of the replay with and without
the flows' sends; the difference is the flows' expected opt-outs. It is a frequency association,
not a causal estimate (customers who get more SMS differ in other ways).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smsseg.activation.consent import as_timestamp
from smsseg.activation.policy import ActivationPolicy, PolicyError
from smsseg.flows.catalogue import FlowCatalogue
from smsseg.flows.due import _all_steps, _sunset, decide
from smsseg.flows.triggers import FlowInputs, as_of_inputs, check_inputs, exit_events
from smsseg.zones import resolve_zones

#: Weekly SMS counts are bucketed 0, 1, ..., ``MAX_BUCKET`` or more for the opt-out rates.
MAX_BUCKET = 4
#: How often the replayed scheduler runs, unless told: hourly, the finest cadence the default
#: catalogue's delays assume.
DEFAULT_CADENCE = pd.Timedelta(hours=1)
#: Weeks of history before the replay that the opt-out rates are read from.
RATE_WEEKS = 26


@dataclass(frozen=True)
class FlowBacktest:
    """What a replay gives; every frame is small and ready to print or plot.

    sends : every SMS step the replay considered, with ``outcome`` (``sent``, ``holdout``, a
        suppression reason, ``caught_after_exit``, ``missed``) and ``run_at``.
    by_flow : per flow: considered, sent, holdout, capped, caught after exit, missed, shares.
    weekly : SMS per customer-week (campaigns in the history + the flows' sends).
    optouts : opt-out rate by weekly frequency (history) and expected opt-outs (replay).
    summary : headline numbers (dict).
    by_segment : SMS per messaged customer per week by the flow's segment.
    effects : measured effect per flow with randomized history (:func:`measured_effects`).
    """

    sends: pd.DataFrame
    by_flow: pd.DataFrame
    weekly: pd.DataFrame
    optouts: pd.DataFrame
    summary: dict
    by_segment: pd.DataFrame
    effects: pd.DataFrame


def run_at(sched: pd.Series, start: pd.Timestamp, cadence: pd.Timedelta) -> pd.Series:
    """The run that emits a send at ``sched``: the start of the cadence window ``(r, r + c]``."""
    k = np.ceil((sched - start) / cadence) - 1
    return start + k * cadence


def _exit_before(cand: pd.DataFrame, exits: pd.DataFrame, known_by: pd.Series) -> pd.Series:
    """Whether an exit event of the candidate's flow lies in ``(known_at, known_by]``."""
    m = cand[["customer_id", "flow", "known_at"]].assign(pos=np.arange(len(cand)),
                                                         by=known_by.to_numpy())  # fmt: skip
    m = m.merge(exits, on=["customer_id", "flow"])
    hit = (m["at"] > m["known_at"]) & (m["at"] <= m["by"])
    out = np.zeros(len(cand), dtype=bool)
    out[m.loc[hit, "pos"].to_numpy()] = True
    return pd.Series(out, index=cand.index)


def optout_rates(sms: pd.DataFrame, start: pd.Timestamp, weeks: int = RATE_WEEKS) -> pd.DataFrame:
    """Opt-out rate per customer-week by the number of SMS sent that week (bucketed).

    Read on the ``weeks`` weeks before ``start``: a customer-week counts when the customer got
    at least one SMS that week or opted out in it (weeks without either carry no signal).
    """
    lo = start - pd.Timedelta(weeks=weeks)
    recent = sms[(sms["occurred_at"] > lo) & (sms["occurred_at"] <= start)]
    week = recent["occurred_at"].dt.to_period("W").dt.start_time
    frame = recent.assign(week=week)
    sent = frame[frame["event_type"] == "sent"].groupby(["customer_id", "week"]).size()
    stop = frame[frame["event_type"] == "opt_out"].groupby(["customer_id", "week"]).size() > 0
    weeks_df = pd.DataFrame({"sent": sent}).join(pd.DataFrame({"stop": stop}), how="outer")
    weeks_df = weeks_df.fillna({"sent": 0, "stop": False})
    bucket = weeks_df["sent"].clip(upper=MAX_BUCKET).astype(int)
    out = (
        weeks_df.assign(bucket=bucket)
        .groupby("bucket")
        .agg(customer_weeks=("stop", "size"), optouts=("stop", "sum"))
    )
    out = out.reindex(range(MAX_BUCKET + 1), fill_value=0)
    out["rate"] = (out["optouts"] / out["customer_weeks"].replace(0, np.nan)).fillna(0.0)
    # weeks without any SMS are not enumerated (only weeks with an event are seen), so their
    # rate is not measured: opt-outs with no SMS that week are not caused by frequency
    out.loc[0, "rate"] = 0.0
    return out.reset_index().rename(columns={"bucket": "sms_per_week"})


def _weekly(campaigns: pd.DataFrame, flows: pd.DataFrame, start, end) -> pd.DataFrame:
    def per_week(frame, name):
        week = frame["at"].dt.to_period("W").dt.start_time
        return frame.assign(week=week).groupby(["customer_id", "week"]).size().rename(name)

    camp = campaigns[(campaigns["at"] > start) & (campaigns["at"] <= end)]
    out = pd.concat([per_week(camp, "campaign_sms"), per_week(flows, "flow_sms")], axis=1)
    out = out.fillna(0).astype(int)
    return out.assign(total_sms=out["campaign_sms"] + out["flow_sms"]).reset_index()


def _expected_optouts(weekly: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    rate = rates.set_index("sms_per_week")["rate"]

    def expected(col):
        return float(weekly[col].clip(upper=MAX_BUCKET).map(rate).sum())

    with_flows, without = expected("total_sms"), expected("campaign_sms")
    return rates.assign(
        expected_with_flows=with_flows,
        expected_without_flows=without,
        expected_from_flows=with_flows - without,
    )


#: Days after a flow's randomization in which an order counts as a conversion, unless told.
CONVERSION_DAYS = 7
#: Variants of the assignments table that are a flow's control group.
CONTROL_VARIANTS = ("holdout", "control")
EFFECT_COLUMNS = ["flow", "experiment", "n_treated", "n_holdout", "conversion_treated",
                  "conversion_holdout", "effect", "ci_low", "ci_high", "p_value", "note"]  # fmt: skip


def measured_effects(
    assignments: pd.DataFrame,
    orders: pd.DataFrame,
    catalogue: FlowCatalogue,
    start: pd.Timestamp,
    end: pd.Timestamp,
    conversion_days: float = CONVERSION_DAYS,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Conversion of treated vs holdout customers, for the flows with randomized history.

    A flow has randomized history when the ``assignments`` table holds its holdout key
    (``flow-<flow>``, the salt :func:`~smsseg.flows.due.holdout_key` gives its live holdout) with
    a control variant (``holdout`` or ``control``) and ``treatment``. Customers randomized in
    ``(start, end - conversion_days]`` count (their window is complete by ``end``); one converts
    when a non-cancelled order lies in ``(assigned_at, assigned_at + conversion_days]``. The
    statistics are the readout's (:func:`~smsseg.readout.frequentist.proportion_ztest`: pooled
    z-test, Wald interval of treated minus holdout); a flow with an empty arm gets a ``note``.
    """
    from smsseg.flows.due import holdout_key
    from smsseg.readout.frequentist import proportion_ztest
    from smsseg.readout.summary import SampleStats

    window = pd.Timedelta(days=conversion_days)
    last = end - window
    done = orders
    if "status" in done:
        done = done[done["status"].astype(str).str.lower() != "cancelled"]
    # one key type on both sides of the as-of join, whatever the callers' dtypes (Arrow or
    # object strings, micro- or nanosecond times)
    done = pd.DataFrame({
        "customer_id": done["customer_id"].astype(str).to_numpy(dtype=object),
        "ordered_at": done["ordered_at"].to_numpy(dtype="datetime64[ns]"),
    }).sort_values("ordered_at")  # fmt: skip
    assignments = assignments.assign(
        customer_id=assignments["customer_id"].astype(str).to_numpy(dtype=object),
        assigned_at=assignments["assigned_at"].to_numpy(dtype="datetime64[ns]"),
    )
    rows = []
    for flow in catalogue.flows:
        key = holdout_key(flow)
        a = assignments[(assignments["campaign_id"] == key) & (assignments["assigned_at"] > start)
                        & (assignments["assigned_at"] <= last)]  # fmt: skip
        if a.empty:
            continue
        a = a.assign(treated=a["variant"].astype(str) == "treatment",
                     control=a["variant"].astype(str).isin(CONTROL_VARIANTS))  # fmt: skip
        a = a[a["treated"] | a["control"]].sort_values("assigned_at")
        nxt = pd.merge_asof(a, done.rename(columns={"ordered_at": "next_order"}),
                            left_on="assigned_at", right_on="next_order", by="customer_id",
                            allow_exact_matches=False, direction="forward")  # fmt: skip
        y = (nxt["next_order"] <= nxt["assigned_at"] + window).to_numpy()
        t, c = y[nxt["treated"].to_numpy()], y[nxt["control"].to_numpy()]
        row = {"flow": flow.key, "experiment": key, "n_treated": len(t), "n_holdout": len(c),
               "conversion_treated": t.mean() if len(t) else np.nan,
               "conversion_holdout": c.mean() if len(c) else np.nan, "note": ""}  # fmt: skip
        if len(t) and len(c):
            test = proportion_ztest(SampleStats.from_values(c.astype(float)),
                                    SampleStats.from_values(t.astype(float)), alpha)  # fmt: skip
            row.update(effect=float(test.diff), ci_low=float(test.ci_low),
                       ci_high=float(test.ci_high), p_value=float(test.p_value))  # fmt: skip
        else:
            row["note"] = "an arm is empty: no effect can be measured"
        rows.append(row)
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


@dataclass(frozen=True)
class ShardReplay:
    """One shard of customers replayed: additive parts of a :class:`FlowBacktest`."""

    sends: pd.DataFrame
    weekly: pd.DataFrame
    rate_counts: pd.DataFrame  # optout_rates' customer_weeks and optouts per bucket


def _check_period(start, end, cadence, holdout):
    start, end = as_timestamp(start, "start"), as_timestamp(end, "end")
    if end <= start:
        raise PolicyError(f"the backtest must end after it starts (from {start} to {end})")
    if not pd.Timedelta(cadence) > pd.Timedelta(0):
        raise PolicyError(f"cadence={cadence} must be longer than zero")
    if not 0 <= holdout < 1:
        raise PolicyError(f"holdout={holdout} must be >= 0 and < 1")
    return start, end


def flow_backtest(
    inputs: FlowInputs,
    start: object,
    end: object,
    catalogue: FlowCatalogue,
    policy: ActivationPolicy | None = None,
    *,
    cadence: pd.Timedelta = DEFAULT_CADENCE,
    holdout: float = 0.1,
    dormant_days: int = 120,
    assignments: pd.DataFrame | None = None,
    conversion_days: float = CONVERSION_DAYS,
) -> FlowBacktest:
    """Replay the flows over ``(start, end]`` as if a scheduler had run every ``cadence``.

    Parameters
    ----------
    inputs : the whole history (:class:`~smsseg.flows.triggers.FlowInputs`); rows after ``end``
        are ignored.
    start, end : the replayed period; catalogue, policy : as for
        :func:`~smsseg.flows.due.flow_plan`.
    cadence : how often the replayed scheduler runs (its window).
    holdout : sticky control share of each flow.
    assignments : the data's ``assignments`` table; flows randomized in it get a measured effect
        (:func:`measured_effects`, conversion within ``conversion_days``).

    Returns
    -------
    FlowBacktest

    Raises
    ------
    PolicyError
        ``end`` not after ``start``, a cadence that is not positive, a bad holdout share.
    """
    policy = policy or ActivationPolicy()
    start, end = _check_period(start, end, cadence, holdout)
    inputs = check_inputs(inputs)
    shard = replay_shard(inputs, start, end, catalogue, policy, cadence=cadence,
                         holdout=holdout, dormant_days=dormant_days)  # fmt: skip
    effects = _effects(assignments, inputs.orders, catalogue, start, end, conversion_days)
    return combine([shard], start, end, catalogue, effects)


def _effects(assignments, orders, catalogue, start, end, conversion_days) -> pd.DataFrame:
    if assignments is None or assignments.empty:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    known = orders[orders["ordered_at"] <= end]
    return measured_effects(assignments, known, catalogue, start, end, conversion_days)


def replay_shard(
    inputs: FlowInputs,
    start: pd.Timestamp,
    end: pd.Timestamp,
    catalogue: FlowCatalogue,
    policy: ActivationPolicy,
    *,
    cadence: pd.Timedelta = DEFAULT_CADENCE,
    holdout: float = 0.1,
    dormant_days: int = 120,
) -> ShardReplay:
    """The replay of the customers in ``inputs`` (checked inputs; any subset of customers).

    Customers are independent in a replay (caps, holdouts and exits are per customer), so a
    caller may replay its customers shard by shard and :func:`combine` the shards: memory is
    bounded by the shard, not by the customer base.
    """
    known = as_of_inputs(inputs, end)
    zones = resolve_zones(known.customers).set_index("customer_id")["zones"]
    sunset = _sunset(as_of_inputs(inputs, start), start, policy, dormant_days, catalogue)
    steps = _all_steps(known, catalogue, policy, end, zones, sunset, dormant_days, since=start)
    sms = steps[(steps["channel"] == "sms") & (steps["scheduled_at"] > start)
                & (steps["scheduled_at"] <= end)].copy()  # fmt: skip
    sms["run_at"] = run_at(sms["scheduled_at"], start, pd.Timedelta(cadence))
    exits = pd.concat(
        [exit_events(known, f, end).assign(flow=f.key) for f in catalogue.flows], ignore_index=True
    )
    missed = (sms["known_at"] > sms["run_at"]).to_numpy()
    ended = (sms["exit_at"].notna() & (sms["exit_at"] <= sms["run_at"])).to_numpy()
    # the send-time recheck: an exit after the run, before the send, drops it
    caught = (sms["exit_at"].notna() & (sms["exit_at"] <= sms["scheduled_at"])).to_numpy() & ~ended
    live = sms[~missed & ~ended & ~caught]
    since = start - max(pd.Timedelta(days=7), pd.Timedelta(days=policy.discount_cooldown_days))
    # the history's own sends of these flows (a history where they already ran) are what the
    # replay re-plans: they count neither toward the caps nor as campaigns
    flow_ids = _flow_campaign_ids(catalogue)
    ids = known.sms.get("campaign_id", pd.Series(None, index=known.sms.index, dtype=object))
    campaigns = known.sms[((known.sms["event_type"] == "sent") & ~ids.isin(flow_ids)).to_numpy()]
    history = campaigns[campaigns["occurred_at"] > since]
    live, reason, _ = decide(live, inputs, known, start, catalogue, policy, holdout, sunset,
                             history, None)  # fmt: skip
    outcome = reason.fillna("sent").where(~(reason.isna() & live["holdout"]), "holdout")
    cols = ["customer_id", "flow", "step", "message_type", "trigger_at", "known_at",
            "scheduled_at", "run_at"]  # fmt: skip
    rows = pd.concat(
        [live[cols].assign(outcome=outcome.to_numpy()),
         sms.loc[caught & ~missed, cols].assign(outcome="caught_after_exit"),
         sms.loc[missed, cols].assign(outcome="missed")],
        ignore_index=True,
    )  # fmt: skip
    # measured apart from the rule above, on the raw exit events: sends after an exit event
    sent = rows["outcome"] == "sent"
    after = _exit_before(rows[sent], exits, rows.loc[sent, "scheduled_at"])
    rows["after_exit"] = False
    rows.loc[after.index, "after_exit"] = after.to_numpy()
    camp = pd.DataFrame({"customer_id": campaigns["customer_id"], "at": campaigns["occurred_at"]})
    sent_rows = rows[rows["outcome"] == "sent"]
    flows = pd.DataFrame({"customer_id": sent_rows["customer_id"], "at": sent_rows["scheduled_at"]})
    counts = optout_rates(known.sms, start)[["sms_per_week", "customer_weeks", "optouts"]]
    return ShardReplay(rows, _weekly(camp, flows, start, end), counts)


def _flow_campaign_ids(catalogue: FlowCatalogue) -> list[str]:
    return [f.campaign_id(s.key) for f in catalogue.flows for s in f.steps]


def combine(
    shards: list[ShardReplay],
    start: pd.Timestamp,
    end: pd.Timestamp,
    catalogue: FlowCatalogue,
    effects: pd.DataFrame | None = None,
) -> FlowBacktest:
    """One :class:`FlowBacktest` from the replays of disjoint shards of customers."""
    rows = pd.concat([s.sends for s in shards], ignore_index=True)
    weekly = pd.concat([s.weekly for s in shards], ignore_index=True)
    counts = pd.concat([s.rate_counts for s in shards]).groupby("sms_per_week").sum()
    counts["rate"] = (counts["optouts"] / counts["customer_weeks"].replace(0, np.nan)).fillna(0.0)
    counts.loc[0, "rate"] = 0.0  # see optout_rates
    rates = counts.reset_index()
    effects = pd.DataFrame(columns=EFFECT_COLUMNS) if effects is None else effects
    return _summarise(rows, weekly, rates, start, end, catalogue, effects)


def _by_segment(rows: pd.DataFrame, weekly: pd.DataFrame, catalogue, weeks: float) -> pd.DataFrame:
    """SMS per messaged customer per week by the flow's segment (the catalogue's ``segment``)."""
    segment_of = {f.key: f.segment for f in catalogue.flows}
    sent = rows[rows["outcome"] == "sent"].assign(segment=lambda f: f["flow"].map(segment_of))
    per = sent.groupby("segment").agg(flow_sms=("customer_id", "size"),
                                      customers=("customer_id", "nunique"))  # fmt: skip
    per["flow_sms_per_customer_week"] = per["flow_sms"] / per["customers"] / weeks
    # all SMS (campaigns + flows) of those customers, in the weeks they got any
    pairs = sent[["segment", "customer_id"]].drop_duplicates()
    tot = pairs.merge(weekly, on="customer_id")
    per["total_sms_per_active_week"] = tot.groupby("segment")["total_sms"].mean()
    per["max_sms_in_a_week"] = tot.groupby("segment")["total_sms"].max()
    return per.reset_index()


def _summarise(rows, weekly, rates, start, end, catalogue, effects) -> FlowBacktest:
    counts = rows.pivot_table(index="flow", columns="outcome", values="customer_id",
                              aggfunc="size", fill_value=0)  # fmt: skip
    for col in ("sent", "holdout", "capped", "discount_cooldown", "caught_after_exit", "missed"):
        if col not in counts:
            counts[col] = 0
    counts = counts.reindex([f.key for f in catalogue.flows], fill_value=0)
    considered = counts.sum(axis=1)
    planned = counts["sent"] + counts["holdout"] + counts["capped"] + counts["discount_cooldown"]
    by_flow = counts.assign(
        considered=considered,
        share_capped=(counts["capped"] + counts["discount_cooldown"]) / planned.replace(0, np.nan),
        share_caught_after_exit=counts["caught_after_exit"]
        / (planned + counts["caught_after_exit"]).replace(0, np.nan),
        sent_after_exit=rows.groupby("flow")["after_exit"]
        .sum()
        .reindex(counts.index, fill_value=0),
    ).reset_index()
    sent = rows[rows["outcome"] == "sent"]
    weeks = max((end - start) / pd.Timedelta(weeks=1), 1e-9)
    optouts = _expected_optouts(weekly, rates)
    summary = {
        "start": start.isoformat(), "end": end.isoformat(), "weeks": round(weeks, 3),
        "flow_sms_sent": int(len(sent)),
        "customers_messaged": int(sent["customer_id"].nunique()),
        "flow_sms_per_messaged_customer_per_week":
            float(len(sent) / max(sent["customer_id"].nunique(), 1) / weeks),
        "max_sms_in_a_customer_week": int(weekly["total_sms"].max()) if len(weekly) else 0,
        "share_capped": float(
            (by_flow["capped"].sum() + by_flow["discount_cooldown"].sum()) / max(planned.sum(), 1)
        ),
        "caught_after_exit": int(by_flow["caught_after_exit"].sum()),
        "sent_after_exit": int(rows["after_exit"].sum()),
        "missed": int(by_flow["missed"].sum()),
        "expected_optouts_from_flows": float(optouts["expected_from_flows"].iloc[0]),
        "flows_with_measured_effect": int(effects["effect"].notna().sum()) if len(effects) else 0,
    }  # fmt: skip
    by_segment = _by_segment(rows, weekly, catalogue, weeks)
    return FlowBacktest(rows, by_flow, weekly, optouts, summary, by_segment, effects)


def outcome_figure(by_flow: pd.DataFrame):
    """Stacked bars: what happened to each flow's SMS steps in the replay."""
    from matplotlib.figure import Figure

    cols = [c for c in ("sent", "holdout", "capped", "discount_cooldown", "caught_after_exit",
                        "missed", "no_consent", "prefers_email", "invalid_phone",
                        "not_offer_responsive", "sunset") if c in by_flow]  # fmt: skip
    frame = by_flow.set_index("flow")[cols]
    fig = Figure(figsize=(7.5, 0.4 * len(frame) + 1.6))
    ax = fig.add_subplot()
    left = np.zeros(len(frame))
    for col in cols:
        ax.barh(frame.index, frame[col], left=left, label=col)
        left += frame[col].to_numpy()
    ax.set_xlabel("SMS steps in the replay")
    ax.set_title("Flow SMS by outcome")
    ax.invert_yaxis()
    ax.legend(fontsize=7, ncols=3, loc="lower right")
    fig.tight_layout()
    return fig


def weekly_figure(weekly: pd.DataFrame):
    """Histogram of SMS per customer-week: campaigns only, and with the flows."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 3.2))
    ax = fig.add_subplot()
    top = int(weekly["total_sms"].max()) if len(weekly) else 1
    bins = np.arange(0, top + 2) - 0.5
    ax.hist([weekly["campaign_sms"], weekly["total_sms"]], bins=bins,
            label=["campaigns only", "campaigns + flows"])  # fmt: skip
    ax.set_xlabel("SMS in a customer-week")
    ax.set_ylabel("customer-weeks")
    ax.set_title("Messages per customer per week")
    ax.legend()
    fig.tight_layout()
    return fig


def effect_figure(effects: pd.DataFrame):
    """Measured effect (treated − holdout conversion) per flow with its confidence interval."""
    from matplotlib.figure import Figure

    frame = effects.dropna(subset=["effect"])
    fig = Figure(figsize=(6.5, 0.45 * max(len(frame), 1) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(frame))
    ax.errorbar(frame["effect"], y, xerr=[frame["effect"] - frame["ci_low"],
                frame["ci_high"] - frame["effect"]], fmt="o", capsize=3)  # fmt: skip
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, frame["flow"])
    ax.invert_yaxis()
    ax.set_xlabel("conversion treated − holdout (95% CI)")
    ax.set_title("Measured effect of the flows (randomized history)")
    fig.tight_layout()
    return fig


def write_backtest(result: FlowBacktest, out) -> dict:
    """Write a replay's tables, plots and ``backtest.json`` to folder ``out`` (atomically)."""
    import json
    from pathlib import Path

    from smsseg._io import atomic_path

    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        cols = ["customer_id", "flow", "step", "message_type", "trigger_at", "scheduled_at",
                "run_at", "outcome"]  # fmt: skip
        result.sends[cols].to_parquet(tmp / "sends.parquet", index=False)
        result.by_flow.to_csv(tmp / "by_flow.csv", index=False)
        result.weekly.to_csv(tmp / "weekly.csv", index=False)
        result.optouts.to_csv(tmp / "optouts.csv", index=False)
        result.by_segment.to_csv(tmp / "by_segment.csv", index=False)
        result.effects.to_csv(tmp / "effects.csv", index=False)
        outcome_figure(result.by_flow).savefig(tmp / "outcomes.png", dpi=110)
        weekly_figure(result.weekly).savefig(tmp / "weekly.png", dpi=110)
        names = ["sends.parquet", "by_flow.csv", "by_segment.csv", "weekly.csv", "optouts.csv",
                 "effects.csv", "outcomes.png", "weekly.png", "backtest.json"]  # fmt: skip
        if result.effects["effect"].notna().any():
            effect_figure(result.effects).savefig(tmp / "effects.png", dpi=110)
            names.append("effects.png")
        (tmp / "backtest.json").write_text(json.dumps(result.summary, indent=2), encoding="utf-8")
    return {name: out / name for name in names}
