"""DuckDB SQL → Spark SQL: the one translation the Spark engine needs.

Every query smsseg runs is generated in DuckDB's dialect from the declarations (the feature
catalogue, the data contract). The Spark engine runs the *same* generated SQL, transpiled by
`sqlglot <https://sqlglot.com>`_ (the translator Ibis uses). sqlglot's stock DuckDB → Spark
translation is right for almost every construct (``FILTER`` clauses, ``arg_min`` → ``MIN_BY``,
``UNNEST(generate_series())`` → ``EXPLODE(SEQUENCE())``, ``GROUPING SETS``, lateral column
aliases, which Spark ≥ 3.4 resolves too); the few places where it is not, or where the two engines'
semantics differ, are fixed here, each with its reason:

- ``epoch(ts)``: sqlglot writes ``UNIX_TIMESTAMP``, which drops the fraction of a second; DuckDB's
  ``epoch`` keeps it. Written as ``DOUBLE(UNIX_MICROS(ts)) / 1000000``.
- A literal with a decimal point (``1.0``) is a ``DECIMAL`` in both engines, but Spark keeps
  decimal arithmetic decimal (``AVG(1.0)`` is rounded to a few digits) where DuckDB turns it into
  ``DOUBLE``: such literals are read as ``DOUBLE``. Explicit ``DECIMAL`` casts (the exact sums)
  stay as they are.
- ``epoch_us(ts)``: Spark's name is ``UNIX_MICROS``.
- ``TIMESTAMP`` means a naive UTC time in DuckDB; sqlglot maps it to Spark's ``TIMESTAMP_NTZ``.
  The engine runs with the session time zone UTC and reads every time column as Spark's
  ``TIMESTAMP``, so the literals and casts stay ``TIMESTAMP`` (``TIMESTAMPTZ`` too: it is UTC).
- ``HUGEINT`` (exact sums of squared microsecond gaps) has no Spark type; ``DECIMAL(38, 0)`` holds
  the same integers exactly.
- A row constructor ``(a, b)`` ordering ``arg_max`` is a ``STRUCT`` in Spark.
- ``ROUND(x, n)`` of a double: DuckDB rounds the double's exact binary value, Spark its shortest
  decimal form; on a value like 71.0303125 (stored as 71.03031249999...) they differ in the last
  place, and the BG/NBD fit with them. Written to round as the installed DuckDB does (DuckDB 1.x
  rounds ``x * 10^n`` instead: :data:`DUCKDB_ROUNDS_EXACT_VALUE`).
- ``isfinite(x)`` does not exist in Spark: ``NOT (isnan(x) OR abs(x) = infinity)``.
- ``... GROUP BY ... HAVING ... ORDER BY <aggregate>``: Spark cannot resolve an aggregate in an
  ``ORDER BY`` above a ``HAVING``; the aggregate is computed in a subquery and ordered on outside.
- ``row_number() OVER ()`` (the file row of a validation example) needs an order in Spark: the
  raw tables carry their read position in :data:`POSITION_COLUMN`.
"""

from __future__ import annotations

from functools import lru_cache

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark

#: Column holding each raw row's position in its file (the validation examples' row numbers).
POSITION_COLUMN = "_smsseg_position"


class SmssegSpark(Spark):
    """Spark's dialect with DuckDB's ``TIMESTAMP`` (naive UTC) kept as Spark's ``TIMESTAMP``."""

    class Generator(Spark.Generator):
        TYPE_MAPPING = {
            **Spark.Generator.TYPE_MAPPING,
            exp.DataType.Type.TIMESTAMP: "TIMESTAMP",
            exp.DataType.Type.TIMESTAMPTZ: "TIMESTAMP",
            exp.DataType.Type.TIMESTAMPNTZ: "TIMESTAMP",
            exp.DataType.Type.INT128: "DECIMAL(38, 0)",
        }


#: DuckDB 2 rounds a double's exact binary value; DuckDB 1.x rounds ``x * 10^n`` half away from
#: zero (71.0303125 to 6 places: 71.030312 on DuckDB 2, 71.030313 on 1.4). The translation
#: follows the DuckDB installed beside it, the one the DuckDB engine runs on.
DUCKDB_ROUNDS_EXACT_VALUE = int(duckdb.__version__.split(".")[0]) >= 2

# DuckDB 2 rounds a double's exact binary value (71.0303125 is stored as 71.03031249999...: 6
# places give 71.030312); Spark's ROUND rounds its shortest decimal form (71.030313). Emulated
# with double arithmetic only: y = x * 10^n, and the exact rounding error of that product
# (Dekker's two-product with Veltkamp splits) settles the half-way cases.
_SPLIT = 134217729.0  # 2^27 + 1
_ROUND_TEMPLATE = """
CASE WHEN __y__ - FLOOR(__y__) = 0.5 AND __err__ < 0 THEN FLOOR(__y__)
     WHEN __y__ - FLOOR(__y__) = 0.5 AND __err__ > 0 THEN CEIL(__y__)
     ELSE ROUND(__y__) END / __m__
"""


def _veltkamp(value: str) -> tuple[str, str]:
    c = f"({_SPLIT!r} * {value})"
    high = f"({c} - ({c} - {value}))"
    return high, f"({value} - {high})"


def _round_like_duckdb(x: exp.Expression, places: int) -> exp.Expression:
    m = float(10**places)
    m_high, m_low = _veltkamp(repr(m))
    x_high, x_low = _veltkamp("__x__")
    y = f"(__x__ * {m!r})"
    err = f"((({x_high} * {m_high} - {y}) + {x_high} * {m_low} + {x_low} * {m_high}) + {x_low} * {m_low})"
    text = _ROUND_TEMPLATE.replace("__y__", y).replace("__err__", err).replace("__m__", repr(m))
    tree = sqlglot.parse_one(text, read="spark")
    tree = tree.transform(
        lambda n: x.copy() if isinstance(n, exp.Column) and n.name == "__x__" else n
    )
    # doubles all through: no decimal literals
    tree = tree.transform(
        lambda n: (
            exp.Cast(this=n.copy(), to=exp.DataType.build("DOUBLE"))
            if isinstance(n, exp.Literal) and n.is_number and "." in n.this
            else n
        )
    )
    return exp.Paren(this=tree)


def _order_after_having(select: exp.Select) -> exp.Expression:
    """``SELECT a ... HAVING h ORDER BY agg(x) LIMIT n`` as an ordered query over a subquery."""
    order = select.args.get("order")
    if not (
        select.args.get("having") and order and any(o.find(exp.AggFunc) for o in order.expressions)
    ):
        return select
    inner = select.copy()
    inner.set("order", None)
    inner.set("limit", None)
    names = [e.alias_or_name for e in select.expressions]
    keys = []
    for i, ordered in enumerate(order.expressions):
        if ordered.this.find(exp.AggFunc):
            alias = f"_smsseg_order_{i}"
            inner.select(exp.alias_(ordered.this.copy(), alias), copy=False)
            keys.append(
                exp.Ordered(
                    this=exp.column(alias),
                    desc=ordered.args.get("desc"),
                    nulls_first=ordered.args.get("nulls_first"),
                )
            )
        else:
            keys.append(ordered.copy())
    outer = exp.select(*names).from_(
        exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_smsseg_sorted")))
    )
    outer.set("order", exp.Order(expressions=keys))
    if select.args.get("limit"):
        outer.set("limit", select.args["limit"].copy())
    return outer


def _rewrite(node: exp.Expression) -> exp.Expression:
    """The DuckDB constructs whose stock translation is missing or means something else."""
    if (
        isinstance(node, exp.Literal)
        and node.is_number
        and "." in node.this
        and not isinstance(node.parent, exp.DataTypeParam)
    ):
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    if isinstance(node, exp.TimeToUnix) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "epoch"
    ):
        arg = node.this if isinstance(node, exp.TimeToUnix) else node.expressions[0]
        return exp.Paren(
            this=exp.Div(
                this=exp.Cast(
                    this=exp.Anonymous(this="UNIX_MICROS", expressions=[arg.copy()]),
                    to=exp.DataType.build("DOUBLE"),
                ),
                expression=exp.Literal.number("1000000"),
            )
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
        return exp.Anonymous(this="UNIX_MICROS", expressions=[e.copy() for e in node.expressions])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "isfinite":
        x = node.expressions[0]
        return exp.Paren(
            this=exp.Not(
                this=exp.Paren(
                    this=exp.Or(
                        this=exp.Anonymous(this="isnan", expressions=[x.copy()]),
                        expression=exp.EQ(
                            this=exp.Abs(this=x.copy()),
                            expression=exp.Cast(
                                this=exp.Literal.string("Infinity"),
                                to=exp.DataType.build("DOUBLE"),
                            ),
                        ),
                    )
                )
            )
        )
    if isinstance(node, exp.ArgMax | exp.ArgMin) and isinstance(node.expression, exp.Tuple):
        node.set(
            "expression", exp.Struct(expressions=[e.copy() for e in node.expression.expressions])
        )
        return node
    if isinstance(node, exp.Select):
        return _order_after_having(node)
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        places = int(node.args["decimals"].name)
        if DUCKDB_ROUNDS_EXACT_VALUE:
            return _round_like_duckdb(node.this, places)
        scale = exp.Cast(this=exp.Literal.number(10**places), to=exp.DataType.build("DOUBLE"))
        return exp.Paren(
            this=exp.Div(
                this=exp.Round(this=exp.Mul(this=node.this.copy(), expression=scale)),
                expression=scale.copy(),
            )
        )
    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, exp.RowNumber)
        and not node.args.get("order")
        and not node.args.get("partition_by")
    ):
        node.set("order", exp.Order(expressions=[exp.Ordered(this=exp.column(POSITION_COLUMN))]))
        return node
    return node


@lru_cache(maxsize=4096)
def to_spark(sql: str) -> str:
    """``sql`` (DuckDB dialect, as smsseg generates it) as Spark SQL.

    Example
    -------
    >>> to_spark("SELECT epoch(ts) FROM t")
    'SELECT (CAST(UNIX_MICROS(ts) AS DOUBLE) / 1000000) FROM t'
    """
    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_rewrite).sql(dialect=SmssegSpark)
