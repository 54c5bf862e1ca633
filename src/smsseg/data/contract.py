"""The input data contract, declared once as data.

Every table of a data directory is described by a :class:`TableSpec`; validation
(:mod:`smsseg.data.validation`), loading (:mod:`smsseg.data.load`), the simulator and
``docs/data-contract.md`` all follow from these declarations.

Point in time: every row is dated by its table's time column, except *snapshot* columns, which
describe the moment the data was exported (a loyalty balance, a stock flag). Those are dated by
the table's ``snapshot_at`` column or, without one, by the directory's export time: the latest
timestamp it holds (:data:`EXPORT_TIME_COLUMNS`). Why the latest timestamp and not the file's
modification time: it depends on the data only, so a copy of the directory, a Parquet rewrite or
an in-memory frame give the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["string", "timestamp", "float", "int", "bool"]

#: DuckDB type each column kind is cast to when a table is loaded.
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Parameters
    ----------
    name : column name in the file.
    kind : logical type; timestamps are ISO-8601, naive means UTC.
    description : what the column means, for the docs.
    required : the column must be present and non-null.
    allowed : the closed set of values a string column may take (``None``: any).
    min_value : smallest allowed value of a numeric column.
    max_value : largest allowed value of a numeric column.
    allow_future : a timestamp column that may lie after the moment of validation
        (e.g. a points expiry date); other timestamps in the future are errors.
    """

    name: str
    kind: Kind
    description: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    allow_future: bool = False

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.kind]


@dataclass(frozen=True)
class ForeignKey:
    """``column`` of this table must exist as ``ref_column`` of ``ref_table``."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class RowRule:
    """A rule over several columns of one row, checked by validation.

    Parameters
    ----------
    name : the rule's name in error messages (``ends_after_start``).
    column : the column blamed in the message.
    violated : SQL that is true on a *bad* row; ``{column}`` placeholders stand for the typed
        columns (a column the file lacks reads as NULL).
    message : what is wrong, for the message.
    """

    name: str
    column: str
    violated: str
    message: str

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(re.findall(r"\{(\w+)\}", self.violated)))


@dataclass(frozen=True)
class TableSpec:
    """One table of a data directory (``<name>.parquet`` or ``<name>.csv``)."""

    name: str
    description: str
    columns: tuple[Column, ...]
    required: bool = False
    key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)
    #: the column that dates a row, used for point-in-time truncation
    time_column: str | None = None
    #: columns that describe the export time, not the row's time (see the module docstring)
    snapshot_columns: tuple[str, ...] = ()
    rules: tuple[RowRule, ...] = ()

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


#: Largest money amount (or points count) a row may hold. No real order reaches it, and it keeps
#: every exact sum the features take (DECIMAL(38, 12): 26 integer digits) far from overflow,
#: so a garbage value (1e308 from a broken export) is refused by validation, not by a feature.
MAX_AMOUNT = 1e12
#: Largest quantity on an order line (quantity x unit price stays within the exact sums).
MAX_QUANTITY = 1e9

ORDER_STATUSES = ("completed", "cancelled", "returned")
EVENT_TYPES = (
    "product_view",
    "category_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "wishlist_add",
    "search",
)
SMS_EVENT_TYPES = ("opt_in", "opt_out", "sent", "delivered", "clicked", "failed")
CHANNELS = ("sms", "email")
PROMOTION_KINDS = ("sale", "flash_sale", "seasonal", "clearance")
LOYALTY_EVENT_KINDS = ("earn", "redeem", "expire", "adjust", "tier_change")

CUSTOMERS = TableSpec(
    name="customers",
    description="One row per customer profile.",
    required=True,
    key=("customer_id",),
    time_column="created_at",
    columns=(
        Column(
            "customer_id",
            "string",
            "Customer identifier (a string, even if numeric).",
            required=True,
        ),
        Column(
            "created_at",
            "timestamp",
            "When the customer profile was created (sign-up).",
            required=True,
        ),
        Column("phone", "string", "Mobile number in E.164 (e.g. +14155550123); never logged."),
        Column("country", "string", "ISO 3166-1 alpha-2 country code (US, GB, DE, ...)."),
        Column("region", "string", "State, province or region (e.g. US-CA, or a name)."),
        Column("city", "string", "City."),
        Column("postal_code", "string", "Postal or ZIP code."),
        Column(
            "timezone",
            "string",
            "IANA time zone (America/New_York); inferred from country/region when missing.",
        ),
        Column("store_id", "string", "Home store, for local marketing."),
        Column(
            "preferred_channel",
            "string",
            "Channel the customer prefers; 'email' means no SMS.",
            allowed=CHANNELS,
        ),
    ),
)

ORDERS = TableSpec(
    name="orders",
    description="One row per order.",
    required=True,
    key=("order_id",),
    time_column="ordered_at",
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    columns=(
        Column("order_id", "string", "Order identifier.", required=True),
        Column("customer_id", "string", "Customer who placed the order.", required=True),
        Column("ordered_at", "timestamp", "When the order was placed.", required=True),
        Column(
            "amount",
            "float",
            "Net amount paid, after discounts, in the shop currency.",
            required=True,
            min_value=0.0,
            max_value=MAX_AMOUNT,
        ),
        Column(
            "discount_amount",
            "float",
            "Discount granted on the order (0 when none).",
            min_value=0.0,
            max_value=MAX_AMOUNT,
        ),
        Column("promo_code", "string", "Promo code used, if any."),
        Column(
            "status", "string", "Order status; missing means completed.", allowed=ORDER_STATUSES
        ),
        Column(
            "returned_at",
            "timestamp",
            "When a 'returned' order was returned; before that it counts as completed (read "
            "only on returned orders).",
        ),
    ),
    rules=(
        RowRule(
            "returned_after_ordered",
            "returned_at",
            "{returned_at} < {ordered_at}",
            "order returned before it was placed",
        ),
    ),
)

ORDER_ITEMS = TableSpec(
    name="order_items",
    description="Order lines: what was bought in each order.",
    key=(),
    foreign_keys=(ForeignKey("order_id", "orders", "order_id"),),
    columns=(
        Column("order_id", "string", "Order the line belongs to.", required=True),
        Column("product_id", "string", "Product bought.", required=True),
        Column("category", "string", "Product category (denormalised for convenience)."),
        Column("quantity", "int", "Units bought.", min_value=0, max_value=MAX_QUANTITY),
        Column("unit_price", "float", "Price per unit paid.", min_value=0.0, max_value=MAX_AMOUNT),
    ),
)

EVENTS = TableSpec(
    name="events",
    description="Browsing and cart events from the web site or app.",
    time_column="occurred_at",
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    columns=(
        Column("customer_id", "string", "Customer who acted.", required=True),
        Column("occurred_at", "timestamp", "When the event happened.", required=True),
        Column("event_type", "string", "What happened.", required=True, allowed=EVENT_TYPES),
        Column("product_id", "string", "Product concerned, if any."),
        Column("category", "string", "Category concerned, if any."),
    ),
)

SMS = TableSpec(
    name="sms",
    description="SMS consent and messaging history: opt-ins, STOPs, sends, deliveries, clicks.",
    time_column="occurred_at",
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    columns=(
        Column("customer_id", "string", "Customer concerned.", required=True),
        Column("occurred_at", "timestamp", "When it happened.", required=True),
        Column(
            "event_type",
            "string",
            "opt_in / opt_out (STOP) / sent / delivered / clicked / failed.",
            required=True,
            allowed=SMS_EVENT_TYPES,
        ),
        Column("campaign_id", "string", "Campaign of a send or click."),
        Column(
            "message_type",
            "string",
            "Message type of a send (welcome, abandoned_cart, win_back, ...).",
        ),
    ),
)

LOYALTY = TableSpec(
    name="loyalty",
    description=(
        "Loyalty programme membership, one row per member: the enrolment, and the programme "
        "state (tier, balance, expiring points) at snapshot_at, without history."
    ),
    key=("customer_id",),
    time_column="enrolled_at",
    snapshot_columns=("tier", "points_balance", "points_expiring", "points_expire_at"),
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    columns=(
        Column("customer_id", "string", "Member.", required=True),
        Column(
            "enrolled_at", "timestamp", "When the customer joined the programme.", required=True
        ),
        Column("tier", "string", "Programme tier at snapshot_at (e.g. Bronze, Silver, Gold)."),
        Column(
            "points_balance",
            "float",
            "Points balance at snapshot_at.",
            min_value=0.0,
            max_value=MAX_AMOUNT,
        ),
        Column(
            "points_expiring", "float", "Points that expire at points_expire_at.", min_value=0.0
        ),
        Column("points_expire_at", "timestamp", "When points_expiring expire.", allow_future=True),
        Column(
            "snapshot_at",
            "timestamp",
            "When tier and points were read; missing: the directory's export time.",
        ),
    ),
)

LOYALTY_EVENTS = TableSpec(
    name="loyalty_events",
    description=(
        "Loyalty points ledger: every change to a member's points and tier, from which the "
        "programme state is derived as of any date."
    ),
    time_column="occurred_at",
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    columns=(
        Column("customer_id", "string", "Member.", required=True),
        Column("occurred_at", "timestamp", "When the change happened.", required=True),
        Column(
            "kind",
            "string",
            "earn / redeem / expire / adjust (points) or tier_change (tier).",
            required=True,
            allowed=LOYALTY_EVENT_KINDS,
        ),
        Column(
            "points",
            "float",
            "Signed change to the balance: > 0 earned, < 0 redeemed or expired, either sign for "
            "an adjustment; empty on a tier_change.",
            min_value=-MAX_AMOUNT,
            max_value=MAX_AMOUNT,
        ),
        Column("tier", "string", "The new tier of a tier_change."),
        Column(
            "expires_at",
            "timestamp",
            "When points credited by this row expire (empty: never).",
            allow_future=True,
        ),
    ),
    rules=(
        RowRule(
            "points_sign",
            "points",
            "({kind} = 'earn' AND {points} < 0) OR ({kind} IN ('redeem', 'expire') AND {points} > 0)",
            "points have the wrong sign for the kind (earn >= 0; redeem, expire <= 0)",
        ),
        RowRule(
            "points_given",
            "points",
            "{kind} IN ('earn', 'redeem', 'expire', 'adjust') AND {points} IS NULL",
            "an earn, redeem, expire or adjust row has no points",
        ),
        RowRule(
            "tier_given",
            "tier",
            "{kind} = 'tier_change' AND {tier} IS NULL",
            "a tier_change row has no tier",
        ),
    ),
)

PRODUCTS = TableSpec(
    name="products",
    description="Product catalogue with the stock state at snapshot_at (no history).",
    key=("product_id",),
    snapshot_columns=("in_stock",),
    columns=(
        Column("product_id", "string", "Product identifier.", required=True),
        Column("category", "string", "Product category."),
        Column("in_stock", "bool", "Whether the product was in stock at snapshot_at."),
        Column("restocked_at", "timestamp", "When the product last came back in stock."),
        Column(
            "snapshot_at",
            "timestamp",
            "When in_stock was read; missing: the directory's export time.",
        ),
    ),
)

PROMOTIONS = TableSpec(
    name="promotions",
    description="Promotion calendar: sales and flash sales (extension to the minimal contract).",
    key=("promo_id",),
    time_column="starts_at",
    columns=(
        Column("promo_id", "string", "Promotion identifier.", required=True),
        Column(
            "starts_at", "timestamp", "Start of the promotion.", required=True, allow_future=True
        ),
        Column("ends_at", "timestamp", "End of the promotion.", required=True, allow_future=True),
        Column("kind", "string", "Kind of promotion.", allowed=PROMOTION_KINDS),
        Column(
            "discount_rate",
            "float",
            "Headline discount as a fraction of price.",
            min_value=0.0,
            max_value=1.0,
        ),
        Column(
            "category", "string", "Category the promotion is limited to; empty means site-wide."
        ),
    ),
    rules=(
        RowRule(
            "ends_after_start",
            "ends_at",
            "{ends_at} < {starts_at}",
            "promotion ends before it starts",
        ),
    ),
)

ASSIGNMENTS = TableSpec(
    name="assignments",
    description="Experiment assignments: which customer got which variant of a randomized campaign.",
    key=("customer_id", "campaign_id"),
    time_column="assigned_at",
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    columns=(
        Column("customer_id", "string", "Customer assigned.", required=True),
        Column("campaign_id", "string", "Experiment or campaign.", required=True),
        Column(
            "variant",
            "string",
            "Variant the customer was randomized to (e.g. control, treatment).",
            required=True,
        ),
        Column("assigned_at", "timestamp", "When the customer was randomized.", required=True),
    ),
)

#: All tables, in dependency order (a table's foreign keys point to tables before it).
TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        CUSTOMERS,
        ORDERS,
        ORDER_ITEMS,
        EVENTS,
        SMS,
        LOYALTY,
        LOYALTY_EVENTS,
        PRODUCTS,
        PROMOTIONS,
        ASSIGNMENTS,
    )
}

FILE_SUFFIXES = (".parquet", ".csv")

#: (table, column) of every timestamp that cannot lie in the future: the latest value among them
#: is the directory's export time, which dates snapshot columns without a ``snapshot_at``.
EXPORT_TIME_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (spec.name, col.name)
    for spec in TABLES.values()
    for col in spec.columns
    if col.kind == "timestamp" and not col.allow_future
)


def export_time_sql() -> str:
    """SQL (a scalar subquery over the loaded views) for the directory's export time.

    The latest value of :data:`EXPORT_TIME_COLUMNS` over every table; NULL for empty data. A
    table or column the directory lacks is an empty view or a NULL column, so it adds nothing.
    """
    latest = " UNION ALL ".join(
        f"SELECT MAX({column}) AS latest FROM {table}" for table, column in EXPORT_TIME_COLUMNS
    )
    return f"(SELECT MAX(latest) FROM ({latest}) AS latest_per_column)"


def contract_markdown() -> str:
    """Render the contract as Markdown tables (used for ``docs/data-contract.md``)."""
    lines: list[str] = []
    for spec in TABLES.values():
        req = "required" if spec.required else "optional"
        lines.append(f"### `{spec.name}` ({req})\n")
        lines.append(spec.description + "\n")
        if spec.key:
            lines.append(f"Key: `{', '.join(spec.key)}` (no duplicates).  ")
        for fk in spec.foreign_keys:
            lines.append(f"`{fk.column}` must exist in `{fk.ref_table}.{fk.ref_column}`.  ")
        for rule in spec.rules:
            lines.append(f"Rule `{rule.name}`: an error when {rule.message}.  ")
        if spec.snapshot_columns:
            names = ", ".join(f"`{c}`" for c in spec.snapshot_columns)
            lines.append(f"Snapshot columns (dated by `snapshot_at`): {names}.  ")
        lines.append("")
        lines.append("| column | type | required | rule | meaning |")
        lines.append("|---|---|---|---|---|")
        for col in spec.columns:
            rules = []
            if col.allowed:
                rules.append("one of " + ", ".join(col.allowed))
            if col.min_value is not None:
                rules.append(f">= {col.min_value:g}")
            if col.max_value is not None:
                rules.append(f"<= {col.max_value:g}")
            if col.kind == "timestamp":
                rules.append("may be in the future" if col.allow_future else "not in the future")
            lines.append(
                f"| `{col.name}` | {col.kind} | {'yes' if col.required else 'no'} | "
                f"{'; '.join(rules)} | {col.description} |"
            )
        lines.append("")
    return "\n".join(lines)
