"""Input checks and small output helpers shared by the BTYD models and ``rfm_summary``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smsseg.errors import SmssegError

SUMMARY_COLUMNS = ("frequency", "recency", "T")


def _summary_arrays(summary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``frequency, recency, T`` as float arrays."""
    if not isinstance(summary, pd.DataFrame):
        raise SmssegError(f"summary must be a DataFrame, got {type(summary).__name__}")
    _require_columns(summary, SUMMARY_COLUMNS, "summary")
    if summary.empty:
        raise SmssegError("summary is empty: BTYD models need at least one customer")
    arrays = []
    for col in SUMMARY_COLUMNS:
        values = pd.to_numeric(summary[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise SmssegError(
                f"summary.{col} has {int(bad.sum())} missing, infinite or negative values "
                f"(first: customer {_plain(summary.index[bad][0])!r}, "
                f"{col}={_plain(summary[col].to_numpy()[bad][0])!r})"
                f"; {col} must be >= 0"
            )
        arrays.append(values)
    x, tx, T = arrays
    _check_rows(summary, x != np.round(x), "frequency is not a whole number", "frequency", x)
    _check_rows(
        summary, tx > T + 1e-9, "recency > T (the last purchase is after as_of)", "recency", tx
    )
    _check_rows(summary, (x == 0) & (tx > 0), "frequency 0 but recency > 0", "recency", tx)
    return x, tx, T


def _check_rows(summary, bad, rule, col, values) -> None:
    if bad.any():
        raise SmssegError(
            f"summary has {int(bad.sum())} rows with {rule} (first: customer "
            f"{_plain(summary.index[bad][0])!r}, {col}={float(values[bad][0])!r}); see "
            "rfm_summary for the rules"
        )


def _monetary(summary) -> np.ndarray:
    _require_columns(summary, ("monetary_value",), "summary")
    m = pd.to_numeric(summary["monetary_value"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(m) | (m < 0)
    _check_rows(summary, bad, "missing or negative monetary_value", "monetary_value", m)
    return m


def _horizon(t) -> float:
    if not (np.isscalar(t) and np.isfinite(t) and t >= 0):
        raise SmssegError(f"t={t!r} must be a finite number >= 0 (time units)")
    return float(t)


def _check_unit(model, summary) -> None:
    fitted, given = model.time_unit_days_, summary.attrs.get("time_unit_days")
    if fitted is not None and given is not None and fitted != given:
        raise SmssegError(
            f"summary time_unit_days={given!r} differs from the model's {fitted!r}: rebuild the "
            "summary with the unit the model was fitted in"
        )


def _resolve_unit(explicit, summary, *models) -> float:
    candidates = [explicit, summary.attrs.get("time_unit_days")]
    candidates += [getattr(m, "time_unit_days_", None) for m in models]
    unit = next((u for u in candidates if u is not None), None)
    if unit is None or not unit > 0:
        raise SmssegError(
            f"time_unit_days={unit!r}: pass time_unit_days > 0 (the summary's unit in days; "
            "rfm_summary records it in summary.attrs)"
        )
    return float(unit)


def _plain(value):
    """numpy scalars as Python ones, so messages read ``3.0`` rather than ``np.float64(3.0)``."""
    return value.item() if isinstance(value, np.generic) else value


def _series(values, summary, name) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=summary.index, name=name)


def _require_columns(frame, columns, what) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SmssegError(
            f"{what} is missing column(s) {missing!r}; it needs {list(columns)!r} "
            f"(has {list(map(str, frame.columns))!r})"
        )
