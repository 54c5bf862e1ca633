"""The import report: what was mapped, dropped, guessed, cleaned or found in conflict, counted.

Every value an importer does not carry over as it was given is counted here under a declared
:data:`KINDS` kind, with up to three examples (phones masked, e-mails masked), so a user can see
at a glance what the importer decided for them. A test keeps every drop and guess counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

#: The kinds of report line, in the order they are printed, with what each means.
KINDS: dict[str, str] = {
    "mapped": "rows carried into a contract table",
    "created": "customers made from an order, profile or subscriber that matched no customer row",
    "cleaned": "values repaired in a way that cannot change their meaning (a leading ')",
    "guessed": "values the source did not give, filled by a stated rule",
    "dropped": "rows or values left out, with the reason",
    "conflict": "sources that disagree; the line says which one won",
    "note": "facts about the import (export time, store offsets)",
}

MAX_EXAMPLES = 3


@dataclass
class ReportLine:
    source: str
    kind: str
    what: str
    count: int
    examples: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """Counted lines, one per (source, kind, what)."""

    lines: list[ReportLine] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    def add(self, source: str, kind: str, what: str, count: int, examples: Iterable = ()) -> None:
        """Count ``count`` values under ``(source, kind, what)``; a zero count is not recorded."""
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r} must be one of {', '.join(KINDS)}")
        if count <= 0:
            return
        for line in self.lines:
            if (line.source, line.kind, line.what) == (source, kind, what):
                line.count += int(count)
                room = MAX_EXAMPLES - len(line.examples)
                line.examples.extend(str(e) for e in list(examples)[: max(room, 0)])
                return
        shown = [str(e) for e in list(examples)[:MAX_EXAMPLES]]
        self.lines.append(ReportLine(source, kind, what, int(count), shown))

    def count(self, kind: str, what: str | None = None, source: str | None = None) -> int:
        """Total of the lines of ``kind`` (and ``what`` / ``source`` when given)."""
        return sum(
            line.count
            for line in self.lines
            if line.kind == kind
            and (what is None or line.what == what)
            and (source is None or line.source == source)
        )

    def sorted_lines(self) -> list[ReportLine]:
        order = {kind: i for i, kind in enumerate(KINDS)}
        return sorted(self.lines, key=lambda line: (order[line.kind], line.source))

    def render(self) -> list[str]:
        """One plain-text line per report line (examples after a colon)."""
        out = []
        for line in self.sorted_lines():
            examples = f"; e.g. {', '.join(line.examples)}" if line.examples else ""
            out.append(f"{line.kind:8} {line.source}: {line.count:,} {line.what}{examples}")
        return out

    def to_json(self) -> str:
        return json.dumps(
            {"facts": self.facts, "lines": [asdict(x) for x in self.sorted_lines()]},
            indent=2,
            default=str,
        )


def mask_email(value: object) -> str:
    """``j***@example.com``: the first letter and the domain only."""
    text = str(value)
    local, _, domain = text.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
