"""Validation of a data directory against the contract, run in DuckDB.

Why not pandera: pandera validates a materialised pandas frame, and our inputs reach tens of
millions of event rows; the checks below are generated from the same :mod:`contract`
declarations and run as one out-of-core DuckDB pass per table, so a 50M-row events file is
validated without being loaded into memory.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

import duckdb

from smsseg.data.contract import TABLES, Column, TableSpec
from smsseg.errors import SmssegError

MAX_EXAMPLES = 5
E164 = r"^\+[1-9][0-9]{6,14}$"
ISO_COUNTRY = r"^[A-Z]{2}$"


@dataclass(frozen=True)
class Problem:
    """One failed (or warned) rule, with up to five example rows."""

    file: str
    column: str | None
    rule: str
    message: str
    count: int = 0
    examples: tuple[str, ...] = ()

    def render(self) -> str:
        where = f"{self.file}" + (f", column '{self.column}'" if self.column else "")
        text = f"{where}: {self.message} [rule: {self.rule}]"
        if self.count:
            text += f" — {self.count:,} row(s)"
        if self.examples:
            text += "; e.g. " + "; ".join(self.examples)
        return text + "."


class DataValidationError(SmssegError, ValueError):
    """Raised when a data directory breaks the contract; carries every :class:`Problem`."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


@dataclass
class ValidationReport:
    """What validation found: errors (fatal), warnings (not fatal) and the table row counts."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


@cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def mask_phone(value: object) -> str:
    """Hide all but the country-code prefix and last two digits of a phone number."""
    text = str(value)
    if len(text) <= 5:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 5) + text[-2:]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def typed_expr(col: Column, raw: str | None = None) -> str:
    """SQL turning the raw column into the contract type (NULL where it cannot be parsed).

    Timestamps with an offset are converted to UTC; naive ones are taken as UTC (the connection
    runs with ``TimeZone='UTC'``); the result is a naive UTC ``TIMESTAMP``.
    """
    raw = raw or quote(col.name)
    if col.kind == "timestamp":
        return f"(TRY_CAST({raw} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
    if col.kind == "string":
        # no TRIM: the loaded views do not trim either, so validation checks what stages read
        return f"NULLIF(CAST({raw} AS VARCHAR), '')"
    return f"TRY_CAST({raw} AS {col.duckdb_type})"


def view_expr(col: Column, source_type: str | None) -> str:
    """SQL reading one column in its contract type, as cheaply as the source type allows.

    A column already stored in its contract type is passed through: re-parsing a 66M-row
    Parquet timestamp column as TIMESTAMPTZ on every scan made feature builds ~5x slower.
    Text (CSV, or strings where numbers belong) goes through the full parser of
    :func:`typed_expr`.
    """
    if source_type is None:
        return f"CAST(NULL AS {col.duckdb_type})"
    raw = quote(col.name)
    if source_type == col.duckdb_type and col.kind != "string":
        return raw  # naive TIMESTAMP means UTC; numbers and booleans need nothing
    if col.kind == "string" and source_type == "VARCHAR":
        return f"NULLIF({raw}, '')"  # no trim (doubled scan time)
    return typed_expr(col)


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _column_checks(col: Column, now: datetime, source_type: str) -> list[tuple[str, str, str]]:
    """(rule, SQL condition that marks a bad row, message) for one present column.

    The checks read the column as the views do (:func:`view_expr`); a column already stored in
    its contract type cannot fail to parse, so it gets no parse check.
    """
    raw, typed = quote(col.name), view_expr(col, source_type)
    checks: list[tuple[str, str, str]] = []
    if col.required:
        checks.append(
            ("not_null", f"{typed} IS NULL AND {raw} IS NULL", "required value is missing")
        )
    if col.kind != "string" and typed != raw:
        checks.append(
            (
                f"type_{col.kind}",
                f"{raw} IS NOT NULL AND {typed} IS NULL",
                f"value cannot be parsed as {col.kind}"
                + (" (ISO-8601 expected)" if col.kind == "timestamp" else ""),
            )
        )
    if col.kind == "float":
        # NaN and infinity parse as doubles but are not amounts; sums and models cannot use them
        checks.append(
            ("finite", f"{typed} IS NOT NULL AND NOT isfinite({typed})", "value is NaN or infinite")
        )
    if col.allowed:
        checks.append(
            (
                "allowed_values",
                f"{typed} IS NOT NULL AND {typed} NOT IN ({_sql_list(col.allowed)})",
                "unknown value; allowed: " + ", ".join(col.allowed),
            )
        )
    if col.min_value is not None:
        checks.append(("min_value", f"{typed} < {col.min_value}", f"value below {col.min_value:g}"))
    if col.max_value is not None:
        checks.append(("max_value", f"{typed} > {col.max_value}", f"value above {col.max_value:g}"))
    if col.kind == "timestamp" and not col.allow_future:
        stamp = now.strftime("%Y-%m-%d %H:%M:%S")
        checks.append(
            (
                "not_in_future",
                f"{typed} > TIMESTAMP '{stamp}'",
                f"timestamp lies in the future (after {stamp} UTC)",
            )
        )
    return checks


def _reason(exc: duckdb.Error) -> str:
    """DuckDB's error in one line: its first line and, if any, the line that says why.

    ``CSV Error on Line: 5`` alone does not say why. The ``Original Line`` DuckDB quotes is left
    out: it may hold a phone number.
    """
    lines = [line.strip() for line in str(exc).strip().splitlines()]
    why = next(
        (
            line
            for line in lines[1:]
            if line and not line.startswith(("Original Line", "Possible", "file =", "*"))
        ),
        "",
    )
    return f"{lines[0]}: {why}" if why else lines[0]


def _examples(
    con,
    source: str,
    spec: TableSpec,
    col: str | None,
    cond: str,
    present: Collection[str],
    mask: bool = False,
) -> tuple[str, ...]:
    """Up to :data:`MAX_EXAMPLES` rows matching ``cond``: row number, key and ``col``.

    Only columns the file has are shown: a misspelled key (``cusotmer_id``) is reported as
    missing on its own, and must not turn every other problem of the file into a SQL error; nor
    must a rule over an absent optional column (read as NULL).
    """
    shown = [c for c in spec.key if c != col and c in present]
    if col and col in present:
        shown.append(col)
    select = "".join(f", {quote(c)}" for c in shown)
    rows = con.execute(
        f"SELECT _row{select} FROM (SELECT row_number() OVER () AS _row, * FROM {source}) "
        f"WHERE {cond} ORDER BY _row LIMIT {MAX_EXAMPLES}"
    ).fetchall()
    out = []
    for row in rows:
        values = []
        for name, value in zip(shown, row[1:], strict=True):
            value = mask_phone(value) if mask and name == "phone" and value is not None else value
            values.append(f"{name}={value!r}")
        out.append(f"row {row[0]}" + (": " + ", ".join(values) if values else ""))
    return tuple(out)


def validate_table(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    source: str,
    label: str,
    now: datetime,
    types: Mapping[str, str] | None = None,
) -> tuple[list[Problem], list[Problem], int]:
    """Check one table; ``source`` is a SQL relation over its raw data. Returns errors, warnings, rows.

    ``types`` maps the source's columns to their DuckDB types (default: described here).
    """
    errors: list[Problem] = []
    warnings: list[Problem] = []
    try:
        types = dict(types) if types else source_types(con, source)
        present = list(types)
        n_rows = con.execute(f"SELECT COUNT(*) FROM {source}").fetchall()[0][0]
    except duckdb.Error as exc:
        return [Problem(label, None, "readable", f"file cannot be read ({_reason(exc)})")], [], 0

    missing = [c for c in spec.required_columns if c not in present]
    for name in missing:
        errors.append(
            Problem(
                label,
                name,
                "required_column",
                f"required column is missing (columns found: {', '.join(present)})",
            )
        )
    extra = [c for c in present if c not in spec.column_names]
    if extra:
        warnings.append(
            Problem(label, ", ".join(extra), "known_columns", "unknown extra column(s) are ignored")
        )
    if n_rows == 0:
        target = errors if spec.required else warnings
        target.append(Problem(label, None, "not_empty", "table has no rows"))
        return errors, warnings, 0

    checks: list[tuple[str, str, str, str]] = []
    for col in spec.columns:
        if col.name in present:
            checks += [
                (col.name, rule, cond, msg)
                for rule, cond, msg in _column_checks(col, now, types[col.name])
            ]
    if checks:
        counts = con.execute(
            "SELECT " + ", ".join(f"count_if({c[2]})" for c in checks) + f" FROM {source}"
        ).fetchall()[0]
        for (name, rule, cond, msg), count in zip(checks, counts, strict=True):
            if count:
                examples = _examples(con, source, spec, name, cond, present, mask=True)
                errors.append(Problem(label, name, rule, msg, count, examples))

    bad_columns = {p.column for p in errors}
    errors += _key_problems(con, spec, source, label, types, bad_columns)
    w_phone, e_tz, w_country = _value_format_problems(con, spec, source, label, present)
    warnings += w_phone + w_country
    errors += e_tz
    errors += _row_rule_problems(con, spec, source, label, types, bad_columns)
    return errors, warnings, n_rows


def _row_rule_problems(con, spec, source, label, types, bad_columns) -> list[Problem]:
    """The table's :class:`~smsseg.data.contract.RowRule` checks, one count for all of them.

    A rule over a column that already failed (unparseable, missing while required) is skipped:
    its error says enough. An absent optional column reads as NULL, as in the views: a ledger
    without a ``points`` column has earn rows without points, which is an error.
    """
    rules = [r for r in spec.rules if not bad_columns & set(r.columns)]
    if not rules:
        return []
    conds = []
    for rule in rules:
        typed = {c: view_expr(spec.column(c), types.get(c)) for c in rule.columns}
        conds.append("(" + rule.violated.format(**typed) + ")")
    counts = con.execute(
        "SELECT " + ", ".join(f"count_if({c})" for c in conds) + f" FROM {source}"
    ).fetchall()[0]
    problems = []
    for rule, cond, count in zip(rules, conds, counts, strict=True):
        if count:
            examples = _examples(con, source, spec, rule.column, cond, list(types))
            problems.append(Problem(label, rule.column, rule.name, rule.message, count, examples))
    return problems


def _key_problems(con, spec, source, label, types, bad_columns) -> list[Problem]:
    if not spec.key or any(k not in types or k in bad_columns for k in spec.key):
        return []
    keys = ", ".join(view_expr(spec.column(k), types[k]) for k in spec.key)
    dupes = con.execute(
        f"SELECT {keys}, COUNT(*) AS n FROM {source} GROUP BY ALL HAVING COUNT(*) > 1 ORDER BY n DESC"
    ).fetchall()
    if not dupes:
        return []
    examples = tuple(
        ", ".join(f"{k}={v!r}" for k, v in zip(spec.key, row[:-1], strict=True))
        + f" appears {row[-1]} times"
        for row in dupes[:MAX_EXAMPLES]
    )
    return [
        Problem(
            label,
            ", ".join(spec.key),
            "unique_key",
            "duplicate key",
            sum(r[-1] - 1 for r in dupes),
            examples,
        )
    ]


def _value_format_problems(con, spec, source, label, present):
    phone_w, tz_e, country_w = [], [], []
    if spec.name != "customers":
        return phone_w, tz_e, country_w
    if "phone" in present:
        cond = f"phone IS NOT NULL AND NOT regexp_matches(CAST(phone AS VARCHAR), '{E164}')"
        n = con.execute(f"SELECT COUNT(*) FROM {source} WHERE {cond}").fetchall()[0][0]
        if n:
            ex = _examples(con, source, spec, "phone", cond, present, mask=True)
            phone_w.append(
                Problem(
                    label,
                    "phone",
                    "e164",
                    "phone number not in E.164; such customers are not sendable",
                    n,
                    ex,
                )
            )
    if "country" in present:
        cond = (
            f"country IS NOT NULL AND NOT regexp_matches(CAST(country AS VARCHAR), '{ISO_COUNTRY}')"
        )
        n = con.execute(f"SELECT COUNT(*) FROM {source} WHERE {cond}").fetchall()[0][0]
        if n:
            ex = _examples(con, source, spec, "country", cond, present)
            country_w.append(
                Problem(
                    label, "country", "iso_country", "country is not an ISO alpha-2 code", n, ex
                )
            )
    if "timezone" in present:
        zones = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT CAST(timezone AS VARCHAR) FROM {source} WHERE timezone IS NOT NULL"
            ).fetchall()
        ]
        unknown = sorted(z for z in zones if z not in _iana_zones())
        if unknown:
            cond = "CAST(timezone AS VARCHAR) IN (" + _sql_list(tuple(unknown)) + ")"
            n = con.execute(f"SELECT COUNT(*) FROM {source} WHERE {cond}").fetchall()[0][0]
            ex = _examples(con, source, spec, "timezone", cond, present)
            tz_e.append(
                Problem(label, "timezone", "iana_timezone", "unknown IANA time zone", n, ex)
            )
    return phone_w, tz_e, country_w


def source_types(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """Column name → DuckDB type of a SQL relation."""
    return dict(
        con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})"
        ).fetchall()
    )


def foreign_key_problems(
    con,
    sources: dict[str, str],
    labels: dict[str, str],
    skip: set[str],
    types: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Problem]:
    """Referential integrity between the present tables (skipping tables that already failed)."""
    problems = []
    for name, source in sources.items():
        spec = TABLES[name]
        for fk in spec.foreign_keys:
            if fk.ref_table not in sources or name in skip or fk.ref_table in skip:
                continue
            child_types = (types or {}).get(name) or source_types(con, source)
            parent_types = (types or {}).get(fk.ref_table) or source_types(
                con, sources[fk.ref_table]
            )
            if fk.column not in child_types or fk.ref_column not in parent_types:
                continue
            child = view_expr(spec.column(fk.column), child_types[fk.column])
            parent = view_expr(
                TABLES[fk.ref_table].column(fk.ref_column), parent_types[fk.ref_column]
            )
            cond = f"{child} NOT IN (SELECT {parent} FROM {sources[fk.ref_table]} WHERE {parent} IS NOT NULL)"
            n = con.execute(
                f"SELECT COUNT(*) FROM {source} WHERE {child} IS NOT NULL AND {cond}"
            ).fetchall()[0][0]
            if n:
                ex = _examples(con, source, spec, fk.column, cond, child_types)
                msg = f"value not found in {fk.ref_table}.{fk.ref_column}"
                problems.append(Problem(labels[name], fk.column, "foreign_key", msg, n, ex))
    return problems


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
