"""Training on a seeded sample of customers: reproducible, whole customers, recorded."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from smsseg.data.sample import choose_customers, sample_customers
from tests.models.conftest import AS_OF, SETTINGS


def _ids(data) -> list[str]:
    return sorted(data.frame("customers")["customer_id"].astype(str))


def test_same_seed_same_customers_other_seed_others(dataset):
    first = _ids(sample_customers(dataset, 300, seed=3))
    assert len(first) == 300
    assert first == _ids(sample_customers(dataset, 300, seed=3))
    assert first != _ids(sample_customers(dataset, 300, seed=4))
    # the draw does not depend on the order the ids come in
    ids = np.array(_ids(dataset))
    np.testing.assert_array_equal(
        choose_customers(ids, 50, 9), choose_customers(ids[::-1].copy(), 50, 9)
    )


def test_sampled_customers_keep_every_row_of_theirs(dataset):
    sample = sample_customers(dataset, 250, seed=1)
    chosen = set(_ids(sample))
    orders = dataset.frame("orders")
    mine = orders[orders["customer_id"].astype(str).isin(chosen)]
    got = sample.frame("orders")
    assert len(got) == len(mine) > 0
    assert set(got["order_id"]) == set(mine["order_id"])
    items = dataset.frame("order_items")
    assert len(sample.frame("order_items")) == int(items["order_id"].isin(mine["order_id"]).sum())
    events = dataset.frame("events")
    assert len(sample.frame("events")) == int(events["customer_id"].astype(str).isin(chosen).sum())
    # tables without customers are kept whole
    assert len(sample.frame("products")) == len(dataset.frame("products"))


def test_small_data_is_not_sampled_and_bad_n_refused(dataset):
    assert sample_customers(dataset, 10**6, seed=1) is dataset
    with pytest.raises(ValueError, match="n=0 customers to sample must be >= 1"):
        sample_customers(dataset, 0, seed=1)


def test_training_records_its_sample(dataset):
    from smsseg.models.train import train_models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = train_models(dataset, AS_OF, replace(SETTINGS, max_customers=600))
    sample = result.bundle.meta["training_sample"]
    assert sample["sampled"] and sample["customers"] == 600 and sample["customers_total"] == 1200
    assert any("seeded sample of 600 of 1,200 customers" in n for n in result.notes)
    assert result.snapshots.index.astype(str).nunique() <= 600
