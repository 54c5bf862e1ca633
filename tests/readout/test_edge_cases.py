"""Messy data gives rows with messages, not crashes; user errors give clear SmssegErrors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsseg.errors import SmssegError
from smsseg.readout import COLUMNS, SampleStats, compare, readout, readout_from_summaries
from smsseg.readout.checks import srm_skipped


def _frame(variants, **metrics) -> pd.DataFrame:
    return pd.DataFrame({"variant": variants, **metrics})


def _row(table: pd.DataFrame, **where) -> pd.Series:
    mask = np.logical_and.reduce([table[k] == v for k, v in where.items()])
    assert mask.sum() == 1, table
    return table[mask].iloc[0]


def test_empty_arm_declared_in_variants_gives_a_message_row():
    df = _frame(
        ["control"] * 50 + ["a"] * 50, y=np.r_[np.zeros(45), np.ones(5), np.zeros(40), np.ones(10)]
    )
    table = readout(df, "variant", "control", ["y"], variants=["control", "a", "b"])
    assert list(table["variant"]) == ["a", "b"]
    empty = _row(table, variant="b")
    assert empty["n"] == 0 and np.isnan(empty["p_value"]) and not empty["significant"]
    assert "variant 'b' has no units" in empty["message"]
    assert "SAMPLE RATIO MISMATCH" in empty["message"]  # an empty planned arm is an SRM
    assert np.isfinite(_row(table, variant="a")["p_value"]) and _row(table, variant="a")["n"] == 50


def test_empty_arm_from_a_categorical_column():
    df = _frame(
        pd.Categorical(["c"] * 30 + ["t"] * 30, categories=["c", "t", "u"]), y=np.arange(60.0)
    )
    table = readout(df, "variant", "c", ["y"], split={"c": 1, "t": 1, "u": 0.0001})
    assert "variant 'u' has no units" in _row(table, variant="u")["message"]
    assert np.isfinite(_row(table, variant="t")["p_value"])


def test_zero_conversions_in_both_arms_uses_the_exact_test():
    df = _frame(["c"] * 200 + ["t"] * 200, y=np.zeros(400, dtype=int))
    row = readout(df, "variant", "c", ["y"]).iloc[0]
    assert row["method"].startswith("fisher-exact")
    assert row["p_value"] == 1.0 and row["abs_diff"] == 0.0
    assert row["abs_ci_low"] < 0 < row["abs_ci_high"]  # Newcombe's interval does not collapse
    assert "relative lift undefined" in row["message"]
    assert row["prob_beat_control"] == pytest.approx(0.5, abs=1e-9)


def test_zero_conversions_with_a_forced_z_test_is_a_message():
    df = _frame(["c"] * 200 + ["t"] * 200, y=np.zeros(400, dtype=int))
    row = readout(df, "variant", "c", ["y"], proportion_method="wald").iloc[0]
    assert np.isnan(row["p_value"]) and "undefined" in row["message"]


def test_zero_variance_in_both_arms_is_a_message_with_the_point_estimate():
    df = _frame(["c"] * 20 + ["t"] * 20, y=np.r_[np.full(20, 5.0), np.full(20, 7.0)])
    row = readout(df, "variant", "c", ["y"]).iloc[0]
    assert "zero variance" in row["message"]
    assert row["abs_diff"] == 2.0 and np.isnan(row["p_value"])


def test_zero_variance_in_one_arm_still_tests():
    df = _frame(["c"] * 20 + ["t"] * 20, y=np.r_[np.full(20, 5.0), np.arange(20.0)])
    row = readout(df, "variant", "c", ["y"]).iloc[0]
    assert np.isfinite(row["p_value"]) and row["message"] == ""


def test_single_unit_arm_is_a_message():
    df = _frame(["c"] * 30 + ["t"], y=np.r_[np.arange(30.0), 3.0])
    row = readout(df, "variant", "c", ["y"]).iloc[0]
    assert "single unit" in row["message"]
    assert row["n"] == 1 and row["mean"] == 3.0 and np.isnan(row["p_value"])


def test_control_missing_in_a_segment_is_a_message_row_others_still_read_out():
    df = pd.DataFrame(
        {
            "variant": ["c"] * 40 + ["t"] * 40 + ["t"] * 10,
            "seg": ["x"] * 80 + ["y"] * 10,
            "y": np.r_[np.arange(40.0), np.arange(40.0) + 5, np.arange(10.0)],
        }
    )
    table = readout(df, "variant", "c", ["y"], segment_col="seg")
    assert "control 'c' has no units" in _row(table, segment="y")["message"]
    assert np.isfinite(_row(table, segment="x")["p_value"])
    assert (
        _row(table, segment="x")["p_value_adj"] == _row(table, segment="x")["p_value"]
    )  # family of one test


def test_non_numeric_metric_gives_message_rows_other_metrics_still_work():
    df = _frame(["c"] * 10 + ["t"] * 10, y=np.arange(20.0), label=["a", "b"] * 10)
    table = readout(df, "variant", "c", ["label", "y"])
    assert (
        "metric 'label' is not numeric (e.g. value 'a')" in _row(table, metric="label")["message"]
    )
    assert np.isfinite(_row(table, metric="y")["p_value"])


def test_numeric_strings_and_missing_values_are_handled():
    df = _frame(["c"] * 10 + ["t"] * 10 + [None], y=[str(v) for v in range(20)] + ["1"])
    df.loc[3, "y"] = None
    row = readout(df, "variant", "c", ["y"]).iloc[0]
    assert row["control_n"] == 9 and row["n"] == 10
    assert "1 rows with missing 'y' left out" in row["message"]


def test_bool_metric_is_a_proportion():
    df = _frame(
        ["c"] * 100 + ["t"] * 100, y=np.r_[np.zeros(90), np.ones(10), np.zeros(80), np.ones(20)] > 0
    )
    row = readout(df, "variant", "c", ["y"]).iloc[0]
    assert row["method"] == "two-proportion z + wald CI" and row["abs_diff"] == pytest.approx(0.1)


def test_srm_failure_is_flagged_on_every_row():
    rng = np.random.default_rng(0)
    df = _frame(["c"] * 1000 + ["t"] * 1200, y=rng.normal(size=2200), z=rng.integers(0, 2, 2200))
    table = readout(df, "variant", "c", ["y", "z"])
    assert (table["srm_p_value"] < 0.001).all()
    assert table["message"].str.startswith("SAMPLE RATIO MISMATCH").all()
    ok = readout(df, "variant", "c", ["y"], split={"c": 5, "t": 6})
    assert ok["srm_p_value"].iloc[0] > 0.001 and ok["message"].iloc[0] == ""


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"control": "ctrl"}, "control='ctrl' is not a variant; the variants are: 'c', 't'"),
        ({"metrics": ["nope"]}, "metric column\\(s\\) \\['nope'\\] not in the data"),
        ({"variant_col": "arm"}, "variant column\\(s\\) \\['arm'\\]"),
        ({"segment_col": "seg"}, "segment column\\(s\\) \\['seg'\\]"),
        ({"covariates": "pre"}, "covariate column\\(s\\) \\['pre'\\]"),
        ({"alpha": 1.5}, "alpha=1.5 must lie strictly between 0 and 1"),
        ({"correction": "bonf"}, "correction='bonf' must be one of holm, bh, none"),
        ({"metrics": []}, "metrics is empty"),
        ({"kinds": {"y": "proportion"}}, "declared a proportion but has values other than 0 and 1"),
        ({"variants": ["c"]}, "variant\\(s\\) \\['t'\\] are in the data but not in variants"),
    ],
    ids=[
        "unknown control",
        "missing metric",
        "missing variant col",
        "missing segment col",
        "missing covariate",
        "bad alpha",
        "bad correction",
        "no metrics",
        "forced proportion",
        "undeclared variant",
    ],
)
def test_user_errors_raise_clear_messages(kwargs, match):
    df = _frame(["c"] * 10 + ["t"] * 10, y=np.arange(20.0))
    args = {"variant_col": "variant", "control": "c", "metrics": ["y"]} | kwargs
    with pytest.raises(SmssegError, match=match):
        readout(df, **args)


def test_summaries_readout_equals_the_row_level_readout():
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "variant": rng.choice(["c", "a", "b"], 3000),
            "seg": rng.choice(["s1", "s2"], 3000),
            "conv": rng.integers(0, 2, 3000),
            "rev": rng.gamma(2, 10, 3000),
        }
    )
    rows = readout(df, "variant", "c", ["conv", "rev"], segment_col="seg")
    long = df.melt(id_vars=["variant", "seg"], value_vars=["conv", "rev"], var_name="metric")
    agg = long.groupby(["variant", "seg", "metric"])["value"].agg(
        n="size", sum="sum", sum_sq=lambda v: (v**2).sum()
    )
    summaries = agg.reset_index().rename(columns={"seg": "segment"})
    from_summaries = readout_from_summaries(summaries, "c")
    key = ["metric", "segment", "variant"]
    a, b = (
        rows.sort_values(key).reset_index(drop=True),
        from_summaries.sort_values(key).reset_index(drop=True),
    )
    assert list(b.columns) == COLUMNS
    numeric = [
        "n",
        "mean",
        "abs_diff",
        "abs_ci_low",
        "p_value",
        "p_value_adj",
        "rel_ci_high",
        "prob_beat_control",
    ]
    pd.testing.assert_frame_equal(a[key + numeric], b[key + numeric], rtol=1e-9)
    assert (a["method"] == b["method"]).all()


def test_compare_reports_a_message_for_an_empty_control():
    row = compare(SampleStats(0, 0.0, 0.0), SampleStats.from_values([1.0, 2.0]), "mean")
    assert "control 'control' has no units" in row.message
    assert row.to_frame().shape == (1, 20) and row.kind == "mean"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=40), st.integers(1, 39))
def test_summaries_add_up_like_the_data(values, cut):
    cut = min(cut, len(values) - 1)
    whole = SampleStats.from_values(values)
    parts = SampleStats.from_values(values[:cut]) + SampleStats.from_values(values[cut:])
    assert parts.n == whole.n
    assert parts.mean == pytest.approx(np.mean(values), abs=1e-9 * (1 + np.abs(values).max()))
    assert parts.variance == pytest.approx(
        np.var(values, ddof=1), rel=1e-6, abs=1e-6 * (1 + np.max(np.abs(values))) ** 2
    )


def test_cli_prints_the_srm_alarm_once_before_the_table(tmp_path):
    from typer.testing import CliRunner

    import smsseg.cli.readout  # noqa: F401  (registers the commands)
    from smsseg.cli.app import app

    rng = np.random.default_rng(0)
    path = tmp_path / "srm.csv"
    _frame(["c"] * 1000 + ["t"] * 1200, y=rng.normal(size=2200)).to_csv(path, index=False)
    result = CliRunner().invoke(
        app,
        [
            "readout",
            "--input",
            str(path),
            "--variant-col",
            "variant",
            "--control",
            "c",
            "--metrics",
            "y",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.index("SAMPLE RATIO MISMATCH") < result.output.index("Readout vs")
    assert result.output.count("SAMPLE RATIO MISMATCH") == 1


def _invoke(*args: str):
    from typer.testing import CliRunner

    import smsseg.cli.readout  # noqa: F401  (registers the commands)
    from smsseg.cli.app import app

    return CliRunner().invoke(app, list(args), terminal_width=200)


@pytest.mark.parametrize("out_name", ["readout.csv", "readout.parquet"])
def test_cli_refuses_a_non_numeric_metric_and_writes_nothing(tmp_path, out_name):
    """Issue 11: a text metric gave exit 0 and a file of empty rows; now exit 1, no file."""
    path = tmp_path / "results.csv"
    _frame(["c", "t"] * 10, y=np.arange(20.0), label=["a", "b"] * 10).to_csv(path, index=False)
    out = tmp_path / out_name
    base = ["readout", "--input", str(path), "--variant-col", "variant", "--control", "c"]
    result = _invoke(*base, "--metrics", "y,label", "--out", str(out))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"--input {path}: column 'label' is not numeric" in result.output
    assert "e.g. data row 1: 'a'" in result.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]
    covariate = _invoke(*base, "--metrics", "y", "--covariate", "label", "--out", str(out))
    assert covariate.exit_code == 1 and "column 'label' is not numeric" in covariate.output
    assert not out.exists()
    fine = _invoke(*base, "--metrics", "y", "--out", str(out))
    assert fine.exit_code == 0 and out.exists(), fine.output


def test_readout_table_carries_typed_srm_verdict_and_kind():
    rng = np.random.default_rng(1)
    df = _frame(["c"] * 1000 + ["t"] * 1200, y=rng.normal(size=2200), z=rng.integers(0, 2, 2200))
    off = readout(df, "variant", "c", ["y", "z"])
    assert off["srm_ok"].dtype == "boolean" and off["srm_ok"].eq(False).all()
    assert off.attrs["srm_message"].startswith("SAMPLE RATIO MISMATCH")
    assert off.set_index("metric")["kind"].to_dict() == {"y": "mean", "z": "proportion"}
    fine = readout(df, "variant", "c", ["y"], split={"c": 5, "t": 6})
    assert fine["srm_ok"].all()
    unknown = readout(df, "variant", "c", ["y"], srm_result=srm_skipped({"c": 1000}, "no split"))
    assert unknown["srm_ok"].isna().all()  # no p-value: unknown, neither ok nor a mismatch
    assert np.isnan(unknown["srm_p_value"]).all() and unknown.attrs["srm_message"] == "no split"
    assert (unknown["message"] == "").all()


def test_cli_srm_verdict_does_not_depend_on_message_wording(tmp_path):
    """A metric note that happens to contain the alarm's words is not taken for an SRM alarm."""
    path = tmp_path / "ok.csv"
    frame = _frame(["c", "t"] * 50, y=np.r_[np.arange(99.0), np.nan])
    frame.rename(columns={"y": "SAMPLE RATIO MISMATCH"}).to_csv(path, index=False)
    result = _invoke(
        "readout", "--input", str(path), "--variant-col", "variant", "--control", "c",
        "--metrics", "SAMPLE RATIO MISMATCH",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "SRM check: p = 1.0000 (ok)" in result.output
