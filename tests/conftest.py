"""Session-wide test settings."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_validation_cache(tmp_path_factory):
    """Validation records go to a per-session directory, never the user's ~/.cache."""
    previous = os.environ.get("SMSSEG_CACHE_DIR")
    os.environ["SMSSEG_CACHE_DIR"] = str(tmp_path_factory.mktemp("smsseg-cache"))
    yield
    if previous is None:
        os.environ.pop("SMSSEG_CACHE_DIR", None)
    else:
        os.environ["SMSSEG_CACHE_DIR"] = previous
