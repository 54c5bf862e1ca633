"""One variant against control on one metric: the unit every readout row is made of.

:func:`compare` picks the test (proportion z / exact, Welch, optionally sequential), adds the
relative lift and the Bayesian summary, and returns a frozen :class:`Comparison`. Data that
cannot be analysed (an empty arm, one unit, zero variance) gives a comparison whose numbers are
``nan`` and whose ``message`` says why, so one bad cell never crashes a whole readout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from smsseg.readout import bayesian, frequentist, sequential
from smsseg.readout.cuped import cuped_adjust
from smsseg.readout.summary import CovariateStats, SampleStats

Kind = Literal["proportion", "mean"]
ProportionMethod = Literal["auto", "wald", "exact"]
NAN = float("nan")

#: Below this expected count in any cell of the 2×2 table, ``"auto"`` switches from the z-test
#: to Fisher's exact test (the classic rule for the chi-square / z approximation).
MIN_EXPECTED_CELL = 5.0


@dataclass(frozen=True)
class Comparison:
    """Result of one variant-vs-control comparison (one readout row without the family columns)."""

    variant: str
    metric: str
    segment: str
    n: int
    mean: float
    control_n: int
    control_mean: float
    abs_diff: float = NAN
    abs_ci_low: float = NAN
    abs_ci_high: float = NAN
    rel_lift: float = NAN
    rel_ci_low: float = NAN
    rel_ci_high: float = NAN
    p_value: float = NAN
    prob_beat_control: float = NAN
    expected_loss: float = NAN
    method: str = ""
    variance_reduction: float = NAN
    message: str = ""
    #: ``"proportion"`` or ``"mean"``: how the metric was tested (``""``: not tested at all)
    kind: str = ""

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def _f(x) -> float:
    return float(np.asarray(x, float))


def _problem(
    control: SampleStats, treatment: SampleStats, kind: Kind, names: tuple[str, str]
) -> str:
    """Why the pair cannot be tested, or ``""``."""
    variant, control_name = names
    if control.n == 0 and treatment.n == 0:
        return f"no units in control '{control_name}' nor in '{variant}'"
    if control.n == 0:
        return f"control '{control_name}' has no units here"
    if treatment.n == 0:
        return f"variant '{variant}' has no units here"
    if kind == "mean" and min(control.n, treatment.n) < 2:
        small = control_name if control.n < 2 else variant
        return f"'{small}' has a single unit; a variance needs >= 2"
    if kind == "mean" and control.variance == 0 and treatment.variance == 0:
        return "zero variance in both arms (every unit has the same value); no test possible"
    return ""


def _choose_proportion_method(
    control: SampleStats, treatment: SampleStats, method: ProportionMethod
) -> str:
    if method != "auto":
        return method
    n_c, n_t = float(control.n), float(treatment.n)
    p = (float(control.sum) + float(treatment.sum)) / (n_c + n_t)
    smallest = min(n_c, n_t) * min(p, 1 - p)
    return "exact" if smallest < MIN_EXPECTED_CELL else "wald"


def _test(control, treatment, kind, alpha, proportion_method) -> tuple[frequentist.DiffTest, str]:
    if kind == "proportion":
        method = _choose_proportion_method(control, treatment, proportion_method)
        if method == "exact":
            return frequentist.proportion_exact(
                control, treatment, alpha
            ), "fisher-exact + newcombe CI"
        return frequentist.proportion_ztest(control, treatment, alpha), "two-proportion z + wald CI"
    return frequentist.welch_ttest(control, treatment, alpha), "welch t"


def compare(
    control: SampleStats,
    treatment: SampleStats,
    kind: Kind = "mean",
    *,
    alpha: float = 0.05,
    proportion_method: ProportionMethod = "auto",
    sequential_test: bool = False,
    mixture_sd: float = 0.1,
    prior: tuple[float, float] = (1.0, 1.0),
    names: tuple[str, str, str, str] = ("treatment", "control", "metric", "all"),
) -> Comparison:
    """Compare one variant with control from their summary statistics.

    Parameters
    ----------
    control, treatment : the two arms' summaries.
    kind : ``"proportion"`` for 0/1 metrics (z-test, or Fisher/Newcombe for small counts;
        beta-binomial Bayes) or ``"mean"`` (Welch; normal Bayes).
    alpha : level of the CIs.
    proportion_method : ``"auto"`` (exact when an expected 2×2 cell is below 5), ``"wald"``
        or ``"exact"``.
    sequential_test : report the always-valid mSPRT p-value and the confidence sequence instead
        of the fixed-horizon ones (for monitoring while the test runs).
    mixture_sd : mSPRT mixture width in metric standard deviations.
    prior : Beta prior of the beta-binomial model.
    names : ``(variant, control, metric, segment)`` labels of the row.

    Returns
    -------
    Comparison
        ``message`` is non-empty when the pair could not be (fully) analysed.

    Example
    -------
    >>> c = compare(SampleStats.from_counts(5000, 250), SampleStats.from_counts(5000, 300), "proportion")
    >>> round(c.abs_diff, 3), c.p_value < 0.05
    (0.01, True)
    """
    variant, control_name, metric, segment = names
    row = Comparison(
        variant,
        metric,
        segment,
        int(treatment.n),
        _f(treatment.mean),
        int(control.n),
        _f(control.mean),
        kind=kind,
    )
    message = _problem(control, treatment, kind, (variant, control_name))
    if message:
        return _point_estimate_only(row, message)
    test, method = _test(control, treatment, kind, alpha, proportion_method)
    v_c, v_t = _var_of_mean(control, kind), _var_of_mean(treatment, kind)
    p_value, ci_low, ci_high, z = test.p_value, test.ci_low, test.ci_high, None
    if sequential_test:
        seq = _sequential(control, treatment, test.diff, v_c + v_t, alpha, mixture_sd)
        p_value, ci_low, ci_high, z = seq.p_value, seq.ci_low, seq.ci_high, seq.half_width_z
        method += " + msprt (always valid)"
    rel, rel_lo, rel_hi, _ = frequentist.relative_lift(
        control.mean, v_c, treatment.mean, v_t, alpha, z=z
    )
    if kind == "proportion":
        bayes = bayesian.beta_binomial(control, treatment, prior)
    else:
        bayes = bayesian.normal_posterior(test.diff, np.sqrt(v_c + v_t))
    notes = []
    if not np.isfinite(test.p_value):
        notes.append(f"{method} undefined (no variation in either arm)")
    if control.mean == 0:
        notes.append(f"control mean of '{metric}' is 0: relative lift undefined")
    return replace(
        row, abs_diff=_f(test.diff), abs_ci_low=_f(ci_low), abs_ci_high=_f(ci_high), rel_lift=_f(rel),
        rel_ci_low=_f(rel_lo), rel_ci_high=_f(rel_hi), p_value=_f(p_value),
        prob_beat_control=_f(bayes.prob_beat_control), expected_loss=_f(bayes.expected_loss),
        method=method, message="; ".join(notes),
    )  # fmt: skip


def _point_estimate_only(row: Comparison, message: str) -> Comparison:
    """A row that cannot be tested keeps the difference of means when both arms have units."""
    if min(row.n, row.control_n) > 0:
        diff = row.mean - row.control_mean
        row = replace(
            row, abs_diff=diff, rel_lift=diff / row.control_mean if row.control_mean else NAN
        )
    return replace(row, message=message)


def _var_of_mean(arm: SampleStats, kind: Kind):
    """Squared standard error of an arm's mean: ``p(1 − p)/n`` for a proportion, ``s²/n`` else."""
    if kind == "proportion":
        return arm.mean * (1 - arm.mean) / arm.n
    return arm.var_of_mean


def _sequential(
    control: SampleStats, treatment: SampleStats, diff, var_diff, alpha: float, mixture_sd: float
):
    pooled_sd = (control + treatment).std
    return sequential.msprt(diff, var_diff, sequential.mixture_tau(pooled_sd, mixture_sd), alpha)


def compare_cuped(control: CovariateStats, treatment: CovariateStats, **kwargs) -> Comparison:
    """:func:`compare` on CUPED-adjusted arms (a Welch test); reports the variance reduction.

    The means, lifts and Bayesian numbers all refer to the adjusted metric; ``kind`` is always
    ``"mean"`` because the adjusted metric is no longer 0/1.
    """
    kwargs.pop("kind", None)
    raw = compare(control.y, treatment.y, "mean", **kwargs)
    if raw.message and np.isnan(raw.p_value):
        return raw
    adj = cuped_adjust(control, treatment)
    out = compare(adj.control, adj.treatment, "mean", **kwargs)
    return replace(
        out,
        mean=raw.mean,
        control_mean=raw.control_mean,
        method=out.method + " + cuped",
        variance_reduction=_f(adj.variance_reduction),
    )
