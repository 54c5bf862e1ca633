"""Any CSV into one contract table, described by a mapping file (``smsseg import csv --map``).

For the sources without a preset (a point-of-sale export, a loyalty app, a home-made events
log): a TOML names the source, the table its rows go to, which header holds each field, and
value maps for the fields with a fixed vocabulary::

    name = "pos"                 # the source's name in the import report and in _import/
    table = "orders"             # customers, orders, order_items, products, events or sms

    [columns]                    # field = header (or a list of accepted headers)
    order_id = "Receipt"
    ordered_at = "Date"
    amount = "Total"
    email = "Customer e-mail"    # who the row belongs to: customer_id, email and/or phone

    [values.status]              # value in the file = contract value ("" leaves the row out)
    Paid = "completed"
    Voided = "cancelled"

Rows are staged like every other source (:mod:`.staged`): people are matched to the customers
already imported by id, e-mail or E.164 phone, so the file merges with Shopify or an SMS
platform. Timestamps follow the rules of the other importers (offsets converted to UTC, values
without one taken as UTC and counted); amounts must be non-negative numbers; a value the maps do
not name is an error naming the file, column and rows, never passed through.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from smsseg.data.contract import TABLES
from smsseg.errors import SmssegError
from smsseg.importers import parse as p
from smsseg.importers.report import ImportReport
from smsseg.importers.staged import LAYOUTS, Staged, conform

#: Who a row belongs to: a customer id already in the directory, an e-mail or a phone.
PERSON_FIELDS = ("customer_id", "email", "phone")
#: Tables a mapping can fill, with the fields that must be mapped; the others are optional.
REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "orders": ("order_id", "ordered_at", "amount"),
    "order_items": ("order_id", "product_id"),
    "products": ("product_id",),
    "events": ("occurred_at", "event_type"),
    "sms": ("occurred_at", "event_type"),
}
#: Tables whose rows belong to a person (they need one of PERSON_FIELDS).
PERSONAL = ("customers", "orders", "events", "sms")
#: Fields with the contract's fixed vocabulary: a value map may translate them.
VOCABULARY = {
    ("orders", "status"): TABLES["orders"].column("status").allowed,
    ("events", "event_type"): TABLES["events"].column("event_type").allowed,
    ("sms", "event_type"): TABLES["sms"].column("event_type").allowed,
}
_TIMESTAMPS = {"created_at", "ordered_at", "returned_at", "occurred_at"}
_AMOUNTS = {"amount", "discount_amount", "unit_price"}
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file (see the module docstring)."""

    name: str
    table: str
    columns: dict[str, tuple[str, ...]]
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def fields(self) -> tuple[str, ...]:
        """The fields of ``table`` a mapping may name (the person fields included)."""
        staged = "people" if self.table == "customers" else self.table
        own = set(LAYOUTS[staged]) - {"person_key", "role", "anchor_id", "email_key", "dated"}
        return tuple(sorted(own | (set(PERSON_FIELDS) if self.table in PERSONAL else set())))


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping TOML.

    Raises
    ------
    SmssegError
        An unreadable file, a missing or unknown name, table or field, a required field not
        mapped, or a value map onto a value the contract does not have.
    """
    file = str(path)
    try:
        spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SmssegError(f"mapping file '{file}' cannot be read: {exc}") from None
    name = str(spec.get("name", ""))
    if not _NAME.match(name):
        raise SmssegError(f"{file}: name={name!r} must be lower-case letters, digits, - or _ "
                          "(it names the source in the report and in _import/)")  # fmt: skip
    if name in ("shopify", "klaviyo", "postscript", "attentive"):
        raise SmssegError(f"{file}: name={name!r} is a built-in source; pick another name")
    table = spec.get("table")
    if table not in REQUIRED:
        raise SmssegError(f"{file}: table={table!r} must be one of {', '.join(REQUIRED)}")
    columns = {
        k: (v,) if isinstance(v, str) else tuple(v) for k, v in spec.get("columns", {}).items()
    }
    mapping = Mapping(name, table, columns, {k: dict(v) for k, v in spec.get("values", {}).items()})
    unknown = sorted(set(columns) - set(mapping.fields()))
    if unknown:
        raise SmssegError(f"{file}: [columns] {unknown} are not fields of {table}; fields: "
                          f"{', '.join(mapping.fields())}")  # fmt: skip
    missing = [f for f in REQUIRED[table] if f not in columns]
    if table in PERSONAL and table != "customers" and not set(PERSON_FIELDS) & set(columns):
        missing.append("one of customer_id, email, phone")
    if missing:
        raise SmssegError(f"{file}: [columns] must map {', '.join(missing)} for {table}")
    for column, values in mapping.values.items():
        allowed = VOCABULARY.get((table, column))
        if allowed is None:
            raise SmssegError(f"{file}: [values.{column}]: {table}.{column} has no fixed "
                              "vocabulary to map onto")  # fmt: skip
        wrong = sorted({v for v in values.values() if v and v not in allowed})
        if wrong:
            raise SmssegError(f"{file}: [values.{column}] maps onto {wrong}; {table}.{column} "
                              f"takes {', '.join(allowed)}")  # fmt: skip
    return mapping


def stage_mapped(
    path: str | Path,
    mapping: Mapping,
    *,
    exported_at: pd.Timestamp,
    now: pd.Timestamp,
    report: ImportReport,
    default_country: str | None = None,
) -> Staged:
    """Stage one mapped CSV: its table's rows and the people they belong to."""
    file = Path(path).name
    raw = p.read_export(path, f"{mapping.name} export")
    cols = p.resolve_columns(raw, mapping.columns, REQUIRED[mapping.table], file)
    src, table = mapping.name, mapping.table
    col = {name: p.text(raw, cols.get(name)) for name in mapping.fields()}
    for name in ("customer_id", "order_id", "product_id"):
        if name in col:
            col[name] = p.strip_apostrophe(col[name], report, src, f"'{cols.get(name, name)}'")
    out = pd.DataFrame(index=raw.index)
    for name in mapping.fields():
        if name in PERSON_FIELDS or name not in cols:
            continue
        values = col[name]
        if name in _TIMESTAMPS:
            out[name] = p.parse_timestamps(values, file=file, column=cols[name], report=report,
                                           source=src, now=now)  # fmt: skip
        elif name in _AMOUNTS:
            out[name] = p.parse_amounts(values, file=file, column=cols[name])
        elif name == "quantity":
            out[name] = _quantities(values, file, cols[name])
        else:
            out[name] = _translated(values, mapping, name, file, cols[name], report)
    keep = pd.Series(True, index=raw.index)
    for name in mapping.values:
        if name in out:
            left_out = out[name].isna() & (col[name] != "")
            keep &= ~left_out
    frames: dict[str, pd.DataFrame] = {}
    if table in PERSONAL:
        who, keys = _people(col, cols, raw, src, report, default_country, table)
        no_person = keys.isna()
        report.add(src, "dropped", "rows naming no usable customer id, e-mail or phone",
                   int((no_person & keep).sum()))  # fmt: skip
        keep &= ~no_person
        out = pd.concat([out, who], axis=1)
    rows = out[keep]
    if table == "customers":
        frames["people"] = conform("people", rows.drop_duplicates("person_key"))
    elif table in PERSONAL:
        # a person first seen in this file is dated by their first row in it
        when = next(c for c in ("ordered_at", "occurred_at") if c in rows)
        people = rows.groupby("person_key", sort=False).first().reset_index()
        people["created_at"] = people["person_key"].map(rows.groupby("person_key")[when].min())
        frames["people"] = conform("people", people)
        frames[table] = conform(table, rows.assign(dated=True) if table == "sms" else rows)
    else:
        frames[table] = conform(table, rows)
    report.add(src, "mapped", f"{table} rows", int(keep.sum()))
    return Staged(src, frames, exported_at)


def _translated(values, mapping, name, file, column, report) -> pd.Series:
    """Text, or the contract's value through ``[values.<name>]``; unmapped values are errors."""
    if name not in mapping.values:
        allowed = VOCABULARY.get((mapping.table, name))
        if allowed is not None:
            _check_vocabulary(values, allowed, file, column)
        return p.blank_to_na(values)
    table = mapping.values[name]
    unknown = (values != "") & ~values.isin(list(table))
    if unknown.any():
        seen = sorted(set(values[unknown]))[:5]
        raise SmssegError(f"{file}, column '{column}': value(s) {seen} are not in "
                          f"[values.{name}] of the mapping; map them (\"\" leaves the row out)")  # fmt: skip
    translated = values.map(lambda v: table.get(v) or None if v else None)
    dropped = (values != "") & translated.isna()
    for value in sorted(set(values[dropped])):
        report.add(mapping.name, "dropped", f"rows with {name} '{value}' (left out by the "
                   "mapping)", int((values == value).sum()))  # fmt: skip
    return pd.Series(translated, index=values.index, dtype="string")


def _check_vocabulary(values, allowed, file, column) -> None:
    unknown = (values != "") & ~values.isin(list(allowed))
    if unknown.any():
        seen = sorted(set(values[unknown]))[:5]
        raise SmssegError(f"{file}, column '{column}': value(s) {seen} are not among "
                          f"{', '.join(allowed)}; add a [values] map to the mapping file")  # fmt: skip


def _quantities(values, file, column) -> pd.Series:
    number = pd.to_numeric(values.where(values != ""), errors="coerce")
    bad = (values != "") & (number.isna() | (number < 0) | (number != np.floor(number)))
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:3] + 1
        raise SmssegError(f"{file}, column '{column}': {int(bad.sum())} value(s) are not "
                          f"whole numbers >= 0 (rows {', '.join(map(str, rows))})")  # fmt: skip
    return number.astype("Int64")


def _people(col, cols, raw, src, report, default_country, table):
    """People rows keyed like the other importers' (id, else phone digest, else e-mail)."""
    ids = col.get("customer_id", pd.Series("", index=raw.index, dtype="string"))
    mangled = p.excel_mangled(ids)
    report.add(src, "dropped", "customer ids Excel turned into numbers (matched by phone or "
               "e-mail instead)", int(mangled.sum()),
               p.row_examples(raw, mangled, cols.get("customer_id", "id")))  # fmt: skip
    phone = p.normalise_phones(col.get("phone", pd.Series("", index=raw.index, dtype="string")),
                               pd.Series("", index=raw.index), report=report, source=src,
                               column=cols.get("phone", "phone"),
                               default_country=default_country)  # fmt: skip
    email = p.email_key(col.get("email", pd.Series("", index=raw.index, dtype="string")))
    usable = (ids != "") & ~mangled
    key = ("phone:" + p.digest(phone)).fillna("email:" + email)
    key = ("id:" + ids).where(usable, key)
    who = pd.DataFrame({
        "person_key": key, "role": "customer" if table == "customers" else "profile",
        "anchor_id": p.blank_to_na(ids.where(usable, "")), "email_key": email, "phone": phone,
    })  # fmt: skip
    return who, key
