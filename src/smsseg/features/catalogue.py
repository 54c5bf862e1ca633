"""Feature declarations: every feature is declared once, and everything else follows from it.

A :class:`Feature` carries its name, dtype, source table(s), window and a one-line description,
plus the SQL it is computed with (an aggregate over the source rows, or an expression over other
per-customer aggregates). The family modules declare their features with these dataclasses and
build their DuckDB queries from them; :func:`feature_catalogue` (``smsseg features --list``, the
docs) renders the same declarations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd

from smsseg._compat import TEXT_DTYPE

Dtype = Literal["int", "float", "bool", "str", "category"]

#: pandas dtype each declared dtype is materialised as (nullable, so "missing" stays missing).
PANDAS_DTYPES: dict[str, str] = {
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "str": TEXT_DTYPE,
    "category": "category",
}

#: Look-back windows (days) of the windowed features, declared once.
ORDER_WINDOWS = (30, 90, 180, 365)
BROWSE_WINDOWS = (1, 2, 7, 30)
SMS_SENT_WINDOWS = (7, 30, 90)
SMS_CLICK_WINDOWS = (30, 90)


@dataclass(frozen=True)
class Feature:
    """One per-customer feature, as of a cut-off date.

    Parameters
    ----------
    name : output column name (stable: later stages rely on it).
    dtype : declared type; see :data:`PANDAS_DTYPES` for the pandas dtype.
    source : table(s) read, e.g. ``"orders"`` or ``"orders + order_items"``.
    window : look-back window (``"30d"``), ``"all history"`` or ``"as of"`` (state at the cut-off).
    description : one line, for the catalogue and the docs.
    family : feature family (rfm, dynamics, discount, ...).
    agg : SQL aggregate over the family's source rows; ``{as_of}`` is the cut-off literal.
    expr : SQL over the per-customer aggregates (other features or helpers), for ratios.
    fill : value for customers with no rows in the source (e.g. 0 orders); ``None`` keeps NA.
    requires : tables or ``table.column`` the feature needs; ``a|b`` means either. When missing,
        the feature is NA for everybody (missing optional data never raises).
    template : the name is a pattern (``cat_spend_share__<category>``) expanded at build time.
    """

    name: str
    dtype: Dtype
    source: str
    window: str
    description: str
    family: str
    agg: str | None = None
    expr: str | None = None
    fill: object = None
    requires: tuple[str, ...] = ()
    template: bool = False

    @property
    def pandas_dtype(self) -> str:
        return PANDAS_DTYPES[self.dtype]


@dataclass(frozen=True)
class Helper:
    """A per-customer aggregate used by feature expressions (or derived features), not output itself."""

    name: str
    agg: str


@dataclass(frozen=True)
class AggregateQuery:
    """One DuckDB pass: ``rows`` (SQL with ``customer_id``, already cut at ``{as_of}``) grouped
    by customer; each feature's ``agg`` / ``expr`` becomes one output column."""

    name: str
    rows: str
    features: tuple[Feature, ...]
    helpers: tuple[Helper, ...] = ()
    requires: tuple[str, ...] = ()


def windowed(
    pattern: str,
    windows: Iterable[int],
    *,
    description: str,
    agg: str | None = None,
    expr: str | None = None,
    **kwargs,
) -> tuple[Feature, ...]:
    """Declare one feature per window: ``{w}`` in the name, description and SQL is the window.

    Example
    -------
    >>> fs = windowed("orders_{w}d", (30, 90), dtype="int", source="orders", family="dynamics",
    ...               description="Completed orders in the last {w} days.",
    ...               agg="COUNT(*) FILTER (WHERE ordered_at > {as_of} - INTERVAL {w} DAY)")
    >>> [f.name for f in fs]
    ['orders_30d', 'orders_90d']
    """

    def fill_w(text: str | None, w: int) -> str | None:
        # only {w} is substituted here; {as_of} stays a placeholder for query time
        return None if text is None else text.replace("{w}", str(w))

    return tuple(
        Feature(
            name=pattern.replace("{w}", str(w)),
            window=f"{w}d",
            description=fill_w(description, w),
            agg=fill_w(agg, w),
            expr=fill_w(expr, w),
            **kwargs,
        )
        for w in windows
    )


@dataclass
class Registry:
    """All declared features in output order, by family."""

    features: list[Feature] = field(default_factory=list)

    def add(self, features: Iterable[Feature]) -> None:
        for feature in features:
            if any(f.name == feature.name for f in self.features):
                raise ValueError(f"feature {feature.name!r} is declared twice")
            self.features.append(feature)

    def by_name(self) -> dict[str, Feature]:
        return {f.name: f for f in self.features}

    def families(self) -> list[str]:
        return list(dict.fromkeys(f.family for f in self.features))


def expand_template(
    feature: Feature, names: Sequence[str], descriptions: Sequence[str]
) -> list[Feature]:
    """Concrete features of a template (e.g. one share column per top-K category)."""
    return [
        replace(feature, name=name, description=text, template=False)
        for name, text in zip(names, descriptions, strict=True)
    ]


def catalogue_frame(features: Iterable[Feature]) -> pd.DataFrame:
    """The catalogue as a frame: name, dtype, source, window, family, description."""
    rows = [
        {
            "name": f.name,
            "dtype": f.dtype,
            "source": f.source,
            "window": f.window,
            "family": f.family,
            "description": f.description,
        }
        for f in features
    ]
    return pd.DataFrame(
        rows, columns=["name", "dtype", "source", "window", "family", "description"]
    )


def catalogue_markdown(features: Iterable[Feature]) -> str:
    """The catalogue as a Markdown table (the tables in ``docs/features.md``)."""
    frame = catalogue_frame(features)
    lines = [
        "| name | dtype | source | window | family | description |",
        "|---|---|---|---|---|---|",
    ]
    for row in frame.itertuples(index=False):
        lines.append(
            f"| `{row.name}` | {row.dtype} | {row.source} | {row.window} | {row.family} | {row.description} |"
        )
    return "\n".join(lines) + "\n"
