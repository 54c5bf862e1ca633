"""Activation: turn segments into a send plan that respects consent, caps and quiet hours.

Pure functions of frames (``make_plan``) plus writers at the edge (``write_plan``). The rules
(``ActivationPolicy``) are declared as data; see ``docs/activation.md``.
"""

from smsseg.activation.consent import (
    consent_as_of,
    consent_at,
    consent_events,
    customer_eligibility,
    normalize_phone,
)
from smsseg.activation.holdout import SUNSET_HOLDOUT_KEY, assign_holdout, hashed_holdout
from smsseg.activation.plan import (
    AUDIENCE_COLUMNS,
    PLAN_COLUMNS,
    REASONS,
    SUPPRESSED_COLUMNS,
    Plan,
    campaign_id_for,
    make_plan,
    write_plan,
)
from smsseg.activation.policy import (
    DEFAULT_GOALS,
    GOAL_KEYS,
    ActivationPolicy,
    GoalSpec,
    PolicyError,
    QuietHours,
    Target,
    resolve_segment_caps,
)
from smsseg.activation.recheck import drop_stopped
from smsseg.activation.targeting import sunset_state, weekly_caps
from smsseg.zones import resolve_zones

__all__ = [
    "AUDIENCE_COLUMNS",
    "DEFAULT_GOALS",
    "GOAL_KEYS",
    "PLAN_COLUMNS",
    "REASONS",
    "SUNSET_HOLDOUT_KEY",
    "SUPPRESSED_COLUMNS",
    "ActivationPolicy",
    "GoalSpec",
    "Plan",
    "PolicyError",
    "QuietHours",
    "Target",
    "assign_holdout",
    "campaign_id_for",
    "consent_as_of",
    "consent_at",
    "consent_events",
    "customer_eligibility",
    "drop_stopped",
    "hashed_holdout",
    "make_plan",
    "normalize_phone",
    "resolve_segment_caps",
    "resolve_zones",
    "sunset_state",
    "weekly_caps",
    "write_plan",
]
