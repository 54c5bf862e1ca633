"""The population LEFT JOINs every family's per-customer result, in SQL.

Why in DuckDB and not pandas: aligning a dozen frames of a million string-indexed rows in
pandas (reindex, isin, fill) took longer than computing the features. Here each family is a
:class:`Part` (a per-customer relation and the features it provides); the population LEFT JOINs
each part, in customer order, and each feature's SQL says what a customer without rows in the
source gets: the feature's declared ``fill`` (0 orders, not opted in), or NA. Features of a table
the user did not supply are typed NULLs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from smsseg.data.contract import DUCKDB_TYPES
from smsseg.features._query import Context
from smsseg.features.catalogue import Feature

#: The contract kind each feature dtype is stored as (the DuckDB types are the contract's).
FEATURE_KINDS = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "string",
    "category": "string",
}


@dataclass(frozen=True)
class Part:
    """A per-customer relation (one row per customer with source rows) and what it provides.

    Parameters
    ----------
    alias : SQL alias of the relation in the assembly query.
    relation : a table name or a parenthesised SELECT with a ``customer_id`` column.
    features : the output features read from it (columns of the same name).
    requires : tables / columns the whole part needs (else all its features are NA).
    extra : further columns passed through to pandas (helpers of derived features).
    """

    alias: str
    relation: str
    features: tuple[Feature, ...]
    requires: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"unsupported fill value {value!r}")


def feature_sql(ctx: Context, part: Part, feature: Feature) -> str:
    """The SELECT item of one feature of one part."""
    if not (ctx.satisfied(part.requires) and ctx.satisfied(feature.requires)):
        return f"CAST(NULL AS {DUCKDB_TYPES[FEATURE_KINDS[feature.dtype]]}) AS {feature.name}"
    column = f"{part.alias}.{feature.name}"
    if feature.fill is None:
        return f"{column} AS {feature.name}"
    return (
        f"CASE WHEN {part.alias}.customer_id IS NULL THEN {_literal(feature.fill)} "
        f"ELSE {column} END AS {feature.name}"
    )


def part_sql(ctx: Context, population: Part, part: Part) -> str:
    """One part's features for every customer of the population, in ``customer_id`` order.

    Parts are fetched one at a time (rather than one wide join) so that only one part's result
    is held by DuckDB while pandas receives it: a million-customer build stays within ~4 GB.
    """
    pop = population.alias
    items = [feature_sql(ctx, part, f) for f in part.features]
    items += [f"{part.alias}.{column} AS {column}" for column in part.extra]
    if part is population:
        return f"SELECT {pop}.customer_id, {', '.join(items)} FROM {part.relation} AS {pop} ORDER BY {pop}._row"
    return (
        f"SELECT {', '.join(items)} FROM {population.relation} AS {pop} "
        f"LEFT JOIN {part.relation} AS {part.alias} ON {part.alias}.customer_id = {pop}.customer_id "
        f"ORDER BY {pop}._row"
    )


def population_sql(select: str) -> str:
    """The population relation: ``select`` (one row per customer) plus ``_row``, its rank by id."""
    return f"SELECT *, row_number() OVER (ORDER BY customer_id) - 1 AS _row FROM ({select}) AS population"


#: Arrow → pandas types on fetch: integers and booleans straight into the nullable dtypes the
#: catalogue declares (``Int64``, ``boolean``), so nothing is converted twice.
_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def fetch_arrow(ctx: Context, sql: str) -> pd.DataFrame:
    """``sql``'s result as pandas, through Arrow.

    Why not ``.df()``: DuckDB's pandas conversion builds Python objects for every string and
    takes about twice as long as its Arrow export, whose strings pandas 3 keeps Arrow-backed.
    """
    table = ctx.data.con.sql(sql).to_arrow_table()
    return table.to_pandas(types_mapper=_NULLABLE.get)


def fetch_parts(ctx: Context, population: Part, parts: list[Part]) -> pd.DataFrame:
    """Every part's columns side by side, indexed by ``customer_id`` (sorted)."""
    columns: dict[str, object] = {}
    for part in (population, *parts):
        frame = fetch_arrow(ctx, part_sql(ctx, population, part))
        columns.update({name: frame[name].array for name in frame.columns})
    index = pd.Index(columns.pop("customer_id"), name="customer_id")
    # copy=False: no consolidation of the columns into blocks (it would copy them all)
    return pd.DataFrame(columns, index=index, copy=False)
