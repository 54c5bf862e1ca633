"""Retail simulator with planted ground truth (see ``docs/simulator.md``).

``generate`` writes one Parquet file per contract table plus ``truth.parquet``; the oracle
functions read the truth frame (never used by features or models).
"""

from smsseg.data.simulator.calendar import SimulationError
from smsseg.data.simulator.generate import generate
from smsseg.data.simulator.truth import experiment_truth, oracle_churn, true_uplift

#: Bumped whenever ``generate`` writes different data for the same arguments. Cached datasets
#: (the benchmarks' ``benchmarks/_work``) are keyed by it, so data from an older simulator is
#: never measured as if it were current.
SIMULATOR_VERSION = 5

__all__ = [
    "SIMULATOR_VERSION",
    "SimulationError",
    "experiment_truth",
    "generate",
    "oracle_churn",
    "true_uplift",
]
