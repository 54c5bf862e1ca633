"""Who may be texted, and when: consent, channel preference, phone, time zone.

Consent is not a point-in-time feature but the latest knowledge. Every ``opt_in`` / ``opt_out``
event in the SMS history counts, whatever the plan's ``as_of``: a message may go out at ``t`` only
when the customer's latest consent event at or before ``t`` is an ``opt_in``
(:func:`consent_at`). A STOP takes effect immediately: an ``opt_out`` blocks everything after it
until a later ``opt_in``; when both happen at the same instant the ``opt_out`` wins. No consent
event at all means no consent. :func:`consent_as_of` is the same rule at one instant.
``preferred_channel = 'email'`` means no SMS. Phones are parsed and validated with
``phonenumbers`` and exported in E.164; like the data contract, a number without its ``+``
country code is not sendable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers

from smsseg.errors import SmssegError
from smsseg.timeutil import parse_as_of
from smsseg.zones import resolve_zones

#: SMS event types that change consent.
CONSENT_EVENT_TYPES = ("opt_in", "opt_out")
#: Customer-level reasons, in the order they are checked (the first that applies is reported).
CUSTOMER_REASONS = ("no_consent", "prefers_email", "invalid_phone", "unknown_time_zone")


def _require(df: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SmssegError(
            f"{name} is missing column(s) {missing}; it has: {', '.join(map(str, df.columns))}"
        )


def as_timestamp(value: object, name: str = "as_of") -> pd.Timestamp:
    """A naive-UTC timestamp: :func:`smsseg.timeutil.parse_as_of` (one parser, one wording)."""
    return parse_as_of(value, name)


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


def consent_events(sms: pd.DataFrame) -> pd.DataFrame:
    """Every consent event of the history, one per customer and instant, in time order.

    Parameters
    ----------
    sms : SMS history with ``customer_id``, ``occurred_at``, ``event_type``; all of it is used,
        whatever a plan's ``as_of`` (consent is the latest knowledge).

    Returns
    -------
    DataFrame with ``customer_id`` (str), ``occurred_at`` (naive UTC, ``datetime64[ns]``) and
    ``opted_in`` (bool: the state from that instant on), sorted by ``occurred_at``. An opt-in and
    an opt-out at the same instant collapse to the opt-out: a STOP wins a tie.
    """
    _require(sms, "sms", ("customer_id", "occurred_at", "event_type"))
    ev = sms[sms["event_type"].isin(CONSENT_EVENT_TYPES)]
    ev = pd.DataFrame({
        "customer_id": ev["customer_id"].astype("str").to_numpy(),
        "occurred_at": utc_naive(ev["occurred_at"]).astype("datetime64[ns]").to_numpy(),
        "stop": (ev["event_type"] == "opt_out").to_numpy(),
    })  # fmt: skip
    ev = ev.groupby(["customer_id", "occurred_at"], as_index=False, sort=False)["stop"].max()
    ev = ev.sort_values(["occurred_at", "customer_id"], kind="stable", ignore_index=True)
    return pd.DataFrame({
        "customer_id": ev["customer_id"], "occurred_at": ev["occurred_at"],
        "opted_in": ~ev["stop"].astype(bool),
    })  # fmt: skip


def consent_at(events: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """Consent of each ``(customer_id, t)`` of ``keys`` at its own instant ``t``.

    The latest of the customer's ``events`` at or before ``t`` decides (an event at ``t`` itself
    counts, so a STOP at the very send instant blocks it).

    This is a backward ``pandas.merge_asof`` by customer, vectorised over all rows at once. A
    DuckDB ``ASOF JOIN`` would do the same, but the plan is a pure function of pandas frames
    (the scheduler calls this once per plan day on the open candidates) and has no connection:
    registering frames in DuckDB for every day would cost more than it saves.

    Parameters
    ----------
    events : output of :func:`consent_events`.
    keys : ``customer_id`` and ``t`` (naive UTC; NaT rows are not opted in).

    Returns
    -------
    DataFrame on ``keys.index`` with ``opted_in`` (bool) and ``decided_at`` (time of the deciding
    event, NaT when the customer had none before ``t``).

    Example
    -------
    >>> ev = consent_events(pd.DataFrame({"customer_id": ["a", "a"],
    ...     "event_type": ["opt_in", "opt_out"],
    ...     "occurred_at": pd.to_datetime(["2025-01-01", "2025-03-01"])}))
    >>> keys = pd.DataFrame({"customer_id": ["a", "a"],
    ...                      "t": pd.to_datetime(["2025-02-01", "2025-03-01"])})
    >>> consent_at(ev, keys)["opted_in"].tolist()
    [True, False]
    """
    t = utc_naive(keys["t"]).astype("datetime64[ns]")
    left = pd.DataFrame(
        {"customer_id": keys["customer_id"].astype("str").to_numpy(), "t": t.to_numpy(),
         "pos": range(len(keys))}
    )  # fmt: skip
    left = left[left["t"].notna()].sort_values("t", kind="stable")
    opted = np.zeros(len(keys), dtype=bool)
    decided = np.full(len(keys), np.datetime64("NaT"), dtype="datetime64[ns]")
    if left.empty:
        # Nothing to look up; merge_asof would also refuse the untyped (object) empty key column.
        return pd.DataFrame({"opted_in": opted, "decided_at": decided}, index=keys.index)
    right = events.rename(columns={"occurred_at": "decided_at"})
    hit = pd.merge_asof(
        left, right, left_on="t", right_on="decided_at", by="customer_id", direction="backward"
    )
    pos = hit["pos"].to_numpy()
    opted[pos] = hit["opted_in"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    decided[pos] = hit["decided_at"].to_numpy(dtype="datetime64[ns]")
    return pd.DataFrame({"opted_in": opted, "decided_at": decided}, index=keys.index)


def consent_as_of(sms: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """Consent state of every customer with a consent event at or before ``as_of``.

    Parameters
    ----------
    sms : SMS history with ``customer_id``, ``occurred_at``, ``event_type``.
    as_of : the instant; later events are ignored.

    Returns
    -------
    DataFrame with ``customer_id``, ``opted_in`` (bool), ``consent_at`` (time of the deciding
    event). Customers without any consent event are absent (no consent).

    Example
    -------
    >>> sms = pd.DataFrame({"customer_id": ["a", "a"], "event_type": ["opt_in", "opt_out"],
    ...                     "occurred_at": pd.to_datetime(["2025-01-01", "2025-03-01"])})
    >>> consent_as_of(sms, "2025-02-01")["opted_in"].tolist()
    [True]
    """
    cutoff = as_timestamp(as_of)
    ev = consent_events(sms)
    last = ev[ev["occurred_at"] <= cutoff].groupby("customer_id", sort=True).tail(1)
    last = last.sort_values("customer_id")
    return pd.DataFrame(
        {
            "customer_id": last["customer_id"].to_numpy(),
            "opted_in": last["opted_in"].to_numpy(dtype=bool),
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
    """Whether each customer may receive SMS at all after ``as_of``, and why not.

    Consent here is only a first filter: a customer passes it when opted in as of ``as_of`` or
    when the history holds a later ``opt_in``. Whether a given message may go out is decided at
    its own send time (:func:`consent_at`, applied by the scheduler), so a STOP received after
    ``as_of`` still blocks every later message.

    Parameters
    ----------
    customers : ``customer_id`` and optionally ``phone``, ``country``, ``region``, ``timezone``,
        ``preferred_channel``.
    sms : SMS history (see :func:`consent_events`); all consent events are used.
    as_of : the plan's cut-off.

    Returns
    -------
    DataFrame, one row per customer: ``customer_id``, ``opted_in`` (as of ``as_of``),
    ``opt_in_later`` (an opt-in after ``as_of``), ``phone_e164``, ``zones``, ``timezone``,
    ``timezone_source``, ``sendable`` (bool) and ``reason`` (first failing rule of
    :data:`CUSTOMER_REASONS`, else ``None``).
    """
    _require(customers, "customers", ("customer_id",))
    if customers["customer_id"].duplicated().any():
        dup = customers.loc[customers["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise SmssegError(f"customers has duplicate customer_id {dup!r}; ids must be unique")
    cutoff = as_timestamp(as_of)
    consent = consent_as_of(sms, cutoff).set_index("customer_id")["opted_in"]
    ev = consent_events(sms)
    later = ev.loc[(ev["occurred_at"] > cutoff) & ev["opted_in"], "customer_id"].unique()
    ids = customers["customer_id"].astype("str")
    opted_in = by_id(ids, consent).astype("boolean").fillna(False).to_numpy(dtype=bool)
    channel = customers.get("preferred_channel", pd.Series(None, index=customers.index))
    prefers_email = channel.astype(object).map(
        lambda v: isinstance(v, str) and v.strip().lower() == "email"
    )
    zones = resolve_zones(customers)
    out = zones.assign(
        opted_in=opted_in, opt_in_later=ids.isin(later).to_numpy(), phone_e164=_phones(customers)
    )
    reason = pd.Series(None, index=out.index, dtype=object)
    checks = {
        "no_consent": ~out["opted_in"] & ~out["opt_in_later"],
        "prefers_email": pd.Series(prefers_email.to_numpy(), index=out.index),
        "invalid_phone": out["phone_e164"].isna(),
        "unknown_time_zone": out["zones"].map(len) == 0,
    }
    for name in reversed(CUSTOMER_REASONS):  # the first rule in the list wins
        reason = reason.mask(checks[name].to_numpy(dtype=bool), name)
    out = out.assign(reason=reason, sendable=reason.isna())
    return out[["customer_id", "opted_in", "opt_in_later", "phone_e164", "zones", "timezone",
                "timezone_source", "sendable", "reason"]]  # fmt: skip
