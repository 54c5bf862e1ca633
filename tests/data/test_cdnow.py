"""The shipped CDNOW data: the file as published, the converter to the contract, the CLI, BTYD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smsseg.cli import app
from smsseg.data.load import load, validate_dir
from smsseg.datasets import (
    CDNOW_SHA256,
    cdnow_sha256,
    cdnow_tables,
    load_cdnow,
    write_cdnow,
)
from smsseg.errors import SmssegError
from smsseg.features._query import make_context
from smsseg.features.btyd import BetaGeoModel
from smsseg.features.lifetime import btyd_summary

# /work/shared/data/README.md and Fader & Hardie's distribution of CDNOW_master.txt
PUBLISHED_SHA256 = "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef"
N_TRANSACTIONS = 69_659
N_CUSTOMERS = 23_570
# Fader, Hardie & Lee (2005), BG/NBD on the 1/10th sample (2,357 customers), weeks, to 1997-09-30
FHL_2005 = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return load_cdnow()


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory) -> Path:
    return write_cdnow(tmp_path_factory.mktemp("cdnow") / "data")


def test_shipped_copy_is_the_published_file() -> None:
    assert CDNOW_SHA256 == PUBLISHED_SHA256
    assert cdnow_sha256() == PUBLISHED_SHA256


def test_raw_transactions_match_the_published_description(raw: pd.DataFrame) -> None:
    assert list(raw.columns) == ["customer_id", "date", "n_cds", "amount"]
    assert len(raw) == N_TRANSACTIONS
    assert raw["customer_id"].nunique() == N_CUSTOMERS
    assert (raw["customer_id"].str.len() == 5).all()  # zero-padded as in the file
    assert raw["customer_id"].iloc[0] == "00001"
    assert pd.api.types.is_datetime64_dtype(raw["date"])
    assert raw["n_cds"].dtype == np.int64 and raw["amount"].dtype == np.float64
    assert raw["date"].min() == pd.Timestamp("1997-01-01")
    assert raw["date"].max() == pd.Timestamp("1998-06-30")
    first = raw.groupby("customer_id")["date"].min()
    assert first.between(pd.Timestamp("1997-01-01"), pd.Timestamp("1997-03-31")).all()
    # several lines of one customer on one day, and free items (dollar value 0), both kept
    assert raw.duplicated(["customer_id", "date"]).any()
    assert (raw["amount"] == 0).sum() > 0


def test_tables_are_one_order_and_one_line_per_file_row(raw: pd.DataFrame) -> None:
    tables = cdnow_tables()
    assert set(tables) == {"customers", "orders", "order_items"}
    customers, orders, items = tables["customers"], tables["orders"], tables["order_items"]
    assert len(customers) == N_CUSTOMERS and len(orders) == len(items) == N_TRANSACTIONS
    assert orders["order_id"].is_unique
    assert orders["order_id"].iloc[:3].tolist() == ["00001-1", "00002-1", "00002-2"]
    assert (orders["ordered_at"] == raw["date"]).all()
    assert (orders["status"] == "completed").all()
    assert not {"discount_amount", "promo_code"} & set(orders.columns)
    first = orders.groupby("customer_id")["ordered_at"].min()
    assert (customers.set_index("customer_id")["created_at"] == first).all()
    assert (items["order_id"] == orders["order_id"]).all()
    assert (items["quantity"] == raw["n_cds"]).all()
    np.testing.assert_allclose(items["quantity"] * items["unit_price"], orders["amount"])


def test_written_directory_validates_loads_and_keeps_every_dollar(
    full_dir: Path, raw: pd.DataFrame
) -> None:
    report = validate_dir(full_dir)
    assert report.ok, [p.render() for p in report.errors]
    assert not report.warnings
    assert report.row_counts == {
        "customers": N_CUSTOMERS,
        "orders": N_TRANSACTIONS,
        "order_items": N_TRANSACTIONS,
    }
    data = load(full_dir)
    assert set(data.present) == {"customers", "orders", "order_items"}
    assert not data.has("sms") and not data.has("events")
    total, first, last = data.con.execute(
        "SELECT SUM(amount), MIN(ordered_at), MAX(ordered_at) FROM orders"
    ).fetchone()
    assert total == pytest.approx(raw["amount"].sum(), rel=1e-12)
    assert round(total, 2) == 2_500_315.63
    assert (first, last) == (pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30"))
    line_total = data.con.execute("SELECT SUM(quantity * unit_price) FROM order_items").fetchone()[
        0
    ]
    assert line_total == pytest.approx(total, rel=1e-9)


def test_customer_subset_is_seeded_and_keeps_whole_histories() -> None:
    full = cdnow_tables()["orders"]
    a = cdnow_tables(customers=300, seed=1)
    again = cdnow_tables(customers=300, seed=1)
    other = cdnow_tables(customers=300, seed=2)
    ids = set(a["customers"]["customer_id"])
    assert len(ids) == 300
    assert ids == set(again["customers"]["customer_id"])
    assert ids != set(other["customers"]["customer_id"])
    assert set(a["orders"]["customer_id"]) == ids
    # whole histories, under the full data's order ids
    expected = full[full["customer_id"].isin(ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(a["orders"], expected)
    assert set(a["order_items"]["order_id"]) == set(expected["order_id"])


@pytest.mark.parametrize("customers", [0, -5, N_CUSTOMERS + 1, 2.5, True])
def test_bad_subset_size_is_refused(customers) -> None:
    with pytest.raises(SmssegError, match="customers="):
        cdnow_tables(customers=customers)


def test_write_refuses_a_foreign_directory_and_replaces_a_dataset(tmp_path: Path) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "orders.parquet").write_bytes(b"mine")
    (foreign / "thesis.docx").write_bytes(b"mine too")
    with pytest.raises(SmssegError, match="refusing to replace"):
        write_cdnow(foreign, customers=50)
    assert sorted(p.name for p in foreign.iterdir()) == ["orders.parquet", "thesis.docx"]
    assert (foreign / "orders.parquet").read_bytes() == b"mine"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(SmssegError, match="refusing to replace"):
        write_cdnow(a_file, customers=50)

    # a previous data directory (here with the simulator's truth file) is replaced whole
    previous = write_cdnow(tmp_path / "data", customers=50)
    (previous / "truth.parquet").write_bytes(b"old")
    write_cdnow(previous, customers=80, seed=3)
    assert sorted(p.name for p in previous.iterdir()) == [
        "customers.parquet",
        "order_items.parquet",
        "orders.parquet",
    ]
    assert len(pd.read_parquet(previous / "customers.parquet")) == 80


def test_cli_writes_a_valid_directory(tmp_path: Path) -> None:
    out = tmp_path / "cdnow"
    result = CliRunner().invoke(
        app, ["datasets", "cdnow", "--out", str(out), "--customers", "500", "--seed", "7"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "500 customers" in text and "1997-01-" in text
    report = validate_dir(out)
    assert report.ok and report.row_counts["customers"] == 500
    expected = cdnow_tables(customers=500, seed=7)["customers"]["customer_id"]
    assert set(pd.read_parquet(out / "customers.parquet")["customer_id"]) == set(expected)


def test_cli_refuses_a_non_empty_foreign_directory(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    (out / "analysis.py").write_text("print('hello')\n")
    result = CliRunner().invoke(app, ["datasets", "cdnow", "--out", str(out)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "is not an smsseg data directory" in text and "Traceback" not in text
    assert [p.name for p in out.iterdir()] == ["analysis.py"]
    assert (out / "analysis.py").read_text() == "print('hello')\n"


def test_btyd_summary_agrees_with_the_published_calibration(full_dir: Path) -> None:
    data = load(full_dir)
    with make_context(data, "1997-09-30") as ctx:  # FHL's 39-week calibration period
        summary = btyd_summary(ctx)
    assert len(summary) == N_CUSTOMERS
    # T runs from 27 weeks (first bought 1997-03-31) to 38.86 (1997-01-01), as in FHL's sample
    assert summary["T"].min() == pytest.approx(27.0)
    assert summary["T"].max() == pytest.approx(272 / 7)
    # the 1/10th sample: 1.04 repeat purchases per customer, 60 % with none (full cohort: 1.03, 60 %)
    assert summary["frequency"].mean() == pytest.approx(1.042, rel=0.05)
    assert (summary["frequency"] == 0).mean() == pytest.approx(0.599, abs=0.03)
    model = BetaGeoModel().fit(summary)
    # The full cohort with day-granular recency is not FHL's 1/10th sample, so the parameters
    # differ by sampling noise: measured r +3.5 %, alpha +8.5 %, a -8.8 %, b -10.9 %. Within
    # +-15 % of the published values, i.e. the same model; a broken converter or summary (orders
    # dropped, same-day lines counted twice, wrong time unit) moves them far outside.
    for name, published in FHL_2005.items():
        assert model.params_[name] == pytest.approx(published, rel=0.15), name
