"""Importers: Shopify, Klaviyo, SMS-platform and mapped CSV exports into a validated data directory.

Each ``import_*`` function stages one source (:mod:`.shopify`, :mod:`.klaviyo`,
:mod:`.sms_platforms`), merges it with the sources already imported into ``out`` (customers
matched by id, e-mail or E.164 phone: :mod:`.merge`), writes the contract tables and validates
them, atomically (:mod:`.write`). Every value not carried over as given is counted in the
returned report. See ``docs/import.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from smsseg.data.validation import now_utc
from smsseg.importers.generic import load_mapping, stage_mapped
from smsseg.importers.klaviyo import stage_klaviyo
from smsseg.importers.report import ImportReport
from smsseg.importers.shopify import stage_shopify
from smsseg.importers.sms_platforms import PRESETS, load_preset, stage_sms_platform
from smsseg.importers.write import ImportResult, exported_at_of, write_import

PathLike = str | os.PathLike


def _now(now: object) -> pd.Timestamp:
    stamp = pd.Timestamp(now if now is not None else now_utc())
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def _note_export(report: ImportReport, source: str, stamp: pd.Timestamp, given: object) -> None:
    how = "given (--exported-at)" if given is not None else "the file's modification time"
    report.facts[f"{source}_exported_at"] = stamp.isoformat()
    report.add(source, "note", f"export time {stamp:%Y-%m-%d %H:%M:%S} UTC, {how}: the date of "
               "undated consent", 1)  # fmt: skip


def import_shopify(
    out: PathLike,
    orders: PathLike,
    customers: PathLike | None = None,
    products: PathLike | None = None,
    *,
    exported_at: str | None = None,
    default_country: str | None = None,
    undated_consent: bool = True,
    now: object = None,
) -> ImportResult:
    """Import Shopify orders (with customers and products exports) into ``out``.

    Parameters
    ----------
    out : data directory to write (new, empty, or written by an earlier import).
    orders, customers, products : the Shopify CSV exports.
    exported_at : when the customers export was taken (ISO); default its modification time.
        Undated SMS consent ("Accepts SMS Marketing = yes") is dated at this instant.
    default_country : ISO country for phones without ``+`` on rows without an address.
    undated_consent : False leaves undated consent out instead.
    now : the moment of the import (default: the clock); later timestamps are errors.

    Returns
    -------
    ImportResult

    Raises
    ------
    SmssegError
        For unreadable or broken files (one paragraph naming file, column and rows); nothing
        is written.

    Example
    -------
    >>> result = import_shopify("shop", "orders_export.csv", "customers_export.csv")  # doctest: +SKIP
    >>> result.row_counts  # doctest: +SKIP
    {'customers': 812, 'orders': 1934, 'order_items': 3120, 'sms': 240}
    """
    now = _now(now)
    report = ImportReport()
    stamp = exported_at_of(customers if customers is not None else orders, exported_at, now)
    _note_export(report, "shopify", stamp, exported_at)
    staged = stage_shopify(orders, customers, products, exported_at=stamp, now=now,
                           report=report, default_country=default_country,
                           undated_consent=undated_consent)  # fmt: skip
    return write_import(Path(out), staged, report, now)


def import_klaviyo(
    out: PathLike,
    profiles: PathLike | None = None,
    events: PathLike | None = None,
    *,
    exported_at: str | None = None,
    default_country: str | None = None,
    undated_consent: bool = True,
    now: object = None,
) -> ImportResult:
    """Import a Klaviyo profile export and/or events (JSON or JSONL) into ``out``.

    Parameters are as for :func:`import_shopify`; ``exported_at`` dates the profile export.
    """
    now = _now(now)
    report = ImportReport()
    stamp = exported_at_of(profiles if profiles is not None else events, exported_at, now)
    _note_export(report, "klaviyo", stamp, exported_at)
    staged = stage_klaviyo(profiles, events, exported_at=stamp, now=now, report=report,
                           default_country=default_country,
                           undated_consent=undated_consent)  # fmt: skip
    return write_import(Path(out), staged, report, now)


def import_sms_platform(
    out: PathLike,
    file: PathLike,
    preset: str = "postscript",
    mapping: PathLike | None = None,
    *,
    exported_at: str | None = None,
    default_country: str | None = None,
    now: object = None,
) -> ImportResult:
    """Import an SMS platform's subscribers or events export into ``out``.

    Parameters
    ----------
    preset : ``postscript``, ``attentive`` or ``custom`` (:data:`PRESETS`).
    mapping : a TOML overriding the preset's headers and event values (required for custom).
    Others as for :func:`import_shopify`.
    """
    now = _now(now)
    spec = load_preset(preset, mapping)
    report = ImportReport()
    stamp = exported_at_of(file, exported_at, now)
    _note_export(report, spec.name, stamp, exported_at)
    staged = stage_sms_platform(file, spec, exported_at=stamp, now=now, report=report,
                                default_country=default_country)  # fmt: skip
    return write_import(Path(out), staged, report, now)


def import_csv(
    out: PathLike,
    file: PathLike,
    mapping: PathLike,
    *,
    exported_at: str | None = None,
    default_country: str | None = None,
    now: object = None,
) -> ImportResult:
    """Import any CSV into one contract table of ``out``, as the mapping TOML describes it.

    See :mod:`smsseg.importers.generic` for the mapping file. Others as for
    :func:`import_shopify`.
    """
    now = _now(now)
    spec = load_mapping(mapping)
    report = ImportReport()
    stamp = exported_at_of(file, exported_at, now)
    _note_export(report, spec.name, stamp, exported_at)
    staged = stage_mapped(file, spec, exported_at=stamp, now=now, report=report,
                          default_country=default_country)  # fmt: skip
    return write_import(Path(out), staged, report, now)


__all__ = [
    "PRESETS",
    "ImportReport",
    "ImportResult",
    "import_csv",
    "import_klaviyo",
    "import_shopify",
    "import_sms_platform",
]
