"""The edges of activation: the policy file, the segment catalogue, the segments output and the
slices of a dataset a plan needs. Everything here reads; the rules live in the pure modules.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pandas as pd

from smsseg.activation.consent import as_timestamp
from smsseg.activation.policy import ActivationPolicy, PolicyError, QuietHours, with_goal_overrides
from smsseg.errors import SmssegError

#: Allowed keys of a policy file: section → {key: ActivationPolicy field}.
_SECTIONS: dict[str, dict[str, str]] = {
    "caps": {
        "daily": "daily_cap",
        "active_per_week": "active_cap_per_week",
        "engaged_per_week": "engaged_cap_per_week",
        "engaged_click_days": "engaged_click_days",
        "segments": "segment_caps",
    },
    "discounts": {
        "cooldown_days": "discount_cooldown_days",
        "message_types": "discount_message_types",
    },
    "sunset": {
        "survey": "sunset_survey",
        "survey_delay_days": "survey_delay_days",
        "message_type": "sunset_message_type",
        "survey_message_type": "survey_message_type",
    },
    "plan": {
        "horizon_days": "horizon_days",
        "back_in_stock_days": "back_in_stock_days",
        "priority": "campaign_priority",
    },
}


def _unknown(found, allowed, where: str) -> None:
    extra = sorted(set(found) - set(allowed))
    if extra:
        raise PolicyError(
            f"unknown key(s) {extra} in {where}; allowed: {', '.join(sorted(allowed))}"
        )


def policy_from_dict(raw: Mapping, where: str = "policy") -> ActivationPolicy:
    """An :class:`ActivationPolicy` from a parsed policy file (keys: see ``docs/activation.md``)."""
    _unknown(raw, [*_SECTIONS, "quiet_hours", "goals"], where)
    kwargs: dict[str, object] = {}
    for section, keys in _SECTIONS.items():
        values = raw.get(section, {})
        _unknown(values, keys, f"{where} [{section}]")
        for key, value in values.items():
            kwargs[keys[key]] = tuple(value) if isinstance(value, list) else value
    if "quiet_hours" in raw:
        qh = dict(raw["quiet_hours"])
        _unknown(qh, ["start", "end", "holidays"], f"{where} [quiet_hours]")
        if "holidays" in qh:
            qh["holidays"] = tuple(str(h) for h in qh["holidays"])
        kwargs["quiet_hours"] = QuietHours(**qh)
    policy = ActivationPolicy(**kwargs)
    return with_goal_overrides(policy, raw.get("goals", {}))


def load_policy(path: str | Path | None = None) -> ActivationPolicy:
    """The default policy, or the one in TOML file ``path`` (only the keys it changes).

    Raises
    ------
    PolicyError
        Missing file, invalid TOML, unknown key or a value that breaks its rule.
    """
    if path is None:
        return ActivationPolicy()
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"policy file {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from None
    return policy_from_dict(raw, where=str(path))


def catalogue_settings(catalogue: object | None) -> tuple[dict[str, int], int | None]:
    """Weekly caps per segment and the dormant sunset length from a segment catalogue.

    Accepts :class:`smsseg.segments.catalogue.Catalogue` (``segments`` mapping of objects with
    ``frequency_cap_per_week`` and ``sunset_after_messages``) or ``None``.
    """
    if catalogue is None:
        return {}, None
    segments = getattr(catalogue, "segments", {})
    caps = {k: int(s.frequency_cap_per_week) for k, s in segments.items()}
    dormant = segments.get("dormant")
    return caps, getattr(dormant, "sunset_after_messages", None) if dormant is not None else None


def apply_catalogue(
    policy: ActivationPolicy, catalogue: object | None
) -> tuple[ActivationPolicy, dict]:
    """The policy's survey setting from the catalogue (unless set explicitly) and the catalogue caps.

    ``sunset_after_messages >= 2`` on the dormant segment turns the sunset survey on.
    """
    caps, sunset_messages = catalogue_settings(catalogue)
    if policy.sunset_survey is None and sunset_messages is not None:
        policy = replace(policy, sunset_survey=sunset_messages >= 2)
    return policy, caps


def default_catalogue(path: str | Path | None = None) -> object | None:
    """The segment catalogue (``smsseg.segments``), or ``None`` when that stage is not installed."""
    try:
        from smsseg.segments.catalogue import load_catalogue
    except ImportError:  # the segments stage is optional for activation's own tests
        return None
    return load_catalogue(path)


def read_membership(segments_dir: str | Path) -> pd.DataFrame:
    """``membership.parquet`` of a segments output folder, with a clear error when absent."""
    path = Path(segments_dir) / "membership.parquet"
    if not path.is_file():
        raise SmssegError(
            f"{path} does not exist: --segments must be the output folder of `smsseg segment`"
        )
    return pd.read_parquet(path)


def sms_for_plan(data, as_of: object, policy: ActivationPolicy) -> pd.DataFrame:
    """The slice of the SMS history a plan reads, from a Dataset.

    Every consent event, whenever it happened (consent is checked at each send's time, so a
    STOP received after ``as_of`` must be seen); and at or before ``as_of``: clicks within
    ``engaged_click_days``, sends within the cap and discount windows, and every sunset-flow
    message. A fraction of a long history.
    """
    cutoff = as_timestamp(as_of)
    recent = max(7, policy.discount_cooldown_days) + 1
    flow = "', '".join(
        m.replace("'", "''") for m in (policy.sunset_message_type, policy.survey_message_type)
    )
    query = f"""
        SELECT customer_id, occurred_at, event_type, campaign_id, message_type FROM sms
        WHERE event_type IN ('opt_in', 'opt_out') OR (occurred_at <= TIMESTAMP '{cutoff}' AND (
            (event_type = 'clicked'
                AND occurred_at >= TIMESTAMP '{cutoff}' - INTERVAL {policy.engaged_click_days} DAY)
            OR (event_type = 'sent' AND (occurred_at > TIMESTAMP '{cutoff}' - INTERVAL {recent} DAY
                                         OR message_type IN ('{flow}')))))
    """
    return data.con.execute(query).df()


def require_sms(data) -> None:
    """Raise a plain error when a dataset has no ``sms`` table: no consent, nothing sendable.

    Without the table every customer would be suppressed for ``no_consent`` and the plan would
    be silently empty; saying why, before anything is written, is more useful.
    """
    if not data.has("sms"):
        where = data.root if data.root is not None else "the dataset"
        raise SmssegError(
            f"{where} has no sms table: without it no consent (opt_in / opt_out) is known, so "
            "nobody may be texted and nothing is sendable. Add sms.parquet or sms.csv with the "
            "customers' opt_in / opt_out events (see docs/data-contract.md)"
        )


def sms_known_until(data) -> pd.Timestamp | None:
    """The latest event of the ``sms`` table: how far the consent history is known."""
    value = data.con.execute("SELECT max(occurred_at) FROM sms").fetchall()[0][0]
    return None if value is None else as_timestamp(value)


def offers_from_data(data, as_of: object, policy: ActivationPolicy) -> dict[str, list[str] | None]:
    """Offer categories from the data: restocked categories and the upcoming flash sale's.

    ``back_in_stock``: categories of products restocked within ``back_in_stock_days`` before
    ``as_of`` (and not flagged out of stock). ``promote_flash_sale``: the categories of sales and
    flash sales overlapping the plan horizon; site-wide (``None``) when one of them has no
    category or there is no promotions table.
    """
    cutoff = as_timestamp(as_of)
    offers: dict[str, list[str] | None] = {"back_in_stock": [], "promote_flash_sale": None}
    q = data.con.execute
    if data.has("products") and data.has_column("products", "restocked_at"):
        rows = q(f"""SELECT DISTINCT category FROM products WHERE category IS NOT NULL
                     AND restocked_at <= TIMESTAMP '{cutoff}'
                     AND restocked_at > TIMESTAMP '{cutoff}' - INTERVAL {policy.back_in_stock_days} DAY
                     AND COALESCE(in_stock, true) ORDER BY 1""").fetchall()  # fmt: skip
        offers["back_in_stock"] = [r[0] for r in rows]
    if data.has("promotions"):
        end = cutoff + pd.Timedelta(days=policy.horizon_days + 1)
        rows = q(f"""SELECT DISTINCT category FROM promotions
                     WHERE kind IN ('flash_sale', 'sale') AND starts_at < TIMESTAMP '{end}'
                     AND ends_at > TIMESTAMP '{cutoff}'""").fetchall()  # fmt: skip
        cats = [r[0] for r in rows]
        offers["promote_flash_sale"] = None if not cats or None in cats else sorted(cats)
    return offers
