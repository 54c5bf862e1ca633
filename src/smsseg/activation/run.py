"""Activation wired to files: a segments folder and a data directory in, a plan folder out.

Used by ``smsseg plan`` and by the pipeline runner; the rules live in the pure modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from smsseg import config
from smsseg.activation.consent import as_timestamp
from smsseg.activation.inputs import (
    apply_catalogue,
    default_catalogue,
    load_policy,
    offers_from_data,
    read_membership,
    require_sms,
    sms_for_plan,
    sms_known_until,
)
from smsseg.activation.plan import Plan, make_plan, write_plan
from smsseg.activation.policy import ActivationPolicy
from smsseg.activation.priority import parse_priority


def plan_for_dataset(
    data,
    membership: pd.DataFrame,
    as_of: object,
    goals: Sequence[str],
    *,
    holdout: float = 0.1,
    seed: int = config.DEFAULT_SEED,
    policy: ActivationPolicy | None = None,
    catalogue: object | None = None,
) -> Plan:
    """:func:`~smsseg.activation.plan.make_plan` on a loaded :class:`~smsseg.data.Dataset`.

    Offer categories come from the data (:func:`~smsseg.activation.inputs.offers_from_data`),
    segment caps and the sunset survey setting from ``catalogue`` (when given). Every consent
    event of the ``sms`` table is read, whatever ``as_of``, and the table's latest event bounds
    ``consent_checked_at``.

    Raises
    ------
    SmssegError
        The dataset has no ``sms`` table (no consent is known: nothing would be sendable).
    """
    require_sms(data)
    policy, caps = apply_catalogue(policy or ActivationPolicy(), catalogue)
    cutoff = as_timestamp(as_of)
    return make_plan(
        membership,
        data.frame("customers"),
        sms_for_plan(data, cutoff, policy),
        cutoff,
        goals,
        policy=policy,
        holdout=holdout,
        seed=seed,
        offers=offers_from_data(data, cutoff, policy),
        catalogue_caps=caps,
        known_until=sms_known_until(data),
    )


def run_plan(
    segments_dir: str | Path,
    data_dir: str | Path,
    as_of: object,
    goals: Sequence[str],
    out: str | Path,
    *,
    holdout: float = 0.1,
    seed: int = config.DEFAULT_SEED,
    policy_path: str | Path | None = None,
    catalogue_path: str | Path | None = None,
    priority: str | Sequence[str] | None = None,
) -> tuple[Plan, dict[str, Path]]:
    """Read the segments output and the data, build the plan and write it to ``out``.

    ``priority`` overrides the policy's ``campaign_priority``: ``"value"``, ``"policy"`` or goal
    keys (a comma-separated string or a sequence; see :mod:`smsseg.activation.priority`).

    Returns
    -------
    (plan, paths) : the plan and the files written (see
    :func:`~smsseg.activation.plan.write_plan`).
    """
    from smsseg.data.load import load

    policy = load_policy(policy_path)
    if priority is not None:
        policy = replace(policy, campaign_priority=parse_priority(priority))
    membership = read_membership(segments_dir)
    plan = plan_for_dataset(
        load(data_dir),
        membership,
        as_of,
        goals,
        holdout=holdout,
        seed=seed,
        policy=policy,
        catalogue=default_catalogue(catalogue_path),
    )
    return plan, write_plan(plan, out)
