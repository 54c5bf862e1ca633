"""One thread default for every engine (smsseg.runtime): env, --threads, DuckDB, OpenMP policy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from smsseg.cli import app
from smsseg.data.load import connect
from smsseg.errors import SmssegError
from smsseg.runtime import THREADS_ENV, available_cpus, default_threads, resolve_threads

HEAVY_COMMANDS = ("features", "train", "score", "backtest", "segment", "demo")


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return monkeypatch


def test_default_is_every_usable_cpu_without_env(clean_env):
    assert default_threads() == available_cpus() >= 1


def test_smsseg_threads_wins_over_omp_num_threads(clean_env):
    clean_env.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads(None) == 3
    clean_env.setenv(THREADS_ENV, "5")
    assert resolve_threads(0) == 5
    assert resolve_threads(2) == 2  # an explicit count beats both


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_env_value_is_named(clean_env, value):
    clean_env.setenv(THREADS_ENV, value)
    with pytest.raises(SmssegError, match=f"{THREADS_ENV}='{value}'"):
        default_threads()


def test_negative_threads_refused():
    with pytest.raises(SmssegError, match="--threads=-2"):
        resolve_threads(-2)


def test_duckdb_connection_uses_the_default(clean_env):
    clean_env.setenv(THREADS_ENV, "1")
    assert connect().execute("SELECT current_setting('threads')").fetchone()[0] == 1
    assert connect(threads=3).execute("SELECT current_setting('threads')").fetchone()[0] == 3


def _import_env(extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | extra
    code = "import os, smsseg; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return out.stdout.strip()


def test_import_makes_openmp_threads_sleep_unless_chosen():
    assert _import_env({}) == "PASSIVE"
    assert _import_env({"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


@pytest.mark.parametrize("command", HEAVY_COMMANDS)
def test_every_heavy_command_takes_threads(command):
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "--threads" in result.output and "SMSSEG_THREADS" in result.output


def test_use_threads_sets_the_process_default(monkeypatch):
    from smsseg.runtime import use_threads

    monkeypatch.setenv(THREADS_ENV, "7")  # restored after the test
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    assert use_threads(1) == 1  # 1: the test suite's own OpenMP setting
    assert os.environ[THREADS_ENV] == os.environ["OMP_NUM_THREADS"] == "1"
    assert connect().execute("SELECT current_setting('threads')").fetchone()[0] == 1
