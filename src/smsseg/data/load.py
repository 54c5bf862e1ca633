"""Loading a data directory: the single entry point later stages use.

A :class:`Dataset` is a DuckDB connection with one typed view per contract table, reading the
Parquet/CSV files in place (out of core). Absent optional tables and absent optional columns are
present as empty / NULL-typed views, so every later stage's SQL runs on any valid directory;
``Dataset.has(name)`` tells what the user really supplied.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from smsseg.data import validation_cache
from smsseg.data.contract import FILE_SUFFIXES, TABLES, TableSpec
from smsseg.data.validation import (
    DataValidationError,
    Problem,
    ValidationReport,
    foreign_key_problems,
    now_utc,
    quote,
    source_types,
    validate_table,
    view_expr,
)

log = logging.getLogger(__name__)

#: Files a data directory may hold beside the tables without a warning.
KNOWN_EXTRA_FILES = {"truth", "README"}

#: Values that a missing optional column or cell means (documented in the contract).
COLUMN_DEFAULTS = {
    ("orders", "status"): "'completed'",
    ("orders", "discount_amount"): "0.0",
}


def connect(
    threads: int | None = None, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection configured for the contract (UTC session time zone)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB spills to ./.tmp by default: keep spill files out of the user's working tree
    spill = Path(tempfile.gettempdir()) / "smsseg-duckdb"
    con.execute(f"SET temp_directory = {_sql_string(str(spill))}")
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        # inside Jupyter DuckDB refuses any progress-bar setting without ipywidgets; it draws none then
        pass
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def raw_source(path: Path) -> str:
    """SQL relation over one file. CSV is read as text so that parsing errors are ours to report."""
    if path.suffix == ".parquet":
        return f"read_parquet({_sql_string(str(path))})"
    return (
        f"read_csv({_sql_string(str(path))}, header = true, all_varchar = true, auto_detect = true)"
    )


def discover(root: Path) -> tuple[dict[str, Path], list[Problem], list[Problem]]:
    """Map table names to files in ``root``; problems for missing / ambiguous / unknown files."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    if not root.is_dir():
        return (
            {},
            [Problem(str(root), None, "directory_exists", "data directory does not exist")],
            [],
        )
    found: dict[str, list[Path]] = {}
    for path in sorted(root.iterdir()):
        if path.is_file() and path.suffix in FILE_SUFFIXES:
            found.setdefault(path.stem, []).append(path)
    files: dict[str, Path] = {}
    for name, paths in found.items():
        if name not in TABLES:
            if name not in KNOWN_EXTRA_FILES:
                warnings.append(
                    Problem(
                        paths[0].name,
                        None,
                        "known_tables",
                        "file is not a contract table and is ignored",
                    )
                )
            continue
        if len(paths) > 1:
            names = " and ".join(p.name for p in paths)
            errors.append(
                Problem(
                    names,
                    None,
                    "one_file_per_table",
                    f"table '{name}' is given twice; keep one file",
                )
            )
            continue
        files[name] = paths[0]
    for spec in TABLES.values():
        if (
            spec.required
            and spec.name not in files
            and not any(spec.name in p.file for p in errors)
        ):
            errors.append(
                Problem(
                    str(root / f"{spec.name}.parquet"),
                    None,
                    "required_table",
                    f"required table '{spec.name}' is missing (give {spec.name}.parquet or {spec.name}.csv)",
                )
            )
    return files, errors, warnings


def typed_select(spec: TableSpec, source: str, present: Mapping[str, str]) -> str:
    """SELECT reading each contract column in its type; absent columns are typed NULLs.

    ``present`` maps the source's column names to their DuckDB types.
    """
    parts = []
    for col in spec.columns:
        expr = view_expr(col, present.get(col.name))
        if (spec.name, col.name) in COLUMN_DEFAULTS:
            expr = f"COALESCE({expr}, {COLUMN_DEFAULTS[spec.name, col.name]})"
        parts.append(f"{expr} AS {quote(col.name)}")
    return f"SELECT {', '.join(parts)} FROM {source}"


class Dataset:
    """Validated tables of one data directory (or of in-memory frames), as DuckDB views.

    Parameters
    ----------
    con : the DuckDB connection holding one view per contract table.
    present : table name → where it came from (file path or ``"<frame>"``), for supplied tables.
    root : the data directory, when loaded from files.
    report : what validation found.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        present: Mapping[str, str],
        root: Path | None = None,
        report: ValidationReport | None = None,
        columns: Mapping[str, tuple[str, ...]] | None = None,
    ):
        self.con = con
        self.present = dict(present)
        self.root = root
        self.report = report or ValidationReport()
        self._columns = dict(columns or {})

    def has(self, table: str) -> bool:
        """Whether the user supplied ``table`` (absent optional tables are empty views)."""
        if table not in TABLES:
            raise KeyError(f"unknown table {table!r}; contract tables: {', '.join(TABLES)}")
        return table in self.present

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` was supplied with ``column`` (absent columns are typed NULLs)."""
        return column in self._columns.get(table, ())

    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        return self.con.sql(query)

    def frame(self, table: str) -> pd.DataFrame:
        """The whole typed table as pandas (for small tables; big ones stay in DuckDB)."""
        self.has(table)
        return self.con.sql(f"SELECT * FROM {table}").df()

    @property
    def row_counts(self) -> dict[str, int]:
        return {
            name: self.con.execute(f"SELECT COUNT(*) FROM {name}").fetchall()[0][0]
            for name in self.present
        }

    def describe(self) -> str:
        where = str(self.root) if self.root else "in-memory frames"
        return f"Dataset({where}: {', '.join(self.present)})"

    __repr__ = describe


def _build(
    con,
    sources: dict[str, str],
    labels: dict[str, str],
    validate: bool,
    now: datetime | None,
    root: Path | None,
) -> Dataset:
    report = ValidationReport()
    now = now or now_utc()
    types: dict[str, dict[str, str]] = {}
    failed: set[str] = set()
    for name, source in sources.items():
        try:
            types[name] = source_types(con, source)
        except duckdb.Error:
            types[name] = {}
        if validate:
            errors, warnings, n = validate_table(
                con, TABLES[name], source, labels[name], now, types[name]
            )
            report.errors += errors
            report.warnings += warnings
            report.row_counts[name] = n
            if errors:
                failed.add(name)
    if validate:
        report.errors += foreign_key_problems(con, sources, labels, failed, types)
        if report.errors:
            raise DataValidationError(report.errors)
        for warning in report.warnings:
            log.warning(warning.render())
    for spec in TABLES.values():
        source = sources.get(spec.name, "(SELECT 1 WHERE false)")
        select = typed_select(spec, source, types.get(spec.name, {}))
        con.execute(f"CREATE OR REPLACE VIEW {spec.name} AS {select}")
    columns = {name: tuple(t) for name, t in types.items()}
    return Dataset(con, {n: labels[n] for n in sources}, root=root, report=report, columns=columns)


def load(
    path: str | Path,
    *,
    validate: bool = True,
    now: datetime | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    reuse_validation: bool = True,
) -> Dataset:
    """Load and validate a data directory.

    Parameters
    ----------
    path : directory with ``<table>.parquet`` or ``<table>.csv`` files (see ``docs/data-contract.md``).
    validate : run the contract checks (default). Turn off only for data validated before.
    now : the moment after which timestamps count as "in the future" (default: the clock, UTC).
    con : an existing DuckDB connection to register the views on.
    reuse_validation : when the table files are byte-identical to ones that passed validation
        before (see :mod:`smsseg.data.validation_cache`), reuse that result instead of checking
        again. Only with the clock as ``now``.

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        With one :class:`~smsseg.data.validation.Problem` per broken rule (file, column, rule,
        example rows).

    Example
    -------
    >>> data = load("demo/data")  # doctest: +SKIP
    >>> data.con.execute("SELECT COUNT(*) FROM orders").fetchall()  # doctest: +SKIP
    """
    root = Path(path)
    files, errors, warnings = discover(root)
    if errors:
        raise DataValidationError(errors)
    for warning in warnings:
        log.warning(warning.render())
    con = con or connect()
    sources = {name: raw_source(files[name]) for name in TABLES if name in files}
    labels = {name: files[name].name for name in sources}
    # fingerprint before checking: a file changed meanwhile then fails the next lookup
    key = validation_cache.directory_key(files) if validate and now is None else None
    checked_at = now or now_utc()
    recorded = validation_cache.lookup(root, key, checked_at) if key and reuse_validation else None
    dataset = _build(con, sources, labels, validate and recorded is None, checked_at, root)
    if recorded is not None:
        log.info("%s: unchanged since it passed validation; not checked again", root)
        for warning in recorded.warnings:
            log.warning(warning.render())
        dataset.report = recorded
    elif key is not None:
        validation_cache.record(root, key, dataset.report, checked_at)
    dataset.report.warnings = warnings + dataset.report.warnings
    return dataset


def truncate(data: Dataset, as_of: datetime | pd.Timestamp) -> Dataset:
    """A copy of ``data`` holding only rows dated on or before ``as_of`` (for backtests).

    Rows of a table with a time column (:attr:`TableSpec.time_column`) are kept when that time is
    ``<= as_of``; order lines follow their orders; undated tables (products) are kept whole. The
    copy lives in memory (Arrow) on its own connection, with the same supplied columns, so every
    stage run on it provably cannot read a later row. Snapshot-only columns (a loyalty balance, a
    stock flag) still describe the export time: see docs/data-contract.md.
    """
    from smsseg.timeutil import parse_as_of

    stamp = parse_as_of(as_of)
    literal = f"TIMESTAMP '{stamp.floor('us').isoformat(sep=' ')}'"
    con = connect()
    sources, labels = {}, {}
    for name in data.present:
        spec = TABLES[name]
        columns = ", ".join(f"t.{quote(c)}" for c in data._columns.get(name, spec.column_names))
        if spec.time_column:
            where = f"WHERE t.{quote(spec.time_column)} <= {literal}"
        elif name == "order_items":
            where = (
                f"WHERE t.order_id IN (SELECT order_id FROM orders WHERE ordered_at <= {literal})"
            )
        else:
            where = ""
        table = data.con.sql(f"SELECT {columns} FROM {name} AS t {where}").to_arrow_table()
        con.register(f"_raw_{name}", table)
        sources[name] = f"_raw_{name}"
        labels[name] = f"{data.present[name]} (to {stamp.isoformat()})"
    out = _build(con, sources, labels, False, None, None)
    out.report = data.report
    return out


def load_frames(
    tables: Mapping[str, pd.DataFrame], *, validate: bool = True, now: datetime | None = None
) -> Dataset:
    """Build a :class:`Dataset` from pandas frames (tests, notebooks); same checks as :func:`load`."""
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise KeyError(f"unknown table(s) {unknown}; contract tables: {', '.join(TABLES)}")
    missing = [s.name for s in TABLES.values() if s.required and s.name not in tables]
    if missing:
        raise DataValidationError(
            [
                Problem(f"{m} (frame)", None, "required_table", f"required table '{m}' is missing")
                for m in missing
            ]
        )
    con = connect()
    sources = {}
    for name in TABLES:
        if name in tables:
            con.register(f"_raw_{name}", tables[name])
            sources[name] = f"_raw_{name}"
    labels = {name: f"{name} (frame)" for name in sources}
    return _build(con, sources, labels, validate, now, None)


def validate_dir(path: str | Path, *, now: datetime | None = None) -> ValidationReport:
    """Validate a directory without raising: the report lists errors and warnings.

    Always checks (an explicit validation is never answered from the record), and records a pass.
    """
    try:
        dataset = load(path, now=now, reuse_validation=False)
    except DataValidationError as exc:
        report = ValidationReport(errors=exc.problems)
        _, _, warnings = discover(Path(path))
        report.warnings = warnings
        return report
    return dataset.report
