"""The report's charts (plain matplotlib Figures, no pyplot backend), each from a small frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

PALETTE = ["#1f3a5f", "#3e7cb1", "#81a4cd", "#dbe4ee", "#f17300", "#c44536", "#6a994e",
           "#a7c957", "#bc6c25", "#7b8794", "#5e548e", "#e9c46a"]  # fmt: skip


def barh(
    values: pd.Series, title: str, xlabel: str, fmt: str = "{:,.0f}", *, ordered: bool = False
) -> Figure:
    """Horizontal bars, each labelled with its value: largest on top, or, for an ``ordered``
    scale (risk bands low < medium < high), in the given order from the bottom up."""
    values = values if ordered else values.sort_values()
    fig = Figure(figsize=(6.5, 0.35 * len(values) + 1.2))
    ax = fig.subplots()
    ax.barh([str(i) for i in values.index], values.to_numpy(dtype=float), color=PALETTE[1])
    for y, v in enumerate(values.to_numpy(dtype=float)):
        ax.text(v, y, " " + fmt.format(v), va="center", fontsize=8)
    ax.set(title=title, xlabel=xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def stacked_barh(frame: pd.DataFrame, title: str, xlabel: str) -> Figure:
    """One bar per row, stacked over the columns (e.g. campaign × outcome)."""
    fig = Figure(figsize=(8, 0.45 * len(frame) + 1.6))
    ax = fig.subplots()
    left = np.zeros(len(frame))
    labels = [str(i) for i in frame.index]
    for k, col in enumerate(frame.columns):
        vals = frame[col].to_numpy(dtype=float)
        ax.barh(labels, vals, left=left, label=str(col), color=PALETTE[k % len(PALETTE)])
        left += vals
    ax.invert_yaxis()
    ax.set(title=title, xlabel=xlabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def grouped_bars(frame: pd.DataFrame, title: str, ylabel: str, percent: bool = False) -> Figure:
    """Side-by-side bars: one group per row, one bar per column."""
    fig = Figure(figsize=(6.5, 3.6))
    ax = fig.subplots()
    x = np.arange(len(frame))
    width = 0.8 / max(len(frame.columns), 1)
    for k, col in enumerate(frame.columns):
        ax.bar(
            x + k * width, frame[col].to_numpy(dtype=float), width, label=str(col), color=PALETTE[k]
        )
    ax.set_xticks(x + width * (len(frame.columns) - 1) / 2, [str(i) for i in frame.index])
    ax.set(title=title, ylabel=ylabel)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def heatmap(matrix: pd.DataFrame, title: str, fmt: str = "{:.0%}") -> Figure:
    """A labelled heat map (rows: from, columns: to)."""
    fig = Figure(figsize=(0.55 * len(matrix.columns) + 3, 0.45 * len(matrix) + 2))
    ax = fig.subplots()
    values = matrix.to_numpy(dtype=float)
    ax.imshow(values, cmap="Blues", vmin=0, vmax=max(np.nanmax(values), 1e-9), aspect="auto")
    ax.set_xticks(
        range(len(matrix.columns)),
        [str(c) for c in matrix.columns],
        rotation=60,
        ha="right",
        fontsize=8,
    )
    ax.set_yticks(range(len(matrix.index)), [str(i) for i in matrix.index], fontsize=8)
    for (i, j), v in np.ndenumerate(values):
        if v > 0:
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=6,
                    color="white" if v > 0.6 * np.nanmax(values) else "black")  # fmt: skip
    ax.set(title=title, xlabel="to", ylabel="from")
    return fig


def histogram(values: pd.Series, title: str, xlabel: str, bins: int = 30) -> Figure:
    """Distribution of one numeric column."""
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    ax.hist(pd.to_numeric(values, errors="coerce").dropna(), bins=bins, color=PALETTE[1])
    ax.set(title=title, xlabel=xlabel, ylabel="customers")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def monthly(frame: pd.DataFrame, bars: str, line: str, title: str) -> Figure:
    """Bars of one column and a line of another on a second axis, by month."""
    fig = Figure(figsize=(8, 3.4))
    ax = fig.subplots()
    labels = [f"{m:%Y-%m}" for m in pd.to_datetime(frame.index)]
    ax.bar(labels, frame[bars].to_numpy(dtype=float), color=PALETTE[2], label=bars)
    ax.set_ylabel(bars)
    ax.tick_params(axis="x", rotation=70, labelsize=7)
    other = ax.twinx()
    other.plot(
        labels, frame[line].to_numpy(dtype=float), color=PALETTE[4], marker="o", ms=3, label=line
    )
    other.set_ylabel(line)
    ax.set_title(title)
    return fig
