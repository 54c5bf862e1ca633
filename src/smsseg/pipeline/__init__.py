"""The pipeline: one plain function per step, run alike by the CLI, the demo and notebooks.

Each step takes paths and settings, reads and writes files (atomically, with provenance) and
returns a typed result; the work itself is done by the stage packages (``smsseg.data`` →
``features`` → ``models`` → ``tiers`` / ``segments`` → ``activation`` → ``readout``). Warnings
are Python warnings (:class:`~smsseg.errors.SmssegWarning`): a notebook shows them where they
happen, the CLI prints them once at the end of a command. Nothing here prints.

>>> from smsseg import pipeline
>>> [name for name in pipeline.STEPS]
['validate', 'features', 'train', 'score', 'segment', 'plan', 'report', 'readout']
"""

from __future__ import annotations

import importlib

#: The main steps, in the order data flows through them.
STEPS = ("validate", "features", "train", "score", "segment", "plan", "report", "readout")

#: Where each public name lives. Imported on first use (PEP 562), so that ``smsseg --help`` and
#: ``import smsseg.pipeline`` do not load LightGBM, scikit-learn and DuckDB up front.
_WHERE = {
    "activation": ("PlanOutput", "plan", "report"),
    "data": ("generate", "summary", "validate"),
    "demo": ("DEMO_AS_OF", "DEMO_GOALS", "DemoLayout", "demo_layout"),
    "feature_table": ("FeaturesOutput", "features"),
    "models": ("BacktestOutput", "ScoreOutput", "TrainOutput", "backtest", "score", "train"),
    "readouts": ("CampaignMetricsOutput", "campaign_metrics", "readout"),
    "segments": ("SegmentOutput", "segment"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'smsseg.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"smsseg.pipeline.{_MODULE_OF[name]}"), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])


__all__ = ["STEPS", *sorted(_MODULE_OF)]
