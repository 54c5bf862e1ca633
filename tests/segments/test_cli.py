"""``smsseg segment``: outputs, transitions, catalogue override and input validation."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.segments  # noqa: F401  (registers the command)
from smsseg.cli.app import app
from smsseg.segments import SEGMENT_KEYS

from .history import AFTER, BEFORE, history_tables, scores_for

runner = CliRunner()
# a four-customer shop: the BTYD fits and the tier bootstrap are degenerate, and say so
pytestmark = [
    pytest.mark.filterwarnings("ignore:Gamma-Gamma could not be fitted:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*bootstrap resamples had fewer distinct:UserWarning"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("segment-cli")
    data = root / "data"
    data.mkdir()
    for name, frame in history_tables().items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    scores_for(["N", "C", "D", "L"]).to_parquet(root / "scores.parquet", index=False)
    scores_for(["N", "C", "D"]).to_parquet(root / "scores_before.parquet", index=False)
    return root


def _run(workspace, *extra: str, out: str = "out"):
    args = ["segment", "--data", str(workspace / "data"), "--as-of", AFTER,
            "--scores", str(workspace / "scores.parquet"), "--out", str(workspace / out),
            "--no-mlflow", *extra]  # fmt: skip
    return runner.invoke(app, args)


@pytest.fixture(scope="module")
def result(workspace):
    run = _run(workspace, "--transitions-from", BEFORE,
               "--scores-from", str(workspace / "scores_before.parquet"))  # fmt: skip
    assert run.exit_code == 0, run.output
    return workspace / "out", run.output


def test_writes_membership_summary_and_tiers(result):
    out, output = result
    membership = pd.read_parquet(out / "membership.parquet")
    expected = {"customer_id", "segments", "primary_segment", "tier", "churn_probability",
                "discount_sensitivity"} | {f"is_{k}" for k in SEGMENT_KEYS}  # fmt: skip
    assert expected <= set(membership.columns)
    assert len(membership) == 4
    primary = membership.set_index("customer_id")["primary_segment"]
    assert primary["N"] == "first_time_buyer" and primary["D"] == "dormant"
    summary = pd.read_csv(out / "segment_summary.csv")
    assert list(summary["key"]) == [*SEGMENT_KEYS, "general"]
    assert {"customers", "share", "revenue_share", "mean_churn_probability", "opted_in_share",
            "message_types", "flow"} <= set(summary.columns)  # fmt: skip
    tiers = pd.read_csv(out / "tiers.csv")
    assert tiers["customers"].sum() == 4
    assert json.loads((out / "value_tiers.json").read_text())["format"] == "smsseg.value_tiers"
    assert "SMS segments as of 2025-06-15" in output
    assert "bootstrap ARI mean" in output


def test_reports_transitions(result):
    out, output = result
    moves = pd.read_csv(out / "transitions.csv").set_index(["from_segment", "to_segment"])
    assert moves.loc[("new_subscriber", "first_time_buyer"), "customers"] == 1
    assert moves.loc[("at_risk", "dormant"), "customers"] == 1
    flows = pd.read_csv(out / "segment_flows.csv").set_index("key")
    assert flows.loc["dormant", "entered"] == 1
    assert "new_subscriber" in output and "first_time_buyer" in output


def test_saved_tiers_are_reused(workspace, result):
    out, _ = result
    run = _run(workspace, "--tiers", str(out / "value_tiers.json"), out="again")
    assert run.exit_code == 0, run.output
    first = pd.read_parquet(out / "membership.parquet").set_index("customer_id")["tier"]
    again = pd.read_parquet(workspace / "again" / "membership.parquet").set_index("customer_id")
    assert again["tier"].equals(first)
    assert not (workspace / "again" / "value_tiers.json").exists()  # loaded, not refitted


def test_catalogue_override_changes_membership(workspace):
    user = workspace / "dormant90.toml"
    user.write_text("[segments.dormant.thresholds]\ndays = 150\n")
    run = _run(workspace, "--catalogue", str(user), out="override")
    assert run.exit_code == 0, run.output
    membership = pd.read_parquet(workspace / "override" / "membership.parquet")
    # D is inactive for 124 days: dormant at 120 (default), not at 150
    assert not membership.set_index("customer_id").loc["D", "is_dormant"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda w: ["--scores", str(w / "missing.parquet")], "missing.parquet does not exist"),
        (
            lambda w: ["--scores", str(w / "no_churn.parquet")],
            r"lacks column\(s\) \['churn_probability'\]",
        ),
        (lambda w: ["--scores", str(w / "stranger.parquet")], r"not customers .*'X9'"),
        (lambda w: ["--scores", str(w / "dormant90.toml")], "not a readable Parquet file"),
        (lambda w: ["--as-of", "yesterday"], r"--as-of='yesterday' is not a date or timestamp"),
        (lambda w: ["--transitions-from", BEFORE], "needs --scores-from"),
        (lambda w: ["--scores-from", str(w / "scores.parquet")], "only used with --transitions"),
        (lambda w: ["--stability-boot", "-1"], r"--stability-boot=-1 must be >= 0"),
        (
            lambda w: [
                "--transitions-from",
                "2025-07-01",
                "--scores-from",
                str(w / "scores.parquet"),
            ],
            "must be before --as-of",
        ),
        (
            lambda w: ["--catalogue", str(w / "typo.toml")],
            r"unknown key 'segments.dormant.thresholds.dayz'",
        ),
        (
            lambda w: ["--scores", str(w / "dated.parquet")],
            r"is as of \['2025-06-01'\], not 2025-06-15",
        ),
        # the later date's scores given for the earlier date: L was not a customer yet; this
        # fails after the first date is computed, and must still leave no output behind
        (
            lambda w: [
                "--transitions-from",
                BEFORE,
                "--scores-from",
                str(w / "scores.parquet"),
            ],
            r"not customers of the data as of this date, e.g. \['L'\]",
        ),
    ],
    ids=[
        "no-file",
        "no-column",
        "unknown-id",
        "not-parquet",
        "bad-date",
        "no-scores-from",
        "scores-from-alone",
        "negative-boot",
        "dates-reversed",
        "catalogue-typo",
        "scores-date",
        "earlier-scores",
    ],  # fmt: skip
)
def test_bad_input_is_one_clear_message(workspace, change, match):
    scores = scores_for(["N", "C", "D", "L"])
    scores.drop(columns=["churn_probability"]).to_parquet(workspace / "no_churn.parquet")
    pd.concat([scores, scores_for(["X9"])]).to_parquet(workspace / "stranger.parquet")
    scores.assign(as_of=pd.Timestamp(BEFORE)).to_parquet(workspace / "dated.parquet")
    (workspace / "typo.toml").write_text("[segments.dormant.thresholds]\ndayz = 1\n")
    (workspace / "dormant90.toml").write_text("[segments.dormant.thresholds]\ndays = 150\n")
    args = ["segment", "--data", str(workspace / "data"), "--as-of", AFTER,
            "--scores", str(workspace / "scores.parquet"), "--out", str(workspace / "bad"),
            "--no-mlflow"]  # fmt: skip
    extra = change(workspace)
    for i in range(0, len(extra), 2):  # later options override earlier ones
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i : i + 2]
    run = runner.invoke(app, args)
    assert run.exit_code == 1
    assert "Traceback" not in run.output
    assert not (workspace / "bad" / "membership.parquet").exists()
    assert pd.Series([run.output]).str.contains(match).iloc[0], run.output
