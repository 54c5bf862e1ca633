"""Diagnostic plots (matplotlib ``Figure`` objects, no pyplot backend needed): ROC, calibration, lift, Qini, importance.

Each function takes arrays and returns a ``Figure``; the caller logs it to MLflow or shows it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from smsseg.models.metrics import ECE_BINS
from smsseg.models.uplift_metrics import qini_curve


def roc_figure(y, scores: Mapping[str, np.ndarray]) -> Figure:
    """ROC curves of several scores on the same rows."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (out of time)")
    ax.legend(loc="lower right")
    return fig


def calibration_figure(y, scores: Mapping[str, np.ndarray], n_bins: int = ECE_BINS) -> Figure:
    """Reliability diagram: mean outcome vs mean prediction per equal-width bin."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    y = np.asarray(y, dtype=float)
    for name, p in scores.items():
        p = np.asarray(p, dtype=float)
        bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
        frame = pd.DataFrame({"bin": bins, "p": p, "y": y}).groupby("bin").mean()
        ax.plot(frame["p"], frame["y"], marker="o", label=name)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="mean predicted probability", ylabel="observed rate", title="Calibration")
    ax.legend(loc="upper left")
    return fig


def lift_figure(y, scores: Mapping[str, np.ndarray], n_groups: int = 10) -> Figure:
    """Cumulative lift by decile of score (1 = random)."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    y = np.asarray(y, dtype=float)
    fractions = np.arange(1, n_groups + 1) / n_groups
    for name, p in scores.items():
        order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
        cum = np.cumsum(y[order])
        lift = [cum[max(int(f * len(y)) - 1, 0)] / (f * len(y)) / y.mean() for f in fractions]
        ax.plot(fractions * 100, lift, marker="o", label=name)
    ax.axhline(1.0, ls=":", c="grey")
    ax.set(xlabel="top % of customers by score", ylabel="cumulative lift", title="Lift")
    ax.legend()
    return fig


def qini_figure(y, t, scores: Mapping[str, np.ndarray]) -> Figure:
    """Qini curves with the random-targeting line."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    end = 0.0
    for name, s in scores.items():
        curve = qini_curve(y, t, s)
        ax.plot(curve["fraction"], curve["qini"], label=name)
        end = float(curve["qini"].iloc[-1])
    ax.plot([0, 1], [0, end], ls=":", c="grey", label="random")
    ax.set(xlabel="fraction targeted", ylabel="incremental outcome per customer", title="Qini")
    ax.legend()
    return fig


def importance_figure(importance: pd.Series, top: int = 20) -> Figure:
    """Horizontal bars of the ``top`` features by importance (gain)."""
    top_values = importance.sort_values(ascending=False).head(top)[::-1]
    fig = Figure(figsize=(6, 0.3 * len(top_values) + 1))
    ax = fig.subplots()
    ax.barh(top_values.index, top_values.to_numpy())
    ax.set(xlabel=f"importance ({importance.name or 'gain'})", title="Feature importance")
    fig.tight_layout()
    return fig


def close(fig: Figure) -> None:
    """Free a figure's artists once it is logged or saved.

    The figures here are plain :class:`~matplotlib.figure.Figure` objects, not pyplot's: they
    need no backend (importing this module leaves the user's, e.g. a notebook's, as it is) and
    pyplot keeps no reference to them.
    """
    fig.clear()
