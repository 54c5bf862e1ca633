"""The same data gives the same features, bit for bit, however DuckDB splits the work."""

from __future__ import annotations

import warnings

import pandas as pd
import pyarrow.parquet as pq
import pytest

from smsseg.data import load
from smsseg.data.load import connect
from smsseg.data.simulator import generate
from smsseg.features import build_features

AS_OF = "2025-07-01"


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    """A simulated shop re-written in row groups of 2,000 rows: DuckDB then scans in parallel."""
    source = tmp_path_factory.mktemp("sim") / "data"
    generate(source, n_customers=2500, seed=11)
    target = tmp_path_factory.mktemp("chunked")
    for path in source.glob("*.parquet"):
        pq.write_table(pq.read_table(path), target / path.name, row_group_size=2_000)
    return target


def _build(root, threads: int) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        con = connect(threads=threads)
        return build_features(load(root, validate=False, con=con), AS_OF)


def test_one_thread_and_four_threads_give_identical_features(chunked):
    one, four = _build(chunked, 1), _build(chunked, 4)
    assert one.shape == four.shape and len(one) > 1500
    differing = [c for c in one.columns if not one[c].equals(four[c])]
    assert differing == []
