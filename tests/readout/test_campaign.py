"""Campaign metrics and experiment outcomes on a tiny dataset worked out by hand.

The dataset (tests/readout/campaign_fixture.py): campaign A is sent on 2024-03-01 10:00 to
c1–c4 (delivered to c1–c3, clicked by c1 and c2), campaign B on 2024-03-05 10:00 to c1 and c5
(clicked by c5). c3 stops on 03-02 (A's window), c5 on 03-10 (B's window). Orders: c1 40 on
01-15, 60 on 03-03 (A), 30 with 5 off on 03-06 (B: the latest send before it); c2 100 with 10 off
on 03-04 (A) and 20 on 2023-06-01 (lapsed); c3 50 on 03-20 (too late for A) and 25 on 06-15;
c4 a cancelled 80; c6 (never sent) 10 on 03-02 and 5 on 07-01 (the data end).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.readout  # noqa: F401  (registers the commands)
from smsseg.cli.app import app
from smsseg.errors import SmssegError
from smsseg.readout.campaign import campaign_metrics
from smsseg.readout.outcomes import experiment_outcomes, recipient_outcomes
from tests.readout.campaign_fixture import tiny_dataset, tiny_tables

runner = CliRunner()
SEGMENTS = pd.Series({"c1": "VIP", "c2": "VIP", "c3": "Lapsed", "c5": "Lapsed", "c6": "VIP"})
PLAN = pd.DataFrame(
    {
        "customer_id": [f"c{i}" for i in range(1, 7)],
        "campaign_id": "A",
        "holdout": [False] * 4 + [True] * 2,
    }
)


@pytest.fixture(scope="module")
def data():
    return tiny_dataset()


@pytest.fixture(scope="module")
def report(data):
    return campaign_metrics(
        data, attribution_days=7, cost_per_message=0.01, segment=SEGMENTS, holdout=PLAN
    )


EXPECTED_BY_CAMPAIGN = {
    # metric: (campaign A, campaign B), worked out by hand from the module docstring's story
    "recipients": (4, 2),
    "messages": (4, 2),
    "delivered": (3, 2),
    "ctr": (2 / 4, 1 / 2),
    "conversion_rate": (2 / 4, 1 / 2),  # A: c1 (o2), c2 (o4); B: c1 (o3)
    "orders": (2, 1),
    "revenue": (160.0, 30.0),
    "revenue_per_sms": (40.0, 15.0),
    "aov": (80.0, 30.0),
    "opt_out_rate": (1 / 4, 1 / 2),
    "repeat_purchase_rate": (2 / 2, 1 / 1),  # A: c1 and c2 had bought before; both bought again
    "retention_rate": (1 / 1, 1 / 1),  # A: only c1 bought in the 90 days before, and again after
    "win_back_rate": (1 / 1, np.nan),  # A: c2 was lapsed and came back; B: nobody lapsed
    "clv_change": ((50 + 100 + 50 + 0) / 4, (-70 + 0) / 2),
    "cost": (0.04, 0.02),
    "roi": ((160 - 0.04) / 0.04, (30 - 0.02) / 0.02),
    "discount_amount": (10.0, 5.0),
    "discount_cost_share": (100 / 160, 30 / 30),
    "subscribers": (6, 5),  # B: c3 had stopped before B started
    "unsubscribes": (1, 1),
    "unsubscribe_rate": (1 / 6, 1 / 5),
}


@pytest.mark.parametrize("metric", list(EXPECTED_BY_CAMPAIGN))
def test_campaign_metrics_match_hand_computation(report, metric):
    table = report.by_campaign.set_index("campaign_id")
    np.testing.assert_allclose(
        table.loc[["A", "B"], metric].to_numpy(float), EXPECTED_BY_CAMPAIGN[metric]
    )


def test_by_segment_splits_revenue_and_subscribers(report):
    seg = report.by_segment.set_index(["campaign_id", "segment"])
    assert (
        seg.loc[("A", "VIP"), "revenue"] == 160.0 and seg.loc[("A", "VIP"), "revenue_share"] == 1.0
    )
    assert seg.loc[("A", "Lapsed"), "opt_out_rate"] == 1.0  # c3
    assert seg.loc[("A", "(unsegmented)"), "recipients"] == 1  # c4 has no segment
    assert (seg.loc[("A", "VIP"), "subscribers"], seg.loc[("A", "Lapsed"), "unsubscribe_rate"]) == (
        3,
        0.5,
    )
    assert seg.groupby("campaign_id")["recipients"].sum().to_dict() == {"A": 4, "B": 2}
    frame = report.to_frame()
    assert list(frame.columns[:2]) == ["campaign_id", "segment"]
    assert len(frame) == 2 + len(seg)


def test_holdout_comparison_is_intent_to_treat(report):
    a = report.by_campaign.set_index("campaign_id").loc["A"]
    # planned c1-c4: c1 and c2 bought within 7 days of A's start; held out c5, c6: c6 bought 10
    assert (
        a["holdout_n"] == 2
        and a["holdout_conversion_rate"] == 0.5
        and a["planned_conversion_rate"] == 0.5
    )
    assert a["incremental_conversion"] == 0.0
    assert a["incremental_revenue_per_customer"] == pytest.approx((90 + 100) / 4 - 10 / 2)
    overall = report.holdout[report.holdout["segment"] == "all"]
    assert (
        set(overall["metric"]) == {"purchased", "revenue"} and (overall["campaign_id"] == "A").all()
    )
    assert pd.isna(
        report.by_campaign.set_index("campaign_id").loc["B", "holdout_n"]
    )  # B had no plan


def test_experiment_outcomes_one_row_per_assigned_customer(data):
    out = experiment_outcomes(data, "A", window_days=7).set_index("customer_id")
    assert out["variant"].to_dict() == {
        "c1": "treatment",
        "c2": "treatment",
        "c3": "control",
        "c4": "control",
    }
    assert out["purchased"].to_dict() == {
        "c1": 1,
        "c2": 1,
        "c3": 0,
        "c4": 0,
    }  # c4's order was cancelled
    assert out["revenue"].to_dict() == {"c1": 90.0, "c2": 100.0, "c3": 0.0, "c4": 0.0}
    assert out["clicked"].to_dict() == {"c1": 1, "c2": 1, "c3": 0, "c4": 0}
    assert out["opted_out"].to_dict() == {"c1": 0, "c2": 0, "c3": 1, "c4": 0}
    assert out["window_complete"].all()
    short = experiment_outcomes(data, "A", window_days=3).set_index(
        "customer_id"
    )  # until 03-04 09:00
    assert short.loc["c1", "revenue"] == 60.0 and short.loc["c2", "purchased"] == 0


def test_recipient_outcomes_attribute_by_last_touch(data):
    rec = recipient_outcomes(data, attribution_days=7).set_index(["campaign_id", "customer_id"])
    assert rec.loc[("A", "c1"), "revenue"] == 60.0 and rec.loc[("B", "c1"), "revenue"] == 30.0
    assert rec.loc[("A", "c1"), "window_revenue"] == 90.0  # both orders fall in A's window
    assert rec.loc[("A", "c3"), "converted"] == 0 and rec.loc[("A", "c3"), "opted_out"] == 1


def test_attribution_window_still_open_is_reported():
    tables = tiny_tables()
    tables["orders"] = tables["orders"][
        tables["orders"]["ordered_at"] < "2024-03-04"
    ]  # data end 03-03 12:00
    tables["sms"] = tables["sms"][tables["sms"]["occurred_at"] < "2024-03-04"]
    from smsseg.data import load_frames

    report = campaign_metrics(load_frames(tables, now=pd.Timestamp("2025-01-01").to_pydatetime()))
    assert (
        "attribution window still open for 4 recipient(s)" in report.by_campaign.loc[0, "message"]
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda d: campaign_metrics(d, attribution_days=0),
            "attribution_days=0 must be a whole number of days >= 1",
        ),
        (lambda d: campaign_metrics(d, cost_per_message=-1), "cost_per_message=-1 must be >= 0"),
        (lambda d: campaign_metrics(d, segment=pd.DataFrame({"id": [1]})), "lacks column\\(s\\)"),
        (
            lambda d: campaign_metrics(d, segment=pd.Series(["a", "b"], index=["c1", "c1"])),
            "more than one segment",
        ),
        (lambda d: campaign_metrics(d, holdout=PLAN.drop(columns="holdout")), "holdout plan lacks"),
        (lambda d: campaign_metrics(d, holdout=PLAN.assign(campaign_id="Z")), "never sent"),
        (lambda d: experiment_outcomes(d, "nope"), "campaign_id='nope' has no assignments; .* 'A'"),
    ],
    ids=[
        "window 0",
        "negative cost",
        "segment frame",
        "duplicate segment",
        "plan columns",
        "unsent plan",
        "campaign",
    ],
)
def test_bad_arguments_raise_clear_errors(data, call, match):
    with pytest.raises(SmssegError, match=match):
        call(data)


def test_campaign_metrics_cli_on_a_data_directory(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for name, frame in tiny_tables().items():
        frame.to_parquet(data_dir / f"{name}.parquet")
    SEGMENTS.rename("segment").rename_axis("customer_id").reset_index().to_csv(
        tmp_path / "seg.csv", index=False
    )
    PLAN.to_csv(tmp_path / "plan.csv", index=False)
    out = tmp_path / "metrics.csv"
    result = runner.invoke(
        app,
        [
            "campaign-metrics",
            "--data",
            str(data_dir),
            "--segments",
            str(tmp_path / "seg.csv"),
            "--plan",
            str(tmp_path / "plan.csv"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    row = written[(written.campaign_id == "A") & (written.segment == "all")].iloc[0]
    assert row["revenue_per_sms"] == 40.0 and row["holdout_conversion_rate"] == 0.5
    assert "Campaign metrics" in result.output


def test_campaign_metrics_cli_without_sends_fails_cleanly(tmp_path):
    tables = tiny_tables()
    for name in ("customers", "orders"):
        tables[name].to_csv(tmp_path / f"{name}.csv", index=False)
    result = runner.invoke(app, ["campaign-metrics", "--data", str(tmp_path)])
    assert result.exit_code == 1 and "no campaign sends" in result.output


# --- holdout sample-ratio check (issue 11, item 6) ------------------------------------------------


def _plan_with_split(n: int, held_out: int) -> pd.DataFrame:
    """Campaign A's plan over ``n`` customers (c1–c6 and made-up ids), ``held_out`` held out."""
    ids = [f"c{i}" for i in range(1, 7)] + [f"x{i}" for i in range(n - 6)]
    return pd.DataFrame(
        {"customer_id": ids, "campaign_id": "A", "holdout": np.arange(n) >= n - held_out}
    )


def test_holdout_srm_flags_a_split_off_the_planned_share(data):
    """A planned 10 % holdout observed at 20 % is a sample-ratio mismatch.

    The old check compared the observed split with itself, so its p-value was always 1.
    """
    report = campaign_metrics(data, holdout=_plan_with_split(1000, 200), holdout_share=0.1)
    a = report.by_campaign.set_index("campaign_id").loc["A"]
    assert a["holdout_srm_p_value"] < 1e-6
    assert pd.notna(a["holdout_srm_ok"]) and not a["holdout_srm_ok"]
    assert a["message"].startswith("holdout SAMPLE RATIO MISMATCH")
    assert report.holdout["srm_ok"].eq(False).all()
    assert report.holdout["message"].str.startswith("SAMPLE RATIO MISMATCH").all()


def test_holdout_srm_passes_a_split_at_the_planned_share(data):
    report = campaign_metrics(data, holdout=_plan_with_split(1000, 100), holdout_share=0.1)
    a = report.by_campaign.set_index("campaign_id").loc["A"]
    assert a["holdout_srm_p_value"] == pytest.approx(1.0) and a["holdout_srm_ok"]
    assert "SAMPLE RATIO" not in a["message"]
    # per campaign: B's share does not matter when B has no plan rows
    per_campaign = campaign_metrics(
        data, holdout=_plan_with_split(1000, 100), holdout_share={"A": 0.1, "B": 0.5}
    )
    assert per_campaign.by_campaign.set_index("campaign_id").loc["A", "holdout_srm_ok"]


def test_holdout_srm_is_not_run_without_the_planned_share(data):
    report = campaign_metrics(data, holdout=_plan_with_split(1000, 200))
    a = report.by_campaign.set_index("campaign_id").loc["A"]
    assert np.isnan(a["holdout_srm_p_value"]) and pd.isna(a["holdout_srm_ok"])
    assert report.holdout.attrs["srm_message"].startswith("SRM not checked")
    assert "SAMPLE RATIO" not in a["message"]


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1, 1.5])
def test_holdout_share_outside_zero_one_is_refused(data, share):
    with pytest.raises(SmssegError, match="must lie strictly between 0 and 1"):
        campaign_metrics(data, holdout=PLAN, holdout_share=share)


def test_plan_written_by_smsseg_plan_is_read_with_its_send_at_utc(data):
    """``smsseg plan`` writes ``send_at_utc`` (tz-aware UTC); it is read as ``send_at``."""
    plan = PLAN.assign(send_at_utc=pd.Timestamp("2024-03-01 10:00", tz="UTC"), campaign_id="Z")
    report = campaign_metrics(data, holdout=plan)
    assert set(report.holdout["campaign_id"]) == {"Z"}  # a campaign never sent, dated by the plan
    row = report.holdout.query("metric == 'purchased'").iloc[0]
    assert (row["n"], row["control_n"]) == (4, 2)


def _write_plan_dir(path, plan: pd.DataFrame, share: float | None):
    path.mkdir()
    plan.to_parquet(path / "plan.parquet", index=False)
    if share is not None:
        (path / "plan.json").write_text(f'{{"holdout": {share}}}', encoding="utf-8")
    return path


def _data_dir(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for name, frame in tiny_tables().items():
        frame.to_parquet(data_dir / f"{name}.parquet")
    return data_dir


def test_cli_reads_the_planned_share_from_the_plan_directory(tmp_path):
    data_dir = _data_dir(tmp_path)
    plan_dir = _write_plan_dir(tmp_path / "plan", _plan_with_split(1000, 200), 0.1)
    out = tmp_path / "metrics.csv"
    args = ["campaign-metrics", "--data", str(data_dir), "--plan", str(plan_dir), "--out", str(out)]
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "A: holdout SAMPLE RATIO MISMATCH" in result.output
    row = pd.read_csv(out).query("campaign_id == 'A' and segment == 'all'").iloc[0]
    assert not row["holdout_srm_ok"] and row["holdout_srm_p_value"] < 1e-6
    # the same plan at its planned share is fine; --holdout-share overrides plan.json
    ok = runner.invoke(app, [*args[:5], "--holdout-share", "0.2"], terminal_width=200)
    assert ok.exit_code == 0 and "SAMPLE RATIO" not in ok.output, ok.output


def test_cli_says_when_the_planned_share_is_unknown(tmp_path):
    data_dir = _data_dir(tmp_path)
    PLAN.to_csv(tmp_path / "plan.csv", index=False)
    result = runner.invoke(
        app, ["campaign-metrics", "--data", str(data_dir), "--plan", str(tmp_path / "plan.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "holdout split not checked" in result.output
    lonely = runner.invoke(
        app, ["campaign-metrics", "--data", str(data_dir), "--holdout-share", "0.1"]
    )
    assert lonely.exit_code == 1 and "--holdout-share needs --plan" in lonely.output
    missing = runner.invoke(
        app, ["campaign-metrics", "--data", str(data_dir), "--plan", str(tmp_path / "no")]
    )
    assert missing.exit_code == 1 and "no plan found" in missing.output
