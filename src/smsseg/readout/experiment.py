"""The experiment readout: every variant × metric (× segment) against control, as one tidy table.

:func:`readout` starts from unit-level rows (one per recipient or customer); :func:`readout_from_summaries`
from the per-arm aggregates (count, sum, sum of squares) a platform exports. Both check the sample
ratio first, run :func:`~smsseg.readout.comparison.compare` on every cell, correct the p-values for
the whole family (Holm by default) and flag every row when the sample ratio is off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace

import numpy as np
import pandas as pd

from smsseg.errors import SmssegError
from smsseg.readout.checks import CORRECTIONS, SRM_ALPHA, SrmResult, adjust_p_values, srm_check
from smsseg.readout.comparison import Comparison, compare, compare_cuped
from smsseg.readout.frequentist import bootstrap_ci
from smsseg.readout.summary import CovariateStats, SampleStats

#: Columns of a readout table, in order.
COLUMNS = [
    "variant",
    "metric",
    "segment",
    "n",
    "mean",
    "control_n",
    "control_mean",
    "abs_diff",
    "abs_ci_low",
    "abs_ci_high",
    "rel_lift",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_value_adj",
    "prob_beat_control",
    "expected_loss",
    "significant",
    "srm_p_value",
    "srm_ok",
    "message",
    "kind",
    "method",
    "variance_reduction",
]
ALL = "all"
KINDS = ("proportion", "mean")


def _columns_exist(df: pd.DataFrame, wanted: dict[str, Sequence[str]]) -> None:
    for role, names in wanted.items():
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise SmssegError(
                f"{role} column(s) {missing} not in the data; columns are: {', '.join(map(str, df.columns))}"
            )


def _check_args(alpha: float, correction: str, metrics: Sequence[str]) -> list[str]:
    if not 0 < alpha < 1:
        raise SmssegError(f"alpha={alpha} must lie strictly between 0 and 1")
    if correction not in CORRECTIONS:
        raise SmssegError(f"correction={correction!r} must be one of {', '.join(CORRECTIONS)}")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise SmssegError("metrics is empty: name at least one metric column")
    return metrics


def _variant_order(labels: pd.Series, control: str, declared: Sequence[str] | None) -> list[str]:
    present = sorted(str(v) for v in labels.dropna().unique())
    names = [str(v) for v in declared] if declared is not None else present
    extra = [v for v in present if v not in names]
    if extra:
        raise SmssegError(f"variant(s) {extra} are in the data but not in variants={list(names)}")
    if control not in names:
        raise SmssegError(
            f"control={control!r} is not a variant; the variants are: {', '.join(map(repr, names))}"
        )
    return [control] + [v for v in names if v != control]


def _numeric(values: pd.Series, metric: str) -> tuple[pd.Series | None, str]:
    """The metric as float, or ``None`` and why not."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype(float), ""
    converted = pd.to_numeric(values, errors="coerce")
    bad = values[converted.isna() & values.notna()]
    if len(bad):
        return None, f"metric '{metric}' is not numeric (e.g. value {bad.iloc[0]!r}); no test"
    return converted.astype(float), ""


def _kind(values: pd.Series, metric: str, forced: Mapping[str, str]) -> str:
    kind = forced.get(metric)
    binary = bool(values.dropna().isin([0.0, 1.0]).all())
    if kind is None:
        return "proportion" if binary else "mean"
    if kind not in KINDS:
        raise SmssegError(f"kind {kind!r} for metric '{metric}' must be one of {', '.join(KINDS)}")
    if kind == "proportion" and not binary:
        raise SmssegError(
            f"metric '{metric}' is declared a proportion but has values other than 0 and 1"
        )
    return kind


def _covariate_for(covariates, metric: str) -> str | None:
    if covariates is None or isinstance(covariates, str):
        return covariates
    return covariates.get(metric)


def _summaries(frame: pd.DataFrame, with_covariate: bool) -> pd.DataFrame:
    """Per (segment, variant): n and the sums the tests need (a single groupby pass)."""
    parts = {"n": frame["y"].notna().astype(int), "sum_y": frame["y"], "sum_y_sq": frame["y"] ** 2}
    if with_covariate:
        parts |= {
            "sum_x": frame["x"],
            "sum_x_sq": frame["x"] ** 2,
            "sum_xy": frame["x"] * frame["y"],
        }
    sums = (
        pd.DataFrame(parts)
        .groupby([frame["segment"], frame["variant"]], observed=True, sort=False)
        .sum()
    )
    return sums


def _arm(sums: pd.DataFrame, key: tuple[str, str], with_covariate: bool):
    row = sums.loc[key] if key in sums.index else pd.Series(0.0, index=sums.columns)
    if with_covariate:
        return CovariateStats(int(row["n"]), *(float(row[c]) for c in sums.columns[1:]))
    return SampleStats(int(row["n"]), float(row["sum_y"]), float(row["sum_y_sq"]))


def _frame(df, variant_col, segment_col, values, covariate) -> pd.DataFrame:
    """Variant, segment, metric ``y`` (and covariate ``x``) of the rows with a variant label.

    A unit lacking the metric (or, with CUPED, the covariate) is left out of both sums.
    """
    segment = ALL
    if segment_col:
        segment = (
            df[segment_col].astype(object).where(df[segment_col].notna(), "(missing)").astype(str)
        )
    frame = pd.DataFrame(
        {"variant": df[variant_col].astype(str), "segment": segment, "y": values}, index=df.index
    )
    if covariate is not None:
        valid = frame["y"].notna() & covariate.notna()
        frame["y"] = frame["y"].where(valid)
        frame["x"] = covariate.where(valid)
    return frame[df[variant_col].notna()]


def _metric_rows(df, metric, ctx) -> list[Comparison]:
    """All comparisons of one metric (every segment × non-control variant)."""
    values, problem = _numeric(df[metric], metric)
    cov_col = _covariate_for(ctx["covariates"], metric)
    covariate = None
    if cov_col is not None and values is not None:
        covariate, cov_problem = _numeric(df[cov_col], cov_col)
        problem = problem or cov_problem.replace("metric", "covariate")
    frame = _frame(
        df,
        ctx["variant_col"],
        ctx["segment_col"],
        values if values is not None else np.nan,
        covariate,
    )
    segments = sorted(frame["segment"].unique())
    if problem:
        return [
            Comparison(v, metric, s, 0, np.nan, 0, np.nan, message=problem)
            for s in segments
            for v in ctx["variants"][1:]
        ]
    kind = _kind(values, metric, ctx["kinds"])
    notes = []
    n_missing = int(frame["y"].isna().sum())
    if n_missing:
        notes.append(
            f"{n_missing:,} rows with missing '{metric}'{' or ' + repr(cov_col) if cov_col else ''} left out"
        )
    use_cov = covariate is not None
    sums = _summaries(frame, use_cov)
    rows = []
    for segment in segments:
        for variant in ctx["variants"][1:]:
            control_arm = _arm(sums, (segment, ctx["control"]), use_cov)
            arm = _arm(sums, (segment, variant), use_cov)
            names = (variant, ctx["control"], metric, segment)
            if use_cov:
                row = compare_cuped(control_arm, arm, names=names, **ctx["compare_kwargs"])
            else:
                row = compare(control_arm, arm, kind, names=names, **ctx["compare_kwargs"])
            if ctx["bootstrap"] and kind == "mean" and not row.message:
                row = _with_bootstrap(row, frame, segment, ctx, use_cov)
            rows.append(replace(row, message="; ".join(filter(None, [row.message, *notes]))))
    return rows


def _with_bootstrap(
    row: Comparison, frame: pd.DataFrame, segment: str, ctx, use_cov: bool
) -> Comparison:
    if use_cov:
        return replace(row, message="bootstrap skipped: CUPED adjustment in use")
    in_seg = frame[(frame["segment"] == segment) & frame["y"].notna()]
    c = in_seg.loc[in_seg["variant"] == ctx["control"], "y"].to_numpy()
    t = in_seg.loc[in_seg["variant"] == row.variant, "y"].to_numpy()
    lo, hi, rlo, rhi = bootstrap_ci(
        c, t, ctx["compare_kwargs"]["alpha"], ctx["n_resamples"], ctx["seed"]
    )
    return replace(
        row,
        abs_ci_low=lo,
        abs_ci_high=hi,
        rel_ci_low=rlo,
        rel_ci_high=rhi,
        method=row.method + f" + bootstrap CI ({ctx['n_resamples']} resamples)",
    )


def finish(rows: list[Comparison], srm: SrmResult, alpha: float, correction: str) -> pd.DataFrame:
    """Family-wise columns: adjusted p-values, significance, the SRM p-value and its flag.

    ``srm_ok`` is the typed verdict (``<NA>`` when the check could not run); the alarm is also
    prepended to every row's ``message`` for people reading the file. ``attrs["srm_message"]``
    keeps the check's own sentence for callers that print it (a string: pandas writes ``attrs``
    into Parquet metadata as JSON).
    """
    table = pd.DataFrame(
        [asdict(r) for r in rows],
        columns=[c for c in COLUMNS if c in Comparison.__dataclass_fields__],
    )
    table["p_value_adj"] = adjust_p_values(table["p_value"].to_numpy(float), correction)
    table["significant"] = table["p_value_adj"] < alpha
    table["srm_p_value"] = srm.p_value
    table["srm_ok"] = pd.Series(
        srm.ok if srm.checked else pd.NA, index=table.index, dtype="boolean"
    )
    if not srm.ok:
        table["message"] = [f"{srm.message}" + (f"; {m}" if m else "") for m in table["message"]]
    table = table[COLUMNS].reset_index(drop=True)
    table.attrs["srm_message"] = srm.message
    return table


def require_numeric(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise unless every named column is numeric (or 0/1 text); the message names file and column.

    :func:`readout` turns a non-numeric metric into rows that say so, so that one bad column does
    not hide the others. A command reading a file calls this first instead: a text column given
    as a metric is a mistake in the command line, and must not end in a written, empty readout.
    """
    problems = []
    for column in dict.fromkeys(columns):
        values = df[column]
        if values.notna().any() and _numeric(values, column)[0] is None:
            bad = (pd.to_numeric(values, errors="coerce").isna() & values.notna()).to_numpy()
            first = int(np.flatnonzero(bad)[0])
            problems.append(
                f"column '{column}' is not numeric ({int(bad.sum()):,} value(s) are not numbers; "
                f"e.g. data row {first + 1}: {values.iloc[first]!r})"
            )
    if problems:
        raise SmssegError(f"{where}: " + "; ".join(problems))


def readout(
    df: pd.DataFrame,
    variant_col: str,
    control: str,
    metrics: Sequence[str],
    segment_col: str | None = None,
    covariates: str | Mapping[str, str] | None = None,
    alpha: float = 0.05,
    *,
    kinds: Mapping[str, str] | None = None,
    variants: Sequence[str] | None = None,
    split: Mapping[str, float] | None = None,
    correction: str = "holm",
    proportion_method: str = "auto",
    bootstrap: bool = False,
    n_resamples: int = 2000,
    sequential: bool = False,
    mixture_sd: float = 0.1,
    prior: tuple[float, float] = (1.0, 1.0),
    srm_alpha: float = SRM_ALPHA,
    srm_result: SrmResult | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Read out an A/B(/n) test from unit-level data.

    Parameters
    ----------
    df : one row per randomized unit (customer, recipient).
    variant_col : column holding the arm of each unit.
    control : label of the control arm.
    metrics : metric columns. 0/1 columns are proportions (z-test; Fisher/Newcombe for small
        counts), others means (Welch t); override with ``kinds``. Missing values are left out.
    segment_col : optional column to read out within each of its values (e.g. a segment,
        ``zip_code``, ``channel``); the p-value correction covers all segments.
    covariates : pre-period covariate for CUPED: one column for every metric, or
        metric → column. Reports ``variance_reduction``.
    alpha : significance level of tests and CIs.
    kinds : metric → ``"proportion"`` or ``"mean"``, to force a kind.
    variants : all arms, when some may have no rows (an empty arm gives rows with a message);
        default: the labels present (categories of a categorical column are used as is).
    split : intended share of each arm for the SRM check; default equal.
    correction : ``"holm"`` (family-wise, default), ``"bh"`` (false discovery rate) or ``"none"``.
    proportion_method : ``"auto"``, ``"wald"`` or ``"exact"`` (see :func:`compare`).
    bootstrap : percentile-bootstrap CIs for mean metrics (heavy tails), seeded by ``seed``.
    sequential : always-valid mSPRT p-values and confidence sequences, for peeking.
    mixture_sd, prior : see :func:`compare`.
    srm_alpha : SRM threshold; below it every row is flagged.
    srm_result : an SRM verdict made by the caller, used instead of the check against ``split``
        (e.g. :func:`~smsseg.readout.checks.srm_skipped` when the intended split is unknown).

    Returns
    -------
    pandas.DataFrame
        One row per segment × variant × metric, columns :data:`COLUMNS`. ``message`` explains
        rows that could not be analysed and carries the SRM alarm; ``srm_ok`` is the SRM verdict
        (``<NA>`` when no check was possible) and ``attrs["srm_message"]`` its sentence.

    Raises
    ------
    SmssegError
        A named column is missing, ``control`` is not a variant, or an option is invalid.

    Example
    -------
    >>> from smsseg.datasets import load_hillstrom
    >>> table = readout(load_hillstrom(), "segment", "No E-Mail", ["visit", "spend"])
    >>> table[["variant", "metric", "significant"]].shape
    (4, 3)
    """
    metrics = _check_args(alpha, correction, metrics)
    cov_cols = [covariates] if isinstance(covariates, str) else list((covariates or {}).values())
    _columns_exist(
        df,
        {
            "variant": [variant_col],
            "metric": metrics,
            "segment": [segment_col] if segment_col else [],
            "covariate": cov_cols,
        },
    )
    if isinstance(df[variant_col].dtype, pd.CategoricalDtype) and variants is None:
        variants = list(df[variant_col].cat.categories)
    names = _variant_order(df[variant_col], str(control), variants)
    counts = df[variant_col].dropna().astype(str).value_counts()
    srm = srm_result or srm_check({v: int(counts.get(v, 0)) for v in names}, split, srm_alpha)
    ctx = {
        "variant_col": variant_col,
        "segment_col": segment_col,
        "control": str(control),
        "variants": names,
        "covariates": covariates,
        "kinds": dict(kinds or {}),
        "bootstrap": bootstrap,
        "n_resamples": n_resamples,
        "seed": seed,
        "compare_kwargs": {
            "alpha": alpha,
            "proportion_method": proportion_method,
            "sequential_test": sequential,
            "mixture_sd": mixture_sd,
            "prior": prior,
        },
    }
    rows = [row for metric in metrics for row in _metric_rows(df, metric, ctx)]
    return finish(rows, srm, alpha, correction)
