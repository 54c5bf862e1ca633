"""Small synthetic frames with a known answer, shared by the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification


def classification_frame(
    n: int = 3000, seed: int = 0, weights=(0.7,)
) -> tuple[pd.DataFrame, np.ndarray]:
    """``make_classification`` with named columns and one string column that carries signal."""
    X, y = make_classification(
        n, n_features=6, n_informative=4, weights=list(weights), random_state=seed
    )
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    rng = np.random.default_rng(seed)
    # "segment" is 'hot' for most positives: a categorical feature the model must learn to use
    hot = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
    frame["segment"] = pd.Series(
        np.where(hot == 1, "hot", np.where(rng.uniform(size=n) < 0.5, "cold", "warm")), dtype="str"
    )
    frame.loc[frame.index[:20], "segment"] = None
    return frame, y


def uplift_frame(
    n: int = 6000, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Randomized test with a planted heterogeneous effect: +0.25 where a > 0 and kind == 'u'."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    X["kind"] = pd.Series(rng.choice(["u", "v"], n), dtype="str")
    tau = 0.25 * ((X["a"] > 0) & (X["kind"] == "u")).to_numpy() + 0.05 * (X["a"] > 0).to_numpy()
    base = 1 / (1 + np.exp(-(X["b"].to_numpy() - 1)))
    t = rng.integers(0, 2, n)
    y = (rng.uniform(size=n) < np.clip(base + t * tau, 0, 1)).astype(int)
    return X, t, y, tau
