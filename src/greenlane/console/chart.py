"""The Today page's chart, drawn on the server as SVG: no script, nothing to load.

Verifications per minute over the last hour, one stacked bar a minute (green at the bottom,
then refer, then deny). The geometry is computed here and drawn by ``_chart.html``.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenlane.services.overview import DECISIONS, Minute

WIDTH, HEIGHT = 600, 140
AXIS = 20  # room under the bars for the time labels
BAR_GAP = 2
COLOURS = {"green": "#2e7d32", "refer": "#f9a825", "deny": "#c62828"}


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    labels: list[tuple[float, str]]  # x and text of a time label every 15 minutes


def draw(minutes: list[Minute]) -> Chart:
    peak = max((minute.total for minute in minutes), default=0)
    plot = HEIGHT - AXIS
    slot = WIDTH / max(len(minutes), 1)
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for i, minute in enumerate(minutes):
        x = i * slot
        base = float(plot)
        for decision in DECISIONS:
            count = minute.counts[decision]
            if count == 0:
                continue
            height = plot * count / peak
            base -= height
            title = f"{minute.start:%H:%M} {decision}: {count}"
            bars.append(Bar(x, base, slot - BAR_GAP, height, COLOURS[decision], title))
        if minute.start.minute % 15 == 0:
            labels.append((x, f"{minute.start:%H:%M}"))
    return Chart(WIDTH, HEIGHT, bars, peak, labels)
