"""A directory that passed validation is not checked again until one of its files changes."""

from __future__ import annotations

import importlib
import logging
import os
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from smsseg.data import DataValidationError, load
from smsseg.data.validation_cache import FULL_HASH_BYTES, cache_dir, file_fingerprint
from tests.data.test_validation import set_cell, valid_tables, write_dir, write_typed_dir

# the module, not the function `smsseg.data.load` that shadows it in the package namespace
loading = importlib.import_module("smsseg.data.load")


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """The tables validated from here on (validation itself still runs)."""
    seen: list[str] = []
    real = loading.validate_table

    def counting(con, spec, *args, **kwargs):
        seen.append(spec.name)
        return real(con, spec, *args, **kwargs)

    monkeypatch.setattr(loading, "validate_table", counting)
    return seen


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SMSSEG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_unchanged_directory_is_not_checked_again(tmp_path, cache, checks, caplog):
    tables = valid_tables()
    tables["customers"].loc[0, "phone"] = "4155550123"  # a warning, not an error
    data_dir = write_dir(tmp_path / "data", tables)
    first = load(data_dir)
    assert "customers" in checks and list((cache / "validated").iterdir())
    checks.clear()
    with caplog.at_level(logging.WARNING):
        second = load(data_dir)
    assert checks == []
    assert second.report.row_counts == first.report.row_counts
    assert [p.render() for p in second.report.warnings] == [
        p.render() for p in first.report.warnings
    ]
    assert "E.164" in caplog.text  # the recorded warning is shown again
    assert "4155550123" not in caplog.text


def test_changed_file_is_checked_again_and_its_error_reported(tmp_path, cache, checks):
    data_dir = write_dir(tmp_path / "data", valid_tables())
    load(data_dir)
    tables = valid_tables()
    set_cell("orders", "amount", 1, -20.0)(tables)
    stat = (data_dir / "orders.csv").stat()
    write_dir(data_dir, {"orders": tables["orders"]})
    os.utime(data_dir / "orders.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # mtime restored
    checks.clear()
    with pytest.raises(DataValidationError, match="orders.csv, column 'amount'"):
        load(data_dir)
    assert "orders" in checks


def test_same_size_same_mtime_rewrite_is_caught_by_the_content_digest(tmp_path, cache):
    data_dir = write_dir(tmp_path / "data", valid_tables())
    load(data_dir)
    path = data_dir / "events.csv"
    text = path.read_text()
    stat = path.stat()
    path.write_text(text.replace("product_view", "product_vieW"))  # same size, unknown type
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    with pytest.raises(DataValidationError, match="event_type"):
        load(data_dir)


def test_failures_are_never_recorded(tmp_path, cache, checks):
    tables = valid_tables()
    set_cell("orders", "amount", 1, -20.0)(tables)
    data_dir = write_dir(tmp_path / "data", tables)
    for _ in range(2):
        with pytest.raises(DataValidationError):
            load(data_dir)
    assert checks.count("orders") == 2
    assert not (cache / "validated").exists()


def test_explicit_now_and_explicit_validate_always_check(tmp_path, cache, checks):
    from smsseg.data.load import validate_dir

    data_dir = write_dir(tmp_path / "data", valid_tables())
    load(data_dir)
    checks.clear()
    load(data_dir, now=datetime(2030, 1, 1))
    assert "orders" in checks
    checks.clear()
    assert validate_dir(data_dir).ok
    assert "orders" in checks
    checks.clear()
    load(data_dir, reuse_validation=False)
    assert "orders" in checks


def test_unreadable_record_or_unwritable_cache_is_not_an_error(
    tmp_path, cache, checks, monkeypatch
):
    data_dir = write_dir(tmp_path / "data", valid_tables())
    load(data_dir)
    for record in (cache / "validated").iterdir():
        record.write_text("{not json")
    checks.clear()
    load(data_dir)  # checked again, and recorded afresh
    assert "orders" in checks
    checks.clear()
    load(data_dir)
    assert checks == []

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    monkeypatch.setenv("SMSSEG_CACHE_DIR", str(blocked))
    assert load(data_dir).has("orders")


def test_large_parquet_is_fingerprinted_by_its_footer(tmp_path, monkeypatch):
    data_dir = write_typed_dir(tmp_path / "data", valid_tables())
    path = data_dir / "orders.parquet"
    monkeypatch.setattr("smsseg.data.validation_cache.FULL_HASH_BYTES", 0)
    before = file_fingerprint(path)
    tables = valid_tables()
    tables["orders"].loc[0, "amount"] = 51.0  # a new value: new statistics in the footer
    stat = path.stat()
    write_typed_dir(data_dir, {"orders": tables["orders"]})
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_fingerprint(path)["blake2b"] != before["blake2b"]
    assert FULL_HASH_BYTES > 0


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SMSSEG_CACHE_DIR", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv("SMSSEG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "smsseg"


def test_typed_and_text_records_do_not_mix(tmp_path, cache, checks):
    text_dir = write_dir(tmp_path / "text", valid_tables())
    typed_dir = write_typed_dir(tmp_path / "typed", valid_tables())
    load(text_dir)
    checks.clear()
    load(typed_dir)
    assert "orders" in checks  # another directory: its own record
    assert pd.Series(checks).is_unique
