"""Experiment readouts, power planning and campaign metrics (the last pipeline stage).

Statistics work on summary dataclasses (:class:`SampleStats`, :class:`CovariateStats`) so a
readout can start from raw rows (:func:`readout`) or from exported aggregates
(:func:`readout_from_summaries`). See ``docs/readout.md``.
"""

from smsseg.readout.aggregates import readout_from_summaries
from smsseg.readout.bayesian import beta_binomial, normal_posterior
from smsseg.readout.checks import SrmResult, adjust_p_values, benjamini_hochberg, holm, srm_check
from smsseg.readout.comparison import Comparison, compare, compare_cuped
from smsseg.readout.cuped import cuped_adjust
from smsseg.readout.experiment import COLUMNS, readout
from smsseg.readout.frequentist import (
    bootstrap_ci,
    proportion_exact,
    proportion_ztest,
    relative_lift,
    welch_ttest,
)
from smsseg.readout.power import PowerPlan, mean_power, plan_mean, plan_proportion, proportion_power
from smsseg.readout.sequential import msprt, running_min
from smsseg.readout.summary import CovariateStats, SampleStats

__all__ = [
    "COLUMNS",
    "Comparison",
    "CovariateStats",
    "PowerPlan",
    "SampleStats",
    "SrmResult",
    "adjust_p_values",
    "benjamini_hochberg",
    "beta_binomial",
    "bootstrap_ci",
    "compare",
    "compare_cuped",
    "cuped_adjust",
    "holm",
    "mean_power",
    "msprt",
    "normal_posterior",
    "plan_mean",
    "plan_proportion",
    "proportion_exact",
    "proportion_power",
    "proportion_ztest",
    "readout",
    "readout_from_summaries",
    "relative_lift",
    "running_min",
    "srm_check",
    "welch_ttest",
]
