"""What one source contributes, before customers are matched across sources.

Each importer turns its files into a :class:`Staged` set of frames in fixed layouts. People are
keyed by the source's own key (``person_key``); :mod:`smsseg.importers.merge` matches them to
customers across every staged source and writes the contract tables. Staged sources are kept in
the data directory (``_import/<source>/``), so importing a second source merges with the first,
and importing the same source again replaces it: the result depends only on the set of sources,
not on the order or number of imports.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from smsseg.importers.report import ReportLine

#: Columns of each staged frame. ``people.role`` ranks where a customer's phone and address come
#: from (:data:`ROLE_ORDER`); ``sms.dated`` is False for consent a source states without a date.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "people": ("person_key", "role", "anchor_id", "email_key", "phone", "created_at", "country",
               "region", "city", "postal_code", "timezone"),
    "orders": ("order_id", "person_key", "ordered_at", "amount", "discount_amount", "promo_code",
               "status", "returned_at"),
    "order_items": ("order_id", "product_id", "category", "quantity", "unit_price"),
    "products": ("product_id", "category"),
    "events": ("person_key", "occurred_at", "event_type", "product_id", "category"),
    "sms": ("person_key", "occurred_at", "event_type", "campaign_id", "message_type", "dated"),
}  # fmt: skip

#: Roles of people rows, in the order customers are matched and their attributes chosen.
ROLE_ORDER = ("customer", "order_contact", "profile", "subscriber")

_TIMESTAMP_COLUMNS = {"created_at", "ordered_at", "returned_at", "occurred_at"}
_FLOAT_COLUMNS = {"amount", "discount_amount", "unit_price"}


def empty(name: str) -> pd.DataFrame:
    """An empty staged frame with its columns typed."""
    return conform(name, pd.DataFrame(columns=list(LAYOUTS[name])))


def conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly the layout's columns, in order, with stable dtypes."""
    out = pd.DataFrame(index=frame.index)
    for column in LAYOUTS[name]:
        values = frame[column] if column in frame.columns else pd.Series(pd.NA, index=frame.index)
        if column in _TIMESTAMP_COLUMNS:
            out[column] = pd.to_datetime(values).astype("datetime64[ns]")
        elif column in _FLOAT_COLUMNS:
            out[column] = pd.to_numeric(values).astype("float64")
        elif column == "quantity":
            out[column] = pd.to_numeric(values).astype("Int64")
        elif column == "dated":
            out[column] = values.astype("boolean").fillna(True).astype(bool)
        else:
            out[column] = values.astype("string")
    return out.reset_index(drop=True)


@dataclass
class Staged:
    """One source's frames (missing frames are empty) and the facts of its export."""

    source: str
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    exported_at: pd.Timestamp | None = None
    #: the report lines of staging this source (kept so that a later import's report, which
    #: re-merges every source, still shows what each file's import dropped and guessed)
    report_lines: list[ReportLine] = field(default_factory=list)

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames.get(name, empty(name))

    def save(self, directory: Path) -> None:
        """Write the frames to ``directory`` (created) as Parquet, with the export time."""
        directory.mkdir(parents=True)
        for name in LAYOUTS:
            conform(name, self.frame(name)).to_parquet(directory / f"{name}.parquet", index=False)
        stamp = "" if self.exported_at is None else self.exported_at.isoformat()
        (directory / "exported_at.txt").write_text(stamp, encoding="utf-8")
        lines = json.dumps([asdict(line) for line in self.report_lines], indent=1)
        (directory / "report.json").write_text(lines, encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> Staged:
        frames = {
            name: conform(name, pd.read_parquet(directory / f"{name}.parquet")) for name in LAYOUTS
        }
        stamp = (directory / "exported_at.txt").read_text(encoding="utf-8").strip()
        lines = json.loads((directory / "report.json").read_text(encoding="utf-8"))
        return cls(
            directory.name,
            frames,
            pd.Timestamp(stamp) if stamp else None,
            [ReportLine(**line) for line in lines],
        )
