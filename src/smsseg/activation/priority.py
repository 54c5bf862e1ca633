"""Which campaign wins a scarce send, and what each campaign lost to the frequency caps.

A customer targeted by several campaigns shares one daily cap, one message per plan day and one
weekly cap among them: when the caps leave fewer sends than campaigns, the scheduler gives each
day's send to the customer's allowed campaign that comes first in the **campaign priority**, and
the later campaigns get what is left (often nothing: an at-risk customer's weekly cap is 1).

The priority is a setting of the policy (``campaign_priority``, ``[plan] priority`` in a policy
file, ``smsseg plan --priority``):

``"value"`` (default)
    The campaign protecting the most value first. A customer's **value at stake** is
    ``churn_probability × predicted_clv``: the expected customer lifetime value lost if they
    churn, from the scores the segments carry. A campaign's **value at stake per send** is the
    mean value at stake of the customers it could send to (targeted, not excluded by the sunset
    flow, and textable: consent, channel, phone and time zone allow it); campaigns are ranked by
    it, highest first. Campaigns without a value (no ``churn_probability`` or ``predicted_clv``
    in the membership, or no textable customer) follow the valued ones; ties and the unvalued
    keep the policy's goal order.
``"policy"``
    The policy's goal order (:data:`~smsseg.activation.policy.DEFAULT_GOALS`: time-sensitive
    first - abandoned carts, back in stock, then re-engagement ...).
a sequence of goal keys
    That order; goals it does not name follow in the policy's order.

The plan's campaign summary says, per campaign, its priority, its value at stake per send, how
many targeted customers it lost to the caps (``suppressed_capped``) and to whom (``lost_to``):
the campaigns of the same plan that texted those customers, or ``sms history`` when only sends
made before the plan used their caps.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from smsseg.activation.policy import PRIORITY_RULES, ActivationPolicy

#: ``lost_to`` entry of customers whose caps only sends before the plan used up.
HISTORY = "sms history"
#: Membership columns whose product is a customer's value at stake.
VALUE_COLUMNS = ("churn_probability", "predicted_clv")


def value_at_stake(membership: pd.DataFrame) -> pd.Series | None:
    """``churn_probability × predicted_clv`` by ``customer_id`` (NaN where either is missing);
    ``None`` when the membership lacks either column."""
    if any(c not in membership for c in VALUE_COLUMNS):
        return None
    churn, clv = (pd.to_numeric(membership[c], errors="coerce") for c in VALUE_COLUMNS)
    return pd.Series(
        (churn * clv).to_numpy(dtype=float),
        index=membership["customer_id"].to_numpy(),
        name="value_at_stake",
    )


def value_per_send(candidates: pd.DataFrame, values: pd.Series | None) -> pd.Series:
    """Mean value at stake of each goal's candidates (NaN: no value known), indexed by goal."""
    goals = candidates["goal"].drop_duplicates()
    if values is None or candidates.empty:
        return pd.Series(float("nan"), index=goals.to_numpy(), dtype=float)
    per_customer = candidates["customer_id"].map(values).astype(float)
    return per_customer.groupby(candidates["goal"].to_numpy()).mean().reindex(goals.to_numpy())


def campaign_order(
    goals: Sequence[str], policy: ActivationPolicy, values: pd.Series
) -> tuple[str, ...]:
    """``goals`` in the order the policy's ``campaign_priority`` gives them (see the module).

    ``goals`` come in the policy's goal order; ``values`` is :func:`value_per_send`.
    """
    rule = policy.campaign_priority
    if rule == "policy":
        return tuple(goals)
    if rule == "value":
        value = values.reindex(list(goals))
        # stable: ties and goals without a value keep the policy's order, valued goals first
        keyed = sorted(
            enumerate(goals),
            key=lambda ig: (pd.isna(value[ig[1]]), -(value[ig[1]] if pd.notna(value[ig[1]]) else 0), ig[0]),
        )  # fmt: skip
        return tuple(g for _, g in keyed)
    named = [g for g in rule if g in goals]
    return tuple(named + [g for g in goals if g not in named])


def cap_losses(unscheduled: pd.DataFrame, sends: pd.DataFrame) -> pd.DataFrame:
    """Who took the sends each campaign lost to the caps.

    Parameters
    ----------
    unscheduled : the scheduler's rejects (``customer_id``, ``campaign_id``, ``reason``); the
        rows with reason ``capped`` are the losses.
    sends : the plan's sends (``customer_id``, ``campaign_id``), holdouts included: a held-out
        send keeps its slot and counts against the caps like any other.

    Returns
    -------
    DataFrame with ``campaign_id`` (the loser), ``lost_to`` (a campaign of the plan that texted
    the customer, or :data:`HISTORY`) and ``customers``. A customer texted by two other
    campaigns counts for both.
    """
    lost = unscheduled.loc[unscheduled["reason"] == "capped", ["customer_id", "campaign_id"]]
    winners = sends[["customer_id", "campaign_id"]].drop_duplicates()
    pairs = lost.merge(winners, on="customer_id", how="left", suffixes=("", "_winner"))
    pairs = pairs[pairs["campaign_id_winner"] != pairs["campaign_id"]]
    pairs = pairs.assign(lost_to=pairs["campaign_id_winner"].fillna(HISTORY))
    out = pairs.groupby(["campaign_id", "lost_to"]).size().rename("customers").reset_index()
    return out.sort_values(
        ["campaign_id", "customers", "lost_to"], ascending=[True, False, True]
    ).reset_index(drop=True)


def lost_to_text(losses: pd.DataFrame, campaign_id: str) -> str:
    """``"reduce_churn-20260101: 950; sms history: 3"`` for one campaign (``""``: lost none)."""
    mine = losses[losses["campaign_id"] == campaign_id]
    return "; ".join(f"{w}: {n:,}" for w, n in zip(mine["lost_to"], mine["customers"], strict=True))


def parse_priority(text: str | Sequence[str]) -> str | tuple[str, ...]:
    """A priority from the command line or a file: ``"value"``, ``"policy"``, or goal keys
    (a comma-separated string or a sequence). Checked by :class:`ActivationPolicy`."""
    if isinstance(text, str):
        text = text.strip()
        return text if text in PRIORITY_RULES else tuple(t.strip() for t in text.split(","))
    return tuple(text)
