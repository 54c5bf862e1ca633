"""Diagnostics: warnings summarised once per command and never silenced process-wide, no
import-time side effects (matplotlib backend), progress bars cleared on error, MLflow's
registration chatter dropped (and nothing else)."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from typer.testing import CliRunner

import smsseg.features
from smsseg.cli import app
from smsseg.tracking.store import registry_chatter_dropped
from tests.features.hand import AS_OF, orders_only_tables

runner = CliRunner()

BTYD_WARNING = "BetaGeoModel did not converge, see diagnostics_"


def _data(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    for name, frame in orders_only_tables().items():
        frame.to_parquet(root / f"{name}.parquet", index=False)
    return root


def test_importing_plots_and_the_cli_keeps_the_matplotlib_backend():
    code = (
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "import smsseg.models.plots, smsseg.report.plots, smsseg.report.html, smsseg.cli\n"
        "import smsseg.tracking, smsseg.pipeline, smsseg.models.backtest\n"
        "import logging\n"
        "print(matplotlib.get_backend(), logging.root.manager.disable)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["svg", "0"]


def test_figures_render_without_pyplot(tmp_path):
    from smsseg.models.plots import calibration_figure, close

    fig = calibration_figure([0, 1, 1, 0], {"model": [0.1, 0.8, 0.7, 0.3]})
    fig.savefig(tmp_path / "c.png")
    close(fig)
    assert (tmp_path / "c.png").stat().st_size > 0


def test_a_convergence_warning_is_summarised_once_at_the_end(tmp_path, monkeypatch):
    real = smsseg.features.build_features

    def warning_build(*args, **kwargs):
        for _ in range(3):  # one per snapshot, say: the same message three times
            warnings.warn(BTYD_WARNING, ConvergenceWarning, stacklevel=2)
        logging.getLogger("smsseg.data.load").warning("a logged data warning")
        return real(*args, **kwargs)

    monkeypatch.setattr(smsseg.features, "build_features", warning_build)
    filters, handlers = list(warnings.filters), list(logging.root.handlers)
    out = tmp_path / "features.parquet"
    result = runner.invoke(
        app, ["features", "--data", str(_data(tmp_path)), "--as-of", AS_OF, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    stderr = result.stderr
    assert stderr.count(BTYD_WARNING) == 1, stderr
    line = next(x for x in stderr.splitlines() if BTYD_WARNING in x)
    assert "ConvergenceWarning" in line and "(x3)" in line
    assert stderr.count("a logged data warning") == 1
    # the summary comes last, after the progress bar
    assert stderr.rstrip().splitlines()[-1].startswith("warning:")
    assert stderr.index("done") < stderr.index("warning(s)")
    # nothing is left behind in the process: filters, handlers, logging enabled
    assert warnings.filters == filters and logging.root.handlers == handlers
    assert logging.root.manager.disable == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(BTYD_WARNING, ConvergenceWarning, stacklevel=1)
    assert len(caught) == 1


def test_an_error_exit_leaves_no_progress_line(tmp_path):
    data = _data(tmp_path)
    broken = pd.read_parquet(data / "orders.parquet")
    broken["amount"] = "not a number"
    broken.to_parquet(data / "orders.parquet", index=False)
    result = runner.invoke(
        app,
        ["features", "--data", str(data), "--as-of", AS_OF, "--out", str(tmp_path / "f.parquet")],
    )
    assert result.exit_code == 1, result.output
    assert "error:" in result.stderr
    assert "load" not in result.stderr and "0/" not in result.stderr, result.stderr


def test_a_finished_progress_bar_stays(tmp_path):
    result = runner.invoke(
        app,
        [
            "features",
            "--data",
            str(_data(tmp_path)),
            "--as-of",
            AS_OF,
            "--out",
            str(tmp_path / "f.parquet"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "done" in result.stderr


def test_only_mlflow_registration_lines_are_dropped(capsys):
    with registry_chatter_dropped():
        print("Successfully registered model 'smsseg-churn'.", file=sys.stderr)
        print("Registered model 'smsseg-churn' already exists. Creating a new version of this model...", file=sys.stderr)  # fmt: skip
        print("Created version '3' of model 'smsseg-churn'.", file=sys.stderr)
        print("WARNING mlflow: something a user should see", file=sys.stderr)
    assert capsys.readouterr().err == "WARNING mlflow: something a user should see\n"
