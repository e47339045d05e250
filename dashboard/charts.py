"""Bar charts drawn on the server as inline SVG: no script, no CDN, readable by screen readers.

Builders return plain numbers for the template `dashboard/_bar_chart.html`;
values may be negative (a loss), drawn below a zero line.
"""

from dataclasses import dataclass

WIDTH = 600
HEIGHT = 200
TOP = 20
BOTTOM = 30
LEFT = 10
GAP = 0.2
# Above this many bars the value texts overlap; each bar's <title> still says it.
MAX_BARS_WITH_VALUES = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value_text: str
    negative: bool
    show_label: bool
    value_y: float


@dataclass(frozen=True)
class BarChart:
    title: str
    description: str
    bars: list
    width: int
    height: int
    zero_y: float
    label_y: float
    empty: bool
    show_values: bool


def bar_chart(title, description, points, format_value, label_every=1):
    """`points` is a list of (label, number); `format_value` turns a number into text."""
    usable = HEIGHT - TOP - BOTTOM
    highest = max((value for _, value in points if value > 0), default=0)
    lowest = -min((value for _, value in points if value < 0), default=0)
    span = (highest + lowest) or 1
    zero_y = TOP + usable * float(highest / span)
    slot = (WIDTH - 2 * LEFT) / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        size = usable * float(abs(value) / span)
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * GAP / 2, 2),
                y=round(zero_y - size if value >= 0 else zero_y, 2),
                width=round(slot * (1 - GAP), 2),
                height=round(size, 2),
                label=str(label),
                value_text=format_value(value),
                negative=value < 0,
                show_label=index % label_every == 0,
                value_y=round((zero_y - size - 4) if value >= 0 else (zero_y + size + 12), 2),
            )
        )
    return BarChart(
        title=title,
        description=description,
        bars=bars,
        width=WIDTH,
        height=HEIGHT,
        zero_y=round(zero_y, 2),
        label_y=HEIGHT - 10,
        empty=not any(value for _, value in points),
        show_values=len(points) <= MAX_BARS_WITH_VALUES,
    )
