"""Report section of ``smsseg flows backtest``: the flows replayed over history, before going live.

Reads what :func:`smsseg.flows.backtest.write_backtest` wrote: ``backtest.json`` (headline
numbers), ``by_segment.csv`` (SMS per messaged customer per week by the flow's segment),
``by_flow.csv`` (what happened to each flow's steps), ``optouts.csv`` (opt-out rate by weekly
frequency and the expected opt-outs), ``effects.csv`` (measured effect per flow with randomized
history) and the plots ``outcomes.png``, ``weekly.png``, ``effects.png``.
"""

from __future__ import annotations

import json

import pandas as pd

from smsseg.report import metrics
from smsseg.report.discover import RunFiles
from smsseg.report.html import NOT_AVAILABLE, Section, figures, kpis, note, png, table

#: Files of a flows backtest folder (``smsseg flows backtest --out``).
FLOWS_MARKER = "by_flow.csv"
PLOTS = {"outcomes.png": "flow SMS by outcome", "weekly.png": "SMS per customer-week",
         "effects.png": "measured effect per flow"}  # fmt: skip
PCT, RATE = "{:.1%}".format, "{:.3f}".format


def _kpis(s: dict) -> str:
    return kpis({
        "flow SMS sent": metrics.number(s.get("flow_sms_sent"), ",.0f"),
        "customers messaged": metrics.number(s.get("customers_messaged"), ",.0f"),
        "SMS per messaged customer per week":
            metrics.number(s.get("flow_sms_per_messaged_customer_per_week"), ".2f"),
        "share capped": metrics.number(s.get("share_capped"), ".1%"),
        "sent after a purchase or exit": metrics.number(s.get("sent_after_exit"), ",.0f"),
        "expected opt-outs from the flows":
            metrics.number(s.get("expected_optouts_from_flows"), ",.1f"),
    })  # fmt: skip


def _csv(folder, name: str) -> pd.DataFrame | None:
    path = folder / name
    return pd.read_csv(path) if path.is_file() else None


def flows_section(run: RunFiles) -> Section:
    """KPIs, SMS per customer-week by segment, outcomes per flow, opt-outs, measured effects."""
    sec = Section("flows", "Lifecycle flows backtest")
    if run.flows_backtest is None:
        return sec.add(note(f"Flows backtest: {NOT_AVAILABLE} (smsseg flows backtest --out "
                            "FOLDER writes one)."))  # fmt: skip
    folder = run.flows_backtest
    summary = json.loads((folder / "backtest.json").read_text(encoding="utf-8"))
    sec.add(
        note(f"The flows replayed from {str(summary.get('start', '?'))[:16]} to "
             f"{str(summary.get('end', '?'))[:16]} as if a scheduler had run them, with the "
             "activation rules (consent at send time, caps, quiet hours, holdouts). A send after "
             "a purchase or exit must be 0."),
        _kpis(summary),
    )  # fmt: skip
    by_segment = _csv(folder, "by_segment.csv")
    if by_segment is not None:
        sec.add("<h3>Messages per customer per week by segment</h3>",
                note("Segment: the catalogue segment of the flow that sent. Totals count the "
                     "campaigns of the history too, in the weeks the customer got any SMS."),
                table(by_segment, {"flow_sms_per_customer_week": "{:.2f}".format,
                                   "total_sms_per_active_week": "{:.2f}".format}))  # fmt: skip
    by_flow = _csv(folder, FLOWS_MARKER)
    if by_flow is not None:
        cols = [c for c in ("flow", "considered", "sent", "holdout", "capped", "share_capped",
                            "caught_after_exit", "sent_after_exit", "missed") if c in by_flow]  # fmt: skip
        sec.add("<h3>What happened to each flow's SMS</h3>",
                table(by_flow[cols], {"share_capped": PCT}))  # fmt: skip
    optouts = _csv(folder, "optouts.csv")
    if optouts is not None:
        cols = ["sms_per_week", "customer_weeks", "optouts", "rate"]
        sec.add("<h3>Expected opt-outs</h3>",
                note("Opt-out rate by the SMS a customer got that week, read on the 26 weeks "
                     "before the replay, applied to the replayed weeks with and without the "
                     "flows: an association, not a causal estimate."),
                table(optouts[cols], {"rate": "{:.4f}".format}))  # fmt: skip
    effects = _csv(folder, "effects.csv")
    if effects is not None and len(effects):
        cols = ["flow", "n_treated", "n_holdout", "conversion_treated", "conversion_holdout",
                "effect", "ci_low", "ci_high", "p_value", "note"]  # fmt: skip
        sec.add("<h3>Measured effect per flow</h3>",
                note("Flows with a randomized holdout in the history (the assignments table): "
                     "conversion within the window after randomization, treated − holdout, with "
                     "its 95% interval (the readout's two-proportion z-test)."),
                table(effects[cols].assign(note=effects["note"].astype(object).fillna("")),
                      {c: RATE for c in ("conversion_treated", "conversion_holdout", "effect",
                                         "ci_low", "ci_high", "p_value")}))  # fmt: skip
    elif effects is not None:
        sec.add(note("No flow has a randomized holdout in this history: no effect is measured."))
    imgs = [png(folder / name, alt) for name, alt in PLOTS.items() if (folder / name).is_file()]
    if imgs:
        sec.add(figures(*imgs))
    return sec
