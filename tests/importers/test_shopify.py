"""Shopify orders, customers and products exports → contract tables (fixtures by hand)."""

import pandas as pd
import pytest

from smsseg.data import validate_dir
from smsseg.errors import SmssegError
from smsseg.importers import import_shopify
from tests.importers.helpers import (
    EXPORT_TIME,
    EXPORTED_AT,
    NOW,
    copy_fixture,
    edit_csv,
    fixture,
    table,
)


def run(out, orders=None, customers="default", products="default", **kw):
    return import_shopify(
        out,
        orders or fixture("shopify_orders.csv"),
        fixture("shopify_customers.csv") if customers == "default" else customers,
        fixture("shopify_products.csv") if products == "default" else products,
        exported_at=EXPORTED_AT,
        now=NOW,
        **kw,
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    out = tmp_path_factory.mktemp("shopify") / "shop"
    return out, run(out)


def test_import_writes_a_directory_that_validates(shop):
    out, result = shop
    report = validate_dir(out)
    assert report.ok, [p.render() for p in report.errors]
    assert result.row_counts == {"customers": 7, "orders": 7, "order_items": 9, "products": 4,
                                 "sms": 3}  # fmt: skip


def test_line_items_are_grouped_by_name_with_order_fields_from_the_first_row(shop):
    orders = table(shop[0], "orders").set_index("order_id")
    lines = table(shop[0], "order_items")
    assert sorted(orders.index) == [f"#100{i}" for i in range(1, 8)]
    first = lines[lines["order_id"] == "#1001"].set_index("product_id")
    assert first.loc["LS-01", "quantity"] == 2 and first.loc["CT-02", "quantity"] == 1
    # unit price paid: (2 x 30.00 - 5.00 line discount) / 2
    assert first.loc["LS-01", "unit_price"] == pytest.approx(27.5)
    assert orders.loc["#1001", "amount"] == pytest.approx(102.2)
    assert (orders.loc["#1001", "discount_amount"], orders.loc["#1001", "promo_code"]) == (
        pytest.approx(10.0),
        "WELCOME10",
    )


def test_refunds_and_cancellations(shop):
    orders = table(shop[0], "orders").set_index("order_id")
    # partial refund: Total 86.40 - Refunded 20.00, still completed
    assert orders.loc["#1002", "status"] == "completed"
    assert orders.loc["#1002", "amount"] == pytest.approx(66.4)
    # full refund: returned with its original amount and no (unknown) return date
    assert orders.loc["#1003", "status"] == "returned"
    assert orders.loc["#1003", "amount"] == pytest.approx(60.0)
    assert pd.isna(orders.loc["#1003", "returned_at"])
    # voided with Cancelled at
    assert orders.loc["#1004", "status"] == "cancelled"
    assert set(orders.loc[["#1001", "#1005", "#1006", "#1007"], "status"]) == {"completed"}


def test_discount_falls_back_to_the_sum_of_line_discounts(shop):
    orders = table(shop[0], "orders").set_index("order_id")
    assert orders.loc["#1006", "discount_amount"] == pytest.approx(5.0)  # 2.00 + 3.00


def test_store_offsets_across_dst_become_utc(shop):
    orders = table(shop[0], "orders").set_index("order_id")
    expected = {
        "#1001": "2025-03-01 15:14:02",  # -0500 before the March change
        "#1002": "2025-05-11 13:55:16",  # -0400 in summer
        "#1005": "2025-11-10 13:00:00",  # -0500 after the November change
        "#1006": "2025-11-02 05:30:00",  # 01:30 EDT, the first of the repeated hour
        "#1007": "2025-11-02 06:30:00",  # 01:30 EST, the second one: an hour later
    }
    for order_id, utc in expected.items():
        assert orders.loc[order_id, "ordered_at"] == pd.Timestamp(utc), order_id
    zones = shop[1].report.facts["store_zones_fitting"]
    assert "America/New_York" in zones and "America/Chicago" not in zones
    assert shop[1].report.facts["store_offsets"] == {"-0400": 4, "-0500": 4}


def test_apostrophes_are_stripped_and_excel_mangled_ids_never_become_keys(shop):
    customers = table(shop[0], "customers").set_index("customer_id")
    assert "7022550001" in customers.index  # was '7022550001
    assert customers.loc["7022550001", "postal_code"] == "10001"  # was '10001
    assert not customers.index.str.contains("E+", regex=False).any()
    # the mangled row is still a customer, identified by its e-mail, and owns its order
    orders = table(shop[0], "orders").set_index("order_id")
    assert orders.loc["#1003", "customer_id"] == "shopify-row3"
    report = shop[1].report
    assert report.count("dropped", source="shopify", what=next(
        line.what for line in report.lines if line.what.startswith("'Customer ID'"))) == 1  # fmt: skip


def test_orders_join_customers_by_email_else_phone_else_create_one(shop):
    orders = table(shop[0], "orders").set_index("order_id")
    customers = table(shop[0], "customers").set_index("customer_id")
    assert orders.loc["#1001", "customer_id"] == orders.loc["#1005", "customer_id"] == "7022550001"
    guest = orders.loc["#1006", "customer_id"]  # fay: an e-mail no customer row has
    phone_only = orders.loc["#1007", "customer_id"]  # no e-mail, a billing phone
    assert guest.startswith("shopify-email:") and phone_only.startswith("shopify-phone:")
    assert customers.loc[guest, "created_at"] == pd.Timestamp("2025-11-02 05:30:00")
    assert customers.loc[phone_only, "phone"] == "+13035550107"  # (303) 555-0107 in the US
    assert "#1008" not in orders.index  # neither e-mail nor phone
    assert "@" not in "".join(customers.index)  # e-mails never stored
    assert shop[1].report.count("created", source="shopify") == 3  # 2 guests + the mangled row


def test_phones_are_e164_from_the_address_country(shop):
    customers = table(shop[0], "customers").set_index("customer_id")
    assert customers.loc["7022550002", "phone"] == "+12125550102"  # (212) 555-0102, US address
    assert customers.loc["7022550005", "phone"] == "+14155550105"  # +1 415 555 0105
    assert customers.loc["7022550001", "region"] == "US-NY"


def test_categories_come_from_the_products_export_by_sku(shop):
    lines = table(shop[0], "order_items").set_index(["order_id", "product_id"])
    assert lines.loc[("#1001", "LS-01"), "category"] == "Shirts"  # Type
    assert lines.loc[("#1001", "CT-02"), "category"] == "Tote Bags"  # Product Category's leaf
    # the Excel-mangled SKU is not used: the line's name is its product
    assert ("#1005", "name:Gift Card") in lines.index


def test_undated_sms_consent_is_one_opt_in_at_the_export_time(shop):
    sms = table(shop[0], "sms")
    assert set(sms["customer_id"]) == {"7022550001", "7022550002", "7022550005"}
    assert (sms["event_type"] == "opt_in").all()
    assert (sms["occurred_at"] == EXPORT_TIME).all()  # never back-dated
    # 'Accepts Email Marketing = yes' (Dee, Cy) gives no SMS consent
    assert "7022550004" not in set(sms["customer_id"])


def test_no_undated_consent_leaves_it_out(tmp_path):
    result = run(tmp_path / "shop", undated_consent=False)
    assert "sms" not in result.row_counts
    assert result.report.count("dropped", source="shopify") >= 3


def test_customer_without_any_date_is_dated_at_the_export_and_counted(shop):
    customers = table(shop[0], "customers").set_index("customer_id")
    assert customers.loc["7022550004", "created_at"] == EXPORT_TIME
    undated = [line for line in shop[1].report.lines if "no source dates" in line.what]
    assert [line.count for line in undated] == [1]


def test_time_zone_is_filled_only_where_the_address_names_exactly_one(shop):
    customers = table(shop[0], "customers").set_index("customer_id")
    # New York State has one zone; the count says how many were filled this way
    assert customers.loc["7022550001", "timezone"] == "America/New_York"
    filled = [line for line in shop[1].report.lines if "exactly one" in line.what]
    assert [line.count for line in filled] == [int(customers["timezone"].notna().sum())]
    # a region or country with several zones is left to activation's intersection of windows
    from smsseg.zones import candidate_zones

    for cid, row in customers.iterrows():
        zones, _ = candidate_zones(None, row["country"], row["region"])
        assert (len(zones) == 1) == (row["timezone"] == zones[0] if zones else False), cid


def test_orders_alone_are_enough(tmp_path):
    result = run(tmp_path / "shop", customers=None, products=None)
    assert result.row_counts["orders"] == 7 and "sms" not in result.row_counts
    assert validate_dir(tmp_path / "shop").ok


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "message"),
    [
        ("shopify_orders.csv", 0, "Created at", "11/05/2025 9:55", "column 'Created at': 1 value"),
        ("shopify_orders.csv", 0, "Created at", "2027-01-01 10:00:00 -0500", "lie after now"),
        ("shopify_orders.csv", 0, "Total", "-5.00", "negative amount"),
        ("shopify_orders.csv", 0, "Total", "12,5x", "not numbers"),
        ("shopify_orders.csv", 0, "Name", "", "rows without an order name"),
        ("shopify_orders.csv", 0, "Lineitem quantity", "1.5", "not whole numbers"),
        ("shopify_customers.csv", 1, "Customer ID", "7022550001", "repeat a customer id"),
    ],
    ids=[
        "unparseable-ts",
        "future-ts",
        "negative",
        "not-a-number",
        "no-name",
        "quantity",
        "duplicate-id",
    ],  # fmt: skip
)
def test_bad_input_is_one_clear_error_and_writes_nothing(tmp_path, file, row, column, value,
                                                         message):  # fmt: skip
    edited = edit_csv(copy_fixture(file, tmp_path), row, column, value)
    kwargs = {"orders": edited} if file == "shopify_orders.csv" else {"customers": edited}
    out = tmp_path / "shop"
    with pytest.raises(SmssegError, match=message) as info:
        run(out, **kwargs)
    assert file in str(info.value) and "\n" not in str(info.value)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [file]  # no temporary directory left


def test_missing_column_names_the_file_and_what_is_accepted(tmp_path):
    path = copy_fixture("shopify_orders.csv", tmp_path)
    pd.read_csv(path, dtype=str).drop(columns=["Total"]).to_csv(path, index=False)
    with pytest.raises(SmssegError, match=r"shopify_orders.csv: missing column\(s\) for total"):
        run(tmp_path / "shop", orders=path)


def test_a_later_order_in_the_export_changes_no_earlier_row(tmp_path, shop):
    """Point in time: re-exporting with newer orders appended leaves every earlier imported row
    (orders, lines, customers' sign-up dates) as it was."""
    path = copy_fixture("shopify_orders.csv", tmp_path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    later = raw[raw["Name"] == "#1002"].assign(
        Name="#1009", **{"Created at": "2026-03-01 10:00:00 -0500", "Refunded Amount": "0.00",
                         "Financial Status": "paid"})  # fmt: skip
    guest = raw[raw["Name"] == "#1007"].assign(
        Name="#1010", Email="new@example.com", **{"Created at": "2026-03-02 10:00:00 -0500"}
    )
    pd.concat([raw, later, guest]).to_csv(path, index=False)
    out = tmp_path / "shop"
    run(out, orders=path)
    for name, key in (("orders", "order_id"), ("order_items", ["order_id", "product_id"]),
                      ("customers", "customer_id")):  # fmt: skip
        before = table(shop[0], name).set_index(key).sort_index()
        after = table(out, name).set_index(key).sort_index()
        pd.testing.assert_frame_equal(after.loc[before.index], before, obj=name)
    assert len(table(out, "orders")) == len(table(shop[0], "orders")) + 2


def test_a_file_resaved_by_excel_with_bom_and_crlf_reads_the_same(tmp_path, shop):
    path = tmp_path / "orders.csv"
    text = fixture("shopify_orders.csv").read_text(encoding="utf-8")
    path.write_bytes("\ufeff".encode() + text.replace("\n", "\r\n").encode("utf-8"))
    run(tmp_path / "shop", orders=path)
    for name in ("orders", "order_items", "customers"):
        pd.testing.assert_frame_equal(table(tmp_path / "shop", name), table(shop[0], name))


def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "orders.csv"
    text = fixture("shopify_orders.csv").read_text(encoding="utf-8").replace("Linen", "Lïnen")
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(SmssegError, match="cannot be read as a CSV: it is not UTF-8"):
        run(tmp_path / "shop", orders=path)
