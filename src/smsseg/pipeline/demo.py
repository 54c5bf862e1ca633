"""The demo's layout and settings: every step on a generated dataset, as of one instant.

``smsseg demo`` runs the steps of :mod:`smsseg.pipeline` in order on these paths and prints
each result as the step's own command does; a notebook can run the same steps by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from smsseg import config
from smsseg.pipeline._types import PathLike
from smsseg.timeutil import parse_as_of

#: Every campaign goal of the guide, planned together in the demo.
DEMO_GOALS = (
    "recover_abandoned_carts",
    "drive_repeat_purchases",
    "promote_flash_sale",
    "re_engage_inactive",
    "back_in_stock",
    "loyalty_engagement",
    "local_marketing",
    "protect_high_value",
    "reduce_churn",
    "improve_engagement",
)
#: How far back the demo looks for segment transitions.
TRANSITION_DAYS = 30
#: The demo runs as of the midnight that ends the generated history (config.DEFAULT_END): a
#: bare date is 00:00 UTC, so ``--as-of 2025-12-31`` would leave the last day of data out.
DEMO_AS_OF = (pd.Timestamp(config.DEFAULT_END) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class DemoLayout:
    """Where each step of a demo run reads and writes, and its instants.

    ``last_day`` is the last generated day: the day before a midnight ``as_of`` (so the run sees
    all of it); an ``as_of`` within a day generates that day whole. ``earlier`` is the instant
    of the transitions, :data:`TRANSITION_DAYS` before.
    """

    out: Path
    as_of: pd.Timestamp
    last_day: str
    earlier: str

    @property
    def data(self) -> Path:
        return self.out / "data"

    @property
    def features(self) -> Path:
        return self.out / "features.parquet"

    @property
    def scores(self) -> Path:
        return self.out / "scores.parquet"

    @property
    def earlier_scores(self) -> Path:
        return self.out / f"scores_{self.earlier}.parquet"

    @property
    def segments(self) -> Path:
        return self.out / "segments"

    @property
    def plan(self) -> Path:
        return self.out / "plan"

    @property
    def report(self) -> Path:
        return self.out / "report.html"


def demo_layout(out: PathLike, as_of: object = DEMO_AS_OF) -> DemoLayout:
    """The :class:`DemoLayout` of a demo in ``out`` as of ``as_of``."""
    stamp = parse_as_of(as_of, "--as-of")
    last_day = (stamp.ceil("D") - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    earlier = (stamp - pd.Timedelta(days=TRANSITION_DAYS)).strftime("%Y-%m-%d")
    return DemoLayout(Path(out), stamp, last_day, earlier)
