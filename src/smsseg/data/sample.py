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

from smsseg.data.contract import TABLES, export_time_sql
from smsseg.data.load import Dataset, _build, connect
from smsseg.data.validation import quote


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
    exported = source.execute(f"SELECT {export_time_sql()}").fetchall()[0][0]
    in_sample = "customer_id IN (SELECT customer_id FROM _sampled_ids)"
    con = connect()
    sources, labels = {}, {}
    for name in data.present:
        spec = TABLES[name]
        supplied = data._columns.get(name, spec.column_names)
        columns = ", ".join(f"t.{quote(c)}" for c in supplied)
        if spec.snapshot_columns and "snapshot_at" not in supplied and exported is not None:
            columns += f", TIMESTAMP '{pd.Timestamp(exported).isoformat(sep=' ')}' AS snapshot_at"
        if "customer_id" in spec.column_names:
            where = f"WHERE t.{in_sample}"
        elif name == "order_items":
            where = f"WHERE t.order_id IN (SELECT order_id FROM orders WHERE {in_sample})"
        else:
            where = ""
        table = source.sql(f"SELECT {columns} FROM {name} AS t {where}").to_arrow_table()
        con.register(f"_raw_{name}", table)
        sources[name] = f"_raw_{name}"
        labels[name] = f"{data.present[name]} (sample of {n:,} customers, seed {seed})"
    source.unregister("_sampled_ids")
    out = _build(con, sources, labels, False, None, None)
    out.report = data.report
    return out
