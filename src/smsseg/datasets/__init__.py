"""Small public datasets shipped with smsseg, for examples, tests and notebooks.

``hillstrom.csv.gz`` is Kevin Hillstrom's MineThatData E-Mail Analytics challenge (2008): 64,000
customers who bought in the past year, randomized into three equal arms — a men's merchandise
e-mail, a women's merchandise e-mail, or no e-mail — with visit, conversion and spend tracked over
the following two weeks. It is a real randomized campaign with published results, which makes it
the reference dataset for the readout (``smsseg readout --hillstrom``).

``cdnow_master.txt.gz`` is the CDNOW dataset of the buy-till-you-die literature (Fader, Hardie &
Lee 2005, "Counting your customers the easy way", Marketing Science 24(2)): every purchase from
January 1997 to June 1998 of the 23,570 customers who first bought at the online CD retailer CDNOW
in the first quarter of 1997. Real transactions only; :mod:`smsseg.datasets.cdnow` loads them and
writes them as a data directory (``smsseg datasets cdnow --out DIR``) with ``customers``,
``orders`` and ``order_items``.
"""

from __future__ import annotations

import hashlib
import io
from importlib import resources

import pandas as pd

from smsseg.datasets.cdnow import (
    CDNOW_SHA256,
    CDNOW_TABLES,
    cdnow_sha256,
    cdnow_tables,
    load_cdnow,
    write_cdnow,
)

#: SHA-256 of the uncompressed ``hillstrom.csv`` (the file as published by MineThatData).
HILLSTROM_SHA256 = "ff9e59285e9dc3f5fa3e0975419e6631ea5bdccd65d818991473d2367e02979c"

#: Published per-arm results (Hillstrom 2008): visit rate, conversion rate, spend per customer.
HILLSTROM_PUBLISHED = {
    "Mens E-Mail": {"visit": 0.1828, "conversion": 0.01253, "spend": 1.42},
    "Womens E-Mail": {"visit": 0.1514, "conversion": 0.00884, "spend": 1.08},
    "No E-Mail": {"visit": 0.1062, "conversion": 0.00573, "spend": 0.65},
}


def _hillstrom_bytes() -> bytes:
    import gzip

    packed = resources.files(__name__).joinpath("hillstrom.csv.gz").read_bytes()
    return gzip.decompress(packed)


def hillstrom_sha256() -> str:
    """SHA-256 of the shipped copy, uncompressed (compare with :data:`HILLSTROM_SHA256`)."""
    return hashlib.sha256(_hillstrom_bytes()).hexdigest()


def load_hillstrom() -> pd.DataFrame:
    """The Hillstrom e-mail experiment, one row per customer (64,000 rows).

    Columns: ``recency`` (months since last purchase), ``history_segment``, ``history``
    (past-year spend, a pre-period covariate), ``mens``, ``womens``, ``zip_code``
    (Urban / Surburban / Rural, spelled as published), ``newbie``, ``channel``, ``segment`` (the arm:
    ``Mens E-Mail`` / ``Womens E-Mail`` / ``No E-Mail``), and the outcomes ``visit``,
    ``conversion`` (0/1) and ``spend``.

    Example
    -------
    >>> df = load_hillstrom()
    >>> df.shape
    (64000, 12)
    """
    return pd.read_csv(io.BytesIO(_hillstrom_bytes()))


__all__ = [
    "CDNOW_SHA256",
    "CDNOW_TABLES",
    "HILLSTROM_PUBLISHED",
    "HILLSTROM_SHA256",
    "cdnow_sha256",
    "cdnow_tables",
    "hillstrom_sha256",
    "load_cdnow",
    "load_hillstrom",
    "write_cdnow",
]
