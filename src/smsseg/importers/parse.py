"""Reading export files as text and turning their cells into contract values.

Exports are read with pandas as text (every cell a string, empty cells empty), so that nothing
is guessed by the CSV reader: ``00123`` stays ``00123`` and a value that cannot be parsed is
reported with its row. The helpers here are the rules every importer shares:

- a leading ``'`` (Excel's "keep this as text" mark, common on ids, zips and phones) is removed
  and counted;
- an id Excel rewrote in scientific notation (``7.02255E+12``) no longer holds the id: it is
  reported and never used as a key (two such ids could be the same number);
- timestamps carry their offset (``2025-05-11 09:55:16 -0400``) and become naive UTC; a value
  without an offset is taken as UTC (the contract's rule) and counted;
- phones become E.164 with ``phonenumbers``, using the country of the row's address when the
  number has no ``+``; numbers that do not parse are counted and left out;
- e-mails are matched on a digest of the trimmed, lower-cased address: the data directory never
  holds an address.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers

from smsseg.data.validation import mask_phone
from smsseg.errors import SmssegError
from smsseg.importers.report import ImportReport

#: A number Excel displays in scientific notation (``7.02255E+12``): the digits after the
#: sixth significant one are gone.
EXCEL_SCIENTIFIC = re.compile(r"^[+-]?\d(\.\d+)?[eE]\+?\d+$")
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
#: Timestamp layouts tried in order; the first is Shopify's.
_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "ISO8601")


def read_export(path: str | Path, what: str) -> pd.DataFrame:
    """Read a CSV export as text: every cell a string, empty cells ``""``, headers trimmed.

    Raises
    ------
    SmssegError
        When the file is missing, empty or not a CSV pandas can split.
    """
    path = Path(path)
    if not path.is_file():
        raise SmssegError(f"{what} file '{path}' does not exist")
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig"
        )
    except UnicodeDecodeError as exc:
        raise SmssegError(
            f"{what} file '{path}' cannot be read as a CSV: it is not UTF-8 (byte "
            f"{exc.start:,}); export it again, or save it from the spreadsheet as 'CSV UTF-8'"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SmssegError(f"{what} file '{path}' cannot be read as a CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise SmssegError(f"{path.name}: the header names column(s) {duplicated} twice")
    if frame.empty:
        raise SmssegError(f"{what} file '{path}' has a header but no rows")
    return frame.astype("string")


def resolve_columns(
    frame: pd.DataFrame,
    wanted: Mapping[str, Sequence[str]],
    required: Iterable[str],
    file: str,
) -> dict[str, str]:
    """Map our field names to the file's columns, trying each field's accepted headers in order.

    Headers are matched case-insensitively. Returns ``{field: column}`` for the fields found.

    Raises
    ------
    SmssegError
        When a required field has none of its accepted headers.
    """
    by_lower = {c.lower(): c for c in frame.columns}
    found: dict[str, str] = {}
    for name, headers in wanted.items():
        for header in headers:
            if header.lower() in by_lower:
                found[name] = by_lower[header.lower()]
                break
    missing = [name for name in required if name not in found]
    if missing:
        expected = "; ".join(f"{m}: one of {list(wanted[m])}" for m in missing)
        raise SmssegError(
            f"{file}: missing column(s) for {expected}. The file has: "
            f"{', '.join(frame.columns[:30])}{' ...' if len(frame.columns) > 30 else ''}"
        )
    return found


def text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    """The column trimmed, ``""`` when the file lacks it."""
    if column is None or column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="string")
    return frame[column].astype("string").str.strip()


def strip_apostrophe(values: pd.Series, report: ImportReport, source: str, what: str) -> pd.Series:
    """Remove one leading ``'`` (Excel's text mark) and count the values that had it."""
    marked = values.str.startswith("'")
    report.add(source, "cleaned", f"leading ' removed from {what}", int(marked.sum()))
    return values.where(~marked, values.str[1:].str.strip())


def excel_mangled(values: pd.Series) -> pd.Series:
    """Whether each value is a number in Excel's scientific notation (the id is lost)."""
    return values.str.fullmatch(EXCEL_SCIENTIFIC.pattern).fillna(False).astype(bool)


def row_examples(frame: pd.DataFrame, mask: pd.Series, column: str, limit: int = 3) -> list:
    """``row N: column='value'`` for the first rows of ``mask`` (rows count data rows from 1)."""
    rows = np.flatnonzero(mask.to_numpy())[:limit]
    return [f"row {r + 1}: {column}={frame[column].iloc[r]!r}" for r in rows]


def parse_timestamps(
    values: pd.Series,
    *,
    file: str,
    column: str,
    report: ImportReport,
    source: str,
    now: pd.Timestamp,
) -> pd.Series:
    """Naive-UTC timestamps from text with offsets; empty cells are NaT.

    Raises
    ------
    SmssegError
        For a value that is not a timestamp or lies after ``now`` (naive UTC), naming the file,
        column and example rows.
    """
    given = values != ""
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    for fmt in _TIMESTAMP_FORMATS:
        todo = given & parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(values[todo], format=fmt, utc=True, errors="coerce")
    bad = given & parsed.isna()
    if bad.any():
        raise SmssegError(
            f"{file}, column '{column}': {int(bad.sum())} value(s) are not timestamps "
            f"(expected e.g. 2025-05-11 09:55:16 -0400); " + "; ".join(_examples(values, bad))
        )
    naive = parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    future = naive > now
    if future.any():
        raise SmssegError(
            f"{file}, column '{column}': {int(future.sum())} timestamp(s) lie after now "
            f"({now:%Y-%m-%d %H:%M} UTC); an export cannot hold the future; "
            + "; ".join(_examples(values, future))
        )
    no_offset = given & ~values.str.contains(_HAS_OFFSET.pattern, regex=True)
    report.add(source, "guessed", f"'{column}' values without an offset taken as UTC",
               int(no_offset.sum()), _examples(values, no_offset))  # fmt: skip
    return naive


def _examples(values: pd.Series, mask: pd.Series) -> list[str]:
    rows = np.flatnonzero(mask.to_numpy())[:3]
    return [f"row {r + 1}: {values.iloc[r]!r}" for r in rows]


def parse_amounts(values: pd.Series, *, file: str, column: str, default: float = 0.0) -> pd.Series:
    """Non-negative floats from text; empty cells are ``default``.

    Raises
    ------
    SmssegError
        For text that is not a number, or a negative amount.
    """
    cleaned = values.str.replace(",", "", regex=False)
    number = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce")
    bad = (cleaned != "") & (number.isna() | ~np.isfinite(number.fillna(0)))
    if bad.any():
        raise SmssegError(
            f"{file}, column '{column}': {int(bad.sum())} value(s) are not numbers; "
            + "; ".join(_examples(values, bad))
        )
    negative = number < 0
    if negative.any():
        raise SmssegError(
            f"{file}, column '{column}': {int(negative.sum())} negative amount(s); amounts "
            "are never negative (refunds come from 'Refunded Amount'); "
            + "; ".join(_examples(values, negative))
        )
    return number.fillna(default).astype("float64")


def email_key(values: pd.Series) -> pd.Series:
    """A digest of each trimmed, lower-cased e-mail (``NA`` when empty or without ``@``).

    Matching on a digest lets a later import join on e-mail without the data directory ever
    holding an address.
    """
    norm = values.str.strip().str.lower()
    valid = norm.str.contains("@", regex=False)
    digests = [
        hashlib.blake2b(v.encode(), digest_size=12).hexdigest() if ok else None
        for v, ok in zip(norm, valid, strict=True)
    ]
    return pd.Series(digests, index=values.index, dtype="string").where(valid)


def digest(values: pd.Series) -> pd.Series:
    """A short BLAKE2 digest of each value (``NA`` stays ``NA``): keys that hide what they key."""
    out = [
        None if pd.isna(v) else hashlib.blake2b(str(v).encode(), digest_size=12).hexdigest()
        for v in values
    ]
    return pd.Series(out, index=values.index, dtype="string")


def normalise_phones(
    values: pd.Series,
    countries: pd.Series,
    *,
    report: ImportReport,
    source: str,
    column: str,
    default_country: str | None = None,
) -> pd.Series:
    """E.164 phones (``NA`` when empty or unparseable), parsed in the row's country.

    A number with its ``+`` country code is read as it is; one without is read in the
    address's country, else ``default_country``; without either it cannot be read and is
    counted as dropped. Numbers Excel turned into ``1.41555E+10`` are counted apart.
    """
    out: list[str | None] = []
    unparseable: list[str] = []
    mangled: list[str] = []
    defaulted = 0
    for raw, country in zip(values, countries, strict=True):
        raw = raw.strip()
        if not raw:
            out.append(None)
            continue
        if EXCEL_SCIENTIFIC.match(raw):
            mangled.append(mask_phone(raw))
            out.append(None)
            continue
        region = country.strip().upper() if isinstance(country, str) and country.strip() else None
        if region is None and not raw.startswith("+") and default_country:
            region = default_country
            defaulted += 1
        number = _parse_phone(raw, region)
        if number is None:
            unparseable.append(mask_phone(raw))
            out.append(None)
        else:
            out.append(number)
    report.add(source, "dropped", f"'{column}' phones Excel turned into numbers",
               len(mangled), mangled)  # fmt: skip
    report.add(source, "dropped", f"'{column}' phones that are not valid numbers",
               len(unparseable), unparseable)  # fmt: skip
    report.add(source, "guessed", f"'{column}' phones read in the default country "
               f"{default_country}", defaulted)  # fmt: skip
    return pd.Series(out, index=values.index, dtype="string")


def _parse_phone(raw: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def iso_region(country: pd.Series, province: pd.Series) -> pd.Series:
    """ISO 3166-2 ``US-NY`` from a country and a province code; the province alone otherwise."""
    both = (country != "") & (province != "") & ~province.str.contains("-", regex=False)
    code = country.str.upper() + "-" + province.str.upper()
    return blank_to_na(code.where(both, province))


def blank_to_na(values: pd.Series) -> pd.Series:
    """Empty text as missing (``string`` dtype, the same in pandas 2.2 and 3)."""
    values = values.astype("string")
    return values.where(values != "")
