"""The run report: one self-contained HTML file (charts inlined as PNG, no external assets).

``render_report(run_dir, out_html)`` renders whatever a run folder holds: data summary, features
and scores, the deployed scorers and model metrics against baselines per population with ROC /
calibration / lift curves, a backtest on the realized future, value tiers, segment sizes and
transitions, and the send plan with its suppression reasons. A missing part
becomes a "not available in this run" note; a part that cannot be read becomes an error note in
its own section, never a failed report. The report only renders: it computes nothing a stage
did not already write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from smsseg._io import write_text
from smsseg.errors import SmssegError
from smsseg.report.backtest import backtest_section
from smsseg.report.discover import RunFiles, discover_run
from smsseg.report.html import Section, kpis, note, page
from smsseg.report.inputs import data_section, features_section, models_section
from smsseg.report.outputs import plan_section, segments_section, tiers_section

log = logging.getLogger(__name__)

SECTIONS: tuple[tuple[str, str, Callable[[RunFiles], Section]], ...] = (
    ("data", "Data summary", data_section),
    ("features", "Features and scores", features_section),
    ("models", "Models", models_section),
    ("backtest", "Backtest on the realized future", backtest_section),
    ("tiers", "Value tiers", tiers_section),
    ("segments", "Segments", segments_section),
    ("plan", "Send plan", plan_section),
)


def _contents(run: RunFiles) -> Section:
    sec = Section("contents", "This run")
    found = {name.replace("_", " "): "yes" if ok else "no" for name, ok in run.present().items()}
    return sec.add(note(f"Run folder: {run.run}"), kpis(found))


def _safe(key: str, title: str, build: Callable[[RunFiles], Section], run: RunFiles) -> Section:
    try:
        return build(run)
    except Exception as exc:  # a broken part must not cost the reader the rest of the report
        log.warning("report section %s failed: %s", key, exc)
        return Section(key, title).add(note(f"This section could not be rendered: {exc}", "error"))


def render_report(run_dir: str | Path, out_html: str | Path, **overrides: Path | None) -> Path:
    """Write the HTML report of a run folder and return its path.

    Parameters
    ----------
    run_dir : the run folder (e.g. ``demo``); its parts are found by
        :func:`~smsseg.report.discover.discover_run`.
    out_html : the HTML file to write (atomically).
    overrides : explicit locations (``data_dir``, ``bundle_dir``, ``scores``, ``predictions``,
        ``features``, ``segments_dir``, ``plan_dir``, ``backtest`` - the folder of
        ``smsseg backtest --out`` or its ``backtest.json``) when the folder layout differs.

    Raises
    ------
    SmssegError
        When ``run_dir`` is not a folder.

    Example
    -------
    >>> render_report("demo", "demo/report.html")  # doctest: +SKIP
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SmssegError(
            f"run folder {run_dir} does not exist (give the folder of a run, e.g. demo)"
        )
    run = discover_run(run_dir, **overrides)
    sections = [_contents(run)] + [_safe(key, title, build, run) for key, title, build in SECTIONS]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    html = page("smsseg run report", f"{run_dir.resolve().name} · generated {stamp}", sections)
    return write_text(html, out_html)


__all__ = ["RunFiles", "discover_run", "render_report"]
