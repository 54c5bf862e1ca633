"""Self-contained HTML: escaped text, tables from frames, figures as base64 PNG, no external assets."""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from smsseg.report.labels import label

NOT_AVAILABLE = "not available in this run"

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2933;
background:#f5f7fa}
header{background:#1f3a5f;color:#fff;padding:18px 32px}header h1{margin:0;font-size:24px}
header p{margin:4px 0 0;opacity:.85}nav{padding:8px 32px;background:#e4e9f0;font-size:14px}
nav a{margin-right:14px;color:#1f3a5f;text-decoration:none}
main{padding:8px 32px 40px;max-width:1200px}
section{background:#fff;border-radius:8px;padding:12px 20px 18px;margin:18px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{color:#1f3a5f;border-bottom:2px solid #e4e9f0;padding-bottom:6px}h3{margin:18px 0 6px}
.scroll{max-width:100%;overflow-x:auto}
table.data{border-collapse:collapse;font-size:13px;margin:8px 0}
table.data th,table.data td{border-bottom:1px solid #e4e9f0;padding:4px 10px;text-align:right;
vertical-align:top}
table.data th:first-child,table.data td:first-child{text-align:left}
table.data td.text{text-align:left}table.data td.text div{min-width:14em;max-width:32em}
table.parts th,table.parts td{text-align:left}
table.data th{background:#f0f3f7}.note{color:#7b8794;font-style:italic}
.error{color:#b42318}.ok{color:#2f7d32}.missing{color:#9a6700}
img{max-width:100%;height:auto}
.figs{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.figs img{flex:0 1 auto;min-width:0;border:1px solid #e4e9f0;border-radius:4px}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.kpi{background:#f0f3f7;border-radius:6px;padding:8px 14px;min-width:120px}
.kpi b{display:block;font-size:20px;color:#1f3a5f}.kpi span{font-size:12px;color:#52606d}
"""


def esc(text: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(text), quote=True)


def note(text: str, kind: str = "note") -> str:
    """A muted paragraph (``kind="error"`` for a section that failed)."""
    return f'<p class="{kind}">{esc(text)}</p>'


def kpis(items: Mapping[str, object]) -> str:
    """Headline numbers as tiles."""
    tiles = "".join(
        f'<div class="kpi"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in items.items()
    )
    return f'<div class="kpis">{tiles}</div>'


def _fmt(value: object, spec: str | Callable | None) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return "–"
    if callable(spec):
        return spec(value)
    if spec:
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_text(column: pd.Series) -> bool:
    """Long free text (notes, details, definitions): wrapped, left-aligned, in a bounded column."""
    values = column.dropna()
    return bool(len(values)) and values.map(lambda v: isinstance(v, str) and len(v) > 40).any()


def table(
    frame: pd.DataFrame, formats: Mapping[str, str | Callable] | None = None, max_rows: int = 40
) -> str:
    """An HTML table of ``frame`` (index dropped), cells escaped and formatted per column.

    Headers are the columns' readable labels (:func:`~smsseg.report.labels.label`; ``formats``
    is keyed by the raw column names). The table sits in a box that scrolls sideways, so a wide
    table never overflows its section; long text columns wrap instead of widening the table.
    """
    formats = formats or {}
    shown = frame.head(max_rows)
    head = "".join(f"<th>{esc(label(c))}</th>" for c in shown.columns)
    # a text cell's block keeps its column readable: a table squeezes wrappable columns first
    cells = [('<td class="text"><div>', "</div></td>") if _is_text(shown[c]) else ("<td>", "</td>")
             for c in shown.columns]  # fmt: skip
    rows = "".join(
        "<tr>" + "".join(f"{a}{esc(_fmt(v, formats.get(c)))}{b}" for (a, b), c, v in zip(cells, shown.columns, row, strict=True)) + "</tr>"
        for row in shown.itertuples(index=False, name=None)
    )  # fmt: skip
    more = note(f"… {len(frame) - max_rows:,} more rows") if len(frame) > max_rows else ""
    return (
        f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>{more}"
    )


def figure(fig: Figure, alt: str, dpi: int = 90) -> str:
    """The figure as an inline base64 PNG ``<img>`` (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    fig.clear()  # a plain Figure (no pyplot): nothing else holds it
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def png(path: str | os.PathLike, alt: str) -> str:
    """An existing PNG file as an inline base64 ``<img>``."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def figures(*imgs: str) -> str:
    """Figures side by side."""
    return '<div class="figs">' + "".join(imgs) + "</div>"


@dataclass
class Section:
    """One report section: an anchor, a title and its HTML body."""

    key: str
    title: str
    body: list[str] = field(default_factory=list)

    def add(self, *parts: str) -> Section:
        self.body.extend(parts)
        return self

    def render(self) -> str:
        return f'<section id="{esc(self.key)}"><h2>{esc(self.title)}</h2>{"".join(self.body)}</section>'


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole document."""
    nav = "".join(f'<a href="#{esc(s.key)}">{esc(s.title)}</a>' for s in sections)
    body = "".join(s.render() for s in sections)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p>"
        f"</header><nav>{nav}</nav><main>{body}</main></body></html>"
    )
