"""Report sections about the run's outputs: value tiers, segments and the send plan."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from smsseg.report import plots
from smsseg.report.discover import RunFiles
from smsseg.report.html import NOT_AVAILABLE, Section, figure, figures, kpis, note, table


def _csv(folder: Path | None, name: str) -> pd.DataFrame | None:
    path = folder / name if folder is not None else None
    return pd.read_csv(path) if path is not None and path.is_file() else None


def tiers_section(run: RunFiles) -> Section:
    """Value tiers: size against revenue share, and their profile."""
    sec = Section("tiers", "Value tiers")
    tiers = _csv(run.segments_dir, "tiers.csv")
    if tiers is None:
        return sec.add(note(f"Tier profile: {NOT_AVAILABLE}."))
    shares = tiers.set_index("tier")[[c for c in ("share", "revenue_share") if c in tiers]]
    if len(shares.columns):
        fig = plots.grouped_bars(shares.rename(columns={"share": "customers", "revenue_share": "revenue"}),
                                 "Share of customers and of revenue by tier", "share", percent=True)  # fmt: skip
        sec.add(figure(fig, "tiers"))
    pct = {c: ".1%" for c in ("share", "revenue_share")}
    return sec.add(table(tiers, pct | {"mean_churn_probability": ".2f", "revenue": ",.0f"}))


def segments_section(run: RunFiles) -> Section:
    """Segment sizes (members and primary), what each gets, and the moves between dates."""
    sec = Section("segments", "Segments")
    summary = _csv(run.segments_dir, "segment_summary.csv")
    if summary is None and run.segments_dir is not None:
        membership = pd.read_parquet(run.segments_dir / "membership.parquet")
        flags = [c for c in membership if c.startswith("is_")]
        summary = pd.DataFrame(
            {"key": [c[3:] for c in flags], "customers": [int(membership[c].sum()) for c in flags]}
        )
    if summary is None:
        return sec.add(note(f"Segments: {NOT_AVAILABLE}."))
    imgs = [
        figure(
            plots.barh(summary.set_index("key")["customers"], "Members per segment", "customers"),
            "sizes",
        )
    ]
    if "primary_customers" in summary:
        primary = summary.set_index("key")["primary_customers"]
        imgs.append(
            figure(
                plots.barh(primary[primary > 0], "Customers by primary segment", "customers"),
                "primary",
            )
        )
    sec.add(figures(*imgs))
    cols = [c for c in ("key", "name", "customers", "share", "primary_customers", "revenue_share",
                        "mean_churn_probability", "opted_in_share", "frequency_cap_per_week", "flow") if c in summary]  # fmt: skip
    pct = {c: ".1%" for c in ("share", "revenue_share", "opted_in_share")}
    sec.add(table(summary[cols], pct | {"mean_churn_probability": ".2f"}))
    return sec.add(_transitions(run))


def _transitions(run: RunFiles) -> str:
    moves = _csv(run.segments_dir, "transitions.csv")
    if moves is None:
        return note(f"Segment transitions: {NOT_AVAILABLE} (segments were computed for one date).")
    matrix = moves.pivot_table(
        index="from_segment", columns="to_segment", values="customers", aggfunc="sum", fill_value=0
    )
    matrix = matrix.div(matrix.sum(axis=1), axis=0)
    parts = [
        "<h3>Transitions of the primary segment</h3>",
        figure(plots.heatmap(matrix, "Where each segment's customers went"), "transitions"),
    ]
    flows = _csv(run.segments_dir, "segment_flows.csv")
    if flows is not None:
        parts.append(table(flows))
    return "".join(parts)


def _plan_frames(plan_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    sends = pd.read_parquet(plan_dir / "plan.parquet")
    suppressed = _csv(plan_dir, "suppressed.csv")
    if suppressed is None:
        suppressed = pd.DataFrame(columns=["customer_id", "campaign_id", "reason"])
    return sends, suppressed, _csv(plan_dir, "campaigns.csv")


def plan_section(run: RunFiles) -> Section:
    """The plan by campaign: audience, holdout and every suppression reason; sends per day."""
    sec = Section("plan", "Send plan")
    if run.plan_dir is None:
        return sec.add(note(f"Send plan: {NOT_AVAILABLE}."))
    sends, suppressed, campaigns = _plan_frames(run.plan_dir)
    meta_path = run.plan_dir / "plan.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    audience = int((~sends["holdout"]).sum())
    sec.add(kpis({
        "plan date": str(meta.get("as_of", "?"))[:10], "campaigns": len(campaigns) if campaigns is not None else sends["campaign_id"].nunique(),
        "messages to send": f"{audience:,}", "holdout (control)": f"{int(sends['holdout'].sum()):,}",
        "customers reached": f"{sends.loc[~sends['holdout'], 'customer_id'].nunique():,}",
        "sunset-suppressed": f"{meta.get('sunset_suppressed', 0):,}",
    }))  # fmt: skip
    outcome = pd.concat(
        [
            sends.assign(outcome=sends["holdout"].map({True: "holdout", False: "audience"}))[["campaign_id", "outcome"]],
            suppressed.loc[suppressed["reason"] != "holdout", ["campaign_id"]].assign(outcome=suppressed["reason"]),
        ]
    )  # fmt: skip
    by = outcome.value_counts().unstack(fill_value=0)
    order = [c for c in ("audience", "holdout") if c in by] + sorted(
        c for c in by if c not in ("audience", "holdout")
    )
    imgs = [
        figure(
            plots.stacked_barh(
                by[order], "Targeted customers by campaign and outcome", "customers"
            ),
            "campaigns",
        )
    ]
    if len(sends):
        out = sends[~sends["holdout"]]
        local_day = pd.to_datetime(out["send_at_local"]).dt.date.rename("day")
        per_day = out.groupby([local_day, "goal"]).size().unstack(fill_value=0)
        imgs.append(
            figure(
                plots.stacked_barh(per_day, "Messages per local send day, by goal", "messages"),
                "per day",
            )
        )
    sec.add(figures(*imgs))
    if campaigns is not None:
        # the suppression counts are in the chart above; what the caps took stays, with whom
        keep = [
            c
            for c in campaigns
            if (not c.startswith("suppressed_") or c == "suppressed_capped")
            and c not in ("message_types", "lost_to")  # lost_to: the table below, one per row
        ]
        sec.add("<h3>Campaigns</h3>", table(campaigns[keep], {"value_per_send": ",.2f"}))
    losses = _csv(run.plan_dir, "cap_losses.csv")
    if losses is not None:
        sec.add(
            "<h3>Sends lost to the frequency caps, and who took them</h3>",
            table(losses.rename(columns={"campaign_id": "lost by", "lost_to": "taken by"}))
            if len(losses)
            else note("No campaign lost a send to the caps."),
        )
    reasons = suppressed["reason"].value_counts().rename_axis("reason").reset_index(name="rows")
    details = suppressed.groupby("reason")["detail"].first() if "detail" in suppressed else None
    if details is not None:
        reasons["example detail"] = reasons["reason"].map(details)
    sec.add("<h3>Not sent, by reason (customer × campaign)</h3>", table(reasons))
    files = (
        sorted((run.plan_dir / "audiences").glob("*.csv"))
        if (run.plan_dir / "audiences").is_dir()
        else []
    )
    listing = pd.DataFrame({"audience file": [f.name for f in files],
                            "rows": [_data_rows(f) for f in files]})  # fmt: skip
    return sec.add(
        "<h3>Audience files</h3>", table(listing) if len(listing) else note("No audience files.")
    )


def _data_rows(path) -> int:
    """Lines of a CSV file after its header (the file is closed again at once)."""
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in handle) - 1
