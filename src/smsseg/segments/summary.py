"""The segment summary table and the moves between two dates' memberships."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg.segments.catalogue import Catalogue
from smsseg.segments.rules import flag, num

SUMMARY_COLUMNS = (
    "key",
    "name",
    "customers",
    "share",
    "primary_customers",
    "revenue_share",
    "mean_churn_probability",
    "opted_in_share",
    "message_types",
    "flow",
    "frequency_cap_per_week",
    "definition",
)

#: Label of customers absent from one of the two memberships compared.
NOT_A_CUSTOMER = "(not a customer)"


def segment_summary(
    membership: pd.DataFrame, features: pd.DataFrame, catalogue: Catalogue
) -> pd.DataFrame:
    """Per segment (catch-all last): size, share, revenue share, churn risk, opted-in share and
    what to send.

    Parameters
    ----------
    membership : from :func:`~smsseg.segments.assign_segments`.
    features : the features frame the membership was built from (``monetary_total``,
        ``sms_opted_in``), indexed by customer_id.
    catalogue : the catalogue the membership was built with.

    Returns
    -------
    DataFrame with :data:`SUMMARY_COLUMNS`. ``customers`` counts every member (customers sit
    in several segments, so shares add up to more than 1); ``primary_customers`` counts those
    whose primary segment it is. ``revenue_share`` is the members' share of historical net
    spend; ``opted_in_share`` the share of members with SMS consent as of the date (unknown
    consent counts as not opted in). The catch-all's members are the customers in no segment.
    """
    features = features.reindex(membership.index)
    revenue = num(features, "monetary_total").fillna(0.0)
    opted = flag(features, "sms_opted_in")
    churn = num(membership, "churn_probability")
    total_revenue = revenue.sum()
    n = max(len(membership), 1)
    rows = []
    for segment in catalogue.all_segments():
        if segment.key == catalogue.catch_all.key:
            members = membership["primary_segment"] == segment.key
        else:
            members = membership[f"is_{segment.key}"].astype(bool)
        size = int(members.sum())
        rows.append(
            {
                "key": segment.key,
                "name": segment.name,
                "customers": size,
                "share": size / n,
                "primary_customers": int((membership["primary_segment"] == segment.key).sum()),
                "revenue_share": revenue[members].sum() / total_revenue
                if total_revenue > 0
                else np.nan,
                "mean_churn_probability": churn[members].mean() if size else np.nan,
                "opted_in_share": opted[members].mean() if size else np.nan,
                "message_types": ";".join(segment.message_types),
                "flow": segment.flow,
                "frequency_cap_per_week": segment.frequency_cap_per_week,
                "definition": segment.describe(),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def transitions(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Moves of the primary segment between two memberships (e.g. two dates).

    Returns
    -------
    DataFrame with ``from_segment``, ``to_segment``, ``customers`` and ``share_of_from`` (the
    share of the ``from_segment``'s customers that made this move), one row per observed
    (from, to) pair including staying put, largest first within each ``from_segment``.
    Customers present in only one membership come from / go to ``"(not a customer)"``.
    """
    pair = pd.DataFrame(
        {
            "from_segment": before["primary_segment"].astype(object),
            "to_segment": after["primary_segment"].astype(object),
        }
    ).fillna(NOT_A_CUSTOMER)
    table = pair.value_counts().rename("customers").reset_index()
    table["share_of_from"] = table["customers"] / table.groupby("from_segment")[
        "customers"
    ].transform("sum")
    table = table.sort_values(["from_segment", "customers"], ascending=[True, False])
    return table.reset_index(drop=True)


def segment_flows(before: pd.DataFrame, after: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Per segment: members before and after, how many entered, left and stayed."""
    index = before.index.union(after.index)
    rows = []
    for key in catalogue.keys:
        was = before[f"is_{key}"].reindex(index, fill_value=False).astype(bool)
        now = after[f"is_{key}"].reindex(index, fill_value=False).astype(bool)
        rows.append(
            {
                "key": key,
                "before": int(was.sum()),
                "after": int(now.sum()),
                "entered": int((now & ~was).sum()),
                "left": int((was & ~now).sum()),
                "stayed": int((was & now).sum()),
            }
        )
    return pd.DataFrame(rows)
