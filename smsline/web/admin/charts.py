"""Bar charts drawn by the server as inline SVG: the geometry is worked out here and the template
`admin/_chart.html` writes the elements. No script and no style attribute (the content security
policy allows neither): colours come from classes in the stylesheet."""

from __future__ import annotations

from dataclasses import dataclass

PLOT_HEIGHT = 120  # the tallest bar
TOP = 8  # room above the tallest bar
LABEL_ROOM = 22  # under the baseline, for the day labels
BAR_WIDTH = 10
BAR_GAP = 2  # between the bars of one group
GROUP_GAP = 6  # between groups


@dataclass(frozen=True)
class Series:
    """One bar of a group: its value, its class (colour) and its tooltip."""

    value: float
    css: str
    title: str


@dataclass(frozen=True)
class Group:
    label: str  # under the group, when shown
    bars: tuple[Series, ...]
    show_label: bool = True


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    baseline: float
    bars: list[Bar]
    labels: list[Label]


def bar_chart(groups: list[Group], top_value: float | None = None) -> Chart:
    """Lay out `groups` of bars left to right; a bar's height is its value over `top_value`
    (by default the largest value, at least 1) times PLOT_HEIGHT. A bar of value 0 is not
    drawn."""
    largest = max((bar.value for group in groups for bar in group.bars), default=0)
    scale = top_value or max(largest, 1)
    baseline = TOP + PLOT_HEIGHT
    bars: list[Bar] = []
    labels: list[Label] = []
    x = float(GROUP_GAP)
    for group in groups:
        start = x
        for series in group.bars:
            if series.value > 0:
                height = round(min(series.value / scale, 1) * PLOT_HEIGHT, 1)
                bars.append(
                    Bar(x, round(baseline - height, 1), BAR_WIDTH, height, series.css, series.title)
                )
            x += BAR_WIDTH + BAR_GAP
        x += GROUP_GAP - BAR_GAP
        if group.show_label:
            labels.append(Label(round((start + x - GROUP_GAP) / 2, 1), group.label))
    return Chart(width=x, height=baseline + LABEL_ROOM, baseline=baseline, bars=bars, labels=labels)
