"""Loading a data directory: the single entry point later stages use.

A :class:`Dataset` is a DuckDB connection with one typed view per contract table, reading the
Parquet/CSV files in place (out of core). Absent optional tables and absent optional columns are
present as empty / NULL-typed views, so every later stage's SQL runs on any valid directory;
``Dataset.has(name)`` tells what the user really supplied.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smsseg.data import validation_cache
from smsseg.data.contract import FILE_SUFFIXES, TABLES, TableSpec, export_time_sql
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
from smsseg.runtime import resolve_threads

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
    # one default for every engine (smsseg.runtime): $SMSSEG_THREADS / --threads, else all CPUs
    con.execute(f"SET threads = {resolve_threads(threads)}")
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


#: Field separators; a CSV "column" whose name holds one is a header DuckDB could not split.
_DELIMITERS = (",", ";", "\t", "|")


def header_names(path: Path, con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """The column names exactly as the file spells them (``None`` when they cannot be read).

    DuckDB renames a repeated name (``amount``, ``amount_1``), so the names come from the file:
    the Parquet schema, or the first CSV line split with the dialect DuckDB's sniffer chose.
    """
    if path.suffix == ".parquet":
        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowException, OSError):
            return None  # validate_table reports the unreadable file
    try:
        delimiter, quote = con.execute(
            f"SELECT Delimiter, Quote FROM sniff_csv({_sql_string(str(path))})"
        ).fetchone()
    except duckdb.Error:
        return None
    if len(delimiter) != 1:
        return None  # a multi-character delimiter: DuckDB's own names are all there is
    dialect = {"quotechar": quote} if len(quote) == 1 else {"quoting": csv.QUOTE_NONE}
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            names = next(csv.reader(handle, delimiter=delimiter, **dialect), [])
    except csv.Error:
        return None
    return [name.strip() for name in names]  # as DuckDB does: ' amount ' is 'amount'


def _first_ragged_line(path: Path, delimiter: str) -> str:
    """Where a CSV first has more or fewer fields than its header (no cell values: phones)."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, [])
            for row in reader:
                if row and len(row) != len(header):
                    return (
                        f"line {reader.line_num} has {len(row)} fields where the header has "
                        f"{len(header)}"
                    )
    except csv.Error as exc:
        return f"line {reader.line_num}: {exc}"
    return "the field separator could not be detected"


def _mixed_line_ends(path: Path) -> str:
    """Where a CSV switches between Windows (CRLF) and Unix (LF) line ends, or ``""``.

    DuckDB's sniffer gives up on such a file ("not possible to automatically detect the CSV
    parsing dialect") although spreadsheets read it; the fix is to save it with one kind.
    Read only when DuckDB could not sniff the file, so a large valid file is never scanned.
    """
    first = None
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                break  # the last line, without a line end
            crlf = line.endswith(b"\r\n")
            if first is None:
                first = crlf
            elif crlf != first:
                kinds = ("LF", "CRLF") if crlf else ("CRLF", "LF")
                return (
                    f"file mixes line ends: line 1 ends with {kinds[0]}, line {number} with "
                    f"{kinds[1]}; DuckDB cannot read it so, save it with one kind of line end"
                )
    return ""


def file_problems(path: Path, con: duckdb.DuckDBPyConnection) -> list[Problem]:
    """Problems of a table file as a whole, found before its rows are checked.

    An empty file; a CSV that DuckDB read as one column (a ragged row or a stray quote makes its
    sniffer give up on the separator, and every required column then looks missing although the
    header names it); a header naming a column twice (DuckDB would read the first and call the
    second ``<name>_1``, so which one a stage uses would be an accident).
    """
    label = path.name
    if path.stat().st_size == 0:
        return [
            Problem(
                label, None, "not_empty", "file is empty (0 bytes); give at least the header row"
            )
        ]
    names = header_names(path, con)
    if names is None and path.suffix == ".csv":
        mixed = _mixed_line_ends(path)
        return [Problem(label, None, "readable", mixed)] if mixed else []
    if not names:
        return []
    if path.suffix == ".csv" and len(names) == 1:
        delimiter = max(_DELIMITERS, key=names[0].count)
        if delimiter in names[0]:
            detail = _first_ragged_line(path, delimiter)
            message = f"file cannot be split into columns ({detail}); fix or remove that line"
            return [Problem(label, None, "readable", message)]
    return [
        Problem(
            label,
            name,
            "unique_column",
            f"column appears {names.count(name)} times in the header; keep one",
        )
        for name in sorted({n for n in names if names.count(n) > 1})
    ]


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
    broken: Mapping[str, list[Problem]] | None = None,
) -> Dataset:
    """Views over ``sources``, validated first when ``validate``.

    ``broken`` holds the :func:`file_problems` of tables whose files are broken as a whole:
    they are reported instead of their rows being checked, with the other tables' problems.
    """
    report = ValidationReport()
    now = now or now_utc()
    types: dict[str, dict[str, str]] = {}
    failed: set[str] = set()
    for name, source in sources.items():
        try:
            types[name] = source_types(con, source)
        except duckdb.Error:
            types[name] = {}
        if broken and broken.get(name):
            report.errors += broken[name]
            failed.add(name)
            continue
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
    if validate:
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
    checking = validate and recorded is None
    broken = {name: file_problems(files[name], con) for name in sources} if checking else None
    dataset = _build(con, sources, labels, checking, checked_at, root, broken)
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

    def keep(name: str, spec) -> str:
        if spec.time_column:
            return f"t.{quote(spec.time_column)} <= {literal}"
        if name == "order_items":
            return f"t.order_id IN (SELECT order_id FROM orders WHERE ordered_at <= {literal})"
        return ""

    return copy_rows(data, keep, f"to {stamp.isoformat()}")


def copy_rows(data: Dataset, keep, label: str) -> Dataset:
    """An in-memory copy of ``data`` with, per table, the rows that ``keep(name, spec)`` selects.

    ``keep`` returns a SQL condition on the table's rows (aliased ``t``; ``""``: every row).
    Shared by :func:`truncate` and :func:`smsseg.data.sample.sample_customers`. Snapshot-only
    columns keep the *full* export's date: without it the copy's own (earlier) export time would
    make today's values look valid in the copy. ``label`` is appended to each table's label.
    """
    exported = data.con.execute(f"SELECT {export_time_sql()}").fetchall()[0][0]
    con = connect()
    sources, labels = {}, {}
    for name in data.present:
        spec = TABLES[name]
        supplied = data._columns.get(name, spec.column_names)
        columns = ", ".join(f"t.{quote(c)}" for c in supplied)
        if spec.snapshot_columns and "snapshot_at" not in supplied and exported is not None:
            columns += f", TIMESTAMP '{pd.Timestamp(exported).isoformat(sep=' ')}' AS snapshot_at"
        condition = keep(name, spec)
        where = f"WHERE {condition}" if condition else ""
        table = data.con.sql(f"SELECT {columns} FROM {name} AS t {where}").to_arrow_table()
        con.register(f"_raw_{name}", table)
        sources[name] = f"_raw_{name}"
        labels[name] = f"{data.present[name]} ({label})"
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
    broken = {
        name: [
            Problem(labels[name], str(c), "unique_column", "column appears more than once")
            for c in dict.fromkeys(tables[name].columns[tables[name].columns.duplicated()])
        ]
        for name in sources
    }
    return _build(con, sources, labels, validate, now, None, broken if validate else None)


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
