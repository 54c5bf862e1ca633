"""MLflow, in one place: the tracking store, training / backtest / tier runs, the pyfunc flavour.

Imported only when something is logged (MLflow is slow to import). The tracking URI is
:func:`smsseg.config.tracking_uri`; see :mod:`smsseg.tracking.store` for the run layout.
"""

from smsseg.tracking.runs import TIERS_EXPERIMENT, log_backtest, log_tiers, log_training
from smsseg.tracking.store import LoggedModel, configure, experiment_id, log_run

__all__ = [
    "TIERS_EXPERIMENT",
    "LoggedModel",
    "configure",
    "experiment_id",
    "log_backtest",
    "log_run",
    "log_tiers",
    "log_training",
]
