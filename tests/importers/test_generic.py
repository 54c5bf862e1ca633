"""Any CSV into one contract table through a mapping file (``smsseg import csv --map``)."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from smsseg.cli import app
from smsseg.data import validate_dir
from smsseg.errors import SmssegError
from smsseg.importers import import_csv
from smsseg.importers.generic import load_mapping
from tests.importers.helpers import EXPORTED_AT, NOW, count_like, fixture, import_shop, table


def run(out, file=None, mapping=None):
    if not out.exists():
        import_shop(out)
    return import_csv(
        out,
        file or fixture("pos_sales.csv"),
        mapping or fixture("pos_mapping.toml"),
        exported_at=EXPORTED_AT,
        now=NOW,
    )


@pytest.fixture(scope="module")
def pos(tmp_path_factory):
    out = tmp_path_factory.mktemp("pos") / "data"
    return out, run(out)


def test_till_sales_merge_with_the_shop_by_email(pos):
    out, result = pos
    assert validate_dir(out).ok
    orders = table(out, "orders").set_index("order_id")
    shop = table(out, "customers")
    # R-1 is Ada's (matched by e-mail to her Shopify customer id), in UTC, completed
    ada = orders.loc["R-1"]
    assert ada["customer_id"] == "7022550001" and ada["status"] == "completed"
    assert ada["ordered_at"] == pd.Timestamp("2025-06-02 11:00:00")
    assert orders.loc["R-3", "status"] == "cancelled"
    # an e-mail nobody else has makes a customer, counted; a row naming nobody is dropped
    assert orders.loc["R-4", "customer_id"] in set(shop["customer_id"])
    assert count_like(result.report, "created", "", "pos") == 2  # new@ and walkin@
    assert "R-5" not in orders.index
    assert count_like(result.report, "dropped", "no usable customer id", "pos") == 1
    assert count_like(result.report, "mapped", "orders rows", "pos") == 4
    # the Shopify orders are still there: the sources merge, none replaces another
    assert orders.index.str.startswith("#").sum() > 0


def test_importing_the_same_file_again_changes_nothing(pos, tmp_path):
    out, _ = pos
    before = {n: table(out, n) for n in ("customers", "orders")}
    run(out)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(table(out, name), frame)


def test_a_value_the_maps_do_not_name_is_an_error_and_nothing_is_written(tmp_path):
    out = tmp_path / "data"
    import_shop(out)
    before = table(out, "orders")
    bad = tmp_path / "sales.csv"
    frame = pd.read_csv(fixture("pos_sales.csv"), dtype=str)
    frame.loc[1, "Till status"] = "Pending"
    frame.to_csv(bad, index=False)
    with pytest.raises(SmssegError, match=r"sales.csv, column 'Till status'.*\['Pending'\]"):
        run(out, bad)
    pd.testing.assert_frame_equal(table(out, "orders"), before)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "pos"\ntable = "refunds"\n', "table='refunds' must be one of"),
        ('name = "Shop Till"\ntable = "orders"\n', "must be lower-case"),
        ('name = "shopify"\ntable = "orders"\n', "is a built-in source"),
        (
            'name = "pos"\ntable = "orders"\n[columns]\norder_id = "R"\nordered_at = "D"\n'
            'amount = "T"\n',
            "one of customer_id, email, phone",
        ),
        (
            'name = "pos"\ntable = "orders"\n[columns]\norder_id = "R"\nordered_at = "D"\n'
            'amount = "T"\nemail = "E"\ncolour = "C"\n',
            r"\['colour'\] are not fields of orders",
        ),
        (
            'name = "pos"\ntable = "orders"\n[columns]\norder_id = "R"\nordered_at = "D"\n'
            'amount = "T"\nemail = "E"\n[values.status]\nPaid = "paid"\n',
            r"maps onto \['paid'\]",
        ),
    ],
    ids=["table", "name", "builtin", "no-person", "unknown-field", "bad-value"],
)
def test_bad_mapping_files_are_one_clear_error(tmp_path, text, message):
    path = tmp_path / "map.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SmssegError, match=message):
        load_mapping(path)


def test_events_from_a_mapped_log_and_the_cli(tmp_path):
    out = tmp_path / "data"
    import_shop(out)
    log = tmp_path / "app_log.csv"
    log.write_text(
        "user,when,what,sku\n"
        "'7022550002,2025-07-01T10:00:00Z,view,LS-01\n"
        "'7022550002,2025-07-01T10:05:00Z,basket,LS-01\n"
        "7022550005,2025-07-02T08:00:00Z,login,\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "app.toml"
    mapping.write_text(
        'name = "app"\ntable = "events"\n[columns]\ncustomer_id = "user"\noccurred_at = "when"\n'
        'event_type = "what"\nproduct_id = "sku"\n'
        '[values.event_type]\nview = "product_view"\nbasket = "add_to_cart"\nlogin = ""\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["import", "csv", "--file", str(log), "--map", str(mapping), "--out", str(out),
              "--exported-at", EXPORTED_AT],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    events = table(out, "events")
    mine = events[events["customer_id"] == "7022550002"].sort_values("occurred_at")
    assert list(mine["event_type"].tail(2)) == ["product_view", "add_to_cart"]
    assert "login" not in set(events["event_type"])
    import json

    lines = json.loads((out / "_import" / "report.json").read_text())["lines"]
    left_out = [
        x for x in lines if x["what"] == "rows with event_type 'login' (left out by the mapping)"
    ]
    assert [x["count"] for x in left_out] == [1]


def test_customers_from_a_mapped_crm_file_keep_their_ids(tmp_path):
    out = tmp_path / "data"
    import_shop(out)
    crm = tmp_path / "crm.csv"
    crm.write_text(
        "id,mail,signed up,country\n"
        "C-900,zoe@example.com,2024-05-01 09:00:00 +0200,FR\n"
        "7022550002,ben@example.com,2024-01-01 00:00:00 +0000,US\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "crm.toml"
    mapping.write_text(
        'name = "crm"\ntable = "customers"\n[columns]\ncustomer_id = "id"\nemail = "mail"\n'
        'created_at = "signed up"\ncountry = "country"\n',
        encoding="utf-8",
    )
    result = import_csv(out, crm, mapping, exported_at=EXPORTED_AT, now=NOW)
    assert validate_dir(out).ok
    customers = table(out, "customers").set_index("customer_id")
    assert customers.loc["C-900", "created_at"] == pd.Timestamp("2024-05-01 07:00:00")
    assert customers.loc["C-900", "timezone"] == "Europe/Paris"  # France has one zone
    assert len(customers) == 8 and result.row_counts["customers"] == 8
