"""Campaign metrics (the measurement table of the SMS segmentation guide, step 7).

From the ``sms`` sends, clicks and opt-outs and the completed ``orders`` of a dataset, by campaign
and optionally by segment, with the holdout comparison when the plan kept one. Definitions
(``recipients`` = customers sent the campaign; attribution = last touch within the window):

=========================  =====================================================================
``ctr``                    recipients who clicked / recipients
``conversion_rate``        recipients with an attributed order / recipients
``revenue_per_sms``        attributed revenue / messages sent
``revenue`` (by segment)   attributed revenue, and ``revenue_share`` of the campaign's
``opt_out_rate``           recipients who opted out within the window of a send / recipients
``repeat_purchase_rate``   of recipients who had bought before, the share who bought again
``retention_rate``         of recipients who bought in the ``horizon_days`` before the send, the
                           share who buy in the ``horizon_days`` after (windows fully observed)
``win_back_rate``          of lapsed recipients (bought before, not in ``horizon_days``), the
                           share with an attributed order
``aov``                    attributed revenue / attributed orders
``clv_change``             mean revenue per recipient in the ``horizon_days`` after the send minus
                           the ``horizon_days`` before (a before/after proxy for CLV)
``roi``                    (attributed revenue − messages × ``cost_per_message``) / that cost
``discount_cost_share``    share of attributed revenue from discounted orders (``discount_amount``
                           gives the discounts' total)
``unsubscribe_rate``       list health: subscribers at the campaign's start who opted out
                           (for any reason) before its end / subscribers
=========================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smsseg.data.load import Dataset
from smsseg.errors import SmssegError
from smsseg.readout.checks import SRM_ALPHA, SrmResult, srm_check, srm_skipped
from smsseg.readout.experiment import readout
from smsseg.readout.outcomes import _check_days, data_end, recipient_outcomes, subscriber_counts

UNSEGMENTED = "(unsegmented)"
ALL = "all"


@dataclass(frozen=True)
class CampaignReport:
    """Campaign metrics: ``by_campaign``, ``by_segment`` (if segments were given) and the
    ``holdout`` readout (if a plan with holdouts was given; a :func:`readout` table with a
    ``campaign_id`` column)."""

    by_campaign: pd.DataFrame
    by_segment: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """Campaign rows (``segment == "all"``) followed by the per-segment rows."""
        parts = [self.by_campaign.assign(segment=ALL)]
        if self.by_segment is not None:
            parts.append(self.by_segment)
        frame = pd.concat(parts, ignore_index=True)
        return frame[
            [
                "campaign_id",
                "segment",
                *[c for c in frame.columns if c not in ("campaign_id", "segment")],
            ]
        ]


def _segment_map(segment, name: str = "segment") -> pd.Series | None:
    """customer_id → segment label, from a Series or a frame with ``customer_id`` and ``segment``."""
    if segment is None:
        return None
    if isinstance(segment, pd.DataFrame):
        missing = [c for c in ("customer_id", name) if c not in segment.columns]
        if missing:
            raise SmssegError(
                f"the segment frame lacks column(s) {missing}; it needs customer_id and {name}"
            )
        segment = segment.set_index("customer_id")[name]
    if segment.index.has_duplicates:
        dup = segment.index[segment.index.duplicated()][0]
        raise SmssegError(
            f"customer_id {dup!r} has more than one segment; give one (primary) segment each"
        )
    return segment.astype(str)


def _ratio(num, den):
    num, den = np.asarray(num, float), np.asarray(den, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _prepare(rec: pd.DataFrame, horizon_days: int, end: pd.Timestamp) -> pd.DataFrame:
    matured = rec["first_sent_at"] + pd.Timedelta(days=horizon_days) <= end
    had_prior = rec["had_prior"] > 0
    recent = (rec["recent_orders"] > 0) & matured
    lapsed = had_prior & (rec["recent_orders"] == 0)
    return rec.assign(
        recipients=1,
        had_prior=had_prior.astype(int),
        repeat=(had_prior & (rec["converted"] > 0)).astype(int),
        retention_base=recent.astype(int),
        retained=(recent & (rec["later_orders"] > 0)).astype(int),
        lapsed=lapsed.astype(int),
        won_back=(lapsed & (rec["converted"] > 0)).astype(int),
        matured=matured.astype(int),
        clv_delta=(rec["revenue_after"] - rec["revenue_before"]).where(matured, 0.0),
    )


SUMMED = [
    "recipients",
    "messages",
    "delivered",
    "clicked",
    "converted",
    "orders",
    "revenue",
    "discount_amount",
    "discounted_revenue",
    "opted_out",
    "had_prior",
    "repeat",
    "retention_base",
    "retained",
    "lapsed",
    "won_back",
    "matured",
    "clv_delta",
]


def _metrics(
    rec: pd.DataFrame, subs: pd.DataFrame, keys: Sequence[str], cost_per_message: float
) -> pd.DataFrame:
    g = rec.groupby(list(keys), observed=True, sort=True)[SUMMED].sum()
    out = pd.DataFrame(index=g.index)
    out["recipients"], out["messages"], out["delivered"] = (
        g["recipients"],
        g["messages"],
        g["delivered"],
    )
    out["ctr"] = _ratio(g["clicked"], g["recipients"])
    out["conversion_rate"] = _ratio(g["converted"], g["recipients"])
    out["orders"], out["revenue"] = g["orders"], g["revenue"]
    out["revenue_per_sms"] = _ratio(g["revenue"], g["messages"])
    out["revenue_per_recipient"] = _ratio(g["revenue"], g["recipients"])
    out["aov"] = _ratio(g["revenue"], g["orders"])
    out["opt_out_rate"] = _ratio(g["opted_out"], g["recipients"])
    out["repeat_purchase_rate"] = _ratio(g["repeat"], g["had_prior"])
    out["retention_rate"] = _ratio(g["retained"], g["retention_base"])
    out["win_back_rate"] = _ratio(g["won_back"], g["lapsed"])
    out["clv_change"] = _ratio(g["clv_delta"], g["matured"])
    out["cost"] = g["messages"] * cost_per_message
    out["roi"] = _ratio(g["revenue"] - out["cost"], out["cost"])
    out["discount_amount"] = g["discount_amount"]
    out["discount_cost_share"] = _ratio(g["discounted_revenue"], g["revenue"])
    s = subs.set_index(list(keys))
    out["subscribers"] = s["subscribers"].reindex(out.index).fillna(0).astype(int)
    out["unsubscribes"] = s["unsubscribes"].reindex(out.index).fillna(0).astype(int)
    out["unsubscribe_rate"] = _ratio(out["unsubscribes"], out["subscribers"])
    return out.reset_index()


def _window_messages(rec: pd.DataFrame, attribution_days: int, end: pd.Timestamp) -> pd.Series:
    """Per campaign: a warning when some recipients' attribution window runs past the data."""
    open_ = rec["first_sent_at"] + pd.Timedelta(days=attribution_days) > end
    counts = open_.groupby(rec["campaign_id"]).sum()
    return counts.map(
        lambda k: (
            f"attribution window still open for {k:,} recipient(s) (data end {end:%Y-%m-%d}): "
            "rates are understated"
            if k
            else ""
        )
    )


def campaign_metrics(
    data: Dataset,
    attribution_days: int = 7,
    cost_per_message: float = 0.01,
    segment: pd.Series | pd.DataFrame | None = None,
    holdout: pd.DataFrame | None = None,
    horizon_days: int = 90,
    *,
    holdout_share: float | Mapping[str, float] | None = None,
) -> CampaignReport:
    """Campaign metrics by campaign and by segment, with the holdout comparison.

    Parameters
    ----------
    data : a loaded dataset with ``sms`` sends carrying a ``campaign_id``.
    attribution_days : an order or opt-out within this many days after a send is credited to it
        (last touch: to the latest send before it).
    cost_per_message : cost of one SMS, for ``cost`` and ``roi``.
    segment : customer_id → segment (a Series, or a frame with ``customer_id`` and ``segment``);
        customers it lacks are ``"(unsegmented)"``.
    holdout : the campaign plan: ``customer_id``, ``campaign_id``, ``holdout`` (bool), and
        optionally ``send_at`` (or ``send_at_utc``, as ``smsseg plan`` writes it). Planned
        (``holdout=False``, intent to treat) and held-out customers are compared on purchase and
        revenue in ``(send_at, send_at + attribution_days]``; ``send_at`` defaults to the
        campaign's first send.
    horizon_days : look-back / look-ahead of retention, win-back and CLV change (default 90).
    holdout_share : the holdout share the plan was made with (``smsseg plan --holdout``; in
        ``plan.json``), for all campaigns or per campaign id. The sample-ratio check compares
        each campaign's observed split with it; without it the check is not run
        (``holdout_srm_p_value`` is NaN).

    Returns
    -------
    CampaignReport
        Metrics as defined in the module docstring; ``message`` warns about windows the data do
        not yet cover, and about a holdout split that does not match ``holdout_share``
        (``holdout_srm_ok`` is then False).

    Raises
    ------
    SmssegError
        Bad windows, a bad segment or plan frame, or a dataset without campaign sends.
    """
    _check_days("horizon_days", horizon_days)
    if not cost_per_message >= 0:
        raise SmssegError(f"cost_per_message={cost_per_message} must be >= 0")
    seg = _segment_map(segment)
    end = data_end(data)
    rec = recipient_outcomes(data, attribution_days, horizon_days)
    if rec.empty:
        raise SmssegError(
            "no campaign sends: the sms table has no 'sent' events with a campaign_id"
        )
    rec = _prepare(rec, horizon_days, end)
    by_campaign = _metrics(
        rec, subscriber_counts(data, attribution_days), ["campaign_id"], cost_per_message
    )
    by_campaign["message"] = by_campaign["campaign_id"].map(
        _window_messages(rec, attribution_days, end)
    )
    by_segment = None
    if seg is not None:
        rec["segment"] = rec["customer_id"].map(seg).fillna(UNSEGMENTED)
        subs = subscriber_counts(data, attribution_days, seg)
        by_segment = _metrics(rec, subs, ["campaign_id", "segment"], cost_per_message)
        total = by_segment.groupby("campaign_id")["revenue"].transform("sum")
        by_segment["revenue_share"] = _ratio(by_segment["revenue"], total)
    holdout_table = None
    if holdout is not None:
        holdout_table = holdout_readout(
            data, holdout, rec, attribution_days, seg, shares=holdout_share
        )
        by_campaign = _add_holdout(by_campaign, holdout_table, ["campaign_id"], ALL)
        by_campaign["message"] = _with_srm_alarm(by_campaign)
        if by_segment is not None and seg is not None:
            seg_table = holdout_readout(
                data, holdout, rec, attribution_days, seg, by_segment=True, shares=holdout_share
            )
            by_segment = _add_holdout(by_segment, seg_table, ["campaign_id", "segment"], None)
            holdout_table = pd.concat([holdout_table, seg_table], ignore_index=True)
    return CampaignReport(by_campaign, by_segment, holdout_table)


def _plan(holdout: pd.DataFrame, rec: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("customer_id", "campaign_id", "holdout") if c not in holdout.columns]
    if missing:
        raise SmssegError(
            f"the holdout plan lacks column(s) {missing}; it needs customer_id, campaign_id, holdout"
        )
    plan = holdout.assign(
        customer_id=holdout["customer_id"].astype(str),
        campaign_id=holdout["campaign_id"].astype(str),
    )
    if "send_at" not in plan.columns and "send_at_utc" in plan.columns:
        plan["send_at"] = pd.to_datetime(plan["send_at_utc"], utc=True).dt.tz_localize(None)
    if "send_at" not in plan.columns:
        starts = rec.groupby("campaign_id")["first_sent_at"].min()
        plan["send_at"] = plan["campaign_id"].map(starts)
    unsent = sorted(plan.loc[plan["send_at"].isna(), "campaign_id"].unique())
    if unsent:
        raise SmssegError(
            f"planned campaign(s) {unsent} were never sent and the plan gives no send_at"
        )
    plan["group"] = np.where(plan["holdout"].astype(bool), "holdout", "planned")
    return plan[["customer_id", "campaign_id", "send_at", "group"]]


def _share_of(shares: float | Mapping[str, float] | None, campaign: str) -> float | None:
    """The planned holdout share of one campaign (``None``: not known)."""
    share = shares.get(campaign) if isinstance(shares, Mapping) else shares
    if share is None:
        return None
    share = float(share)
    if not 0 < share < 1:
        raise SmssegError(
            f"holdout share {share:g} of campaign {campaign!r} must lie strictly between 0 and 1"
        )
    return share


def holdout_srm(
    counts: Mapping[str, int], share: float | None, alpha: float = SRM_ALPHA
) -> SrmResult:
    """Sample-ratio check of a campaign's held-out / planned counts against the planned share.

    The plan sets the split (a fixed ``round(share * n)`` is held out), so this is what catches a
    plan file that lost or gained customers on the way (a filter, a join, a truncated export).
    Comparing the observed split with itself, as before, always gave p = 1.
    """
    if share is None:
        return srm_skipped(
            counts,
            "SRM not checked: the planned holdout share is unknown (give holdout_share, "
            "or --plan a plan directory with plan.json)",
            alpha,
        )
    return srm_check(counts, {"holdout": share, "planned": 1 - share}, alpha)


def holdout_readout(
    data: Dataset,
    holdout: pd.DataFrame,
    rec: pd.DataFrame,
    attribution_days: int,
    seg: pd.Series | None = None,
    by_segment: bool = False,
    shares: float | Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Planned vs held-out customers, purchase (0/1) and revenue in the window, per campaign.

    ``shares`` is the planned holdout share (one for all campaigns, or per campaign id), against
    which the split is checked (:func:`holdout_srm`).
    """
    plan = _plan(holdout, rec)
    name = "_smsseg_holdout_plan"
    data.con.register(
        name, plan.assign(send_at=pd.to_datetime(plan["send_at"]).astype("datetime64[us]"))
    )
    try:
        outcomes = data.con.execute(
            f"""SELECT p.customer_id, p.campaign_id, p."group",
                       CAST(COUNT(o.ordered_at) > 0 AS INTEGER) AS purchased, COALESCE(SUM(o.amount), 0.0) AS revenue
                FROM {name} p LEFT JOIN orders o ON o.customer_id = p.customer_id AND o.status = 'completed'
                  AND o.ordered_at > p.send_at AND o.ordered_at <= p.send_at + to_days({int(attribution_days)})
                GROUP BY 1, 2, 3"""
        ).df()
    finally:
        data.con.unregister(name)
    if by_segment:
        outcomes["segment"] = outcomes["customer_id"].map(seg).fillna(UNSEGMENTED)
    tables = []
    for campaign, frame in outcomes.groupby("campaign_id", sort=True):
        counts = frame["group"].value_counts().reindex(["holdout", "planned"], fill_value=0)
        srm = holdout_srm(counts.to_dict(), _share_of(shares, str(campaign)))
        table = readout(
            frame,
            "group",
            "holdout",
            ["purchased", "revenue"],
            segment_col="segment" if by_segment else None,
            variants=["holdout", "planned"],
            kinds={"purchased": "proportion", "revenue": "mean"},
            srm_result=srm,
        )
        tables.append(table.assign(campaign_id=campaign))
    return pd.concat(tables, ignore_index=True)[
        ["campaign_id", *tables[0].columns.drop("campaign_id")]
    ]


def _add_holdout(
    metrics: pd.DataFrame, table: pd.DataFrame, keys: list[str], segment: str | None
) -> pd.DataFrame:
    t = table
    if segment is not None:
        t = t[t["segment"] == segment]
    conv = t[t["metric"] == "purchased"].set_index(keys)
    rev = t[t["metric"] == "revenue"].set_index(keys)
    extra = pd.DataFrame(
        {
            "holdout_n": conv["control_n"].astype("Int64"),
            "holdout_conversion_rate": conv["control_mean"],
            "planned_conversion_rate": conv["mean"],
            "incremental_conversion": conv["abs_diff"],
            "incremental_conversion_p_value": conv["p_value"],
            "incremental_revenue_per_customer": rev["abs_diff"],
            "holdout_srm_p_value": conv["srm_p_value"],
            "holdout_srm_ok": conv["srm_ok"],
        }
    )
    return metrics.join(extra, on=keys)


def _with_srm_alarm(by_campaign: pd.DataFrame) -> pd.Series:
    """``message`` with a note on campaigns whose holdout split is off the planned share."""
    off = by_campaign["holdout_srm_ok"].eq(False).fillna(False)
    alarm = by_campaign["holdout_srm_p_value"].map(
        lambda p: (
            f"holdout SAMPLE RATIO MISMATCH (p={p:.2g}): the split of planned and held-out "
            "customers is off the planned holdout share; incremental effects are not trustworthy"
        )
    )
    return by_campaign["message"].where(
        ~off, alarm + by_campaign["message"].map(lambda m: f"; {m}" if m else "")
    )
