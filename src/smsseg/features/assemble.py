"""One SQL statement joins every family's per-customer result onto the population.

Why in DuckDB and not pandas: aligning a dozen frames of a million string-indexed rows in
pandas (reindex, isin, fill) took longer than computing the features. Here each family is a
:class:`Part` (a per-customer relation and the features it provides); the population LEFT JOINs
every part once, and each feature's SQL says what a customer without rows in the source gets:
the feature's declared ``fill`` (0 orders, not opted in), or NA. Features of a table the user did
not supply are typed NULLs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smsseg.features._query import Context
from smsseg.features.catalogue import Feature

DUCKDB_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "str": "VARCHAR",
    "category": "VARCHAR",
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
        return f"CAST(NULL AS {DUCKDB_TYPES[feature.dtype]}) AS {feature.name}"
    column = f"{part.alias}.{feature.name}"
    if feature.fill is None:
        return f"{column} AS {feature.name}"
    return (
        f"CASE WHEN {part.alias}.customer_id IS NULL THEN {_literal(feature.fill)} "
        f"ELSE {column} END AS {feature.name}"
    )


def assembly_sql(ctx: Context, population: Part, parts: list[Part]) -> str:
    """``SELECT <every feature> FROM population LEFT JOIN <each part>``.

    Unordered: sorting a hundred-column result is a large share of the query's cost, so the
    population relation carries ``_row``, each customer's rank by ``customer_id``, and the caller
    reorders the fetched rows with it (:func:`customer_order`).
    """
    items = [f"{population.alias}.customer_id", f"{population.alias}._row"]
    joins = []
    for part in (population, *parts):
        items += [feature_sql(ctx, part, f) for f in part.features]
        items += [f"{part.alias}.{column} AS {column}" for column in part.extra]
        if part is not population:
            joins.append(
                f"LEFT JOIN {part.relation} AS {part.alias} "
                f"ON {part.alias}.customer_id = {population.alias}.customer_id"
            )
    return (
        f"SELECT {', '.join(items)} FROM {population.relation} AS {population.alias} "
        + " ".join(joins)
    )


def population_sql(select: str) -> str:
    """The population relation: ``select`` (one row per customer) plus its ``_row`` rank."""
    return f"SELECT *, row_number() OVER (ORDER BY customer_id) - 1 AS _row FROM ({select}) AS population"


def customer_order(frame: pd.DataFrame) -> np.ndarray:
    """Positions that put the fetched assembly in ``customer_id`` order (by its ``_row``)."""
    return np.argsort(frame["_row"].to_numpy(), kind="stable")
