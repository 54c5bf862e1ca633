"""The CLI reads alike everywhere: --data, --model, --version, marked required options, flags
without a type placeholder, numbers never in scientific notation, tables that fit the terminal."""

from __future__ import annotations

import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from smsseg import __version__
from smsseg.cli import app
from smsseg.cli.app import Column, fitted_table, number

runner = CliRunner()

READS_DATA = (
    "validate",
    "summary",
    "features",
    "train",
    "score",
    "backtest",
    "segment",
    "plan",
    "campaign-metrics",
)
NAMES_A_MODEL = ("train", "score", "demo", "report")


def _help(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"smsseg {__version__}"


@pytest.mark.parametrize("command", READS_DATA)
def test_every_command_reading_data_takes_data_as_an_option(command):
    text = _help(command)
    assert re.search(r"^\s+--data ", text, re.M), text
    assert "DATA_DIR" not in text


@pytest.mark.parametrize("command", NAMES_A_MODEL)
def test_one_model_option_name(command):
    text = _help(command)
    assert re.search(r"^\s+--model ", text, re.M), text
    assert not re.search(r"--(name|models|model-name)\b", text), text


@pytest.mark.parametrize("command", [*READS_DATA, "demo", "report", "readout", "generate"])
def test_flags_show_no_type_placeholder(command):
    assert "<bool>" not in _help(command)


def test_required_options_are_marked():
    text = " ".join(_help("score").split())
    # the metavar is typer's choice (TEXT in older versions, <str> in newer ones)
    for option in ("--data", "--as-of", "--out"):
        assert re.search(rf"{option} (<\w+>|[A-Z]+) .*?\[required\]", text), option
    assert "\\[" not in text  # typer <= 0.21.0 escaped the brackets it printed


@pytest.mark.parametrize("value", [18940.2, 1.894e4, 123456789.0, 0.000012345, 3.0e-9, -2.5e7, 0.5])
def test_numbers_are_never_in_scientific_notation(value):
    text = number(value)
    assert "e" not in text.lower() and text != ""


def test_number_examples():
    assert number(18940.2) == "18,940"
    assert number(0.05123) == "0.05123"
    assert number(0.2, pct=True) == "20.00%"


def test_fitted_table_drops_optional_columns_before_cutting_a_number():
    columns = [
        Column("campaign", label=True),
        Column("sent to"),
        Column("revenue", optional=True),
        Column("ROI"),
    ]
    rows = [("drive_repeat_purchases-20260101", "1,234,567", "98,765,432", "12.3456")]
    console = Console(width=40, record=True)
    console.print(fitted_table("t", columns, rows, width=40))
    out = console.export_text()
    assert "1,234,567" in out and "12.3456" in out  # numbers whole
    assert "98,765,432" not in out and "revenue: not shown at this width" in out
    assert "…" not in out  # the campaign id wraps instead of being cut
    assert "drive_repeat" in out.replace("\n", "")
    wide = Console(width=120, record=True)
    wide.print(fitted_table("t", columns, rows, width=120))
    assert "98,765,432" in wide.export_text() and "not shown" not in wide.export_text()


def test_the_pipeline_names_its_steps_and_loads_them_on_use():
    import subprocess
    import sys

    from smsseg import pipeline

    assert callable(pipeline.features) and callable(pipeline.readout)
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None
    # `smsseg --help` and `import smsseg.pipeline` load no model library
    code = (
        "import sys, smsseg.cli, smsseg.pipeline\n"
        "print(sorted(m for m in ('lightgbm', 'sklearn', 'mlflow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
