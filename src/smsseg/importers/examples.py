"""Example exports: a data directory written back out as Shopify, Klaviyo and Postscript files.

To try ``smsseg import`` (and to test it end to end) one needs exports large enough to train
on, and real ones hold real people's data. This renders a contract data directory (the
simulator's, say) in the layouts the importers read, as a brand would have them:

- Shopify orders: one row per line item, order-level fields on the first row only, timestamps in
  the store's zone with its offset; a returned order is ``refunded`` with ``Refunded Amount`` =
  its total, a cancelled one ``voided`` with ``Cancelled at``. Orders name their customer by
  e-mail only (``<customer_id>@example.com``), as the real export does.
- Shopify customers: ``Accepts SMS Marketing`` is "yes" for everyone who ever opted in, *stale*
  after an opt-out, as when Shopify is not synced with the SMS platform's STOPs.
- Klaviyo: a profile export (e-mail, phone, creation, location; no SMS consent) and the browsing
  and SMS engagement events as ``GET /api/events`` pages, one per line.
- Postscript: one row per subscriber, with the last subscription and, when the latest consent
  event is an opt-out, its time (a re-subscription after an opt-out keeps only the last one).

Importing these files gives back the directory's customers, orders, lines, browsing events and
consent state (the test of the importers does exactly that).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg._io import atomic_path
from smsseg.data.load import load

SHOPIFY_ORDER_HEADER = (
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Subtotal", "Shipping",
    "Taxes", "Total", "Discount Code", "Discount Amount", "Created at", "Lineitem quantity",
    "Lineitem name", "Lineitem price", "Lineitem sku", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Cancelled at", "Refunded Amount",
    "Id", "Source", "Lineitem discount", "Phone",
)  # fmt: skip
SHOPIFY_CUSTOMER_HEADER = (
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
    "Default Address Company", "Default Address Address1", "Default Address Address2",
    "Default Address City", "Default Address Province Code", "Default Address Country Code",
    "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
    "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
)  # fmt: skip
#: Contract event type → Klaviyo metric name.
KLAVIYO_METRICS = {
    "product_view": "Viewed Product", "category_view": "Viewed Collection",
    "add_to_cart": "Added to Cart", "checkout_started": "Started Checkout",
    "search": "Submitted Search", "sent": "Received SMS", "clicked": "Clicked SMS",
    "failed": "Failed to Deliver SMS",
}  # fmt: skip


def _email(ids: pd.Series) -> pd.Series:
    return ids.str.lower() + "@example.com"


def _local(ts: pd.Series, zone: str) -> pd.Series:
    """``2025-05-11 09:55:16 -0400``: the instant in the store's zone with its offset."""
    local = pd.to_datetime(ts).dt.tz_localize("UTC").dt.tz_convert(zone)
    return local.dt.strftime("%Y-%m-%d %H:%M:%S %z")


def shopify_orders(orders: pd.DataFrame, items: pd.DataFrame, customers, zone: str):
    lines = orders.merge(items, on="order_id", how="left").sort_values(
        ["ordered_at", "order_id"], kind="stable"
    )
    first = ~lines["order_id"].duplicated()
    where = customers.set_index("customer_id")
    status = lines["status"].map({"completed": "paid", "returned": "refunded",
                                  "cancelled": "voided"})  # fmt: skip
    cancelled_at = (lines["ordered_at"] + pd.Timedelta(minutes=30)).where(
        lines["status"] == "cancelled"
    )
    frame = pd.DataFrame({
        "Name": "#" + lines["order_id"], "Email": _email(lines["customer_id"]),
        "Financial Status": status, "Paid at": _local(lines["ordered_at"], zone),
        "Fulfillment Status": "fulfilled", "Subtotal": lines["amount"].round(2), "Shipping": 0.0,
        "Taxes": 0.0, "Total": lines["amount"].round(2), "Discount Code": lines["promo_code"],
        "Discount Amount": lines["discount_amount"].round(2),
        "Created at": _local(lines["ordered_at"], zone),
        "Lineitem quantity": lines["quantity"].fillna(1).astype("int64"),
        "Lineitem name": "Item " + lines["product_id"].fillna("unknown"),
        "Lineitem price": lines["unit_price"].fillna(lines["amount"]).round(2),
        "Lineitem sku": lines["product_id"],
        "Billing City": lines["customer_id"].map(where["city"]),
        "Billing Zip": lines["customer_id"].map(where["postal_code"]),
        "Billing Province": lines["customer_id"].map(where["region"]).str.split("-").str[-1],
        "Billing Country": lines["customer_id"].map(where["country"]),
        "Billing Phone": "", "Cancelled at": _local(cancelled_at, zone),
        "Refunded Amount": lines["amount"].where(lines["status"] == "returned", 0.0).round(2),
        "Id": "", "Source": "web", "Lineitem discount": 0.0, "Phone": "",
    })  # fmt: skip
    order_level = ["Financial Status", "Paid at", "Fulfillment Status", "Subtotal", "Shipping",
                   "Taxes", "Total", "Discount Code", "Discount Amount", "Billing City",
                   "Billing Zip", "Billing Province", "Billing Country", "Cancelled at",
                   "Refunded Amount", "Source"]  # fmt: skip
    keep = pd.Series(first.to_numpy(), index=frame.index)
    for column in order_level:  # order-level fields live on an order's first row only
        frame[column] = frame[column].astype("object").where(keep, "")
    return frame[list(SHOPIFY_ORDER_HEADER)]


def shopify_customers(customers: pd.DataFrame, sms: pd.DataFrame) -> pd.DataFrame:
    ever_in = set(sms.loc[sms["event_type"] == "opt_in", "customer_id"])
    frame = pd.DataFrame({c: "" for c in SHOPIFY_CUSTOMER_HEADER}, index=customers.index)
    frame["Customer ID"] = customers["customer_id"]
    frame["Email"] = _email(customers["customer_id"])
    frame["Accepts Email Marketing"] = "yes"
    frame["Default Address City"] = customers["city"]
    frame["Default Address Province Code"] = customers["region"].str.split("-").str[-1]
    frame["Default Address Country Code"] = customers["country"]
    frame["Default Address Zip"] = customers["postal_code"]
    frame["Phone"] = customers["phone"]
    # stale on purpose: Shopify still says "yes" after a STOP sent to the SMS platform
    frame["Accepts SMS Marketing"] = np.where(customers["customer_id"].isin(ever_in), "yes", "no")
    frame["Tax Exempt"] = "no"
    return frame


def postscript_subscribers(customers: pd.DataFrame, sms: pd.DataFrame) -> pd.DataFrame:
    consent = sms[sms["event_type"].isin(["opt_in", "opt_out"])].sort_values(
        "occurred_at", kind="stable"
    )
    last = consent.groupby("customer_id")["event_type"].last()
    last_in = consent[consent["event_type"] == "opt_in"].groupby("customer_id")["occurred_at"].max()
    last_out = consent[consent["event_type"] == "opt_out"].groupby("customer_id")["occurred_at"]
    subs = pd.DataFrame({"last": last, "subscribed": last_in}).dropna(subset=["subscribed"])
    subs["opted_out"] = last_out.max().reindex(subs.index).where(subs["last"] == "opt_out")
    phones = customers.set_index("customer_id")["phone"]
    fmt = "%Y-%m-%d %H:%M:%S"
    return pd.DataFrame({
        "customer_id": [f"ps-{i + 1}" for i in range(len(subs))],
        "phone_number": phones.reindex(subs.index).to_numpy(),
        "subscriber_created_at_utc": subs["subscribed"].dt.strftime(fmt).to_numpy(),
        "last_keyword_subscribed_to": "JOIN",
        "opt_out_time": subs["opted_out"].dt.strftime(fmt).fillna("").to_numpy(),
        "opt_out_reason": np.where(subs["opted_out"].notna(), "STOP", ""),
    })  # fmt: skip


def klaviyo_profiles(customers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Email": _email(customers["customer_id"]), "Phone Number": customers["phone"],
        "Profile Created On": customers["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S+00:00"),
        "City": customers["city"], "Country": customers["country"],
        "Zip Code": customers["postal_code"],
    })  # fmt: skip


def klaviyo_pages(events: pd.DataFrame, sms: pd.DataFrame, page_size: int = 500) -> list[dict]:
    """Browsing and SMS engagement events as ``GET /api/events`` pages (metric and profile
    included, as with ``include=metric,profile``)."""
    browse = events.assign(campaign_id=pd.NA)
    engage = sms[sms["event_type"].isin(["sent", "clicked", "failed"])].assign(
        product_id=pd.NA, category=pd.NA
    )
    rows = pd.concat([browse, engage], ignore_index=True).sort_values("occurred_at")
    rows = rows[rows["event_type"].isin(KLAVIYO_METRICS)]
    metric_ids = {name: f"M{i}" for i, name in enumerate(KLAVIYO_METRICS.values())}
    pages = []
    for start in range(0, len(rows), page_size):
        chunk = rows.iloc[start : start + page_size]
        data = []
        for n, r in enumerate(chunk.itertuples(index=False), start=start):
            props = {}
            if isinstance(r.product_id, str):
                props["ProductID"] = r.product_id
            if isinstance(r.category, str):
                props["Categories"] = [r.category]
            if isinstance(r.campaign_id, str):
                props["$message"] = r.campaign_id
            data.append({
                "type": "event", "id": f"E{n}",
                "attributes": {"datetime": f"{r.occurred_at:%Y-%m-%dT%H:%M:%S}+00:00",
                               "event_properties": props},
                "relationships": {
                    "metric": {"data": {"type": "metric",
                                        "id": metric_ids[KLAVIYO_METRICS[r.event_type]]}},
                    "profile": {"data": {"type": "profile", "id": f"K{r.customer_id}"}},
                },
            })  # fmt: skip
        included = [{"type": "metric", "id": i, "attributes": {"name": name}}
                    for name, i in metric_ids.items()]  # fmt: skip
        included += [
            {"type": "profile", "id": f"K{c}", "attributes": {"email": f"{c.lower()}@example.com"}}
            for c in chunk["customer_id"].unique()
        ]
        pages.append({"data": data, "included": included})
    return pages


def write_example_exports(
    data_dir: str | os.PathLike, out_dir: str | os.PathLike, *, store_zone: str = "America/New_York"
) -> dict[str, Path]:
    """Write ``data_dir``'s tables as Shopify, Klaviyo and Postscript exports in ``out_dir``.

    Parameters
    ----------
    data_dir : a valid data directory (e.g. ``smsseg generate``'s output).
    out_dir : folder to (re)create, atomically.
    store_zone : the shop's IANA zone: the offsets of the Shopify timestamps.

    Returns
    -------
    dict of file role (``orders``, ``customers``, ``products``, ``profiles``, ``events``,
    ``postscript``) to path.

    Example
    -------
    >>> paths = write_example_exports("shop", "exports")  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['customers', 'events', 'orders', 'postscript', 'products', 'profiles']
    """
    data = load(data_dir)
    customers = data.frame("customers")
    orders = data.frame("orders")
    sms = data.frame("sms")
    names = {
        "orders": "shopify_orders.csv", "customers": "shopify_customers.csv",
        "products": "shopify_products.csv", "profiles": "klaviyo_profiles.csv",
        "events": "klaviyo_events.jsonl", "postscript": "postscript_subscribers.csv",
    }  # fmt: skip
    products = data.frame("products")
    out = Path(out_dir)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        shopify_orders(orders, data.frame("order_items"), customers, store_zone).to_csv(
            tmp / names["orders"], index=False
        )
        shopify_customers(customers, sms).to_csv(tmp / names["customers"], index=False)
        pd.DataFrame({"Handle": products["product_id"].str.lower(), "Title": products["product_id"],
                      "Type": products["category"], "Variant SKU": products["product_id"]}).to_csv(
            tmp / names["products"], index=False
        )  # fmt: skip
        klaviyo_profiles(customers).to_csv(tmp / names["profiles"], index=False)
        with open(tmp / names["events"], "w", encoding="utf-8") as f:
            for page in klaviyo_pages(data.frame("events"), sms):
                f.write(json.dumps(page) + "\n")
        postscript_subscribers(customers, sms).to_csv(tmp / names["postscript"], index=False)
    return {role: out / name for role, name in names.items()}
