"""Writing an import: every staged source merged, contract tables written, validated, atomically.

The data directory appears complete and valid, or not at all: the tables and the staged sources
are written to a temporary directory beside ``out``, validated there with ``smsseg validate``'s
rules, and only then moved onto ``out`` in one rename (:func:`smsseg._io.atomic_path`). A
failure at any step leaves ``out`` as it was.

Layout of an imported directory: the contract tables as Parquet, plus ``_import/`` holding each
staged source (``_import/<source>/*.parquet``; the data loader ignores sub-directories) and the
last import's report (``_import/report.json``). Importing a source again replaces its staged
frames, so repeating an import gives the same tables.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from smsseg._io import atomic_path
from smsseg.data.load import validate_dir
from smsseg.data.validation import DataValidationError
from smsseg.errors import SmssegError
from smsseg.importers.merge import build_tables
from smsseg.importers.report import ImportReport
from smsseg.importers.staged import Staged

STAGING_DIR = "_import"


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: the directory, its tables' row counts, and the report."""

    out: Path
    row_counts: dict[str, int]
    report: ImportReport
    sources: tuple[str, ...]


def staged_sources(out: Path) -> dict[str, Staged]:
    """The sources already imported into ``out`` (empty for a new directory).

    Raises
    ------
    SmssegError
        When ``out`` holds files but was not written by ``smsseg import`` (merging into it
        could not be repeated, and replacing it would delete someone's data).
    """
    if not out.exists():
        return {}
    if not out.is_dir():
        raise SmssegError(f"--out '{out}' is a file; give a directory")
    staging = out / STAGING_DIR
    if not staging.is_dir():
        if any(out.iterdir()):
            raise SmssegError(
                f"--out '{out}' holds files but was not written by 'smsseg import' (no "
                f"{STAGING_DIR}/ folder); import into a new or empty directory"
            )
        return {}
    return {d.name: Staged.read(d) for d in sorted(staging.iterdir()) if d.is_dir()}


def write_import(
    out: str | os.PathLike, staged: Staged, report: ImportReport, now: pd.Timestamp
) -> ImportResult:
    """Merge ``staged`` with the sources already in ``out``, write and validate, atomically.

    Raises
    ------
    DataValidationError
        When the merged tables break the data contract (nothing is written).
    """
    out = Path(out)
    sources = staged_sources(out)
    staged.report_lines = copy.deepcopy(report.lines)
    for previous in sources.values():
        if previous.source != staged.source:
            for line in previous.report_lines:
                report.add(line.source, line.kind, line.what, line.count, line.examples)
    sources[staged.source] = staged
    tables = build_tables(list(sources.values()), report, now)
    if tables["orders"].empty:
        raise SmssegError(
            f"no orders to write to '{out}': the data contract requires orders, and only a "
            "Shopify orders export gives them; import it first (smsseg import shopify --orders "
            f"F --out {out}), then this file into the same directory"
        )
    report.facts["sources"] = sorted(sources)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        for name, frame in tables.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        for source in sources.values():
            source.save(tmp / STAGING_DIR / source.source)
        (tmp / STAGING_DIR / "report.json").write_text(report.to_json(), encoding="utf-8")
        # validated against the import's own "now" (the clock unless a caller fixes it); an
        # explicit now also keeps the temporary folder out of the validation cache
        result = validate_dir(tmp, now=now.to_pydatetime())
        if not result.ok:
            raise DataValidationError(result.errors)
    counts = {name: len(frame) for name, frame in tables.items()}
    return ImportResult(out, counts, report, tuple(sorted(sources)))


def exported_at_of(path: str | Path | None, given: str | None, now: pd.Timestamp) -> pd.Timestamp:
    """The export time: ``given`` (ISO, with offset or UTC), else the file's modification time.

    Raises
    ------
    SmssegError
        For a time that does not parse or lies after ``now``.
    """
    if given is not None:
        try:
            stamp = pd.Timestamp(given)
        except ValueError:
            raise SmssegError(f"--exported-at={given!r} is not a timestamp") from None
        if stamp is pd.NaT:
            raise SmssegError(f"--exported-at={given!r} is not a timestamp")
        stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
    else:
        if path is None or not Path(path).exists():
            return now
        stamp = pd.Timestamp(Path(path).stat().st_mtime, unit="s")
    stamp = stamp.floor("s")
    if stamp > now:
        raise SmssegError(f"--exported-at={stamp} lies in the future")
    return stamp
