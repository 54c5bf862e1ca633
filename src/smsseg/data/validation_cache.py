"""A record of data directories that passed validation, so unchanged data is not checked twice.

Every command that reads a directory validates it first; on a million customers that is ~8 s
per command, repeated by ``features``, ``train``, ``score``, ``segment`` and ``plan`` on the same
files. A directory that passed is recorded with a fingerprint of each table file, and the next
load of byte-identical files reuses the result (its warnings are shown again).

The fingerprint of a file is its size, its modification time (ns) and a BLAKE2 digest of its
content: the whole file up to :data:`FULL_HASH_BYTES`, else (Parquet) the footer, which holds
the schema, every row group's offsets, sizes and min/max statistics, so a rewrite changes it.
The key also holds smsseg's version and the contract declarations, so a new rule re-checks.

Only successful validations are recorded (a broken directory is checked, and reported, every
time) and only against the clock: timestamps "in the future" at the recorded time are still in
the future later, so a later load may reuse it; a load with an explicit ``now`` never does.

Why not a library: the cache is a JSON file per directory keyed by a digest (joblib.Memory
would pickle, and its keys are function arguments, not file contents).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from smsseg import __version__
from smsseg._io import write_text
from smsseg.data.contract import TABLES
from smsseg.data.validation import Problem, ValidationReport

log = logging.getLogger(__name__)

#: Files up to this size are hashed whole; larger Parquet files by their footer.
FULL_HASH_BYTES = 64 * 1024 * 1024
_CHUNK = 4 * 1024 * 1024


def cache_dir() -> Path:
    """``SMSSEG_CACHE_DIR``, else ``$XDG_CACHE_HOME/smsseg``, else ``~/.cache/smsseg``."""
    explicit = os.environ.get("SMSSEG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "smsseg"


def file_fingerprint(path: Path) -> dict[str, object]:
    """Size, mtime (ns) and content digest of one table file."""
    stat = path.stat()
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        if stat.st_size <= FULL_HASH_BYTES or path.suffix != ".parquet":
            for block in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(block)
        else:
            digest.update(_parquet_footer(handle, stat.st_size))
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "blake2b": digest.hexdigest()}


def _parquet_footer(handle, size: int) -> bytes:
    """The footer (metadata + length + magic) of a Parquet file; its last 8 bytes if malformed."""
    handle.seek(size - 8)
    tail = handle.read(8)
    length = int.from_bytes(tail[:4], "little")
    if tail[4:] != b"PAR1" or not 0 < length <= size - 8:
        return tail
    handle.seek(size - 8 - length)
    return handle.read(length + 8)


def _contract_digest() -> str:
    text = __version__ + repr(sorted(TABLES.items()))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def directory_key(files: Mapping[str, Path]) -> dict[str, object]:
    """What must not change for a recorded validation to hold: contract and every table file."""
    return {
        "contract": _contract_digest(),
        "files": {name: file_fingerprint(path) for name, path in sorted(files.items())},
    }


def _entry_path(root: Path) -> Path:
    name = hashlib.blake2b(str(root.resolve()).encode(), digest_size=16).hexdigest()
    return cache_dir() / "validated" / f"{name}.json"


def lookup(root: Path, key: Mapping[str, object], now: datetime) -> ValidationReport | None:
    """The recorded report of ``root`` when its files still match ``key`` (else ``None``)."""
    path = _entry_path(root)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if entry["key"] != key or datetime.fromisoformat(entry["validated_at"]) > now:
            return None
        return ValidationReport(
            warnings=[_problem(p) for p in entry["warnings"]],
            row_counts={str(k): int(v) for k, v in entry["row_counts"].items()},
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.debug("ignoring unreadable validation record %s: %s", path, exc)
        return None


def record(
    root: Path, key: Mapping[str, object], report: ValidationReport, validated_at: datetime
) -> None:
    """Record a passed validation; a cache that cannot be written is skipped, not an error."""
    entry = {
        "directory": str(root.resolve()),
        "validated_at": validated_at.isoformat(),
        "key": key,
        "warnings": [asdict(p) for p in report.warnings],
        "row_counts": report.row_counts,
    }
    path = _entry_path(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(json.dumps(entry, indent=1), path)
    except OSError as exc:
        log.debug("validation record not written to %s: %s", path, exc)


def _problem(data: Mapping[str, object]) -> Problem:
    return Problem(
        file=str(data["file"]),
        column=None if data["column"] is None else str(data["column"]),
        rule=str(data["rule"]),
        message=str(data["message"]),
        count=int(data["count"]),
        examples=tuple(str(e) for e in data["examples"]),
    )
