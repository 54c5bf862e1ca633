"""The product catalogue: categories, products sorted by price, stock-outs and restocks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

CATEGORIES = (
    "apparel", "shoes", "accessories", "beauty", "home",
    "kitchen", "electronics", "sports", "toys", "books",
)  # fmt: skip
CATEGORY_POPULARITY = np.array([0.2, 0.12, 0.1, 0.12, 0.1, 0.08, 0.08, 0.08, 0.06, 0.06])
PRICE_MEDIAN = np.array([45.0, 80.0, 30.0, 25.0, 40.0, 35.0, 150.0, 50.0, 25.0, 15.0])
EXTRA_UNITS = np.array([0.1, 0.05, 0.1, 0.5, 0.2, 0.3, 0.02, 0.1, 0.2, 0.3])  # Poisson mean
PRODUCTS_PER_CATEGORY = 200
MAX_STOCKOUTS = 3


@dataclass(frozen=True)
class Catalog:
    """Products are numbered category-major and sorted by price within a category."""

    price: np.ndarray  # (n_products,) list price
    out_start: np.ndarray  # (n_products, MAX_STOCKOUTS) stock-out start days (inf: unused)
    out_end: np.ndarray  # (n_products, MAX_STOCKOUTS) restock days
    product_id: pa.Array
    category_name: pa.Array
    out_grid: np.ndarray  # (n_products, hours) True while out of stock

    @property
    def n_products(self) -> int:
        return self.price.size

    def product_index(self, category: np.ndarray, rank: np.ndarray) -> np.ndarray:
        return category * PRODUCTS_PER_CATEGORY + rank

    def out_of_stock(self, product: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Whether ``product`` is out of stock at ``t`` (stock changes on the hour)."""
        hour = np.clip((np.asarray(t) * 24).astype(np.int64), 0, self.out_grid.shape[1] - 1)
        return self.out_grid[product, hour]

    def restock_after(self, product: np.ndarray, t: np.ndarray) -> np.ndarray:
        """When an out-of-stock product comes back (inf when it is in stock at ``t``)."""
        start, end = self.out_start[product], self.out_end[product]
        covering = (start <= t[:, None]) & (t[:, None] < end)
        return np.where(covering, end, np.inf).min(axis=1)

    def frame(self, n_days: int, start: pd.Timestamp) -> pd.DataFrame:
        """products.parquet: stock state at the end of the period (its last second, the
        ``snapshot_at``) and the last restock."""
        now = np.full(self.n_products, n_days - 1e-6)
        ended = np.where(self.out_end < n_days, self.out_end, -np.inf).max(axis=1)
        restocked = pd.Series(
            start + pd.to_timedelta(np.where(np.isfinite(ended), ended, np.nan), unit="D")
        )
        return pd.DataFrame(
            {
                "product_id": self.product_id.to_pylist(),
                "category": np.repeat(np.array(CATEGORIES), PRODUCTS_PER_CATEGORY),
                "in_stock": ~self.out_of_stock(np.arange(self.n_products), now),
                "restocked_at": restocked.dt.as_unit("us"),
                "snapshot_at": start + pd.Timedelta(days=n_days) - pd.Timedelta(seconds=1),
            }
        )


def build_catalog(seed: int, n_days: int) -> Catalog:
    rng = np.random.default_rng([seed, 0xCA7])
    n_cat = len(CATEGORIES)
    log_price = np.log(PRICE_MEDIAN)[:, None] + 0.5 * rng.standard_normal(
        (n_cat, PRODUCTS_PER_CATEGORY)
    )
    price = np.maximum(np.round(np.sort(np.exp(log_price), axis=1), 0), 2.0) - 0.01
    n_prod = n_cat * PRODUCTS_PER_CATEGORY
    count = np.minimum(rng.poisson(1.2, n_prod), MAX_STOCKOUTS)
    start = np.sort(rng.uniform(0, n_days, (n_prod, MAX_STOCKOUTS)), axis=1)
    length = 1.0 + rng.exponential(12.0, (n_prod, MAX_STOCKOUTS))
    # stock-outs may not overlap: each one starts after the previous restock
    end = start + length
    for j in range(1, MAX_STOCKOUTS):
        start[:, j] = np.maximum(start[:, j], end[:, j - 1] + 1.0)
        end[:, j] = start[:, j] + length[:, j]
    used = np.arange(MAX_STOCKOUTS)[None, :] < count[:, None]
    start = np.where(used, np.floor(start * 24) / 24, np.inf)  # restocks happen on the hour
    end = np.where(used, np.floor(end * 24) / 24, np.inf)
    ids = [f"P{i + 1:05d}" for i in range(n_prod)]
    hours = np.arange(n_days * 24) / 24.0
    grid = np.zeros((n_prod, hours.size), dtype=bool)
    for j in range(MAX_STOCKOUTS):
        lo = np.searchsorted(hours, start[:, j])
        hi = np.searchsorted(hours, end[:, j])
        for p in np.flatnonzero(hi > lo):
            grid[p, lo[p] : hi[p]] = True
    return Catalog(
        price=price.ravel(),
        out_start=start,
        out_end=end,
        product_id=pa.array(ids),
        category_name=pa.array(CATEGORIES),
        out_grid=grid,
    )
