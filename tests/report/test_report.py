"""The HTML run report on a hand-built run folder: complete, self-contained, robust."""

import json
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import smsseg.cli.activation  # noqa: F401  (registers the commands)
from smsseg.cli.app import app
from smsseg.errors import SmssegError
from smsseg.report import discover_run, render_report
from tests.activation.frames import PHONES
from tests.report.run_fixture import (
    BACKTEST_SUMMARY,
    PLAN,
    build_run,
    legacy_meta,
    write_backtest_folder,
)

SECTION_IDS = ["contents", "data", "features", "models", "backtest", "tiers", "segments", "plan",
               "flows"]  # fmt: skip


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
    assert files.backtest == run / "backtest"


def _section(html: str, key: str) -> str:
    body = html[html.index(f'<section id="{key}"') :]
    return body[: body.index("</section>")]


def test_report_has_every_section_with_charts_and_nothing_missing(html):
    assert re.findall(r'<section id="([a-z]+)"', html) == SECTION_IDS
    assert "not available in this run" not in html and 'class="error"' not in html
    charts = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', html)
    expected = {"orders by month", "countries", "sms", "importance", "churn_probability", "ROC",
                "calibration", "lift", "churn metrics", "tiers", "sizes", "transitions",
                "campaigns", "per day", "discount metrics", "backtest ROC",
                "backtest calibration"}  # fmt: skip
    assert expected <= set(charts)
    # the plan's numbers are the plan's: 10 cart abandoners, 20 % held out
    assert "recover_abandoned_carts-20250630" in html and "holdout" in html
    # the arbitration: priority, value per send, what the caps took (nothing in this plan)
    plan = _section(html, "plan")
    assert "<th>priority</th>" in plan and "<th>lost to caps</th>" in plan
    assert "No campaign lost a send to the caps." in plan


def test_report_is_self_contained_and_has_no_phone_numbers(html):
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert not re.search(r'src="(?!data:image/png;base64,)', html)
    prefix = PHONES["US"].split("{")[0]
    assert prefix not in html


def test_missing_parts_become_notes(tmp_path):
    (tmp_path / "empty").mkdir()
    html = render_report(tmp_path / "empty", tmp_path / "r.html").read_text()
    assert re.findall(r'<section id="([a-z]+)"', html) == SECTION_IDS
    assert html.count("not available in this run") >= 7
    assert "Backtest: not available in this run" in _section(html, "backtest")
    assert "Flows backtest: not available in this run" in _section(html, "flows")


def test_the_flows_backtest_section_shows_the_replays_numbers(run, html):
    import json

    flows = _section(html, "flows")
    summary = json.loads((run / "flows-backtest" / "backtest.json").read_text())
    assert f"<b>{summary['flow_sms_sent']:,}</b><span>flow SMS sent</span>" in flows
    assert "<b>0</b><span>sent after a purchase or exit</span>" in flows
    effects = pd.read_csv(run / "flows-backtest" / "effects.csv")
    assert f"{effects['effect'].iloc[0]:.3f}" in flows  # the measured effect, as written
    assert "<th>95% CI low</th>" in flows and "<th>flow SMS per customer per week</th>" in flows
    assert flows.count("<img") == 3


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


def test_models_section_names_the_deployed_scorers_design_and_populations(html):
    models = _section(html, "models")
    # deployed scorer per task, and the rule that a model must beat its baseline
    assert "calibrated BG/NBD (baseline)</b><span>churn scorer" in models
    assert "past discount share (rule)</b><span>discount scorer" in models
    assert "regression model</b><span>next order scorer" in models
    assert "beats its simple baseline" in models
    replaced = "churn → calibrated BG/NBD (baseline), discount → past discount share (rule)"
    assert replaced in models
    assert "does not beat calibrated BG/NBD (AUC 0.7456)" in models
    # the validation design in one sentence (the plan's own note is not repeated)
    assert "Validation: out of time" in models and "2025-04-01" in models
    assert "validation out of time: tested" not in models
    # one churn table per population, headline first; empty populations are left out
    buyers, prospects = models.index("Buyers (at least one"), models.index("Prospects (no")
    assert buyers < prospects and "headline" in models[buyers:prospects]
    assert "All customers" not in models
    assert "0.7123" in models and "0.5812" in models and "77 customers" in models
    assert "BG/NBD, calibrated ← deployed" in models and "BG/NBD, uncalibrated" in models
    assert "past discount share ← deployed" in models
    assert "Discount sensitivity on the held-out test · 400 test rows" in models
    assert "roc_auc" not in models and "lift_top_decile" not in models  # readable labels


def test_backtest_section_shows_the_realized_numbers(html):
    backtest = _section(html, "backtest")
    s = BACKTEST_SUMMARY
    for label, value in [("as of (T)", "2025-03-31"), ("horizon", "90 days"),
                         ("deployed churn scorer", "calibrated BG/NBD (baseline)"),
                         ("validation at training", "out of time"),
                         ("AUC forecast by train", f"{s['reported_auc']:.4f}"),
                         ("test AUC at training", f"{s['test_auc']:.4f}"),
                         ("AUC realized", f"{s['smsseg.roc_auc']:.4f}"),
                         ("AUC gain over BG/NBD", f"{s['gain_vs_bgnbd']:+.4f}"),
                         ("reported − realized", f"{s['reported_minus_realized']:+.4f}"),
                         ]:  # fmt: skip
        assert f"<b>{value}</b><span>{label}</span>" in backtest, label
    buyers, prospects = backtest.index("Buyers (at least one"), backtest.index("Prospects (no")
    assert buyers < prospects and "30 customers" in backtest[buyers:prospects]
    for score, label in [("smsseg", "smsseg (deployed score)"), ("bgnbd", "BG/NBD P(no purchase)"),
                         ("recency_rule", "recency rule")]:  # fmt: skip
        assert f"<td>{label}</td><td>{s[f'{score}.roc_auc']:.4f}</td>" in backtest
    assert "ROC-AUC" in backtest and "lift (top decile)" in backtest
    assert "roc_auc" not in backtest and "lift_top_decile" not in backtest
    assert "Validation: out of time" in backtest
    assert "Curves on the realized future (buyers)" in backtest
    assert "BG/NBD did not converge at 1 snapshot(s)" in backtest


def test_an_old_bundle_without_scorers_or_populations_still_renders(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    meta = {"version": "smsseg@old", "as_of": "2024-06-30", "horizon_days": 90,
            "features": ["recency_days"]} | legacy_meta()  # fmt: skip
    (models / "bundle.json").write_text(json.dumps(meta))
    html = render_report(models, tmp_path / "r.html").read_text()
    section = _section(html, "models")
    assert 'class="error"' not in section and "smsseg@old" in section
    assert "Churn on the held-out test</h3>" in section and "churn metrics" in section
    assert "<td>LightGBM model ← deployed</td><td>0.8000</td>" in section
    assert "<td>BG/NBD</td><td>0.7000</td>" in section
    assert "scorer</span>" not in section and "Validation:" not in section


def test_a_backtest_is_found_alone_and_its_rows_are_not_held_out_predictions(tmp_path):
    run = tmp_path / "run"
    write_backtest_folder(run / "bt" / "2025-03", np.random.default_rng(1))
    files = discover_run(run)
    assert files.backtest == run / "bt" / "2025-03" and files.predictions is None
    # a JSON named backtest.json without a summary is not a backtest
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "backtest.json").write_text('{"x": 1}')
    assert discover_run(tmp_path / "other").backtest is None


def test_backtest_override_folder_or_json_and_missing_rows(tmp_path):
    folder = write_backtest_folder(tmp_path / "bt", np.random.default_rng(2))
    (tmp_path / "run").mkdir()
    for given in (folder, folder / "backtest.json"):
        assert discover_run(tmp_path / "run", backtest=given).backtest == folder
    # without the per-customer rows, the backtest's own calibration.png is shown
    (folder / "backtest_predictions.parquet").unlink()
    html = render_report(tmp_path / "run", tmp_path / "r.html", backtest=folder).read_text()
    backtest = _section(html, "backtest")
    assert 'class="error"' not in backtest and "0.7712" in backtest
    assert 'alt="backtest calibration"' in backtest and 'alt="backtest ROC"' not in backtest


def test_backtest_written_by_the_backtest_module_renders(tmp_path):
    """The layout of ``write_backtest`` itself, not only the hand-written fixture."""
    from smsseg.models.backtest import BACKTEST_SCORES, BacktestResult, write_backtest
    from smsseg.models.champion import population_masks, population_tables

    rng = np.random.default_rng(3)
    n = 60
    frequency = np.where(np.arange(n) < 45, 2, 0)
    churn = rng.integers(0, 2, n)
    scores = {k: np.clip(0.5 * churn + rng.random(n) * 0.6, 0, 1) for k in BACKTEST_SCORES}
    population = np.where(frequency > 0, "buyers", "prospects")
    rows = pd.DataFrame(
        {"customer_id": [f"X{i}" for i in range(n)], "churn": churn, "population": population}
        | scores
    )
    tables = population_tables(
        churn, {k: rows[k].to_numpy() for k in BACKTEST_SCORES}, population_masks(frequency)
    )
    plan = SimpleNamespace(kind="customer_disjoint", to_dict=lambda: PLAN | {
        "kind": "customer_disjoint", "overlap_days": 45.0})  # fmt: skip
    result = BacktestResult(pd.Timestamp("2025-03-31"), 90, tables, rows, "buyers",
                            {"roc_auc": 0.8}, SimpleNamespace(champion="blend", plan=plan),
                            ["a note from training"])  # fmt: skip
    write_backtest(result, tmp_path / "run" / "backtest")
    html = render_report(tmp_path / "run", tmp_path / "r.html").read_text()
    backtest = _section(html, "backtest")
    assert 'class="error"' not in backtest
    assert f"<b>{result.summary()['smsseg.roc_auc']:.4f}</b><span>AUC realized" in backtest
    assert (
        "blend of the model and calibrated BG/NBD" in backtest and "customer-disjoint" in backtest
    )
    assert "overlap the test window by up to 45 days" in backtest
    assert 'alt="backtest ROC"' in backtest and "a note from training" in backtest


def test_report_command_with_a_backtest_folder(tmp_path):
    folder = write_backtest_folder(tmp_path / "bt", np.random.default_rng(4))
    (tmp_path / "run").mkdir()
    out = tmp_path / "cli.html"
    args = ["report", str(tmp_path / "run"), "--out", str(out), "--backtest", str(folder)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "0.7712" in _section(out.read_text(), "backtest")
    result = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "run")])
    assert result.exit_code == 1 and "has no backtest.json" in result.output


def _run_without_data(run, tmp_path):
    """A copy of the run whose data directory lives outside it (a by-hand run with --data)."""
    copy = tmp_path / "by-hand"
    shutil.copytree(run, copy)
    shutil.move(copy / "data", tmp_path / "shop")
    return copy, tmp_path / "shop"


def test_report_command_reads_the_data_given_with_data(run, tmp_path):
    copy, shop = _run_without_data(run, tmp_path)
    out = tmp_path / "r.html"
    without = CliRunner().invoke(app, ["report", str(copy), "--out", str(out)])
    assert without.exit_code == 0, without.output
    assert "Input data: not available in this run" in _section(out.read_text(), "data")
    given = CliRunner().invoke(app, ["report", str(copy), "--out", str(out), "--data", str(shop)])
    assert given.exit_code == 0, given.output
    html = out.read_text()
    data = _section(html, "data")
    assert "not available" not in data and "<b>40</b><span>customers</span>" in data
    assert "given (--data)" in _section(html, "contents")
    # a folder without the contract's customers table is refused, nothing written
    out.unlink()
    wrong = CliRunner().invoke(app, ["report", str(copy), "--out", str(out), "--data", str(copy)])
    assert wrong.exit_code == 1 and "has no customers.parquet" in wrong.output
    assert not out.exists()


def test_the_data_directory_recorded_in_the_outputs_provenance_is_found_while_unchanged(
    run, tmp_path
):
    from smsseg.provenance import for_data, stamp_parquet

    copy, shop = _run_without_data(run, tmp_path)
    stamp_parquet(copy / "scores.parquet", for_data("scores", "2025-06-30", shop))
    found = discover_run(copy)
    assert found.data_dir == shop.resolve()
    assert found.data_source == "recorded in the provenance of scores.parquet"
    html = render_report(copy, tmp_path / "r.html").read_text()
    assert "<b>40</b><span>customers</span>" in _section(html, "data")
    # the directory now holds other data (another fingerprint): not shown as this run's data
    customers = pd.read_parquet(shop / "customers.parquet")
    customers.iloc[:-1].to_parquet(shop / "customers.parquet", index=False)
    assert discover_run(copy).data_dir is None


def test_this_run_lists_each_part_where_it_was_found_or_how_to_add_it(html, tmp_path):
    contents = _section(html, "contents")
    rows = re.findall(r"<tr><td>([^<]+)</td><td><span class=\"(ok|missing)\">", contents)
    assert [name for name, _ in rows] == ["input data", "model bundle", "scores",
                                          "held-out predictions", "feature table", "segments",
                                          "send plan", "backtest", "flows backtest"]  # fmt: skip
    assert {status for _, status in rows} == {"ok"} and "9 of 9 parts found" in contents
    assert '<a href="#flows">Lifecycle flows backtest</a>' in contents
    assert "<td>plan</td>" in contents and '<a href="#plan">Send plan</a>' in contents
    (tmp_path / "empty").mkdir()
    empty = render_report(tmp_path / "empty", tmp_path / "r.html").read_text()
    contents = _section(empty, "contents")
    assert "0 of 9 parts found" in contents and "smsseg report RUN --data DIR" in contents
    assert ">yes<" not in contents and ">no<" not in contents


def test_headers_and_tiles_are_readable_labels_never_raw_keys(html):
    captions = re.findall(r"<th>([^<]*)</th>", html) + re.findall(r"<span>([^<]*)</span>", html)
    assert captions and [c for c in captions if "_" in c] == []
    models = _section(html, "models")
    assert "<span>mean absolute error (days)</span>" in models and "mae_days" not in models
    assert "<th>share of revenue</th>" in _section(html, "tiers")


def test_interval_metrics_show_estimate_and_interval_with_their_label(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    uplift = {"n_test": 2329, "ate_test": 0.032,
              "qini": {"estimate": 0.00106, "low": -0.0046, "high": 0.007, "level": 0.95}}  # fmt: skip
    meta = {"version": "v", "metrics": legacy_meta()["metrics"] | {"uplift": uplift}}
    (models / "bundle.json").write_text(json.dumps(meta))
    section = _section(render_report(models, tmp_path / "r.html").read_text(), "models")
    assert "<b>0.032</b><span>average treatment effect on the test rows</span>" in section
    assert "<b>2,329</b><span>test rows</span>" in section
    assert "<b>0.00106 (95% CI -0.0046 to 0.007)</b><span>Qini coefficient</span>" in section


@pytest.mark.parametrize(
    ("bands", "expected"),
    [
        (["high", "low", "medium", "high"], {"low": 1, "medium": 1, "high": 2}),
        (["high", "high"], {"low": 0, "medium": 0, "high": 2}),
        (["medium", "zz", "aa"], {"low": 0, "medium": 1, "high": 0, "aa": 1, "zz": 1}),
    ],
    ids=["all-bands", "missing-bands-shown-as-zero", "unknown-bands-after"],
)
def test_risk_bands_keep_their_order_not_alphabetical_or_by_size(bands, expected):
    from smsseg.report.inputs import band_counts

    counts = band_counts(pd.Series(bands))
    assert list(counts.index) == list(expected) and counts.to_dict() == expected
