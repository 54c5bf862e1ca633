"""Where a command's data comes from: a local directory, a URI, or the tables of a Spark catalog.

``--data`` names one of three kinds of source:

- a local directory of contract tables (``shop/``): both engines read it;
- a URI Spark can read (``s3a://lake/shop``, ``abfss://c@acct.dfs.core.windows.net/shop``,
  ``dbfs:/shop``, ``file:/data/shop``): the Spark engine only;
- ``catalog:<database>``: the tables ``<database>.customers``, ``<database>.orders``, ... of the
  Spark session's catalog (Hive metastore, Unity Catalog: ``catalog:main.shop``): the Spark
  engine only.

DuckDB reads local files only, so the DuckDB engine refuses the other two with a message that
names ``--engine spark`` instead of failing later on a path that does not exist.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from smsseg.errors import SmssegError

#: ``--data catalog:<database>``: contract tables as tables of a Spark catalog.
CATALOG_PREFIX = "catalog:"

# A URI scheme is two characters or more, so a Windows drive letter (C:\shop) is not one.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
# Database names of a catalog: identifiers separated by dots (catalog.schema on Unity Catalog).
_DATABASE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def catalog_database(data: str | os.PathLike) -> str | None:
    """The database of a ``catalog:<database>`` source, else ``None``.

    Raises
    ------
    SmssegError
        ``catalog:`` followed by something that is not a (dotted) database name.
    """
    text = str(data)
    if not text.startswith(CATALOG_PREFIX):
        return None
    database = text[len(CATALOG_PREFIX) :].strip()
    if not _DATABASE.match(database):
        raise SmssegError(
            f"--data={text!r}: after 'catalog:' give a database of the Spark catalog, e.g. "
            "catalog:shop or catalog:main.shop (its tables customers, orders, ... are read)"
        )
    return database


def is_uri(data: str | os.PathLike) -> bool:
    """Whether ``data`` is a URI (``s3a://``, ``abfss://``, ``dbfs:/``, ``file:/``), not a path."""
    if isinstance(data, Path):
        return False
    text = str(data)
    return bool(_SCHEME.match(text)) and not text.startswith(CATALOG_PREFIX)


def is_local(data: str | os.PathLike) -> bool:
    """Whether ``data`` is a local path (what the DuckDB engine and the fingerprints read)."""
    return not is_uri(data) and catalog_database(data) is None


def local_dir(data: str | os.PathLike) -> Path:
    """``data`` as a local directory, for the DuckDB engine.

    Raises
    ------
    SmssegError
        ``data`` is a URI or a catalog source: only the Spark engine reads those.
    """
    if is_local(data):
        return Path(data)
    kind = "a Spark catalog source" if catalog_database(data) is not None else "a URI"
    raise SmssegError(
        f"--data={str(data)!r} is {kind}: the DuckDB engine reads a local directory of "
        "contract tables only; read URIs (s3a://, abfss://, dbfs:/, file:/) and catalog:<database> "
        "tables with --engine spark (docs/spark.md), or copy the tables to a local directory"
    )


def describe(data: str | os.PathLike) -> str:
    """How outputs record their source: a local directory resolved, a URI or catalog as given."""
    return str(Path(data).resolve()) if is_local(data) else str(data)
