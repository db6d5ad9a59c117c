"""Chart geometry for the console's statistics: plain numbers that a template draws as SVG.

Drawn on the server so the console needs no JavaScript library or CDN and the chart shows in
any browser, printed or saved. Coordinates are in the SVG's own units (its viewBox).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from selfserve.console.funnel import DayPair
from selfserve.console.stats import DayCount, SourceCount


@dataclass(frozen=True)
class Bar:
    """One rectangle; `series` names its colour class, `title` is its tooltip and spoken label."""

    x: float
    y: float
    width: float
    height: float
    series: str
    title: str


@dataclass(frozen=True)
class Label:
    """A piece of axis text at a point."""

    x: float
    y: float
    text: str
    anchor: str = "middle"  # SVG text-anchor: start, middle or end


@dataclass(frozen=True)
class Gridline:
    """A horizontal value line across the plot, with its value."""

    y: float
    value: int


@dataclass(frozen=True)
class Chart:
    """Everything a template needs to draw one chart."""

    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float
    bars: list[Bar]
    gridlines: list[Gridline]
    labels: list[Label]
    description: str

    @property
    def is_empty(self) -> bool:
        """True when every value is zero."""
        return not any(bar.height > 0 for bar in self.bars)


def nice_ceiling(value: int, ticks: int = 4) -> tuple[int, int]:
    """A round top for an axis holding `value`, and its step: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return ticks, 1
    raw_step = value / ticks
    magnitude = 10 ** math.floor(math.log10(raw_step)) if raw_step >= 1 else 1
    for factor in (1, 2, 5, 10):
        step = max(1, int(factor * magnitude))
        if step * ticks >= value:
            return step * ticks, step
    return value, max(1, value // ticks)  # pragma: no cover - the loop always returns


def daily_chart(
    days: Sequence[DayCount],
    width: float = 960,
    height: float = 300,
    names: tuple[str, str] = ("texts", "codes issued"),
) -> Chart:
    """Texts per day as light bars, with the codes issued that day drawn in front, darker
    (`names`: what the two numbers are, for the tooltips and the description)."""
    left, top, right, bottom = 48.0, 16.0, width - 12.0, height - 36.0
    top_value, step = nice_ceiling(max((day.texts for day in days), default=0))
    scale = (bottom - top) / top_value
    slot = (right - left) / max(len(days), 1)
    bar_width = max(2.0, slot * 0.72)
    bars: list[Bar] = []
    labels: list[Label] = []
    label_every = max(1, math.ceil(len(days) / 10))
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_width) / 2
        when = f"{day.day.day} {day.day:%b}"
        title = f"{when}: {day.texts} {names[0]}, {day.codes} {names[1]}"
        bars.append(_column(x, bottom, bar_width, day.texts * scale, "texts", title))
        bars.append(_column(x, bottom, bar_width, day.codes * scale, "codes", title))
        if index % label_every == 0 or index == len(days) - 1 and len(days) <= 10:
            labels.append(Label(round(x + bar_width / 2, 1), bottom + 20, when))
    gridlines = [
        Gridline(round(bottom - value * scale, 1), value) for value in range(0, top_value + 1, step)
    ]
    texts = sum(day.texts for day in days)
    codes = sum(day.codes for day in days)
    description = (
        f"{texts} {names[0]} and {codes} {names[1]} between {days[0].day:%d %b} and "
        f"{days[-1].day:%d %b}"
        if days
        else "No days to show"
    )
    return Chart(width, height, left, top, right, bottom, bars, gridlines, labels, description)


def issued_redeemed_chart(
    days: Sequence[DayPair], width: float = 960, height: float = 220
) -> Chart:
    """A campaign's codes issued per day (light) and redemptions that day (dark, in front)."""
    counts = [DayCount(day.day, day.issued, day.redeemed) for day in days]
    return daily_chart(counts, width, height, names=("codes issued", "redeemed"))


def source_chart(sources: Sequence[SourceCount], width: float = 960, limit: int = 10) -> Chart:
    """Texts per poster source as horizontal bars (codes in front), biggest first."""
    shown = list(sources[:limit])
    row_height = 30.0
    left, top, right = 200.0, 8.0, width - 60.0
    bottom = top + row_height * max(len(shown), 1)
    # Each bar carries its number, so the longest bar simply fills the row: no axis needed.
    scale = (right - left) / max(max((source.texts for source in shown), default=0), 1)
    bars: list[Bar] = []
    labels: list[Label] = []
    for index, source in enumerate(shown):
        y = top + index * row_height + 5
        name = source.source or "typed by hand"
        title = f"{name}: {source.texts} texts, {source.codes} codes issued"
        for count, series in ((source.texts, "texts"), (source.codes, "codes")):
            length = round(count * scale, 1)
            bars.append(Bar(left, round(y, 1), length, row_height - 10, series, title))
        middle = round(y + (row_height - 10) / 2 + 4, 1)
        labels.append(Label(left - 10, middle, name, "end"))
        labels.append(
            Label(round(left + source.texts * scale + 8, 1), middle, str(source.texts), "start")
        )
    description = ", ".join(
        f"{source.source or 'typed by hand'} {source.texts} texts" for source in shown
    )
    return Chart(
        width,
        bottom + 8,
        left,
        top,
        right,
        bottom,
        bars,
        [],
        labels,
        description or "No texts yet",
    )


def _column(x: float, bottom: float, width: float, height: float, series: str, title: str) -> Bar:
    return Bar(
        round(x, 1), round(bottom - height, 1), round(width, 1), round(height, 1), series, title
    )
