"""Atomic file and directory writes: a failed command never leaves a partial output behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` only on success.

    Works for files and directories: whatever the caller creates at the yielded path replaces
    ``target`` in one rename (an existing directory is replaced as a whole).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp = tmp_dir / target.name
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to the temporary path for {target}")
        if target.is_dir() and not target.is_symlink():
            backup = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def write_parquet(
    df: pd.DataFrame,
    target: str | os.PathLike,
    *,
    metadata: Mapping[str, str] | None = None,
    **kwargs,
) -> Path:
    """Write ``df`` to Parquet atomically and return the path.

    Parameters
    ----------
    df, target : the frame and the file to write.
    metadata : key-value pairs added to the file's schema metadata (e.g. the provenance of
        :mod:`smsseg.provenance`); read back with ``pyarrow.parquet.read_schema(path).metadata``.
    **kwargs : as for :meth:`pandas.DataFrame.to_parquet` (pyarrow engine).
    """
    with atomic_path(target) as tmp:
        if metadata:
            _to_parquet_with_metadata(df, tmp, metadata, **kwargs)
        else:
            df.to_parquet(tmp, **kwargs)
    return Path(target)


def _to_parquet_with_metadata(
    df: pd.DataFrame,
    path: Path,
    metadata: Mapping[str, str],
    *,
    index: bool | None = None,
    compression: str | None = "snappy",
    **kwargs,
) -> None:
    """What ``DataFrame.to_parquet`` does (pandas metadata, ``attrs``), plus ``metadata``.

    pandas has no argument for schema metadata, so the Arrow table is built here the way it
    builds it, and the keys are merged into the schema before writing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, **({} if index is None else {"preserve_index": index}))
    merged = dict(table.schema.metadata or {})
    if df.attrs:  # pandas keeps DataFrame.attrs in the file; read_parquet restores them
        merged[b"PANDAS_ATTRS"] = json.dumps(df.attrs).encode()
    merged.update({str(k).encode(): str(v).encode() for k, v in metadata.items()})
    pq.write_table(table.replace_schema_metadata(merged), path, compression=compression, **kwargs)


def write_csv(df: pd.DataFrame, target: str | os.PathLike, **kwargs) -> Path:
    """Write ``df`` to CSV atomically and return the path."""
    kwargs.setdefault("index", False)
    with atomic_path(target) as tmp:
        df.to_csv(tmp, **kwargs)
    return Path(target)


def write_text(text: str, target: str | os.PathLike) -> Path:
    """Write text atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
