"""A seeded sample of customers with all their rows: how ``smsseg train`` stays fast at scale.

Training stacks a dozen snapshots of every customer; on a million customers that is twelve
million feature rows (about 11 GB of float64), beyond the machine's memory, for a small gain in
ranking quality (``benchmarks/results/train_sampling.md`` measures the AUC cost of sampling
against no sampling). :func:`sample_customers` keeps a seeded random share of the
*customers* - never of rows - so each sampled customer keeps their whole history and every
point-in-time feature is computed exactly as on the full data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg.data.load import Dataset, copy_rows


def customer_count(data: Dataset) -> int:
    return int(data.con.execute("SELECT COUNT(*) FROM customers").fetchall()[0][0])


def choose_customers(ids: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` of ``ids`` drawn without replacement by ``seed``, independent of the input order."""
    distinct = np.sort(np.unique(np.asarray(ids).astype(str)))
    if n >= len(distinct):
        return distinct
    rng = np.random.default_rng(seed)
    return np.sort(distinct[rng.choice(len(distinct), size=n, replace=False)])


def sample_customers(data: Dataset, n: int, seed: int) -> Dataset:
    """A copy of ``data`` holding ``n`` seeded random customers and every row of theirs.

    Tables with a ``customer_id`` keep that customer's rows, order lines follow their orders,
    tables without customers (products, promotions) are kept whole. Snapshot-only columns keep
    the full export's date (as :func:`smsseg.data.load.truncate` does), so a sample never looks
    exported earlier than its source. The copy lives in memory (Arrow) on its own connection.
    ``data`` itself is returned when it has at most ``n`` customers.

    Raises
    ------
    ValueError
        ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"n={n} customers to sample must be >= 1")
    ids = data.con.execute("SELECT customer_id FROM customers").df()["customer_id"].to_numpy()
    if n >= len(ids):
        return data
    chosen = pd.DataFrame({"customer_id": choose_customers(ids, n, seed)})
    source = data.con
    # a registered frame is a temporary view: visible to this connection only, unregistered below
    source.register("_sampled_ids", chosen)
    in_sample = "customer_id IN (SELECT customer_id FROM _sampled_ids)"

    def keep(name: str, spec) -> str:
        if "customer_id" in spec.column_names:
            return f"t.{in_sample}"
        if name == "order_items":
            return f"t.order_id IN (SELECT order_id FROM orders WHERE {in_sample})"
        return ""  # products, promotions: shared by every customer

    try:
        return copy_rows(data, keep, f"sample of {n:,} customers, seed {seed}")
    finally:
        source.unregister("_sampled_ids")
