"""Shared paths and settings of the importer tests (fixtures in tests/fixtures/import/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"
#: The moment of every test import (after the newest fixture row) and the export time.
NOW = "2026-06-01"
EXPORTED_AT = "2026-02-01T00:00:00Z"
EXPORT_TIME = pd.Timestamp("2026-02-01")


def fixture(name: str) -> Path:
    return FIXTURES / name


def copy_fixture(name: str, folder: Path) -> Path:
    """A writable copy of a fixture file (to edit one cell for an error case)."""
    target = folder / name
    shutil.copy(FIXTURES / name, target)
    return target


def edit_csv(path: Path, row: int, column: str, value: str) -> Path:
    """Set one cell (row counts data rows from 0) of a CSV read as text."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return path


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def count_like(report, kind: str, fragment: str, source: str | None = None) -> int:
    """Total of the report lines of ``kind`` whose text holds ``fragment``."""
    return sum(
        line.count
        for line in report.lines
        if line.kind == kind and fragment in line.what and source in (None, line.source)
    )


def import_shop(out: Path, customers: bool = True):
    """The Shopify fixtures imported into ``out`` (the base every other source merges into)."""
    from smsseg.importers import import_shopify

    return import_shopify(
        out,
        fixture("shopify_orders.csv"),
        fixture("shopify_customers.csv") if customers else None,
        fixture("shopify_products.csv"),
        exported_at=EXPORTED_AT,
        now=NOW,
    )
