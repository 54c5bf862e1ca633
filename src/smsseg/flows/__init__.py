"""Lifecycle flows: the guide's nine triggered, multi-step journeys, as data and as due sends.

The catalogue (:mod:`~smsseg.flows.catalogue`) declares the flows; the state machine
(:mod:`~smsseg.flows.state`) gives each instance's steps, instants and exits as of any instant;
:func:`flow_plan` turns the steps due in a window into a send plan with activation's rules.
See ``docs/flows.md``.
"""

from smsseg.flows.catalogue import (
    Flow,
    FlowCatalogue,
    FlowCatalogueError,
    Step,
    Trigger,
    load_flows,
)
from smsseg.flows.due import FlowRun, flow_plan
from smsseg.flows.state import state_table, step_table
from smsseg.flows.triggers import FlowInputs, as_of_inputs, empty_inputs, triggers

__all__ = [
    "Flow",
    "FlowCatalogue",
    "FlowCatalogueError",
    "FlowInputs",
    "FlowRun",
    "Step",
    "Trigger",
    "as_of_inputs",
    "empty_inputs",
    "flow_plan",
    "load_flows",
    "state_table",
    "step_table",
    "triggers",
]
