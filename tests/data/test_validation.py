"""`smsseg validate` and `smsseg.data.load`: valid directories pass, each broken rule is named."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from smsseg.cli import app
from smsseg.data import DataValidationError, load, load_frames
from smsseg.data.contract import TABLES

runner = CliRunner()


def valid_tables() -> dict[str, pd.DataFrame]:
    """A tiny dataset that meets the contract, every table present."""
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "created_at": ["2024-01-01", "2024-01-02T09:30:00", "2024-02-01T10:00:00+02:00"],
            "phone": ["+14155550123", "+442071838750", None],
            "country": ["US", "GB", "DE"],
            "region": ["US-CA", "London", "Berlin"],
            "timezone": ["America/Los_Angeles", "Europe/London", "Europe/Berlin"],
            "preferred_channel": ["sms", "sms", "email"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c1", "c2"],
            "ordered_at": ["2024-01-05 10:00", "2024-02-05 11:00", "2024-03-01 12:00"],
            "amount": [50.0, 20.0, 35.5],
            "discount_amount": [0.0, 5.0, 0.0],
            "promo_code": [None, "SPRING10", None],
            "status": ["completed", "completed", "returned"],
            "returned_at": [None, None, "2024-03-04 09:00"],
        }
    )
    order_items = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "product_id": ["p1", "p2", "p1"],
            "category": ["shoes", "bags", "shoes"],
            "quantity": [1, 2, 1],
            "unit_price": [50.0, 12.5, 35.5],
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": ["c1", "c3"],
            "occurred_at": ["2024-01-04 10:00", "2024-02-03 08:00"],
            "event_type": ["product_view", "add_to_cart"],
            "product_id": ["p1", "p2"],
            "category": ["shoes", "bags"],
        }
    )
    sms = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c2"],
            "occurred_at": ["2024-01-01", "2024-01-10", "2024-01-10 01:00", "2024-01-03"],
            "event_type": ["opt_in", "sent", "clicked", "opt_in"],
            "campaign_id": [None, "k1", "k1", None],
            "message_type": [None, "promo", "promo", None],
        }
    )
    loyalty = pd.DataFrame(
        {
            "customer_id": ["c1"],
            "enrolled_at": ["2024-01-06"],
            "tier": ["Gold"],
            "points_balance": [120.0],
            "points_expiring": [20.0],
            "points_expire_at": ["2031-01-01"],
        }
    )
    loyalty_events = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c1"],
            "occurred_at": ["2024-01-06", "2024-01-06", "2024-02-05 11:00", "2024-02-06"],
            "kind": ["tier_change", "earn", "earn", "redeem"],
            "points": [None, 50.0, 20.0, -10.0],
            "tier": ["Bronze", None, None, None],
            "expires_at": [None, "2031-01-01", "2031-04-01", None],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["p1", "p2"],
            "category": ["shoes", "bags"],
            "in_stock": [True, False],
            "restocked_at": ["2024-01-01", None],
        }
    )
    promotions = pd.DataFrame(
        {
            "promo_id": ["s1"],
            "starts_at": ["2024-02-01"],
            "ends_at": ["2024-02-10"],
            "kind": ["sale"],
            "discount_rate": [0.2],
            "category": [None],
        }
    )
    assignments = pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "campaign_id": ["exp1", "exp1"],
            "variant": ["control", "treatment"],
            "assigned_at": ["2024-01-20", "2024-01-20"],
        }
    )
    return dict(
        customers=customers,
        orders=orders,
        order_items=order_items,
        events=events,
        sms=sms,
        loyalty=loyalty,
        loyalty_events=loyalty_events,
        products=products,
        promotions=promotions,
        assignments=assignments,
    )


def write_dir(path: Path, tables: dict[str, pd.DataFrame], fmt: str = "csv") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "csv":
            df.to_csv(path / f"{name}.csv", index=False)
        else:
            df.to_parquet(path / f"{name}.parquet", index=False)
    return path


def set_cell(table: str, column: str, row: int, value) -> Callable[[dict], None]:
    def corrupt(tables: dict) -> None:
        df = tables[table].astype({column: object})
        df.loc[row, column] = value
        tables[table] = df

    return corrupt


def drop_table(table: str) -> Callable[[dict], None]:
    return lambda tables: tables.pop(table)


def drop_column(table: str, column: str) -> Callable[[dict], None]:
    def corrupt(tables: dict) -> None:
        tables[table] = tables[table].drop(columns=[column])

    return corrupt


def empty_table(table: str) -> Callable[[dict], None]:
    def corrupt(tables: dict) -> None:
        tables[table] = tables[table].iloc[0:0]

    return corrupt


# (id, corruption, file named in the message, column named in the message, rule)
CORRUPTIONS = [
    (
        "missing-customers-file",
        drop_table("customers"),
        "customers.parquet",
        None,
        "required_table",
    ),
    ("missing-orders-file", drop_table("orders"), "orders.parquet", None, "required_table"),
    (
        "missing-amount-column",
        drop_column("orders", "amount"),
        "orders.csv",
        "amount",
        "required_column",
    ),
    (
        "missing-created_at-column",
        drop_column("customers", "created_at"),
        "customers.csv",
        "created_at",
        "required_column",
    ),
    (
        "duplicate-customer-id",
        set_cell("customers", "customer_id", 1, "c1"),
        "customers.csv",
        "customer_id",
        "unique_key",
    ),
    (
        "duplicate-order-id",
        set_cell("orders", "order_id", 2, "o1"),
        "orders.csv",
        "order_id",
        "unique_key",
    ),
    (
        "negative-amount",
        set_cell("orders", "amount", 1, -20.0),
        "orders.csv",
        "amount",
        "min_value",
    ),
    (
        "negative-discount",
        set_cell("orders", "discount_amount", 0, -1.0),
        "orders.csv",
        "discount_amount",
        "min_value",
    ),
    (
        "amount-not-a-number",
        set_cell("orders", "amount", 0, "fifty"),
        "orders.csv",
        "amount",
        "type_float",
    ),
    (
        "amount-is-nan",
        set_cell("orders", "amount", 2, "NaN"),
        "orders.csv",
        "amount",
        "finite",
    ),
    (
        "unit-price-is-infinite",
        set_cell("order_items", "unit_price", 0, "inf"),
        "order_items.csv",
        "unit_price",
        "finite",
    ),
    (
        "unparseable-timestamp",
        set_cell("orders", "ordered_at", 1, "05/02/2024 at noon"),
        "orders.csv",
        "ordered_at",
        "type_timestamp",
    ),
    (
        "future-timestamp",
        set_cell("events", "occurred_at", 0, "2099-01-01 00:00"),
        "events.csv",
        "occurred_at",
        "not_in_future",
    ),
    (
        "unknown-order-status",
        set_cell("orders", "status", 0, "shipped"),
        "orders.csv",
        "status",
        "allowed_values",
    ),
    (
        "unknown-event-type",
        set_cell("events", "event_type", 1, "page_ping"),
        "events.csv",
        "event_type",
        "allowed_values",
    ),
    (
        "unknown-sms-event-type",
        set_cell("sms", "event_type", 1, "bounced"),
        "sms.csv",
        "event_type",
        "allowed_values",
    ),
    (
        "unknown-channel",
        set_cell("customers", "preferred_channel", 0, "pigeon"),
        "customers.csv",
        "preferred_channel",
        "allowed_values",
    ),
    (
        "order-of-unknown-customer",
        set_cell("orders", "customer_id", 2, "c404"),
        "orders.csv",
        "customer_id",
        "foreign_key",
    ),
    (
        "item-of-unknown-order",
        set_cell("order_items", "order_id", 1, "o404"),
        "order_items.csv",
        "order_id",
        "foreign_key",
    ),
    (
        "missing-customer-id-value",
        set_cell("orders", "customer_id", 0, None),
        "orders.csv",
        "customer_id",
        "not_null",
    ),
    ("empty-orders-table", empty_table("orders"), "orders.csv", None, "not_empty"),
    (
        "unknown-time-zone",
        set_cell("customers", "timezone", 0, "America/Atlantis"),
        "customers.csv",
        "timezone",
        "iana_timezone",
    ),
    (
        "duplicate-loyalty-member",
        set_cell("loyalty", "customer_id", 0, "c1"),
        None,
        None,
        None,
    ),  # placeholder, replaced below
    (
        "promotion-ends-before-start",
        set_cell("promotions", "ends_at", 0, "2024-01-01"),
        "promotions.csv",
        "ends_at",
        "ends_after_start",
    ),
    (
        "discount-rate-above-one",
        set_cell("promotions", "discount_rate", 0, 1.5),
        "promotions.csv",
        "discount_rate",
        "max_value",
    ),
    (
        "negative-quantity",
        set_cell("order_items", "quantity", 0, -1),
        "order_items.csv",
        "quantity",
        "min_value",
    ),
    (
        "returned-before-ordered",
        set_cell("orders", "returned_at", 2, "2024-02-01"),
        "orders.csv",
        "returned_at",
        "returned_after_ordered",
    ),
    (
        "unknown-ledger-kind",
        set_cell("loyalty_events", "kind", 1, "gift"),
        "loyalty_events.csv",
        "kind",
        "allowed_values",
    ),
    (
        "redeem-with-positive-points",
        set_cell("loyalty_events", "points", 3, 10.0),
        "loyalty_events.csv",
        "points",
        "points_sign",
    ),
    (
        "earn-without-points",
        set_cell("loyalty_events", "points", 1, None),
        "loyalty_events.csv",
        "points",
        "points_given",
    ),
    (
        "tier-change-without-tier",
        set_cell("loyalty_events", "tier", 0, None),
        "loyalty_events.csv",
        "tier",
        "tier_given",
    ),
    (
        "ledger-of-unknown-customer",
        set_cell("loyalty_events", "customer_id", 2, "c9"),
        "loyalty_events.csv",
        "customer_id",
        "foreign_key",
    ),
    (
        "ledger-entry-in-the-future",
        set_cell("loyalty_events", "occurred_at", 2, "2999-01-01"),
        "loyalty_events.csv",
        "occurred_at",
        "not_in_future",
    ),
]


def _duplicate_loyalty(tables: dict) -> None:
    tables["loyalty"] = pd.concat([tables["loyalty"], tables["loyalty"]], ignore_index=True)


CORRUPTIONS[[c[0] for c in CORRUPTIONS].index("duplicate-loyalty-member")] = (
    "duplicate-loyalty-member",
    _duplicate_loyalty,
    "loyalty.csv",
    "customer_id",
    "unique_key",
)


@pytest.fixture
def valid_dir(tmp_path: Path) -> Path:
    return write_dir(tmp_path / "data", valid_tables())


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_valid_directory_passes(tmp_path: Path, fmt: str) -> None:
    data_dir = write_dir(tmp_path / "data", valid_tables(), fmt)
    result = runner.invoke(app, ["validate", "--data", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert "orders (3 rows)" in result.output


def test_orders_and_customers_alone_validate(tmp_path: Path) -> None:
    tables = valid_tables()
    data_dir = write_dir(tmp_path / "data", {k: tables[k] for k in ("customers", "orders")})
    result = runner.invoke(app, ["validate", "--data", str(data_dir)])
    assert result.exit_code == 0, result.output
    data = load(data_dir)
    assert data.has("orders") and not data.has("events")
    # absent tables are empty views, so later stages' SQL still runs
    assert data.con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("corrupt", "file", "column", "rule"),
    [c[1:] for c in CORRUPTIONS],
    ids=[c[0] for c in CORRUPTIONS],
)
def test_each_broken_rule_exits_1_naming_file_and_column(
    tmp_path: Path, corrupt, file, column, rule
) -> None:
    tables = valid_tables()
    corrupt(tables)
    data_dir = write_dir(tmp_path / "data", tables)
    before = sorted(p.name for p in data_dir.iterdir())
    result = runner.invoke(app, ["validate", "--data", str(data_dir)])
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    message = result.output.replace("\n", " ")
    assert file in message
    if column:
        assert f"column '{column}'" in message
    assert f"rule: {rule}" in message
    assert "Traceback" not in result.output
    assert sorted(p.name for p in data_dir.iterdir()) == before  # nothing written


def test_example_rows_are_quoted(tmp_path: Path) -> None:
    tables = valid_tables()
    set_cell("orders", "amount", 1, -20.0)(tables)
    with pytest.raises(DataValidationError, match=r"row 2: order_id='o2', amount=-20.0") as info:
        load_frames(tables)
    assert info.value.problems[0].count == 1


def test_two_files_for_one_table_is_an_error(valid_dir: Path) -> None:
    valid_tables()["customers"].to_parquet(valid_dir / "customers.parquet")
    result = runner.invoke(app, ["validate", "--data", str(valid_dir)])
    assert result.exit_code == 1
    assert "customers.csv and customers.parquet" in result.output.replace("\n", " ")


def test_unreadable_file_is_an_error(valid_dir: Path) -> None:
    (valid_dir / "events.csv").unlink()
    (valid_dir / "events.parquet").write_bytes(b"not a parquet file")
    result = runner.invoke(app, ["validate", "--data", str(valid_dir)])
    assert result.exit_code == 1
    assert "events.parquet" in result.output and "rule: readable" in result.output


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_warnings_do_not_fail_and_never_show_a_phone(valid_dir: Path) -> None:
    tables = valid_tables()
    tables["customers"]["loyalty_score"] = [1, 2, 3]
    tables["customers"].loc[0, "phone"] = "4155550123"
    write_dir(valid_dir, {"customers": tables["customers"]})
    result = runner.invoke(app, ["validate", "--data", str(valid_dir)])
    assert result.exit_code == 0, result.output
    assert "loyalty_score" in result.output and "E.164" in result.output
    assert "4155550123" not in result.output


def test_timestamps_are_utc_and_defaults_apply() -> None:
    tables = valid_tables()
    tables["orders"]["status"] = [None, "completed", "returned"]
    data = load_frames(tables)
    created = data.frame("customers").set_index("customer_id")["created_at"]
    assert created["c3"] == pd.Timestamp("2024-02-01 08:00:00")  # +02:00 converted to UTC
    assert created["c2"] == pd.Timestamp("2024-01-02 09:30:00")  # naive means UTC
    assert data.frame("orders")["status"].tolist() == ["completed", "completed", "returned"]


def test_cli_has_no_traceback_for_bad_input(tmp_path: Path) -> None:
    """The installed entry point itself: exit 1, one clear paragraph on stderr, no traceback."""
    tables = valid_tables()
    set_cell("orders", "amount", 1, -20.0)(tables)
    data_dir = write_dir(tmp_path / "data", tables)
    proc = subprocess.run(
        [sys.executable, "-m", "smsseg", "validate", "--data", str(data_dir)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "orders.csv, column 'amount'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_contract_doc_is_generated_from_the_declarations() -> None:
    from smsseg.data.contract import contract_markdown

    doc = (Path(__file__).parents[2] / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert doc.endswith(contract_markdown())


def _utc_microseconds(values: pd.Series) -> np.ndarray:
    """Timestamps as naive UTC ``datetime64[us]``, one by one: pandas 2.2 parses a column into
    nanoseconds, which end in 2262, and the corruptions hold the year 2999."""
    out = []
    for value in values:
        stamp = pd.NaT if pd.isna(value) else pd.Timestamp(value)
        if stamp is not pd.NaT and stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        out.append(np.datetime64("NaT", "us") if stamp is pd.NaT else stamp.to_datetime64())
    return np.array(out, dtype="datetime64[us]")


def write_typed_dir(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """Parquet with every column in its contract type (what the simulator and most exports write).

    Such columns skip the text parser in validation and in the views; the rules must still hold.
    A NaN written as text stays a NaN (pandas would store it as a null).
    """
    path.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        typed = frame.copy()
        nulls: dict[str, np.ndarray] = {}
        for column in TABLES[name].columns:
            if column.name not in typed:
                continue
            values = typed[column.name]
            if column.kind == "timestamp":
                typed[column.name] = _utc_microseconds(values)
            elif column.kind == "float":
                nulls[column.name] = values.isna().to_numpy()
                numbers = values.astype(object).map(lambda v: float(v) if isinstance(v, str) else v)
                typed[column.name] = pd.to_numeric(numbers).astype("float64")
            elif column.kind == "int":
                typed[column.name] = pd.to_numeric(values).astype("Int64")
        table = pa.Table.from_pandas(typed, preserve_index=False)
        for column, mask in nulls.items():
            exact = pa.array(typed[column].to_numpy(), mask=mask, from_pandas=False)
            table = table.set_column(table.schema.get_field_index(column), column, exact)
        pq.write_table(table, path / f"{name}.parquet")
    return path


#: Corruptions a typed Parquet file can hold (not unparseable text, which its types rule out).
TYPED_CORRUPTIONS = [
    c
    for c in CORRUPTIONS
    if c[0] not in {"amount-not-a-number", "unparseable-timestamp"} and c[2] is not None
]


@pytest.mark.parametrize(
    ("corrupt", "file", "column", "rule"),
    [c[1:] for c in TYPED_CORRUPTIONS],
    ids=[c[0] for c in TYPED_CORRUPTIONS],
)
def test_typed_parquet_breaking_a_rule_is_caught_too(
    tmp_path: Path, corrupt, file, column, rule
) -> None:
    tables = valid_tables()
    corrupt(tables)
    data_dir = write_typed_dir(tmp_path / "data", tables)
    with pytest.raises(DataValidationError) as info:
        load(data_dir)
    problems = [(Path(p.file).name, p.column, p.rule) for p in info.value.problems]
    assert (file.replace(".csv", ".parquet"), column, rule) in problems, problems


def test_typed_parquet_directory_passes_and_reads_the_same(tmp_path: Path) -> None:
    typed = load(write_typed_dir(tmp_path / "typed", valid_tables()))
    text = load(write_dir(tmp_path / "text", valid_tables()))
    for table in ("customers", "orders", "events", "sms", "loyalty", "loyalty_events"):
        assert typed.frame(table).equals(text.frame(table)), table
