"""Shopify's "Export orders", "Export customers" and "Export products" CSVs.

The orders export has one row per line item; order-level fields (totals, status, dates,
addresses) are on the first row of an order only, so rows are grouped by ``Name`` (``#1001``),
which is also the order id. Timestamps carry the store's offset (``-0400``, ``-0500`` across a
DST change) and become UTC; the offsets seen, and the IANA zones they fit, are reported.

Money: ``amount`` is ``Total`` (what the customer paid, after discounts) less ``Refunded
Amount`` on a partially refunded order. A fully refunded order (``Financial Status`` refunded,
or refunds of the whole total) is ``returned`` with its original amount and no ``returned_at``
(the export has no refund date, so the contract counts it returned from the order on); a
cancelled (``Cancelled at``) or voided order is ``cancelled``. The discount is ``Discount
Amount``, else the sum of ``Lineitem discount``.

The orders export has no customer id: an order belongs to the customer with its e-mail, else its
phone (``Phone``, ``Billing Phone``, ``Shipping Phone``), matched in :mod:`.merge`.

Consent: ``Accepts SMS Marketing`` is the current state, undated. A "yes" becomes one opt-in at
the export time (never back-dated), flagged in the report; "no" is the absence of consent, not a
STOP. ``Accepts Email Marketing`` / ``Accepts Marketing`` are e-mail consent and never read as
SMS consent.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg.errors import SmssegError
from smsseg.importers import parse as p
from smsseg.importers.report import ImportReport, mask_email
from smsseg.importers.staged import Staged, conform

SOURCE = "shopify"

#: Our field → the headers accepted for it, first match wins (older layouts last).
ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("Name",), "email": ("Email",), "financial_status": ("Financial Status",),
    "total": ("Total",), "discount_code": ("Discount Code", "Discount Codes"),
    "discount_amount": ("Discount Amount",), "created_at": ("Created at",),
    "quantity": ("Lineitem quantity",), "item_name": ("Lineitem name",),
    "item_price": ("Lineitem price",), "sku": ("Lineitem sku",),
    "item_discount": ("Lineitem discount",), "cancelled_at": ("Cancelled at",),
    "refunded": ("Refunded Amount",), "id": ("Id",), "phone": ("Phone",),
    "billing_phone": ("Billing Phone",), "shipping_phone": ("Shipping Phone",),
    "billing_country": ("Billing Country",), "shipping_country": ("Shipping Country",),
    "billing_province": ("Billing Province",), "shipping_province": ("Shipping Province",),
    "billing_city": ("Billing City",), "shipping_city": ("Shipping City",),
    "billing_zip": ("Billing Zip",), "shipping_zip": ("Shipping Zip",),
}  # fmt: skip
ORDER_REQUIRED = ("name", "email", "created_at", "total", "quantity", "item_price")

CUSTOMER_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_id": ("Customer ID", "ID"), "email": ("Email",), "phone": ("Phone",),
    "address_phone": ("Default Address Phone", "Phone Number"),
    "accepts_sms": ("Accepts SMS Marketing",),
    "country": ("Default Address Country Code", "Country Code"),
    "province": ("Default Address Province Code", "Province Code"),
    "city": ("Default Address City", "City"), "zip": ("Default Address Zip", "Zip"),
    "email_consent": ("Accepts Email Marketing", "Accepts Marketing"),
}  # fmt: skip
CUSTOMER_REQUIRED = ("customer_id", "email")

PRODUCT_COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("Variant SKU",),
    "type": ("Type",),
    "category": ("Product Category",),
}
PRODUCT_REQUIRED = ("sku",)

#: Financial statuses: what each means for the order (anything else is kept and counted).
CANCELLED_STATUSES = {"voided", "expired"}
PAID_STATUSES = {"paid", "partially_refunded", "refunded"}
#: ``Accepts SMS Marketing`` answers (anything else is no consent, counted).
YES = frozenset({"yes", "true", "subscribed"})
NO = frozenset({"no", "false", "not_subscribed", "unsubscribed"})


def stage_shopify(
    orders: str | Path,
    customers: str | Path | None = None,
    products: str | Path | None = None,
    *,
    exported_at: pd.Timestamp,
    now: pd.Timestamp,
    report: ImportReport,
    default_country: str | None = None,
    undated_consent: bool = True,
) -> Staged:
    """Stage a Shopify orders export with its customers and products exports.

    Parameters
    ----------
    orders, customers, products : the CSV exports (customers and products optional).
    exported_at : naive-UTC time of the customers export: the date of its undated consent.
    now : naive UTC; later timestamps are an error.
    report : where every mapped, dropped and guessed value is counted.
    default_country : ISO country for phones without ``+`` on rows without an address.
    undated_consent : write ``Accepts SMS Marketing = yes`` as an opt-in at ``exported_at``
        (False: leave undated consent out).

    Raises
    ------
    SmssegError
        For a missing column, an unparseable or future timestamp, a negative or non-numeric
        amount, a duplicated ``Customer ID``, or an order row without a ``Name``.
    """
    categories = stage_products(products, report) if products is not None else None
    frames = stage_orders(orders, report=report, now=now, categories=categories,
                          default_country=default_country)  # fmt: skip
    if categories is not None:
        frames["products"] = conform(
            "products", categories.rename_axis("product_id").reset_index(name="category")
        )
    if customers is not None:
        people, sms = stage_customers(
            customers, report=report, exported_at=exported_at,
            default_country=default_country, undated_consent=undated_consent,
        )  # fmt: skip
        frames["people"] = conform("people", pd.concat([people, frames["people"]]))
        frames["sms"] = sms
    return Staged(SOURCE, frames, exported_at)


def stage_orders(
    path: str | Path,
    *,
    report: ImportReport,
    now: pd.Timestamp,
    categories: pd.Series | None = None,
    default_country: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Orders, order lines and the people who placed them, from the orders export."""
    file = Path(path).name
    raw = p.read_export(path, "Shopify orders")
    cols = p.resolve_columns(raw, ORDER_COLUMNS, ORDER_REQUIRED, file)
    col = {name: p.text(raw, cols.get(name)) for name in ORDER_COLUMNS}
    for name in ("name", "id", "sku", "phone", "billing_phone", "shipping_phone",
                 "billing_zip", "shipping_zip"):  # fmt: skip
        col[name] = p.strip_apostrophe(col[name], report, SOURCE, f"orders '{cols.get(name)}'")
    if (col["name"] == "").any():
        rows = np.flatnonzero((col["name"] == "").to_numpy())[:3] + 1
        raise SmssegError(f"{file}, column 'Name': rows without an order name, e.g. rows "
                          f"{', '.join(map(str, rows))}; every line item names its order")  # fmt: skip
    mangled_ids = p.excel_mangled(col["id"])
    report.add(SOURCE, "note", "order 'Id' values Excel turned into numbers (not used: the "
               "order id is 'Name')", int(mangled_ids.sum()),
               p.row_examples(raw, mangled_ids, cols.get("id", "Id")))  # fmt: skip

    first = ~col["name"].duplicated()  # order-level fields live on an order's first row
    lines = _order_lines(raw, col, cols, file, report, categories)
    orders = _orders(raw, col, cols, first, file, report, now, lines)
    people, person_key = _order_contacts(col, first, orders, report, default_country)
    orders["person_key"] = person_key
    no_contact = orders["person_key"].isna()
    report.add(SOURCE, "dropped", "orders with neither e-mail nor phone (no customer to "
               "attribute them to)", int(no_contact.sum()),
               orders.loc[no_contact, "order_id"].head(3))  # fmt: skip
    kept = set(orders.loc[~no_contact, "order_id"])
    orders = orders[~no_contact]
    lines = lines[lines["order_id"].isin(kept)]
    for status, count in orders["status"].value_counts().items():
        report.add(SOURCE, "mapped", f"orders ({status})", int(count))
    report.add(SOURCE, "mapped", "order lines", len(lines))
    _report_offsets(col["created_at"][first], report)
    return {
        "orders": conform("orders", orders),
        "order_items": conform("order_items", lines),
        "people": conform("people", people),
    }


def _orders(raw, col, cols, first, file, report, now, lines) -> pd.DataFrame:
    def ts(name):
        return p.parse_timestamps(col[name][first], file=file, column=cols.get(name, name),
                                  report=report, source=SOURCE, now=now)  # fmt: skip

    created = ts("created_at")
    if created.isna().any():
        missing = col["name"][first][created.isna()].head(3).tolist()
        raise SmssegError(f"{file}, column 'Created at': the first row of order(s) {missing} "
                          "has no value; order-level fields are on an order's first row")  # fmt: skip
    cancelled_at = ts("cancelled_at")
    total = p.parse_amounts(col["total"][first], file=file, column="Total")
    refunded = p.parse_amounts(col["refunded"][first], file=file, column="Refunded Amount")
    status_text = col["financial_status"][first].str.lower()
    cancelled = cancelled_at.notna() | status_text.isin(CANCELLED_STATUSES)
    full_refund = ~cancelled & (
        (status_text == "refunded") | ((refunded > 0) & (refunded >= total))
    )
    partial = ~cancelled & ~full_refund & (refunded > 0)
    net = (total - refunded.where(partial, 0.0)).clip(lower=0.0)
    report.add(SOURCE, "guessed", "partially refunded orders: amount = Total - Refunded "
               "Amount, dated at the order (the export has no refund date)", int(partial.sum()),
               col["name"][first][partial].head(3))  # fmt: skip
    report.add(SOURCE, "guessed", "fully refunded orders marked returned without a return "
               "date (counted returned from the order on)", int(full_refund.sum()),
               col["name"][first][full_refund].head(3))  # fmt: skip
    unpaid = ~cancelled & ~status_text.isin(PAID_STATUSES) & (status_text != "")
    report.add(SOURCE, "guessed", "orders not paid at export (pending, authorized, "
               "partially_paid) kept as completed", int(unpaid.sum()),
               (col["name"][first][unpaid] + " " + status_text[unpaid]).head(3))  # fmt: skip
    discount = p.parse_amounts(col["discount_amount"][first], file=file, column="Discount Amount")
    line_discount = lines.groupby("order_id")["line_discount"].sum()
    no_order_discount = col["discount_amount"][first] == ""
    from_lines = col["name"][first].map(line_discount).fillna(0.0).astype("float64")
    discount = discount.where(~no_order_discount, from_lines)
    status = np.select([cancelled, full_refund], ["cancelled", "returned"], "completed")
    return pd.DataFrame({
        "order_id": col["name"][first], "ordered_at": created, "amount": net,
        "discount_amount": discount, "promo_code": p.blank_to_na(col["discount_code"][first]),
        "status": status, "returned_at": pd.NaT,
    })  # fmt: skip


def _order_lines(raw, col, cols, file, report, categories) -> pd.DataFrame:
    quantity = p.parse_amounts(col["quantity"], file=file, column="Lineitem quantity")
    if (quantity != quantity.round()).any():
        bad = quantity != quantity.round()
        raise SmssegError(f"{file}, column 'Lineitem quantity': not whole numbers; "
                          + "; ".join(p.row_examples(raw, bad, cols["quantity"])))  # fmt: skip
    price = p.parse_amounts(col["item_price"], file=file, column="Lineitem price")
    line_discount = p.parse_amounts(col["item_discount"], file=file, column="Lineitem discount")
    sku_mangled = p.excel_mangled(col["sku"])
    report.add(SOURCE, "dropped", "'Lineitem sku' values Excel turned into numbers (the line's "
               "name is its product id instead)", int(sku_mangled.sum()),
               p.row_examples(raw, sku_mangled, cols.get("sku", "Lineitem sku")))  # fmt: skip
    no_sku = (col["sku"] == "") & ~sku_mangled
    report.add(SOURCE, "guessed", "order lines without a SKU: product id = 'Lineitem name'",
               int(no_sku.sum()), col["item_name"][no_sku].head(3))  # fmt: skip
    use_name = no_sku | sku_mangled
    product = col["sku"].where(~use_name, "name:" + col["item_name"])
    before_clip = price * quantity - line_discount
    over = before_clip < 0
    report.add(SOURCE, "guessed", "order lines whose discount exceeds the line: unit price 0",
               int(over.sum()), p.row_examples(raw, over, cols["item_price"]))  # fmt: skip
    zero = quantity == 0
    report.add(SOURCE, "guessed", "order lines of quantity 0: unit price = 'Lineitem price'",
               int(zero.sum()), p.row_examples(raw, zero, cols["quantity"]))  # fmt: skip
    unit = (before_clip.clip(lower=0.0) / quantity.where(~zero)).fillna(price)
    category = (
        product.map(categories) if categories is not None else pd.Series(pd.NA, index=raw.index)
    )
    if categories is not None:
        unknown = category.isna()
        report.add(SOURCE, "dropped", "order lines whose SKU is not in the products export (no "
                   "category)", int(unknown.sum()), product[unknown].head(3))  # fmt: skip
    return pd.DataFrame({
        "order_id": col["name"], "product_id": product, "category": category,
        "quantity": quantity.astype("int64"), "unit_price": unit, "line_discount": line_discount,
    })  # fmt: skip


def _order_contacts(col, first, orders, report, default_country):
    """One person per distinct e-mail (else phone) of the orders, dated by their first order."""
    country = col["billing_country"][first].where(
        col["billing_country"][first] != "", col["shipping_country"][first]
    )
    phone_text = col["phone"][first]
    for other in ("billing_phone", "shipping_phone"):
        phone_text = phone_text.where(phone_text != "", col[other][first])
    phone = p.normalise_phones(
        phone_text,
        country,
        report=report,
        source=SOURCE,
        column="orders phone",
        default_country=default_country,
    )
    email = p.email_key(col["email"][first])
    bad_email = (col["email"][first] != "") & email.isna()
    report.add(SOURCE, "dropped", "order e-mails without an @", int(bad_email.sum()),
               [mask_email(e) for e in col["email"][first][bad_email].head(3)])  # fmt: skip
    key = ("email:" + email).fillna("phone:" + p.digest(phone))

    def pick(name_billing, name_shipping):
        billing, shipping = col[name_billing][first], col[name_shipping][first]
        return p.blank_to_na(billing.where(billing != "", shipping))

    people = pd.DataFrame({
        "person_key": key.to_numpy(), "role": "order_contact", "email_key": email.to_numpy(),
        "phone": phone.to_numpy(), "created_at": orders["ordered_at"].to_numpy(),
        "country": p.blank_to_na(country).str.upper().to_numpy(),
        "region": p.iso_region(country, pick("billing_province", "shipping_province")
                               .fillna("")).to_numpy(),
        "city": pick("billing_city", "shipping_city").to_numpy(),
        "postal_code": pick("billing_zip", "shipping_zip").to_numpy(),
    })  # fmt: skip
    people = people[people["person_key"].notna()].sort_values("created_at", kind="stable")
    # a contact's first order dates them and gives the address; later ones add nothing
    agg = people.groupby("person_key", sort=False).agg(
        {c: "first" for c in people.columns if c != "person_key"}
    )
    agg["created_at"] = people.groupby("person_key", sort=False)["created_at"].min()
    return agg.reset_index(), key.to_numpy()


def _report_offsets(created: pd.Series, report: ImportReport) -> None:
    """The store offsets of ``Created at`` and the IANA zones that give every one of them."""
    offsets = created.str.extract(r"([+-]\d{2}:?\d{2})$")[0]
    when = pd.to_datetime(created, format="%Y-%m-%d %H:%M:%S %z", utc=True, errors="coerce")
    pairs = pd.DataFrame({"at": when, "offset": offsets}).dropna().sort_values("at")
    if pairs.empty:
        return
    # a zone fits every instant when it fits the first and last instant of each run of one
    # offset (its changes happen between runs), so only those are checked
    change = pairs["offset"].ne(pairs["offset"].shift())
    pairs = pairs[change | change.shift(-1, fill_value=True)]
    counts = offsets.value_counts()
    report.facts["store_offsets"] = {str(k): int(v) for k, v in counts.items()}
    zones = zones_fitting(pairs["at"], pairs["offset"])
    report.facts["store_zones_fitting"] = zones
    shown = ", ".join(zones[:3]) + (" ..." if len(zones) > 3 else "") if zones else "none"
    report.add(SOURCE, "note", f"order timestamps with store offsets "
               f"{', '.join(sorted(counts.index))} converted to UTC (zones that fit: {shown})",
               int(counts.sum()))  # fmt: skip


def zones_fitting(instants: pd.Series, offsets: pd.Series) -> list[str]:
    """Canonical IANA zones (``zone.tab``, in its order: a country's most populous zone first)
    whose UTC offset at each tz-aware instant equals the offset recorded."""
    seconds = [
        (1 if o[0] == "+" else -1) * (int(o[1:3]) * 3600 + int(o[-2:]) * 60) for o in offsets
    ]
    instants = [t.to_pydatetime() for t in instants]
    fitting = []
    for name in _canonical_zones():
        zone = zoneinfo.ZoneInfo(name)
        if all(
            t.astimezone(zone).utcoffset().total_seconds() == s
            for t, s in zip(instants, seconds, strict=True)
        ):
            fitting.append(name)
    return fitting


@cache
def _canonical_zones() -> tuple[str, ...]:
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(dict.fromkeys(row[2] for row in rows if len(row) >= 3))


def stage_customers(
    path: str | Path,
    *,
    report: ImportReport,
    exported_at: pd.Timestamp,
    default_country: str | None = None,
    undated_consent: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People (one per customer row) and their undated SMS consent, from the customers export."""
    file = Path(path).name
    raw = p.read_export(path, "Shopify customers")
    cols = p.resolve_columns(raw, CUSTOMER_COLUMNS, CUSTOMER_REQUIRED, file)
    col = {name: p.text(raw, cols.get(name)) for name in CUSTOMER_COLUMNS}
    for name in ("customer_id", "phone", "address_phone", "zip"):
        col[name] = p.strip_apostrophe(col[name], report, SOURCE, f"customers '{cols.get(name)}'")
    ids = col["customer_id"]
    mangled = p.excel_mangled(ids)
    report.add(SOURCE, "dropped", "'Customer ID' values Excel turned into numbers (the row is "
               "matched by e-mail or phone instead, never by the damaged id)",
               int(mangled.sum()), p.row_examples(raw, mangled, cols["customer_id"]))  # fmt: skip
    usable = (ids != "") & ~mangled
    duplicated = usable & ids.duplicated(keep=False)
    if duplicated.any():
        raise SmssegError(f"{file}, column '{cols['customer_id']}': {int(duplicated.sum())} "
                          "rows repeat a customer id; "
                          + "; ".join(p.row_examples(raw, duplicated, cols["customer_id"])))  # fmt: skip
    country = col["country"].str.upper()
    phone_text = col["phone"].where(col["phone"] != "", col["address_phone"])
    phone = p.normalise_phones(phone_text, country, report=report, source=SOURCE,
                               column="customers phone", default_country=default_country)  # fmt: skip
    email = p.email_key(col["email"])
    row_key = pd.Series([f"row{i + 1}" for i in range(len(raw))], index=raw.index, dtype="string")
    key = ("id:" + ids).where(usable, row_key)
    no_contact = ~usable & email.isna() & phone.isna()
    report.add(SOURCE, "dropped", "customer rows with no usable id, e-mail or phone",
               int(no_contact.sum()), p.row_examples(raw, no_contact, cols["customer_id"]))  # fmt: skip
    people = pd.DataFrame({
        "person_key": key, "role": "customer", "anchor_id": p.blank_to_na(ids.where(usable, "")),
        "email_key": email, "phone": phone, "created_at": pd.NaT,
        "country": p.blank_to_na(country), "region": p.iso_region(country, col["province"]),
        "city": p.blank_to_na(col["city"]), "postal_code": p.blank_to_na(col["zip"]),
    })[~no_contact]  # fmt: skip
    report.add(SOURCE, "mapped", "customer rows", len(people))
    if "email_consent" in cols:
        report.add(SOURCE, "note", f"'{cols['email_consent']}' is e-mail consent: never read as "
                   "SMS consent", len(raw))  # fmt: skip
    sms = _undated_consent(col["accepts_sms"].str.lower(), key.where(~no_contact),
                           report=report, exported_at=exported_at,
                           undated_consent=undated_consent)  # fmt: skip
    return people, sms


def _undated_consent(answer, key, *, report, exported_at, undated_consent) -> pd.DataFrame:
    """One opt-in at the export time per "yes" to ``Accepts SMS Marketing`` (flagged)."""
    no_contact = key.isna()
    yes = answer.isin(YES) & ~no_contact
    odd = ~answer.isin(YES | NO | {""})
    report.add(SOURCE, "dropped", "'Accepts SMS Marketing' values neither yes nor no (no "
               "consent)", int(odd.sum()), answer[odd].head(3))  # fmt: skip
    sms = pd.DataFrame({
        "person_key": key[yes], "occurred_at": exported_at, "event_type": "opt_in",
        "dated": False,
    })  # fmt: skip
    if undated_consent:
        report.add(SOURCE, "guessed", "'Accepts SMS Marketing = yes' (undated) written as an "
                   f"opt-in at the export time {exported_at:%Y-%m-%d %H:%M} UTC, unless a dated "
                   "history says otherwise", int(yes.sum()))  # fmt: skip
    else:
        report.add(SOURCE, "dropped", "'Accepts SMS Marketing = yes' left out (undated; "
                   "--no-undated-consent)", int(yes.sum()))  # fmt: skip
        sms = sms.iloc[0:0]
    return conform("sms", sms)


def stage_products(path: str | Path, report: ImportReport) -> pd.Series:
    """Category by SKU: ``Type``, else the last level of ``Product Category``."""
    file = Path(path).name
    raw = p.read_export(path, "Shopify products")
    cols = p.resolve_columns(raw, PRODUCT_COLUMNS, PRODUCT_REQUIRED, file)
    sku = p.strip_apostrophe(p.text(raw, cols["sku"]), report, SOURCE, "products 'Variant SKU'")
    kind = p.text(raw, cols.get("type"))
    taxonomy = p.text(raw, cols.get("category")).str.split(">").str[-1].str.strip().fillna("")
    category = kind.where(kind != "", taxonomy)
    no_sku = sku == ""
    report.add(SOURCE, "dropped", "product rows without a 'Variant SKU' (extra image rows)",
               int(no_sku.sum()))  # fmt: skip
    mangled = p.excel_mangled(sku)
    report.add(SOURCE, "dropped", "'Variant SKU' values Excel turned into numbers",
               int(mangled.sum()), p.row_examples(raw, mangled, cols["sku"]))  # fmt: skip
    keep = ~no_sku & ~mangled
    frame = pd.DataFrame({"sku": sku[keep], "category": p.blank_to_na(category[keep])})
    repeated = frame["sku"].duplicated()
    report.add(SOURCE, "conflict", "SKUs listed twice in the products export (first row kept)",
               int(repeated.sum()), frame.loc[repeated, "sku"].head(3))  # fmt: skip
    frame = frame[~repeated]
    report.add(SOURCE, "mapped", "products", len(frame))
    return pd.Series(frame["category"].to_numpy(), index=frame["sku"].to_numpy(), name="category")
