"""Which snapshots train, which one tests: an out-of-time design whose report predicts the future.

``smsseg train --as-of A --horizon-days H`` deploys a model that scores at ``A`` and is judged on
``(A, A + H]``. The honest estimate of that is the *same procedure* run one horizon earlier and
judged on data it never saw:

* **production** cut-offs ``A - H - k * spacing`` (``k = 0 .. n - 1``): every label window ends on
  or before ``A``. The deployed model is fitted on these.
* **test** cut-off ``A - H``, the latest labelled one: its label window is ``(A - H, A]``.
* **validation-training** cut-offs ``A - 2H - k * spacing``: every label window ends on or before
  the test cut-off, so no label the validation model learned from overlaps the test window, and
  the held-out rows' own future is unseen (their earlier rows, with labels that ended before the
  test cut-off, are in training exactly as they will be for the deployed model).

When the data is too short for a strict design (it needs orders from ``2H`` plus one spacing before
``A``), the plan falls back, and says so, to a **customer-disjoint** test: the held-out customers
(a seeded share) are removed from every training snapshot, training cut-offs end one spacing before
the test cut-off and their label windows overlap the test window (shared calendar effects can
flatter the estimate; the report names the overlap in days). With a single labelled cut-off there
is no test at all (``kind="none"``) and the champion rule keeps the BG/NBD baseline.

Cut-offs less than one spacing after the first completed order are skipped with a note rather
than failing the run: their customers have no history to learn from (every buyer made one order
"today"), and a model or calibrator fitted on them is degenerate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from smsseg.data.load import Dataset
from smsseg.errors import SmssegError
from smsseg.features._query import check_horizon, parse_as_of

KINDS = ("out_of_time", "customer_disjoint", "none")
#: Default number of production snapshots (and of validation-training snapshots).
DEFAULT_SNAPSHOTS = 12
#: Default spacing: about six snapshots per horizon, never closer than a week (weekly cycles
#: would otherwise alias) - a rule in units of the horizon, not tuned to any dataset.
MIN_SPACING_DAYS = 7


def default_spacing(horizon_days: int) -> int:
    """``max(7, ceil(horizon / 6))`` days between snapshots."""
    return max(MIN_SPACING_DAYS, math.ceil(check_horizon(horizon_days) / 6))


@dataclass(frozen=True)
class SnapshotPlan:
    """The cut-offs of one training run and how its test is made (see the module docstring)."""

    as_of: pd.Timestamp
    horizon_days: int
    spacing_days: int
    production: tuple[pd.Timestamp, ...]
    validation: tuple[pd.Timestamp, ...]
    test: pd.Timestamp | None
    kind: str
    notes: tuple[str, ...] = ()

    @property
    def overlap_days(self) -> float:
        """Days by which the latest validation label window runs into the test window (0: none)."""
        if self.test is None or not self.validation:
            return 0.0
        end = max(self.validation) + pd.Timedelta(days=self.horizon_days)
        return max((end - self.test) / pd.Timedelta(days=1), 0.0)

    @property
    def cutoffs(self) -> list[pd.Timestamp]:
        """Every cut-off the run needs features for, oldest first."""
        stamps = set(self.production) | set(self.validation)
        if self.test is not None:
            stamps.add(self.test)
        return sorted(stamps)

    def describe(self) -> str:
        if self.kind == "out_of_time":
            how = (
                f"out of time: tested on the snapshot {self.test.date()} "
                f"(labels to {(self.test + pd.Timedelta(days=self.horizon_days)).date()}), trained "
                f"on {len(self.validation)} snapshot(s) whose labels end on or before it"
            )
        elif self.kind == "customer_disjoint":
            how = (
                f"customer-disjoint (history too short for a strict out-of-time test): held-out "
                f"customers at {self.test.date()}; training label windows overlap the test window "
                f"by up to {self.overlap_days:.0f} days"
            )
        else:
            how = "none (a single labelled snapshot): the BG/NBD baseline is kept"
        return f"validation {how}; the deployed model uses {len(self.production)} snapshot(s)"

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "horizon_days": self.horizon_days,
            "spacing_days": self.spacing_days,
            "production": [c.isoformat() for c in self.production],
            "validation": [c.isoformat() for c in self.validation],
            "test": None if self.test is None else self.test.isoformat(),
            "kind": self.kind,
            "overlap_days": self.overlap_days,
            "notes": list(self.notes),
        }


def _grid(latest: pd.Timestamp, n: int, spacing: int) -> list[pd.Timestamp]:
    return [latest - pd.Timedelta(days=k * spacing) for k in reversed(range(n))]


def plan_snapshots(
    as_of: object,
    horizon_days: int,
    n_snapshots: int | None = None,
    spacing_days: int | None = None,
    first_order_at: object | None = None,
) -> SnapshotPlan:
    """The training and validation cut-offs for training as of ``as_of`` (module docstring).

    Parameters
    ----------
    as_of : the training date; every label window ends on or before it.
    horizon_days : the label horizon ``H``.
    n_snapshots : production snapshots (default :data:`DEFAULT_SNAPSHOTS`); the validation model
        gets as many, one horizon earlier.
    spacing_days : days between snapshots (default :func:`default_spacing`).
    first_order_at : the first completed order in the data; cut-offs less than one spacing after
        it are skipped (with a note). ``None``: nothing is skipped.

    Raises
    ------
    SmssegError
        Bad numbers, or no cut-off with a complete label window after the first order.
    """
    limit = parse_as_of(as_of)
    horizon = check_horizon(horizon_days)
    n = check_horizon(DEFAULT_SNAPSHOTS if n_snapshots is None else n_snapshots, "n_snapshots")
    spacing = check_horizon(
        default_spacing(horizon) if spacing_days is None else spacing_days, "spacing_days"
    )
    first = None if first_order_at is None else parse_as_of(first_order_at)
    notes: list[str] = []

    earliest = None if first is None else first + pd.Timedelta(days=spacing)

    def usable(stamps: list[pd.Timestamp], what: str) -> list[pd.Timestamp]:
        kept = [c for c in stamps if earliest is None or c >= earliest]
        skipped = [c for c in stamps if c not in kept]
        if skipped:
            notes.append(
                f"{len(skipped)} {what} snapshot(s) less than {spacing} days after the first "
                f"order ({first.date()}) skipped: {', '.join(str(c.date()) for c in skipped[:3])}"
                + (" ..." if len(skipped) > 3 else "")
            )
        return kept

    test = limit - pd.Timedelta(days=horizon)
    production = usable(_grid(test, n, spacing), "training")
    if not production:
        raise SmssegError(
            f"as_of={limit.date()} with horizon_days={horizon}: no snapshot has a complete label "
            f"window and {spacing} days of history after the first order "
            f"({first.date() if first else '?'}); training needs orders from at least "
            f"{horizon + spacing} days before as_of (pass a later --as-of or a shorter "
            "--horizon-days)"
        )
    validation = usable(_grid(test - pd.Timedelta(days=horizon), n, spacing), "validation")
    kind = "out_of_time"
    if not validation:
        # too short for a strict test: hold out customers instead, and say what overlaps
        validation = [c for c in production if c < test]
        kind = "customer_disjoint" if validation else "none"
        notes.append(
            f"history too short for a strict out-of-time test (it needs orders from "
            f"{2 * horizon} days before as_of): validation is {kind.replace('_', '-')}"
        )
    plan = SnapshotPlan(
        limit,
        horizon,
        spacing,
        tuple(production),
        tuple(validation),
        test if kind != "none" else None,
        kind,
        tuple(notes),
    )
    check_plan(plan)
    return plan


def check_plan(plan: SnapshotPlan) -> None:
    """Refuse a plan whose label windows break the design (module docstring).

    Raises
    ------
    SmssegError
        A production label window ending after ``as_of``; in an ``out_of_time`` plan a
        validation label window ending after the test cut-off; a test that is not the latest.
    """
    horizon = pd.Timedelta(days=plan.horizon_days)
    late = [c for c in plan.production if c + horizon > plan.as_of]
    if late:
        raise SmssegError(
            f"snapshot {late[0].date()} + horizon_days={plan.horizon_days} ends after "
            f"as_of={plan.as_of.date()}: its label would use data not yet observed"
        )
    if plan.kind not in KINDS:
        raise SmssegError(f"validation kind={plan.kind!r} must be one of {KINDS}")
    if plan.test is None:
        return
    if any(c >= plan.test for c in plan.validation):
        raise SmssegError("validation snapshots must all be earlier than the test snapshot")
    if plan.kind == "out_of_time" and plan.overlap_days > 0:
        raise SmssegError(
            f"validation snapshot {max(plan.validation).date()} + horizon_days="
            f"{plan.horizon_days} overlaps the test snapshot {plan.test.date()} by "
            f"{plan.overlap_days:.0f} days: training labels would see the test window; use "
            "fewer or wider-spaced snapshots"
        )


def first_order_at(data: Dataset) -> pd.Timestamp | None:
    """The first completed order in the data (``None`` without any)."""
    value = data.con.execute(
        "SELECT MIN(ordered_at) FROM orders WHERE status = 'completed'"
    ).fetchall()[0][0]
    return None if value is None else pd.Timestamp(value)
