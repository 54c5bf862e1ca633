"""The HTML run report on a hand-built run folder: complete, self-contained, robust."""

import re
import shutil

import pytest
from typer.testing import CliRunner

import smsseg.cli.activation  # noqa: F401  (registers the commands)
from smsseg.cli.app import app
from smsseg.errors import SmssegError
from smsseg.report import discover_run, render_report
from tests.activation.frames import PHONES
from tests.report.run_fixture import build_run

SECTION_IDS = ["contents", "data", "features", "models", "tiers", "segments", "plan"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def html(run, tmp_path_factory):
    path = render_report(run, tmp_path_factory.mktemp("out") / "report.html")
    return path.read_text(encoding="utf-8")


def test_discovery_finds_every_part(run):
    files = discover_run(run)
    assert all(files.present().values()), files
    assert files.plan_dir == run / "plan" and files.segments_dir == run / "segments"
    assert files.predictions.name == "churn_test.parquet"


def test_report_has_every_section_with_charts_and_nothing_missing(html):
    assert re.findall(r'<section id="([a-z]+)"', html) == SECTION_IDS
    assert "not available in this run" not in html and 'class="error"' not in html
    charts = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', html)
    expected = {"orders by month", "countries", "sms", "importance", "churn_probability", "ROC",
                "calibration", "lift", "churn metrics", "tiers", "sizes", "transitions",
                "campaigns", "per day"}  # fmt: skip
    assert expected <= set(charts)
    # the plan's numbers are the plan's: 10 cart abandoners, 20 % held out
    assert "recover_abandoned_carts-20250630" in html and "holdout" in html


def test_report_is_self_contained_and_has_no_phone_numbers(html):
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert not re.search(r'src="(?!data:image/png;base64,)', html)
    prefix = PHONES["US"].split("{")[0]
    assert prefix not in html


def test_missing_parts_become_notes(tmp_path):
    (tmp_path / "empty").mkdir()
    html = render_report(tmp_path / "empty", tmp_path / "r.html").read_text()
    assert re.findall(r'<section id="([a-z]+)"', html) == SECTION_IDS
    assert html.count("not available in this run") >= 6


def test_a_broken_part_becomes_an_error_note_in_its_section_only(run, tmp_path):
    broken = tmp_path / "run"
    shutil.copytree(run, broken)
    (broken / "plan" / "plan.parquet").write_bytes(b"not parquet")
    html = render_report(broken, tmp_path / "r.html").read_text()
    plan = html[html.index('<section id="plan"') :]
    assert 'class="error"' in plan and "could not be rendered" in plan
    assert html.count('class="error"') == 1  # every other section rendered


def test_missing_run_folder_is_a_user_error(tmp_path):
    with pytest.raises(SmssegError, match="run folder .* does not exist"):
        render_report(tmp_path / "nope", tmp_path / "r.html")


def test_report_command(run, tmp_path):
    out = tmp_path / "cli.html"
    result = CliRunner().invoke(app, ["report", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and str(out) in result.output.replace("\n", "")


def test_report_command_on_a_missing_folder(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "does not exist" in result.output
