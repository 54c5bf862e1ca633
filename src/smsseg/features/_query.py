"""The cut-off, the checks on it, and the functions that turn declarations into DuckDB SQL.

A :class:`Context` also owns the per-customer aggregates that several families share (the orders
aggregate feeds RFM, BTYD and the open cart; the events aggregate feeds browse, cart and category
views): each is computed in one pass over its table, kept as a DuckDB temporary table for the
duration of the build, and dropped by :meth:`Context.close`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from smsseg.data.load import Dataset
from smsseg.errors import SmssegError
from smsseg.features.catalogue import AggregateQuery, Feature
from smsseg.timeutil import parse_as_of  # noqa: F401  (the one as-of parser, re-exported)

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Context:
    """What every feature query needs: the data, the cut-off and the horizon.

    The horizon is the churn / BTYD horizon the features are built for; the seasonal features
    look at the same calendar window a year earlier (``{horizon_days}`` in their SQL).
    """

    data: Dataset
    as_of: pd.Timestamp
    horizon_days: int
    tables: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def literal(self) -> str:
        """The cut-off as a DuckDB ``TIMESTAMP`` literal (naive UTC, microseconds)."""
        return timestamp_literal(self.as_of)

    def sql(self, template: str) -> str:
        """``template`` with ``{as_of}`` (the cut-off literal) and ``{horizon_days}`` filled in."""
        return template.replace("{as_of}", self.literal).replace(
            "{horizon_days}", str(int(self.horizon_days))
        )

    def present(self, requirement: str) -> bool:
        """Whether ``table``, ``table.column`` or any of ``a|b`` was supplied by the user."""
        return any(self._present_one(part) for part in requirement.split("|"))

    def _present_one(self, item: str) -> bool:
        table, _, column = item.partition(".")
        if not self.data.has(table):
            return False
        return not column or self.data.has_column(table, column)

    def satisfied(self, requires: tuple[str, ...]) -> bool:
        return all(self.present(r) for r in requires)

    def relation(self, name: str, select: Callable[[Context], str]) -> str:
        """A temporary table holding ``select(self)``, created on first use (one pass per build)."""
        if name not in self.tables:
            table = f"_smsseg_{self.tag}_{name}"
            try:
                self.data.con.execute(f"CREATE TEMP TABLE {table} AS {select(self)}")
            except duckdb.ConversionException as exc:
                raise SmssegError(self._conversion_message(name, exc)) from None
            self.tables[name] = table
        return self.tables[name]

    def _conversion_message(self, name: str, exc: duckdb.ConversionException) -> str:
        """What to tell the user when DuckDB cannot cast a value while computing ``name``.

        Unvalidated data breaking the contract (a NaN amount, say) gets here, and so would a
        bug in a feature's SQL (a 0 * log 0 reaching a ``DECIMAL``): the message blames the
        data only when it was not validated, and asks for a bug report when it was.
        """
        first = str(exc).strip().splitlines()[0]
        head = f"the {name} features could not be computed ({first})"
        report = (
            f"please report it with the as-of date ({self.as_of}) and the failing feature "
            f"family ({name})"
        )
        if _validated(self.data):
            return f"{head}; the data passed validation, so this is a bug in smsseg: {report}"
        return (
            f"{head}; the data was not validated (--no-validate / validate=False): run "
            f"`smsseg validate DIR` to see which rows break the data contract; if it passes, "
            f"this is a bug in smsseg: {report}"
        )

    def close(self) -> None:
        """Drop the temporary tables of this build."""
        for table in self.tables.values():
            self.data.con.execute(f"DROP TABLE IF EXISTS {table}")
        self.tables.clear()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _validated(data: Dataset) -> bool:
    """Whether ``data`` passed the contract checks when it was loaded (now or from the record).

    :class:`Dataset` has no flag for it, but validation always counts the rows of every table
    it checked (``customers`` at least, which is required), and a recorded pass restores those
    counts; a load with ``validate=False`` leaves them empty.
    """
    return bool(data.report.row_counts)


def timestamp_literal(ts: pd.Timestamp) -> str:
    return f"TIMESTAMP '{ts.floor('us').strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def check_horizon(horizon_days: object, name: str = "horizon_days") -> int:
    """``horizon_days`` as an int >= 1, or a :class:`SmssegError` quoting the value."""
    if (
        isinstance(horizon_days, bool)
        or not isinstance(horizon_days, int | float)
        or horizon_days != int(horizon_days)
    ):
        raise SmssegError(f"{name}={horizon_days!r} must be a whole number >= 1")
    if horizon_days < 1:
        raise SmssegError(f"{name}={horizon_days!r} must be >= 1")
    return int(horizon_days)


def make_context(data: Dataset, as_of: object, horizon_days: object = 90) -> Context:
    """Check the arguments and the cut-off against the data; the context every family runs in."""
    ts = parse_as_of(as_of)
    horizon = check_horizon(horizon_days)
    first = data.con.execute("SELECT MIN(created_at) FROM customers").fetchone()[0]
    if first is None:
        raise SmssegError(
            "the customers table has no rows; there is nobody to compute features for"
        )
    if ts < pd.Timestamp(first):
        raise SmssegError(
            f"as_of='{ts}' is before the first customer was created ({pd.Timestamp(first)}); "
            "as_of must be on or after the first customers.created_at"
        )
    return Context(data, ts, horizon)


def computed(ctx: Context, query: AggregateQuery) -> list[Feature]:
    """The query's SQL-computed features whose inputs the user supplied."""
    return [f for f in query.features if (f.agg or f.expr) and ctx.satisfied(f.requires)]


def aggregate_sql(ctx: Context, query: AggregateQuery) -> str:
    """``SELECT customer_id, <aggregates> FROM rows GROUP BY customer_id``, then the expressions.

    The outer SELECT relies on DuckDB's lateral column aliases, so an expression may use a
    feature or helper declared before it.
    """
    features = computed(ctx, query)
    inner = [f"{h.agg} AS {h.name}" for h in query.helpers]
    inner += [f"{f.agg} AS {f.name}" for f in features if f.agg is not None]
    outer = [h.name for h in query.helpers]
    for f in features:
        outer.append(f"{f.expr} AS {f.name}" if f.expr is not None else f.name)
    return ctx.sql(
        f"SELECT customer_id, {', '.join(outer)} FROM ("
        f"SELECT customer_id, {', '.join(inner)} FROM ({query.rows}) AS source_rows "
        "GROUP BY customer_id) AS per_customer"
    )


def exact_sum(expr: str, where: str | None = None, scale: int = 9) -> str:
    """SQL for ``SUM(expr)`` (``FILTER (WHERE where)``) that gives the same bits on every run.

    DuckDB adds doubles in parallel and in no fixed order, so a ``DOUBLE`` sum over many row
    groups can differ in its last bits from one run to the next. Each term is rounded to
    ``10**-scale`` and added as a ``DECIMAL``, which is exact, then read back as a double: the
    same data always gives the same features. NULL when no term is (as ``SUM``).

    ``expr`` must be finite or NULL on *every* row, also on rows ``where`` leaves out: DuckDB
    computes an aggregate's argument before it applies the ``FILTER``, and NaN or infinity
    cannot be cast to a ``DECIMAL``. Guard a term that can be undefined inside ``expr``
    (``CASE WHEN w > 0 THEN w * log2(w) END``), not in ``where``.
    """
    filtered = f" FILTER (WHERE {where})" if where else ""
    return f"CAST(SUM(CAST({expr} AS DECIMAL(38, {scale}))){filtered} AS DOUBLE)"


def exact_avg(expr: str, where: str | None = None, scale: int = 9) -> str:
    """SQL for ``AVG(expr)`` with :func:`exact_sum`'s guarantee (NULL when no term is)."""
    filtered = f" FILTER (WHERE {where})" if where else ""
    return f"({exact_sum(expr, where, scale)} / NULLIF(COUNT({expr}){filtered}, 0))"


def days_between(later: pd.Timestamp, earlier: pd.Series) -> pd.Series:
    """Fractional days from each timestamp in ``earlier`` to ``later``."""
    return (later - pd.to_datetime(earlier)).dt.total_seconds() / SECONDS_PER_DAY
