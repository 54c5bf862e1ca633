"""Customers matched across staged sources, and the contract tables built from them.

Matching, in a fixed order (so the result does not depend on which file was imported first):
rows of the Shopify customers export come first and keep their ``Customer ID``; then order
contacts, Klaviyo profiles and SMS-platform subscribers, each matched to an existing customer by
the customer id it names (a Klaviyo ``External ID``), else e-mail, else E.164 phone, else made a
new customer (counted as ``created``). When a row's
e-mail and phone point to different customers the e-mail wins and the conflict is counted.

A customer's phone comes from the source that holds their SMS consent first (SMS platform, then
Klaviyo, then Shopify), because consent belongs to a number; the address from Shopify first.
``created_at`` is the earliest date any source gives (a profile's creation, a subscription, the
first order); a customer no source dates is dated at the export time that listed them (counted).

Consent: every dated consent event of every source is kept, and the latest decides (an opt-out at
the same instant wins: :func:`smsseg.activation.consent.consent_events`). Undated opt-ins (a
current-state "yes") are written at their export time only for customers without any dated
consent history; when they disagree with that history the conflict is counted and the history
wins. Undated opt-outs are always kept: a STOP is never overridden by an undated "yes".
"""

from __future__ import annotations

import pandas as pd
import phonenumbers

from smsseg.data.contract import TABLES
from smsseg.importers.report import ImportReport
from smsseg.importers.staged import ROLE_ORDER, Staged

#: Source order when roles tie (a source not listed sorts last, by name).
SOURCE_ORDER = ("shopify", "klaviyo", "postscript", "attentive")
#: Where a customer's phone is taken from first: the sources that hold SMS consent.
PHONE_ROLE_ORDER = ("subscriber", "profile", "customer", "order_contact")
ADDRESS_COLUMNS = ("country", "region", "city", "postal_code", "timezone")
#: How the report names the people rows of each role.
ROLE_LABELS = {
    "customer": "customer rows",
    "order_contact": "order contacts (an order's e-mail or phone)",
    "profile": "profiles",
    "subscriber": "subscribers",
}


def _source_rank(source: str) -> tuple[int, str]:
    return (SOURCE_ORDER.index(source) if source in SOURCE_ORDER else len(SOURCE_ORDER), source)


def match_people(sources: list[Staged], report: ImportReport) -> pd.DataFrame:
    """Every people row of every source with the ``customer_id`` it was matched to."""
    frames = [s.frame("people").assign(source=s.source) for s in sources]
    people = pd.concat(frames, ignore_index=True)
    people["_role"] = people["role"].map({r: i for i, r in enumerate(ROLE_ORDER)})
    people["_source"] = people["source"].map(_source_rank)
    people = people.sort_values(["_role", "_source"], kind="stable", ignore_index=True)
    by_email: dict[str, str] = {}
    by_phone: dict[str, str] = {}
    used: set[str] = set()
    ids: list[str] = []
    for row in people.itertuples(index=False):
        email = None if pd.isna(row.email_key) else row.email_key
        phone = None if pd.isna(row.phone) else row.phone
        if row.role == "customer" and not pd.isna(row.anchor_id):
            cid = row.anchor_id
            if (email and email in by_email) or (phone and phone in by_phone):
                report.add(row.source, "conflict", "customer rows sharing an e-mail or phone "
                           "with an earlier row (kept apart; the earlier row gets later "
                           "matches)", 1, [cid])  # fmt: skip
        elif not pd.isna(row.anchor_id) and row.anchor_id in used:
            cid = row.anchor_id  # a profile naming the customer's id (Klaviyo's External ID)
            report.add(
                row.source, "mapped", f"{ROLE_LABELS[row.role]} matched to a customer by id", 1
            )
        else:
            cid = _match(row, email, phone, by_email, by_phone, report)
            if cid is None:
                cid = _new_id(f"{row.source}-{row.person_key}", used)
                report.add(row.source, "created", _created_what(row.role), 1, [cid])
        used.add(cid)
        ids.append(cid)
        if email:
            by_email.setdefault(email, cid)
        if phone:
            by_phone.setdefault(phone, cid)
    people["customer_id"] = pd.Series(ids, dtype="string")
    return people.drop(columns=["_role", "_source"])


def _match(row, email, phone, by_email, by_phone, report) -> str | None:
    by_e = by_email.get(email) if email else None
    by_p = by_phone.get(phone) if phone else None
    if by_e and by_p and by_e != by_p:
        report.add(row.source, "conflict", f"{ROLE_LABELS[row.role]} whose e-mail and phone point to "
                   "different customers (matched by e-mail)", 1, [by_e])  # fmt: skip
    if by_e or by_p:
        report.add(row.source, "mapped", f"{ROLE_LABELS[row.role]} matched to a customer by "
                   f"{'e-mail' if by_e else 'phone'}", 1)  # fmt: skip
    return by_e or by_p


def _created_what(role: str) -> str:
    return {
        "order_contact": "customers made from orders whose e-mail and phone match no customer "
        "row (dated by their first order)",
        "profile": "customers made from profiles that match no customer",
        "subscriber": "customers made from SMS subscribers that match no customer",
        "customer": "customers without a usable id, identified by e-mail or phone",
    }[role]


def _new_id(base: str, used: set[str]) -> str:
    cid, n = base, 1
    while cid in used:
        n += 1
        cid = f"{base}-{n}"
    return cid


def build_tables(
    sources: list[Staged], report: ImportReport, now: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """The contract tables of every staged source together (empty optional tables left out)."""
    sources = sorted(sources, key=lambda s: _source_rank(s.source))
    people = match_people(sources, report)
    key_to_id = {
        (s, k): c
        for s, k, c in zip(
            people["source"], people["person_key"], people["customer_id"], strict=True
        )  # fmt: skip
    }

    def with_ids(name: str) -> pd.DataFrame:
        parts = []
        for s in sources:
            frame = s.frame(name)
            ids = [key_to_id.get((s.source, k)) for k in frame["person_key"]]
            parts.append(frame.assign(customer_id=pd.Series(ids, dtype="string"), source=s.source))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    orders = with_ids("orders")
    customers = _customers(people, orders, sources, report, now)
    tables = {
        "customers": customers,
        "orders": orders,
        "order_items": pd.concat([s.frame("order_items") for s in sources], ignore_index=True),
        "products": pd.concat(
            [s.frame("products") for s in sources], ignore_index=True
        ).drop_duplicates("product_id"),
        "events": with_ids("events"),
        "sms": _sms(with_ids("sms"), report),
    }
    out = {}
    for name, frame in tables.items():
        spec = TABLES[name]
        if not spec.required and frame.empty:
            continue
        out[name] = frame[[c for c in spec.column_names if c in frame.columns]].reset_index(
            drop=True
        )
    return out


def _customers(people, orders, sources, report, now) -> pd.DataFrame:
    rank = {r: i for i, r in enumerate(PHONE_ROLE_ORDER)}
    by_phone_rank = people.assign(_r=people["role"].map(rank)).sort_values("_r", kind="stable")
    phones = by_phone_rank.dropna(subset=["phone"]).groupby("customer_id")["phone"]
    differing = phones.nunique() > 1
    report.add("all", "conflict", "customers with different phones across sources (the number "
               "of the source holding SMS consent kept)", int(differing.sum()),
               differing[differing].index[:3])  # fmt: skip
    phone = phones.first()
    # people are in matching order (Shopify customers first): the first row with an address
    with_address = people.dropna(subset=["country", "region", "city", "postal_code"], how="all")
    address = with_address.groupby("customer_id")[list(ADDRESS_COLUMNS)].first()
    first_order = orders.groupby("customer_id")["ordered_at"].min()
    dated = pd.concat([people[["customer_id", "created_at"]],
                       first_order.rename("created_at").reset_index()]).dropna()  # fmt: skip
    created = dated.groupby("customer_id")["created_at"].min()
    ids = pd.Index(people["customer_id"].drop_duplicates(), name="customer_id")
    frame = pd.DataFrame(index=ids)
    frame["created_at"] = created.reindex(ids)
    undated = frame["created_at"].isna()
    if undated.any():
        export = people.drop_duplicates("customer_id").set_index("customer_id")["source"]
        stamps = {s.source: s.exported_at if s.exported_at is not None else now for s in sources}
        frame.loc[undated, "created_at"] = export[undated[undated].index].map(stamps).to_numpy()
        report.add("all", "guessed", "customers no source dates (no order, no sign-up date): "
                   "created_at = the export time of the file that lists them",
                   int(undated.sum()), undated[undated].index[:3])  # fmt: skip
    frame["phone"] = phone.reindex(ids)
    for column in ADDRESS_COLUMNS:
        frame[column] = address[column].reindex(ids) if column in address else pd.NA
    # without an address, the phone's country is the only hint of where (and when) to text
    from_phone = frame["country"].isna() & frame["phone"].notna()
    frame.loc[from_phone, "country"] = [
        phonenumbers.region_code_for_number(phonenumbers.parse(x))
        for x in frame.loc[from_phone, "phone"]
    ]
    report.add("all", "guessed", "customers without an address: country = the phone's country "
               "(time zones are then inferred from it)", int(from_phone.sum()),
               frame.index[from_phone][:3])  # fmt: skip
    single = _single_zone(frame)
    report.add("all", "guessed", "customers without a time zone whose country or region has "
               "exactly one: timezone = that zone (several: left empty, and activation texts "
               "only at hours that are quiet-free in all of them)", int(single.notna().sum()),
               single.dropna().index[:3])  # fmt: skip
    frame["timezone"] = frame["timezone"].where(frame["timezone"].notna(), single)
    no_phone = frame["phone"].isna()
    report.add("all", "note", "customers without a usable phone (not sendable)",
               int(no_phone.sum()))  # fmt: skip
    report.add("all", "mapped", "customers", len(frame))
    frame["created_at"] = pd.to_datetime(frame["created_at"]).astype("datetime64[ns]")
    return frame.reset_index()


def _single_zone(frame: pd.DataFrame) -> pd.Series:
    """The one IANA zone of each customer's region or country, where the frame has no time zone.

    NA where the customer has a time zone already, or the address names no zone or several
    (a US customer without a state): one of several would be a guess that could text at night.
    """
    from smsseg.zones import candidate_zones

    out = pd.Series(pd.NA, index=frame.index, dtype=object)
    missing = frame["timezone"].isna()
    for cid, country, region in zip(
        frame.index[missing], frame["country"][missing], frame["region"][missing], strict=True
    ):
        zones, source = candidate_zones(
            None,
            country if isinstance(country, str) else None,
            region if isinstance(region, str) else None,
        )
        if len(zones) == 1 and source in ("region", "country"):
            out[cid] = zones[0]
    return out


def _sms(sms: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """SMS rows of every source, with undated opt-ins kept only where no dated history exists."""
    if sms.empty:
        return sms
    consent = sms["event_type"].isin(["opt_in", "opt_out"])
    dated_history = sms[consent & sms["dated"]]
    latest = _latest_states(dated_history)
    undated_in = consent & ~sms["dated"] & (sms["event_type"] == "opt_in")
    superseded = undated_in & sms["customer_id"].isin(latest.index)
    disagree = superseded & (sms["customer_id"].map(latest) == "opt_out")
    report.add("all", "conflict", "undated 'subscribed' states contradicted by a dated opt-out "
               "in another source (the opt-out wins; not texted)", int(disagree.sum()),
               sms.loc[disagree, "customer_id"].head(3))  # fmt: skip
    report.add("all", "dropped", "undated opt-ins of customers with a dated consent history "
               "(the history wins)", int(superseded.sum()))  # fmt: skip
    per_source = (
        dated_history.sort_values("occurred_at", kind="stable")
        .groupby(["customer_id", "source"])["event_type"]
        .last()
        .groupby("customer_id")
        .nunique()
    )
    split = per_source[per_source > 1]
    report.add("all", "conflict", "customers whose sources' latest dated consent differ (the "
               "most recent event decides; an opt-out at the same instant wins)", len(split),
               split.index[:3])  # fmt: skip
    kept = sms[~superseded]
    undated_written = kept["event_type"].isin(["opt_in"]) & ~kept["dated"]
    report.facts["undated_opt_ins_written"] = int(undated_written.sum())
    columns = ["customer_id", "occurred_at", "event_type", "campaign_id", "message_type"]
    before = len(kept)
    kept = kept[columns].drop_duplicates()
    report.add("all", "dropped", "SMS rows given twice (same customer, time, type, campaign)",
               before - len(kept))  # fmt: skip
    return kept.sort_values(["occurred_at", "customer_id"], kind="stable")


def _latest_states(consent: pd.DataFrame) -> pd.Series:
    """Each customer's latest consent event type; an opt-out wins a tie."""
    if consent.empty:
        return pd.Series(dtype="string")
    ordered = consent.assign(_stop=consent["event_type"] == "opt_out").sort_values(
        ["occurred_at", "_stop"], kind="stable"
    )
    return ordered.groupby("customer_id")["event_type"].last()
