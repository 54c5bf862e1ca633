"""The features step: one row of point-in-time features per customer as of an instant."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from smsseg import config
from smsseg._io import write_parquet
from smsseg.errors import SmssegError
from smsseg.pipeline._types import PathLike, Progress, report_step
from smsseg.timeutil import parse_as_of

if TYPE_CHECKING:
    from smsseg.provenance import RowsAfter

#: Keeps a million-customer build under ~4 GB of RAM (DuckDB's own default is 80% of RAM).
DEFAULT_MEMORY_LIMIT = "2GB"


@dataclass(frozen=True)
class FeaturesOutput:
    """The feature table, where it was written (``None``: not written), the rows after as-of."""

    frame: pd.DataFrame
    path: Path | None
    rows_after: RowsAfter


def text_columns(frame: pd.DataFrame) -> list[str]:
    """The index and the string / category columns: the only ones Parquet dictionary-encodes.

    Dictionary pages pay off for repeated labels (country, segment); on the ~100 float and count
    columns they only cost time (a third of the write on a million customers).
    """
    text = [
        name
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)
    ]
    return [frame.index.name or "__index_level_0__", *text]


def features(
    data: PathLike,
    as_of: object,
    out: PathLike | None = None,
    *,
    horizon_days: int = config.DEFAULT_HORIZON_DAYS,
    top_k: int = 10,
    categories: list[str] | None = None,
    validate: bool = True,
    btyd: bool = True,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    progress: Progress = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> FeaturesOutput:
    """Build the features of every customer of ``data`` as of ``as_of``; write them to ``out``.

    Parameters
    ----------
    data : directory of contract tables.
    as_of : the instant (see :func:`smsseg.timeutil.parse_as_of`); no later row is read.
    out : a ``.parquet`` file (with provenance metadata), or ``None`` to only return the frame.
    horizon_days : horizon of the BTYD predictions.
    top_k, categories : the category vector (``categories`` fixes it, overriding ``top_k``).
    validate : check the data contract first.
    btyd : fit BG/NBD + Gamma-Gamma for the ``btyd_*`` columns.
    memory_limit : DuckDB's memory limit; beyond it DuckDB spills to its temp directory.
    progress : called with each feature family's name (see :data:`smsseg.features.STEPS`).
    engine, spark_master : ``duckdb`` (default) or ``spark`` (``docs/spark.md``), and the Spark
        master (default ``$SPARK_MASTER``, else ``local[*]``; an active session is reused).

    Raises
    ------
    SmssegError
        A bad ``as_of``, ``out``, ``top_k`` or ``memory_limit``, or data that breaks the contract.
    """
    import duckdb

    from smsseg.data.load import connect
    from smsseg.features import build_features
    from smsseg.provenance import for_data, rows_after
    from smsseg.spark.engine import check_engine, load_data

    stamp = parse_as_of(as_of, "--as-of")
    check_engine(engine)
    if out is not None and Path(out).suffix != ".parquet":
        raise SmssegError(f"--out={str(out)!r} must be a .parquet file")
    if top_k < 1:
        raise SmssegError(f"--top-k={top_k} must be >= 1")
    try:
        con = connect(memory_limit=memory_limit)
    except duckdb.Error as exc:
        raise SmssegError(
            f"--memory-limit={memory_limit!r} is not a DuckDB memory size (e.g. 3GB): {exc}"
        ) from None
    try:
        report_step(progress, "load")
        dataset = load_data(data, engine, spark_master, validate=validate, con=con)
        frame = build_features(
            dataset,
            stamp,
            horizon_days=horizon_days,
            top_k=top_k,
            categories=categories,
            btyd=btyd,
            progress=progress,
        )
        after = rows_after(dataset, stamp)  # counted before the connection closes
    finally:
        con.close()
    path = None
    if out is not None:
        provenance = for_data("features", stamp, data)
        path = write_parquet(
            frame, out, use_dictionary=text_columns(frame), metadata=provenance.to_metadata()
        )
    return FeaturesOutput(frame, path, after)
