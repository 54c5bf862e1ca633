"""The snapshot plan: no validation label window reaches the test snapshot; early cut-offs skipped."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsseg.errors import SmssegError
from smsseg.models.validation import SnapshotPlan, check_plan, default_spacing, plan_snapshots

AS_OF = pd.Timestamp("2025-12-31")


@settings(max_examples=200, deadline=None)
@given(
    horizon=st.integers(1, 400),
    n=st.integers(1, 40),
    spacing=st.one_of(st.none(), st.integers(1, 120)),
    history_days=st.integers(0, 3000),
)
def test_no_training_label_window_reaches_the_test_snapshot(horizon, n, spacing, history_days):
    first = AS_OF - pd.Timedelta(days=history_days)
    try:
        plan = plan_snapshots(AS_OF, horizon, n, spacing, first)
    except SmssegError as exc:  # only when no labelled snapshot fits after the first order
        assert history_days < horizon + (spacing or default_spacing(horizon))
        assert "no snapshot has a complete label window" in str(exc)
        return
    h, gap = pd.Timedelta(days=horizon), pd.Timedelta(days=plan.spacing_days)
    assert all(first + gap <= c and c + h <= AS_OF for c in plan.production)
    assert all(first + gap <= c for c in plan.validation)
    assert 1 <= len(plan.production) <= n and len(plan.validation) <= n
    if plan.kind == "out_of_time":
        assert plan.test == AS_OF - h
        assert all(c + h <= plan.test for c in plan.validation)  # the rule of issue 15
        assert plan.overlap_days == 0
    elif plan.kind == "customer_disjoint":
        # only when the history cannot hold a strict test, and the overlap is stated
        assert first + gap > AS_OF - 2 * h
        assert plan.validation and all(c < plan.test for c in plan.validation)
        assert "customer-disjoint" in plan.describe()
    else:
        assert plan.test is None and len(plan.production) == 1
    assert plan.cutoffs == sorted(set(plan.cutoffs))


def test_defaults_follow_the_horizon():
    assert default_spacing(90) == 15 and default_spacing(30) == 7 and default_spacing(182) == 31
    plan = plan_snapshots(AS_OF, 90)
    assert plan.kind == "out_of_time" and len(plan.production) == len(plan.validation) == 12
    assert plan.test == pd.Timestamp("2025-10-02") and max(plan.production) == plan.test
    assert max(plan.validation) == pd.Timestamp("2025-07-04")


def test_snapshots_before_the_first_order_are_skipped_with_a_note():
    plan = plan_snapshots(AS_OF, 90, 12, 30, first_order_at=pd.Timestamp("2025-01-15"))
    assert min(plan.production) >= pd.Timestamp("2025-02-14")  # one spacing of history
    assert len(plan.production) < 12
    assert any("30 days after the first order (2025-01-15) skipped" in n for n in plan.notes)


def test_too_short_for_any_label_is_refused_clearly():
    with pytest.raises(SmssegError, match="no snapshot has a complete label window"):
        plan_snapshots(AS_OF, 90, first_order_at=pd.Timestamp("2025-11-01"))


def test_a_plan_whose_validation_overlaps_the_test_is_refused():
    test = AS_OF - pd.Timedelta(days=90)
    bad = SnapshotPlan(AS_OF, 90, 30, (test,), (test - pd.Timedelta(days=30),), test, "out_of_time")
    with pytest.raises(SmssegError, match="overlaps the test snapshot .* by 60 days"):
        check_plan(bad)
    late = SnapshotPlan(AS_OF, 90, 30, (AS_OF,), (), None, "none")
    with pytest.raises(SmssegError, match="its label would use data not yet observed"):
        check_plan(late)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_snapshots": 0}, "n_snapshots=0 must be >= 1"),
        ({"spacing_days": -1}, "spacing_days=-1 must be >= 1"),
        ({"horizon_days": 0}, "horizon_days=0 must be >= 1"),
    ],
    ids=["no-snapshots", "negative-spacing", "zero-horizon"],
)
def test_bad_numbers_are_refused(kwargs, match):
    args = {"horizon_days": 90, **kwargs}
    with pytest.raises(SmssegError, match=match):
        plan_snapshots(AS_OF, **args)
