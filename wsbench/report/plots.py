"""Matplotlib figures for reports, returned as inline SVG text (no files, no pyplot state):
the capacity curves (the RTT spectrum, CDF and timelines are interactive charts,
:mod:`wsbench.report.charts`; the upgrade phases are plain SVG, :mod:`wsbench.report.svg`:
neither imports matplotlib, which a run's report no longer pays for).

Every figure is built on its own :class:`~matplotlib.figure.Figure`; settings are applied
with ``rc_context`` for the duration of one drawing. Colours are the Okabe-Ito palette
(safe for the common colour-vision deficiencies) and every series also gets its own line
style, so plots stay readable in greyscale.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from wsbench.report.svg import PALETTE

__all__ = ["PALETTE", "LINESTYLES", "style_for", "capacity_svg"]

LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))
_RC = {
    "svg.fonttype": "none",  # text stays text: smaller, crisp, searchable
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}


def style_for(index: int) -> dict[str, Any]:
    """Colour and line style of the ``index``-th series."""
    return {"color": PALETTE[index % len(PALETTE)], "linestyle": LINESTYLES[index % len(LINESTYLES)]}


def _svg(fig: Figure, key: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"wsbench-{key}"}), warnings.catch_warnings():
        # a page of many targets squeezes a legend: matplotlib's layout advice is not the user's
        warnings.filterwarnings("ignore", message="constrained_layout not applied", category=UserWarning)
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", text[start:], flags=re.S)
    # ids must be unique across the page: prefix each with the figure's key
    svg = re.sub(r'id="([^"]+)"', rf'id="{key}-\1"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', rf"url(#{key}-\1)", svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{key}-\1"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-labelledby="{key}-title" ', 1).replace(
        ">", f'><title id="{key}-title">{key.replace("-", " ")}</title>', 1
    )


def capacity_svg(
    curves: Mapping[str, Sequence[tuple[float, float | None, bool]]],
    *,
    metric: str,
    limit: float | None,
    knees: Mapping[str, float | None],
    unit: str,
    key: str = "capacity",
) -> str:
    """One SLO metric against load, a line per target (filled: the step passed, hollow: it
    failed), the SLO's limit as a horizontal line and each target's knee (its capacity) as a
    vertical one. ``curves`` maps a target to ``(load, observed, passed)`` per step."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(5.6, 3.4), layout="constrained")
        ax = fig.add_subplot()
        for index, (label, points) in enumerate(curves.items()):
            style = style_for(index)
            shown = sorted((load, value, passed) for load, value, passed in points if value is not None)
            if not shown:
                continue
            loads = [p[0] for p in shown]
            ax.plot(loads, [p[1] for p in shown], label=label, linewidth=1.3, **style)
            for load, value, passed in shown:
                ax.plot([load], [value], marker="o", markersize=5, color=style["color"],
                        markerfacecolor=style["color"] if passed else "white", linestyle="none")
            knee = knees.get(label)
            if knee is not None:
                ax.axvline(knee, color=style["color"], linestyle=(0, (2, 2)), linewidth=1.0)
                ax.annotate(f"knee {knee:g}", (knee, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -10),
                            textcoords="offset points", fontsize=7.5, color=style["color"])
        if limit is not None:
            ax.axhline(limit, color="#D55E00", linewidth=1.2, linestyle="-", label=f"SLO {limit:g}")
        ax.set_xlabel(f"load ({unit})")
        ax.set_ylabel(metric)
        ax.set_ylim(bottom=0)
        ax.set_xlim(left=0)
        if curves:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig, key)
