"""Geometry of the results-over-time chart: stacked bars per run, drawn as inline SVG by the HTML template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stockade.history.context import RunPoint

# Bottom to top: passes at the base, errors on top where the eye lands.
STACK_ORDER = ("pass", "skipped", "manual", "waived", "fail", "error")
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 46


@dataclass(frozen=True)
class Segment:
    status: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Bar:
    run_id: str
    label: str
    title: str
    current: bool
    x: float
    width: float
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_height: int
    plot_width: int
    maximum: int
    bars: tuple[Bar, ...]
    label_every: int


def _label(started_at: str) -> str:
    # 2025-01-31T12:00:00+00:00 -> 01-31 12:00
    return f"{started_at[5:10]} {started_at[11:16]}" if len(started_at) >= 16 else started_at


def build_chart(series: Sequence[RunPoint]) -> Chart | None:
    """None when there is nothing to draw."""
    if not series:
        return None
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    maximum = max(1, *(sum(point.summary.get(status, 0) for status in STACK_ORDER) for point in series))
    step = plot_width / len(series)
    bar_width = max(2.0, min(40.0, step * 0.7))
    bars = []
    for index, point in enumerate(series):
        x = LEFT + index * step + (step - bar_width) / 2
        base = float(TOP + plot_height)
        segments = []
        for status in STACK_ORDER:
            count = point.summary.get(status, 0)
            if not count:
                continue
            height = plot_height * count / maximum
            base -= height
            segments.append(Segment(status, count, round(x, 2), round(base, 2), round(bar_width, 2),
                                    round(height, 2)))
        counts = ", ".join(f"{point.summary.get(status, 0)} {status}" for status in reversed(STACK_ORDER))
        bars.append(Bar(point.run_id, _label(point.started_at), f"{point.run_id}: {counts}",
                        index == len(series) - 1, round(x, 2), round(bar_width, 2), tuple(segments)))
    return Chart(WIDTH, HEIGHT, LEFT, TOP, plot_height, plot_width, maximum, tuple(bars),
                 label_every=max(1, -(-len(series) // 8)))
