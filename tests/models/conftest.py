"""Shared, expensive fixtures: one small simulated dataset and one training run per session."""

from __future__ import annotations

import logging
import warnings

import pytest

from smsseg.models.train import TrainSettings

AS_OF = "2025-12-31"
FAST = {"n_estimators": 40, "learning_rate": 0.15}
SETTINGS = TrainSettings(
    n_jobs=1,
    n_snapshots=2,
    n_boot=20,
    churn_params=FAST,
    discount_params=FAST,
    uplift_params={"n_estimators": 30, "n_folds": 3},
    btyd_fit_sample=2000,
)


def pytest_configure(config):
    # pytest-xdist registers this marker; declare it too so `-p no:xdist` runs stay strict-clean.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory):
    from smsseg.data.simulator import generate

    out = tmp_path_factory.mktemp("sim") / "data"
    generate(out, n_customers=1200, seed=11)
    return out


@pytest.fixture(scope="session")
def dataset(sim_dir):
    from smsseg.data.load import load

    logging.disable(logging.WARNING)
    try:
        return load(sim_dir)
    finally:
        logging.disable(logging.NOTSET)


@pytest.fixture(scope="session")
def trained(dataset):
    from smsseg.models.train import train_models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return train_models(dataset, AS_OF, SETTINGS)
