"""The tables of the nine flows in docs/flows.md and docs/activation.md follow the catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsseg.flows import load_flows

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _delay(td) -> str:
    s = int(td.total_seconds())
    if s % 86400 == 0 and s:
        return f"{s // 86400} d"
    return f"{s // 3600} h" if s % 3600 == 0 else f"{s // 60} min"


@pytest.mark.parametrize("doc", ["flows.md", "activation.md"])
def test_the_docs_table_lists_every_flow_and_step(doc):
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in (DOCS / doc).read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    catalogue = load_flows()
    assert set(catalogue.keys) <= set(rows)
    for flow in catalogue.flows:
        row = rows[flow.key]
        cells = [c.strip() for c in row.split("|")[1:-1]]
        for step in flow.steps:
            text = f"{step.key}: +{_delay(step.delay)} after {step.after}, {step.channel} `{step.message_type}`"
            assert text in cells[2], (flow.key, text)
        assert cells[3].startswith(", ".join(flow.exit_on)), flow.key
        assert cells[4:] == [
            f"{flow.reentry_days} d",
            str(flow.max_sms_per_week),
            str(flow.priority),
        ]
