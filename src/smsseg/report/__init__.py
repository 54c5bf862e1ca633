"""The run report: one self-contained HTML file (charts inlined as PNG, no external assets).

``render_report(run_dir, out_html)`` renders whatever a run folder holds: the parts found and
where ("This run"), data summary, features and scores, the deployed scorers and model metrics
against baselines per population with ROC / calibration / lift curves, a backtest on the realized
future, value tiers, segment sizes and transitions, and the send plan with its suppression
reasons and what each campaign lost to the caps, and the lifecycle flows' backtest (volumes,
caps, expected opt-outs, measured effects). A missing part becomes a "not available in this
run" note; a part that cannot be read becomes an error note in its own section, never a failed
report. The report only renders: it computes nothing a stage did not already write. Labels come
from one mapping (:mod:`smsseg.report.labels`); the layout is checked in a real browser
(``tests/report/test_browser.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from smsseg._io import write_text
from smsseg.errors import SmssegError
from smsseg.report.backtest import backtest_section
from smsseg.report.discover import RunFiles, discover_run, has_customers
from smsseg.report.flows import flows_section
from smsseg.report.html import Section, esc, note, page
from smsseg.report.inputs import data_section, features_section, models_section
from smsseg.report.labels import label
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
    ("flows", "Lifecycle flows backtest", flows_section),
)


#: Where the reader finds each part of the run, and how to give it when it was not found.
PART_SECTIONS = {
    "data_dir": ("data", "smsseg report RUN --data DIR"),
    "bundle_dir": ("models", "smsseg report RUN --models DIR"),
    "scores": ("features", "smsseg score --out RUN/scores.parquet"),
    "predictions": ("models", "smsseg report RUN --models DIR (its churn_test.parquet)"),
    "features": ("features", "smsseg features --out RUN/features.parquet"),
    "segments_dir": ("segments", "smsseg segment --out RUN/segments"),
    "plan_dir": ("plan", "smsseg plan --out RUN/plan"),
    "backtest": ("backtest", "smsseg report RUN --backtest DIR"),
    "flows_backtest": ("flows", "smsseg flows backtest --out RUN/flows-backtest"),
}


def _where(path: Path, run: Path) -> str:
    try:
        return str(path.resolve().relative_to(run.resolve())) or "."
    except ValueError:  # outside the run folder
        return str(path)


def _contents(run: RunFiles) -> Section:
    """One line per part of the run: found where (linking to its section), or how to add it."""
    titles = {key: title for key, title, _ in SECTIONS}
    rows = []
    for part, found in run.present().items():
        key, how = PART_SECTIONS[part]
        section = f'<a href="#{esc(key)}">{esc(titles[key])}</a>'
        if found:
            where = esc(_where(getattr(run, part), run.run))
            if part == "data_dir" and run.data_source:
                where += f' <span class="note">({esc(run.data_source)})</span>'
            status = '<span class="ok">found</span>'
        else:
            where = (
                f'<span class="note">not in this run; add it with <code>{esc(how)}</code></span>'
            )
            status = '<span class="missing">missing</span>'
        rows.append(f"<tr><td>{esc(label(part))}</td><td>{status}</td><td>{where}</td>"
                    f"<td>{section}</td></tr>")  # fmt: skip
    n_found = sum(run.present().values())
    head = "".join(f"<th>{h}</th>" for h in ("part", "status", "location", "shown in"))
    return Section("contents", "This run").add(
        note(f"Run folder: {run.run.resolve()} · {n_found} of {len(rows)} parts found."),
        f'<div class="scroll"><table class="data parts"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>",
    )


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
    overrides : explicit locations (``data_dir`` - the contract tables, ``bundle_dir``, ``scores``, ``predictions``,
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
    data_dir = overrides.get("data_dir")
    if data_dir is not None and not has_customers(Path(data_dir)):
        raise SmssegError(
            f"data folder {data_dir} has no customers.parquet or customers.csv (give the folder "
            "of the contract tables, e.g. the --data of smsseg score)"
        )
    run = discover_run(run_dir, **overrides)
    sections = [_contents(run)] + [_safe(key, title, build, run) for key, title, build in SECTIONS]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    html = page("smsseg run report", f"{run_dir.resolve().name} · generated {stamp}", sections)
    return write_text(html, out_html)


__all__ = ["RunFiles", "discover_run", "render_report"]
