"""The shipped Hillstrom experiment: integrity, the published figures, segment readouts, the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.readout  # noqa: F401  (registers the commands)
from smsseg.cli.app import app
from smsseg.datasets import HILLSTROM_PUBLISHED, HILLSTROM_SHA256, hillstrom_sha256, load_hillstrom
from smsseg.readout import COLUMNS, holm, readout

CONTROL = "No E-Mail"
METRICS = ["visit", "conversion", "spend"]
runner = CliRunner()


@pytest.fixture(scope="module")
def hillstrom() -> pd.DataFrame:
    return load_hillstrom()


@pytest.fixture(scope="module")
def table(hillstrom) -> pd.DataFrame:
    return readout(hillstrom, "segment", CONTROL, METRICS)


def test_shipped_copy_is_the_published_file(hillstrom):
    assert (
        hillstrom_sha256()
        == HILLSTROM_SHA256
        == "ff9e59285e9dc3f5fa3e0975419e6631ea5bdccd65d818991473d2367e02979c"
    )
    assert hillstrom.shape == (64_000, 12)


def _arm_means(table: pd.DataFrame) -> dict[tuple[str, str], float]:
    means = {(r.variant, r.metric): r.mean for r in table.itertuples()}
    means |= {(CONTROL, r.metric): r.control_mean for r in table.itertuples()}
    return means


@pytest.mark.parametrize("arm", list(HILLSTROM_PUBLISHED))
@pytest.mark.parametrize(("metric", "decimals"), [("visit", 4), ("conversion", 5), ("spend", 2)])
def test_per_arm_figures_match_the_published_ones(table, arm, metric, decimals):
    """Visit 18.28 / 15.14 / 10.62 %, conversion 1.253 / 0.884 / 0.573 %, spend 1.42 / 1.08 / 0.65."""
    assert round(_arm_means(table)[arm, metric], decimals) == pytest.approx(
        HILLSTROM_PUBLISHED[arm][metric]
    )


def test_readout_shape_srm_and_conclusions(table):
    assert list(table.columns) == COLUMNS
    assert len(table) == 2 * 3
    assert (table["srm_p_value"] > 0.001).all()  # the randomization is sound
    assert (table["message"] == "").all()
    assert table["significant"].all()  # both e-mails lift all three metrics
    assert set(table.loc[table.metric != "spend", "method"]) == {"two-proportion z + wald CI"}
    assert set(table.loc[table.metric == "spend", "method"]) == {"welch t"}
    assert (table["abs_ci_low"] < table["abs_diff"]).all() and (
        table["abs_diff"] < table["abs_ci_high"]
    ).all()
    assert np.allclose(table["p_value_adj"], holm(table["p_value"]))


@pytest.mark.parametrize("segment_col", ["zip_code", "channel"])
def test_per_segment_readout_corrects_for_the_whole_family(hillstrom, segment_col):
    table = readout(
        hillstrom, "segment", CONTROL, METRICS, segment_col=segment_col, correction="bh"
    )
    levels = sorted(hillstrom[segment_col].unique())
    assert len(table) == 2 * 3 * len(levels)
    assert sorted(table["segment"].unique()) == levels
    assert (table["p_value_adj"] >= table["p_value"] - 1e-15).all()
    assert not table[
        "significant"
    ].all()  # the correction bites: some segment cells are not significant
    first = table.iloc[0]
    arm = hillstrom[
        (hillstrom[segment_col] == first.segment) & (hillstrom["segment"] == first.variant)
    ]
    assert first.n == len(arm) and first["mean"] == pytest.approx(arm[first.metric].mean())


def test_cuped_with_past_spend_keeps_the_estimate_and_reports_the_reduction(hillstrom, table):
    cuped = readout(hillstrom, "segment", CONTROL, ["spend"], covariates="history")
    raw = table[table.metric == "spend"].set_index("variant")
    for r in cuped.itertuples():
        assert r.variance_reduction > 0
        assert r.abs_diff == pytest.approx(raw.loc[r.variant, "abs_diff"], rel=0.05)
        assert (r.abs_ci_high - r.abs_ci_low) < raw.loc[r.variant, "abs_ci_high"] - raw.loc[
            r.variant, "abs_ci_low"
        ]


def test_cli_runs_on_the_shipped_copy_and_writes_csv(tmp_path):
    out = tmp_path / "readout.csv"
    result = runner.invoke(app, ["readout", "--hillstrom", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.output.index("SRM check") < result.output.index(
        "Readout vs"
    )  # SRM reported first
    written = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(written.columns) == COLUMNS and len(written) == 6
    assert set(written["metric"]) == set(METRICS)


def test_cli_runs_on_a_csv_gz_file_with_the_issue_arguments(tmp_path):
    from importlib import resources

    path = resources.files("smsseg.datasets").joinpath("hillstrom.csv.gz")
    out = tmp_path / "by_channel.parquet"
    result = runner.invoke(
        app,
        [
            "readout",
            "--input",
            str(path),
            "--variant-col",
            "segment",
            "--control",
            CONTROL,
            "--metrics",
            "visit,conversion,spend",
            "--segment-col",
            "channel",
            "--covariate",
            "history",
            "--out",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out)
    assert len(written) == 18 and (written["variance_reduction"] > 0).all()
    assert "Multichannel" in result.output


def test_cli_reads_parquet_input(tmp_path, hillstrom):
    path = tmp_path / "h.parquet"
    hillstrom.head(6000).to_parquet(path)
    result = runner.invoke(
        app,
        [
            "readout",
            "--input",
            str(path),
            "--variant-col",
            "segment",
            "--control",
            CONTROL,
            "--metrics",
            "spend",
            "--bootstrap",
            "--seed",
            "3",
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "Mens E-Mail" in result.output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            ["--input", "nope.csv", "--variant-col", "v", "--control", "c", "--metrics", "m"],
            "does not exist",
        ),
        (["--hillstrom", "--control", "Email"], "control='Email' is not a variant"),
        (
            ["--hillstrom", "--metrics", "visits"],
            "metric column\\(s\\) \\['visits'\\] not in the data",
        ),
        (["--hillstrom", "--segment-col", "zip"], "segment column\\(s\\) \\['zip'\\]"),
        (["--input", "hillstrom"], None),
        (["--variant-col", "v"], "missing option\\(s\\) --input"),
    ],
    ids=[
        "missing file",
        "unknown control",
        "unknown metric",
        "unknown segment column",
        "shortcut ok",
        "no input",
    ],
)
def test_cli_bad_input_gives_one_paragraph_errors(args, match):
    result = runner.invoke(app, ["readout", *args], terminal_width=200)
    if match is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert pd.Series([result.output]).str.contains(match).iloc[0], result.output
