"""SMS-platform exports (Postscript, Attentive, or any CSV described by a mapping file).

Two layouts exist, declared as :class:`Preset` data:

- **subscribers**: one row per subscriber with the time they subscribed and, when they left,
  the time they opted out (Postscript's segment export: ``customer_id, phone_number,
  subscriber_created_at_utc, last_keyword_subscribed_to, opt_out_time, opt_out_reason``);
- **events**: one row per event with its type and time (Attentive's data feed:
  ``SUBSCRIPTION_OPT_IN_COMPLETED``, ``SUBSCRIPTION_OPTED_OUT``, ``MESSAGE_RECEIPT``,
  ``MESSAGE_LINK_CLICK``, ...). Attentive's ``CLICK`` is a click on a sign-up form, not on a
  message link, and is left out like every type the contract has no place for (counted).

Headers vary by account, so a preset is a starting point: ``--map mapping.toml`` overrides its
column names and event values, or describes a platform from scratch (``preset = "custom"``).

Consent from these files is dated: it is the history that wins over an undated "yes" elsewhere.
An opt-out reason without an opt-out time is an opt-out at the export time (a STOP is never
dropped for want of a date); a subscriber without a subscription time is not opted in.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg.data.contract import TABLES
from smsseg.errors import SmssegError
from smsseg.importers import parse as p
from smsseg.importers.report import ImportReport
from smsseg.importers.staged import Staged, conform

SMS_EVENT_TYPES = TABLES["sms"].column("event_type").allowed


@dataclass(frozen=True)
class Preset:
    """How one platform's export maps onto the contract.

    Parameters
    ----------
    name : the source name (also the folder its staged frames are kept in).
    layout : ``"subscribers"`` (one row per subscriber) or ``"events"`` (one row per event).
    columns : our field → the headers accepted for it. Fields: ``subscriber_id``, ``phone``,
        ``email``, and for subscribers ``subscribed_at``, ``opted_out_at``,
        ``opt_out_reason``; for events ``event_type``, ``occurred_at``, ``campaign_id``,
        ``message_type``.
    events : the platform's event type → an SMS event type of the contract, or ``None`` to
        leave it out; the text says why (events layout only).
    naive_is_utc : timestamps without an offset are UTC by the platform's definition (so they
        are not counted as guessed).
    """

    name: str
    layout: str
    columns: dict[str, tuple[str, ...]]
    events: dict[str, str | None] = field(default_factory=dict)
    why_left_out: dict[str, str] = field(default_factory=dict)
    naive_is_utc: bool = False


PRESETS: dict[str, Preset] = {
    "postscript": Preset(
        name="postscript",
        layout="subscribers",
        columns={
            "subscriber_id": ("customer_id", "subscriber_id"),
            "phone": ("phone_number", "phone"),
            "email": ("email",),
            "subscribed_at": ("subscriber_created_at_utc", "subscriber_created_at"),
            "opted_out_at": ("opt_out_time", "opt_out_time_utc"),
            "opt_out_reason": ("opt_out_reason",),
        },
        naive_is_utc=True,
    ),
    "attentive": Preset(
        name="attentive",
        layout="events",
        columns={
            "subscriber_id": ("subscriber_id", "visitor_id"),
            "phone": ("phone",),
            "email": ("email",),
            "event_type": ("type", "event_type"),
            "occurred_at": ("timestamp", "event_timestamp"),
            "campaign_id": ("message_id", "message_name"),
            "message_type": ("message_type",),
        },
        events={
            "SUBSCRIPTION_OPT_IN_COMPLETED": "opt_in",
            "JOIN": "opt_in",
            "SUBSCRIPTION_OPTED_OUT": "opt_out",
            "OPT_OUT": "opt_out",
            "MESSAGE_RECEIPT": "sent",
            "MESSAGE_LINK_CLICK": "clicked",
            "CLICK": None,
            "IMPRESSION": None,
            "EMAIL_SAVE": None,
            "CUSTOM_ATTRIBUTES": None,
        },
        why_left_out={
            "CLICK": "a click on a sign-up form, not on a message link",
            "IMPRESSION": "a sign-up form shown on the site",
            "EMAIL_SAVE": "an e-mail given in a sign-up form",
            "CUSTOM_ATTRIBUTES": "a profile attribute, not an event",
        },
    ),
}

_FIELDS = ("subscriber_id", "phone", "email", "subscribed_at", "opted_out_at", "opt_out_reason",
           "event_type", "occurred_at", "campaign_id", "message_type")  # fmt: skip
_SUBSCRIBER_REQUIRED = ("phone", "subscribed_at")
_EVENT_REQUIRED = ("event_type", "occurred_at")


def load_preset(preset: str, mapping: str | Path | None = None) -> Preset:
    """A preset, overridden by a mapping TOML (``preset = "custom"`` needs one).

    The TOML holds ``[columns]`` (field = header, or a list of headers), ``[events]`` (platform
    type = contract SMS type, or ``""`` to leave it out), and for a custom platform ``name`` and
    ``layout``.

    Raises
    ------
    SmssegError
        For an unknown preset, an unreadable mapping, an unknown field or a target event type
        the contract does not have.
    """
    if preset != "custom" and preset not in PRESETS:
        raise SmssegError(f"preset={preset!r} must be one of {', '.join(PRESETS)} or custom")
    if preset == "custom" and mapping is None:
        raise SmssegError("preset 'custom' needs --map mapping.toml describing the file")
    base = PRESETS.get(preset) or Preset(name="custom", layout="events", columns={})
    if mapping is None:
        return base
    try:
        spec = tomllib.loads(Path(mapping).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SmssegError(f"mapping file '{mapping}' cannot be read: {exc}") from None
    return _apply_mapping(base, spec, str(mapping))


def _apply_mapping(base: Preset, spec: dict, file: str) -> Preset:
    layout = spec.get("layout", base.layout)
    if layout not in ("subscribers", "events"):
        raise SmssegError(f"{file}: layout={layout!r} must be 'subscribers' or 'events'")
    known = {"subscriber_id", "phone", "email"} | (
        {"subscribed_at", "opted_out_at", "opt_out_reason"}
        if layout == "subscribers"
        else {"event_type", "occurred_at", "campaign_id", "message_type"}
    )
    columns = dict(base.columns)
    for name, headers in spec.get("columns", {}).items():
        if name not in known:
            raise SmssegError(f"{file}: [columns] {name!r} is not a field of the {layout} "
                              f"layout; fields: {', '.join(sorted(known))}")  # fmt: skip
        columns[name] = (headers,) if isinstance(headers, str) else tuple(headers)
    events = dict(base.events)
    for value, target in spec.get("events", {}).items():
        if target and target not in SMS_EVENT_TYPES:
            raise SmssegError(f"{file}: [events] {value!r} = {target!r}: the contract's SMS "
                              f"event types are {', '.join(SMS_EVENT_TYPES)}")  # fmt: skip
        events[str(value)] = target or None
    name = str(spec.get("name", base.name))
    return replace(base, name=name, layout=layout, columns=columns, events=events)


def stage_sms_platform(
    path: str | Path,
    preset: Preset,
    *,
    exported_at: pd.Timestamp,
    now: pd.Timestamp,
    report: ImportReport,
    default_country: str | None = None,
) -> Staged:
    """Stage an SMS platform's export: subscribers (people) and their dated SMS history."""
    file = Path(path).name
    raw = p.read_export(path, f"{preset.name} export")
    required = _SUBSCRIBER_REQUIRED if preset.layout == "subscribers" else _EVENT_REQUIRED
    cols = p.resolve_columns(raw, preset.columns, required, file)
    if "phone" not in cols and "email" not in cols and "subscriber_id" not in cols:
        raise SmssegError(f"{file}: no column identifies the subscriber (phone, email or id)")
    col = {name: p.text(raw, cols.get(name)) for name in _FIELDS}
    src = preset.name
    for name in ("subscriber_id", "phone"):
        col[name] = p.strip_apostrophe(col[name], report, src, f"'{cols.get(name)}'")

    def ts(name: str) -> pd.Series:
        rep = ImportReport() if preset.naive_is_utc else report
        return p.parse_timestamps(col[name], file=file, column=cols.get(name, name),
                                  report=rep, source=src, now=now)  # fmt: skip

    phone = p.normalise_phones(col["phone"], pd.Series("", index=raw.index), report=report,
                               source=src, column=cols.get("phone", "phone"),
                               default_country=default_country)  # fmt: skip
    email = p.email_key(col["email"])
    ids = col["subscriber_id"]
    mangled = p.excel_mangled(ids)
    report.add(src, "dropped", "subscriber ids Excel turned into numbers (matched by phone "
               "instead)", int(mangled.sum()),
               p.row_examples(raw, mangled, cols.get("subscriber_id", "id")))  # fmt: skip
    key = ("phone:" + p.digest(phone)).fillna("email:" + email)
    key = ("id:" + ids).where((ids != "") & ~mangled, key)
    no_key = key.isna()
    rows = np.flatnonzero(no_key.to_numpy())[:3] + 1  # row numbers only: the cell may be a phone
    report.add(src, "dropped", "rows with no usable id, phone or e-mail", int(no_key.sum()),
               [f"row {r}" for r in rows])  # fmt: skip
    frame = pd.DataFrame({"person_key": key, "phone": phone, "email_key": email})
    if preset.layout == "subscribers":
        sms = _subscriber_consent(frame, ts, col, report, src, exported_at)
    else:
        sms = _platform_events(frame, ts, col, preset, report, src)
    sms = sms[sms["person_key"].notna()]
    people = frame[frame["person_key"].notna()].assign(role="subscriber")
    first_seen = sms.groupby("person_key")["occurred_at"].min()
    people = people.groupby("person_key", sort=False).first().reset_index()
    people["created_at"] = people["person_key"].map(first_seen)
    report.add(src, "mapped", "subscribers", len(people))
    for event_type, count in sms["event_type"].value_counts().items():
        report.add(src, "mapped", f"SMS {event_type} events", int(count))
    return Staged(
        src, {"people": conform("people", people), "sms": conform("sms", sms)}, exported_at
    )


def _subscriber_consent(frame, ts, col, report, src, exported_at) -> pd.DataFrame:
    subscribed = ts("subscribed_at")
    opted_out = ts("opted_out_at")
    reason_only = opted_out.isna() & (col["opt_out_reason"] != "")
    report.add(src, "guessed", "opt-outs with a reason but no time: opted out at the export "
               f"time {exported_at:%Y-%m-%d %H:%M} UTC", int(reason_only.sum()))  # fmt: skip
    no_date = subscribed.isna()
    report.add(src, "dropped", "subscribers without a subscription time (not opted in: consent "
               "is never given a date the file does not hold)", int(no_date.sum()))  # fmt: skip
    ins = frame[~no_date].assign(occurred_at=subscribed[~no_date], event_type="opt_in")
    outs = frame[opted_out.notna()].assign(occurred_at=opted_out[opted_out.notna()],
                                           event_type="opt_out")  # fmt: skip
    late = frame[reason_only].assign(occurred_at=exported_at, event_type="opt_out", dated=False)
    return pd.concat([ins, outs, late], ignore_index=True)


def _platform_events(frame, ts, col, preset, report, src) -> pd.DataFrame:
    when = ts("occurred_at")
    kind = col["event_type"]
    mapped = kind.map(preset.events)
    for value in kind[mapped.isna()].unique():
        n = int((kind == value).sum())
        if value in preset.events:
            why = preset.why_left_out.get(value, "left out by the mapping")
            report.add(src, "dropped", f"'{value}' events ({why})", n)
        else:
            report.add(src, "dropped", f"'{value}' events (a type the mapping does not name)", n)
    keep = mapped.notna()
    return frame[keep].assign(
        occurred_at=when[keep], event_type=mapped[keep],
        campaign_id=p.blank_to_na(col["campaign_id"][keep]),
        message_type=p.blank_to_na(col["message_type"][keep]),
    )  # fmt: skip
