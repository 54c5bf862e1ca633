"""BTYD features for the next ``horizon_days`` from fitted BG/NBD and Gamma-Gamma models."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg.errors import SmssegError
from smsseg.features.btyd._checks import _resolve_unit
from smsseg.features.btyd.bgnbd import BetaGeoModel
from smsseg.features.btyd.gamma_gamma import GammaGammaModel

#: Output columns of :func:`btyd_features`.
FEATURE_COLUMNS = (
    "btyd_p_alive",
    "btyd_expected_purchases",
    "btyd_prob_no_purchase",
    "btyd_expected_order_value",
    "btyd_clv",
)


def btyd_features(
    bgnbd: BetaGeoModel,
    summary: pd.DataFrame,
    horizon_days: float,
    gamma_gamma: GammaGammaModel | None = None,
    time_unit_days: float | None = None,
) -> pd.DataFrame:
    """BTYD features for the next ``horizon_days``, with the fixed names in ``FEATURE_COLUMNS``.

    ``btyd_p_alive``, ``btyd_expected_purchases``, ``btyd_prob_no_purchase`` and, with a fitted
    ``gamma_gamma``, ``btyd_expected_order_value`` and ``btyd_clv`` (undiscounted); the horizon is
    recorded in ``attrs["horizon_days"]``.
    """
    if not (np.isfinite(horizon_days) and horizon_days > 0):
        raise SmssegError(f"horizon_days={horizon_days!r} must be > 0")
    t = horizon_days / _resolve_unit(time_unit_days, summary, bgnbd)
    out = pd.DataFrame(index=summary.index)
    out["btyd_p_alive"] = bgnbd.p_alive(summary)
    out["btyd_expected_purchases"] = bgnbd.expected_purchases(t, summary)
    out["btyd_prob_no_purchase"] = bgnbd.prob_no_purchase(t, summary)
    if gamma_gamma is not None:
        value = gamma_gamma.conditional_expected_average_profit(summary)
        out["btyd_expected_order_value"] = value
        out["btyd_clv"] = out["btyd_expected_purchases"] * value
    out.attrs["horizon_days"] = float(horizon_days)
    return out
