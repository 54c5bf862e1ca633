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

from smsseg.pipeline.activation import PlanOutput, plan, report
from smsseg.pipeline.data import generate, summary, validate
from smsseg.pipeline.demo import DEMO_AS_OF, DEMO_GOALS, DemoLayout, demo_layout
from smsseg.pipeline.features import FeaturesOutput, features
from smsseg.pipeline.models import BacktestOutput, ScoreOutput, TrainOutput, backtest, score, train
from smsseg.pipeline.readout import CampaignMetricsOutput, campaign_metrics, readout
from smsseg.pipeline.segments import SegmentOutput, segment

#: The main steps, in the order data flows through them.
STEPS = ("validate", "features", "train", "score", "segment", "plan", "report", "readout")

__all__ = [
    "DEMO_AS_OF",
    "DEMO_GOALS",
    "STEPS",
    "BacktestOutput",
    "CampaignMetricsOutput",
    "DemoLayout",
    "FeaturesOutput",
    "PlanOutput",
    "ScoreOutput",
    "SegmentOutput",
    "TrainOutput",
    "backtest",
    "campaign_metrics",
    "demo_layout",
    "features",
    "generate",
    "plan",
    "readout",
    "report",
    "score",
    "segment",
    "summary",
    "train",
    "validate",
]
