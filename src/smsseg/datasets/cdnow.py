"""The CDNOW transactions (Fader, Hardie & Lee 2005) and their conversion to the data contract.

``cdnow_master.txt.gz`` is every purchase, January 1997 to June 1998, of the 23,570 customers who
first bought at the online CD retailer CDNOW in the first quarter of 1997: 69,659 rows of customer
id, day, number of CDs and dollar value, as distributed by Fader and Hardie and shipped unchanged.
It is the reference dataset of the buy-till-you-die literature, which makes it the real-data check
of the BTYD features.

It holds transactions only. The converter writes ``customers``, ``orders`` and ``order_items``
and nothing else: there are no profiles (no phone, country or time zone, so no customer is
sendable), no browsing events, no SMS consent or sends, no loyalty, catalogue, promotions,
discounts or experiments, and no cancellations or returns. Sign-up is taken to be the first
purchase day, and an order's time of day is unknown (00:00 UTC).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg import config
from smsseg._io import atomic_path
from smsseg.data.contract import TABLES
from smsseg.errors import SmssegError

#: SHA-256 of the uncompressed ``CDNOW_master.txt`` (the file as distributed by Fader & Hardie).
CDNOW_SHA256 = "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef"

#: The tables :func:`cdnow_tables` returns and :func:`write_cdnow` writes.
CDNOW_TABLES = ("customers", "orders", "order_items")

_FILE = "cdnow_master.txt.gz"
_COLUMNS = ("customer_id", "date", "n_cds", "amount")
# Besides the contract tables, files a data directory may hold (the simulator's truth, a README):
# a directory holding only these is a dataset we may replace; anything else is someone's files.
_REPLACEABLE_STEMS = {*TABLES, "truth", "README"}
_REPLACEABLE_SUFFIXES = {".parquet", ".csv", ".md", ".txt"}


def _cdnow_bytes() -> bytes:
    packed = resources.files(__package__).joinpath(_FILE).read_bytes()
    return gzip.decompress(packed)


def cdnow_sha256() -> str:
    """SHA-256 of the shipped copy, uncompressed (compare with :data:`CDNOW_SHA256`)."""
    return hashlib.sha256(_cdnow_bytes()).hexdigest()


def load_cdnow() -> pd.DataFrame:
    """The raw CDNOW transactions, one row per line of the file, in file order (69,659 rows).

    Several rows of one customer on one day occur, as in the file; rows with a dollar value of 0
    (free items) are kept.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (str, zero-padded as in the file: ``"00001"``), ``date``
        (datetime64, the purchase day), ``n_cds`` (int, CDs bought) and ``amount`` (float,
        dollar value).

    Example
    -------
    >>> df = load_cdnow()
    >>> df.shape
    (69659, 4)
    """
    frame = pd.read_csv(
        io.BytesIO(_cdnow_bytes()),
        sep=r"\s+",
        skiprows=1,  # the header names differ from ours: " customer_id  date number_of_cds ..."
        header=None,
        names=list(_COLUMNS),
        dtype={"customer_id": str, "date": str, "n_cds": "int64", "amount": "float64"},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d").astype("datetime64[us]")
    return frame


def _check_subset(customers: object, seed: object, available: int) -> None:
    if customers is not None and (
        isinstance(customers, bool)
        or not isinstance(customers, int | np.integer)
        or not 1 <= customers <= available
    ):
        raise SmssegError(
            f"customers={customers!r} must be an integer from 1 to {available:,} "
            "(or None for all CDNOW customers)"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SmssegError(f"seed={seed!r} must be an integer >= 0")


def cdnow_tables(
    customers: int | None = None, seed: int = config.DEFAULT_SEED
) -> dict[str, pd.DataFrame]:
    """CDNOW as data-contract tables: ``customers``, ``orders`` and ``order_items``.

    One order per line of the file (same-day lines stay separate orders, as recorded; the BTYD
    summary counts purchase days, so they count once there). Only these three tables: the real
    data has no profiles, events, SMS, loyalty, catalogue, promotions or discounts.

    Parameters
    ----------
    customers : keep a random subset of this many customers, each with their whole purchase
        history (``None``: all 23,570). Order ids are those of the full data either way.
    seed : seed of that subset; the same seed keeps the same customers.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``customers``: ``customer_id``, ``created_at`` (first purchase day, 00:00).
        ``orders``: ``order_id`` (``"<customer_id>-<n>"``, n = 1, 2, ... the customer's lines in
        file order), ``customer_id``, ``ordered_at`` (the day, 00:00 naive UTC), ``amount``
        (dollar value), ``status`` (``"completed"``).
        ``order_items``: one line per order: ``order_id``, ``product_id`` (``"cd"``),
        ``category`` (``"music"``), ``quantity`` (CDs), ``unit_price`` (amount / CDs, 0 for 0 CDs).

    Raises
    ------
    SmssegError
        When ``customers`` is not between 1 and 23,570 or ``seed`` is negative.

    Example
    -------
    >>> tables = cdnow_tables(customers=500, seed=7)
    >>> tables["customers"].shape[0]
    500
    """
    raw = load_cdnow()
    ids = raw["customer_id"].unique()
    _check_subset(customers, seed, len(ids))
    # numbered on the full file, so a subset's order ids are the full data's
    raw["order_id"] = (
        raw["customer_id"] + "-" + (raw.groupby("customer_id").cumcount() + 1).astype(str)
    )
    if customers is not None:
        keep = np.random.default_rng(int(seed)).choice(ids, size=int(customers), replace=False)
        raw = raw[raw["customer_id"].isin(keep)].reset_index(drop=True)

    first = raw.groupby("customer_id", sort=False)["date"].min()
    customers_table = pd.DataFrame({"customer_id": first.index, "created_at": first.to_numpy()})
    orders = pd.DataFrame(
        {
            "order_id": raw["order_id"],
            "customer_id": raw["customer_id"],
            "ordered_at": raw["date"],
            "amount": raw["amount"],
            "status": "completed",
        }
    )
    quantity = raw["n_cds"].astype("int64")
    unit_price = np.divide(
        raw["amount"].to_numpy(),
        quantity.to_numpy(),
        out=np.zeros(len(raw)),
        where=quantity.to_numpy() > 0,
    )
    order_items = pd.DataFrame(
        {
            "order_id": raw["order_id"],
            "product_id": "cd",
            "category": "music",
            "quantity": quantity,
            "unit_price": unit_price,
        }
    )
    return {"customers": customers_table, "orders": orders, "order_items": order_items}


def _is_replaceable(directory: Path) -> bool:
    """Whether ``directory`` is absent, empty, or holds nothing but a data directory's files."""
    if not directory.exists():
        return True
    if not directory.is_dir():
        return False
    entries = list(directory.iterdir())
    return all(
        p.is_file() and p.stem in _REPLACEABLE_STEMS and p.suffix in _REPLACEABLE_SUFFIXES
        for p in entries
    ) and (not entries or any(p.stem == "customers" for p in entries))


def write_cdnow(
    out_dir: str | os.PathLike, customers: int | None = None, seed: int = config.DEFAULT_SEED
) -> Path:
    """Write the CDNOW tables to a data directory, as Parquet, atomically.

    The directory appears complete or not at all; a previous data directory at ``out_dir`` (one
    holding only contract tables, such as an earlier CDNOW or simulator output) is replaced whole.

    Parameters
    ----------
    out_dir : the data directory to (re)create.
    customers, seed : a seeded subset of customers with their whole histories, as in
        :func:`cdnow_tables` (``None``: everyone).

    Returns
    -------
    Path
        ``out_dir``, holding ``customers.parquet``, ``orders.parquet`` and ``order_items.parquet``.

    Raises
    ------
    SmssegError
        When ``out_dir`` is a file or a non-empty directory holding anything but contract tables
        (replacing it would delete someone's files), or for a bad ``customers`` / ``seed``.

    Example
    -------
    >>> write_cdnow("cdnow")  # doctest: +SKIP
    >>> from smsseg.data import load
    >>> load("cdnow").row_counts  # doctest: +SKIP
    {'customers': 23570, 'orders': 69659, 'order_items': 69659}
    """
    out = Path(out_dir)
    if not _is_replaceable(out):
        raise SmssegError(
            f"'{out}' exists and is not an smsseg data directory (it holds files other than "
            "contract tables); refusing to replace it: choose a new or empty directory"
        )
    tables = cdnow_tables(customers=customers, seed=seed)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        for name, frame in tables.items():
            # zstd as the simulator writes; no pandas index, it is not a column of the contract
            frame.to_parquet(tmp / f"{name}.parquet", index=False, compression="zstd")
    return out


__all__ = [
    "CDNOW_SHA256",
    "CDNOW_TABLES",
    "cdnow_sha256",
    "cdnow_tables",
    "load_cdnow",
    "write_cdnow",
]
