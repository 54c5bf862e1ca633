"""`smsseg features`: orders-only and full directories (Parquet and CSV), `--list`, bad arguments."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import smsseg.cli.features  # noqa: F401  (registers the command until the lead wires it in)
from smsseg.cli.app import app
from smsseg.features import FEATURES, feature_catalogue
from smsseg.features.registry import output_features
from tests.features.hand import AS_OF, hand_tables, orders_only_tables
from tests.features.histories import random_tables

runner = CliRunner()

ORDER_FAMILIES = {"rfm", "dynamics"}


def write_dir(tables: dict[str, pd.DataFrame], root: Path, fmt: str = "parquet") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.to_parquet(root / f"{name}.parquet", index=False)
        else:
            frame.to_csv(root / f"{name}.csv", index=False)
    return root


def run(*args: str):
    return runner.invoke(app, ["features", *args])


@pytest.mark.parametrize(
    ("fmt", "minimal"),
    [("parquet", False), ("csv", False), ("parquet", True)],
    ids=["parquet", "csv", "parquet-required-columns-only"],
)
def test_orders_only_directory(tmp_path, fmt, minimal):
    data = write_dir(orders_only_tables(minimal), tmp_path / "data", fmt)
    out = tmp_path / "features.parquet"
    result = run("--data", str(data), "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert list(frame.index) == ["A", "B", "C", "E"]
    # without a status column every order counts as completed (the contract's default)
    assert frame.loc["A", "frequency"] == (4 if minimal else 3)
    assert frame.loc["A", "rfm_segment"] == (
        "Loyal" if minimal else "Champions"
    )  # A: R3, FM5 when o4 counts
    assert frame["sms_opted_in"].isna().all() and frame["loyalty_member"].isna().all()
    assert frame["product_views_7d"].isna().all() and frame["open_cart"].isna().all()
    assert frame["cat_spend_share__other"].isna().all()
    # discount features need discount_amount / promo_code: present unless minimal
    assert frame["discount_order_share"].isna().all() == minimal
    assert frame["promo_period_order_share"].isna().all()


def test_full_directory_gives_the_full_catalogue(tmp_path):
    tables = random_tables(seed=11, n_customers=60)
    data = write_dir(tables, tmp_path / "data")
    out = tmp_path / "features.parquet"
    result = run("--data", str(data), "--as-of", "2025-04-01", "--out", str(out), "--top-k", "3")
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    categories = [
        c.replace("cat_spend_share__", "") for c in frame if c.startswith("cat_spend_share__")
    ]
    assert len(categories) == 4  # top 3 + other
    assert frame.attrs["as_of"] == "2025-04-01T00:00:00" and len(frame.attrs["categories"]) == 3
    assert list(frame.columns) == [f.name for f in output_features(frame.attrs["categories"])]
    declared = {f.name for f in FEATURES if not f.template}
    assert declared <= set(frame.columns)
    empty = [c for c in frame.columns if frame[c].isna().all()]
    assert empty == [], f"features that are NA for everybody on a full directory: {empty}"


@pytest.mark.filterwarnings("ignore")  # BTYD on four customers warns; the comparison is the point
def test_output_equals_the_python_api(tmp_path):
    from smsseg.data import load
    from smsseg.features import build_features

    data = write_dir(hand_tables(), tmp_path / "data")
    out = tmp_path / "f.parquet"
    assert (
        run("--data", str(data), "--as-of", AS_OF, "--out", str(out), "--top-k", "2").exit_code == 0
    )
    expected = build_features(load(data), AS_OF, top_k=2)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected, check_exact=False, rtol=1e-9)


def test_list_prints_the_catalogue_from_the_declarations():
    result = run("--list")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split("\t") == ["name", "dtype", "source", "window", "family", "description"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[0] for r in rows] == feature_catalogue()["name"].tolist()
    recency = next(r for r in rows if r[0] == "recency_days")
    assert recency[1:5] == ["float", "orders", "all history", "rfm"]
    assert any(r[0] == "cat_spend_share__<category>" for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", AS_OF], "missing --data"),
        (["--as-of", "2025-13-45"], "--as-of='2025-13-45' is not a date or timestamp"),
        (["--as-of", "2020-01-01"], "before the first customer"),
        (["--as-of", AS_OF, "--horizon-days", "0"], "horizon_days=0 must be >= 1"),
        (["--as-of", AS_OF, "--top-k", "0"], "--top-k=0 must be >= 1"),
        (
            ["--as-of", AS_OF, "--memory-limit", "lots"],
            "--memory-limit='lots' is not a DuckDB memory size",
        ),
    ],
    ids=["no-data", "bad-date", "before-first-customer", "horizon-0", "top-k-0", "memory-limit"],
)
def test_bad_arguments_exit_1_with_a_message(tmp_path, args, message):
    data = write_dir(orders_only_tables(), tmp_path / "data")
    out = tmp_path / "f.parquet"
    full = args if "missing" in message else ["--data", str(data), *args]
    result = run(*full, "--out", str(out))
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_out_must_be_parquet(tmp_path):
    data = write_dir(orders_only_tables(), tmp_path / "data")
    result = run("--data", str(data), "--as-of", AS_OF, "--out", str(tmp_path / "f.csv"))
    assert result.exit_code == 1 and "must be a .parquet file" in result.output


def test_invalid_data_is_reported_not_featurized(tmp_path):
    tables = orders_only_tables()
    tables["orders"] = tables["orders"].assign(amount=-1.0)
    data = write_dir(tables, tmp_path / "data")
    result = run("--data", str(data), "--as-of", AS_OF, "--out", str(tmp_path / "f.parquet"))
    assert result.exit_code == 1 and "amount" in result.output


def test_unvalidated_nan_amount_is_a_clear_error_not_a_traceback(tmp_path):
    tables = hand_tables()
    tables["orders"] = tables["orders"].astype({"amount": "float64"})
    tables["orders"].loc[0, "amount"] = float("nan")
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if name == "orders":  # from_pandas stores NaN as null; put the NaN back
            amount = pa.array(frame["amount"].to_numpy(), from_pandas=False)
            table = table.set_column(table.schema.get_field_index("amount"), "amount", amount)
        pq.write_table(table, data / f"{name}.parquet")
    out = tmp_path / "features.parquet"
    result = run("--data", str(data), "--as-of", AS_OF, "--out", str(out), "--no-validate")
    assert result.exit_code == 1
    assert "smsseg validate" in result.output and "Traceback" not in result.output
    assert not out.exists()
    validated = run("--data", str(data), "--as-of", AS_OF, "--out", str(out))
    assert validated.exit_code == 1 and "rule: finite" in validated.output.replace("\n", " ")
