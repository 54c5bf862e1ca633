"""Who may be texted at all, as of a date: consent, channel preference, phone, time zone.

Consent is computed from the SMS history only (point in time: events at or before ``as_of``):
a customer is opted in when their latest ``opt_in`` / ``opt_out`` event at or before ``as_of`` is an
``opt_in``. A STOP takes effect immediately: an ``opt_out`` blocks everything after it until a later
``opt_in``; when both happen at the same instant the ``opt_out`` wins. No consent event at all
means no consent. ``preferred_channel = 'email'`` means no SMS. Phones are parsed and validated
with ``phonenumbers`` and exported in E.164; like the data contract, a number without its
``+`` country code is not sendable.
"""

from __future__ import annotations

import pandas as pd
import phonenumbers

from smsseg.activation.zones import resolve_zones
from smsseg.errors import SmssegError

#: Customer-level reasons, in the order they are checked (the first that applies is reported).
CUSTOMER_REASONS = ("no_consent", "prefers_email", "invalid_phone", "unknown_time_zone")


def _require(df: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SmssegError(
            f"{name} is missing column(s) {missing}; it has: {', '.join(map(str, df.columns))}"
        )


def as_timestamp(value: object, name: str = "as_of") -> pd.Timestamp:
    """A naive-UTC timestamp from a date, string or timestamp (tz-aware values are converted)."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SmssegError(f"{name}={value!r} is not a date or timestamp (e.g. 2025-06-30)") from exc
    if ts is pd.NaT:
        raise SmssegError(f"{name}={value!r} is not a date or timestamp (e.g. 2025-06-30)")
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts


def utc_naive(series: pd.Series) -> pd.Series:
    """Timestamps as naive UTC (the data contract's convention)."""
    s = pd.to_datetime(series)
    return s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s


def by_id(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``table`` (indexed by unique ids) looked up for each of ``keys``; NaN/NaT when absent.

    Unlike ``Series.map`` this keeps the table's dtype when it is empty (pandas would cast an
    empty datetime table to float).
    """
    return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index, name=table.name)


def consent_as_of(sms: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """Consent state of every customer with a consent event at or before ``as_of``.

    Parameters
    ----------
    sms : SMS history with ``customer_id``, ``occurred_at``, ``event_type``.
    as_of : cut-off; later events are ignored.

    Returns
    -------
    DataFrame with ``customer_id``, ``opted_in`` (bool), ``consent_at`` (time of the deciding event).
    Customers without any consent event are absent (no consent).

    Example
    -------
    >>> sms = pd.DataFrame({"customer_id": ["a", "a"], "event_type": ["opt_in", "opt_out"],
    ...                     "occurred_at": pd.to_datetime(["2025-01-01", "2025-03-01"])})
    >>> consent_as_of(sms, "2025-02-01")["opted_in"].tolist()
    [True]
    """
    _require(sms, "sms", ("customer_id", "occurred_at", "event_type"))
    cutoff = as_timestamp(as_of)
    ev = sms.loc[
        sms["event_type"].isin(["opt_in", "opt_out"]), ["customer_id", "occurred_at", "event_type"]
    ]
    ev = ev.assign(occurred_at=utc_naive(ev["occurred_at"]))
    ev = ev[ev["occurred_at"] <= cutoff]
    # at equal times the opt-out sorts last, so it is the one kept: STOP wins a tie
    ev = ev.assign(_stop=(ev["event_type"] == "opt_out").astype(int))
    last = ev.sort_values(["customer_id", "occurred_at", "_stop"]).groupby("customer_id").tail(1)
    return pd.DataFrame(
        {
            "customer_id": last["customer_id"].to_numpy(),
            "opted_in": (last["event_type"] == "opt_in").to_numpy(),
            "consent_at": last["occurred_at"].to_numpy(),
        }
    )


def normalize_phone(raw: object) -> str | None:
    """E.164 form of a valid phone number, or ``None`` when missing, unparsable or invalid.

    The data contract stores phones in E.164, so a number must carry its ``+`` country code
    (separators such as spaces are tolerated); a national number without it is ambiguous and
    not sendable, as ``smsseg validate`` warns. ``phonenumbers`` (Google's libphonenumber) does
    the parsing and validation: numbering plans change too often to hand-write.
    """
    if not isinstance(raw, str) or not raw.strip().startswith("+"):
        return None
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phones(customers: pd.DataFrame) -> list[str | None]:
    if "phone" not in customers:
        return [None] * len(customers)
    cache: dict[object, str | None] = {}
    out = []
    for raw in customers["phone"].astype(object).tolist():
        if raw not in cache:
            cache[raw] = normalize_phone(raw)
        out.append(cache[raw])
    return out


def customer_eligibility(customers: pd.DataFrame, sms: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """Whether each customer may receive SMS at all as of ``as_of``, and why not.

    Parameters
    ----------
    customers : ``customer_id`` and optionally ``phone``, ``country``, ``region``, ``timezone``,
        ``preferred_channel``.
    sms : SMS history (see :func:`consent_as_of`).
    as_of : cut-off.

    Returns
    -------
    DataFrame, one row per customer: ``customer_id``, ``opted_in``, ``phone_e164``, ``zones``,
    ``timezone``, ``timezone_source``, ``sendable`` (bool) and ``reason`` (first failing rule of
    :data:`CUSTOMER_REASONS`, else ``None``).
    """
    _require(customers, "customers", ("customer_id",))
    if customers["customer_id"].duplicated().any():
        dup = customers.loc[customers["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise SmssegError(f"customers has duplicate customer_id {dup!r}; ids must be unique")
    consent = consent_as_of(sms, as_of).set_index("customer_id")["opted_in"]
    ids = customers["customer_id"]
    opted_in = by_id(ids, consent).astype("boolean").fillna(False).to_numpy(dtype=bool)
    channel = customers.get("preferred_channel", pd.Series(None, index=customers.index))
    prefers_email = channel.astype(object).map(
        lambda v: isinstance(v, str) and v.strip().lower() == "email"
    )
    zones = resolve_zones(customers)
    out = zones.assign(opted_in=opted_in, phone_e164=_phones(customers))
    reason = pd.Series(None, index=out.index, dtype=object)
    checks = {
        "no_consent": ~out["opted_in"],
        "prefers_email": pd.Series(prefers_email.to_numpy(), index=out.index),
        "invalid_phone": out["phone_e164"].isna(),
        "unknown_time_zone": out["zones"].map(len) == 0,
    }
    for name in reversed(CUSTOMER_REASONS):  # the first rule in the list wins
        reason = reason.mask(checks[name].to_numpy(dtype=bool), name)
    out = out.assign(reason=reason, sendable=reason.isna())
    return out[["customer_id", "opted_in", "phone_e164", "zones", "timezone", "timezone_source",
                "sendable", "reason"]]  # fmt: skip
