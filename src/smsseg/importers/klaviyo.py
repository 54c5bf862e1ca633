"""Klaviyo profile exports (CSV) and events (``GET /api/events`` JSON, or a JSONL dump of it).

Profiles: the columns of a profile export vary with the fields chosen, so they are found by name
(:data:`PROFILE_COLUMNS`), extra columns ignored. ``SMS Marketing Consent`` with its
``SMS Marketing Consent Timestamp`` is dated consent history: SUBSCRIBED is an opt-in and
UNSUBSCRIBED an opt-out at that time; NEVER_SUBSCRIBED is no consent. SUBSCRIBED without a
timestamp is undated (an opt-in at the export time, flagged, and only where no dated history
exists); UNSUBSCRIBED without one is an opt-out at the export time.

Events: each line (or the file) is one API page (``{"data": [...], "included": [...]}``) or one
event resource. The metric name comes from the page's included metrics
(``include=metric``) or, in connector dumps, from the event itself (``metric_name``). Both the
SMS metric names and their 2026 "Text Message(ing)" renames are accepted (:func:`metric_key`).
``Sent SMS`` is a text the *subscriber* sent, not a send, and order metrics are left out (orders
come from the Shopify export); both are counted.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd
import phonenumbers

from smsseg.errors import SmssegError
from smsseg.importers import parse as p
from smsseg.importers.report import ImportReport
from smsseg.importers.staged import Staged, conform

SOURCE = "klaviyo"

PROFILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "profile_id": ("Klaviyo ID", "Profile ID", "Id", "ID"), "email": ("Email",),
    "external_id": ("External ID", "external_id"),
    "phone": ("Phone Number", "Phone"), "created_at": ("Profile Created On", "Created"),
    "sms_consent": ("SMS Marketing Consent", "SMS Consent"),
    "sms_consent_at": ("SMS Marketing Consent Timestamp", "SMS Consent Timestamp"),
    "country": ("Country",), "region": ("State / Region", "Region", "State"),
    "city": ("City",), "zip": ("Zip Code", "Postal Code", "Zip"),
    "timezone": ("Timezone", "Time Zone"),
}  # fmt: skip

#: Metric (normalised by :func:`metric_key`) → (table, event type); table ``None``: left out.
METRICS: dict[str, tuple[str | None, str]] = {
    "viewed product": ("events", "product_view"),
    "viewed collection": ("events", "category_view"),
    "added to cart": ("events", "add_to_cart"),
    "checkout started": ("events", "checkout_started"),
    "started checkout": ("events", "checkout_started"),
    "submitted search": ("events", "search"),
    "received sms": ("sms", "sent"),
    "clicked sms": ("sms", "clicked"),
    "failed to deliver sms": ("sms", "failed"),
    "subscribed to sms marketing": ("sms", "opt_in"),
    "subscribed to sms": ("sms", "opt_in"),
    "consented to receive sms": ("sms", "opt_in"),
    "unsubscribed from sms marketing": ("sms", "opt_out"),
    "unsubscribed from sms": ("sms", "opt_out"),
    "sent sms": (None, "a text sent by the subscriber to the brand, not a send"),
    "placed order": (None, "order metrics (orders come from the Shopify export)"),
    "ordered product": (None, "order metrics (orders come from the Shopify export)"),
    "cancelled order": (None, "order metrics (orders come from the Shopify export)"),
    "refunded order": (None, "order metrics (orders come from the Shopify export)"),
    "fulfilled order": (None, "order metrics (orders come from the Shopify export)"),
}
#: Event properties holding the product and its categories (Klaviyo's Shopify integration).
#: The SKU comes first: it is the product id of the Shopify order lines.
PRODUCT_PROPERTIES = ("SKU", "AddedItemSKU", "ProductID", "AddedItemProductID", "product_id")
CATEGORY_PROPERTIES = ("Categories", "AddedItemCategories", "CollectionName", "Collection")
CAMPAIGN_PROPERTIES = ("$message", "Campaign Name", "$flow")


def metric_key(name: str) -> str:
    """A metric name in one spelling: lower case, the 2026 "Text Message(ing)" forms as "sms".

    >>> metric_key("Received Text Message") == metric_key("Received SMS")
    True
    >>> metric_key("Subscribed to Text Messaging")
    'subscribed to sms'
    """
    key = " ".join(str(name).lower().split())
    for renamed in ("text messaging", "text messages", "text message"):
        key = key.replace(renamed, "sms")
    return key


@cache
def _country_codes() -> dict[str, str]:
    """English country name → ISO code, from ``phonenumbers``' locale data.

    Why ``phonenumbers``: it is already a dependency and carries the English region names; no
    country-name library is installed.
    """
    from phonenumbers.geocoder import _region_display_name

    names = {}
    for code in phonenumbers.SUPPORTED_REGIONS:
        name = _region_display_name(code, "en")
        if name:
            names[name.lower()] = code
    names.update({"usa": "US", "united states of america": "US", "uk": "GB"})
    return names


def country_codes(values: pd.Series, report: ImportReport) -> pd.Series:
    """ISO codes from codes or English names; unknown names are counted and left empty."""
    upper = values.str.upper()
    is_code = values.str.fullmatch(r"[A-Za-z]{2}").fillna(False).astype(bool)
    named = values.str.lower().map(_country_codes())
    out = upper.where(is_code, named.astype("string"))
    unknown = (values != "") & out.isna()
    report.add(SOURCE, "dropped", "profile countries that are neither ISO codes nor English "
               "names", int(unknown.sum()), values[unknown].head(3))  # fmt: skip
    return out


def stage_profiles(
    path: str | Path,
    *,
    exported_at: pd.Timestamp,
    now: pd.Timestamp,
    report: ImportReport,
    default_country: str | None = None,
    undated_consent: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People and their SMS consent from a Klaviyo profile export."""
    file = Path(path).name
    raw = p.read_export(path, "Klaviyo profiles")
    cols = p.resolve_columns(raw, PROFILE_COLUMNS, (), file)
    if "email" not in cols and "phone" not in cols:
        raise SmssegError(f"{file}: a profile export needs an 'Email' or 'Phone Number' column; "
                          f"it has: {', '.join(raw.columns[:30])}")  # fmt: skip
    col = {name: p.text(raw, cols.get(name)) for name in PROFILE_COLUMNS}
    col["phone"] = p.strip_apostrophe(col["phone"], report, SOURCE, "profile phones")
    col["zip"] = p.strip_apostrophe(col["zip"], report, SOURCE, "profile zips")

    def ts(name: str) -> pd.Series:
        return p.parse_timestamps(col[name], file=file, column=cols.get(name, name),
                                  report=report, source=SOURCE, now=now)  # fmt: skip

    country = country_codes(col["country"], report)
    phone = p.normalise_phones(col["phone"], country.fillna(""), report=report, source=SOURCE,
                               column="profile phones", default_country=default_country)  # fmt: skip
    email = p.email_key(col["email"])
    ids = col["profile_id"]
    key = ("id:" + ids).where(ids != "", ("email:" + email).fillna("phone:" + p.digest(phone)))
    no_key = key.isna()
    report.add(SOURCE, "dropped", "profiles with no id, e-mail or phone", int(no_key.sum()))
    zone = col["timezone"].where(col["timezone"].isin(_zones()), "")
    report.add(SOURCE, "dropped", "profile time zones that are not IANA names",
               int(((col["timezone"] != "") & (zone == "")).sum()))  # fmt: skip
    people = pd.DataFrame({
        "person_key": key, "role": "profile", "email_key": email, "phone": phone,
        "anchor_id": p.blank_to_na(p.strip_apostrophe(col["external_id"], report, SOURCE,
                                                      "profile External IDs")),
        "created_at": ts("created_at"), "country": country,
        "region": p.iso_region(country.fillna(""), _region_code(col["region"])),
        "city": p.blank_to_na(col["city"]), "postal_code": p.blank_to_na(col["zip"]),
        "timezone": p.blank_to_na(zone),
    })[~no_key]  # fmt: skip
    report.add(SOURCE, "mapped", "profiles", len(people))
    consent = _profile_consent(
        col["sms_consent"].str.upper(), ts("sms_consent_at"), key.where(~no_key),
        report=report, exported_at=exported_at, undated_consent=undated_consent,
    )  # fmt: skip
    return people, consent


def _profile_consent(state, at, key, *, report, exported_at, undated_consent) -> pd.DataFrame:
    """SMS consent events from a profile export's consent state and its timestamp."""
    no_key = key.isna()
    known = {"SUBSCRIBED", "UNSUBSCRIBED", "NEVER_SUBSCRIBED", ""}
    odd = ~state.isin(known)
    report.add(SOURCE, "dropped", "profile SMS consent values not SUBSCRIBED, UNSUBSCRIBED or "
               "NEVER_SUBSCRIBED", int(odd.sum()), state[odd].head(3))  # fmt: skip
    subscribed = (state == "SUBSCRIBED") & ~no_key
    unsubscribed = (state == "UNSUBSCRIBED") & ~no_key
    undated_in = subscribed & at.isna()
    undated_out = unsubscribed & at.isna()
    if undated_consent:
        report.add(SOURCE, "guessed", "SUBSCRIBED profiles without a consent timestamp: an "
                   f"opt-in at the export time {exported_at:%Y-%m-%d %H:%M} UTC, unless a dated "
                   "history says otherwise", int(undated_in.sum()))  # fmt: skip
    else:
        report.add(SOURCE, "dropped", "SUBSCRIBED profiles without a consent timestamp left "
                   "out (--no-undated-consent)", int(undated_in.sum()))  # fmt: skip
    report.add(SOURCE, "guessed", "UNSUBSCRIBED profiles without a timestamp: an opt-out at the "
               "export time", int(undated_out.sum()))  # fmt: skip
    rows = []
    for mask, event, dated in (
        (subscribed & at.notna(), "opt_in", True),
        (unsubscribed & at.notna(), "opt_out", True),
        (undated_in if undated_consent else undated_in & False, "opt_in", False),
        (undated_out, "opt_out", False),
    ):
        when = at[mask] if dated else exported_at
        rows.append(pd.DataFrame({"person_key": key[mask], "occurred_at": when,
                                  "event_type": event, "dated": dated}))  # fmt: skip
    return conform("sms", pd.concat(rows, ignore_index=True))


def _region_code(values: pd.Series) -> pd.Series:
    """A region written as a code (``WA``, ``NSW``) as it is; names (``Washington``) too."""
    return values.str.upper().where(values.str.fullmatch(r"[A-Za-z]{2,3}").fillna(False), values)


@cache
def _zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


#: Columns :func:`read_events` gives, one value per event.
EVENT_FIELDS = ("metric_id", "metric", "profile_id", "when", "product_id", "category",
                "campaign_id")  # fmt: skip


class _EventColumns:
    """Events collected column by column while the file is read (a page at a time).

    Why not keep the event objects: a year of a mid-size shop is hundreds of MB of JSON, and
    holding every parsed event costs several times that; seven lists of strings do not.
    """

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in EVENT_FIELDS}
        self.metrics: dict[str, str] = {}
        self.profiles: dict[str, dict] = {}

    def add_document(self, doc: object) -> None:
        for item in doc if isinstance(doc, list) else [doc]:
            if not isinstance(item, dict):
                continue
            if "data" not in item:
                self.add_event(item)
                continue
            data = item["data"]
            for event in data if isinstance(data, list) else [data]:
                self.add_event(event)
            for inc in item.get("included", []) or []:
                attrs = inc.get("attributes", {}) or {}
                if inc.get("type") == "metric":
                    self.metrics[inc["id"]] = attrs.get("name", "")
                elif inc.get("type") == "profile":
                    self.profiles[inc["id"]] = {
                        "email": attrs.get("email"), "external_id": attrs.get("external_id")
                    }  # fmt: skip

    def add_event(self, event: dict) -> None:
        attrs = event.get("attributes", {}) or {}
        rel = event.get("relationships", {}) or {}
        props = attrs.get("event_properties") or {}
        when = attrs.get("datetime")
        if when is None and attrs.get("timestamp") is not None:
            when = pd.Timestamp(int(attrs["timestamp"]), unit="s", tz="UTC").isoformat()
        values = (
            ((rel.get("metric") or {}).get("data") or {}).get("id"),
            event.get("metric_name") or attrs.get("metric_name"),
            ((rel.get("profile") or {}).get("data") or {}).get("id"),
            when,
            _first(props, PRODUCT_PROPERTIES),
            _first(props, CATEGORY_PROPERTIES),
            _first(props, CAMPAIGN_PROPERTIES),
        )
        for name, value in zip(EVENT_FIELDS, values, strict=True):
            self.columns[name].append(value)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.columns, dtype="string")
        named = frame["metric_id"].map(self.metrics).astype("string")
        frame["metric"] = named.fillna(frame["metric"]).fillna("")
        frame["n"] = range(1, len(frame) + 1)
        return frame.fillna({"profile_id": "", "when": ""})


def read_events(path: str | Path) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Events (:data:`EVENT_FIELDS`, metric names resolved) and included profiles by id.

    Reads one JSON document (an API page, or a list of events), or JSONL with one page or event
    per line, a line at a time.
    """
    path = Path(path)
    if not path.is_file():
        raise SmssegError(f"Klaviyo events file '{path}' does not exist")
    events = _EventColumns()
    with open(path, encoding="utf-8") as f:
        first = f.readline()
        second = f.readline()
        if not second.strip() or first.strip() in ("{", "["):  # one (maybe indented) document
            f.seek(0)
            try:
                events.add_document(json.load(f))
            except json.JSONDecodeError as exc:
                raise SmssegError(f"{path.name}: not JSON ({exc.msg}, line {exc.lineno})") from None
        else:
            f.seek(0)
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    events.add_document(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SmssegError(f"{path.name}, line {n}: not JSON ({exc.msg}); expected "
                                      "one API page or event per line") from None  # fmt: skip
    frame = events.frame()
    if frame.empty:
        raise SmssegError(f"Klaviyo events file '{path.name}' holds no events")
    return frame, events.profiles


def stage_events(
    path: str | Path, *, now: pd.Timestamp, report: ImportReport
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Browsing events, SMS events and the profiles they name, from Klaviyo events."""
    file = Path(path).name
    frame, included = read_events(path)
    no_name = frame["metric"] == ""
    if no_name.any():
        raise SmssegError(f"{file}: {int(no_name.sum())} event(s) without a metric name (e.g. "
                          f"event {int(frame.loc[no_name, 'n'].iloc[0])}); export the events "
                          "with include=metric so each page names its metrics")  # fmt: skip
    no_profile = frame["profile_id"] == ""
    report.add(SOURCE, "dropped", "events without a profile", int(no_profile.sum()))
    frame = frame[~no_profile]
    frame = frame.assign(occurred_at=p.parse_timestamps(
        frame["when"], file=file, column="datetime", report=report, source=SOURCE, now=now))  # fmt: skip
    lookup = {m: METRICS.get(metric_key(m), (None, "")) for m in frame["metric"].unique()}
    table = frame["metric"].map({m: t[0] for m, t in lookup.items()}).astype("string")
    kind = frame["metric"].map({m: t[1] for m, t in lookup.items()}).astype("string")
    for metric, count in frame.loc[table.isna(), "metric"].value_counts().items():
        why = METRICS.get(metric_key(metric), (None, "a metric no contract table holds"))[1]
        report.add(SOURCE, "dropped", f"'{metric}' events ({why})", int(count))
    frame = frame.assign(person_key="id:" + frame["profile_id"], event_type=kind)
    events = frame[table == "events"]
    sms = frame[table == "sms"]
    for name, part in (("browsing events", events), ("SMS events", sms)):
        report.add(SOURCE, "mapped", name, len(part))
    people = pd.DataFrame({"person_key": frame["person_key"].drop_duplicates()})
    people["role"] = "profile"
    email = pd.Series([included.get(k[3:], {}).get("email") or "" for k in people["person_key"]],
                      index=people.index, dtype="string")  # fmt: skip
    people["email_key"] = p.email_key(email)
    external = [included.get(k[3:], {}).get("external_id") or "" for k in people["person_key"]]
    people["anchor_id"] = p.blank_to_na(pd.Series(external, index=people.index, dtype="string"))
    return conform("events", events), conform("sms", sms), conform("people", people)


def _first(props: dict, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = props.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value not in (None, ""):
            return str(value)
    return None


def stage_klaviyo(
    profiles: str | Path | None,
    events: str | Path | None = None,
    *,
    exported_at: pd.Timestamp,
    now: pd.Timestamp,
    report: ImportReport,
    default_country: str | None = None,
    undated_consent: bool = True,
) -> Staged:
    """Stage a Klaviyo profile export and/or events; at least one must be given."""
    if profiles is None and events is None:
        raise SmssegError("give --profiles, --events or both")
    people = []
    sms = []
    browse = None
    if profiles is not None:
        prof, consent = stage_profiles(profiles, exported_at=exported_at, now=now, report=report,
                                       default_country=default_country,
                                       undated_consent=undated_consent)  # fmt: skip
        people.append(prof)
        sms.append(consent)
    if events is not None:
        browse, sms_events, named = stage_events(events, now=now, report=report)
        # profiles named only by events are matched by the e-mail their page includes; events
        # of a profile with neither a profile row nor an e-mail cannot be matched to anyone
        known = set(people[0]["person_key"]) if people else set()
        named = named[~named["person_key"].isin(known)]
        orphan = set(named.loc[named["email_key"].isna(), "person_key"])
        lost = browse["person_key"].isin(orphan).sum() + sms_events["person_key"].isin(orphan).sum()
        report.add(SOURCE, "dropped", "events of profiles neither the profile export nor the "
                   "page's included profiles identify (export with include=profile)",
                   int(lost))  # fmt: skip
        browse = browse[~browse["person_key"].isin(orphan)]
        people.append(named[~named["person_key"].isin(orphan)])
        sms.append(sms_events[~sms_events["person_key"].isin(orphan)])
    staged_people = conform("people", pd.concat(people, ignore_index=True))
    all_sms = conform("sms", pd.concat(sms, ignore_index=True))
    frames = {"people": staged_people, "sms": all_sms}
    if browse is not None:
        frames["events"] = browse
    # a profile without a creation date is dated by its first event here
    first = pd.concat(
        [
            all_sms[["person_key", "occurred_at"]],
            (browse if browse is not None else all_sms)[["person_key", "occurred_at"]],
        ]
    )
    first_seen = first[first["occurred_at"].notna()].groupby("person_key")["occurred_at"].min()
    undated = staged_people["created_at"].isna()
    keys = staged_people.loc[undated, "person_key"]
    report.add(SOURCE, "guessed", "profiles without 'Profile Created On': dated by their first "
               "event", int(keys.isin(first_seen.index).sum()))  # fmt: skip
    staged_people.loc[undated, "created_at"] = first_seen.reindex(keys).to_numpy(
        dtype="datetime64[ns]"
    )
    return Staged(SOURCE, frames, exported_at)
